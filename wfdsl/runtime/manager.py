"""The durable runtime: drive workflow instances against a :class:`Store`.

Every ``send`` reads the instance, evaluates guards outside any write lock,
then writes the transition and the hook work it owes in one store transaction
guarded by the instance's version (retried from the read if another writer got
there first). Hooks run after the write and are marked done after they return,
so a crash leaves either no transition or one whose hooks ``resume()`` runs:
hooks are delivered at least once, with a stable ``Context.effect_key``.
"""

from __future__ import annotations

import functools
import json
import os
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast, overload

from wfdsl.errors import (
    CompensationInProgress,
    GuardRejected,
    HookFailed,
    IdempotencyConflict,
    IllegalTransition,
    InvalidInput,
    UnknownInstance,
    VersionConflict,
    WorkDead,
    WorkInProgress,
)
from wfdsl.ir import Edge, HookKind, Spec, evaluate_guard, format_guard
from wfdsl.runtime.binding import bind
from wfdsl.runtime.context import Context
from wfdsl.runtime.records import (
    InstanceRecord,
    ResumeReport,
    Transition,
    TransitionKind,
    WorkItem,
    WorkStatus,
    dump_data,
)

if TYPE_CHECKING:
    from wfdsl.stores.base import Store

__all__ = ["Manager", "ResumeReport"]

S = TypeVar("S", bound=str)
E = TypeVar("E", bound=str)

#: How often a write that lost an optimistic race is retried before giving up.
MAX_RACES = 200

_EVENT = TransitionKind.EVENT

#: The data of a transition sent without data: shared, read-only.
_NO_DATA: Mapping[str, Any] = MappingProxyType({})


#: The default clock: aware UTC datetimes.
_utcnow: Callable[[], datetime] = functools.partial(datetime.now, UTC)


