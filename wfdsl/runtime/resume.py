"""``resume()``: finish what crashes, failures and dead workers left owed.

One call runs every piece of work of the workflow that it can claim (the work
of a dead worker at once), waits up to ``wait`` seconds in all for work that
live workers are running, carries interrupted compensations on, and reports
everything still owed. One instance's fault (a hook that fails again, a state
the spec no longer declares, data it cannot read) is reported and never stops
the others.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from wfdsl.errors import HookFailed, WorkDead, WorkInProgress
from wfdsl.runtime import ordering
from wfdsl.runtime.report import ResumeReport
from wfdsl.runtime.work import LostWork, Runner
from wfdsl.stores.records import Transition, WorkItem, WorkStatus

if TYPE_CHECKING:
    from wfdsl.stores.base import Store

__all__ = ["resume"]


def resume(
    store: Store,
    runner: Runner,
    fingerprint: str,
    key_of: Callable[[str], ordering.Key],
    compensate: Callable[[str, str, float], list[Transition]],
    wait: float,
    skip: frozenset[str] = frozenset(),
) -> ResumeReport:
    """See :meth:`wfdsl.runtime.manager.Manager.resume`."""
    report = ResumeReport()
    wf = runner.workflow
    if not store.anything_owed(wf):
        # Nothing to run, carry on or report (an instance started under
        # another spec is reported only while it owes something): one probe,
        # however many instances the store holds.
        return report
    deadline = time.monotonic() + wait
    changed = set(store.other_fingerprints(wf, fingerprint))
    #: Instances whose outcome the report already tells: not driven again.
    settled: set[str] = set()

    def drive(instance_id: str, step: Callable[..., None], *args: Any) -> None:
        """Run ``step(*args)`` for one instance, turning its failure into the report."""
        try:
            step(*args)
        except HookFailed as exc:
            settled.add(instance_id)
            report.failed.append((exc.instance_id, exc.hook, exc.error))
        except (WorkInProgress, ordering.Busy, LostWork):
            settled.add(instance_id)
            held = [
                w for w in store.pending_work(wf, instance_id) if w.status is WorkStatus.PENDING
            ]
            if held:
                # The worker runs them one at a time, in order: the first is in
                # hand, the others wait for it.
                report.in_progress.append((instance_id, held[0].hook, held[0].lease_owner or "?"))
                report.queued.extend((instance_id, w.hook) for w in held[1:])
        except WorkDead:
            settled.add(instance_id)  # listed with every dead instance below
        except Exception as exc:  # an instance's own fault: reported, the others go on
            settled.add(instance_id)
            report.errors.append((instance_id, f"{type(exc).__name__}: {exc}"))

    def drain(instance_id: str, until: float) -> None:
        ran: list[WorkItem] = []
        try:
            # Claimed under the instance's turn, never ahead of it: work claimed
            # for later would be this process's own to every other thread (they
            # would run it too) and another live worker's to everyone else.
            with ordering.turn(key_of(instance_id), until, runner.lease):
                # Instances of another spec are left above, by the same rule.
                runner.drain(instance_id, until, ran, other_spec=True)
        finally:
            report.completed.extend((w.instance_id, w.hook) for w in ran)

    def carry_on(instance_id: str, target: str) -> None:
        compensate(instance_id, target, deadline)
        report.compensated.append(instance_id)

    # First what is free, without waiting for anyone; then, up to the deadline
    # in all, what live workers (or other threads) held.
    busy: list[str] = []

    def first_look(instance_id: str) -> None:
        try:
            drain(instance_id, time.monotonic())
        except (WorkInProgress, ordering.Busy, LostWork):
            busy.append(instance_id)

    for rec in store.instances(wf, pending_only=True):
        if rec.instance_id not in changed and rec.instance_id not in skip and not rec.dead:
            drive(rec.instance_id, first_look, rec.instance_id)
    for iid in busy:
        drive(iid, drain, iid, deadline)

    unfinished = {r.instance_id for r in store.instances(wf, pending_only=True)}
    for rec in store.instances(wf, compensating_only=True):
        iid = rec.instance_id
        unfinished.add(iid)
        if iid in changed or iid in settled or iid in skip or rec.compensating is None:
            continue

        drive(iid, carry_on, iid, rec.compensating)

    report.spec_changed.extend(sorted(changed & unfinished))
    report.dead.extend(r.instance_id for r in store.instances(wf, dead_only=True))
    listed = settled | changed | set(report.dead)
    report.pending.extend(
        r.instance_id for r in store.instances(wf, pending_only=True) if r.instance_id not in listed
    )
    return report
