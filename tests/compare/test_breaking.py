"""Changes that break in-flight instances (``wfdsl breaking``), as the library finds them."""

from __future__ import annotations

from pathlib import Path

from wfdsl import loads
from wfdsl.compare.breaking import BREAKING_RULES, compare
from wfdsl.fmt import format_source

#: Version 1 of an order workflow; each test changes a copy of it.
OLD = (Path(__file__).resolve().parent / "order.wf").read_text(encoding="utf-8")


def append(text: str, lines: str) -> str:
    """``lines`` added at the end of the workflow's body."""
    assert text.endswith("}\n")
    return text[:-2] + lines + "}\n"


def codes(old: str, new: str) -> list[str]:
    return [c.diagnostic.code for c in compare(loads(old, "old.wf"), loads(new, "new.wf"))]


def only(old: str, new: str) -> str:
    changes = compare(loads(old, "old.wf"), loads(new, "new.wf"))
    assert len(changes) == 1, [c.diagnostic.headline() for c in changes]
    d = changes[0].diagnostic
    return f"{d.path}:{d.line}:{d.column}: {d.code} {d.message}" + (
        f" | {d.hint}" if d.hint else ""
    )


# -- what breaks --------------------------------------------------------------------


def test_identical_specs_break_nothing() -> None:
    assert codes(OLD, OLD) == []


def test_layout_comments_and_descriptions_break_nothing() -> None:
    new = "# reformatted\n" + format_source(OLD).replace("state packed", 'state packed "Boxed"')
    assert codes(OLD, new) == []


def test_additions_break_nothing() -> None:
    new = OLD.replace("    event pay\n", "    event pay\n    event hold\n").replace(
        "    state packed\n", "    state packed\n    state on_hold\n"
    )
    new = append(new, "    * -> on_hold on hold\n    packed -> cancelled on cancel\n")
    assert codes(OLD, new) == []


def test_changing_a_guard_or_hooks_breaks_nothing() -> None:
    new = OLD.replace("if card_ok", "if card_ok and not flagged").replace("charge", "charge, mail")
    assert codes(OLD, new) == []


def test_removed_state_is_reported_at_its_place_in_the_old_file() -> None:
    new = OLD.replace("    state packed\n", "").replace(
        "    paid -> packed on pack\n    packed -> delivered on deliver\n",
        "    paid -> delivered on pack\n",
    )
    assert codes(OLD, new) == ["WF501"]  # not also its transitions
    first = compare(loads(OLD, "old.wf"), loads(new, "new.wf"))[0].diagnostic
    assert (first.path, first.line, first.column) == ("old.wf", 7, 11)
    assert first.message == "state 'packed' was removed"


def test_renamed_state_is_reported_with_a_hint() -> None:
    new = OLD.replace("packed", "boxed")
    assert only(OLD, new) == (
        "old.wf:7:11: WF501 state 'packed' was removed"
        " | renamed to 'boxed'? running instances still use the old name"
    )


def test_removed_event_is_reported() -> None:
    new = OLD.replace("    event cancel\n", "").replace(
        "    created, paid -> cancelled on cancel\n", ""
    )
    assert only(OLD, new) == "old.wf:14:11: WF502 event 'cancel' was removed"


def test_removing_an_event_no_transition_used_breaks_nothing() -> None:
    old = OLD.replace("    event cancel\n", "    event cancel\n    event hold\n")
    assert codes(old, OLD) == []


def test_renamed_event_is_reported_with_a_hint() -> None:
    new = OLD.replace("cancel\n", "abort\n").replace("on cancel", "on abort")
    assert only(OLD, new) == (
        "old.wf:14:11: WF502 event 'cancel' was removed"
        " | renamed to 'abort'? running instances still use the old name"
    )


def test_removed_transition_is_reported() -> None:
    new = OLD.replace("    packed -> delivered on deliver\n", "")
    assert only(OLD, new) == (
        "old.wf:18:5: WF503 transition 'packed -> delivered on deliver' was removed"
    )


def test_source_dropped_from_a_transition_is_reported_for_that_source() -> None:
    new = OLD.replace("created, paid -> cancelled", "created -> cancelled")
    assert only(OLD, new) == (
        "old.wf:19:5: WF503 transition 'created, paid -> cancelled on cancel'"
        " no longer fires from 'paid'"
    )


def test_changed_target_is_a_removed_transition_with_a_hint() -> None:
    new = OLD.replace("paid -> packed on pack", "paid -> delivered on pack")
    assert only(OLD, new) == (
        "old.wf:17:5: WF503 transition 'paid -> packed on pack' was removed"
        " | 'pack' now leads to 'delivered'"
    )


def test_wildcard_replaced_by_the_same_sources_breaks_nothing() -> None:
    old = OLD.replace("created, paid -> cancelled", "* -> cancelled")
    new = OLD.replace("created, paid -> cancelled", "created, paid, packed -> cancelled")
    assert codes(old, new) == []


def test_state_made_final_is_reported_at_its_place_in_the_new_file() -> None:
    new = OLD.replace("    state packed\n", "    final state packed\n").replace(
        "    packed -> delivered on deliver\n", ""
    )
    assert codes(OLD, new) == ["WF503", "WF504"]
    made_final = compare(loads(OLD, "old.wf"), loads(new, "new.wf"))[1].diagnostic
    assert (made_final.path, made_final.line, made_final.column) == ("new.wf", 7, 5)
    assert made_final.message == "state 'packed' is now final"


def test_initial_state_changed_is_reported() -> None:
    new = OLD.replace("    initial state created\n", "    initial state draft\n    state created\n")
    new = new.replace("    event pay\n", "    event pay\n    event submit\n")
    new = append(new, "    draft -> created on submit\n")
    assert only(OLD, new) == ("new.wf:3:5: WF505 initial state changed from 'created' to 'draft'")


def test_workflow_renamed_is_reported() -> None:
    assert only(OLD, OLD.replace("workflow order", "workflow purchase")) == (
        "new.wf:1:10: WF506 workflow renamed from 'order' to 'purchase'"
        " | stores keep instances under 'order'; the new name finds none of them"
    )


def test_every_breaking_rule_is_documented_in_the_four_sections() -> None:
    from wfdsl.diagnostics import SECTIONS, doc_sections

    assert sorted(BREAKING_RULES) == [f"WF50{n}" for n in range(1, 8)]
    for rule in BREAKING_RULES.values():
        assert list(doc_sections(rule)) == list(SECTIONS), rule.code
