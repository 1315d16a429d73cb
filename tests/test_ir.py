"""The Spec IR: the order transitions are tried in, guards, identity and data."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import wfdsl
from wfdsl.ir import (
    Guard,
    GuardAnd,
    GuardNot,
    GuardOr,
    GuardRef,
    HookKind,
    Spec,
    evaluate_guard,
    format_guard,
    guard_refs,
)

# -- the order transitions are tried in --------------------------------------------

ORDERING = """
workflow w {
    initial state a
    state b
    state c
    final state done
    event e, stop

    * -> done on stop if forced         # written first, still tried last
    a -> b on e if x
    a, b -> c on e if y
    * -> done on e
    a -> c on e
    b -> a on e
}
"""


def targets(spec: Spec, state: str, event: str) -> list[tuple[str, int]]:
    return [(e.target.value, e.index) for e in spec.candidates(state, event)]


def test_candidates_are_explicit_transitions_in_source_order_then_star() -> None:
    spec = wfdsl.loads(ORDERING)
    assert targets(spec, "a", "e") == [("b", 1), ("c", 2), ("c", 4), ("done", 3)]
    assert targets(spec, "b", "e") == [("c", 2), ("a", 5), ("done", 3)]


def test_star_transitions_apply_to_every_non_final_state() -> None:
    spec = wfdsl.loads(ORDERING)
    for state in ("a", "b", "c"):
        assert targets(spec, state, "stop") == [("done", 0)]
    assert targets(spec, "done", "stop") == []


def test_no_candidates_for_an_event_the_state_does_not_take() -> None:
    spec = wfdsl.loads(ORDERING)
    assert targets(spec, "c", "e") == [("done", 3)]
    assert targets(spec, "done", "e") == []


def test_star_is_expanded_in_outgoing_and_sources_of() -> None:
    spec = wfdsl.loads(ORDERING)
    star = spec.edges[0]
    assert spec.sources_of(star) == ("a", "b", "c")
    out = spec.outgoing()
    assert [e.index for e in out["c"]] == [0, 3]
    assert out["done"] == []


def test_initial_finals_and_names_to_bind() -> None:
    spec = wfdsl.loads(
        "workflow w { initial state a { enter h1, h2 exit h3 }"
        " final state z { enter h1 compensate c }"
        " event e a -> z on e if g2 or not g1 and g2 }"
    )
    assert spec.initial.name == "a"
    assert [s.name for s in spec.finals] == ["z"]
    assert spec.guard_names == ("g2", "g1")
    assert spec.hook_names() == ("h1", "h2", "h3", "c")
    assert spec.hook_names(HookKind.COMPENSATE) == ("c",)
    assert spec.state("a").enter == ("h1", "h2")
    assert spec.state("a").exit == ("h3",)
    assert spec.state("a").compensate == ()


def test_lookup_of_an_unknown_name_is_a_key_error() -> None:
    spec = wfdsl.loads("workflow w { initial state a }")
    with pytest.raises(KeyError):
        spec.state("b")
    with pytest.raises(KeyError):
        spec.event("b")


# -- guards ---------------------------------------------------------------------------


def guard_of(text: str) -> Guard:
    spec = wfdsl.loads(f"workflow w {{ initial state s event e s -> s on e if {text} }}")
    guard = spec.edges[0].guard
    assert guard is not None
    return guard


def without_spans(g: Guard) -> Guard:
    if isinstance(g, GuardRef):
        return GuardRef(g.name)
    if isinstance(g, GuardNot):
        return GuardNot(without_spans(g.operand))
    if isinstance(g, GuardAnd):
        return GuardAnd(without_spans(g.left), without_spans(g.right))
    return GuardOr(without_spans(g.left), without_spans(g.right))


a, b, c = GuardRef("a"), GuardRef("b"), GuardRef("c")


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("a or b and c", GuardOr(a, GuardAnd(b, c))),
        ("a and b or c", GuardOr(GuardAnd(a, b), c)),
        ("not a and b", GuardAnd(GuardNot(a), b)),
        ("not (a and b)", GuardNot(GuardAnd(a, b))),
        ("a and b and c", GuardAnd(GuardAnd(a, b), c)),
        ("a or b or c", GuardOr(GuardOr(a, b), c)),
        ("(a or b) and c", GuardAnd(GuardOr(a, b), c)),
        ("not not a", GuardNot(GuardNot(a))),
        ("((a))", a),
    ],
)
def test_not_binds_tighter_than_and_and_tighter_than_or(text: str, tree: Guard) -> None:
    assert without_spans(guard_of(text)) == tree


@pytest.mark.parametrize(
    ("text", "formatted"),
    [
        ("(a) or ((b) and c)", "a or b and c"),
        ("(a or b) and c", "(a or b) and c"),
        ("a and (b and c)", "a and (b and c)"),
        ("a or (b or c)", "a or (b or c)"),
        ("(a and b) and c", "a and b and c"),
        ("not (not a)", "not not a"),
        ("not (a or b)", "not (a or b)"),
        ("(not a) and b", "not a and b"),
    ],
)
def test_format_guard_keeps_only_the_parentheses_precedence_needs(
    text: str, formatted: str
) -> None:
    assert format_guard(guard_of(text)) == formatted


NAMES = st.sampled_from(["a", "b", "c", "ready", "not_flagged"])
GUARDS: st.SearchStrategy[Guard] = st.recursive(
    NAMES.map(GuardRef),
    lambda inner: st.one_of(
        inner.map(GuardNot),
        st.builds(GuardAnd, inner, inner),
        st.builds(GuardOr, inner, inner),
    ),
    max_leaves=12,
)


@given(GUARDS)
def test_formatting_a_guard_and_parsing_it_back_gives_the_same_guard(guard: Guard) -> None:
    assert without_spans(guard_of(format_guard(guard))) == guard


@given(GUARDS, st.dictionaries(NAMES, st.booleans(), min_size=5))
def test_a_formatted_guard_evaluates_like_the_original(
    guard: Guard, values: dict[str, bool]
) -> None:
    reparsed = guard_of(format_guard(guard))
    assert evaluate_guard(reparsed, values.__getitem__) == evaluate_guard(guard, values.__getitem__)


@pytest.mark.parametrize(
    ("text", "values", "result", "called"),
    [
        ("a and b", {"a": False, "b": True}, False, ["a"]),
        ("a and b", {"a": True, "b": False}, False, ["a", "b"]),
        ("a or b", {"a": True, "b": False}, True, ["a"]),
        ("a or b", {"a": False, "b": True}, True, ["a", "b"]),
        ("not a or b and c", {"a": False, "b": True, "c": True}, True, ["a"]),
        ("(a or b) and c", {"a": False, "b": False, "c": True}, False, ["a", "b"]),
        ("not (a and b)", {"a": True, "b": True}, False, ["a", "b"]),
    ],
)
def test_evaluate_guard_goes_left_to_right_and_short_circuits(
    text: str, values: dict[str, bool], result: bool, called: list[str]
) -> None:
    calls: list[str] = []

    def call(name: str) -> bool:
        calls.append(name)
        return values[name]

    assert evaluate_guard(guard_of(text), call) is result
    assert calls == called


def test_guard_refs_are_listed_left_to_right_with_positions() -> None:
    refs = list(guard_refs(guard_of("x or not (y and x)")))
    assert [r.name for r in refs] == ["x", "y", "x"]
    assert [r.span.column for r in refs] == [53, 63, 69]


# -- identity ------------------------------------------------------------------------

BASE = """
workflow w "Described" {
    initial state a "first"
    final state b { enter h }
    event e "go"
    a -> b on e if x and not y "a transition"
}
"""


def test_fingerprint_ignores_layout_comments_descriptions_and_path() -> None:
    relaid = (
        "# a comment\nworkflow w{initial state a final state b{enter h}event e\n"
        "a->b on e if x and (not y) # why\n}"
    )
    assert wfdsl.loads(BASE, "one.wf").fingerprint() == wfdsl.loads(relaid, "two.wf").fingerprint()


@pytest.mark.parametrize(
    "edits",
    [
        [("a -> b on e", "a -> a on e")],
        [("if x and not y", "if x and y")],
        [("if x and not y", "if not y and x")],  # guards are called in this order
        [("enter h", "enter h2")],
        [("enter h", "exit h")],
        [("final state b", "final state bb"), ("-> b on", "-> bb on")],
        [('"first"', '"first" { exit h0 }')],
        [('"a transition"', '"a transition"\n    * -> b on e if z')],
    ],
    ids=[
        "target",
        "guard",
        "guard order",
        "hook",
        "hook kind",
        "state name",
        "new hook",
        "new transition",
    ],
)
def test_fingerprint_changes_when_behaviour_changes(edits: list[tuple[str, str]]) -> None:
    changed = BASE
    for old, new in edits:
        assert old in changed
        changed = changed.replace(old, new)
    assert wfdsl.loads(changed).fingerprint() != wfdsl.loads(BASE).fingerprint()


def test_fingerprint_changes_when_transitions_for_one_state_swap_order() -> None:
    first = "workflow w { initial state a final state b final state c event e"
    first += " a -> b on e if x a -> c on e }"
    swapped = first.replace("a -> b on e if x a -> c on e", "a -> c on e a -> b on e if x")
    assert wfdsl.loads(first).fingerprint() != wfdsl.loads(swapped).fingerprint()


def test_fingerprint_is_a_sha256_hex_digest() -> None:
    digest = wfdsl.loads(BASE).fingerprint()
    assert len(digest) == 64
    assert int(digest, 16) >= 0


def test_to_data_is_plain_json_data() -> None:
    assert wfdsl.loads(BASE).to_data() == {
        "name": "w",
        "description": "Described",
        "states": [
            {"name": "a", "description": "first", "initial": True, "final": False,
             "enter": [], "exit": [], "compensate": []},
            {"name": "b", "description": None, "initial": False, "final": True,
             "enter": ["h"], "exit": [], "compensate": []},
        ],
        "events": [{"name": "e", "description": "go"}],
        "transitions": [
            {"sources": ["a"], "target": "b", "event": "e",
             "guard": ["and", "x", ["not", "y"]], "description": "a transition"},
        ],
    }  # fmt: skip


def test_to_data_marks_star_sources_and_can_drop_descriptions() -> None:
    data = wfdsl.loads(BASE.replace("a -> b", "* -> b")).to_data(descriptions=False)
    assert data["transitions"][0]["sources"] == "*"
    assert data["description"] is None
    assert {s["description"] for s in data["states"]} == {None}
    assert data["transitions"][0]["description"] is None


def test_every_example_round_trips_through_json(example_paths: list[Path]) -> None:
    for path in example_paths:
        data = wfdsl.load(path).to_data()
        assert json.loads(json.dumps(data)) == data


def test_specs_are_immutable() -> None:
    spec = wfdsl.loads(BASE)
    with pytest.raises(AttributeError):
        spec.name = "other"  # type: ignore[misc]
    renamed = replace(spec, name="other")
    assert renamed.name == "other"
    assert renamed.candidates("a", "e") == spec.candidates("a", "e")
