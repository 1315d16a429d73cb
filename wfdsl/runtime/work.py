"""The work runner: runs the hook work transitions owe, in order, and records
the outcome; claims owed work, taking over that of dead workers at once, and
waits (up to a deadline) for that of live ones.

The caller holds the instance's turn (:mod:`wfdsl.runtime.ordering`) around
every call, so no other thread of this process runs the same instance's work;
the store's leases keep other processes off it (:mod:`wfdsl.stores.base`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from wfdsl.errors import HookFailed, SpecChanged, UnknownHook, WorkDead, WorkInProgress
from wfdsl.runtime import ordering
from wfdsl.runtime.binding import Call, returned_coroutine
from wfdsl.runtime.context import Context
from wfdsl.runtime.engine import Engine, Lease
from wfdsl.stores import process
from wfdsl.stores.records import Transition, WorkItem, WorkStatus

if TYPE_CHECKING:
    from wfdsl.runtime.base import Options
    from wfdsl.stores.base import Store

__all__ = ["LostWork", "Runner"]

#: Polling a live worker's work: first pause and longest pause, in seconds.
FIRST_PAUSE = 0.005
LONGEST_PAUSE = 0.25


class LostWork(Exception):
    """Work this worker held was taken by another (its lease expired while a
    hook ran, or its PostgreSQL session was lost): it stops running it."""

    def __init__(self, items: Sequence[WorkItem]) -> None:
        super().__init__(items)
        self.items = tuple(items)


class Runner:
    """Runs one workflow's hook work on one store."""

    def __init__(
        self, engine: Engine, store: Store, calls: dict[str, Call], options: Options
    ) -> None:
        self.engine = engine
        self.store = store
        self.calls = calls
        self.workflow = engine.workflow
        self.lease = options.lease
        self.max_attempts = options.max_attempts
        self.wait = options.wait
        self._worker_id = options.worker_id

    @property
    def owner(self) -> str:
        """This worker's name (``host:pid`` unless ``worker_id`` was given)."""
        return self._worker_id or process.label()

    def new_lease(self) -> Lease:
        """The lease under which this worker writes new work it will run."""
        return Lease(self.owner, self.store.identity(), time.time() + self.lease)

    def claim(self, instance_id: str | None, limit: int = 1000) -> list[WorkItem]:
        """Lease the free work of one instance (or, with ``None``, of the whole
        workflow) to this worker for a full lease (see :meth:`Store.claim`)."""
        now = time.time()
        return self.store.claim(
            self.workflow,
            instance_id,
            owner=self.owner,
            proof=self.store.identity(),
            now=now,
            until=now + self.lease,
            limit=limit,
        )

    # -- running ---------------------------------------------------------------------

    def run(
        self,
        t: Transition,
        items: Sequence[WorkItem],
        ran: list[WorkItem] | None = None,
        *,
        fresh: bool = False,
    ) -> None:
        """Run ``items`` (all of transition ``t``, held by this worker) in order,
        marking each done as it returns; stop at the first failure, adding what
        succeeded to ``ran``.

        Every run of a hook counts as an attempt when it starts (SPEC §7: a
        hook that kills its worker still uses up its attempts): work that
        already started ``max_attempts`` times and never returned is dead, not
        run again. With ``fresh``, ``items`` were just written by this worker
        with the first one's attempt counted (:meth:`Engine.work`), which saves
        the hot path a store write.

        :raises HookFailed: a hook raised, or its worker died in it as many
            times as allowed; it is recorded (dead at the last attempt).
        :raises LostWork: another worker took the rest over (the lease ran out).
        :raises UnknownHook: the spec does not name a hook of the work.
        """
        calls = self.calls
        store = self.store
        wf = self.workflow
        effect_key = self.engine.effect_key
        items = list(items)
        if not items:
            return
        key = (store.scope, wf, items[0].instance_id)
        n = 0
        while n < len(items):
            item = items[n]
            if not self._still_held(key):
                raise LostWork(items[n:])
            if item.lease_proof != store.identity() or time.time() > (
                (item.lease_until or 0.0) - self.lease / 2
            ):
                items[n:] = self._renew(items[n:])
                item = items[n]
            fn = calls.get(item.hook)
            if fn is None:
                store.release(items[n:])
                raise UnknownHook(wf, item.instance_id, t.seq, item.hook, self.engine.label)
            if fresh and n == 0:
                attempt = item.attempts  # counted when the work was written
            else:
                if item.attempts >= self.max_attempts:
                    error = (
                        f"its worker stopped while running it (killed or crashed) "
                        f"{item.attempts} time{'' if item.attempts == 1 else 's'}"
                    )
                    store.fail(item, error, dead=True, begun=True)
                    raise HookFailed(wf, item.instance_id, t.seq, item.hook, item.attempts, error)
                attempt = item.attempts + 1
                store.begin(item)
            # The turn lasts as long as this hook's lease: past it, another
            # thread may take the work over (SPEC §7.1, hung workers).
            ordering.extend(key, max(0.0, (item.lease_until or 0.0) - time.time()))
            ctx = Context(
                wf,
                item.instance_id,
                t.event,
                t.source,
                t.target,
                t.data,
                t.seq,
                attempt,
                effect_key(t, item),
                item.hook,
            )
            try:
                result = fn(ctx)
                if result is not None and hasattr(result, "__await__"):
                    raise returned_coroutine(wf, item.hook, result)
            except Exception as exc:
                if not self._still_held(key):
                    raise LostWork(items[n:]) from exc
                error = f"{type(exc).__name__}: {exc}"
                store.fail(item, error, dead=attempt >= self.max_attempts, begun=True)
                raise HookFailed(wf, item.instance_id, t.seq, item.hook, attempt, error) from exc
            except BaseException:
                # Interrupted (KeyboardInterrupt, SystemExit...): what ran is
                # done, the rest is free for any worker at once.
                if self._still_held(key):
                    store.release(items[n:])
                raise
            if not self._still_held(key):
                # Hung past its lease: another thread took the work over and
                # runs (or ran) it; this late result is not recorded again.
                raise LostWork(items[n:])
            store.complete((item,))
            if ran is not None:
                ran.append(item)
            n += 1

    @staticmethod
    def _still_held(key: ordering.Key) -> bool:
        """Whether this worker still holds the instance's turn (runs outside
        any turn, as store-level tests do, count as held)."""
        return ordering.held(key) or not ordering.in_turn(key)

    def _renew(self, rest: list[WorkItem]) -> list[WorkItem]:
        """Lease ``rest`` again (under this worker's current identity, for a full
        lease): before a hook runs past half its lease, or after the worker's
        PostgreSQL session was lost and a new one opened.

        :raises LostWork: another worker holds some of it now.
        """
        fresh = {w.ident: w for w in self.claim(rest[0].instance_id)}
        if any(w.ident not in fresh for w in rest):
            raise LostWork(rest)
        return [fresh[w.ident] for w in rest]

    def run_claimed(
        self, instance_id: str, items: Sequence[WorkItem], ran: list[WorkItem] | None = None
    ) -> None:
        """Run one instance's claimed work, transition by transition, in order."""
        unknown = next((w for w in items if w.hook not in self.calls), None)
        if unknown is not None:
            self.store.release(items)
            raise UnknownHook(
                self.workflow, instance_id, unknown.seq, unknown.hook, self.engine.label
            )
        # Only the transitions the work belongs to: the cost of running owed
        # work never grows with the instance's history.
        seqs = {item.seq for item in items}
        by_seq = {t.seq: t for t in self.store.transitions(self.workflow, instance_id, seqs)}
        batch: list[WorkItem] = []
        for item in items:
            if batch and batch[0].seq != item.seq:
                self.run(by_seq[batch[0].seq], batch, ran)
                batch = []
            batch.append(item)
        if batch:
            self.run(by_seq[batch[0].seq], batch, ran)

    def check_spec(self, instance_id: str) -> None:
        """:raises SpecChanged: the instance owes work and was started under a
        spec whose fingerprint is not the loaded one's."""
        inst = self.store.load(self.workflow, instance_id)
        if inst is None or inst.fingerprint == self.engine.fingerprint:
            return
        owed = self.store.pending_work(self.workflow, instance_id)
        if owed:
            raise SpecChanged(
                self.workflow,
                instance_id,
                [w.hook for w in owed],
                inst.fingerprint,
                self.engine.label,
            )

    # -- owed work ---------------------------------------------------------------------

    def drain(
        self,
        instance_id: str,
        deadline: float,
        ran: list[WorkItem] | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        other_spec: bool = False,
    ) -> None:
        """Run every piece of work the instance owes, in order, until it owes
        none: claim what is free (a dead worker's work is free at once) and poll,
        with growing pauses, for what a live worker holds until ``deadline``
        (``time.monotonic``).

        :raises HookFailed: a hook failed (it is recorded).
        :raises WorkDead: the next work owed is dead.
        :raises WorkInProgress: a live worker still held work at the deadline.
        :raises UnknownHook: the spec does not name a hook of the work.
        :raises SpecChanged: the instance was started under another spec and
            owes work (one rule with ``resume()``, which leaves it too), unless
            ``other_spec`` (what ``Manager.retry`` passes).
        """
        store = self.store
        wf = self.workflow
        if not other_spec:
            self.check_spec(instance_id)
        pause = FIRST_PAUSE
        started: float | None = None
        while True:
            items = self.claim(instance_id)
            if items:
                try:
                    self.run_claimed(instance_id, items, ran)
                except LostWork:
                    if not self._still_held((store.scope, wf, instance_id)):
                        raise  # this thread hung past its lease: it stops here
                    # Work lost to another process is waited for like any other.
                pause = FIRST_PAUSE
                if store.pending_work(wf, instance_id):
                    continue  # more (written meanwhile, or held by another)
                return
            owed = store.pending_work(wf, instance_id)
            if not owed:
                return
            if owed[0].status is WorkStatus.DEAD:
                raise WorkDead(
                    wf, instance_id, [w.hook for w in owed if w.status is WorkStatus.DEAD]
                )
            clock = time.monotonic()
            if started is None:
                started = clock
            if clock >= deadline:
                held = [w for w in owed if w.status is WorkStatus.PENDING]
                raise WorkInProgress(
                    wf,
                    instance_id,
                    [w.hook for w in held],
                    [w.lease_owner or "?" for w in held],
                    waited=round(clock - started, 3),
                )
            sleep(min(pause, deadline - clock))
            pause = min(pause * 2, LONGEST_PAUSE)
