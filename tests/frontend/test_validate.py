"""Validation errors WF101-WF114: a spec that parses but cannot be run.

Each error has a failing example (code, position and hint asserted) and the
corrected example that loads. A file with several problems reports them all.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

import wfdsl
from wfdsl.diagnostics import Diagnostic, Severity
from wfdsl.errors import SpecError
from wfdsl.frontend.validate import MAX_GUARD_DEPTH
from wfdsl.ir import Guard, GuardAnd, GuardNot, GuardOr, GuardRef, Spec, guard_depth, guard_refs
from wfdsl.lint.base import REGISTRY


def errors(text: str) -> tuple[Diagnostic, ...]:
    with pytest.raises(SpecError) as info:
        wfdsl.loads(text, "w.wf")
    return info.value.diagnostics


def wf(*lines: str) -> str:
    """A workflow ``w`` whose body is ``lines``, one per line from line 2."""
    return "workflow w {\n" + "".join(f"  {line}\n" for line in lines) + "}\n"


@dataclass(frozen=True)
class Case:
    code: str
    bad: str
    #: (line, column) of the diagnostic
    at: tuple[int, int]
    message: str
    hint: str | None
    #: ``bad`` corrected
    good: str


CASES = [
    Case(
        "WF101",
        wf("initial state a", "final state shipped", "event ship", "a -> shiped on ship"),
        (5, 8),
        "state 'shiped' is not declared",
        "did you mean 'shipped'?",
        wf("initial state a", "final state shipped", "event ship", "a -> shipped on ship"),
    ),
    Case(
        "WF102",
        wf("initial state a", "final state b", "event pack", "a -> b on pakc"),
        (5, 13),
        "event 'pakc' is not declared",
        "did you mean 'pack'?",
        wf("initial state a", "final state b", "event pack", "a -> b on pack"),
    ),
    Case(
        "WF103",
        wf("initial state a", "state b", "state b"),
        (4, 9),
        "state 'b' is declared twice",
        "first declared on line 3",
        wf("initial state a", "state b"),
    ),
    Case(
        "WF104",
        wf("initial state a", "event go", "event stop, go"),
        (4, 15),
        "event 'go' is declared twice",
        "first declared on line 3",
        wf("initial state a", "event go", "event stop"),
    ),
    Case(
        "WF105",
        wf("state a"),
        (1, 10),
        "workflow 'w' has no initial state",
        "mark the state instances start in: 'initial state NAME'",
        wf("initial state a"),
    ),
    Case(
        "WF106",
        wf("initial state a", "initial state b"),
        (3, 17),
        "state 'b' is a second initial state",
        "'a' (line 2) is already initial",
        wf("initial state a", "state b"),
    ),
    Case(
        "WF107",
        wf("initial state a", "final state b", "event e", "a -> b on e", "b -> a on e"),
        (6, 3),
        "transition leaves final state 'b'",
        "nothing may leave a final state; remove 'final' or the transition",
        wf("initial state a", "state b", "event e", "a -> b on e", "b -> a on e"),
    ),
    Case(
        "WF108",
        wf("initial final state a"),
        (2, 23),
        "state 'a' is both initial and final",
        "an instance would end as soon as it starts",
        wf("initial state a"),
    ),
    Case(
        "WF109",
        wf("initial state paid", "state Paid"),
        (3, 9),
        "state 'Paid' and state 'paid' both become 'PAID' in generated code",
        "rename one of them ('paid' is on line 2)",
        wf("initial state paid", "state paid_twice"),
    ),
    Case(
        "WF110",
        wf("initial state a", "event e", "a -> a on e if import"),
        (4, 18),
        "guard 'import' is a Python keyword and cannot be a method name",
        "rename it, e.g. 'import_ok'",
        wf("initial state a", "event e", "a -> a on e if import_ok"),
    ),
    Case(
        "WF111",
        wf("initial state a { exit ready }", "event e", "a -> a on e if ready"),
        (2, 26),
        "'ready' is used both as a hook ('exit') and as a guard",
        "it is a guard on line 4; give the hook another name",
        wf("initial state a { exit mark_ready }", "event e", "a -> a on e if ready"),
    ),
    Case(
        "WF112",
        wf("initial state a", "event e", "a -> a on e if x", "a -> a on e if (x)"),
        (5, 3),
        "this transition repeats the one on line 4",
        "remove one of them",
        wf("initial state a", "event e", "a -> a on e if x", "a -> a on e if not x"),
    ),
    Case(
        "WF113",
        wf("initial state a {", "  enter x", "  enter y", "}"),
        (4, 5),
        "'enter' given twice in state 'a'",
        "list every name on the first 'enter' (line 3), in the order they run",
        wf("initial state a {", "  enter x, y", "}"),
    ),
    Case(
        "WF114",
        wf("initial state a", "final state b", "a -> b after 30m1h"),
        (4, 20),
        "unit 'h' after 'm': write larger units first",
        "write '1h30m'",
        wf("initial state a", "final state b", "a -> b after 1h30m"),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.code for c in CASES])
def test_error_is_reported_with_position_and_hint(case: Case) -> None:
    (diag,) = errors(case.bad)
    assert (diag.code, (diag.line, diag.column)) == (case.code, case.at)
    assert diag.message == case.message
    assert diag.hint == case.hint
    assert diag.severity is Severity.ERROR
    assert diag.name == REGISTRY[case.code].name


@pytest.mark.parametrize("case", CASES, ids=[c.code for c in CASES])
def test_corrected_example_loads(case: Case) -> None:
    wfdsl.loads(case.good)


def test_every_validation_error_has_a_case() -> None:
    assert {c.code for c in CASES} == {f"WF{n}" for n in range(101, 115)}


def test_all_errors_are_reported_at_once_in_source_order() -> None:
    diags = errors(
        "workflow w {\n"
        "  state a\n"  # no initial state: reported at the workflow name
        "  state a\n"
        "  event e\n"
        "  a -> b on e\n"
        "}"
    )
    assert [(d.code, d.line) for d in diags] == [("WF105", 1), ("WF103", 3), ("WF101", 5)]


def test_spec_error_message_summarises_the_first_error_and_counts_the_rest() -> None:
    with pytest.raises(SpecError) as info:
        wfdsl.loads("workflow w { state a event e a -> b on f }", "w.wf")
    assert str(info.value) == "w.wf:1:10: WF105 workflow 'w' has no initial state (and 2 more)"


def test_syntax_errors_in_names_and_strings_are_reported_with_the_others() -> None:
    diags = errors('workflow w { initial state a "\\q" event e "\\z" a -> b on e }')
    assert [d.code for d in diags] == ["WF100", "WF100", "WF101"]


def test_undefined_name_with_nothing_close_has_no_guess() -> None:
    (diag,) = errors("workflow w { initial state a event e a -> zzz on e }")
    assert diag.code == "WF101"
    assert diag.hint is None


def test_undefined_event_with_nothing_close_suggests_declaring_it() -> None:
    (diag,) = errors("workflow w { initial state a a -> a on approve }")
    assert diag.hint == "declare it: 'event approve'"


def test_every_undefined_source_is_reported() -> None:
    diags = errors("workflow w { initial state a event e x, a, y -> a on e }")
    assert [(d.code, d.column) for d in diags] == [("WF101", 38), ("WF101", 44)]


def test_names_may_be_used_before_they_are_declared() -> None:
    spec = wfdsl.loads("workflow w { a -> b on go  event go  final state b  initial state a }")
    assert spec.initial.name == "a"


def test_star_never_leaves_a_final_state() -> None:
    spec = wfdsl.loads("workflow w { initial state a final state b event e * -> b on e }")
    assert spec.candidates("b", "e") == ()


def test_soft_keywords_are_usable_python_names() -> None:
    spec = wfdsl.loads("workflow w { initial state a { enter match } event e a -> a on e if type }")
    assert spec.hook_names() == ("match",)


def test_hook_that_is_a_python_keyword_is_reported() -> None:
    (diag,) = errors("workflow w { initial state a { compensate class } }")
    assert diag.code == "WF110"
    assert diag.message == "hook 'class' is a Python keyword and cannot be a method name"


def test_event_names_collide_in_generated_code_too() -> None:
    (diag,) = errors("workflow w { initial state a event order_paid, orderPaid }")
    assert diag.code == "WF109"
    assert diag.message == (
        "event 'orderPaid' and event 'order_paid' both become 'ORDER_PAID' in generated code"
    )


def test_a_state_and_an_event_may_share_a_name() -> None:
    spec = wfdsl.loads("workflow w { initial state paid event paid paid -> paid on paid }")
    assert spec.has_state("paid") and spec.has_event("paid")


def test_transitions_differing_only_in_guard_or_target_are_not_duplicates() -> None:
    wfdsl.loads(
        "workflow w { initial state a state b event e"
        " a -> b on e if x  a -> b on e if y  a -> a on e if x  b -> a on e }"
    )


def test_an_unknown_escape_in_the_workflow_description_is_an_error() -> None:
    (diag,) = errors('workflow w "bad \\q" { initial state a }')
    assert (diag.code, diag.column, diag.message) == (
        "WF100",
        17,
        "unknown escape '\\q' in a description",
    )


def guard_edge(guard: str) -> str:
    return f"workflow w {{ initial state a event e a -> a on e if {guard} }}"


@pytest.mark.parametrize("op", ["or", "and"])
@pytest.mark.parametrize("length", [2, 64, 65, 5_000])
def test_a_flat_chain_of_any_length_is_one_level(op: str, length: int) -> None:
    """Issue 12: 65 names joined by ``or`` were refused as "nested"."""
    spec = wfdsl.loads(guard_edge(f" {op} ".join(f"g{i}" for i in range(length))))
    guard = spec.edges[0].guard
    assert isinstance(guard, GuardOr if op == "or" else GuardAnd)
    assert [g.name for g in guard_refs(guard)] == [f"g{i}" for i in range(length)]
    assert guard_depth(guard) == 1


def test_mixed_chains_of_any_length_are_accepted() -> None:
    terms = [f"a{i} and not b{i} and c{i}" for i in range(2_000)]
    spec = wfdsl.loads(guard_edge(" or ".join(terms)))
    guard = spec.edges[0].guard
    assert isinstance(guard, GuardOr) and len(guard.operands) == 2_000
    assert guard_depth(guard) == 3


def test_parentheses_around_a_chain_of_the_same_operator_add_no_level() -> None:
    guard = "(" * 100 + " or ".join(f"g{i}" for i in range(100)) + ")" * 100
    spec = wfdsl.loads(guard_edge(f"x or {guard}"))
    edge_guard = spec.edges[0].guard
    assert edge_guard is not None and guard_depth(edge_guard) == 1


def test_nesting_up_to_the_limit_is_accepted() -> None:
    wfdsl.loads(guard_edge("not " * MAX_GUARD_DEPTH + "x"))
    alternating = "x"
    for i in range(MAX_GUARD_DEPTH):
        alternating = f"a{i} {'and' if i % 2 else 'or'} ({alternating})"
    spec = wfdsl.loads(guard_edge(alternating))
    edge_guard = spec.edges[0].guard
    assert edge_guard is not None and guard_depth(edge_guard) == MAX_GUARD_DEPTH


@pytest.mark.parametrize(
    ("guard", "at"),
    [
        # 65 'not's: the part too deep is the whole run, down to its name.
        ("not " * (MAX_GUARD_DEPTH + 1) + "x", "not not"),
        # 65 levels of 'and' inside 'or' inside 'and'...: the outermost level
        # that is too deep spans from its first name to its last.
        (
            "".join(f"a{i} {'and' if i % 2 else 'or'} (" for i in range(MAX_GUARD_DEPTH))
            + "y or z"
            + ")" * MAX_GUARD_DEPTH,
            "a0 or (a1 and",
        ),
    ],
)
def test_real_nesting_past_the_limit_names_what_is_too_deep(guard: str, at: str) -> None:
    text = guard_edge(guard)
    (diag,) = errors(text)
    assert diag.code == "WF100"
    assert diag.message == (
        f"guard nests 'not', 'and' and 'or' more than {MAX_GUARD_DEPTH} levels deep here"
        " (a chain such as 'a or b or c' is one level)"
    )
    assert diag.hint == "move part of the condition into a guard function"
    assert text[diag.column - 1 :].startswith(at)


def test_ten_thousand_parentheses_around_a_name_are_no_nesting() -> None:
    spec = wfdsl.loads(guard_edge("(" * 10_000 + "x" + ")" * 10_000))
    edge_guard = spec.edges[0].guard
    assert isinstance(edge_guard, GuardRef) and edge_guard.name == "x"


@pytest.mark.parametrize(
    ("what", "text"),
    [
        (
            "sources",
            "workflow w { initial state s0 "
            + " ".join(f"state s{i}" for i in range(1, 5_000))
            + " final state t event e "
            + ", ".join(f"s{i}" for i in range(5_000))
            + " -> t on e }",
        ),
        (
            "hooks",
            "workflow w { initial state a { enter "
            + ", ".join(f"h{i}" for i in range(5_000))
            + " } final state t event e a -> t on e }",
        ),
        (
            "events",
            "workflow w { initial state a final state t event "
            + ", ".join(f"e{i}" for i in range(5_000))
            + " "
            + " ".join(f"a -> t on e{i}" for i in range(5_000))
            + " }",
        ),
        (
            "states",
            "workflow w { initial state s0 "
            + " ".join(f"state s{i} s{i - 1} -> s{i} on e" for i in range(1, 5_000))
            + " final state t event e s4999 -> t on e }",
        ),
    ],
)
def test_every_list_in_the_language_takes_any_length(what: str, text: str) -> None:
    spec = wfdsl.loads(text)
    assert (
        max(len(spec.states), len(spec.events), len(spec.edges), len(spec.hook_names())) >= (5_000)
        or len(spec.edges[0].sources) == 5_000
    ), what


# -- the examples ------------------------------------------------------------------


def test_every_example_is_valid(example_paths: list[Path]) -> None:
    assert len(example_paths) >= 5
    for path in example_paths:
        wfdsl.load(path)


def test_every_example_describes_its_workflow_states_and_events(example_paths: list[Path]) -> None:
    for path in example_paths:
        spec = wfdsl.load(path)
        assert spec.description, path
        undescribed = [s.name for s in spec.states if not s.description]
        undescribed += [e.name for e in spec.events if not e.description]
        assert undescribed == [], path


def test_examples_are_moderate_in_size(example_paths: list[Path]) -> None:
    for path in example_paths:
        assert 6 <= len(wfdsl.load(path).states) <= 12, path


def _guard_nodes(spec: Spec) -> list[Guard]:
    out: list[Guard] = []
    stack: list[Guard] = [e.guard for e in spec.edges if e.guard is not None]
    while stack:
        g = stack.pop()
        out.append(g)
        if isinstance(g, GuardNot):
            stack.append(g.operand)
        elif isinstance(g, GuardAnd | GuardOr):
            stack += (g.left, g.right)
    return out


def _needs_parentheses(g: Guard) -> bool:
    if isinstance(g, GuardNot):
        return isinstance(g.operand, GuardAnd | GuardOr)
    return isinstance(g, GuardAnd) and isinstance(g.right, GuardOr)


def test_examples_together_use_every_language_feature(example_paths: list[Path]) -> None:
    specs = [wfdsl.load(p) for p in example_paths]
    texts = [p.read_text(encoding="utf-8") for p in example_paths]
    edges = [e for s in specs for e in s.edges]
    states = [st for s in specs for st in s.states]
    guards = [g for s in specs for g in _guard_nodes(s)]
    used = {
        "enter": any(st.enter for st in states),
        "exit": any(st.exit for st in states),
        "compensate": any(st.compensate for st in states),
        "several hooks in one item": any(len(st.enter) > 1 for st in states),
        "final state with hooks": any(st.final and st.items for st in states),
        "multi-source transition": any(len(e.sources) > 1 for e in edges),
        "* transition": any(e.wildcard for e in edges),
        "self transition": any(e.source_names == (e.target.value,) for e in edges),
        "transition description": any(e.description for e in edges),
        "not": any(isinstance(g, GuardNot) for g in guards),
        "and": any(isinstance(g, GuardAnd) for g in guards),
        "or": any(isinstance(g, GuardOr) for g in guards),
        "parentheses": any(_needs_parentheses(g) for g in guards),
        "escape in a description": any('\\"' in t for t in texts),
        "comment on its own line": any("\n    # " in t for t in texts),
        "comment after code": any("  # " in t for t in texts),
    }
    assert [feature for feature, present in used.items() if not present] == []
