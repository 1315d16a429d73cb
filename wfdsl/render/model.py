"""The diagram model: what every renderer draws, extracted once from a Spec.

Renderers (DOT, Mermaid, Markdown) never read the IR themselves; they walk a
:class:`Diagram`. Tests can build one by hand. Live data (instance counts per
state, one instance's path) comes in as plain values through :class:`Overlay`,
so nothing here knows about stores. A review picture of a change
(:func:`wfdsl.render.diff.extract_diff`) is a Diagram too, whose boxes and
arrows carry a :class:`~wfdsl.compare.diff.Mark`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum

from wfdsl.compare.diff import Mark
from wfdsl.ir import Edge, Spec, State, TimedEdge, format_guard

#: Marks a timed transition's label in every diagram: a clock face (U+25F7,
#: present in the DejaVu fonts that Graphviz and browsers find on servers,
#: where the stopwatch emoji often is not).
CLOCK = "\u25f7"


class Detail(IntEnum):
    """How much of each workflow a diagram shows."""

    #: States and events only.
    EVENTS = 0
    #: Also the guards on transitions.
    GUARDS = 1
    #: Also enter/exit hooks and compensators inside each state.
    HOOKS = 2


@dataclass(frozen=True, slots=True)
class Step:
    """One transition an instance took: ``source -(event)-> target``.

    ``event`` is ``None`` for steps that no event caused (start, compensation,
    a timer); those highlight states but no edge, except a timer's step, which
    names the timed transition it took by its position (``TimedEdge.index``).
    """

    source: str | None
    target: str
    event: str | None = None
    #: For a fired timer, the index of its timed transition in the spec.
    timer: int | None = None


@dataclass(frozen=True, slots=True)
class Armed:
    """The armed timers of one state: how many, and the soonest due time."""

    count: int
    #: An aware datetime (drawn in UTC).
    soonest: datetime

    @property
    def label(self) -> str:
        """``"◷ due 2026-03-01 12:30:00Z"`` for one timer, ``"◷ 3 timers, next
        due ..."`` for several."""
        when = self.soonest.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        if self.count == 1:
            return f"{CLOCK} due {when}"
        return f"{CLOCK} {self.count} timers, next due {when}"


@dataclass(frozen=True, slots=True)
class Overlay:
    """Live data drawn over a diagram.

    ``counts`` maps a state name to its number of live instances (states
    missing from the mapping have none). ``path`` is one instance's steps in
    order; its last target is the current state. ``armed`` maps a state name
    to the timers armed in it (of every instance, or of the one instance).
    """

    counts: Mapping[str, int] | None = None
    path: Sequence[Step] | None = None
    #: The instance whose path is drawn, for the caption.
    instance: str | None = None
    armed: Mapping[str, Armed] | None = None

    @property
    def current(self) -> str | None:
        return self.path[-1].target if self.path else None


@dataclass(frozen=True, slots=True)
class Node:
    """A state box."""

    name: str
    description: str | None = None
    initial: bool = False
    final: bool = False
    enter: tuple[str, ...] = ()
    exit: tuple[str, ...] = ()
    compensate: tuple[str, ...] = ()
    #: Live instances in this state (``None``: no counts overlay).
    count: int | None = None
    #: The overlaid instance is in this state now.
    current: bool = False
    #: The overlaid instance passed through this state.
    visited: bool = False
    #: In a review picture: how the state fared between the two versions
    #: (``None`` in a picture of one version).
    mark: Mark | None = None
    #: With ``mark`` CHANGED: the state as the old version had it.
    was: Node | None = None
    #: Timers armed in this state (``None``: none, or no overlay).
    armed: Armed | None = None

    @property
    def count_label(self) -> str:
        """``"3 instances"``; in a final state, where nothing runs any more,
        ``"3 finished"``. Empty without a counts overlay."""
        if self.count is None:
            return ""
        if self.final:
            return f"{self.count} finished"
        return f"{self.count} instance" + ("" if self.count == 1 else "s")

    @property
    def hook_lines(self) -> tuple[tuple[str, str], ...]:
        """``(kind, "a, b")`` for each non-empty hook list, in a fixed order."""
        lines = (("enter", self.enter), ("exit", self.exit), ("compensate", self.compensate))
        return tuple((kind, ", ".join(names)) for kind, names in lines if names)


@dataclass(frozen=True, slots=True)
class Arrow:
    """One drawn edge. A transition with several sources is several arrows.

    A timed transition is an arrow whose :attr:`after` is set; its
    :attr:`event` reads ``after DURATION``, so that every label, tooltip and
    table shows what triggers the move.
    """

    #: The source state, or ``None`` for a ``*`` transition (drawn from "any state").
    source: str | None
    target: str
    #: The event's name; for a timed transition, ``after DURATION``.
    event: str
    #: The guard in source syntax, when shown at this detail.
    guard: str | None = None
    description: str | None = None
    event_description: str | None = None
    #: Index of the transition in the source, for stable ordering and ids.
    index: int = 0
    #: The overlaid instance took this edge.
    taken: bool = False
    #: In a review picture: how the move fared between the two versions.
    mark: Mark | None = None
    #: With ``mark`` CHANGED: the old version's guard (``None``: it had none).
    was_guard: str | None = None
    #: A timed transition's duration as written (``"30m"``); ``None`` for an
    #: event transition.
    after: str | None = None

    @property
    def label(self) -> str:
        """``event [guard]``, or ``after 30m [guard]`` for a timed transition."""
        return f"{self.event} [{self.guard}]" if self.guard else self.event

    @property
    def timed(self) -> bool:
        return self.after is not None

    @property
    def trigger(self) -> str:
        """``on event`` or ``after 30m``: the words of the source that trigger it."""
        return self.event if self.timed else f"on {self.event}"

    @property
    def wildcard(self) -> bool:
        return self.source is None


