"""Two versions of a workflow lined up part by part (``compare.diff``): the one
engine under ``wfdsl breaking`` and its review picture."""

from __future__ import annotations

from pathlib import Path

from wfdsl import loads
from wfdsl.compare.diff import Mark, SpecDiff, diff_specs

#: Version 1 of an order workflow; each test changes a copy of it.
OLD = (Path(__file__).resolve().parent / "order.wf").read_text(encoding="utf-8")


def diff(new: str) -> SpecDiff:
    return diff_specs(loads(OLD, "old.wf"), loads(new, "new.wf"))


def test_a_spec_against_itself_is_the_same_everywhere() -> None:
    d = diff(OLD)
    assert {i.mark for i in (*d.states, *d.events, *d.arrows)} == {Mark.SAME}
    assert not d.renamed and not d.initial_changed


def test_descriptions_and_layout_are_not_changes() -> None:
    new = OLD.replace("state packed", 'state packed "In a box"').replace("    ", "  ")
    assert {s.mark for s in diff(new).states} == {Mark.SAME}


def test_a_renamed_state_is_one_added_and_one_removed_the_removed_last() -> None:
    d = diff(OLD.replace("packed", "boxed"))
    assert [(s.name, s.mark) for s in d.states][-2:] == [
        ("cancelled", Mark.SAME),
        ("packed", Mark.REMOVED),
    ]
    assert {s.name: s.mark for s in d.states}["boxed"] is Mark.ADDED
    removed = next(s for s in d.states if s.mark is Mark.REMOVED)
    assert removed.new is None and removed.current is removed.old


def test_hooks_or_flags_that_differ_make_a_state_changed() -> None:
    new = (
        OLD.replace("enter charge", "enter charge, mail")
        .replace("    state packed", "    final state packed")
        .replace("    packed -> delivered on deliver\n", "")
    )
    d = diff(new)
    assert {s.name: s.mark for s in d.states} == {
        "created": Mark.SAME,
        "paid": Mark.CHANGED,
        "packed": Mark.CHANGED,
        "delivered": Mark.SAME,
        "cancelled": Mark.SAME,
    }
    assert [s.name for s in d.states if s.made_final] == ["packed"]


def test_events_are_added_or_removed_never_changed() -> None:
    d = diff(
        OLD.replace("    event cancel\n", "    event abort\n").replace("on cancel", "on abort")
    )
    assert {e.name: e.mark for e in d.events} == {
        "pay": Mark.SAME,
        "pack": Mark.SAME,
        "deliver": Mark.SAME,
        "abort": Mark.ADDED,
        "cancel": Mark.REMOVED,
    }


def test_a_guard_that_differs_makes_the_arrow_changed_with_both_transitions() -> None:
    d = diff(OLD.replace("if card_ok", "if card_ok and kyc"))
    [changed] = [a for a in d.arrows if a.mark is Mark.CHANGED]
    assert (changed.source, changed.event, changed.target) == ("created", "pay", "paid")
    assert [e.index for e in changed.old] == [0] and [e.index for e in changed.new] == [0]


def test_a_wildcard_is_one_arrow_from_any_state_but_its_moves_are_expanded() -> None:
    d = diff(OLD.replace("created, paid -> cancelled", "* -> cancelled"))
    wildcard = [a for a in d.arrows if a.source is None]
    assert [(a.event, a.mark) for a in wildcard] == [("cancel", Mark.ADDED)]
    assert {(s, e, t) for (s, e, t) in d.new_moves if e == "cancel"} == {
        ("created", "cancel", "cancelled"),
        ("paid", "cancel", "cancelled"),
        ("packed", "cancel", "cancelled"),
    }


def test_name_and_initial_state_changes_are_flagged() -> None:
    d = diff(
        OLD.replace("workflow order", "workflow purchase")
        .replace("initial state created", "state created")
        .replace("    state paid {", "    initial state paid {")
    )
    assert d.renamed and d.initial_changed
