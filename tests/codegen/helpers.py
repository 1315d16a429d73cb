"""Paths and helpers shared by the code generation tests."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOLDEN_DIR = ROOT / "tests" / "golden" / "codegen"
TYPING_DIR = ROOT / "tests" / "typing"
HERE = Path(__file__).resolve().parent
HOSTILE = HERE / "hostile.wf"
MINIMAL = HERE / "minimal.wf"
LONG_NAMES = HERE / "long_names.wf"

#: Every example, found afresh at collection time, and the edge cases.
SOURCES = [*sorted((ROOT / "examples").glob("*.wf")), HOSTILE, MINIMAL, LONG_NAMES]


def load_module(path: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """Import ``path`` as module ``name`` for the duration of one test."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    return module


def golden_path(source: Path) -> Path:
    """Where the golden module generated from ``source`` is kept."""
    return GOLDEN_DIR / f"{source.stem}_wf.py"


def random_spec(seed: int):  # type: ignore[no-untyped-def]
    """A valid spec whose names and descriptions are drawn at random (seeded):
    quotes, backslashes, newlines, non-ASCII, template syntax, long words, runs
    of spaces, lengths from empty to a few hundred characters."""
    import random

    from wfdsl.ir import (
        Duration,
        Edge,
        Event,
        GuardAnd,
        GuardNot,
        GuardRef,
        Name,
        Spec,
        State,
        TimedEdge,
    )

    rng = random.Random(seed)
    alphabet = list("abcdefghij      ") + list("\"'\\\n\t{}%#$") + ["é", "中", "🚀", "\u202e"]

    def text() -> str | None:
        roll = rng.random()
        if roll < 0.1:
            return None
        if roll < 0.2:
            return "x" * rng.randint(80, 130)  # one long word
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 300)))

    def name(prefix: str, i: int) -> str:
        return f"{prefix}{i}_" + "n" * rng.randint(0, 36)

    states = tuple(
        State(name(s, i), description=text(), initial=i == 0) for i, s in enumerate("abcd")
    )
    events = tuple(Event(name("e", i), description=text()) for i in range(3))
    guard = GuardAnd(GuardRef(name("g", 0)), GuardNot(GuardRef(name("g", 1))))
    edges = tuple(
        Edge(
            sources=(Name(states[i].name),),
            target=Name(states[i + 1].name),
            event=Name(events[i % 3].name),
            guard=guard if i == 0 else None,
            description=text(),
            index=i,
        )
        for i in range(3)
    )
    # Timed transitions, the text of their durations as hostile as any
    # description (a spec built by hand is not validated).
    timed = tuple(
        TimedEdge(
            sources=() if i == 1 else (Name(states[i].name),),
            target=Name(states[-1].name),
            after=Duration(rng.randint(1, 3650 * 86_400_000), text() or "1ms"),
            guard=guard if i == 0 else None,
            description=text(),
            wildcard=i == 1,
            index=i,
        )
        for i in range(rng.randint(0, 2))
    )
    return Spec(
        name=f"random{seed}",
        states=states,
        events=events,
        edges=edges,
        description=text(),
        timed_edges=timed,
    )
