"""Timed transitions at run time (SPEC §2, §7.2): firing an instance's due timers.

Entering a state arms its timers in the store transaction of the transition
that enters it (:meth:`Engine.arm`); the transition that leaves removes them.
When timers of an instance are due, they are tried in due order, then in
written order: a timer whose guard is false is *spent* (removed, never
re-armed), and the first whose guard holds *fires*: it becomes a transition of
kind ``timer`` (no event, the timer's deterministic key, ``at`` its due time),
written with the hook work it owes and the timers its target arms, exactly as
an event's transition is, and its hooks run the same way.

Firing is exactly-once whoever tries, however many workers and processes: the
transition is appended with the version the instance had when its timers were
read, which only the visit that armed them has (a rival that fired first, or
any other transition, moved it on and removed them), and under the timer's own
idempotency key. A crash leaves either the timer armed, or its transition
written with its hooks owed and the timer gone; never both, never neither.

Because ``at`` is the due time, not the moment a worker got to it, a late
worker moves an instance along the same path, with the same times, as a
punctual one would have: the target's own timers count from the due time, so
a chain of timers that all came due while workers were down fires in one go.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from wfdsl.errors import (
    BindError,
    CompensationInProgress,
    GuardFailed,
    ReentrantCall,
    UnknownInstance,
    VersionConflict,
    WorkDead,
)
from wfdsl.ir import TimedEdge, format_guard
from wfdsl.runtime.compensation import MAX_RACES
from wfdsl.runtime.engine import Engine
from wfdsl.runtime.guards import guard_holds
from wfdsl.runtime.inputs import NO_DATA
from wfdsl.runtime.report import Fired, TimerReport
from wfdsl.runtime.work import Runner
from wfdsl.stores.records import (
    InstanceRecord,
    Timer,
    WorkStatus,
)

if TYPE_CHECKING:
    from wfdsl.stores.base import Store

__all__ = ["LEAVE_FOR", "Firing"]

#: Seconds a due timer that a worker cannot fire (its timed transition is not in
#: the worker's spec, its instance waits for a retry or a compensation, its
#: state is unknown) is left before any worker claims it again: so that it
#: does not stand in front of the due timers behind it at every claim.
LEAVE_FOR = 30.0


class Firing:
    """Fires the due timers of one workflow's instances on one store."""

    def __init__(self, engine: Engine, store: Store, runner: Runner) -> None:
        self.engine = engine
        self.store = store
        self.runner = runner
        self.workflow = engine.workflow

    def claim(self, due_by: int, limit: int) -> list[Timer]:
        """Claim up to ``limit`` of the workflow's timers due at ``due_by``
        (milliseconds since the epoch) for this worker, for a full lease
        (:meth:`~wfdsl.stores.base.Store.claim_timers`)."""
        runner = self.runner
        now = time.time()
        return self.store.claim_timers(
            self.workflow,
            due_by=due_by,
            owner=runner.owner,
            proof=self.store.identity(),
            now=now,
            until=now + runner.lease,
            limit=limit,
        )

    def fire(
        self,
        instance_id: str,
        now: int,
        deadline: float,
        report: TimerReport,
        *,
        background: bool = False,
    ) -> int:
        """Fire the instance's timers due at ``now`` (milliseconds since the
        epoch), one after another (a fired timer's target may have due timers of
        its own), and return the instance's version once nothing more due can
        fire. What happened goes into ``report``. The caller holds the
        instance's turn; ``deadline`` (``time.monotonic``) bounds the wait for
        hook work another worker holds.

        Hook work the instance owes runs first, as for ``send``. In the
        ``background`` (``fire_due``), an instance that owes work and was
        started under another spec is left to workers running that spec, as
        ``resume`` leaves it.

        :raises UnknownInstance: no such instance.
        :raises UnknownState: it is in a state the spec does not declare.
        :raises CompensationInProgress: a compensation has not finished.
        :raises WorkDead: it has dead work (``Manager.retry``).
        :raises WorkInProgress: another worker held its hook work at ``deadline``.
        :raises HookFailed: owed work, or a hook of a fired timer, failed (the
            timer's transition stands).
        :raises GuardFailed: a timer's guard raised (nothing was applied).
        """
        engine, store, wf = self.engine, self.store, self.workflow
        for _ in range(MAX_RACES):
            found = store.load_armed(wf, instance_id)
            if found is None:
                raise UnknownInstance(wf, instance_id)
            inst, armed = found
            if inst.next_due is None or inst.next_due > now:
                return inst.version
            engine.check_state(instance_id, inst.state)
            if inst.compensating is not None:
                raise CompensationInProgress(wf, instance_id, inst.compensating)
            if inst.dead:
                raise WorkDead(
                    wf,
                    instance_id,
                    [
                        w.hook
                        for w in store.pending_work(wf, instance_id)
                        if w.status is WorkStatus.DEAD
                    ],
                )
            if inst.pending:
                if background and inst.fingerprint != engine.fingerprint:
                    report.spec_changed.extend(store.timers(wf, instance_id=instance_id))
                    return inst.version
                self.runner.drain(instance_id, deadline)
                continue
            try:
                again, version = self._step(inst, armed, now, report)
            except VersionConflict:
                continue  # another writer moved the instance: read it again
            if not again:
                return version
        raise VersionConflict(wf, instance_id, -1)

    def _step(
        self, inst: InstanceRecord, armed: list[Timer], now: int, report: TimerReport
    ) -> tuple[bool, int]:
        """Try the instance's due timers in order; fire the first whose guard
        holds. Returns whether another look is called for (a timer the fired
        one armed is due already, or stale timers were cleaned up), and the
        instance's version as this left it.

        :raises VersionConflict: another writer moved the instance first.
        """
        engine, store = self.engine, self.store
        if any(t.seq > inst.version for t in armed):
            # Armed by a transition written after the instance was read (the two
            # reads are not one snapshot on every store): read it again, and
            # never take a newer visit's timers for stale ones.
            return True, inst.version
        stale = [t for t in armed if t.seq < inst.version]
        if stale:
            # Left behind by a writer that did not remove them (a store written
            # by hand, or a bug): never current, so never fired; cleaned up.
            store.disarm(stale)
        due = [t for t in armed if t.seq == inst.version and t.due <= now]
        if len(due) > 1:
            due.sort(key=lambda t: (t.due, t.index))
        spent: list[Timer] = []
        unmatched: list[Timer] = []
        for timer in due:
            edge = engine.timed_edge(timer)
            if edge is None:
                unmatched.append(timer)
            elif edge.guard is None or self._holds(inst, timer, edge):
                report.spent.extend(spent)  # removed with the rest by the transition
                armed_next = self._fire(inst, timer, edge, report)
                return any(t.due <= now for t in armed_next), inst.version + 1
            else:
                spent.append(timer)
        if spent:
            store.disarm(spent)
            report.spent.extend(spent)
        report.spec_changed.extend(unmatched)
        return bool(stale), inst.version

    def _holds(self, inst: InstanceRecord, timer: Timer, edge: TimedEdge) -> bool:
        """Whether the timer's guard holds.

        :raises GuardFailed: it raised (the timer stays armed, as an event's
            guard that raises applies nothing).
        """
        assert edge.guard is not None
        try:
            return guard_holds(
                self.runner.calls,
                edge.guard,
                workflow=self.workflow,
                instance_id=inst.instance_id,
                event=None,
                source=inst.state,
                target=edge.target.value,
                data=NO_DATA,
                seq=inst.version + 1,
            )
        except (ReentrantCall, BindError):
            raise
        except Exception as exc:
            raise GuardFailed(
                self.workflow,
                inst.instance_id,
                inst.state,
                f"after {edge.after.text}",
                format_guard(edge.guard),
                f"{type(exc).__name__}: {exc}",
            ) from exc

    def _fire(
        self, inst: InstanceRecord, timer: Timer, edge: TimedEdge, report: TimerReport
    ) -> list[Timer]:
        """Write the timer's transition with its work and the target's timers,
        then run its hooks; return the timers it armed.

        :raises VersionConflict: another writer moved the instance first.
        :raises HookFailed: a hook failed; the transition stands.
        """
        runner, iid = self.runner, inst.instance_id
        t, work, armed = self.engine.fire(inst, timer, edge, runner.new_lease())
        self.store.append(self.workflow, iid, t, work, compensating=None, timers=armed)
        report.fired.append(Fired(iid, t, timer))
        if work:
            runner.run(t, work, fresh=True)
        return armed
