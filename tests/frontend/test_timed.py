"""Timed transitions (``SOURCES -> TARGET after DURATION``): what the front end
accepts, the IR it builds, and every error around them (WF114 invalid-duration,
the WF100 syntax errors near ``after``, and the WF1xx checks they share with
event transitions).
"""

from __future__ import annotations

import re

import pytest

import wfdsl
from wfdsl.diagnostics import Diagnostic, Severity
from wfdsl.errors import SpecError
from wfdsl.ir import Span, TimedEdge, guard_refs


def errors(text: str) -> tuple[Diagnostic, ...]:
    with pytest.raises(SpecError) as info:
        wfdsl.loads(text, "w.wf")
    return info.value.diagnostics


def wf(*lines: str) -> str:
    """A workflow ``w`` whose body is ``lines``, one per line from line 2."""
    return "workflow w {\n" + "".join(f"    {line}\n" for line in lines) + "}\n"


def timer(duration: str) -> str:
    """A workflow whose line 4 is ``a -> b after DURATION`` (the duration at column 18)."""
    return wf("initial state a", "final state b", f"a -> b after {duration}")


# -- what is accepted -------------------------------------------------------------------

SECOND, MINUTE, HOUR, DAY = 1_000, 60_000, 3_600_000, 86_400_000


@pytest.mark.parametrize(
    ("written", "ms"),
    [
        ("500ms", 500),
        ("1ms", 1),
        ("90s", 90 * SECOND),
        ("15m", 15 * MINUTE),
        ("1h30m", HOUR + 30 * MINUTE),
        ("7d", 7 * DAY),
        ("1d2h3m4s5ms", DAY + 2 * HOUR + 3 * MINUTE + 4 * SECOND + 5),
        ("1s500ms", 1_500),
        ("90m", 90 * MINUTE),
        ("0h30m", 30 * MINUTE),
        ("007s", 7 * SECOND),
        ("3650d", 3650 * DAY),
        ("3649d23h59m59s999ms", 3650 * DAY - 1),
    ],
)
def test_duration_is_an_exact_number_of_milliseconds_kept_as_written(written: str, ms: int) -> None:
    (edge,) = wfdsl.loads(timer(written)).timed_edges
    assert edge.after.ms == ms
    assert isinstance(edge.after.ms, int)
    assert edge.after.text == written
    assert edge.after.timedelta.total_seconds() * 1000 == ms
    assert edge.after.span == Span(4, 18, 4, 18 + len(written))


def test_timed_transition_has_sources_target_guard_description_and_span() -> None:
    spec = wfdsl.loads(
        wf(
            "initial state a",
            "state b",
            "final state c",
            "event go",
            "a -> b on go",
            'a, b -> c after 1h if ready and not held "Give up"',
        )
    )
    (edge,) = spec.timed_edges
    assert edge.source_names == ("a", "b")
    assert edge.target.value == "c"
    assert edge.after.ms == HOUR
    assert [r.name for r in guard_refs(edge.guard)] == ["ready", "held"]
    assert edge.description == "Give up"
    assert not edge.wildcard
    assert (edge.span.line, edge.span.column, edge.span.end_column) == (7, 5, 55)
    assert edge.index == 0
    # Event transitions are numbered on their own, as before timers existed.
    assert [e.index for e in spec.edges] == [0]


def test_star_timed_transition_arms_in_every_non_final_state() -> None:
    spec = wfdsl.loads(
        wf("initial state a", "state b", "final state c", "event go", "a -> b on go").replace(
            "}\n", "    * -> c after 30d\n}\n"
        )
    )
    (edge,) = spec.timed_edges
    assert edge.wildcard and edge.sources == ()
    assert spec.sources_of(edge) == ("a", "b")
    assert [t.index for t in spec.timed_from("a")] == [0]
    assert spec.timed_from("c") == ()


def test_a_state_whose_only_way_out_is_a_timer_is_valid() -> None:
    spec = wfdsl.loads(
        wf("initial state waiting", "final state expired", "waiting -> expired after 1d")
    )
    assert spec.edges == ()
    assert spec.events == ()
    assert spec.timed_edges[0].target.value == "expired"


