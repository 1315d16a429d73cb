"""Every rule documents itself, its examples do what they say, and docs/rules.md is current."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import wfdsl
from wfdsl.errors import SpecError
from wfdsl.lint import docs
from wfdsl.lint.base import BY_NAME, REGISTRY, SECTIONS, LintRule, Rule, doc_sections
from wfdsl.lint.engine import lint_text

RULES = sorted(REGISTRY.values(), key=lambda r: r.code)
IDS = [r.code for r in RULES]
KEBAB = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
CODE = re.compile(r"WF[1-3]\d\d")


def fenced(rule: type[Rule], section: str) -> str:
    """The one fenced block of ``section``: a complete workflow."""
    body = doc_sections(rule)[section]
    blocks = re.findall(r"^```[^\n]*\n(.*?)^```$", body, flags=re.MULTILINE | re.DOTALL)
    assert len(blocks) == 1, f"{rule.code} {section}: expected one fenced block"
    return str(blocks[0])


def codes_found(rule: type[Rule], text: str) -> list[str]:
    """Codes reported for ``text``: WF1xx from loading it, lint codes from the
    rule itself and from the driver (which reports WF303)."""
    try:
        spec = wfdsl.loads(text, "example.wf")
    except SpecError as exc:
        return [d.code for d in exc.diagnostics]
    assert issubclass(rule, LintRule)
    own = [d.code for d in rule().check(spec)]
    return own + [d.code for d in lint_text(text, "example.wf")]


@pytest.mark.parametrize("rule", RULES, ids=IDS)
def test_rule_docstring_has_every_section(rule: type[Rule]) -> None:
    sections = doc_sections(rule)
    assert list(sections) == list(SECTIONS)
    assert all(sections[s].strip() for s in SECTIONS)


@pytest.mark.parametrize("rule", RULES, ids=IDS)
def test_rule_has_a_code_and_kebab_case_name(rule: type[Rule]) -> None:
    assert CODE.fullmatch(rule.code)
    assert KEBAB.fullmatch(rule.name)
    assert BY_NAME[rule.name] == rule.code


def test_codes_and_names_are_unique() -> None:
    assert len({r.code for r in RULES}) == len({r.name for r in RULES}) == len(RULES)


@pytest.mark.parametrize("rule", RULES, ids=IDS)
def test_example_triggers_the_rule(rule: type[Rule]) -> None:
    assert rule.code in codes_found(rule, fenced(rule, "Example"))


@pytest.mark.parametrize("rule", RULES, ids=IDS)
def test_use_instead_is_clean(rule: type[Rule]) -> None:
    good = fenced(rule, "Use instead")
    wfdsl.loads(good)  # valid
    if issubclass(rule, LintRule):
        assert rule.code not in codes_found(rule, good)
        # The good example is good for every default rule, not just this one.
        assert [d.headline() for d in lint_text(good, "example.wf")] == []


def test_committed_rules_page_is_current() -> None:
    page = Path(__file__).resolve().parents[2] / docs.DOC_PATH  # the checkout's, not the wheel's
    committed = page.read_text(encoding="utf-8") if page.exists() else ""
    assert committed == docs.render(), f"docs/rules.md is stale: run `{docs.REGENERATE}`"


def test_rules_page_has_a_row_and_a_section_per_rule() -> None:
    page = docs.render()
    for rule in RULES:
        assert f"| `{rule.name}` |" in page
        assert f"\n## {rule.code} {rule.name}\n" in page


def test_check_mode_fails_on_a_stale_page_and_passes_on_a_fresh_one(tmp_path: Path) -> None:
    page = tmp_path / "rules.md"
    page.write_text("# Rules\n", encoding="utf-8")
    assert docs.main(["--check", "--output", str(page)]) == 1
    assert docs.main(["--output", str(page)]) == 0
    assert docs.main(["--check", "--output", str(page)]) == 0
    assert page.read_text(encoding="utf-8") == docs.render()
