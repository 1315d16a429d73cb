"""A file with errors still gets every warning that can be computed (issue
12: a file with WF101 and WF205 reported only WF101, so CI users met the
warning in a second round). Rules that need what an error takes away are
skipped, as each rule's ``needs`` says; ``fmt``, ``compile`` and ``render``
still refuse the file.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from wfdsl.cli import cli
from wfdsl.ir import Gap
from wfdsl.lint.base import REGISTRY, LintRule
from wfdsl.lint.config import Selection
from wfdsl.lint.engine import lint_text

#: The issue's input: an undefined state (WF101) and an unused event (WF205).
ISSUE = """\
workflow order {
    initial state created
    final state shipped
    event ship, refund
    created -> shiped on ship
}
"""


def codes(text: str, selection: Selection | None = None) -> list[tuple[str, int]]:
    return [(d.code, d.line) for d in lint_text(text, "w.wf", selection)]


def run(tmp_path: Path, text: str, *args: str) -> tuple[int, str]:
    path = tmp_path / "w.wf"
    path.write_text(text)
    result = CliRunner().invoke(cli, [*args, str(path)])
    return result.exit_code, result.output


def test_the_issues_file_reports_the_error_and_the_warning() -> None:
    assert codes(ISSUE) == [("WF205", 4), ("WF101", 5)]


@pytest.mark.parametrize("fmt", ["text", "json", "github", "sarif"])
def test_every_output_format_reports_both(fmt: str, tmp_path: Path) -> None:
    code, out = run(tmp_path, ISSUE, "lint", "--no-config", "--format", fmt)
    assert code == 1
    if fmt == "text":
        assert "WF205 event 'refund' is declared but triggers no transition" in out
        assert "WF101 state 'shiped' is not declared" in out
        assert "Found 2 problems (1 error, 1 warning) in 1 file." in out
    elif fmt == "json":
        assert [(d["code"], d["severity"]) for d in json.loads(out)] == [
            ("WF205", "warning"),
            ("WF101", "error"),
        ]
    elif fmt == "github":
        assert out.startswith("::warning file=") and "title=WF205 unused-event" in out
        assert "\n::error file=" in out and "title=WF101 undefined-state" in out
    else:
        results = json.loads(out)["runs"][0]["results"]
        assert [(r["ruleId"], r["level"]) for r in results] == [
            ("WF205", "warning"),
            ("WF101", "error"),
        ]


# Each error, with one warning that still runs and one that it makes meaningless.
CASES = [
    pytest.param(
        # An undefined state: the graph is unknown (the typo may be the way to
        # 'orphan'), so WF201/WF202/WF203 are skipped; unused events are not.
        """workflow w {
    initial state start
    state orphan
    final state done
    event go, unused
    start -> dnoe on go
}""",
        {"WF101", "WF205"},
        {"WF201", "WF202"},
        id="undefined-state",
    ),
    pytest.param(
        # A duplicate state: which declaration is meant is unknown.
        """workflow w {
    initial state start
    state orphan
    state orphan
    final state done
    event go, unused
    start -> done on go
}""",
        {"WF103", "WF205"},
        {"WF201", "WF202"},
        id="duplicate-state",
    ),
    pytest.param(
        # An undefined event: 'pay' may be the event the typo meant, so it is
        # not reported unused; the graph is whole, so 'orphan' is unreachable.
        """workflow w {
    initial state start
    state orphan
    final state done
    event pay
    start -> done on pya
}""",
        {"WF102", "WF201", "WF202"},
        {"WF205"},
        id="undefined-event",
    ),
    pytest.param(
        # No initial state: reachability has nowhere to start from.
        """workflow w {
    state start
    state orphan
    final state done
    event go, unused
    start -> done on go
}""",
        {"WF105", "WF202", "WF205"},
        {"WF201"},
        id="missing-initial",
    ),
    pytest.param(
        # Errors that leave the spec whole skip nothing.
        """workflow w {
    initial final state start
    state orphan
    state Bad
    final state done
    event go, unused
    start -> done on go
    start -> done on go
}""",
        {"WF107", "WF108", "WF112", "WF201", "WF202", "WF205", "WF301"},
        set(),
        id="errors-that-skip-nothing",
    ),
]


@pytest.mark.parametrize(("text", "reported", "skipped"), CASES)
def test_warnings_run_unless_an_error_makes_them_meaningless(
    text: str, reported: set[str], skipped: set[str]
) -> None:
    found = {code for code, _ in codes(text)}
    assert found == reported
    assert not found & skipped


def test_a_guard_nested_too_deeply_skips_only_the_rules_that_read_guards() -> None:
    deep = "not " * 65 + "x"
    text = f"""workflow w {{
    initial state start
    state orphan
    final state done
    event go, unused
    start -> done on go if {deep}
    start -> done on go
}}"""
    found = {code for code, _ in codes(text, Selection().override(None, ["WF209"], None))}
    # WF204 (is the second transition shadowed?) and WF209 need the guard.
    assert found == {"WF100", "WF201", "WF202", "WF205"}


def test_a_syntax_error_reports_only_itself() -> None:
    assert codes("workflow w { initial state a state b event e, f a -> b e }") == [("WF100", 1)]


def test_noqa_for_a_skipped_rule_is_not_called_unused() -> None:
    text = ISSUE.replace("final state shipped", "final state shipped  # noqa: WF201")
    assert codes(text) == [("WF205", 4), ("WF101", 5)]


def test_noqa_for_a_rule_that_ran_is_still_checked() -> None:
    text = ISSUE.replace("final state shipped", "final state shipped  # noqa: WF205")
    found = lint_text(text, "w.wf")
    assert [(d.code, d.line) for d in found] == [("WF303", 3), ("WF205", 4), ("WF101", 5)]
    suppressed = ISSUE.replace("event ship, refund", "event ship, refund  # noqa: WF205")
    assert codes(suppressed) == [("WF101", 5)]


def test_a_bare_noqa_is_not_called_unused_when_rules_were_skipped() -> None:
    text = ISSUE.replace("final state shipped", "final state shipped  # noqa")
    assert codes(text) == [("WF205", 4), ("WF101", 5)]


def test_every_lint_rule_says_what_it_needs() -> None:
    for code, rule in REGISTRY.items():
        if issubclass(rule, LintRule):
            assert "needs" in rule.__dict__, code
            assert rule.needs <= frozenset(Gap), code


def test_a_rule_that_declares_nothing_runs_only_on_valid_files() -> None:
    assert LintRule.needs == frozenset(Gap)


@pytest.mark.parametrize(
    "command",
    [["fmt"], ["compile", "-o", "out.py"], ["render", "--format", "dot"], ["docs", "-o", "d"]],
)
def test_other_commands_still_refuse_the_file(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("w.wf").write_text(ISSUE)
    result = CliRunner().invoke(cli, [command[0], "w.wf", *command[1:]])
    assert result.exit_code != 0
    assert "WF101" in result.output and "WF205" not in result.output
    assert Path("w.wf").read_text() == ISSUE
    assert not Path("out.py").exists() and not Path("d").exists()