def test_timed_and_event_transitions_may_be_written_in_any_order_and_layout() -> None:
    one_line = "workflow w { initial state a final state b event e a -> b after 5m a -> b on e }"
    spread = "workflow w {\n initial state a\n final state b\n event e\n a\n ->\n b\n after\n 5m\n"
    spread += " a -> b on e\n}"
    assert wfdsl.loads(one_line).to_data() == wfdsl.loads(spread).to_data()


def test_comments_may_follow_a_duration() -> None:
    spec = wfdsl.loads(timer("30m  # unpaid orders expire"))
    assert spec.timed_edges[0].after.text == "30m"


# -- WF114 invalid-duration ----------------------------------------------------------------

#: (duration as written, (column, end column) of the finding, message, hint)
BAD_DURATIONS = [
    ("0s", (18, 20), "duration '0s' is zero", "a timed transition waits at least '1ms'"),
    ("0h0m0s", (18, 24), "duration '0h0m0s' is zero", "a timed transition waits at least '1ms'"),
    ("30m1h", (22, 23), "unit 'h' after 'm': write larger units first", "write '1h30m'"),
    ("500ms1s", (24, 25), "unit 's' after 'ms': write larger units first", "write '1s500ms'"),
    ("1m30m", (22, 23), "unit 'm' is written twice in '1m30m'", "write '31m'"),
    (
        "3651d",
        (18, 23),
        "duration '3651d' is longer than 3650 days",
        "the longest is '3650d' (about ten years)",
    ),
    (
        "3650d1ms",
        (18, 26),
        "duration '3650d1ms' is longer than 3650 days",
        "the longest is '3650d' (about ten years)",
    ),
    (
        "9" * 5000 + "d",
        (18, 5019),
        f"duration '{'9' * 5000}d' is longer than 3650 days",
        "the longest is '3650d' (about ten years)",
    ),
    ("90x", (20, 21), "unknown unit 'x' in duration '90x'", "the units are d, h, m, s and ms"),
    (
        "1H30m",
        (19, 20),
        "unknown unit 'H' in duration '1H30m'",
        "units are lower case: write '1h30m'",
    ),
    ("30min", (20, 23), "unknown unit 'min' in duration '30min'", "write '30m'"),
    ("2hours", (19, 24), "unknown unit 'hours' in duration '2hours'", "write '2h'"),
    (
        "2w",
        (19, 20),
        "unknown unit 'w' in duration '2w'",
        "there is no week unit: count days, e.g. '7d'",
    ),
    (
        "1y",
        (19, 20),
        "unknown unit 'y' in duration '1y'",
        "there is no year unit: count days, e.g. '365d'",
    ),
    ("10us", (20, 22), "unknown unit 'us' in duration '10us'", "the smallest unit is 'ms'"),
    (
        "30",
        (18, 20),
        "duration '30' has no unit",
        "the units are d, h, m, s and ms, e.g. '30s' or '30m'",
    ),
    (
        "1h30",
        (20, 22),
        "'30' in duration '1h30' has no unit",
        "the units are d, h, m, s and ms, e.g. '30s' or '30m'",
    ),
    (
        "1.5h",
        (18, 22),
        "duration '1.5h' is not a whole number",
        "durations count whole units: write '1h30m'",
    ),
    (
        "2h0.25s",
        (20, 25),
        "'0.25s' in duration '2h0.25s' is not a whole number",
        "durations count whole units: '0.25s' is '250ms'",
    ),
    # A hint names only what it knows: the piece, not a wrong whole duration.
    (
        "1.5h30m",
        (18, 22),
        "'1.5h' in duration '1.5h30m' is not a whole number",
        "durations count whole units: '1.5h' is '1h30m'",
    ),
    # Every unit is corrected, so the suggested text is itself valid...
    (
        "1H30M",
        (19, 20),
        "unknown unit 'H' in duration '1H30M'",
        "units are lower case: write '1h30m'",
    ),
    # ...and where another unit can't be guessed, no whole text is suggested.
    (
        "1H30w",
        (19, 20),
        "unknown unit 'H' in duration '1H30w'",
        "units are lower case: 'H' is 'h'",
    ),
    (
        "1_000ms",
        (19, 20),
        "'_' cannot be part of a duration ('1_000ms')",
        "write the number without '_': '1000ms'",
    ),
    ("1h 30m", (18, 24), "a duration has no spaces inside", "write '1h30m'"),
    ("1d 2h 3m", (18, 26), "a duration has no spaces inside", "write '1d2h3m'"),
    ("30 m", (18, 22), "a duration has no spaces inside", "write '30m'"),
    ("1h 30 minutes", (18, 31), "a duration has no spaces inside", "write '1h30m'"),
]


