"""The Spec IR: a validated workflow as frozen dataclasses with source spans.

Every stage after validation (lint, formatter checks, code generation,
diagrams, the runtime) reads these objects and nothing else. This module
imports nothing from the rest of the package.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Generic, cast

# The types a Spec carries (Spec.state_type, Spec.event_type): a generated
# module's State and Event enums, or str. Covariant, so that a Spec[State, Event]
# goes wherever a plain Spec does. The PEP 696 defaults (in `typing` from Python
# 3.13) make a spec built without types, as load/loads build it, a Spec[str, str].
if TYPE_CHECKING:
    from typing_extensions import TypeVar

    S_co = TypeVar("S_co", bound=str, covariant=True, default=str)
    E_co = TypeVar("E_co", bound=str, covariant=True, default=str)
else:
    from typing import TypeVar

    S_co = TypeVar("S_co", bound=str, covariant=True)
    E_co = TypeVar("E_co", bound=str, covariant=True)

_R = TypeVar("_R")
_S = TypeVar("_S", bound=str)
_E = TypeVar("_E", bound=str)


def fast_init(cls: type[_R]) -> type[_R]:
    """Give a frozen, slotted dataclass an ``__init__`` that stores each field
    through its slot descriptor.

    The generated one calls ``object.__setattr__`` per field to get past the
    frozen guard; the descriptor's own ``__set__`` does the same store in about
    half the time. It matters where objects are built in bulk: a large spec
    makes hundreds of thousands of spans and names, and the runtime's ``send``
    builds two records per event. Signature, defaults and immutability are
    unchanged. Classes with ``__post_init__`` or default factories are refused.
    """
    namespace: dict[str, Any] = {}
    params: list[str] = []
    body: list[str] = []
    if "__post_init__" in cls.__dict__:
        raise TypeError(f"{cls.__name__}: __post_init__ is not supported")
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        namespace[f"_set_{f.name}"] = cls.__dict__[f.name].__set__
        if f.default is not dataclasses.MISSING:
            namespace[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
        elif f.default_factory is not dataclasses.MISSING:
            raise TypeError(f"{cls.__name__}.{f.name}: default factories are not supported")
        else:
            params.append(f.name)
        body.append(f"    _set_{f.name}(self, {f.name})")
    source = f"def __init__(self, {', '.join(params)}):\n" + "\n".join(body) + "\n"
    exec(source, namespace)  # as dataclasses itself builds __init__
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = init  # type: ignore[method-assign]
    return cls


@fast_init
@dataclass(frozen=True, slots=True)
class Span:
    """A source range; lines and columns are 1-based, ``end_column`` is exclusive."""

    line: int
    column: int
    end_line: int
    end_column: int

    @staticmethod
    def cover(first: Span, last: Span) -> Span:
        """The range from the start of ``first`` to the end of ``last``."""
        return Span(first.line, first.column, last.end_line, last.end_column)


#: Used for specs built in code rather than parsed from a file.
NO_SPAN = Span(0, 0, 0, 0)


@fast_init
@dataclass(frozen=True, slots=True)
class Name:
    """A name as written at one place in the source."""

    value: str
    span: Span = NO_SPAN


class HookKind(StrEnum):
    """What a state item's names are run for."""

    ENTER = "enter"
    EXIT = "exit"
    COMPENSATE = "compensate"


@fast_init
@dataclass(frozen=True, slots=True)
class StateItem:
    """``enter a, b`` / ``exit a`` / ``compensate a`` inside a state's braces."""

    kind: HookKind
    names: tuple[Name, ...]
    span: Span = NO_SPAN


