"""The long-running worker: ``wfdsl worker`` and :meth:`Manager.run_worker` (SPEC §7.2).

One loop, for one or more workflows on one store:

1. **Owed hook work.** Work nobody is running (a failed hook, a dead worker's)
   is claimed and run, instance by instance, in order; taking over a dead (or
   hung) worker's work is logged. Work a live worker is running is left to it.
2. **Due timers.** :meth:`Manager.fire_due`, claimed so that several workers
   (threads, processes, machines) take different instances.
3. **A sweep**, when the worker starts and then every ``sweep`` seconds:
   :meth:`Manager.resume` without waiting, which also carries interrupted
   compensations on and reports instances left for another spec. (It reads
   every instance of the workflow, which the passes in between never do.)
4. **Sleep** until the next due timer or ``poll`` seconds, whichever comes
   first, waking early when this process (any process, on PostgreSQL, through
   ``LISTEN``/``NOTIFY``) arms a sooner timer. A pass that did anything is
   followed by another at once.

**Retry backoff.** Hook work that fails is not tried again at every pass: an
instance whose work failed is left alone for :func:`retry_delay` of its
failures in a row -- 1 s after the first, then 2 s, 4 s, 8 s ... doubling up to
5 minutes (:data:`RETRY_FIRST`, :data:`RETRY_LONGEST`) -- measured on the
manager's clock (``set_clock`` drives it in tests), and kept in the worker's
memory (a restarted worker tries at once). A success clears it. Work that
fails ``max_attempts`` times is dead whatever the schedule (SPEC §7).

It stops when ``stop`` says so (``wfdsl worker``: SIGINT or SIGTERM), between
two instances: the hooks of the one in hand run to their end, timers claimed
and not yet tried are released at once for other workers, and nothing is held
afterwards (see SPEC §7.1 for what a worker killed instead leaves behind:
nothing, either). With ``until_idle`` it stops after the first pass that found
nothing to do, for scripts, cron and demos.

Everything it does is logged through :mod:`logging` (logger ``wfdsl.worker``):
one line per fired timer (INFO), failed hook (WARNING), dead work (ERROR), and
takeover of another worker's work (WARNING).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from wfdsl.errors import HookFailed, UnknownHook, WorkDead, WorkInProgress
from wfdsl.ir import format_duration
from wfdsl.runtime import ordering
from wfdsl.runtime.report import ResumeReport, TimerReport
from wfdsl.runtime.work import LostWork
from wfdsl.stores.records import WorkItem, epoch_ms

if TYPE_CHECKING:
    from wfdsl.runtime.manager import Manager

__all__ = [
    "POLL",
    "RETRY_FIRST",
    "RETRY_LONGEST",
    "SWEEP",
    "Stop",
    "WorkerStats",
    "retry_delay",
    "run_worker",
    "stopper",
]

log = logging.getLogger("wfdsl.worker")

#: What tells the worker to stop: an event that gets set, or a callable that
#: turns true.
Stop = threading.Event | Callable[[], bool]

#: Longest sleep between passes, in seconds, by default: how soon owed work and
#: timers armed by other processes are found where no notification tells.
POLL = 5.0
#: Seconds between sweeps (:meth:`Manager.resume`), by default.
SWEEP = 60.0
#: Seconds an instance whose hook work failed is left before the worker tries it
#: again, after its first failure in a row; each further failure doubles it...
RETRY_FIRST = 1.0
#: ... up to this many seconds.
RETRY_LONGEST = 300.0
#: Longest single wait, in seconds: how soon a stop request is noticed.
_SLICE = 0.25


@dataclass(slots=True)
class WorkerStats:
    """What a worker did, added up over its life."""

    #: Passes made (each: owed work, due timers).
    passes: int = 0
    #: Timers fired, and timers spent (their guard was false).
    fired: int = 0
    spent: int = 0
    #: Pieces of hook work that ran and succeeded (the fired timers' included).
    ran: int = 0
    #: Hook runs that failed.
    failed: int = 0
    #: Pieces of work taken over from workers that were gone (or hung).
    taken_over: int = 0
    #: ``workflow/instance`` of instances whose work is dead.
    dead: set[str] = field(default_factory=set)
    #: ``workflow/instance`` of instances left alone: started under another
    #: spec, in a state the spec does not declare, or with work it cannot run.
    left: set[str] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        """True when no hook failed, no work is dead and nothing was left."""
        return not (self.failed or self.dead or self.left)


def retry_delay(failures: int) -> float:
    """Seconds the worker leaves an instance alone after ``failures`` (>= 1)
    failures of its hook work in a row: 1, 2, 4, 8 ... up to 300."""
    doublings = min(max(failures, 1) - 1, 30)
    return min(RETRY_LONGEST, RETRY_FIRST * float(1 << doublings))


class _Backoff:
    """Per ``(workflow, instance)``: failures in a row, and the time (ms since
    the epoch, on the manager's clock) before which the worker leaves it."""

    def __init__(self) -> None:
        self.failures: dict[tuple[str, str], int] = {}
        self.until: dict[tuple[str, str], int] = {}

    def waiting(self, mgr: Manager[Any, Any], instance_id: str) -> bool:
        until = self.until.get((mgr.workflow, instance_id))
        return until is not None and epoch_ms(mgr._clock()) < until

    def held_back(self, mgr: Manager[Any, Any]) -> frozenset[str]:
        now = epoch_ms(mgr._clock())
        wf = mgr.workflow
        return frozenset(i for (w, i), until in self.until.items() if w == wf and now < until)

    def failed(self, mgr: Manager[Any, Any], instance_id: str) -> None:
        k = (mgr.workflow, instance_id)
        n = self.failures[k] = self.failures.get(k, 0) + 1
        self.until[k] = epoch_ms(mgr._clock()) + int(retry_delay(n) * 1000)

    def succeeded(self, mgr: Manager[Any, Any], instance_id: str) -> None:
        k = (mgr.workflow, instance_id)
        self.failures.pop(k, None)
        self.until.pop(k, None)

    def soonest(self, mgr: Manager[Any, Any]) -> int | None:
        """When the next instance of ``mgr``'s workflow held back is free again."""
        now = epoch_ms(mgr._clock())
        wf = mgr.workflow
        due = [u for (w, _), u in self.until.items() if w == wf and u > now]
        return min(due) if due else None


def stopper(stop: Stop | None) -> Callable[[], bool]:
    """``stop`` as a callable that says whether to stop (never, for ``None``)."""
    if stop is None:
        return lambda: False
    if isinstance(stop, threading.Event):
        return stop.is_set
    return stop


def run_worker(
    managers: Sequence[Manager[Any, Any]],
    stop: Stop | None = None,
    *,
    poll: float = POLL,
    until_idle: bool = False,
    limit: int = 100,
    sweep: float = SWEEP,
) -> WorkerStats:
    """Run the owed hook work and due timers of every manager's workflow until
    ``stop`` (see the module docstring). The managers share one store (one
    object), each for another workflow, and each measures its timers against
    its own clock.

    :param stop: a :class:`threading.Event` or a callable; checked between
        instances and at least every quarter of a second while sleeping.
    :param poll: longest sleep between passes, in seconds.
    :param until_idle: return after the first pass that found nothing to do.
    :param limit: due timers claimed per :meth:`Manager.fire_due` call.
    :param sweep: seconds between :meth:`Manager.resume` sweeps.
    :raises ValueError: no managers, managers on different stores, two for one
        workflow, or ``poll``, ``limit`` or ``sweep`` out of range.
    :raises StoreError: the store failed.
    """
    if not managers:
        raise ValueError("run_worker needs at least one manager")
    store = managers[0].store
    if any(m.store is not store for m in managers):
        raise ValueError("the managers of one worker must share one store object")
    names = [m.workflow for m in managers]
    if len(set(names)) != len(names):
        raise ValueError(f"one manager per workflow: {', '.join(sorted(names))}")
    if not poll > 0 or not sweep > 0 or limit < 1:
        raise ValueError("poll and sweep must be positive, and limit at least 1")
    stopped = stopper(stop)
    stats = WorkerStats()
    backoff = _Backoff()
    listener = store.listen(names)
    log.info(
        "worker %s started: %s on %s (polling every %gs)",
        managers[0].worker_id,
        ", ".join(names),
        store.scope,
        poll,
    )
    try:
        next_sweep = 0.0
        while not stopped():
            stats.passes += 1
            progress = False
            sweeping = time.monotonic() >= next_sweep
            for mgr in managers:
                if stopped():
                    break
                progress |= _owed_work(mgr, stats, stopped, backoff)
                if sweeping and not stopped():
                    progress |= _sweep(mgr, stats, backoff)
                if not stopped():
                    progress |= _timers(mgr, stats, limit, stopped, backoff)
            if sweeping:
                next_sweep = time.monotonic() + sweep
            if progress or stopped():
                continue
            if until_idle:
                break
            _sleep(managers, listener, poll, stopped, backoff)
    finally:
        listener.close()
        log.info(
            "worker %s stopped: %d timer(s) fired, %d spent, %d hook(s) ran, %d failed",
            managers[0].worker_id,
            stats.fired,
            stats.spent,
            stats.ran,
            stats.failed,
        )
    return stats


def _sleep(
    managers: Sequence[Manager[Any, Any]],
    listener: Any,
    poll: float,
    stopped: Callable[[], bool],
    backoff: _Backoff,
) -> None:
    """Until the soonest future due time (or end of a retry backoff), ``poll``
    seconds at most, or a sooner timer is armed, or a stop is asked for."""
    wait = poll
    soonest: int | None = None
    for mgr in managers:
        now = epoch_ms(mgr._clock())
        retry = backoff.soonest(mgr)
        if retry is not None:
            wait = min(wait, (retry - now) / 1000)
        due = mgr.store.next_due(mgr.workflow, after=now)
        if due is not None:
            wait = min(wait, (due - now) / 1000)
            soonest = due if soonest is None else min(soonest, due)
    end = time.monotonic() + max(0.0, wait)
    while not stopped():
        left = end - time.monotonic()
        if left <= 0 or listener.wait(min(left, _SLICE), sooner_than=soonest):
            return


def _name(mgr: Manager[Any, Any], instance_id: str) -> str:
    return f"{mgr.workflow}/{instance_id}"


def _owed_work(
    mgr: Manager[Any, Any], stats: WorkerStats, stopped: Callable[[], bool], backoff: _Backoff
) -> bool:
    """Run the work nobody is running, instance by instance (found through the
    store's index of open work), but for instances held back after a failure;
    return whether any ran."""
    store, runner, wf = mgr.store, mgr._runner, mgr.workflow
    me = store.identity()
    progress = False
    for rec in store.instances(wf, pending_only=True):
        if stopped():
            break
        iid = rec.instance_id
        if rec.fingerprint != mgr.fingerprint:
            continue  # left for workers of its own spec; the sweep reports it
        if backoff.waiting(mgr, iid):
            continue
        holders = {w.ident: w for w in store.pending_work(wf, iid)}
        ran: list[WorkItem] = []
        try:
            with ordering.turn((mgr._scope, wf, iid), time.monotonic(), runner.lease):
                items = runner.claim(iid)
                if not items:
                    continue
                _log_takeover(mgr, iid, items, holders, me, stats)
                runner.run_claimed(iid, items, ran)
            backoff.succeeded(mgr, iid)
        except HookFailed as exc:
            backoff.failed(mgr, iid)
            _log_failure(mgr, exc, stats)
        except (ordering.Busy, LostWork, WorkInProgress, WorkDead):
            pass  # in other hands, or dead: the sweep and retry() deal with it
        except UnknownHook as exc:
            _leave(mgr, iid, str(exc), stats)
        finally:
            stats.ran += len(ran)
            progress |= bool(ran)
    return progress


def _log_takeover(
    mgr: Manager[Any, Any],
    instance_id: str,
    items: Sequence[WorkItem],
    before: dict[tuple[str, str, int, int], WorkItem],
    me: str,
    stats: WorkerStats,
) -> None:
    """Log the work just claimed that another worker held (it is gone, or its
    lease ran out)."""
    by_owner: dict[str, list[str]] = {}
    for item in items:
        prior = before.get(item.ident)
        if prior is not None and prior.lease_proof not in (None, me):
            by_owner.setdefault(prior.lease_owner or "?", []).append(item.hook)
    for owner, hooks in by_owner.items():
        stats.taken_over += len(hooks)
        log.warning(
            "%s: took over %s from worker %s (gone, or its lease ran out)",
            _name(mgr, instance_id),
            ", ".join(hooks),
            owner,
        )


def _log_failure(mgr: Manager[Any, Any], exc: HookFailed, stats: WorkerStats) -> None:
    stats.failed += 1
    name = _name(mgr, exc.instance_id)
    if exc.attempt >= mgr.options.max_attempts:
        stats.dead.add(name)
        log.error(
            "%s: %s is dead after %d attempts (%s); fix the cause, then: wfdsl retry %s",
            name,
            exc.hook,
            exc.attempt,
            exc.error,
            exc.instance_id,
        )
    else:
        log.warning(
            "%s: %s failed (attempt %d of %d): %s; it will be retried",
            name,
            exc.hook,
            exc.attempt,
            mgr.options.max_attempts,
            exc.error,
        )


def _leave(mgr: Manager[Any, Any], instance_id: str, why: str, stats: WorkerStats) -> None:
    """Say once that an instance is left alone, and why."""
    name = _name(mgr, instance_id)
    if name not in stats.left:
        stats.left.add(name)
        log.warning("%s: left alone: %s", name, why)


def _dead(mgr: Manager[Any, Any], instance_id: str, what: str, stats: WorkerStats) -> None:
    """Say once that an instance has dead work."""
    name = _name(mgr, instance_id)
    if name not in stats.dead:
        stats.dead.add(name)
        log.error("%s: %s; fix the cause, then: wfdsl retry %s", name, what, instance_id)


def _sweep(mgr: Manager[Any, Any], stats: WorkerStats, backoff: _Backoff) -> bool:
    """:meth:`Manager.resume` without waiting for live workers (nor trying
    instances held back after a failure); log what it left."""
    report: ResumeReport = mgr._resume(0.0, skip=backoff.held_back(mgr))
    stats.ran += len(report.completed)
    for iid, hook, error in report.failed:
        backoff.failed(mgr, iid)
        stats.failed += 1
        log.warning("%s: %s failed again: %s", _name(mgr, iid), hook, error)
    for iid in report.dead:
        _dead(mgr, iid, "has dead work", stats)
    for iid in report.compensated:
        log.info("%s: finished an interrupted compensation", _name(mgr, iid))
    for iid in report.spec_changed:
        _leave(mgr, iid, "started under another version of the spec", stats)
    for iid, error in report.errors:
        _leave(mgr, iid, error, stats)
    return bool(report.completed or report.compensated)


def _timers(
    mgr: Manager[Any, Any],
    stats: WorkerStats,
    limit: int,
    stopped: Callable[[], bool],
    backoff: _Backoff,
) -> bool:
    """Fire due timers (as many batches as are due); log each; return whether
    any fired or was spent."""
    progress = False
    while not stopped():
        now = mgr._clock()
        report: TimerReport = mgr._fire_due(now, limit, stopped)
        now_ms = epoch_ms(now)
        for fired in report.fired:
            t, timer = fired.transition, fired.timer
            late = (now_ms - timer.due) // 1000 * 1000  # whole seconds
            log.info(
                "%s: %s -> %s after %s (timer due %s%s)",
                _name(mgr, fired.instance_id),
                t.source,
                t.target,
                _duration(timer.after_ms),
                t.at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                f", fired {format_duration(late)} late" if late > 0 else "",
            )
        stats.fired += len(report.fired)
        stats.spent += len(report.spent)
        failed = {iid for iid, _, _ in report.failed}
        stats.ran += sum(
            len(mgr._engine.plan(f.transition.source, f.transition.target))
            for f in report.fired
            if f.instance_id not in failed
        )
        for iid, hook, error in report.failed:
            backoff.failed(mgr, iid)
            stats.failed += 1
            log.warning("%s: %s failed: %s; it will be retried", _name(mgr, iid), hook, error)
        for iid in report.dead:
            _dead(mgr, iid, "its due timers wait for its dead work", stats)
        for timer in report.spec_changed:
            _leave(
                mgr,
                timer.instance_id,
                f"its timer {timer.state} -> {timer.target} after "
                f"{_duration(timer.after_ms)} is not in the loaded spec",
                stats,
            )
        for iid, state in report.unknown_state:
            _leave(mgr, iid, f"state {state!r} is not in the loaded spec", stats)
        for iid, error in report.errors:
            _leave(mgr, iid, error, stats)
        done = bool(report.fired or report.spent)
        progress |= done
        if not done or len(report.fired) + len(report.spent) < limit:
            return progress
    return progress


def _duration(ms: int) -> str:
    return format_duration(ms) if ms > 0 else f"{ms}ms"