@pytest.mark.parametrize(
    ("duration", "columns", "message", "hint"),
    BAD_DURATIONS,
    ids=[d if len(d) < 20 else "huge" for d, *_ in BAD_DURATIONS],
)
def test_invalid_duration_names_the_bad_part_at_its_own_span(
    duration: str, columns: tuple[int, int], message: str, hint: str
) -> None:
    (diag,) = errors(timer(duration))
    assert (diag.code, diag.name, diag.severity) == ("WF114", "invalid-duration", Severity.ERROR)
    assert (diag.line, diag.column, diag.end_line, diag.end_column) == (
        4,
        *columns[:1],
        4,
        columns[1],
    )
    assert diag.message == message
    assert diag.hint == hint


def test_a_number_apart_from_its_unit_is_reported_before_the_next_transition() -> None:
    # `m` lexes as a name that would start the next transition; the error is
    # still the duration, not "expected '->'" at the next line.
    (diag,) = errors(
        wf("initial state a", "final state b", "event e", "a -> b after 30 m", "a -> b on e")
    )
    assert (diag.code, diag.line, diag.column, diag.end_column) == ("WF114", 5, 18, 22)
    assert diag.hint == "write '30m'"


def test_every_invalid_duration_is_reported_with_the_other_errors_in_source_order() -> None:
    diags = errors(
        wf(
            "initial state a",
            "final state b",
            "a -> b after 30m1h",
            "a -> nowhere after 5m",
            "a -> b after 0s",
            "a -> b after 1h 1h",
        )
    )
    assert [(d.code, d.line) for d in diags] == [
        ("WF114", 4),
        ("WF101", 5),
        ("WF114", 6),
        ("WF114", 7),
    ]


def test_invalid_durations_are_never_duplicates_of_each_other() -> None:
    diags = errors(wf("initial state a", "final state b", "a -> b after 0s", "a -> b after 0m"))
    assert [d.code for d in diags] == ["WF114", "WF114"]


# -- syntax errors around `after` -------------------------------------------------------------

#: (line 5 of a workflow, column, message, hint)
BAD_SYNTAX = [
    ("a -> b after", 1, "expected a duration such as '30m', found '}'", None),
    ("a -> b after x", 18, "expected a duration such as '30m', found name 'x'", None),
    ("a -> b after if x", 18, "expected a duration such as '30m', found keyword 'if'", None),
    ("a -> b after 5m if", 1, "expected a guard name, '(' or 'not', found '}'", None),
    (
        "a -> b after 5m on e",
        21,
        "expected a declaration ('state', 'event' or a transition), 'if', '}' or a description"
        " string, found keyword 'on'",
        "a transition fires on an event or after a duration, not both",
    ),
    (
        "a -> b on e after 5m",
        17,
        "expected a declaration ('state', 'event' or a transition), 'if', '}' or a description"
        " string, found keyword 'after'",
        "a transition fires on an event or after a duration, not both",
    ),
    (
        "a -> b on e 5m",
        17,
        "expected a declaration ('state', 'event' or a transition), 'if', '}' or a description"
        " string, found '5m'",
        "a transition fires on an event or after a duration, not both",
    ),
    ("a -> b 5m", 12, "expected 'after' or 'on', found '5m'", None),
    (
        "a -> after 5m",
        10,
        "expected a state name, found keyword 'after'",
        "'after' is a keyword and cannot be used as a name",
    ),
    (
        "after -> b on e",
        5,
        "expected a declaration ('state', 'event' or a transition), ',', '}' or a description string, found keyword 'after'",
        "'after' is a keyword and cannot be used as a name",
    ),
    ("state 2fa", 11, "expected a state name, found '2fa'", "names start with an ASCII letter"),
]