@fast_init
@dataclass(frozen=True, slots=True)
class State:
    """A declared state."""

    #: The state's name, as written.
    name: str
    #: Span of the name in the declaration.
    span: Span = NO_SPAN
    description: str | None = None
    initial: bool = False
    final: bool = False
    items: tuple[StateItem, ...] = ()
    #: Span of the whole declaration, modifiers to closing brace.
    decl_span: Span = NO_SPAN

    def names_of(self, kind: HookKind) -> tuple[str, ...]:
        """The hook names of one kind, in the order written."""
        for item in self.items:
            if item.kind is kind:
                return tuple(n.value for n in item.names)
        return ()

    @property
    def enter(self) -> tuple[str, ...]:
        return self.names_of(HookKind.ENTER)

    @property
    def exit(self) -> tuple[str, ...]:
        return self.names_of(HookKind.EXIT)

    @property
    def compensate(self) -> tuple[str, ...]:
        return self.names_of(HookKind.COMPENSATE)


@fast_init
@dataclass(frozen=True, slots=True)
class Event:
    """A declared event."""

    name: str
    span: Span = NO_SPAN
    description: str | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class GuardRef:
    """A guard function, by name."""

    name: str
    span: Span = NO_SPAN


@fast_init
@dataclass(frozen=True, slots=True)
class GuardNot:
    operand: Guard


