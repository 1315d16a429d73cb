"""``Manager``: drive workflow instances against a :class:`~wfdsl.stores.base.Store`.

The manager checks its input, then puts together the runtime's jobs: the
transition engine decides (:mod:`~wfdsl.runtime.engine`), the store records,
the work runner runs hooks (:mod:`~wfdsl.runtime.work`), in the order
:mod:`~wfdsl.runtime.ordering` keeps, with compensation
(:mod:`~wfdsl.runtime.compensation`) and recovery
(:mod:`~wfdsl.runtime.resume`) on top.

Every ``send`` reads the instance, decides outside any lock, then writes the
transition and the hook work it owes in one store transaction guarded by the
instance's version (retried from the read if another writer got there first).
Hooks run after the write and are marked done as they return, so a crash
leaves either no transition or one whose hooks ``resume()`` runs: hooks are
delivered at least once, with a stable ``Context.effect_key``. An instance
takes one step at a time (SPEC §7.1): work it still owes runs before its next
transition, whoever holds it.

Timed transitions (SPEC §2, §7.2): every transition writes, in its store
transaction, the timers its target arms; :meth:`Manager.fire_due` fires the
due ones (:mod:`~wfdsl.runtime.timers`), ``send`` fires an instance's due
timers before its event, and :meth:`Manager.run_worker`
(:mod:`~wfdsl.runtime.worker`) keeps doing both for a long-running worker.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from wfdsl.errors import (
    AlreadyStarted,
    CompensationInProgress,
    HookFailed,
    IdempotencyConflict,
    InvalidInput,
    UnknownInstance,
    UnknownState,
    VersionConflict,
    WorkDead,
    WorkflowError,
    WorkInProgress,
)
from wfdsl.ir import Edge, Spec
from wfdsl.runtime import compensation, ordering
from wfdsl.runtime import resume as recovery
from wfdsl.runtime.base import BaseManager, E, Hooks, Options, S
from wfdsl.runtime.binding import Call, bind
from wfdsl.runtime.engine import Engine, Plan
from wfdsl.runtime.guards import guard_holds
from wfdsl.runtime.inputs import NO_DATA, check_id, check_key, encode, same_data
from wfdsl.runtime.report import ResumeReport, TimerReport
from wfdsl.runtime.timers import LEAVE_FOR, Firing
from wfdsl.runtime.work import LostWork, Runner
from wfdsl.stores.base import Store
from wfdsl.stores.records import (
    TIMER_KEY_PREFIX,
    InstanceRecord,
    Timer,
    Transition,
    TransitionKind,
    WorkStatus,
    build_transition,
    epoch_ms,
    from_epoch_ms,
)

if TYPE_CHECKING:
    from wfdsl.runtime.batch import Send
    from wfdsl.runtime.worker import Stop, WorkerStats

__all__ = ["Manager", "ResumeReport", "TimerReport"]

#: How often a write that lost an optimistic race is retried before giving up.
MAX_RACES = compensation.MAX_RACES

_EVENT = TransitionKind.EVENT
_ACTIVE = ordering.ACTIVE


def _left(report: TimerReport) -> int:
    """How many things ``report`` says were left for another spec or a later
    call (a compensation, a retry, an error), not for a live worker."""
    return (
        len(report.spec_changed)
        + len(report.unknown_state)
        + len(report.dead)
        + len(report.compensating)
        + len(report.errors)
    )


def _check_own_key(workflow: str, key: str | None) -> None:
    """:raises InvalidInput: ``key`` is one of the keys timers use."""
    if key is not None and key.startswith(TIMER_KEY_PREFIX):
        raise InvalidInput(
            workflow, f"idempotency keys starting with {TIMER_KEY_PREFIX!r} are kept for timers"
        )


class Manager(BaseManager[S, E]):
    """Runs instances of one workflow spec on one store.

    ``Manager(spec, store, hooks=...)`` for a loaded spec is a
    ``Manager[str, str]`` (states are ``str``); for a generated module's
    ``SPEC``, a ``Spec[State, Event]``, it is a ``Manager[State, Event]``:
    ``state()`` returns ``State`` members and ``send`` takes ``Event``.
    The options (``clock``, ``worker_id``, ``lease``, ``max_attempts``,
    ``wait``) are described on :class:`~wfdsl.runtime.base.BaseManager`.
    """

    def _setup(self, hooks: Hooks) -> None:
        self._build(bind(self.spec, hooks))

    def _build(self, calls: dict[str, Call]) -> None:
        self._engine = engine = Engine(self.spec)
        self.fingerprint = engine.fingerprint
        self._runner = Runner(engine, self.store, calls, self.options)
        self._firing = Firing(engine, self.store, self._runner)
        #: Whether the spec has timed transitions (most have none: their sends
        #: skip the timer bookkeeping).
        self._timed = engine.timed
        self._clock: Callable[[], datetime] = self.options.clock
        self._scope = self.store.scope
        self._initial = self.spec.initial.name
        self._events = engine.events
        #: ``(state, event)`` -> ``(target, plan)`` where the first transition to
        #: try has no guard: every send's decision, in one lookup.
        self._unguarded: dict[tuple[str, str], tuple[str, Plan]] = {}

    @classmethod
    def _bound(
        cls,
        spec: Spec[S, E],
        store: Store,
        calls: dict[str, Call],
        options: Options,
    ) -> Manager[S, E]:
        """A manager on callables bound already (by :class:`AsyncManager`)."""
        mgr: Manager[S, E] = cls.__new__(cls)
        mgr.spec = spec
        mgr.store = store
        mgr.workflow = spec.name
        mgr.options = options
        mgr._build(calls)
        return mgr

    # -- public surface --------------------------------------------------------

    @property
    def worker_id(self) -> str:
        """This worker's name, as shown with the work it holds."""
        return self._runner.owner

    def set_clock(self, clock: Callable[[], datetime]) -> None:
        """Use ``clock`` for the ``at`` of every transition recorded from now on."""
        self._clock = clock

    def start(
        self,
        instance_id: str,
        *,
        key: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> Transition:
        """Create the instance in the initial state and run its ``enter`` hooks.

        With ``key``, a repeated ``start`` with the same key and data returns the
        original ``start`` transition (after running any work the instance owes,
        as a ``send`` would) instead of raising ``AlreadyStarted``.

        :raises InvalidInput: empty id or key, or data that is not JSON (nothing written).
        :raises AlreadyStarted: the instance exists (started without this key).
        :raises IdempotencyConflict: ``key`` was used with other data or another call.
        :raises HookFailed: an ``enter`` hook raised; the instance exists and the
            work stays pending (or, on a replay, owed work failed again).
        :raises WorkInProgress: another worker is running the instance's hooks.
        :raises ReentrantCall: called from inside one of the instance's own hooks.
        :raises SpecChanged: on a replay, the instance owes work written under
            another version of the spec (see :meth:`retry`).
        """
        wf = self.workflow
        check_id(wf, instance_id)
        check_key(wf, key)
        _check_own_key(wf, key)
        payload, text = encode(wf, data)
        ident = (self._scope, wf, instance_id)
        ordering.check_reentry(ident, "start")
        at = self._clock()
        initial = self._initial
        first = Transition(1, TransitionKind.START, None, initial, None, key, payload, at)
        record = InstanceRecord(
            wf, instance_id, initial, 1, self.fingerprint, created_at=at, updated_at=at
        )
        plan = self._engine.plan(None, initial)
        timers = self._engine.arm(instance_id, first)
        deadline = time.monotonic() + self.options.wait
        try:
            if not plan:
                self.store.create(record, first, (), timers=timers)
                return first
            with self._turn(ident, deadline):
                work = self._engine.work(instance_id, first, self._runner.new_lease(), plan)
                self.store.create(record, first, work, timers=timers)
                self._runner.run(first, work, fresh=True)
            return first
        except AlreadyStarted:
            if key is None:
                raise
        prior = self.store.find_key(wf, instance_id, key)
        if prior is None:
            raise AlreadyStarted(wf, instance_id)
        if prior.kind is not TransitionKind.START or not same_data(prior.data, text):
            raise IdempotencyConflict(wf, instance_id, key)
        return self._replayed(self._load(instance_id), prior, deadline)

    def send(
        self,
        instance_id: str,
        event: E,
        *,
        key: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> Transition:
        """Deliver ``event``; return the transition applied (or, when ``key`` was
        used before with the same event and data, the original one, after
        running any work the instance still owes).

        Work the instance owes from earlier transitions runs first. While
        another worker runs it, ``send`` waits up to ``wait`` seconds. Then the
        instance's timers already due by the manager's clock fire (SPEC §7.2),
        so that the event never acts on a state the clock has left.

        :raises InvalidInput: empty id, undeclared event, empty or non-string key,
            non-JSON data (nothing written).
        :raises UnknownInstance: no such instance in this workflow.
        :raises UnknownState: the instance is in a state the spec does not declare.
        :raises IdempotencyConflict: ``key`` was used with another event or data.
        :raises IllegalTransition: the state does not accept the event (or is final).
        :raises GuardRejected: transitions matched but every guard was false.
        :raises CompensationInProgress: a compensation has not finished.
        :raises WorkDead: the instance has dead work; see :meth:`retry`.
        :raises WorkInProgress: another worker still ran the instance's hooks after
            ``wait`` seconds; nothing was applied.
        :raises ReentrantCall: sent from inside one of the instance's own hooks
            (while it runs: a task it started may send once it returned).
        :raises SpecChanged: the instance owes work written under another
            version of the spec; nothing was applied (see :meth:`retry`).
        :raises HookFailed: owed work failed again (nothing new is applied), a
            hook of a timer that fired first failed (its transition stands; the
            event is not applied), or a hook of this transition failed (the
            transition stands).
        """
        wf = self.workflow
        if not instance_id or type(instance_id) is not str:
            check_id(wf, instance_id)
        ev = event if type(event) is str else str(event)
        if ev not in self._events:
            raise InvalidInput(wf, f"the workflow declares no event {ev!r}")
        if key is not None:
            check_key(wf, key)
            _check_own_key(wf, key)
        payload, text = (NO_DATA, "{}") if data is None else encode(wf, data)
        if _ACTIVE.get() is not None:
            ordering.check_reentry((self._scope, wf, instance_id), f"send({ev!r})")
        store = self.store
        unguarded = self._unguarded
        deadline = 0.0
        races = 0
        #: The version at which this send fired the instance's due timers.
        settled = -1
        # A kept copy of the instance may decide a transition that needs no
        # guard: its write checks the version (Store.load_optimistic). What
        # answers from the record alone (a replay, a refusal, a guard) reads
        # the store.
        fresh = key is not None
        while True:
            inst = store.load(wf, instance_id) if fresh else store.load_optimistic(wf, instance_id)
            if inst is None:
                raise UnknownInstance(wf, instance_id)
            if key is not None:
                prior = store.find_key(wf, instance_id, key)
                if prior is not None:
                    if prior.event != ev or not same_data(prior.data, text):
                        raise IdempotencyConflict(wf, instance_id, key)
                    return self._replayed(inst, prior, deadline)
            if inst.compensating is not None or inst.dead or inst.pending:
                deadline = deadline or time.monotonic() + self.options.wait
                self._before_send(inst, deadline)
                continue  # the owed work ran: read again before deciding
            seq = inst.version + 1
            source = inst.state
            at = self._clock()
            if inst.next_due is not None and inst.version != settled:
                now = epoch_ms(at)
                if inst.next_due <= now:
                    # The clock has left the state, or may have: its due timers first.
                    deadline = deadline or time.monotonic() + self.options.wait
                    with self._turn((self._scope, wf, instance_id), deadline):
                        settled = self._firing.fire(instance_id, now, deadline, TimerReport())
                    continue
            decided = unguarded.get((source, ev))  # the common case, in one lookup
            if decided is None:
                if not fresh:
                    decided = self._unguarded_choice(source, ev)
                    if decided is None:
                        fresh = True
                        continue
                else:
                    decided = self._decide(instance_id, source, ev, seq, payload)
            target, plan = decided
            t = build_transition(seq, _EVENT, source, target, ev, key, payload, at)
            timers = self._engine.arm(instance_id, t) if self._timed else ()
            try:
                if not plan:
                    if timers:
                        store.append(wf, instance_id, t, (), compensating=None, timers=timers)
                    else:
                        store.append(wf, instance_id, t, (), compensating=None)
                    return t
                deadline = deadline or time.monotonic() + self.options.wait
                with self._turn((self._scope, wf, instance_id), deadline):
                    work = self._engine.work(instance_id, t, self._runner.new_lease(), plan)
                    store.append(wf, instance_id, t, work, compensating=None, timers=timers)
                    self._runner.run(t, work, fresh=True)
                return t
            except VersionConflict:
                races += 1
                if races >= MAX_RACES:
                    raise

    def send_many(
        self, items: Iterable[Send[E] | tuple[Any, ...]]
    ) -> list[Transition | WorkflowError]:
        """Deliver many events (to one instance or many) with the meaning of the
        same :meth:`send` calls made one after another, in as few store
        transactions (disk flushes) as that meaning allows; see
        :mod:`wfdsl.runtime.batch`.

        Each item is a :class:`~wfdsl.runtime.batch.Send` or a tuple
        ``(instance_id, event[, data[, key]])``. Sends to one instance apply in
        the order given, each seeing the state the one before it left (its
        guards too); a key repeated in the batch replays as it would one by
        one. Hook work runs after the transaction that recorded it, and an
        instance's next send waits for it.

        :returns: one result per item, in order: the :class:`Transition`
            ``send`` would have returned, or the :class:`WorkflowError` it
            would have raised (``InvalidInput``, ``UnknownInstance``,
            ``IllegalTransition``, ``GuardRejected``, ``GuardFailed``,
            ``IdempotencyConflict``, ``UnknownState``, ``HookFailed``,
            ``WorkInProgress``, ``ReentrantCall``, ``StoreError``, ...). One
            item's error never stops the others.
        """
        from wfdsl.runtime.batch import send_many

        return send_many(self, items)

    def state(self, instance_id: str) -> S:
        """The instance's current state as the spec's state type: a ``State``
        member for a generated ``SPEC``, the name (``str``) for a loaded spec.

        :raises UnknownInstance: no such instance in this workflow.
        :raises UnknownState: typed, and the spec does not declare the state
            (a loaded spec's manager returns the stored name as it is).
        """
        inst = self._load(instance_id)
        spec = self.spec
        if spec.state_type is str:
            return cast(S, inst.state)
        try:
            return spec.as_state(inst.state)
        except KeyError:
            raise self._engine.unknown_state(instance_id, inst.state) from None

    def instance(self, instance_id: str) -> InstanceRecord:
        """The instance's stored record: state, version, flags, pending work count.

        :raises UnknownInstance: no such instance in this workflow.
        """
        return self._load(instance_id)

    def history(self, instance_id: str) -> list[Transition]:
        """Every transition of the instance, in ``seq`` order. Its states and
        events are the names as stored (``str``), for a typed spec too, so that
        the states a changed spec no longer declares still read; a ``State``
        member equals its name, and ``State(t.target)`` converts.

        :raises UnknownInstance: no such instance in this workflow.
        """
        hist = self.store.history(self.workflow, instance_id)
        if not hist:
            raise UnknownInstance(self.workflow, instance_id)
        return hist

    def compensate(self, instance_id: str, to_state: S | str) -> list[Transition]:
        """Walk back along the path taken to ``to_state``, running the compensators
        of every state entered after it, newest first. Each step is recorded as a
        ``compensate`` transition, carrying the data of the transition it undoes,
        before its compensators run, so a crash or a failing compensator leaves
        the walk where it stopped; call again to go on. Work the instance owes
        runs first (nothing is undone before its effect is made).
        Returns the steps taken by this call (empty when already there).

        :raises InvalidInput: ``to_state`` is not a state of the workflow.
        :raises UnknownInstance: no such instance in this workflow.
        :raises UnknownState: a state on the way back is not in the spec.
        :raises IllegalTransition: ``to_state`` is not on the instance's path.
        :raises CompensationInProgress: a walk to another state has not finished.
        :raises WorkDead: the instance has dead work; see :meth:`retry`.
        :raises WorkInProgress: another worker still ran the instance's hooks
            after ``wait`` seconds; nothing was undone.
        :raises ReentrantCall: called from inside one of the instance's own hooks.
        :raises SpecChanged: the instance owes work written under another
            version of the spec; nothing was undone (see :meth:`retry`).
        :raises HookFailed: a compensator raised; the walk stops there.
        """
        target = str(to_state)
        if not self.spec.has_state(target):
            raise InvalidInput(self.workflow, f"the workflow declares no state {target!r}")
        ident = (self._scope, self.workflow, instance_id)
        ordering.check_reentry(ident, f"compensate({target!r})")
        deadline = time.monotonic() + self.options.wait
        with self._turn(ident, deadline):
            return self._compensate(instance_id, target, deadline)

    def retry(self, instance_id: str) -> int:
        """Re-drive the instance's dead work (and any other work it owes) now.
        Returns how many dead items were revived. The explicit way, too, to run
        work the instance owes under another version of the spec, which
        ``send`` and :meth:`resume` leave (``SpecChanged``, ``spec_changed``).

        :raises UnknownInstance: no such instance in this workflow.
        :raises UnknownState: the instance is in a state the spec does not declare.
        :raises HookFailed: the work failed again.
        :raises WorkInProgress: another worker still ran the instance's hooks
            after ``wait`` seconds.
        :raises ReentrantCall: called from inside one of the instance's own hooks.
        """
        inst = self._load(instance_id)
        self._engine.check_state(instance_id, inst.state)
        ident = (self._scope, self.workflow, instance_id)
        ordering.check_reentry(ident, "retry")
        revived = self.store.revive(self.workflow, instance_id)
        deadline = time.monotonic() + self.options.wait
        with self._turn(ident, deadline):
            # The explicit way to run work an instance owes under another
            # version of the spec (send and resume leave it: SpecChanged).
            self._runner.drain(instance_id, deadline, other_spec=True)
        return revived

    def resume(self) -> ResumeReport:
        """Finish what crashes, failures and dead workers left undone for this
        workflow: run all owed hook work that is free (a dead worker's at once),
        wait up to ``wait`` seconds in all for work live workers are running, and
        carry interrupted compensations on to their target. Instances started
        under a different spec (their fingerprint differs) are reported in
        ``spec_changed`` and left alone (:meth:`retry` runs their work); an
        instance whose work fails is tried once per call. Each instance's work
        is claimed only once this call holds its turn. ``report.ok`` is true
        only when nothing is owed.
        """
        return self._resume(self.options.wait)

    def _resume(self, wait: float, skip: frozenset[str] = frozenset()) -> ResumeReport:
        """:meth:`resume`, waiting up to ``wait`` seconds in all for live workers,
        leaving the instances in ``skip`` alone (reported ``pending``)."""
        return recovery.resume(
            self.store,
            self._runner,
            self.fingerprint,
            lambda iid: (self._scope, self.workflow, iid),
            self._compensate_in_turn,
            wait,
            skip,
        )

    @staticmethod
    def path(history: Sequence[Transition]) -> list[str]:
        """The states an instance is in, oldest first, after its compensations:
        ``start``, ``event`` and ``timer`` transitions push their target,
        ``compensate`` pops."""
        return [t.target for t in Engine.entries(history)]

    # -- timers ------------------------------------------------------------------

    def fire_due(self, now: datetime | None = None, *, limit: int = 100) -> TimerReport:
        """Fire this workflow's timers due at ``now`` (the manager's clock by
        default; SPEC §7.2), for up to ``limit`` due timers claimed at once.

        Due timers are claimed like hook work, so that workers calling this at
        the same time take different instances (``SKIP LOCKED`` on PostgreSQL),
        and each instance's are tried in due order, then written order: a
        timer whose guard is false is spent, the first whose guard holds fires
        as a ``timer`` transition whose hooks run here. Firing is exactly-once
        whoever else tries (see :mod:`wfdsl.runtime.timers`). An instance's
        hook work runs first; work another worker is running is not waited for
        (the instance is reported ``in_progress`` and tried on the next call).
        Call it again while ``report.fired`` is as long as ``limit``: more may
        be due. Never raises for one instance's trouble: the report tells.

        :raises StoreError: the store failed.
        """
        return self._fire_due(now, limit)

    def _fire_due(
        self, now: datetime | None, limit: int, stop: Callable[[], bool] | None = None
    ) -> TimerReport:
        """:meth:`fire_due`, stopping between instances once ``stop()`` is true
        (the claims on the rest are released)."""
        due_by = epoch_ms(self._clock() if now is None else now)
        report = TimerReport()
        claimed = self._firing.claim(due_by, limit)
        by_instance: dict[str, list[Timer]] = {}
        for t in claimed:
            by_instance.setdefault(t.instance_id, []).append(t)
        leftover: list[Timer] = []  # free again at once
        stuck: list[Timer] = []  # left to others (or a later look) for a while
        try:
            # Every instance that a decision from one read can settle is fired
            # in one store transaction; the rest one by one, below.
            from wfdsl.runtime.batch import fire_claimed

            settled, slow = fire_claimed(self, by_instance, due_by, report, stop)
            again = set(slow)
            for iid, held in by_instance.items():
                if iid in settled:
                    fate, gone = settled[iid]
                    if fate != "fired":
                        kept = [t for t in held if t.ident not in gone]
                        (stuck if fate == "left" else leftover).extend(kept)
                    elif iid in again:
                        self._fire_claimed(iid, due_by, report)  # what came due after it
                    continue
                if stop is not None and stop():
                    leftover.extend(held)
                    continue
                fired, spent, left = len(report.fired), len(report.spent), _left(report)
                self._fire_claimed(iid, due_by, report)
                if len(report.fired) == fired:
                    # Nothing fired: what it did not spend is still armed, and ours.
                    gone = {t.ident for t in report.spent[spent:]}
                    rest = [t for t in held if t.ident not in gone]
                    (stuck if _left(report) > left else leftover).extend(rest)
        except BaseException:
            leftover, stuck = claimed, []
            raise
        finally:
            if leftover:
                self.store.release_timers(leftover)
            if stuck:
                # Due timers this worker cannot fire would otherwise head the
                # due order at every claim, ahead of all the others.
                self.store.release_timers(stuck, until=time.time() + LEAVE_FOR)
        return report

    def _fire_claimed(self, instance_id: str, due_by: int, report: TimerReport) -> None:
        """Fire one instance's due timers for :meth:`fire_due`, its trouble told
        in ``report``. Another thread of this process at the instance, or a live
        worker running its hooks, is not waited for."""
        try:
            with ordering.turn(
                (self._scope, self.workflow, instance_id), time.monotonic(), self.options.lease
            ):
                self._firing.fire(instance_id, due_by, time.monotonic(), report, background=True)
        except (ordering.Busy, LostWork, WorkInProgress):
            held = [
                w
                for w in self.store.pending_work(self.workflow, instance_id)
                if w.status is WorkStatus.PENDING
            ]
            if held:  # the first is in hand; the rest wait for it
                report.in_progress.append((instance_id, held[0].hook, held[0].lease_owner or "?"))
            else:  # another thread of this process is firing them
                report.in_progress.append((instance_id, "", self.worker_id))
        except HookFailed as exc:
            report.failed.append((exc.instance_id, exc.hook, exc.error))
        except WorkDead:
            report.dead.append(instance_id)
        except CompensationInProgress:
            report.compensating.append(instance_id)
        except UnknownState as exc:
            report.unknown_state.append((instance_id, exc.state))
        except Exception as exc:  # an instance's own fault: reported, the others go on
            report.errors.append((instance_id, f"{type(exc).__name__}: {exc}"))

    def next_due(self) -> datetime | None:
        """When this workflow's soonest armed timer is due (an aware UTC
        datetime; it may be past, if no worker has fired it yet), or ``None``
        when none is armed. One index lookup, however many are armed.

        :raises StoreError: the store failed.
        """
        due = self.store.next_due(self.workflow)
        return None if due is None else from_epoch_ms(due)

    def timers(self, instance_id: str) -> list[Timer]:
        """The instance's armed timers, soonest first (:class:`Timer`: state,
        target, duration, due time in UTC).

        :raises UnknownInstance: no such instance in this workflow.
        """
        found = self.store.timers(self.workflow, instance_id=instance_id)
        if not found:
            self._load(instance_id)
        return found

    def run_worker(
        self,
        stop: Stop | None = None,
        *,
        poll: float = 5.0,
        until_idle: bool = False,
        limit: int = 100,
    ) -> WorkerStats:
        """Run this workflow's owed hook work and due timers until ``stop``; see
        :func:`wfdsl.runtime.worker.run_worker` (which runs several workflows
        in one loop, as ``wfdsl worker`` does)."""
        from wfdsl.runtime.worker import run_worker

        return run_worker([self], stop, poll=poll, until_idle=until_idle, limit=limit)

    # -- internals ---------------------------------------------------------------

    def _load(self, instance_id: str) -> InstanceRecord:
        inst = self.store.load(self.workflow, instance_id)
        if inst is None:
            raise UnknownInstance(self.workflow, instance_id)
        return inst

    def _now(self) -> datetime:
        return self._clock()

    @contextmanager
    def _turn(self, ident: ordering.Key, deadline: float) -> Iterator[None]:
        """The instance's turn (:func:`ordering.turn`), with a thread of this
        process that keeps it past ``deadline``, or work taken from under this
        worker, told as :class:`WorkInProgress`."""
        try:
            with ordering.turn(ident, deadline, self.options.lease):
                yield
        except (ordering.Busy, LostWork):
            held = [
                w
                for w in self.store.pending_work(self.workflow, ident[2])
                if w.status is WorkStatus.PENDING
            ]
            raise WorkInProgress(
                self.workflow,
                ident[2],
                [w.hook for w in held],
                [w.lease_owner or "?" for w in held],
                waited=self.options.wait,
            ) from None

    def _drain(self, instance_id: str, deadline: float) -> None:
        with self._turn((self._scope, self.workflow, instance_id), deadline):
            self._runner.drain(instance_id, deadline)

    def _before_send(self, inst: InstanceRecord, deadline: float) -> None:
        """What must happen before an event can apply to ``inst``: raise if it
        cannot, or run the work it owes."""
        iid = inst.instance_id
        self._engine.check_state(iid, inst.state)
        if inst.compensating is not None:
            raise CompensationInProgress(self.workflow, iid, inst.compensating)
        if inst.dead:
            raise self._dead_error(iid)
        self._drain(iid, deadline)

    def _replayed(self, inst: InstanceRecord, prior: Transition, deadline: float) -> Transition:
        """``prior``, returned again for a replayed key, once the instance owes
        nothing (its work runs first, as for any send)."""
        self._engine.check_state(inst.instance_id, inst.state)
        if inst.pending or inst.dead:
            self._drain(inst.instance_id, deadline or time.monotonic() + self.options.wait)
        return prior

    def _compensate(self, instance_id: str, target: str, deadline: float) -> list[Transition]:
        return compensation.compensate(
            self._engine, self.store, self._runner, self._now, instance_id, target, deadline
        )

    def _compensate_in_turn(
        self, instance_id: str, target: str, deadline: float
    ) -> list[Transition]:
        with self._turn((self._scope, self.workflow, instance_id), deadline):
            return self._compensate(instance_id, target, deadline)

    def _dead_error(self, instance_id: str) -> WorkDead:
        hooks = [
            w.hook
            for w in self.store.pending_work(self.workflow, instance_id)
            if w.status is WorkStatus.DEAD
        ]
        return WorkDead(self.workflow, instance_id, hooks)

    def _decide(
        self, instance_id: str, state: str, event: str, seq: int, data: Mapping[str, Any]
    ) -> tuple[str, Plan]:
        """The target and work of the transition that fires; remembered when no
        guard had a say (:meth:`_unguarded_choice`)."""
        decided = self._unguarded_choice(state, event)
        if decided is not None:
            return decided
        target = self._choose(instance_id, state, event, seq, data).target.value
        return target, self._engine.plan(state, target)

    def _unguarded_choice(self, state: str, event: str) -> tuple[str, Plan] | None:
        """What :meth:`_decide` decides when the spec alone decides it (a
        declared state whose first transition on ``event`` has no guard),
        remembered; else ``None``, raising nothing: the caller reads the
        instance again before it refuses or asks a guard."""
        engine = self._engine
        if state not in engine.states:
            return None
        edges = engine.edges("", state, event)
        if not edges or edges[0].guard is not None:
            return None
        target = edges[0].target.value
        decided = self._unguarded[(state, event)] = (target, engine.plan(state, target))
        return decided

    def _choose(
        self, instance_id: str, state: str, event: str, seq: int, data: Mapping[str, Any]
    ) -> Edge:
        """The transition that fires, its guards run as the instance's own (a
        guard that calls its own instance is refused, not waited for)."""
        wf = self.workflow
        calls = self._runner.calls

        def holds(edge: Edge) -> bool:
            assert edge.guard is not None
            return guard_holds(
                calls,
                edge.guard,
                workflow=wf,
                instance_id=instance_id,
                event=event,
                source=state,
                target=edge.target.value,
                data=data,
                seq=seq,
            )

        with ordering.marked((self._scope, wf, instance_id)):
            return self._engine.choose(instance_id, state, event, holds)
