"""What a store keeps: transitions, instances and hook work, as frozen records.

These records are the vocabulary between every :class:`~wfdsl.stores.base.Store`
and the runtime that drives it. They live with the store protocol, beneath the
runtime, and import nothing of the package but :mod:`wfdsl.ir`'s ``HookKind``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from wfdsl.ir import HookKind, fast_init

__all__ = [
    "HookKind",
    "InstanceRecord",
    "Transition",
    "TransitionKind",
    "WorkItem",
    "WorkStatus",
    "dump_data",
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
    #: The event sent; ``None`` for ``start`` and ``compensate``.
    event: str | None
    #: The idempotency key given to ``send`` (or ``start``), if any.
    key: str | None
    #: The JSON data given to ``send`` or ``start`` (``{}`` when none).
    data: Mapping[str, Any]
    #: When it was applied, from the manager's clock.
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