@dataclass(frozen=True, slots=True)
class Review:
    """What makes a diagram the review picture of a change (``wfdsl breaking --render``)."""

    #: What the two versions are called (file names or ``REF:path``).
    old_label: str
    new_label: str
    #: Where the old version started (the new one's start is :attr:`Diagram.initial`).
    old_initial: str


@dataclass(frozen=True, slots=True)
class Diagram:
    """A workflow as boxes and arrows."""

    name: str
    description: str | None
    nodes: tuple[Node, ...]
    arrows: tuple[Arrow, ...]
    detail: Detail = Detail.HOOKS
    #: Largest count in a non-final state, for shading (0 when there is no
    #: counts overlay). Finished instances pile up in final states over time;
    #: shading by them would wash out the states where work is happening.
    max_count: int = 0
    overlay: Overlay = field(default_factory=Overlay)
    #: Set in the review picture of a change.
    review: Review | None = None

    @property
    def initial(self) -> Node | None:
        """The state instances start in (in a review picture: in the new version)."""
        return next((n for n in self.nodes if n.initial and n.mark is not Mark.REMOVED), None)

    @property
    def has_wildcard(self) -> bool:
        return any(a.wildcard for a in self.arrows)

    @property
    def has_counts(self) -> bool:
        return self.overlay.counts is not None


def extract(spec: Spec, detail: Detail = Detail.HOOKS, overlay: Overlay | None = None) -> Diagram:
    """The diagram of ``spec`` at ``detail``, with ``overlay`` applied if given.

    Overlay entries naming states or edges the spec does not have (an instance
    started under an older version of the file) are ignored.
    """
    overlay = overlay or Overlay()
    counts = overlay.counts
    path = overlay.path or ()
    current = overlay.current
    visited = {s.target for s in path} | {s.source for s in path if s.source}
    taken = {(s.source, s.target, s.event) for s in path if s.event is not None}
    timers_taken = {(s.source, s.target, s.timer) for s in path if s.timer is not None}
    armed = overlay.armed or {}
    hooks = detail >= Detail.HOOKS

    nodes = tuple(
        node_of(
            s,
            hooks=hooks,
            count=None if counts is None else int(counts.get(s.name, 0)),
            current=s.name == current,
            visited=s.name in visited,
            armed=armed.get(s.name),
        )
        for s in spec.states
    )

    arrows: list[Arrow] = []
    for edge in spec.edges:
        event = edge.event.value
        sources: tuple[str | None, ...] = (None,) if edge.wildcard else edge.source_names
        for src in sources:
            if src is None:
                was_taken = any(
                    (s, edge.target.value, event) in taken for s in spec.sources_of(edge)
                )
            else:
                was_taken = (src, edge.target.value, event) in taken
            arrows.append(
                arrow_of(spec, edge, src, guards=detail >= Detail.GUARDS, taken=was_taken)
            )
    # Timed transitions come after the event ones: the layout's happy path
    # (each state's first arrow) follows events where a state has both.
    for timed in spec.timed_edges:
        sources = (None,) if timed.wildcard else timed.source_names
        for src in sources:
            froms = spec.sources_of(timed) if src is None else (src,)
            was_taken = any((s, timed.target.value, timed.index) in timers_taken for s in froms)
            arrows.append(
                arrow_of(spec, timed, src, guards=detail >= Detail.GUARDS, taken=was_taken)
            )

    max_count = max((n.count or 0 for n in nodes if not n.final), default=0)
    return Diagram(
        name=spec.name,
        description=spec.description,
        nodes=nodes,
        arrows=tuple(arrows),
        detail=detail,
        max_count=max_count,
        overlay=overlay,
    )


def node_of(
    state: State,
    *,
    hooks: bool = True,
    count: int | None = None,
    current: bool = False,
    visited: bool = False,
    armed: Armed | None = None,
) -> Node:
    """The box of ``state``, its hook lists only with ``hooks``."""
    return Node(
        name=state.name,
        description=state.description,
        initial=state.initial,
        final=state.final,
        enter=state.enter if hooks else (),
        exit=state.exit if hooks else (),
        compensate=state.compensate if hooks else (),
        count=count,
        current=current,
        visited=visited,
        armed=armed,
    )


def arrow_of(
    spec: Spec,
    edge: Edge | TimedEdge,
    source: str | None,
    *,
    guards: bool = True,
    taken: bool = False,
) -> Arrow:
    """The arrow ``edge`` of ``spec`` draws from ``source`` (``None``: from "any
    state"), its guard only with ``guards``."""
    if isinstance(edge, TimedEdge):
        return Arrow(
            source=source,
            target=edge.target.value,
            event=f"after {edge.after.text}",
            guard=format_guard(edge.guard) if edge.guard and guards else None,
            description=edge.description,
            index=edge.index,
            taken=taken,
            after=edge.after.text,
        )
    event = edge.event.value
    return Arrow(
        source=source,
        target=edge.target.value,
        event=event,
        guard=format_guard(edge.guard) if edge.guard and guards else None,
        description=edge.description,
        event_description=spec.event(event).description if spec.has_event(event) else None,
        index=edge.index,
        taken=taken,
    )
