"""Each lint rule (WF2xx, WF3xx) finds what it should, where it should, and nothing else.

The cases live in ``rule_cases.toml`` (and, where timed transitions matter,
``timer_cases.toml``): a workflow, the rule, and the ``line:column`` of every
finding expected from it.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

import wfdsl
from wfdsl.diagnostics import Diagnostic, Severity
from wfdsl.lint.base import REGISTRY, LintRule
from wfdsl.lint.engine import lint_text

CASES: list[dict[str, Any]] = [
    case
    for name in ("rule_cases.toml", "timer_cases.toml")
    for case in tomllib.loads(Path(__file__).with_name(name).read_text(encoding="utf-8"))["case"]
]
LINT_CODES = sorted(code for code, rule in REGISTRY.items() if issubclass(rule, LintRule))
EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.wf"))


def findings(case: dict[str, Any]) -> list[Diagnostic]:
    """The case's findings from its rule alone (or from the driver), in source order."""
    code = case["code"]
    if case.get("driver", False):
        found = [d for d in lint_text(case["source"], "case.wf") if d.code == code]
    else:
        rule = REGISTRY[code]
        assert issubclass(rule, LintRule)
        found = list(rule().check(wfdsl.loads(case["source"], "case.wf")))
    return sorted(found, key=Diagnostic.sort_key)


@pytest.mark.parametrize("case", CASES, ids=[f"{c['code']}-{c['id']}" for c in CASES])
def test_rule_reports_exactly_the_expected_positions(case: dict[str, Any]) -> None:
    found = findings(case)
    assert [f"{d.line}:{d.column}" for d in found] == case["expect"], [d.message for d in found]
    if "message" in case:
        assert case["message"] in found[0].message


@pytest.mark.parametrize("case", [c for c in CASES if c["expect"]], ids=lambda c: c["id"])
def test_findings_name_their_rule_and_explain_the_fix(case: dict[str, Any]) -> None:
    rule = REGISTRY[case["code"]]
    for d in findings(case):
        assert (d.code, d.name, d.severity) == (rule.code, rule.name, Severity.WARNING)
        assert d.path == "case.wf"
        assert (d.end_line, d.end_column) > (d.line, d.column)
        assert d.hint


@pytest.mark.parametrize("code", LINT_CODES)
def test_every_lint_rule_has_a_failing_and_a_passing_case(code: str) -> None:
    mine = [c for c in CASES if c["code"] == code]
    assert any(c["expect"] for c in mine), f"no case where {code} reports something"
    assert any(not c["expect"] for c in mine), f"no case where {code} stays silent"


def test_case_ids_are_unique() -> None:
    ids = [(c["code"], c["id"]) for c in CASES]
    assert len(ids) == len(set(ids))


def test_off_by_default_rules_are_no_fallback_and_missing_description() -> None:
    off = sorted(r.name for r in REGISTRY.values() if not r.default_enabled)
    assert off == ["missing-description", "no-fallback"]


def test_there_are_examples_to_lint() -> None:
    assert any(p.name == "order.wf" for p in EXAMPLES)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_has_no_findings_from_default_rules(path: Path) -> None:
    found = lint_text(path.read_text(encoding="utf-8"), str(path))
    assert [d.headline() for d in found] == []


def test_graph_rules_see_through_star_transitions_both_ways() -> None:
    # `*` reaches `cancelled` from every non-final state, and from every
    # non-final state `cancelled` is one step away: nothing is unreachable,
    # a dead end or stuck, however many states there are.
    states = "\n".join(f"    state s{i}" for i in range(50))
    spec = wfdsl.loads(
        "workflow w {\n    initial state start\n"
        + states
        + "\n    final state cancelled\n    event cancel, go\n"
        + "    start -> s0 on go\n"
        + "".join(f"    s{i} -> s{i + 1} on go\n" for i in range(49))
        + "    * -> cancelled on cancel\n}"
    )
    for code in ("WF201", "WF202", "WF203"):
        rule = REGISTRY[code]
        assert issubclass(rule, LintRule)
        assert list(rule().check(spec)) == []
