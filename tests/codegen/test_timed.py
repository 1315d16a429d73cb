"""Timed transitions in generated modules: the SPEC carries every one exactly
(durations in milliseconds and as written), and the docstrings say when their
guards run."""

from __future__ import annotations

from typing import Any

import pytest

import wfdsl
from wfdsl.codegen import generate
from wfdsl.ir import Spec, TimedEdge, format_guard

from .helpers import HOSTILE, SOURCES, golden_path, random_spec


def shape(timer: TimedEdge) -> tuple[object, ...]:
    """Everything about a timed transition but its source positions."""
    guard = format_guard(timer.guard) if timer.guard else None
    return (
        timer.source_names,
        timer.target.value,
        timer.after.ms,
        timer.after.text,
        guard,
        timer.description,
        timer.wildcard,
        timer.index,
    )


def generated_spec(spec: Spec) -> Spec:
    namespace: dict[str, Any] = {}
    exec(compile(generate(spec, source="t.wf", sha256="0" * 64), "t_wf.py", "exec"), namespace)
    built: Spec = namespace["SPEC"]
    return built


TIMED_SOURCES = [s for s in SOURCES if wfdsl.load(s).timed_edges]


def test_some_golden_modules_have_timed_transitions() -> None:
    assert HOSTILE in TIMED_SOURCES
    assert "timed_edges=(" in golden_path(HOSTILE).read_text(encoding="utf-8")


@pytest.mark.parametrize("source", TIMED_SOURCES, ids=lambda p: p.stem)
def test_generated_spec_has_every_timed_transition_exactly(source: Any) -> None:
    spec = wfdsl.load(source)
    built = generated_spec(spec)
    assert [shape(t) for t in built.timed_edges] == [shape(t) for t in spec.timed_edges]
    for state in spec.states:
        assert [shape(t) for t in built.timed_from(state.name)] == [
            shape(t) for t in spec.timed_from(state.name)
        ]


@pytest.mark.parametrize("seed", range(20))
def test_hostile_duration_text_of_a_hand_built_spec_survives_generation(seed: int) -> None:
    spec = random_spec(seed)
    assert [shape(t) for t in generated_spec(spec).timed_edges] == [
        shape(t) for t in spec.timed_edges
    ]


def test_some_random_specs_have_timed_transitions() -> None:
    assert sum(bool(random_spec(seed).timed_edges) for seed in range(20)) >= 5


def test_a_spec_without_timers_generates_no_timed_edges_argument() -> None:
    spec = wfdsl.loads("workflow w { initial state a final state b event e a -> b on e if ok }")
    text = generate(spec, source="w.wf", sha256="0" * 64)
    assert "timed_edges" not in text
    assert "Guard, checked when ``e`` arrives." in text
    assert "timer" not in text


def test_guard_docstrings_say_when_timers_check_them() -> None:
    spec = wfdsl.loads(
        "workflow w { initial state a state b final state c event e "
        "a -> b on e if ok "
        "a, b -> c after 30m if ok and late "
        "* -> c after 7d if late }"
    )
    text = " ".join(generate(spec, source="w.wf", sha256="0" * 64).split())  # unwrapped
    assert (
        '"""Guard, checked when ``e`` arrives or when ``a`` or ``b`` has waited ``30m``."""' in text
    )
    assert (
        '"""Guard, checked when ``a`` or ``b`` has waited ``30m`` or when any state has waited'
        ' ``7d``. """' in text
    )
    assert "a timed transition's guards run when its timer comes due" in text