def _default_worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Manager(Generic[S, E]):
    """Runs instances of one workflow spec on one store.

    ``Manager(spec, store, hooks=...)`` for a loaded spec (states are ``str``);
    the generated module's helper passes ``state_type=State, event_type=Event``
    so that ``state()`` returns ``State`` members and ``send`` takes ``Event``.

    Keyword options beyond the typed surface:

    * ``worker_id``: this worker's name for work leases. The default is unique
      per process; give a stable one to a worker that restarts after a crash so
      that its ``resume()`` takes back its own leases at once instead of waiting
      for them to expire.
    * ``lease``: seconds a worker holds hook work it is running (default 60).
    * ``max_attempts``: failures after which work is marked dead (default 5).
    """

    @overload
    def __init__(
        self: Manager[str, str],
        spec: Spec,
        store: Store,
        *,
        hooks: object | Mapping[str, Callable[..., Any]] | None = None,
        clock: Callable[[], datetime] | None = None,
        worker_id: str | None = None,
        lease: float = 60.0,
        max_attempts: int = 5,
    ) -> None: ...

    @overload
    def __init__(
        self,
        spec: Spec,
        store: Store,
        *,
        hooks: object | Mapping[str, Callable[..., Any]] | None = None,
        state_type: type[S],
        event_type: type[E],
        clock: Callable[[], datetime] | None = None,
        worker_id: str | None = None,
        lease: float = 60.0,
        max_attempts: int = 5,
    ) -> None: ...

    def __init__(
        self,
        spec: Spec,
        store: Store,
        *,
        hooks: object | Mapping[str, Callable[..., Any]] | None = None,
        state_type: type[Any] | None = None,
        event_type: type[Any] | None = None,
        clock: Callable[[], datetime] | None = None,
        worker_id: str | None = None,
        lease: float = 60.0,
        max_attempts: int = 5,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if lease <= 0:
            raise ValueError("lease must be positive")
        self.spec = spec
        self.store = store
        self.workflow = spec.name
        self.fingerprint = spec.fingerprint()
        self.worker_id = worker_id or _default_worker()
        self.lease = lease
        self.max_attempts = max_attempts
        self._calls = bind(spec, hooks)
        self._state_type = state_type
        self._event_type = event_type
        self._clock: Callable[[], datetime] = clock or _utcnow
        # Hook work of each transition shape, computed once: (kind, hook) pairs.
        self._work_plan: dict[tuple[str | None, str], tuple[tuple[HookKind, str], ...]] = {}
        self._compensators = {s.name: s.compensate for s in spec.states}
        self._events = frozenset(e.name for e in spec.events)
        self._candidates: dict[tuple[str, str], tuple[Edge, ...]] = {}
        self._finals = frozenset(s.name for s in spec.states if s.final)
        # Work some thread of this manager is running now, with how many threads
        # hold it: its leases name this worker, so without this another thread
        # would run it at the same time.
        self._running: Counter[tuple[str, str, int, int]] = Counter()
        self._running_lock = threading.Lock()

    # -- public surface --------------------------------------------------------

    def set_clock(self, clock: Callable[[], datetime]) -> None:
        """Use ``clock`` for the ``at`` of every transition recorded from now on."""
        self._clock = clock

    def start(self, instance_id: str, *, data: Mapping[str, Any] | None = None) -> Transition:
        """Create the instance in the initial state and run its ``enter`` hooks.

        :raises InvalidInput: empty id or data that is not JSON (nothing written).
        :raises AlreadyStarted: the instance exists.
        :raises HookFailed: an ``enter`` hook raised; the instance exists and the
            work stays pending.
        """
        self._check_id(instance_id)
        payload, _ = self._encode(data)
        initial = self.spec.initial.name
        at = self._clock()
        first = Transition(1, TransitionKind.START, None, initial, None, None, payload, at)
        record = InstanceRecord(
            self.workflow, instance_id, initial, 1, self.fingerprint, created_at=at, updated_at=at
        )
        work = self._work_for(instance_id, 1, None, initial)
        held = self._hold_new(work)
        try:
            self.store.create(record, first, work)
            if work:
                self._run(first, work)
        finally:
            self._release(held)
        return first

    def send(
        self,
        instance_id: str,
        event: E,
        *,
        key: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> Transition:
        """Deliver ``event``; return the transition applied (or, when ``key`` was
        used before with the same event and data, the original one).

        :raises InvalidInput: empty id, undeclared event, empty or non-string key,
            non-JSON data (nothing written).
        :raises UnknownInstance: no such instance in this workflow.
        :raises IdempotencyConflict: ``key`` was used with another event or data.
        :raises IllegalTransition: the state does not accept the event (or is final).
        :raises GuardRejected: transitions matched but every guard was false.
        :raises CompensationInProgress: a compensation has not finished.
        :raises WorkDead: the instance has dead work; see :meth:`retry`.
        :raises HookFailed: pending work from before failed again (nothing new is
            applied), or a hook of this transition failed (the transition stands).
        """
        if not instance_id or type(instance_id) is not str:
            self._check_id(instance_id)
        ev = event if type(event) is str else str(event)
        if ev not in self._events:
            raise InvalidInput(self.workflow, f"the workflow declares no event {ev!r}")
        if key is not None and (type(key) is not str or not key):
            raise InvalidInput(self.workflow, "an idempotency key must be a non-empty string")
        payload, text = (_NO_DATA, "{}") if data is None else self._encode(data)
        store = self.store
        wf = self.workflow
        races = 0
        while True:
            inst = store.load(wf, instance_id)
            if inst is None:
                raise UnknownInstance(wf, instance_id)
            if key is not None:
                prior = store.find_key(wf, instance_id, key)
                if prior is not None:
                    if prior.event == ev and self._same_data(prior.data, text):
                        return prior
                    raise IdempotencyConflict(wf, instance_id, key)
            if inst.compensating is not None:
                raise CompensationInProgress(wf, instance_id, inst.compensating)
            if inst.dead:
                raise self._dead_error(instance_id)
            if inst.pending and self._retry_pending(instance_id):
                continue  # hooks ran: read again before deciding
            seq = inst.version + 1
            source = inst.state
            candidates = self._candidates.get((source, ev))
            if candidates and candidates[0].guard is None:
                target = candidates[0].target.value  # the common case, without a call
            else:
                target = self._choose(inst, ev, seq, payload).target.value
            t = Transition(seq, _EVENT, source, target, ev, key, payload, self._clock())
            plan = self._work_plan.get((source, target))
            work = self._work_for(instance_id, seq, source, target) if plan != () else []
            if not work:
                try:
                    store.append(wf, instance_id, t, work, compensating=None)
                except VersionConflict:
                    races += 1
                    if races >= MAX_RACES:
                        raise
                    continue
                return t
            held = self._hold_new(work)
            try:
                try:
                    store.append(wf, instance_id, t, work, compensating=None)
                except VersionConflict:
                    races += 1
                    if races >= MAX_RACES:
                        raise
                    continue
                self._run(t, work)
            finally:
                self._release(held)
            return t

    def state(self, instance_id: str) -> S:
        """The instance's current state (a ``State`` member when typed).

        :raises UnknownInstance: no such instance in this workflow.
        """
        inst = self._load(instance_id)
        if self._state_type is not None:
            return cast(S, self._state_type(inst.state))
        return cast(S, inst.state)

    def instance(self, instance_id: str) -> InstanceRecord:
        """The instance's stored record: state, version, flags, pending work count.

        :raises UnknownInstance: no such instance in this workflow.
        """
        return self._load(instance_id)

    def history(self, instance_id: str) -> list[Transition]:
        """Every transition of the instance, in ``seq`` order.

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
        the walk where it stopped; call again to go on.
        Returns the steps taken by this call (empty when already there).

        :raises InvalidInput: ``to_state`` is not a state of the workflow.
        :raises UnknownInstance: no such instance in this workflow.
        :raises IllegalTransition: ``to_state`` is not on the instance's path.
        :raises CompensationInProgress: a walk to another state has not finished.
        :raises WorkDead: the instance has dead work; see :meth:`retry`.
        :raises WorkInProgress: hook work of the instance is leased to another
            worker; nothing is undone before it has run.
        :raises HookFailed: a compensator raised; the walk stops there.
        """
        target = str(to_state)
        if not self.spec.has_state(target):
            raise InvalidInput(self.workflow, f"the workflow declares no state {target!r}")
        steps: list[Transition] = []
        wf = self.workflow
        for _ in range(MAX_RACES):
            inst = self._load(instance_id)
            if inst.compensating is not None and inst.compensating != target:
                raise CompensationInProgress(wf, instance_id, inst.compensating)
            if inst.dead:
                raise self._dead_error(instance_id)
            if inst.pending:
                if self._retry_pending(instance_id):
                    continue
                # What is left is leased to another worker (or thread): walking
                # back now would undo a state before its hooks, or an earlier
                # step's compensators, have run.
                leased = [
                    w.hook
                    for w in self.store.pending_work(wf, instance_id)
                    if w.status is WorkStatus.PENDING
                ]
                if leased:
                    raise WorkInProgress(wf, instance_id, leased)
            entries = self._entries(self.store.history(wf, instance_id))
            path = [e.target for e in entries]
            if path[-1] == target:
                return steps
            if target not in path[:-1]:
                raise IllegalTransition(
                    wf,
                    instance_id,
                    inst.state,
                    "compensate",
                    f"state {target!r} is not on the path taken ({' -> '.join(path)})",
                )
            version = inst.version
            try:
                while path[-1] != target:
                    source, back_to = path[-1], path[-2]
                    version += 1
                    # The step carries the data of the transition it undoes, so a
                    # compensator knows e.g. the amount to refund.
                    t = Transition(
                        version,
                        TransitionKind.COMPENSATE,
                        source,
                        back_to,
                        None,
                        None,
                        entries[-1].data,
                        self._clock(),
                    )
                    work = [
                        WorkItem(
                            wf,
                            instance_id,
                            version,
                            i,
                            hook,
                            HookKind.COMPENSATE,
                            lease_owner=self.worker_id,
                            lease_until=time.time() + self.lease,
                        )
                        for i, hook in enumerate(self._compensators[source])
                    ]
                    still = target if back_to != target else None
                    held = self._hold_new(work)
                    try:
                        self.store.append(wf, instance_id, t, work, compensating=still)
                        steps.append(t)
                        path.pop()
                        entries.pop()
                        if work:
                            self._run(t, work)
                    finally:
                        self._release(held)
                return steps
            except VersionConflict:
                continue
        raise VersionConflict(wf, instance_id, -1)

    def retry(self, instance_id: str) -> int:
        """Re-drive the instance's dead work (and any other pending work) now.
        Returns how many dead items were revived.

        :raises UnknownInstance: no such instance in this workflow.
        :raises HookFailed: the work failed again.
        """
        self._load(instance_id)
        revived = self.store.revive(self.workflow, instance_id)
        self._retry_pending(instance_id)
        return revived

    def resume(self) -> ResumeReport:
        """Finish what crashes and failures left undone for this workflow: run all
        pending hook work this worker can claim, and carry interrupted compensations
        on to their target. Instances with work left that were started under a
        different spec (their fingerprint differs) are reported in
        ``spec_changed`` and left alone.
        """
        store = self.store
        store.flush()
        report = ResumeReport()
        wf = self.workflow
        changed = set(store.other_fingerprints(wf, self.fingerprint))
        if changed:
            # Only instances resume would act on: a finished instance of an
            # older spec needs no attention and must not fail every resume.
            unfinished: set[str] = set()
            for inst in store.instances(wf, pending_only=True):
                unfinished.add(inst.instance_id)
                if inst.instance_id not in changed:
                    self._resume_one(inst.instance_id, report)
            unfinished.update(i.instance_id for i in store.instances(wf, compensating_only=True))
            report.spec_changed.extend(sorted(changed & unfinished))
        else:
            self._resume_all(report)
        # An instance whose work just failed is not driven again in this call:
        # that would spend another attempt and report the failure twice.
        failed = {f[0] for f in report.failed}
        for inst in store.instances(wf, compensating_only=True):
            iid = inst.instance_id
            if iid in changed or iid in failed or inst.compensating is None:
                continue
            try:
                self.compensate(iid, inst.compensating)
                report.compensated.append(iid)
            except HookFailed as exc:
                report.failed.append((exc.instance_id, exc.hook, exc.error))
                if exc.attempt >= self.max_attempts:
                    report.dead.append(exc.instance_id)
            except WorkDead:
                report.dead.append(iid)
            except WorkInProgress:
                pass  # its work is leased to another worker; a later resume goes on
        return report

    @staticmethod
    def path(history: Sequence[Transition]) -> list[str]:
        """The states an instance is in, oldest first, after its compensations:
        ``start`` and ``event`` transitions push their target, ``compensate`` pops."""
        return [t.target for t in Manager._entries(history)]

    @staticmethod
    def _entries(history: Sequence[Transition]) -> list[Transition]:
        """The transitions that entered each state of :meth:`path`."""
        stack: list[Transition] = []
        for t in history:
            if t.kind is TransitionKind.COMPENSATE:
                stack.pop()
            else:
                stack.append(t)
        return stack

    # -- internals ---------------------------------------------------------------

    def _check_id(self, instance_id: str) -> None:
        if not isinstance(instance_id, str) or not instance_id:
            raise InvalidInput(self.workflow, "an instance id must be a non-empty string")

    def _encode(self, data: Mapping[str, Any] | None) -> tuple[Mapping[str, Any], str]:
        """A private JSON copy of ``data`` and its canonical text."""
        if not data:
            if data is not None and not isinstance(data, Mapping):
                raise InvalidInput(self.workflow, "data must be a mapping of JSON values")
            return _NO_DATA, "{}"
        if not isinstance(data, Mapping):
            raise InvalidInput(self.workflow, "data must be a mapping of JSON values")
        try:
            text = dump_data(data)
        except (TypeError, ValueError) as exc:
            raise InvalidInput(self.workflow, f"data is not JSON: {exc}") from None
        copy = json.loads(text)
        if any(not isinstance(k, str) for k in data):
            raise InvalidInput(self.workflow, "data keys must be strings")
        return copy, text

    @staticmethod
    def _same_data(data: Mapping[str, Any], text: str) -> bool:
        return dump_data(data) == text

    def _load(self, instance_id: str) -> InstanceRecord:
        inst = self.store.load(self.workflow, instance_id)
        if inst is None:
            raise UnknownInstance(self.workflow, instance_id)
        return inst

    def _dead_error(self, instance_id: str) -> WorkDead:
        hooks = [
            w.hook
            for w in self.store.pending_work(self.workflow, instance_id)
            if w.status is WorkStatus.DEAD
        ]
        return WorkDead(self.workflow, instance_id, hooks)

    def _choose(self, inst: InstanceRecord, event: str, seq: int, data: Mapping[str, Any]) -> Edge:
        state = inst.state
        candidates = self._candidates.get((state, event))
        if candidates is None:
            candidates = self._candidates[(state, event)] = self.spec.candidates(state, event)
        if candidates and candidates[0].guard is None:
            return candidates[0]
        if not candidates:
            detail = f"state {state!r} is final" if state in self._finals else ""
            raise IllegalTransition(self.workflow, inst.instance_id, state, event, detail)
        calls = self._calls
        for edge in candidates:
            guard = edge.guard
            if guard is None:
                return edge
            target = edge.target.value

            def call(name: str, target: str = target) -> bool:
                ctx = Context(
                    self.workflow,
                    inst.instance_id,
                    event,
                    state,
                    target,
                    data,
                    seq,
                    1,
                    f"{self.workflow}/{inst.instance_id}/{seq}/{name}",
                    name,
                )
                return bool(calls[name](ctx))

            if evaluate_guard(guard, call):
                return edge
        raise GuardRejected(
            self.workflow,
            inst.instance_id,
            state,
            event,
            [format_guard(e.guard) for e in candidates if e.guard is not None],
        )

    def _plan(self, source: str | None, target: str) -> tuple[tuple[HookKind, str], ...]:
        plan = self._work_plan.get((source, target))
        if plan is None:
            steps: list[tuple[HookKind, str]] = []
            if source is not None:
                steps.extend((HookKind.EXIT, h) for h in self.spec.state(source).exit)
            steps.extend((HookKind.ENTER, h) for h in self.spec.state(target).enter)
            plan = self._work_plan[(source, target)] = tuple(steps)
        return plan

    def _work_for(
        self, instance_id: str, seq: int, source: str | None, target: str
    ) -> list[WorkItem]:
        plan = self._plan(source, target)
        if not plan:
            return []
        until = time.time() + self.lease
        wf = self.workflow
        owner = self.worker_id
        return [
            WorkItem(wf, instance_id, seq, i, hook, kind, lease_owner=owner, lease_until=until)
            for i, (kind, hook) in enumerate(plan)
        ]

    def _effect_key(self, t: Transition, item: WorkItem) -> str:
        """``{workflow}/{id}/{seq}/{hook}``; a hook named twice in one transition's
        work (exit and enter of a self transition) gets ``#2`` on its second run."""
        key = f"{self.workflow}/{item.instance_id}/{t.seq}/{item.hook}"
        if item.idx:
            if item.kind is HookKind.COMPENSATE:
                names = self._compensators.get(t.source or "", ())
            else:
                names = tuple(h for _, h in self._plan(t.source, t.target))
            earlier = names[: item.idx].count(item.hook)
            if earlier:
                key += f"#{earlier + 1}"
        return key

    def _run(
        self, t: Transition, items: Sequence[WorkItem], ran: list[WorkItem] | None = None
    ) -> None:
        """Run ``items`` (all of transition ``t``) in order; stop at the first failure."""
        done: list[WorkItem] = []
        wf = self.workflow
        for item in items:
            effect = self._effect_key(t, item)
            attempt = item.attempts + 1
            ctx = Context(
                wf,
                item.instance_id,
                t.event,
                t.source,
                t.target,
                t.data,
                t.seq,
                attempt,
                effect,
                item.hook,
            )
            try:
                self._calls[item.hook](ctx)
            except Exception as exc:
                if done:
                    self.store.complete(done)
                    if ran is not None:
                        ran.extend(done)
                error = f"{type(exc).__name__}: {exc}"
                self.store.fail(item, error, dead=attempt >= self.max_attempts)
                raise HookFailed(wf, item.instance_id, t.seq, item.hook, attempt, error) from exc
            done.append(item)
        self.store.complete(done)
        if ran is not None:
            ran.extend(done)

    def _retry_pending(self, instance_id: str, ran: list[WorkItem] | None = None) -> bool:
        """Run the instance's pending work that this worker may claim, oldest first,
        adding what succeeded to ``ran``. Returns whether any ran.

        :raises HookFailed: on the first failure."""
        now = time.time()
        owner = self.worker_id
        running = self._running
        claimable = [
            w
            for w in self.store.pending_work(self.workflow, instance_id)
            if w.status is WorkStatus.PENDING
            and not running[w.ident]
            and (w.lease_owner in (None, owner) or (w.lease_until or 0.0) < now)
        ]
        if not claimable:
            return False
        # Hold before claiming: work claimed first could be finished by the
        # thread running it between the claim and the hold, and run again.
        with self._holding(claimable) as held:
            if not held:
                return False
            mine = {w.ident for w in held}
            items = [
                w
                for w in self.store.claim(
                    self.workflow, instance_id, owner=owner, now=now, until=now + self.lease
                )
                if w.ident in mine
            ]
            if not items:
                return False
            self._run_claimed(instance_id, items, ran)
        return True

    def _hold_new(self, work: Sequence[WorkItem]) -> list[tuple[str, str, int, int]]:
        """Mark the work of a transition this thread is about to write as running,
        before the write, so that no other thread claims it in between. All of it
        is held: a thread racing for the same ``seq`` may hold equal idents until
        its write fails, hence counts rather than a set. Pass the result to
        :meth:`_release`."""
        idents = [w.ident for w in work]
        if idents:
            running = self._running
            with self._running_lock:
                for ident in idents:
                    running[ident] += 1
        return idents

    def _release(self, idents: Sequence[tuple[str, str, int, int]]) -> None:
        if idents:
            running = self._running
            with self._running_lock:
                for ident in idents:
                    n = running[ident] - 1
                    if n > 0:
                        running[ident] = n
                    else:
                        del running[ident]

    @contextmanager
    def _holding(self, items: Sequence[WorkItem]) -> Iterator[list[WorkItem]]:
        """Mark as running, for the block, those of the claimed ``items`` that no
        other thread of this manager is running, and yield them: the caller runs
        only these."""
        running = self._running
        with self._running_lock:
            free = [w for w in items if not running[w.ident]]
            for w in free:
                running[w.ident] += 1
        try:
            yield free
        finally:
            self._release([w.ident for w in free])

    def _run_claimed(
        self, instance_id: str, items: Sequence[WorkItem], ran: list[WorkItem] | None
    ) -> None:
        """Run one instance's claimed work, transition by transition, in order."""
        by_seq = {t.seq: t for t in self.store.history(self.workflow, instance_id)}
        batch: list[WorkItem] = []
        for item in items:
            if batch and batch[0].seq != item.seq:
                self._run(by_seq[batch[0].seq], batch, ran)
                batch = []
            batch.append(item)
        if batch:
            self._run(by_seq[batch[0].seq], batch, ran)

    def _resume_all(self, report: ResumeReport, batch: int = 1000) -> None:
        """Claim pending work of the whole workflow a batch at a time (one store
        transaction per batch) and run it instance by instance."""
        failed: set[str] = set()
        limit = batch
        while True:
            now = time.time()
            # Work other threads were running when the claim read it may be
            # finished by the time it is held here: leave it to them.
            with self._running_lock:
                busy = set(self._running)
            items = self.store.claim(
                self.workflow,
                None,
                owner=self.worker_id,
                now=now,
                until=now + self.lease,
                limit=limit,
            )
            by_instance: dict[str, list[WorkItem]] = {}
            for item in items:
                if item.instance_id not in failed and item.ident not in busy:
                    by_instance.setdefault(item.instance_id, []).append(item)
            if not by_instance:
                if len(items) < limit:
                    return
                # A full batch of work of instances that failed in this call:
                # look past it rather than stop short of the rest.
                limit += batch
                continue
            for instance_id, work in by_instance.items():
                ran: list[WorkItem] = []
                try:
                    with self._holding(work) as free:
                        self._run_claimed(instance_id, free, ran)
                except HookFailed as exc:
                    failed.add(instance_id)
                    report.failed.append((exc.instance_id, exc.hook, exc.error))
                    if exc.attempt >= self.max_attempts:
                        report.dead.append(exc.instance_id)
                report.completed.extend((w.instance_id, w.hook) for w in ran)
            if len(items) < limit:
                return

    def _resume_one(self, instance_id: str, report: ResumeReport) -> None:
        ran: list[WorkItem] = []
        try:
            self._retry_pending(instance_id, ran)
        except HookFailed as exc:
            report.failed.append((exc.instance_id, exc.hook, exc.error))
            if exc.attempt >= self.max_attempts:
                report.dead.append(exc.instance_id)
        report.completed.extend((w.instance_id, w.hook) for w in ran)
