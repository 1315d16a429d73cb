"""What the runtime persists: transitions, instances and hook work, as frozen records.

These records are the vocabulary between the :class:`~wfdsl.runtime.manager.Manager`
and every :class:`~wfdsl.stores.base.Store`. They import nothing else of the
package except :mod:`wfdsl.ir`'s ``HookKind``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from wfdsl.ir import HookKind, fast_init

__all__ = [
    "HookKind",
    "InstanceRecord",
    "ResumeReport",
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
        data if type(data) is dict else dict(data),
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
    #: The idempotency key given to ``send``, if any.
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

    Work is written in the same store transaction as its transition, so a crash
    never leaves a transition without a record of the hooks it owes.
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
    #: The worker holding the lease, and until when (seconds since the epoch).
    lease_owner: str | None = None
    lease_until: float | None = None

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


@dataclass(frozen=True, slots=True)
class ResumeReport:
    """What ``Manager.resume`` did."""

    #: ``(instance_id, hook)`` of every piece of work that ran and succeeded.
    completed: list[tuple[str, str]] = field(default_factory=list)
    #: ``(instance_id, hook, error)`` of every piece of work that failed again.
    failed: list[tuple[str, str, str]] = field(default_factory=list)
    #: Instances whose work failed for the last allowed time and is now dead.
    dead: list[str] = field(default_factory=list)
    #: Interrupted compensations that were carried on to their target.
    compensated: list[str] = field(default_factory=list)
    #: Instances with pending work or an unfinished compensation that were
    #: started under another version of the spec (their fingerprint differs):
    #: their work is left pending, not run, and listed here. Finished instances
    #: of an older spec are not listed.
    spec_changed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing failed and no instance needs attention."""
        return not (self.failed or self.dead or self.spec_changed)
