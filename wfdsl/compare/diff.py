"""What changed between two versions of a workflow, lined up once.

:func:`diff_specs` pairs every state, event and arrow of the old version with
its counterpart in the new one and marks it same, added, removed or changed.
Both consumers read this one result: :mod:`wfdsl.compare.breaking` (which
changes break running instances) and :mod:`wfdsl.render.diff` (the review
picture). Nothing here judges a change; it only says what moved.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from wfdsl.ir import Edge, Event, HookKind, Spec, State, TimedEdge, format_duration, format_guard

#: A move an instance can make: (source state, event, target state).
Move = tuple[str, str, str]


class Mark(StrEnum):
    """How a part of the workflow fared from the old version to the new."""

    SAME = "same"
    ADDED = "added"
    REMOVED = "removed"
    #: Still there, but its hooks, its final/initial flag or its guard changed.
    CHANGED = "changed"


def _mark(in_old: bool, in_new: bool, same: bool) -> Mark:
    if not in_old:
        return Mark.ADDED
    if not in_new:
        return Mark.REMOVED
    return Mark.SAME if same else Mark.CHANGED


@dataclass(frozen=True, slots=True)
class StateDiff:
    """One state of either version."""

    name: str
    #: The state in the old version; ``None`` when added.
    old: State | None
    #: The state in the new version; ``None`` when removed.
    new: State | None
    mark: Mark

    @property
    def current(self) -> State:
        """The new version of the state, or the old one when it was removed."""
        state = self.new or self.old
        assert state is not None
        return state

    @property
    def made_final(self) -> bool:
        """It exists in both versions and is final only in the new one."""
        return (
            self.old is not None and self.new is not None and self.new.final and not self.old.final
        )


@dataclass(frozen=True, slots=True)
class EventDiff:
    """One event of either version. Events carry no data to change: the mark
    is same, added or removed."""

    name: str
    old: Event | None
    new: Event | None
    mark: Mark


@dataclass(frozen=True, slots=True)
class ArrowDiff:
    """One move as the transitions write it: ``source -(event)-> target``,
    with ``source`` ``None`` for a ``*`` transition, and every transition of
    each version that gives it. For timed transitions ``event`` is ``after``
    and the duration in its shortest form (``after 1h30m``), so that a
    duration written another way (``90m``) is the same move, and one that
    changed is another."""

    source: str | None
    event: str
    target: str
    old: tuple[Edge | TimedEdge, ...]
    new: tuple[Edge | TimedEdge, ...]
    #: Changed when both versions have it under different guards.
    mark: Mark


def guard_text(edge: Edge | TimedEdge) -> str:
    """The guard of ``edge`` in source syntax, ``""`` when it has none."""
    return format_guard(edge.guard) if edge.guard is not None else ""


@dataclass(frozen=True, slots=True)
class SpecDiff:
    """Two versions of a workflow lined up. States, events and arrows come in
    the new version's order, then the removed ones in the old version's order."""

    old: Spec
    new: Spec
    states: tuple[StateDiff, ...]
    events: tuple[EventDiff, ...]
    arrows: tuple[ArrowDiff, ...]
    #: Every move each version allows (``*`` expanded), see :func:`moves`.
    old_moves: Mapping[Move, Edge]
    new_moves: Mapping[Move, Edge]

    @property
    def renamed(self) -> bool:
        return self.old.name != self.new.name

    @property
    def initial_changed(self) -> bool:
        return self.old.initial.name != self.new.initial.name


def moves(spec: Spec) -> dict[Move, Edge]:
    """Every (source, event, target) the spec allows, ``*`` expanded to the
    states it leaves, with the first transition that allows it."""
    out: dict[Move, Edge] = {}
    for edge in spec.edges:
        for src in spec.sources_of(edge):
            out.setdefault((src, edge.event.value, edge.target.value), edge)
    return out


def _arrows(spec: Spec) -> dict[tuple[str | None, str, str], list[Edge | TimedEdge]]:
    """Transitions by the arrow they draw: ``*`` stays one arrow from "any
    state"; timed ones come after the event ones, as in a diagram."""
    out: dict[tuple[str | None, str, str], list[Edge | TimedEdge]] = {}
    both: list[Edge | TimedEdge] = [*spec.edges, *spec.timed_edges]
    for edge in both:
        sources: tuple[str | None, ...] = (None,) if edge.wildcard else edge.source_names
        trigger = timer_key(edge) if isinstance(edge, TimedEdge) else edge.event.value
        for src in sources:
            out.setdefault((src, trigger, edge.target.value), []).append(edge)
    return out


def timer_key(timer: TimedEdge) -> str:
    """``after 1h30m``: a timed transition's trigger, the same however its
    duration is written."""
    return f"after {format_duration(timer.after.ms)}"


def _state_diff(name: str, old: Spec, new: Spec) -> StateDiff:
    o = old.state(name) if old.has_state(name) else None
    n = new.state(name) if new.has_state(name) else None
    same = (
        o is not None
        and n is not None
        and (o.final, o.initial) == (n.final, n.initial)
        and all(o.names_of(kind) == n.names_of(kind) for kind in HookKind)
    )
    return StateDiff(name, o, n, _mark(o is not None, n is not None, same))


def diff_specs(old: Spec, new: Spec) -> SpecDiff:
    """``old`` and ``new`` lined up part by part. Layout, comments and
    descriptions are not changes."""
    state_names = [s.name for s in new.states]
    state_names += [s.name for s in old.states if not new.has_state(s.name)]
    event_names = [e.name for e in new.events]
    event_names += [e.name for e in old.events if not new.has_event(e.name)]
    events = []
    for name in event_names:
        o = old.event(name) if old.has_event(name) else None
        n = new.event(name) if new.has_event(name) else None
        events.append(EventDiff(name, o, n, _mark(o is not None, n is not None, True)))
    old_arrows, new_arrows = _arrows(old), _arrows(new)
    arrows = []
    for key in [*new_arrows, *(k for k in old_arrows if k not in new_arrows)]:
        was, now = tuple(old_arrows.get(key, ())), tuple(new_arrows.get(key, ()))
        same = [guard_text(e) for e in was] == [guard_text(e) for e in now]
        arrows.append(
            ArrowDiff(key[0], key[1], key[2], was, now, _mark(bool(was), bool(now), same))
        )
    return SpecDiff(
        old=old,
        new=new,
        states=tuple(_state_diff(name, old, new) for name in state_names),
        events=tuple(events),
        arrows=tuple(arrows),
        old_moves=moves(old),
        new_moves=moves(new),
    )
