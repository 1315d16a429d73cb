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
    guard_depth,
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
    return type(g)(*(without_spans(o) for o in g.operands))


a, b, c, d, e = (GuardRef(n) for n in "abcde")


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("a or b and c", GuardOr(a, GuardAnd(b, c))),
        ("a and b or c", GuardOr(GuardAnd(a, b), c)),
        ("not a and b", GuardAnd(GuardNot(a), b)),
        ("not (a and b)", GuardNot(GuardAnd(a, b))),
        ("a and b and c", GuardAnd(a, b, c)),
        ("a or b or c", GuardOr(a, b, c)),
        ("a or (b or c) or (d and e)", GuardOr(a, b, c, GuardAnd(d, e))),
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
        # A chain in parentheses inside a chain of the same operator is one
        # chain: and/or are associative, evaluation order included.
        ("a and (b and c)", "a and b and c"),
        ("a or (b or c)", "a or b or c"),
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


def test_chains_are_flat_however_they_are_built() -> None:
    assert GuardOr(GuardOr(a, b), c) == GuardOr(a, GuardOr(b, c)) == GuardOr(a, b, c)
    assert GuardOr(a, b, c).operands == (a, b, c)
    assert GuardAnd(GuardOr(a, b), c).operands == (GuardOr(a, b), c)  # other kinds nest


def test_a_chain_needs_two_operands() -> None:
    with pytest.raises(ValueError, match="two or more operands"):
        GuardOr(a)


@pytest.mark.parametrize("n", [2, 3, 4, 5, 1000])
def test_the_binary_view_splits_in_the_middle_and_rebuilds_the_chain(n: int) -> None:
    chain = GuardAnd(*(GuardRef(f"g{i}") for i in range(n)))
    assert GuardAnd(chain.left, chain.right) == chain
    depth = 0
    g: Guard = chain
    while isinstance(g, GuardAnd):  # recursing through the view goes log2(n) deep
        g, depth = g.left, depth + 1
    assert depth == (n - 1).bit_length()


def test_long_chains_evaluate_format_and_serialise_without_recursing() -> None:
    n = 20_000  # far past Python's recursion limit
    chain = GuardOr(*(GuardRef(f"g{i}") for i in range(n)))
    calls: list[str] = []

    def call(name: str) -> bool:
        calls.append(name)
        return name == "g19999"

    assert evaluate_guard(chain, call) is True
    assert len(calls) == n
    assert format_guard(chain) == " or ".join(f"g{i}" for i in range(n))
    assert guard_depth(chain) == 1
    assert len(list(guard_refs(chain))) == n
    spec = wfdsl.loads(
        f"workflow w {{ initial state s event e s -> s on e if {format_guard(chain)} }}"
    )
    assert spec.to_data()["transitions"][0]["guard"] == ["or", *(f"g{i}" for i in range(n))]
    assert len(spec.fingerprint()) == 64


@pytest.mark.parametrize(
    ("guard", "digest"),
    [
        # Computed before chains were flat: stores recorded these, and a spec
        # that has not changed must not look changed to resume().
        ("a or b", "0e109555fe6c91857d7be99fe0f3cc0def83b5646e927a76936867a66042f4be"),
        ("a or b or c", "edd4d565154023f28cc871d6257be2edda92d939b739951acf80fe148434fa3e"),
        ("(a or b) or c", "edd4d565154023f28cc871d6257be2edda92d939b739951acf80fe148434fa3e"),
        (
            "a and b and c or d and not e",
            "60a7c9e58836ba7a63b8a919b3b64d4ebbc2ba0dffacff2463c4c8128df5f501",
        ),
        (
            "not (a or b or c) and (d or e) and f",
            "c83becd36c55d2b768c9325b137b3ff68b66b5bfda4e2b8c90eb08aa5f99d305",
        ),
    ],
)
def test_fingerprints_of_chains_are_what_they_were_before_chains_were_flat(
    guard: str, digest: str
) -> None:
    spec = wfdsl.loads(
        f"workflow w {{ initial state s final state t event e s -> t on e if {guard} }}"
    )
    assert spec.fingerprint() == digest


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
