"""Inline and file-wide suppression, and WF303 for suppressions that do nothing."""

from __future__ import annotations

from wfdsl.lint.config import Selection
from wfdsl.lint.engine import lint_text

# 'orphan' is unreachable (WF201) and a dead end (WF202).
BASE = """\
workflow w {
    initial state start
    state orphan{noqa}
    final state done
    event go
    start -> done on go
}
"""


def codes(text: str, selection: Selection | None = None) -> list[tuple[str, int]]:
    return [(d.code, d.line) for d in lint_text(text, "w.wf", selection)]


def test_unsuppressed_findings_point_at_the_state_line() -> None:
    assert codes(BASE.replace("{noqa}", "")) == [("WF201", 3), ("WF202", 3)]


def test_noqa_with_a_code_suppresses_that_code_on_its_line_only() -> None:
    assert codes(BASE.replace("{noqa}", "  # noqa: WF201")) == [("WF202", 3)]


def test_noqa_accepts_rule_names_and_comma_lists() -> None:
    assert codes(BASE.replace("{noqa}", "  # noqa: unreachable-state, WF202")) == []


def test_noqa_after_prose_in_the_same_comment() -> None:
    assert codes(BASE.replace("{noqa}", "  # kept for the migration noqa: WF201,WF202")) == []


def test_bare_noqa_suppresses_everything_on_the_line() -> None:
    assert codes(BASE.replace("{noqa}", "  # noqa")) == []


def test_unused_noqa_is_reported_as_wf303() -> None:
    text = BASE.replace("{noqa}", "  # noqa: WF201, WF202").replace(
        "event go", "event go  # noqa: WF205"
    )
    found = lint_text(text, "w.wf")
    assert [(d.code, d.line) for d in found] == [("WF303", 5)]
    assert "WF205" in found[0].message


def test_noqa_naming_an_unknown_rule_is_reported() -> None:
    found = lint_text(BASE.replace("{noqa}", "  # noqa: WF201, WF202, WF999"), "w.wf")
    assert [(d.code, d.line) for d in found] == [("WF303", 3)]
    assert "unknown rule 'WF999'" in found[0].message


def test_wf303_can_itself_be_ignored() -> None:
    text = BASE.replace("{noqa}", "  # noqa: WF201, WF202, WF205")
    assert codes(text, Selection(ignore=("WF303",))) == []


def test_file_level_noqa_suppresses_a_code_everywhere() -> None:
    text = "# wfdsl: noqa: WF202, unreachable-state\n" + BASE.replace("{noqa}", "")
    assert codes(text) == []


def test_file_level_noqa_must_stand_on_its_own_line() -> None:
    text = BASE.replace("{noqa}", "  # wfdsl: noqa: WF201")
    # At the end of a line it is an ordinary line-level noqa for that line.
    assert codes(text) == [("WF202", 3)]


def test_errors_are_never_suppressed() -> None:
    text = BASE.replace("{noqa}", "").replace(
        "start -> done on go", "start -> nowhere on go  # noqa: WF101"
    )
    found = lint_text(text, "w.wf")
    assert [d.code for d in found] == ["WF101", "WF303"]
    assert found[1].message == "unused 'noqa' for WF101: errors are never suppressed"


def test_hash_inside_a_description_is_not_a_comment() -> None:
    text = BASE.replace("{noqa}", ' "# noqa: WF201, WF202"')
    assert codes(text) == [("WF201", 3), ("WF202", 3)]


def test_prose_that_mentions_noqa_suppresses_nothing() -> None:
    text = BASE.replace("{noqa}", "  # see the noqa docs before adding one")
    assert codes(text) == [("WF201", 3), ("WF202", 3)]


def test_bare_noqa_may_carry_a_reason_after_it() -> None:
    assert codes(BASE.replace("{noqa}", "  # noqa - kept for the migration")) == []


def test_an_unknown_entry_suppresses_nothing() -> None:
    # "W" is a prefix of every code, but it names no rule.
    text = BASE.replace("{noqa}", "  # noqa: W")
    assert codes(text, Selection(ignore=("WF303",))) == [("WF201", 3), ("WF202", 3)]


def test_unused_noqa_findings_obey_a_file_level_noqa() -> None:
    text = "# wfdsl: noqa: unused-noqa\n" + BASE.replace("{noqa}", "  # noqa: WF201, WF202, WF205")
    assert codes(text) == []


def test_unused_noqa_findings_obey_an_entry_for_wf303_on_their_line() -> None:
    text = BASE.replace("{noqa}", "  # noqa: WF201, WF202, WF205, WF303")
    assert codes(text) == []


def test_an_entry_for_wf303_that_suppresses_nothing_is_itself_unused() -> None:
    found = lint_text(BASE.replace("{noqa}", "  # noqa: WF201, WF202, WF303"), "w.wf")
    assert [(d.code, d.message) for d in found] == [
        ("WF303", "unused 'noqa' for WF303: nothing to suppress")
    ]


def test_file_level_noqa_may_carry_a_reason_after_its_codes() -> None:
    text = "# wfdsl: noqa: WF202, WF201  (generated from the legacy importer)\n" + BASE.replace(
        "{noqa}", ""
    )
    assert codes(text) == []