@pytest.mark.parametrize(("line", "column", "message", "hint"), BAD_SYNTAX)
def test_syntax_error_near_after_is_in_words_a_user_knows(
    line: str, column: int, message: str, hint: str | None
) -> None:
    (diag,) = errors(wf("initial state a", "final state b", "event e", line))
    assert diag.code == "WF100"
    assert diag.message == message
    assert diag.hint == hint
    at_close = column == 1  # found the closing brace on line 6
    assert (diag.line, diag.column) == ((6, 1) if at_close else (5, column))
    assert not re.search(r"__ANON|\$END|\b[A-Z][A-Z_]{2,}\b", diag.message), diag.message


def test_after_is_a_keyword_but_names_may_start_with_it() -> None:
    spec = wfdsl.loads(
        wf(
            "initial state aftercare",
            "final state afterwards",
            "event after_hours",
            "aftercare -> afterwards on after_hours if after_ok",
            "aftercare -> afterwards after 1h",
        )
    )
    assert [s.name for s in spec.states] == ["aftercare", "afterwards"]


# -- the checks timed transitions share with event transitions ----------------------------------


def test_timed_transition_to_an_undeclared_state_has_a_did_you_mean_hint() -> None:
    (diag,) = errors(wf("initial state a", "final state expired", "a -> expird after 1d"))
    assert (diag.code, diag.line, diag.column) == ("WF101", 4, 10)
    assert diag.hint == "did you mean 'expired'?"


def test_timed_transition_out_of_a_final_state_is_wf107() -> None:
    (diag,) = errors(
        wf(
            "initial state a",
            "final state b",
            "final state c",
            "event e",
            "a -> b on e",
            "b -> c after 1d",
        )
    )
    assert (diag.code, diag.line, diag.column) == ("WF107", 7, 5)
    assert diag.message == "timed transition leaves final state 'b'"
    assert diag.hint == "nothing may leave a final state; remove 'final' or the transition"


def test_a_repeated_timed_transition_is_wf112_whatever_the_duration_is_written_as() -> None:
    (diag,) = errors(
        wf(
            "initial state a",
            "final state b",
            "a -> b after 90s if ok",
            "a -> b after 1m30s if (ok)",
        )
    )
    assert (diag.code, diag.line, diag.column) == ("WF112", 5, 5)
    assert diag.message == "this transition repeats the one on line 4"


@pytest.mark.parametrize(
    "second",
    [
        "a -> b after 91s if ok",  # another duration
        "a -> c after 90s if ok",  # another target
        "a -> b after 90s if not ok",  # another guard
        "a -> b after 90s",  # no guard
        "c -> b after 90s if ok",  # other sources
        "* -> b after 90s if ok",
    ],
)
def test_timed_transitions_that_differ_are_not_duplicates(second: str) -> None:
    wfdsl.loads(
        wf(
            "initial state a",
            "state c",
            "final state b",
            "event e",
            "a -> c on e",
            "c -> b on e",
            "a -> b after 90s if ok",
            second,
        )
    )


def test_a_timed_and_an_event_transition_alike_otherwise_are_not_duplicates() -> None:
    wfdsl.loads(wf("initial state a", "final state b", "event e", "a -> b on e", "a -> b after 1h"))


def test_timed_guards_are_checked_like_other_guards() -> None:
    diags = errors(
        wf(
            "initial state a { enter ready }",
            "final state b",
            "a -> b after 1h if ready",
            "a -> b after 2h if class",
        )
    )
    assert [(d.code, d.line) for d in diags] == [("WF111", 2), ("WF110", 5)]


def test_guard_names_include_timed_guards_in_source_order() -> None:
    spec = wfdsl.loads(
        wf(
            "initial state a",
            "final state b",
            "event e",
            "a -> b after 1h if late",
            "a -> b on e if ok",
            "a -> b after 2h if later and ok",
        )
    )
    assert spec.guard_names == ("late", "ok", "later")


def test_timed_edges_are_never_candidates_for_an_event() -> None:
    spec = wfdsl.loads(
        wf(
            "initial state a",
            "final state b",
            "event e",
            "a -> b after 1h",
            "* -> b after 2h",
            "a -> b on e if ok",
        )
    )
    for state in ("a", "b"):
        assert all(not isinstance(c, TimedEdge) for c in spec.candidates(state, "e"))
    assert [c.index for c in spec.candidates("a", "e")] == [0]
