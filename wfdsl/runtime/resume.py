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

#: Work claimed per store transaction when nothing else is in the way.
BATCH = 1000


def resume(
    store: Store,
    runner: Runner,
    fingerprint: str,
    key_of: Callable[[str], ordering.Key],
    compensate: Callable[[str, str, float], list[Transition]],
    wait: float,
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
            for w in store.pending_work(wf, instance_id):
                if w.status is WorkStatus.PENDING:
                    report.in_progress.append((instance_id, w.hook, w.lease_owner or "?"))
        except WorkDead:
            settled.add(instance_id)  # listed with every dead instance below
        except Exception as exc:  # an instance's own fault: reported, the others go on
            settled.add(instance_id)
            report.errors.append((instance_id, f"{type(exc).__name__}: {exc}"))

    def run_claimed(instance_id: str, items: list[WorkItem]) -> None:
        ran: list[WorkItem] = []
        try:
            # Another thread of this process running this instance has the work
            # in hand already: leave it to that thread rather than wait here.
            with ordering.turn(key_of(instance_id), time.monotonic()):
                runner.run_claimed(instance_id, items, ran)
        except ordering.Busy:
            pass  # looked at again below, with the others still owed
        finally:
            report.completed.extend((w.instance_id, w.hook) for w in ran)

    def drain(instance_id: str) -> None:
        ran: list[WorkItem] = []
        try:
            with ordering.turn(key_of(instance_id), deadline):
                runner.drain(instance_id, deadline, ran)
        finally:
            report.completed.extend((w.instance_id, w.hook) for w in ran)

    def carry_on(instance_id: str, target: str) -> None:
        compensate(instance_id, target, deadline)
        report.compensated.append(instance_id)

    if not changed:
        # The common case: claim the whole workflow's work a batch at a time
        # (one store transaction per batch) and run it instance by instance.
        limit = BATCH
        while True:
            items = runner.claim(None, limit)
            by_instance: dict[str, list[WorkItem]] = {}
            for item in items:
                if item.instance_id not in settled:
                    by_instance.setdefault(item.instance_id, []).append(item)
            for instance_id, work in by_instance.items():
                drive(instance_id, run_claimed, instance_id, work)
            if len(items) < limit:
                break
            if not by_instance:
                # A full batch of work of instances already settled in this call:
                # look past it rather than stop short of the rest.
                limit += BATCH

    # What is left: work live workers (or other threads) hold, work of an
    # instance started under another spec, work written while this ran.
    for rec in store.instances(wf, pending_only=True):
        iid = rec.instance_id
        if iid in changed or iid in settled:
            continue
        drive(iid, drain, iid)

    unfinished = {r.instance_id for r in store.instances(wf, pending_only=True)}
    for rec in store.instances(wf, compensating_only=True):
        iid = rec.instance_id
        unfinished.add(iid)
        if iid in changed or iid in settled or rec.compensating is None:
            continue

        drive(iid, carry_on, iid, rec.compensating)

    report.spec_changed.extend(sorted(changed & unfinished))
    report.dead.extend(r.instance_id for r in store.instances(wf, dead_only=True))
    listed = settled | changed | set(report.dead)
    report.pending.extend(
        r.instance_id for r in store.instances(wf, pending_only=True) if r.instance_id not in listed
    )
    return report
