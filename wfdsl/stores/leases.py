"""The lease rule, as the stores that check it in Python (memory, SQLite) apply
it; PostgreSQL states the same rule in SQL.

Work is *free* for a worker when nobody holds it, when that worker holds it
(same proof), when its lease has expired, or when its holder is certainly dead
(:func:`wfdsl.stores.process.alive` says ``False``). An unknown answer leaves
the work to its lease.
"""

from __future__ import annotations

from typing import Protocol

from wfdsl.stores import process
from wfdsl.stores.records import Timer, WorkItem

__all__ = ["Leased", "lease_free", "leased", "leased_timer"]


class Leased(Protocol):
    """What the lease rule reads: hook work (:class:`WorkItem`) and timers
    (:class:`Timer`) are leased alike."""

    @property
    def lease_owner(self) -> str | None: ...
    @property
    def lease_until(self) -> float | None: ...
    @property
    def lease_proof(self) -> str | None: ...


def lease_free(item: Leased, *, proof: str, now: float, verdicts: dict[str, bool]) -> bool:
    """Whether the worker ``proof`` may take ``item`` at ``now`` (seconds since
    the epoch). ``verdicts`` caches, per holder, whether it is dead, for one claim."""
    holder = item.lease_proof
    if holder is None:
        return item.lease_owner is None or (item.lease_until or 0.0) < now
    if holder == proof or (item.lease_until or 0.0) < now:
        return True
    dead = verdicts.get(holder)
    if dead is None:
        dead = verdicts[holder] = process.alive(holder) is False
    return dead


def leased(item: WorkItem, owner: str, until: float, proof: str) -> WorkItem:
    """``item``, leased to the worker ``proof`` (named ``owner``) until ``until``."""
    return WorkItem(
        item.workflow,
        item.instance_id,
        item.seq,
        item.idx,
        item.hook,
        item.kind,
        item.status,
        item.attempts,
        item.last_error,
        owner,
        until,
        proof,
    )


def leased_timer(timer: Timer, owner: str, until: float, proof: str) -> Timer:
    """``timer``, claimed by the worker ``proof`` (named ``owner``) until ``until``."""
    return Timer(
        timer.workflow,
        timer.instance_id,
        timer.seq,
        timer.index,
        timer.state,
        timer.target,
        timer.after_ms,
        timer.due,
        owner,
        until,
        proof,
    )
