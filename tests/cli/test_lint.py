"""`wfdsl lint` end to end: paths, formats, config, exit codes, no tracebacks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from wfdsl.cli import cli
from wfdsl.lint.base import REGISTRY

from .helpers import ROOT

CLEAN = """\
workflow w {
    initial state start
    final state done
    event go
    start -> done on go
}
"""
# WF201 + WF202 on line 3, WF205 on line 5.
DIRTY = """\
workflow w {
    initial state start
    state orphan
    final state done
    event go, unused
    start -> done on go
}
"""


@pytest.fixture()
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)

    def invoke(*args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(cli, ["lint", *args], catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    return invoke


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_clean_file_exits_0(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path / "ok.wf", CLEAN)
    code, out, _ = run("ok.wf")
    assert code == 0
    assert "All checks passed" in out


def test_findings_exit_1_with_path_line_col_code_and_caret(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path / "bad.wf", DIRTY)
    code, out, _ = run("bad.wf")
    assert code == 1
    assert "bad.wf:3:11: WF201 " in out
    assert "   3 |     state orphan\n" in out
    assert "\n" + " " * 17 + "^^^^^^\n" in out  # caret under 'orphan'
    assert "Found 3 problems (0 errors, 3 warnings) in 1 file." in out


def test_directories_are_searched_recursively_for_wf_files(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path / "flows" / "a.wf", CLEAN)
    write(tmp_path / "flows" / "deep" / "b.wf", DIRTY)
    write(tmp_path / "flows" / "notes.txt", "not a workflow")
    write(tmp_path / "flows" / ".hidden" / "c.wf", "garbage")
    code, out, _ = run("--format", "json", "flows")
    assert code == 1
    assert {d["path"] for d in json.loads(out)} == {os.path.join("flows", "deep", "b.wf")}


def test_missing_file_is_an_error_exit_2_without_traceback(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path / "ok.wf", CLEAN)
    code, _, err = run("ok.wf", "nope.wf")
    assert code == 2
    assert "wfdsl: error: nope.wf: no such file or directory" in err
    assert "Traceback" not in err


def test_undecodable_bytes_are_a_wf100_finding(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path / "latin.wf", CLEAN.encode().replace(b"go\n", b"g\xe9\n", 1))
    code, out, err = run("latin.wf")
    assert code == 1
    assert "latin.wf:4:12: WF100 the file is not valid UTF-8 (byte 0xe9)" in out
    assert "Traceback" not in out + err


def test_json_format_has_exactly_the_contract_keys(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path / "bad.wf", DIRTY)
    code, out, _ = run("--format", "json", "bad.wf")
    data = json.loads(out)
    assert code == 1
    assert [d["code"] for d in data] == ["WF201", "WF202", "WF205"]
    assert set(data[0]) == {
        "path",
        "line",
        "column",
        "end_line",
        "end_column",
        "code",
        "severity",
        "message",
        "hint",
    }
    assert (data[0]["line"], data[0]["column"], data[0]["end_column"]) == (3, 11, 17)
    assert data[0]["severity"] == "warning"


def test_github_format_emits_workflow_commands(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path / "bad.wf", DIRTY)
    _, out, _ = run("--format", "github", "bad.wf")
    first = out.splitlines()[0]
    assert first.startswith(
        "::warning file=bad.wf,line=3,col=11,endLine=3,endColumn=17,title=WF201 unreachable-state::"
    )


def test_sarif_describes_every_rule_and_locates_results(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path / "flows" / "bad.wf", DIRTY)
    _, out, _ = run("--format", "sarif", "flows")
    log = json.loads(out)
    assert log["version"] == "2.1.0"
    run_ = log["runs"][0]
    rules = run_["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == sorted(REGISTRY)
    for rule in rules:
        assert rule["name"] and rule["shortDescription"]["text"]
        assert rule["fullDescription"]["text"] and rule["help"]["text"]
        assert rule["defaultConfiguration"]["level"] in {"error", "warning"}
    result = run_["results"][0]
    assert rules[result["ruleIndex"]]["id"] == result["ruleId"] == "WF201"
    loc = result["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"] == "flows/bad.wf"  # relative, forward slashes
    assert loc["region"] == {"startLine": 3, "startColumn": 11, "endLine": 3, "endColumn": 17}
    assert result["partialFingerprints"]["primaryLocationLineHash"]


def sarif_uris(out: str) -> list[dict[str, str]]:
    return [
        r["locations"][0]["physicalLocation"]["artifactLocation"]
        for r in json.loads(out)["runs"][0]["results"]
    ]


def test_sarif_uris_are_percent_encoded(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # A space, '#' (fragment), '%' and ':' (would read as a URI scheme) in names.
    write(tmp_path / "my flows#1%" / "a:b.wf", DIRTY)
    _, out, _ = run("--format", "sarif", "my flows#1%")
    assert sarif_uris(out)[0] == {"uri": "my%20flows%231%25/a%3Ab.wf", "uriBaseId": "%SRCROOT%"}


def test_sarif_names_files_outside_the_working_directory_by_file_uri(  # type: ignore[no-untyped-def]
    run, tmp_path: Path
) -> None:
    write(tmp_path / "..hidden.wf", DIRTY)  # below the working directory despite its name
    write(tmp_path / "outside" / "bad.wf", DIRTY)
    (tmp_path / "work").mkdir()
    os.chdir(tmp_path / "work")
    _, out, _ = run("--format", "sarif", "../outside/bad.wf")
    assert sarif_uris(out)[0] == {"uri": (tmp_path / "outside" / "bad.wf").as_uri()}
    os.chdir(tmp_path)
    _, out, _ = run("--format", "sarif", "..hidden.wf")
    assert sarif_uris(out)[0] == {"uri": "..hidden.wf", "uriBaseId": "%SRCROOT%"}


def test_sarif_fingerprints_survive_lines_moving(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    def fingerprints() -> list[str]:
        _, out, _ = run("--format", "sarif", "bad.wf")
        results = json.loads(out)["runs"][0]["results"]
        return [r["partialFingerprints"]["primaryLocationLineHash"] for r in results]

    write(tmp_path / "bad.wf", DIRTY)
    before = fingerprints()
    write(tmp_path / "bad.wf", "# a new header comment\n\n" + DIRTY)
    assert fingerprints() == before
    assert len(set(before)) == len(before)


def test_select_and_ignore_flags(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path / "bad.wf", DIRTY)
    _, out, _ = run(
        "--format", "json", "--select", "WF201,WF205", "--ignore", "unused-event", "bad.wf"
    )
    assert [d["code"] for d in json.loads(out)] == ["WF201"]


def test_unknown_rule_flag_is_a_usage_error(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path / "ok.wf", CLEAN)
    code, _, err = run("--select", "WF999", "ok.wf")
    assert code == 2
    assert "unknown rule 'WF999'" in err


def test_pyproject_config_applies_and_flags_override_it(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path / "pyproject.toml", '[tool.wfdsl.lint]\nignore = ["WF201", "WF202"]\n')
    write(tmp_path / "bad.wf", DIRTY)
    _, out, _ = run("--format", "json", "bad.wf")
    assert [d["code"] for d in json.loads(out)] == ["WF205"]
    _, out, _ = run("--format", "json", "--ignore", "WF205", "bad.wf")
    assert [d["code"] for d in json.loads(out)] == []
    _, out, _ = run("--format", "json", "--select", "WF201", "bad.wf")
    assert [d["code"] for d in json.loads(out)] == ["WF201"]


def test_broken_config_is_exit_2_naming_the_file(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path / "pyproject.toml", '[tool.wfdsl.lint]\nselect = ["WF999"]\n')
    write(tmp_path / "ok.wf", CLEAN)
    code, _, err = run("ok.wf")
    assert code == 2
    assert "pyproject.toml: unknown rule 'WF999'" in err


def test_exit_zero_reports_without_failing(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path / "bad.wf", DIRTY)
    code, out, _ = run("--exit-zero", "bad.wf")
    assert code == 0 and "WF201" in out


def test_output_writes_the_report_to_a_file(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path / "bad.wf", DIRTY)
    code, out, _ = run("--format", "sarif", "--output", "report.sarif", "bad.wf")
    assert code == 1 and out == ""
    assert json.loads((tmp_path / "report.sarif").read_text())["version"] == "2.1.0"


def test_syntax_errors_are_reported_as_errors(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path / "broken.wf", "workflow w {\n    initial state a\n    a b on go\n}\n")
    code, out, _ = run("broken.wf")
    assert code == 1
    assert "broken.wf:3:7: WF100 expected ',' or '->', found name 'b'" in out
    assert "(1 error, 0 warnings)" in out


def test_every_example_is_lint_clean(run) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run(str(ROOT / "examples"))
    assert code == 0, out


def test_installed_script_and_python_m_run_lint(tmp_path: Path) -> None:
    script = shutil.which("wfdsl") or str(Path(sys.executable).parent / "wfdsl")
    for argv in ([script], [sys.executable, "-m", "wfdsl"]):
        proc = subprocess.run(
            [*argv, "lint", "--format", "json", str(ROOT / "examples" / "order.wf")],
            capture_output=True,
            text=True,
            check=False,
            cwd=tmp_path,  # away from the checkout: exercise the installed package
        )
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout) == []


def test_lint_does_not_import_codegen_diagram_or_database_modules(tmp_path: Path) -> None:
    probe = (
        "import sys\n"
        "from wfdsl.cli import main\n"
        "try:\n    main(['lint', sys.argv[1]])\nexcept SystemExit:\n    pass\n"
        "heavy = {'jinja2', 'graphviz', 'sqlite3', 'psycopg'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe, str(ROOT / "examples" / "order.wf")],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_a_directory_without_wf_files_says_so(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "flows").mkdir()
    write(tmp_path / "flows" / "notes.txt", "not a workflow")
    code, out, err = run("flows")
    assert code == 0 and out == ""
    assert "wfdsl: warning: no .wf files found in flows" in err


def test_github_format_names_files_relative_to_the_working_directory(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path / "flows" / "a,b.wf", DIRTY)
    _, out, _ = run("--format", "github", ".")
    assert out.splitlines()[0].startswith("::warning file=flows/a%2Cb.wf,line=3,")


def test_a_file_named_twice_is_linted_once(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path / "flows" / "bad.wf", DIRTY)
    _, out, _ = run("--format", "json", "flows", "flows/bad.wf", "./flows/bad.wf")
    assert [d["code"] for d in json.loads(out)] == ["WF201", "WF202", "WF205"]
