"""An in-process store: fast, thread-safe, gone when the process ends.

Its one worker is this process (:mod:`wfdsl.stores.process`); a forked child
works on its own copy of the data, as a worker of its own.

Records are kept and handed out by reference, so they must be immutable all
the way down: transition data is kept as read-only containers
(:mod:`wfdsl.stores.frozen`), copied in when a caller writes anything else.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Sequence

from wfdsl.errors import AlreadyStarted, StoreError, UnknownInstance, VersionConflict
from wfdsl.stores import leases, process
from wfdsl.stores.frozen import FrozenDict
from wfdsl.stores.limits import DataRefused, freeze_data
from wfdsl.stores.records import InstanceRecord, Transition, WorkItem, WorkStatus

__all__ = ["MemoryStore"]

_Id = tuple[str, str]


def _kept(t: Transition) -> Transition:
    """``t`` with data no caller can change (the runtime's already is)."""
    if type(t.data) is FrozenDict:
        return t
    try:
        data, _ = freeze_data(t.data)
    except DataRefused as exc:
        raise StoreError(f"cannot store transition {t.seq}: {exc}") from None
    return dataclasses.replace(t, data=data)


def _unleased(w: WorkItem) -> WorkItem:
    return dataclasses.replace(w, lease_owner=None, lease_until=None, lease_proof=None)


class _Instance:
    __slots__ = ("history", "keys", "record", "work")

    def __init__(self, record: InstanceRecord, first: Transition) -> None:
        self.record = record
        self.history: list[Transition] = [first]
        self.keys: dict[str, Transition] = {}
        #: Work that is not done, by (seq, idx).
        self.work: dict[tuple[int, int], WorkItem] = {}


class MemoryStore:
    """Implements :class:`~wfdsl.stores.base.Store` in memory; one lock guards it all.

    Records (data included) are immutable, so readers get them without copying.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._instances: dict[_Id, _Instance] = {}
        self._closed = False

    def __repr__(self) -> str:
        return f"MemoryStore({len(self._instances)} instances)"

    @property
    def scope(self) -> str:
        return f"memory:{id(self)}"

    def identity(self) -> str:
        return process.proof()

    def _check(self) -> None:
        if self._closed:
            raise StoreError("the store is closed")

    @staticmethod
    def _recount(inst: _Instance) -> None:
        """Bring the record's work counts in step after work changed (lock held)."""
        pending = dead = 0
        for w in inst.work.values():
            if w.status is WorkStatus.DEAD:
                dead += 1
            else:
                pending += 1
        rec = inst.record
        if rec.pending != pending or rec.dead != dead:
            inst.record = dataclasses.replace(rec, pending=pending, dead=dead)

    def load(self, workflow: str, instance_id: str) -> InstanceRecord | None:
        if self._closed:
            self._check()
        inst = self._instances.get((workflow, instance_id))
        # Records are replaced, never mutated: reading the reference needs no lock.
        return None if inst is None else inst.record

    def find_key(self, workflow: str, instance_id: str, key: str) -> Transition | None:
        self._check()
        inst = self._instances.get((workflow, instance_id))
        return None if inst is None else inst.keys.get(key)

    def history(self, workflow: str, instance_id: str) -> list[Transition]:
        self._check()
        with self._lock:
            inst = self._instances.get((workflow, instance_id))
            return [] if inst is None else list(inst.history)

    def create(self, instance: InstanceRecord, first: Transition, work: Sequence[WorkItem]) -> None:
        self._check()
        ident = (instance.workflow, instance.instance_id)
        with self._lock:
            if ident in self._instances:
                raise AlreadyStarted(instance.workflow, instance.instance_id)
            first = _kept(first)
            inst = _Instance(instance, first)
            if first.key is not None:
                inst.keys[first.key] = first
            for w in work:
                inst.work[(w.seq, w.idx)] = w
            self._recount(inst)
            self._instances[ident] = inst

    def append(
        self,
        workflow: str,
        instance_id: str,
        transition: Transition,
        work: Sequence[WorkItem],
        *,
        compensating: str | None,
    ) -> None:
        if self._closed:
            self._check()
        if type(transition.data) is not FrozenDict:
            transition = _kept(transition)
        with self._lock:
            inst = self._instances.get((workflow, instance_id))
            if inst is None:
                raise UnknownInstance(workflow, instance_id)
            rec = inst.record
            key = transition.key
            if rec.version != transition.seq - 1 or (key is not None and key in inst.keys):
                raise VersionConflict(workflow, instance_id, transition.seq - 1)
            inst.record = InstanceRecord(
                workflow,
                instance_id,
                transition.target,
                transition.seq,
                rec.fingerprint,
                compensating,
                rec.pending + len(work),
                rec.dead,
                rec.created_at,
                transition.at,
            )
            inst.history.append(transition)
            if key is not None:
                inst.keys[key] = transition
            if work:
                for w in work:
                    inst.work[(w.seq, w.idx)] = w

    def pending_work(self, workflow: str, instance_id: str) -> list[WorkItem]:
        self._check()
        with self._lock:
            inst = self._instances.get((workflow, instance_id))
            return [] if inst is None else [inst.work[k] for k in sorted(inst.work)]

    def claim(
        self,
        workflow: str,
        instance_id: str | None,
        *,
        owner: str,
        proof: str,
        now: float,
        until: float,
        limit: int = 1000,
    ) -> list[WorkItem]:
        self._check()
        out: list[WorkItem] = []
        verdicts: dict[str, bool] = {}
        with self._lock:
            if instance_id is None:
                idents = sorted(k for k in self._instances if k[0] == workflow)
            else:
                idents = [(workflow, instance_id)]
            for ident in idents:
                inst = self._instances.get(ident)
                if inst is None:
                    continue
                for k in sorted(inst.work):
                    w = inst.work[k]
                    if w.status is WorkStatus.DEAD or not leases.lease_free(
                        w, proof=proof, now=now, verdicts=verdicts
                    ):
                        break  # the instance's prefix ends here
                    w = inst.work[k] = leases.leased(w, owner, until, proof)
                    out.append(w)
                    if len(out) >= limit:
                        return out
        return out

    def complete(self, items: Sequence[WorkItem]) -> None:
        self._check()
        with self._lock:
            for w in items:
                inst = self._instances.get((w.workflow, w.instance_id))
                if inst is not None and inst.work.pop((w.seq, w.idx), None) is not None:
                    self._recount(inst)

    def fail(self, item: WorkItem, error: str, *, dead: bool) -> None:
        self._check()
        with self._lock:
            inst = self._instances.get((item.workflow, item.instance_id))
            if inst is None:
                return
            k = (item.seq, item.idx)
            cur = inst.work.get(k)
            if cur is None:
                return
            inst.work[k] = dataclasses.replace(
                cur,
                attempts=cur.attempts + 1,
                last_error=error,
                status=WorkStatus.DEAD if dead else WorkStatus.PENDING,
            )
            if item.lease_proof is not None:
                for key, w in inst.work.items():
                    if w.lease_proof == item.lease_proof:
                        inst.work[key] = _unleased(w)
            self._recount(inst)

    def release(self, items: Sequence[WorkItem]) -> None:
        self._check()
        with self._lock:
            for item in items:
                inst = self._instances.get((item.workflow, item.instance_id))
                if inst is None or item.lease_proof is None:
                    continue
                k = (item.seq, item.idx)
                cur = inst.work.get(k)
                if cur is not None and cur.lease_proof == item.lease_proof:
                    inst.work[k] = _unleased(cur)

    def revive(self, workflow: str, instance_id: str) -> int:
        self._check()
        n = 0
        with self._lock:
            inst = self._instances.get((workflow, instance_id))
            if inst is None:
                return 0
            for key, w in inst.work.items():
                if w.status is WorkStatus.DEAD:
                    inst.work[key] = dataclasses.replace(
                        _unleased(w), status=WorkStatus.PENDING, attempts=0
                    )
                    n += 1
            self._recount(inst)
        return n

    def instances(
        self,
        workflow: str | None = None,
        *,
        instance_id: str | None = None,
        state: str | None = None,
        pending_only: bool = False,
        dead_only: bool = False,
        compensating_only: bool = False,
    ) -> list[InstanceRecord]:
        self._check()
        out: list[InstanceRecord] = []
        with self._lock:
            for ident in sorted(self._instances):
                if workflow is not None and ident[0] != workflow:
                    continue
                if instance_id is not None and ident[1] != instance_id:
                    continue
                rec = self._instances[ident].record
                if state is not None and rec.state != state:
                    continue
                if pending_only and not rec.pending:
                    continue
                if dead_only and not rec.dead:
                    continue
                if compensating_only and rec.compensating is None:
                    continue
                out.append(rec)
        return out

    def other_fingerprints(self, workflow: str, fingerprint: str) -> list[str]:
        self._check()
        with self._lock:
            return sorted(
                i
                for (w, i), inst in self._instances.items()
                if w == workflow and inst.record.fingerprint != fingerprint
            )

    def close(self) -> None:
        self._closed = True

    def __enter__(self) -> MemoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
