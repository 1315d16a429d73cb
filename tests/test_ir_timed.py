"""Timed transitions in the IR: which a state arms and in what order, durations,
and the identity of specs with and without timers."""

from __future__ import annotations

from datetime import timedelta

import pytest

import wfdsl
from wfdsl.ir import Duration, Name, Spec, State, TimedEdge, format_duration

ARMING = """
workflow w {
    initial state a
    state b
    state c
    final state done
    event e

    * -> done after 7d                 # 0: written first, so it comes first
    a -> b after 1h if x               # 1
    a, b -> c after 30m                # 2
    a -> done on e
    b, b -> a after 2h                 # 3: b listed twice, armed once
    * -> c after 1d if y               # 4
}
"""


def armed(spec: Spec, state: str) -> list[int]:
    return [t.index for t in spec.timed_from(state)]


def test_timed_from_lists_what_entering_a_state_arms_in_written_order() -> None:
    spec = wfdsl.loads(ARMING)
    # `*` ones are not moved after the explicit ones: written order breaks ties
    # between timers due at the same moment (SPEC §2).
    assert armed(spec, "a") == [0, 1, 2, 4]
    assert armed(spec, "b") == [0, 2, 3, 4]
    assert armed(spec, "c") == [0, 4]


def test_final_and_unknown_states_arm_nothing() -> None:
    spec = wfdsl.loads(ARMING)
    assert spec.timed_from("done") == ()
    assert spec.timed_from("nowhere") == ()


def test_timed_from_is_the_same_tuple_on_every_call() -> None:
    spec = wfdsl.loads(ARMING)
    assert spec.timed_from("a") is spec.timed_from("a")


def test_timed_edges_are_numbered_on_their_own_in_source_order() -> None:
    spec = wfdsl.loads(ARMING)
    assert [t.index for t in spec.timed_edges] == [0, 1, 2, 3, 4]
    assert [e.index for e in spec.edges] == [0]
    assert [type(e).__name__ for e in spec.all_edges] == ["TimedEdge"] * 3 + [
        "Edge",
        "TimedEdge",
        "TimedEdge",
    ]


def test_a_spec_without_timers_arms_nothing() -> None:
    spec = wfdsl.loads("workflow w { initial state a final state b event e a -> b on e }")
    assert spec.timed_edges == ()
    assert spec.timed_from("a") == ()
    assert spec.all_edges == spec.edges


def test_a_spec_built_by_hand_indexes_its_timers_too() -> None:
    expire = TimedEdge((Name("a"),), Name("b"), Duration(60_000, "1m"))
    spec = Spec(
        name="w",
        states=(State("a", initial=True), State("b", final=True)),
        events=(),
        edges=(),
        timed_edges=(expire,),
    )
    assert spec.timed_from("a") == (expire,)
    assert spec.guard_names == ()


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (1, "1ms"),
        (1_500, "1s500ms"),
        (90_000, "1m30s"),
        (5_400_000, "1h30m"),
        (86_400_000, "1d"),
        (3650 * 86_400_000, "3650d"),
        (86_400_000 + 1, "1d1ms"),
    ],
)
def test_format_duration_writes_the_fewest_pieces_largest_first(ms: int, text: str) -> None:
    assert format_duration(ms) == text
    written = f"workflow w {{ initial state a final state b a -> b after {text} }}"
    assert wfdsl.loads(written).timed_edges[0].after.ms == ms


@pytest.mark.parametrize("ms", [0, -1])
def test_format_duration_refuses_what_is_not_a_duration(ms: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        format_duration(ms)


def test_duration_converts_exactly_to_a_timedelta() -> None:
    assert Duration(5_400_001, "1h30m1ms").timedelta == timedelta(
        hours=1, minutes=30, milliseconds=1
    )


# -- identity ------------------------------------------------------------------------------

#: A spec without timers, and its fingerprint as computed before timed
#: transitions existed: stores record fingerprints per running instance, so
#: they must never change for specs that do not use ``after``.
NO_TIMERS = """workflow order "Order fulfilment" {
    initial state created "Order placed, awaiting payment"
    state paid {
        enter charge_card, send_receipt
        exit release_hold
        compensate refund_card
    }
    state shipped "Handed to the carrier" {
        compensate recall_shipment
    }
    final state delivered
    final state cancelled
    event pay, ship, deliver
    event cancel "Customer or operator cancels"
    created -> paid on pay if card_valid and not flagged or vip
    paid -> shipped on ship
    shipped -> delivered on deliver
    created, paid -> cancelled on cancel
    * -> cancelled on cancel if forced
}
"""
NO_TIMERS_FINGERPRINT = "fce5825ab71d7e869018edeadeb2d81a89849c231910099e31fdcddb590881aa"


def test_fingerprint_of_a_spec_without_timers_is_unchanged() -> None:
    spec = wfdsl.loads(NO_TIMERS)
    assert spec.fingerprint() == NO_TIMERS_FINGERPRINT
    assert "timed_transitions" not in spec.to_data()


def with_timer(line: str) -> Spec:
    """:data:`NO_TIMERS` with ``line`` added at the end of its body."""
    assert NO_TIMERS.endswith("\n}\n")
    return wfdsl.loads(NO_TIMERS[: -len("}\n")] + f"    {line}\n}}\n")


def test_adding_a_timer_changes_the_fingerprint() -> None:
    assert with_timer("created -> cancelled after 30m").fingerprint() != NO_TIMERS_FINGERPRINT


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("created -> cancelled after 30m", "created -> cancelled after 31m"),
        ("created -> cancelled after 30m", "created -> delivered after 30m"),
        ("created -> cancelled after 30m", "created -> cancelled after 30m if late"),
        ("created -> cancelled after 30m", "paid -> cancelled after 30m"),
        ("created -> cancelled after 30m", "* -> cancelled after 30m"),
    ],
    ids=["duration", "target", "guard", "sources", "star"],
)
def test_fingerprint_changes_when_a_timer_behaves_differently(one: str, other: str) -> None:
    assert with_timer(one).fingerprint() != with_timer(other).fingerprint()


def test_fingerprint_ignores_how_a_duration_is_written_and_its_description() -> None:
    one = with_timer('created -> cancelled after 90m "Unpaid"')
    other = with_timer("created -> cancelled after 1h30m")
    assert one.fingerprint() == other.fingerprint()


def test_to_data_lists_timed_transitions_with_exact_milliseconds() -> None:
    data = with_timer('* -> cancelled after 1h30m if late and not vip "Expire"').to_data()
    assert data["timed_transitions"] == [
        {
            "sources": "*",
            "target": "cancelled",
            "after_ms": 5_400_000,
            "guard": ["and", "late", ["not", "vip"]],
            "description": "Expire",
        }
    ]
