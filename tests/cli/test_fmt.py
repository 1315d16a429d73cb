"""``wfdsl fmt`` from the command line: in place, ``--check``, ``--diff``, stdin,
files it must not touch, and the pre-commit hooks that run it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from wfdsl.cli import cli

from .helpers import ROOT

# -- the command --------------------------------------------------------------------

CANONICAL = "workflow w {\n\n    initial state a\n}\n"
MESSY = "workflow w { initial state a }"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_fmt_rewrites_a_file_in_place(runner: CliRunner, tmp_path: Path) -> None:
    path = write(tmp_path, "w.wf", MESSY)
    result = runner.invoke(cli, ["fmt", str(path)])
    assert result.exit_code == 0
    assert path.read_text(encoding="utf-8") == CANONICAL
    assert f"reformatted {path}" in result.stderr


def test_fmt_keeps_the_files_permission_bits(runner: CliRunner, tmp_path: Path) -> None:
    path = write(tmp_path, "w.wf", MESSY)
    os.chmod(path, 0o640)
    assert runner.invoke(cli, ["fmt", str(path)]).exit_code == 0
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["w.wf"]  # no temporary file left


def test_fmt_leaves_a_canonical_file_untouched(runner: CliRunner, tmp_path: Path) -> None:
    path = write(tmp_path, "w.wf", CANONICAL)
    before = os.stat(path).st_mtime_ns
    result = runner.invoke(cli, ["fmt", str(path)])
    assert result.exit_code == 0
    assert os.stat(path).st_mtime_ns == before
    assert "1 file left unchanged." in result.stderr


def test_check_exits_1_listing_files_that_would_change(runner: CliRunner, tmp_path: Path) -> None:
    messy = write(tmp_path, "messy.wf", MESSY)
    clean = write(tmp_path, "clean.wf", CANONICAL)
    result = runner.invoke(cli, ["fmt", "--check", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stdout == f"would reformat {messy}\n"
    assert messy.read_text(encoding="utf-8") == MESSY
    assert str(clean) not in result.stdout


def test_check_exits_0_when_everything_is_canonical(runner: CliRunner, tmp_path: Path) -> None:
    write(tmp_path, "clean.wf", CANONICAL)
    assert runner.invoke(cli, ["fmt", "--check", str(tmp_path)]).exit_code == 0


def test_diff_prints_a_unified_diff_and_writes_nothing(runner: CliRunner, tmp_path: Path) -> None:
    path = write(tmp_path, "w.wf", MESSY + "\n")
    result = runner.invoke(cli, ["fmt", "--diff", str(path)])
    assert result.exit_code == 1
    assert result.stdout.startswith(f"--- a/{path}\n+++ b/{path}\n@@ ")
    assert "-workflow w { initial state a }\n" in result.stdout
    assert "+    initial state a\n" in result.stdout
    assert path.read_text(encoding="utf-8") == MESSY + "\n"


def test_file_with_a_syntax_error_is_never_touched(runner: CliRunner, tmp_path: Path) -> None:
    bad = "workflow w { initial state a a b }"
    path = write(tmp_path, "bad.wf", bad)
    result = runner.invoke(cli, ["fmt", str(path)])
    assert result.exit_code == 2
    assert f"{path}:1:32: WF100" in result.stderr
    assert path.read_text(encoding="utf-8") == bad


def test_file_with_a_validation_error_is_never_touched(runner: CliRunner, tmp_path: Path) -> None:
    bad = "workflow w { state a }"
    path = write(tmp_path, "bad.wf", bad)
    other = write(tmp_path, "ok.wf", MESSY)
    result = runner.invoke(cli, ["fmt", str(path), str(other)])
    assert result.exit_code == 2
    assert "WF105" in result.stderr
    assert path.read_text(encoding="utf-8") == bad
    assert other.read_text(encoding="utf-8") == CANONICAL  # the good file is still done


def test_missing_file_exits_2(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["fmt", str(tmp_path / "nope.wf")])
    assert result.exit_code == 2
    assert "no such file or directory" in result.stderr
    assert "Traceback" not in result.output


def test_a_file_reached_twice_is_formatted_once(runner: CliRunner, tmp_path: Path) -> None:
    path = write(tmp_path, "w.wf", MESSY)
    result = runner.invoke(cli, ["fmt", "--check", str(tmp_path), str(path)])
    assert result.exit_code == 1
    assert result.stdout == f"would reformat {path}\n"
    assert "1 file would be reformatted" in result.stderr


def test_dash_reads_stdin_and_writes_stdout(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["fmt", "-"], input=MESSY)
    assert result.exit_code == 0
    assert result.stdout == CANONICAL


def test_dash_with_check_reports_without_printing_the_text(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["fmt", "--check", "-"], input=MESSY)
    assert result.exit_code == 1
    assert result.stdout == "would reformat -\n"


def test_dash_with_an_error_exits_2(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["fmt", "-"], input="workflow {")
    assert result.exit_code == 2
    assert "<stdin>:1:10: WF100" in result.stderr
    assert result.stdout == ""


# -- noqa comments (more in tests/test_fmt.py) ------------------------------------


def test_the_command_leaves_a_file_it_refuses_untouched(runner: CliRunner, tmp_path: Path) -> None:
    text = "workflow w {\n initial state a final state b\n event go, x, y  # noqa: WF205\n a -> b on go\n}"
    path = write(tmp_path, "w.wf", text)
    result = runner.invoke(cli, ["fmt", str(path)])
    assert result.exit_code == 2
    assert "it would change what 'wfdsl lint' reports" in result.stderr
    assert "please report" not in result.stderr
    assert path.read_text() == text


def test_the_command_checks_with_the_rules_lint_would_run(
    runner: CliRunner, tmp_path: Path
) -> None:
    # WF302 is off by default: by default the noqa suppresses nothing, before
    # or after; with WF302 selected it suppresses both events' findings.
    text = 'workflow w {\n initial state a "A"\n event go, x  # noqa: WF302\n a -> a on go\n a -> a on x\n}'
    path = write(tmp_path, "w.wf", text)
    result = runner.invoke(cli, ["fmt", "--check", str(path)])
    assert result.exit_code == 1, result.output  # would reformat, safely
    (tmp_path / "pyproject.toml").write_text('[tool.wfdsl.lint]\nextend-select = ["WF302"]\n')
    result = runner.invoke(cli, ["fmt", str(path)])
    assert result.exit_code == 2
    # The comment goes with the first event; the second loses it.
    assert "WF302 at line 3 (event 'x' has no description) would no longer" in result.stderr
    assert path.read_text() == text


# -- the pre-commit hooks shipped in the repository -----------------------------------


def hook_entries() -> dict[str, list[str]]:
    """id -> entry argv, from .pre-commit-hooks.yaml (a flat list of mappings)."""
    entries: dict[str, list[str]] = {}
    current = ""
    for line in (ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8").splitlines():
        key, _, value = line.strip().removeprefix("- ").partition(": ")
        if key == "id":
            current = value
        elif key == "entry":
            entries[current] = value.split()
    return entries


def test_pre_commit_hooks_lint_check_format_and_check_generated_code() -> None:
    assert sorted(hook_entries()) == [
        "wfdsl-compile-check",
        "wfdsl-fmt",
        "wfdsl-fmt-check",
        "wfdsl-lint",
    ]


def test_every_pre_commit_hook_passes_on_a_clean_file_and_fmt_check_fails_on_a_messy_one(
    runner: CliRunner, tmp_path: Path
) -> None:
    path = write(tmp_path, "order.wf", (ROOT / "examples" / "order.wf").read_text("utf-8"))
    assert runner.invoke(cli, ["compile", str(path)]).exit_code == 0
    for hook, argv in hook_entries().items():
        assert argv[0] == "wfdsl"
        result = runner.invoke(cli, [*argv[1:], str(path)])
        assert result.exit_code == 0, (hook, result.output)
    path.write_text(path.read_text("utf-8").replace("    ", "  "), encoding="utf-8")
    check = hook_entries()["wfdsl-fmt-check"]
    assert runner.invoke(cli, [*check[1:], str(path)]).exit_code == 1


def test_installed_command_checks_the_examples() -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "wfdsl", "fmt", "--check", str(ROOT / "examples")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.endswith("would be left unchanged.\n")
