"""WF507 timer-changed: a timed transition that instances already waiting in
a state have armed is removed or changed in the new version."""

from __future__ import annotations

from pathlib import Path

import pytest

from wfdsl import loads
from wfdsl.compare.breaking import BREAKING_RULES, TimerChanged, compare, narrow
from wfdsl.compare.diff import Mark, diff_specs

ORDER = (Path(__file__).resolve().parent / "order.wf").read_text(encoding="utf-8")


def append(text: str, lines: str) -> str:
    """``lines`` added at the end of the workflow's body."""
    assert text.endswith("}\n")
    return text[:-2] + lines + "}\n"


#: The order workflow with two timers: line 20 and line 21.
OLD = append(ORDER, "    created -> cancelled after 30m if unpaid\n    * -> cancelled after 30d\n")


def findings(new: str, old: str = OLD) -> list[str]:
    return [
        f"{c.diagnostic.line}: {c.diagnostic.code} {c.diagnostic.message} {list(c.states)}"
        for c in compare(loads(old, "old.wf"), loads(new, "new.wf"))
    ]


def with_timers(first: str, second: str = "* -> cancelled after 30d") -> str:
    return append(ORDER, f"    {first}\n    {second}\n")


def test_the_rule_is_registered_with_a_stable_code_and_name() -> None:
    assert BREAKING_RULES["WF507"] is TimerChanged
    assert TimerChanged.name == "timer-changed"


@pytest.mark.parametrize(
    ("first", "now"),
    [
        ("created -> cancelled after 1h if unpaid", "created -> cancelled after 1h if unpaid"),
        ("created -> delivered after 30m if unpaid", "created -> delivered after 30m if unpaid"),
        ("created -> cancelled after 30m", "created -> cancelled after 30m"),
        ("created -> cancelled after 30m if late", "created -> cancelled after 30m if late"),
    ],
    ids=["duration", "target", "guard removed", "guard changed"],
)
def test_a_changed_timer_is_breaking_and_names_what_it_became(first: str, now: str) -> None:
    assert findings(with_timers(first)) == [
        "20: WF507 timed transition 'created -> cancelled after 30m if unpaid' changed to"
        f" '{now}' ['created']"
    ]


def test_a_removed_timer_is_breaking_for_the_state_that_armed_it() -> None:
    new = append(ORDER, "    * -> cancelled after 30d\n")
    assert findings(new) == [
        "20: WF507 timed transition 'created -> cancelled after 30m if unpaid' was removed"
        " ['created']"
    ]
    (change,) = compare(loads(OLD, "old.wf"), loads(new, "new.wf"))
    assert (
        change.diagnostic.hint == "instances already waiting in 'created' have it armed as it was"
    )
    assert (change.diagnostic.path, change.diagnostic.column) == ("old.wf", 5)


def test_a_star_timer_narrowed_to_some_states_breaks_the_others() -> None:
    new = with_timers(
        "created -> cancelled after 30m if unpaid", "created, paid -> cancelled after 30d"
    )
    assert findings(new) == [
        "21: WF507 timed transition '* -> cancelled after 30d' no longer fires from 'packed'"
        " ['packed']"
    ]


@pytest.mark.parametrize(
    "new",
    [
        # the same timers, durations written another way, new descriptions
        with_timers(
            'created -> cancelled after 1800s if unpaid "Unpaid"', "* -> cancelled after 720h"
        ),
        # the star timer written out for every state it armed in
        with_timers(
            "created -> cancelled after 30m if unpaid",
            "created, paid, packed -> cancelled after 30d",
        ),
        # a timer added
        append(OLD, "    paid -> cancelled after 7d\n"),
        # timers reordered
        append(
            ORDER, "    * -> cancelled after 30d\n    created -> cancelled after 30m if unpaid\n"
        ),
    ],
    ids=["rewritten", "star spelled out", "added", "reordered"],
)
def test_what_armed_timers_still_do_as_armed_breaks_nothing(new: str) -> None:
    assert findings(new) == []


def test_a_removed_target_state_is_reported_once_for_the_timers_into_it_too() -> None:
    old = append(
        ORDER,
        "    state on_hold\n    created -> on_hold after 1d\n    on_hold -> cancelled on cancel\n",
    )
    found = findings(ORDER, old=old)
    assert found == ["20: WF501 state 'on_hold' was removed ['on_hold', 'created']"]


def test_a_state_made_final_is_not_also_a_lost_timer() -> None:
    old = append(ORDER, "    packed -> cancelled after 1d\n")
    new = ORDER.replace("    state packed", "    final state packed").replace(
        "    packed -> delivered on deliver\n", ""
    )
    assert [f.split(":")[1].split()[0] for f in findings(new, old=old)] == ["WF503", "WF504"]


def test_db_narrowing_keeps_a_lost_timer_only_where_instances_wait() -> None:
    changes = compare(loads(OLD, "old.wf"), loads(append(ORDER, ""), "new.wf"))
    assert len(changes) == 2
    kept = narrow(changes, {"paid": 3})
    assert [c.diagnostic.message for c in kept] == [
        "timed transition '* -> cancelled after 30d' was removed (3 live instances in 'paid')"
    ]
    assert narrow(changes, {"delivered": 5}) == []


def test_the_review_diff_marks_a_changed_duration_as_one_removed_and_one_added_arrow() -> None:
    d = diff_specs(loads(OLD), loads(with_timers("created -> cancelled after 1h if unpaid")))
    marks = {(a.source, a.event, a.target): a.mark for a in d.arrows if a.event.startswith("after")}
    assert marks == {
        ("created", "after 1h", "cancelled"): Mark.ADDED,
        ("created", "after 30m", "cancelled"): Mark.REMOVED,
        (None, "after 30d", "cancelled"): Mark.SAME,
    }


def test_the_review_diff_marks_a_changed_timer_guard_as_changed() -> None:
    d = diff_specs(loads(OLD), loads(with_timers("created -> cancelled after 30m if late")))
    (arrow,) = [a for a in d.arrows if a.event == "after 30m"]
    assert arrow.mark is Mark.CHANGED