class _Chain:
    """``and``/``or`` over two or more operands, kept flat.

    Both operators are associative (evaluation order and short-circuiting
    included), so a chain ``a or b or c`` is one node with three operands, not
    a nest of pairs: however long a chain is, walking the guard goes no deeper.
    The constructor takes the operands in order and splices in the operands of
    any operand of the same kind, so ``GuardOr(GuardOr(a, b), c)``,
    ``GuardOr(a, GuardOr(b, c))`` and ``GuardOr(a, b, c)`` are one guard.

    ``left`` and ``right`` are a binary view for code written against pairs:
    the operands split in the middle, so that ``type(g)(g.left, g.right) == g``
    and recursing through the view goes only log2(n) levels deep.

    :raises ValueError: with fewer than two operands.
    """

    __slots__ = ()
    operands: tuple[Guard, ...]

    def __init__(self, *operands: Guard) -> None:
        kind = type(self)
        flat: list[Guard] = []
        for g in operands:
            if isinstance(g, _Chain) and type(g) is kind:
                flat.extend(g.operands)
            else:
                flat.append(g)
        if len(flat) < 2:
            raise ValueError(f"{kind.__name__} needs two or more operands, got {len(flat)}")
        object.__setattr__(self, "operands", tuple(flat))

    def _half(self, operands: tuple[Guard, ...]) -> Guard:
        return operands[0] if len(operands) == 1 else cast(Guard, type(self)(*operands))

    @property
    def left(self) -> Guard:
        """The first half of the operands (rounded up), as one guard."""
        return self._half(self.operands[: (len(self.operands) + 1) // 2])

    @property
    def right(self) -> Guard:
        """The rest of the operands, as one guard."""
        return self._half(self.operands[(len(self.operands) + 1) // 2 :])


@dataclass(frozen=True, slots=True, init=False)
class GuardAnd(_Chain):
    """``a and b and ...``: true when every operand is, tried left to right."""

    operands: tuple[Guard, ...]


@dataclass(frozen=True, slots=True, init=False)
class GuardOr(_Chain):
    """``a or b or ...``: true when some operand is, tried left to right."""

    operands: tuple[Guard, ...]


Guard = GuardRef | GuardNot | GuardAnd | GuardOr


def guard_refs(guard: Guard | None) -> Iterator[GuardRef]:
    """Every guard reference in ``guard``, left to right."""
    stack: list[Guard] = [] if guard is None else [guard]
    while stack:
        g = stack.pop()
        if isinstance(g, GuardRef):
            yield g
        elif isinstance(g, GuardNot):
            stack.append(g.operand)
        else:
            stack.extend(reversed(g.operands))


def guard_depth(guard: Guard) -> int:
    """How many operators deep ``guard`` nests: 0 for a name, one more for each
    ``not`` and for each chain inside another operator. A chain counts once
    however long it is. Computed without recursion."""
    deepest = 0
    stack: list[tuple[Guard, int]] = [(guard, 0)]
    while stack:
        g, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(g, GuardNot):
            stack.append((g.operand, depth + 1))
        elif not isinstance(g, GuardRef):
            stack.extend((o, depth + 1) for o in g.operands)
    return deepest


def evaluate_guard(guard: Guard, call: Callable[[str], bool]) -> bool:
    """Evaluate ``guard`` left to right with short-circuiting, ``call``-ing each name.

    Recursion follows the nesting of operators only (validated specs nest at
    most 64 deep); a chain is a loop.
    """
    if isinstance(guard, GuardRef):
        return bool(call(guard.name))
    if isinstance(guard, GuardNot):
        return not evaluate_guard(guard.operand, call)
    if isinstance(guard, GuardAnd):
        return all(evaluate_guard(g, call) for g in guard.operands)
    return any(evaluate_guard(g, call) for g in guard.operands)


_PRECEDENCE = {GuardOr: 1, GuardAnd: 2, GuardNot: 3, GuardRef: 4}


def format_guard(guard: Guard) -> str:
    """The guard in source syntax, with only the parentheses precedence needs."""

    def fmt(g: Guard, outer: int) -> str:
        prec = _PRECEDENCE[type(g)]
        if isinstance(g, GuardRef):
            text = g.name
        elif isinstance(g, GuardNot):
            text = "not " + fmt(g.operand, prec)
        else:
            # Operands of a chain are never chains of the same kind (they are
            # spliced in), so none of them needs parentheses for associativity.
            word = " and " if isinstance(g, GuardAnd) else " or "
            text = word.join(fmt(o, prec) for o in g.operands)
        return f"({text})" if prec < outer else text

    return fmt(guard, 0)


class Gap(StrEnum):
    """What a spec built from a file with errors lacks (see
    :func:`wfdsl.frontend.validate.check_tree`), so that the lint rules that need it
    (:attr:`wfdsl.lint.base.LintRule.needs`) are skipped there."""

    #: Every state a transition names is declared, once (no WF101, WF103).
    STATES = "states"
    #: Every event a transition names is declared, once (no WF102, WF104).
    EVENTS = "events"
    #: Exactly one state is initial (no WF105, WF106).
    INITIAL = "initial"
    #: Every guard could be built (none nests too deeply, WF100).
    GUARDS = "guards"
    #: Every timed transition's duration could be read (no WF114).
    DURATIONS = "durations"


@fast_init
@dataclass(frozen=True, slots=True)
class Edge:
    """One transition rule: ``SOURCES -> target on event [if guard] ["description"]``."""

    #: Explicit sources in the order written; empty when ``wildcard``.
    sources: tuple[Name, ...]
    target: Name
    event: Name
    guard: Guard | None = None
    description: str | None = None
    #: ``*``: every non-final state.
    wildcard: bool = False
    span: Span = NO_SPAN
    #: Position among the workflow's transitions, in source order.
    index: int = 0

    @property
    def source_names(self) -> tuple[str, ...]:
        return tuple(n.value for n in self.sources)


#: Milliseconds per duration unit (SPEC §2: ``d h m s ms``), largest first:
#: the order in which a duration must write them.
DURATION_UNITS: dict[str, int] = {
    "d": 86_400_000,
    "h": 3_600_000,
    "m": 60_000,
    "s": 1_000,
    "ms": 1,
}
#: The longest duration a timed transition may have: 3650 days (SPEC §2), in ms.
MAX_DURATION_MS = 3650 * DURATION_UNITS["d"]


def format_duration(ms: int) -> str:
    """``ms`` milliseconds written with the fewest pieces, largest unit first:
    ``5_400_000`` is ``"1h30m"``, ``90_000`` is ``"1m30s"``, ``1_500`` is ``"1s500ms"``.

    :raises ValueError: if ``ms`` is not positive.
    """
    if ms <= 0:
        raise ValueError(f"a duration is positive, not {ms} ms")
    parts: list[str] = []
    for unit, size in DURATION_UNITS.items():
        count, ms = divmod(ms, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


@fast_init
@dataclass(frozen=True, slots=True)
class Duration:
    """How long a timed transition waits: ``after 1h30m``."""

    #: The exact length in milliseconds (an ``int``: no rounding, ever).
    ms: int
    #: The text as written (``"90s"``, ``"1h30m"``), kept for the formatter and
    #: for labels; ``90s`` and ``1m30s`` are the same duration.
    text: str
    span: Span = NO_SPAN

    @property
    def timedelta(self) -> timedelta:
        """The duration as a :class:`datetime.timedelta` (exact: whole milliseconds)."""
        return timedelta(milliseconds=self.ms)


@fast_init
@dataclass(frozen=True, slots=True)
class TimedEdge:
    """One timed transition: ``SOURCES -> target after DURATION [if guard] ["description"]``.

    Kept apart from :class:`Edge` (in :attr:`Spec.timed_edges`): it has no
    event, so no event ever selects it (:meth:`Spec.candidates` never returns
    one). Entering a source state arms it, due at the time of entering plus
    :attr:`after`; leaving the state disarms it. When several are due, they
    are taken in due order, then in written order (:attr:`index`); the first
    whose guard holds fires (SPEC §2). :meth:`Spec.timed_from` lists the ones a
    state arms.
    """

    #: Explicit sources in the order written; empty when ``wildcard``.
    sources: tuple[Name, ...]
    target: Name
    #: How long an instance must stay in a source state before it fires.
    after: Duration
    guard: Guard | None = None
    description: str | None = None
    #: ``*``: every non-final state.
    wildcard: bool = False
    span: Span = NO_SPAN
    #: Position among the workflow's timed transitions (:attr:`Spec.timed_edges`),
    #: in source order: the written order that breaks ties between timers due
    #: at the same moment.
    index: int = 0

    @property
    def source_names(self) -> tuple[str, ...]:
        return tuple(n.value for n in self.sources)


def _members(
    workflow: str, kind: str, type_: type[_S], decls: tuple[State, ...] | tuple[Event, ...]
) -> dict[str, _S] | None:
    """Each declaration's name as a value of ``type_``; None for ``str`` (the
    names are their own values).

    :raises TypeError: ``type_`` is not ``str`` or a subclass of it.
    :raises ValueError: names that are not values of ``type_``, all of them.
    """
    if type_ is str:
        return None
    if not (isinstance(type_, type) and issubclass(type_, str)):
        raise TypeError(
            f"workflow {workflow!r}: {kind}_type must be str or a subclass of it "
            f"(a StrEnum), not {type_!r}"
        )
    members: dict[str, _S] = {}
    missing: list[str] = []
    for d in decls:
        try:
            member = type_(d.name)
        except ValueError:
            missing.append(d.name)
            continue
        if member != d.name:  # a str subclass whose constructor changes the text
            missing.append(d.name)
        members[d.name] = member
    if missing:
        raise ValueError(
            f"workflow {workflow!r}: {type_.__name__} has no member valued "
            f"{', '.join(map(repr, missing))}; its {kind}_type needs one per {kind}"
        )
    return members


@dataclass(frozen=True, slots=True)
class Spec(Generic[S_co, E_co]):
    """A validated workflow.

    Build one with :func:`wfdsl.load` / :func:`wfdsl.loads`; a ``Spec`` built by
    hand is not validated.

    A spec carries the types its states and events take in Python
    (:attr:`state_type`, :attr:`event_type`): ``str`` for a loaded spec, a
    ``Spec[str, str]``; the generated ``State`` and ``Event`` enums for a
    generated module's ``SPEC``, a ``Spec[State, Event]``, so that
    ``Manager(SPEC, store)`` is a ``Manager[State, Event]``. The types are how
    names look in Python, not part of the workflow: two specs that differ only
    in them are equal, hash alike and have the same :meth:`to_data` and
    :meth:`fingerprint` (as ``State.PAID == "paid"``).
    """

    name: str
    states: tuple[State, ...]
    events: tuple[Event, ...]
    edges: tuple[Edge, ...]
    description: str | None = None
    #: Where the spec came from, as given to ``load``/``loads``.
    path: str = "<string>"
    span: Span = NO_SPAN
    #: Timed transitions (``after``) in source order; ``edges`` holds the
    #: transitions that events trigger.
    timed_edges: tuple[TimedEdge, ...] = ()
    #: What :meth:`as_state` gives, so what a manager's ``state()`` returns: the
    #: generated ``State`` enum, or ``str``; every state's name must be a value of it.
    state_type: type[S_co] = field(default=cast("type[S_co]", str), compare=False, repr=False)
    #: What a manager's ``send()`` takes for mypy: the generated ``Event`` enum,
    #: or ``str``; every event's name must be a value of it.
    event_type: type[E_co] = field(default=cast("type[E_co]", str), compare=False, repr=False)

    _state_index: dict[str, State] = field(init=False, repr=False, compare=False)
    _event_index: dict[str, Event] = field(init=False, repr=False, compare=False)
    _explicit: dict[tuple[str, str], tuple[Edge, ...]] = field(
        init=False, repr=False, compare=False
    )
    _wildcard: dict[str, tuple[Edge, ...]] = field(init=False, repr=False, compare=False)
    #: Timed transitions by explicit source; then those written with ``*``.
    _timed: dict[str, tuple[TimedEdge, ...]] = field(init=False, repr=False, compare=False)
    _timed_wild: tuple[TimedEdge, ...] = field(init=False, repr=False, compare=False)
    #: :meth:`timed_from` per state once asked, when ``*`` ones must be merged in.
    _timed_merged: dict[str, tuple[TimedEdge, ...]] = field(init=False, repr=False, compare=False)
    #: State name -> :attr:`state_type` member; None when that is ``str``.
    _state_members: dict[str, S_co] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        explicit: dict[tuple[str, str], list[Edge]] = {}
        wildcard: dict[str, list[Edge]] = {}
        for edge in self.edges:
            if edge.wildcard:
                wildcard.setdefault(edge.event.value, []).append(edge)
            else:
                for src in edge.sources:
                    explicit.setdefault((src.value, edge.event.value), []).append(edge)
        object.__setattr__(self, "_state_index", {s.name: s for s in self.states})
        object.__setattr__(self, "_event_index", {e.name: e for e in self.events})
        object.__setattr__(self, "_explicit", {k: tuple(v) for k, v in explicit.items()})
        object.__setattr__(self, "_wildcard", {k: tuple(v) for k, v in wildcard.items()})
        self._index_timed()
        self._index_types()

    def _index_timed(self) -> None:
        timed: dict[str, list[TimedEdge]] = {}
        for t in self.timed_edges:
            for src in dict.fromkeys(t.source_names):  # `a, a -> b after 1m` arms once
                timed.setdefault(src, []).append(t)
        object.__setattr__(self, "_timed", {k: tuple(v) for k, v in timed.items()})
        object.__setattr__(self, "_timed_wild", tuple(t for t in self.timed_edges if t.wildcard))
        object.__setattr__(self, "_timed_merged", {})

    # -- types ---------------------------------------------------------------

    def _index_types(self) -> None:
        states = _members(self.name, "state", self.state_type, self.states)
        _members(self.name, "event", self.event_type, self.events)
        object.__setattr__(self, "_state_members", states)

    def as_state(self, name: str) -> S_co:
        """The declared state ``name`` as :attr:`state_type`: the generated
        ``State`` member for a generated module's ``SPEC``, the name itself for
        a loaded spec. ``KeyError`` if the spec declares no such state."""
        members = self._state_members
        if members is None:
            return cast(S_co, self._state_index[name].name)
        return members[name]

    def with_types(self, state_type: type[_S], event_type: type[_E]) -> Spec[_S, _E]:
        """This spec carrying other types: ``load("order.wf").with_types(State,
        Event)`` is a ``Spec[State, Event]``, equal to the loaded one.

        :raises TypeError: a type that is not ``str`` or a subclass of it.
        :raises ValueError: a state or event whose name is not a value of its type.
        """
        # mypy's dataclasses plugin wants this spec's own types in replace().
        typed = dataclasses.replace(self, state_type=state_type, event_type=event_type)  # type: ignore[arg-type]
        return cast("Spec[_S, _E]", typed)

    # -- lookups -------------------------------------------------------------

    def state(self, name: str) -> State:
        """The state called ``name``; ``KeyError`` if there is none."""
        return self._state_index[name]

    def has_state(self, name: str) -> bool:
        return name in self._state_index

    def event(self, name: str) -> Event:
        """The event called ``name``; ``KeyError`` if there is none."""
        return self._event_index[name]

    def has_event(self, name: str) -> bool:
        return name in self._event_index

    @property
    def initial(self) -> State:
        """The initial state (a validated spec has exactly one)."""
        for s in self.states:
            if s.initial:
                return s
        raise ValueError(f"workflow {self.name!r} has no initial state")

    @property
    def finals(self) -> tuple[State, ...]:
        return tuple(s for s in self.states if s.final)

    def candidates(self, state: str, event: str) -> tuple[Edge, ...]:
        """The transitions to try, in order, for ``event`` arriving in ``state``.

        Explicit transitions in source order, then ``*`` transitions; nothing
        leaves a final state.
        """
        explicit = self._explicit.get((state, event), ())
        st = self._state_index.get(state)
        if st is None or st.final:
            return explicit
        wild = self._wildcard.get(event, ())
        return explicit + wild if wild else explicit

    def timed_from(self, state: str) -> tuple[TimedEdge, ...]:
        """The timed transitions that entering ``state`` arms, in written order
        (explicit and ``*`` ones interleaved as written: the order that breaks
        ties between timers due at the same moment). Each appears once, however
        often ``state`` is listed among its sources. Empty for a final state
        and for a name the spec does not declare.

        Cheap to call per transition: a dictionary lookup (the first call for
        a state also merges in the ``*`` timed transitions, once).
        """
        st = self._state_index.get(state)
        if st is None or st.final:
            return ()
        explicit = self._timed.get(state, ())
        if not self._timed_wild:
            return explicit
        merged = self._timed_merged.get(state)
        if merged is None:
            merged = tuple(sorted((*explicit, *self._timed_wild), key=lambda t: t.index))
            self._timed_merged[state] = merged
        return merged

    @property
    def all_edges(self) -> tuple[Edge | TimedEdge, ...]:
        """Every transition, event-triggered and timed, in source order (by
        position; a spec built without positions lists ``edges`` first)."""
        if not self.timed_edges:
            return self.edges
        both: list[Edge | TimedEdge] = [*self.edges, *self.timed_edges]
        return tuple(sorted(both, key=lambda e: (e.span.line, e.span.column)))

    def sources_of(self, edge: Edge | TimedEdge) -> tuple[str, ...]:
        """The states an edge can fire from (``*`` expanded to every non-final state)."""
        if edge.wildcard:
            return tuple(s.name for s in self.states if not s.final)
        return edge.source_names

    def outgoing(self) -> dict[str, list[Edge]]:
        """Event transitions by source state, ``*`` expanded; every state has an
        entry. (The timed transitions a state arms: :meth:`timed_from`.)"""
        out: dict[str, list[Edge]] = {s.name: [] for s in self.states}
        wildcards = [e for e in self.edges if e.wildcard]
        for edge in self.edges:
            if not edge.wildcard:
                for src in edge.sources:
                    out[src.value].append(edge)
        if wildcards:
            for s in self.states:
                if not s.final:
                    out[s.name].extend(wildcards)
        return out

    # -- names the runtime must bind -----------------------------------------

    @property
    def guard_names(self) -> tuple[str, ...]:
        """Every guard function name, in order of first use."""
        seen: dict[str, None] = {}
        for edge in self.all_edges:
            for ref in guard_refs(edge.guard):
                seen.setdefault(ref.name, None)
        return tuple(seen)

    def hook_names(self, *kinds: HookKind) -> tuple[str, ...]:
        """Hook names of the given kinds (all kinds if none given), in order of first use."""
        wanted = kinds or tuple(HookKind)
        seen: dict[str, None] = {}
        for s in self.states:
            for item in s.items:
                if item.kind in wanted:
                    for n in item.names:
                        seen.setdefault(n.value, None)
        return tuple(seen)

    # -- identity --------------------------------------------------------------

    def to_data(self, *, descriptions: bool = True) -> dict[str, Any]:
        """The spec as plain JSON-able data (no positions, no comments)."""

        def desc(text: str | None) -> str | None:
            return text if descriptions else None

        def guard_data(g: Guard | None) -> Any:
            if g is None:
                return None
            if isinstance(g, GuardRef):
                return g.name
            if isinstance(g, GuardNot):
                return ["not", guard_data(g.operand)]
            op = "and" if isinstance(g, GuardAnd) else "or"
            return [op, *(guard_data(o) for o in g.operands)]

        data: dict[str, Any] = {
            "name": self.name,
            "description": desc(self.description),
            "states": [
                {
                    "name": s.name,
                    "description": desc(s.description),
                    "initial": s.initial,
                    "final": s.final,
                    "enter": list(s.enter),
                    "exit": list(s.exit),
                    "compensate": list(s.compensate),
                }
                for s in self.states
            ],
            "events": [{"name": e.name, "description": desc(e.description)} for e in self.events],
            "transitions": [
                {
                    "sources": "*" if e.wildcard else list(e.source_names),
                    "target": e.target.value,
                    "event": e.event.value,
                    "guard": guard_data(e.guard),
                    "description": desc(e.description),
                }
                for e in self.edges
            ],
        }
        if self.timed_edges:
            # Only specs with timers carry the key: every other spec keeps the
            # data, and so the fingerprint, it had before timers existed.
            data["timed_transitions"] = [
                {
                    "sources": "*" if t.wildcard else list(t.source_names),
                    "target": t.target.value,
                    "after_ms": t.after.ms,
                    "guard": guard_data(t.guard),
                    "description": desc(t.description),
                }
                for t in self.timed_edges
            ]
        return data

    def fingerprint(self) -> str:
        """A hash of the spec's behaviour: equal for specs that behave alike,
        whatever their layout, comments, descriptions or file. Stores record it
        per instance so that ``resume()`` can tell when the spec changed under it."""
        data = self.to_data(descriptions=False)
        pairs: list[tuple[dict[str, Any], Edge | TimedEdge]] = [
            *zip(data["transitions"], self.edges, strict=True),
            *zip(data.get("timed_transitions", ()), self.timed_edges, strict=True),
        ]
        for transition, edge in pairs:
            if edge.guard is not None:
                transition["guard"] = _Json(_fingerprint_guard(edge.guard))
        return hashlib.sha256(_compact_json(data).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class _Json:
    """Text already in JSON, written as it is by :func:`_compact_json`."""

    text: str


def _compact_json(value: Any) -> str:
    """``json.dumps(value, sort_keys=True, separators=(",", ":"))``, except that
    :class:`_Json` values are written verbatim."""
    if isinstance(value, _Json):
        return value.text
    if isinstance(value, dict):
        items = sorted(value.items())
        return "{" + ",".join(f"{json.dumps(k)}:{_compact_json(v)}" for k, v in items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_compact_json(v) for v in value) + "]"
    return json.dumps(value)


def _fingerprint_guard(guard: Guard) -> str:
    """The guard in the JSON that fingerprints have always hashed: chains as
    left-nested pairs (``a or b or c`` as ``["or",["or","a","b"],"c"]``), the
    shape guards had before chains were flat, so that the fingerprints stores
    recorded stay valid. Written out without recursing along a chain, so its
    length does not matter (its nested shape is too deep for :mod:`json`)."""
    if isinstance(guard, GuardRef):
        return json.dumps(guard.name)
    if isinstance(guard, GuardNot):
        return f'["not",{_fingerprint_guard(guard.operand)}]'
    op = '["and",' if isinstance(guard, GuardAnd) else '["or",'
    first, *rest = guard.operands
    parts = [op * len(rest), _fingerprint_guard(first)]
    for operand in rest:
        parts += [",", _fingerprint_guard(operand), "]"]
    return "".join(parts)
