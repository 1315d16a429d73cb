"""What a store keeps: transitions, instances and hook work, as frozen records.

These records are the vocabulary between every :class:`~wfdsl.stores.base.Store`
and the runtime that drives it. They live with the store protocol, beneath the
runtime, and import nothing of the package but :mod:`wfdsl.ir`'s ``HookKind``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar

from wfdsl.ir import HookKind, fast_init

__all__ = [
    "TIMER_KEY_PREFIX",
    "HookKind",
    "InstanceRecord",
    "Timer",
    "Transition",
    "TransitionKind",
    "WorkItem",
    "WorkStatus",
    "build_instance",
    "build_transition",
    "dump_data",
    "epoch_ms",
    "from_epoch_ms",
]


def dump_data(data: Mapping[str, Any]) -> str:
    """The canonical JSON text of transition data (sorted keys, no spaces, no
    NaN; ``"{}"`` for none): what stores write and what idempotent replays are
    compared by.

    :raises TypeError, ValueError: a value is not JSON.
    """
    if not data:
        return "{}"
    return json.dumps(
        data if isinstance(data, dict) else dict(data),
        sort_keys=True,
        separators=(",", ":"),
        allow_nan=False,
    )


class TransitionKind(StrEnum):
    """Why a transition was recorded."""

    #: ``Manager.start``: the instance entered its initial state (no source, no event).
    START = "start"
    #: ``Manager.send``: an event moved the instance.
    EVENT = "event"
    #: ``Manager.compensate``: one step back along the path taken (no event).
    COMPENSATE = "compensate"
    #: A timed transition (``after``) fired: the instance stayed its duration in
    #: the source state (no event; ``at`` is the timer's due time).
    TIMER = "timer"


@fast_init
@dataclass(frozen=True, slots=True)
class Transition:
    """One recorded step of an instance. ``history`` lists them in ``seq`` order."""

    #: Per instance, increasing from 1 with no gaps.
    seq: int
    kind: TransitionKind
    #: The state left; ``None`` for ``start``.
    source: str | None
    #: The state entered.
    target: str
    #: The event sent; ``None`` for ``start``, ``compensate`` and ``timer``.
    event: str | None
    #: The idempotency key given to ``send`` (or ``start``), if any; for a
    #: ``timer`` transition, the armed timer's :attr:`Timer.transition_key`.
    key: str | None
    #: The JSON data given to ``send`` or ``start`` (``{}`` when none).
    data: Mapping[str, Any]
    #: When it was applied, from the manager's clock; for a ``timer``
    #: transition, the timer's due time (however late a worker fired it).
    at: datetime


class WorkStatus(StrEnum):
    """Where a piece of hook work stands."""

    PENDING = "pending"
    DONE = "done"
    #: Failed ``max_attempts`` times; only an explicit ``Manager.retry`` runs it again.
    DEAD = "dead"


@fast_init
@dataclass(frozen=True, slots=True)
class WorkItem:
    """One hook (or compensator) to run for one transition.

    Work is written in the same store transaction as its transition, already
    leased to the worker that wrote it, so a crash never leaves a transition
    without a record of the hooks it owes, nor owed work that nobody holds.
    """

    workflow: str
    instance_id: str
    #: The transition this work belongs to.
    seq: int
    #: Position among the transition's work: exit hooks, then enter hooks (or compensators).
    idx: int
    hook: str
    kind: HookKind
    status: WorkStatus = WorkStatus.PENDING
    #: How many times the hook has been run and failed.
    attempts: int = 0
    last_error: str | None = None
    #: The name of the worker holding the lease (``Manager(worker_id=...)``), for people.
    lease_owner: str | None = None
    #: Until when the lease holds, in seconds since the epoch (UTC). Past it, the
    #: work is free even if its holder still lives (a hung worker).
    lease_until: float | None = None
    #: The holder's proof of identity (:meth:`~wfdsl.stores.base.Store.identity`):
    #: what a store checks to tell a live holder from a dead one. ``None`` for
    #: leases written without one, which only expire.
    lease_proof: str | None = None

    @property
    def ident(self) -> tuple[str, str, int, int]:
        """The work's identity in a store: ``(workflow, instance_id, seq, idx)``."""
        return (self.workflow, self.instance_id, self.seq, self.idx)


