"""Rule selection: defaults, [tool.wfdsl.lint] in pyproject.toml, and flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from wfdsl.lint.base import REGISTRY
from wfdsl.lint.config import ConfigError, ConfigFinder, Selection, from_table


def test_defaults_are_the_default_enabled_lint_rules() -> None:
    enabled = Selection().enabled("x.wf")
    assert "WF201" in enabled and "WF301" in enabled
    assert "WF209" not in enabled and "WF302" not in enabled  # off by default
    assert not any(code < "WF200" for code in enabled)  # errors are not lint rules


def test_select_replaces_defaults_and_accepts_prefixes_and_names() -> None:
    sel = Selection(select=("WF2", "naming"))
    assert sel.enabled("x.wf") == {c for c in REGISTRY if c.startswith("WF2")} | {"WF301"}


def test_extend_select_adds_and_ignore_removes() -> None:
    sel = Selection(extend_select=("WF209",), ignore=("dead-end",))
    enabled = sel.enabled("x.wf")
    assert "WF209" in enabled and "WF202" not in enabled


def test_all_selects_every_lint_rule() -> None:
    enabled = Selection(select=("ALL",)).enabled("x.wf")
    assert {"WF209", "WF302", "WF303"} <= enabled


def test_select_flag_starts_again_from_exactly_its_codes() -> None:
    file_sel = Selection(select=("WF201",), extend_select=("WF203",), ignore=("WF205",))
    assert file_sel.override(["WF202", "WF205"], None, None).enabled("x.wf") == {
        "WF202",
        "WF205",
    }


def test_ignore_and_extend_select_flags_add_to_the_file_settings() -> None:
    # As in ruff: a CI job's --ignore must not bring back what pyproject ignores.
    file_sel = Selection(select=("WF201", "WF202", "WF205"), ignore=("WF201",))
    assert file_sel.override(None, None, ["WF202"]).enabled("x.wf") == {"WF205"}
    assert file_sel.override(None, ["WF209"], None).enabled("x.wf") == {"WF202", "WF205", "WF209"}


def test_per_file_ignores_match_paths_relative_to_the_pyproject(tmp_path: Path) -> None:
    sel = from_table(
        {"per-file-ignores": {"legacy/*.wf": ["WF301"]}}, str(tmp_path), "pyproject.toml"
    )
    assert "WF301" not in sel.enabled(str(tmp_path / "legacy" / "old.wf"))
    assert "WF301" in sel.enabled(str(tmp_path / "new" / "old.wf"))


def test_per_file_ignores_pattern_may_start_with_dot_slash(tmp_path: Path) -> None:
    sel = from_table(
        {"per-file-ignores": {"./legacy/*.wf": ["WF301"]}}, str(tmp_path), "pyproject.toml"
    )
    assert "WF301" not in sel.enabled(str(tmp_path / "legacy" / "old.wf"))


def test_unknown_rule_in_config_is_an_error_naming_the_file() -> None:
    with pytest.raises(ConfigError, match=r"pyproject.toml: unknown rule 'WF999'"):
        from_table({"select": ["WF999"]}, ".", "pyproject.toml")


def test_unknown_setting_is_an_error() -> None:
    with pytest.raises(ConfigError, match="unknown setting 'selekt'"):
        from_table({"selekt": ["WF201"]}, ".", "pyproject.toml")


def test_nearest_pyproject_with_a_wfdsl_table_wins(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.wfdsl.lint]\nignore = ["WF205"]\n')
    inner = tmp_path / "pkg"
    inner.mkdir()
    # A pyproject without [tool.wfdsl] is passed over, as ruff does.
    (inner / "pyproject.toml").write_text('[project]\nname = "x"\n')
    deeper = inner / "flows"
    deeper.mkdir()
    (deeper / "pyproject.toml").write_text('[tool.wfdsl.lint]\nextend-select = ["WF209"]\n')
    finder = ConfigFinder()
    assert "WF205" not in finder.for_file(str(inner / "a.wf")).enabled("a.wf")
    deep = finder.for_file(str(deeper / "b.wf")).enabled("b.wf")
    assert "WF209" in deep and "WF205" in deep


def test_invalid_toml_is_reported_with_its_path(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.wfdsl.lint\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        ConfigFinder().for_file(str(tmp_path / "a.wf"))


# -- a malformed pyproject.toml is one clear error, whatever is wrong with it

#: Broken pyproject.toml files, and what the error must say.
BROKEN: dict[str, tuple[bytes, str]] = {
    "not UTF-8": (
        b"[tool.wfdsl.lint]\nselect = ['WF2'] # caf\xe9\n",
        "not valid UTF-8 (byte 0xe9 on line 2)",
    ),
    "UTF-16": ("[tool.wfdsl.lint]\n".encode("utf-16"), "not valid UTF-8 (byte 0xff on line 1)"),
    "a deeply nested value": (
        b"[tool.wfdsl.lint]\nselect = " + b"[" * 5000 + b"]" * 5000 + b"\n",
        "nested too deeply",
    ),
    "deep nesting in another tool's table": (
        b"[tool.other]\nx = " + b"[" * 3000 + b"]" * 3000 + b"\n[tool.wfdsl.lint]\n",
        "nested too deeply",
    ),
    "a nested inline table": (
        b"[tool.wfdsl]\nlint = " + b"{a = " * 2000 + b"1" + b"}" * 2000 + b"\n",
        "nested too deeply",
    ),
    "a list of lists": (b"[tool.wfdsl.lint]\nselect = [['WF2']]\n", "'select' must be a list"),
    "a number": (b"[tool.wfdsl.lint]\nignore = 3\n", "'ignore' must be a list"),
    "lint not a table": (b"[tool]\nwfdsl = {lint = 'WF2'}\n", "[tool.wfdsl.lint] must be a table"),
    "wfdsl not a table": (b"[tool]\nwfdsl = 'WF2'\n", "[tool.wfdsl] must be a table"),
    "a typo in a table name": (
        b"[tool.wfdsl.lnit]\nselect = ['WF2']\n",
        "unknown setting 'lnit' in [tool.wfdsl]",
    ),
    "an unknown setting": (b"[tool.wfdsl.lint]\nselcet = ['WF2']\n", "unknown setting 'selcet'"),
    "per-file-ignores not a table": (
        b"[tool.wfdsl.lint]\nper-file-ignores = ['x']\n",
        "must be a table",
    ),
}


@pytest.mark.parametrize("case", BROKEN, ids=list(BROKEN))
def test_a_broken_pyproject_is_a_config_error_naming_the_file(tmp_path: Path, case: str) -> None:
    data, said = BROKEN[case]
    (tmp_path / "pyproject.toml").write_bytes(data)
    with pytest.raises(ConfigError) as error:
        ConfigFinder().for_file(str(tmp_path / "a.wf"))
    assert said in str(error.value)
    assert str(error.value).startswith(str(tmp_path / "pyproject.toml") + ": ")
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("command", ["lint", "fmt"])
@pytest.mark.parametrize("case", BROKEN, ids=list(BROKEN))
def test_lint_and_fmt_report_a_broken_pyproject_in_one_line_with_exit_2(
    tmp_path: Path, command: str, case: str
) -> None:
    from click.testing import CliRunner

    from wfdsl.cli import cli

    data, said = BROKEN[case]
    (tmp_path / "pyproject.toml").write_bytes(data)
    (tmp_path / "a.wf").write_text("workflow w {\n    initial state a\n    final state b\n}\n")
    result = CliRunner().invoke(cli, [command, str(tmp_path / "a.wf")])
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    first = result.stderr.splitlines()[0]
    assert first.startswith("wfdsl: error: ") and said in first
    assert "internal error" not in result.stderr


def test_the_language_server_lints_with_the_defaults_and_says_why(tmp_path: Path) -> None:
    pytest.importorskip("pygls", reason="the lsp extra: pip install -e '.[lsp]'")
    from wfdsl.lsp.documents import selection_for

    (tmp_path / "pyproject.toml").write_bytes(BROKEN["not UTF-8"][0])
    selection, problem = selection_for(str(tmp_path / "a.wf"))
    assert selection == Selection()
    assert problem is not None and "not valid UTF-8" in problem


def test_a_pyproject_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    from wfdsl.frontend.source import MAX_SOURCE_BYTES

    with (tmp_path / "pyproject.toml").open("wb") as fh:
        fh.write(b"[tool.wfdsl.lint]\n")
        fh.truncate(MAX_SOURCE_BYTES + 1)
    with pytest.raises(ConfigError, match=r"larger than 8 MiB, the limit for a pyproject\.toml"):
        ConfigFinder().for_file(str(tmp_path / "a.wf"))
