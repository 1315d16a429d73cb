"""Many appends in one store transaction (:meth:`Store.append_many`).

One flush to the disk costs far more than the statements of one transition, so
a caller that has several transitions to record (a batch of sends, a worker
firing many due timers) writes them in one transaction. Each append keeps the
meaning it has alone (:meth:`Store.append`): its version check, its key, its
work and its timers; what fails is reported per append, and the others are
written all the same.

Appends to one instance form a *chain*: they apply in the order given, each
``seq`` one more than the one before. A chain is written whole or, from the
first append that fails, not at all (an append after a failed one is never
written, since its version check would mean something else).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from wfdsl.errors import VersionConflict, WorkflowError
from wfdsl.stores.records import Timer, Transition, WorkItem

__all__ = ["Append", "Outcome", "chains", "skipped", "soonest_armed"]


@dataclass(frozen=True, slots=True)
class Append:
    """One :meth:`Store.append` call, as an item of :meth:`Store.append_many`."""

    workflow: str
    instance_id: str
    transition: Transition
    work: Sequence[WorkItem] = ()
    compensating: str | None = None
    #: The timers entering ``transition.target`` arms.
    timers: Sequence[Timer] = ()
    #: Remove the timers the instance has armed, as every append does. ``False``
    #: only says that the instance had none armed at version ``seq - 1`` (which
    #: the version check makes sure of: only a transition arms), so that a store
    #: may skip looking.
    disarm: bool = True


#: Per append: ``None`` when written, else why not (``VersionConflict``,
#: ``UnknownInstance``).
Outcome = WorkflowError | None


def chains(appends: Sequence[Append]) -> dict[tuple[str, str], list[int]]:
    """The positions of ``appends`` grouped by instance, in the order given."""
    out: dict[tuple[str, str], list[int]] = {}
    for i, a in enumerate(appends):
        out.setdefault((a.workflow, a.instance_id), []).append(i)
    return out


def skipped(a: Append) -> WorkflowError:
    """The outcome of an append left unwritten because one before it in its
    chain failed: its version check would not hold alone."""
    return VersionConflict(a.workflow, a.instance_id, a.transition.seq - 1)


def soonest_armed(appends: Sequence[Append], out: Sequence[Outcome]) -> dict[str, int]:
    """Per workflow, the soonest due time (epoch milliseconds, UTC) of the
    timers that the written ``appends`` armed: the workers to wake."""
    soonest: dict[str, int] = {}
    for a, o in zip(appends, out, strict=True):
        if o is None and a.timers:
            due = min(t.due for t in a.timers)
            soonest[a.workflow] = min(due, soonest.get(a.workflow, due))
    return soonest