@fast_init
@dataclass(frozen=True, slots=True)
class InstanceRecord:
    """An instance as a store holds it."""

    workflow: str
    instance_id: str
    state: str
    #: The ``seq`` of the last transition; the optimistic-concurrency version.
    version: int
    #: ``Spec.fingerprint()`` of the spec the instance was started under.
    fingerprint: str
    #: Target state of a compensation in progress, else ``None``.
    compensating: str | None = None
    #: Pending hook work not yet done (dead work not counted).
    pending: int = 0
    #: Hook work that failed ``max_attempts`` times and waits for ``Manager.retry``.
    dead: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None
    #: The soonest due time of the instance's armed timers, in milliseconds
    #: since the Unix epoch (UTC); ``None`` when none is armed.
    next_due: int | None = None

    @property
    def next_due_at(self) -> datetime | None:
        """:attr:`next_due` as an aware UTC datetime."""
        return None if self.next_due is None else from_epoch_ms(self.next_due)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def epoch_ms(at: datetime) -> int:
    """``at`` in whole milliseconds since the Unix epoch, exactly (no float
    rounding); a naive datetime is taken as UTC."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return (at - _EPOCH) // _MS


def from_epoch_ms(ms: int) -> datetime:
    """Milliseconds since the Unix epoch as an aware UTC datetime (exact)."""
    return _EPOCH + timedelta(milliseconds=ms)


#: The idempotency keys of ``timer`` transitions start with this; ``send`` and
#: ``start`` refuse keys that do.
TIMER_KEY_PREFIX = "wfdsl-timer:"


@fast_init
@dataclass(frozen=True, slots=True)
class Timer:
    """An armed timed transition of one instance (SPEC §2, §7.2).

    Entering a state arms one per timed transition whose sources include it,
    in the store transaction of the transition that entered (``seq``); the
    transition that leaves the state removes them. So a timer belongs to one
    visit of its state: it is *current* while the instance's version is still
    ``seq``. The due time is absolute (the entering transition's ``at`` plus
    the duration), never a remaining time, so a restart or a late worker never
    moves it.
    """

    workflow: str
    instance_id: str
    #: The transition that entered :attr:`state` and armed this timer.
    seq: int
    #: The timed transition's position in the spec that armed it
    #: (``TimedEdge.index``): the written order that breaks ties of due times.
    index: int
    #: The state it was armed in (the timed transition's source).
    state: str
    #: The state it moves the instance to when it fires.
    target: str
    #: The timed transition's duration, in milliseconds.
    after_ms: int
    #: When it is due, in milliseconds since the Unix epoch (UTC).
    due: int
    #: The worker holding it while firing it (claimed like hook work), for people.
    lease_owner: str | None = None
    #: Until when the claim holds, in seconds since the epoch (wall clock).
    lease_until: float | None = None
    #: The holder's proof of identity (:meth:`~wfdsl.stores.base.Store.identity`).
    lease_proof: str | None = None

    @property
    def ident(self) -> tuple[str, str, int, int]:
        """The timer's identity in a store: ``(workflow, instance_id, seq, index)``."""
        return (self.workflow, self.instance_id, self.seq, self.index)

    @property
    def due_at(self) -> datetime:
        """:attr:`due` as an aware UTC datetime."""
        return from_epoch_ms(self.due)

    @property
    def transition_key(self) -> str:
        """The idempotency key of the ``timer`` transition that fires it:
        deterministic, so the instance's unique keys make a second firing of
        the same armed timer impossible, whoever tries."""
        return f"{TIMER_KEY_PREFIX}{self.seq}:{self.index}"


_R = TypeVar("_R")


def _builder(cls: type[_R]) -> Callable[..., _R]:
    """A function that builds a ``cls`` record from every field, positionally,
    in about 40% of the time its constructor takes; for the runtime's hottest
    paths, which build two records per ``send``.

    A frozen dataclass cannot store its own fields with plain assignments (its
    ``__setattr__`` refuses), so its constructor calls each slot's descriptor.
    The builder fills an instance of a twin class with the same slots and no
    guard (plain assignments, which the interpreter specialises), then makes
    it a ``cls``: ``__class__`` may be assigned between classes of the same
    layout. The result is a ``cls`` in every respect (equal, hashable, frozen).
    """
    names: tuple[str, ...] | None = getattr(cls, "__slots__", None)
    if cls.__bases__ != (object,) or names is None:
        raise TypeError(f"{cls.__name__}: a builder needs a slotted class on object")
    twin = type(f"_{cls.__name__}Twin", (), {"__slots__": names})
    namespace: dict[str, Any] = {"_twin": twin, "_cls": cls, "_new": object.__new__}
    body = "".join(f"    o.{n} = {n}\n" for n in names)
    source = f"def build({', '.join(names)}):\n    o = _new(_twin)\n{body}    o.__class__ = _cls\n    return o\n"
    exec(source, namespace)  # as dataclasses itself builds __init__
    build: Callable[..., _R] = namespace["build"]
    build.__qualname__ = build.__name__ = f"build_{cls.__name__}"
    return build


#: ``build_transition(seq, kind, source, target, event, key, data, at)``: a
#: :class:`Transition`, as its constructor would build it, faster (every field given).
build_transition: Callable[
    [int, TransitionKind, str | None, str, str | None, str | None, Mapping[str, Any], datetime],
    Transition,
] = _builder(Transition)

#: ``build_instance(workflow, instance_id, state, version, fingerprint,
#: compensating, pending, dead, created_at, updated_at, next_due)``: an
#: :class:`InstanceRecord`, as its constructor would build it, faster.
build_instance: Callable[
    [str, str, str, int, str, str | None, int, int, datetime | None, datetime | None, int | None],
    InstanceRecord,
] = _builder(InstanceRecord)
