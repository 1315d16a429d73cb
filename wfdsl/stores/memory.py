"""An in-process store: fast, thread-safe, gone when the process ends.

Its one worker is this process (:mod:`wfdsl.stores.process`); a forked child
works on its own copy of the data, as a worker of its own.

Records are kept and handed out by reference, so they must be immutable all
the way down: transition data is kept as read-only containers
(:mod:`wfdsl.stores.frozen`), copied in when a caller writes anything else.

History is kept as tuples of plain values (strings, numbers, ``None``,
datetimes), not as :class:`Transition` objects: CPython's cyclic garbage
collector stops tracking such a tuple the first time it sees it, so a long
history costs a full collection next to nothing, where tracked records made
every full collection walk all of them (and a send that ran into one cost
half again as much). Records are built from the tuples when read.
"""

from __future__ import annotations

import dataclasses
import heapq
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from wfdsl.errors import AlreadyStarted, StoreError, UnknownInstance, VersionConflict
from wfdsl.stores import leases, process, wakeup
from wfdsl.stores.base import TimerListener
from wfdsl.stores.batch import Append, Outcome, chains, skipped, soonest_armed
from wfdsl.stores.frozen import EMPTY, FrozenDict
from wfdsl.stores.limits import DataRefused, freeze_data
from wfdsl.stores.records import (
    InstanceRecord,
    Timer,
    Transition,
    TransitionKind,
    WorkItem,
    WorkStatus,
    build_instance,
    build_transition,
)

__all__ = ["MemoryStore"]

_Id = tuple[str, str]

#: An entry of a workflow's due-time heap: ``(due, instance_id, seq, index)``.
_Due = tuple[int, str, int, int]

#: Entries of timers no longer armed are left in the heap (removing one from
#: the middle costs a scan) and skipped; the heap is rebuilt when they
#: outnumber the live ones and this many.
_COMPACT_AFTER = 1024


def _kept(t: Transition) -> Transition:
    """``t`` with data no caller can change (the runtime's already is)."""
    if type(t.data) is FrozenDict:
        return t
    try:
        data, _ = freeze_data(t.data)
    except DataRefused as exc:
        raise StoreError(f"cannot store transition {t.seq}: {exc}") from None
    return dataclasses.replace(t, data=data)


#: A transition as history keeps it: ``(seq, kind's value, source, target,
#: event, key, data or None when empty, at)``.
_Row = tuple[int, str, str | None, str, str | None, str | None, Mapping[str, Any] | None, datetime]

_KINDS = {k.value: k for k in TransitionKind}


def _row(t: Transition) -> _Row:
    """``t`` as history keeps it (its data already read-only)."""
    data = t.data
    return (
        t.seq,
        t.kind._value_,
        t.source,
        t.target,
        t.event,
        t.key,
        None if data is EMPTY or not data else data,
        t.at,
    )


def _transition(row: _Row) -> Transition:
    data = row[6]
    return build_transition(
        row[0],
        _KINDS[row[1]],
        row[2],
        row[3],
        row[4],
        row[5],
        EMPTY if data is None else data,
        row[7],
    )


def _unleased(w: WorkItem) -> WorkItem:
    return dataclasses.replace(w, lease_owner=None, lease_until=None, lease_proof=None)


class _Instance:
    __slots__ = ("history", "keys", "record", "timers", "work")

    def __init__(self, record: InstanceRecord, first: Transition) -> None:
        self.record = record
        self.history: list[_Row] = [_row(first)]
        #: Idempotency key -> the ``seq`` of its transition.
        self.keys: dict[str, int] = {}
        #: Work that is not done, by (seq, idx).
        self.work: dict[tuple[int, int], WorkItem] = {}
        #: Armed timers, by (seq, index).
        self.timers: dict[tuple[int, int], Timer] = {}


def _in_order(heap: list[_Due]) -> Iterator[_Due]:
    """A heap's entries in ascending order without popping them: a second heap
    explores the first as a tree, so yielding ``k`` entries costs ``O(k log k)``
    however large the heap is. The heap must not change meanwhile."""
    if not heap:
        return
    frontier = [(heap[0], 0)]
    size = len(heap)
    while frontier:
        entry, i = heapq.heappop(frontier)
        yield entry
        for child in (2 * i + 1, 2 * i + 2):
            if child < size:
                heapq.heappush(frontier, (heap[child], child))


class MemoryStore:
    """Implements :class:`~wfdsl.stores.base.Store` in memory; one lock guards it all.

    Records (data included) are immutable, so readers get them without copying.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._instances: dict[_Id, _Instance] = {}
        self._closed = False
        #: Per workflow, a heap of the due times of its armed timers (SPEC §7.2:
        #: finding the next one costs the same with ten or ten million armed).
        self._due: dict[str, list[_Due]] = {}
        #: Per workflow, how many heap entries belong to timers no longer armed.
        self._stale: dict[str, int] = {}

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

    #: Always current here: nothing to gain from a kept copy.
    load_optimistic = load

    def find_key(self, workflow: str, instance_id: str, key: str) -> Transition | None:
        self._check()
        inst = self._instances.get((workflow, instance_id))
        # A key is added after its transition: whoever sees it finds the row.
        seq = None if inst is None else inst.keys.get(key)
        return None if inst is None or seq is None else _transition(inst.history[seq - 1])

    def history(self, workflow: str, instance_id: str) -> list[Transition]:
        self._check()
        with self._lock:
            inst = self._instances.get((workflow, instance_id))
            return [] if inst is None else [_transition(r) for r in inst.history]

    def transitions(self, workflow: str, instance_id: str, seqs: Iterable[int]) -> list[Transition]:
        self._check()
        with self._lock:
            inst = self._instances.get((workflow, instance_id))
            if inst is None:
                return []
            history = inst.history
            found: list[Transition] = []
            for seq in sorted(set(seqs)):
                # The history holds seq 1, 2, ... at index 0, 1, ...
                if 0 < seq <= len(history) and history[seq - 1][0] == seq:
                    found.append(_transition(history[seq - 1]))
            return found

    def create(
        self,
        instance: InstanceRecord,
        first: Transition,
        work: Sequence[WorkItem],
        *,
        timers: Sequence[Timer] = (),
    ) -> None:
        self._check()
        ident = (instance.workflow, instance.instance_id)
        with self._lock:
            if ident in self._instances:
                raise AlreadyStarted(instance.workflow, instance.instance_id)
            first = _kept(first)
            inst = _Instance(instance, first)
            if first.key is not None:
                inst.keys[first.key] = first.seq
            for w in work:
                inst.work[(w.seq, w.idx)] = w
            if timers:
                self._arm(inst, timers)
            elif inst.record.next_due is not None:
                inst.record = dataclasses.replace(inst.record, next_due=None)
            self._recount(inst)
            self._instances[ident] = inst
        if timers:
            wakeup.notify(self.scope, instance.workflow, min(t.due for t in timers))

    def append(
        self,
        workflow: str,
        instance_id: str,
        transition: Transition,
        work: Sequence[WorkItem],
        *,
        compensating: str | None,
        timers: Sequence[Timer] = (),
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
            if inst.timers:
                self._disarm_all(workflow, inst)
            inst.record = build_instance(
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
                None,  # set by _arm below when the target arms timers
            )
            data = transition.data
            # _row(transition), written out: this is every send's path.
            inst.history.append(
                (
                    transition.seq,
                    transition.kind._value_,
                    transition.source,
                    transition.target,
                    transition.event,
                    key,
                    None if data is EMPTY or not data else data,
                    transition.at,
                )
            )
            if key is not None:
                inst.keys[key] = transition.seq
            if work:
                for w in work:
                    inst.work[(w.seq, w.idx)] = w
            if timers:
                self._arm(inst, timers)
        if timers:
            wakeup.notify(self.scope, workflow, min(t.due for t in timers))

    # -- batches (Store.append_many) -----------------------------------------

    def load_many(self, workflow: str, instance_ids: Sequence[str]) -> dict[str, InstanceRecord]:
        found: dict[str, InstanceRecord] = {}
        for iid in instance_ids:
            rec = self.load(workflow, iid)
            if rec is not None:
                found[iid] = rec
        return found

    def append_many(
        self, appends: Sequence[Append], *, disarm: Sequence[Timer] = ()
    ) -> list[Outcome]:
        self._check()
        kept = [
            a
            if type(a.transition.data) is FrozenDict
            else dataclasses.replace(a, transition=_kept(a.transition))
            for a in appends
        ]
        out: list[Outcome] = [None] * len(kept)
        with self._lock:
            for (wf, iid), positions in chains(kept).items():
                inst = self._instances.get((wf, iid))
                failed: Outcome = None
                version = None if inst is None else inst.record.version
                used: set[str] = set()
                # Checked whole before anything changes: a chain is written up
                # to its first failure, and nothing after it.
                good = 0
                for i in positions:
                    t = kept[i].transition
                    if inst is None:
                        failed = UnknownInstance(wf, iid)
                    elif version != t.seq - 1 or (
                        t.key is not None and (t.key in inst.keys or t.key in used)
                    ):
                        failed = VersionConflict(wf, iid, t.seq - 1)
                    if failed is not None:
                        out[i] = failed
                        break
                    version = t.seq
                    if t.key is not None:
                        used.add(t.key)
                    good += 1
                for i in positions[good + 1 :]:
                    out[i] = skipped(kept[i])
                if inst is not None:
                    for i in positions[:good]:
                        self._apply(inst, kept[i])
            if disarm:
                self._disarm_spent(disarm)
        for wf, due in soonest_armed(kept, out).items():
            wakeup.notify(self.scope, wf, due)
        return out

    def _apply(self, inst: _Instance, a: Append) -> None:
        """What :meth:`append` does to ``inst`` once its checks passed (lock held)."""
        transition, work, rec = a.transition, a.work, inst.record
        if inst.timers:
            self._disarm_all(a.workflow, inst)
        inst.record = build_instance(
            a.workflow,
            a.instance_id,
            transition.target,
            transition.seq,
            rec.fingerprint,
            a.compensating,
            rec.pending + len(work),
            rec.dead,
            rec.created_at,
            transition.at,
            None,  # set by _arm below when the target arms timers
        )
        inst.history.append(_row(transition))
        if transition.key is not None:
            inst.keys[transition.key] = transition.seq
        for w in work:
            inst.work[(w.seq, w.idx)] = w
        if a.timers:
            self._arm(inst, a.timers)

    def _disarm_spent(self, timers: Sequence[Timer]) -> None:
        """What :meth:`disarm` does (lock held)."""
        for t in timers:
            inst = self._instances.get((t.workflow, t.instance_id))
            if inst is not None and inst.timers.pop((t.seq, t.index), None) is not None:
                self._stale[t.workflow] = self._stale.get(t.workflow, 0) + 1
                self._soonest(inst)
        for wf in {t.workflow for t in timers}:
            self._compact(wf)

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

    def begin(self, item: WorkItem) -> None:
        self._check()
        with self._lock:
            inst = self._instances.get((item.workflow, item.instance_id))
            k = (item.seq, item.idx)
            cur = None if inst is None else inst.work.get(k)
            if inst is not None and cur is not None and cur.status is WorkStatus.PENDING:
                inst.work[k] = dataclasses.replace(cur, attempts=cur.attempts + 1)

    def fail(self, item: WorkItem, error: str, *, dead: bool, begun: bool = False) -> None:
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
                attempts=cur.attempts if begun else cur.attempts + 1,
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

    def anything_owed(self, workflow: str) -> bool:
        self._check()
        with self._lock:
            return any(
                w == workflow and (inst.work or inst.record.compensating is not None)
                for (w, _), inst in self._instances.items()
            )

    def other_fingerprints(self, workflow: str, fingerprint: str) -> list[str]:
        self._check()
        with self._lock:
            return sorted(
                i
                for (w, i), inst in self._instances.items()
                if w == workflow and inst.record.fingerprint != fingerprint
            )

    # -- timers -------------------------------------------------------------------

    def _arm(self, inst: _Instance, timers: Sequence[Timer]) -> None:
        """Arm ``timers`` on ``inst`` (lock held; the instance has none armed)."""
        for t in timers:
            inst.timers[(t.seq, t.index)] = t
            heapq.heappush(
                self._due.setdefault(t.workflow, []), (t.due, t.instance_id, t.seq, t.index)
            )
        soonest = min(t.due for t in timers)
        if inst.record.next_due != soonest:
            inst.record = dataclasses.replace(inst.record, next_due=soonest)

    def _disarm_all(self, workflow: str, inst: _Instance) -> None:
        """Remove every timer ``inst`` has armed (lock held); their heap entries
        go stale."""
        self._stale[workflow] = self._stale.get(workflow, 0) + len(inst.timers)
        inst.timers.clear()
        self._compact(workflow)

    def _compact(self, workflow: str) -> None:
        """Rebuild the workflow's heap once stale entries outnumber live ones."""
        stale = self._stale.get(workflow, 0)
        heap = self._due.get(workflow)
        if heap is None or stale < _COMPACT_AFTER or stale * 2 < len(heap):
            return
        live = [e for e in heap if self._armed(workflow, e) is not None]
        heapq.heapify(live)
        self._due[workflow] = live
        self._stale[workflow] = 0

    def _armed(self, workflow: str, entry: _Due) -> Timer | None:
        """The timer a heap entry stands for, if it is still armed (lock held)."""
        inst = self._instances.get((workflow, entry[1]))
        if inst is None:
            return None
        t = inst.timers.get((entry[2], entry[3]))
        return t if t is not None and t.due == entry[0] else None

    def _soonest(self, inst: _Instance) -> None:
        """Bring the record's ``next_due`` in step after timers changed (lock held)."""
        soonest = min((t.due for t in inst.timers.values()), default=None)
        if inst.record.next_due != soonest:
            inst.record = dataclasses.replace(inst.record, next_due=soonest)

    def timers(
        self,
        workflow: str | None = None,
        *,
        instance_id: str | None = None,
        due_by: int | None = None,
    ) -> list[Timer]:
        self._check()
        with self._lock:
            if instance_id is not None and workflow is not None:
                inst = self._instances.get((workflow, instance_id))
                found = [] if inst is None else list(inst.timers.values())
            else:
                found = [
                    t
                    for (wf, iid), inst in self._instances.items()
                    if (workflow is None or wf == workflow)
                    and (instance_id is None or iid == instance_id)
                    for t in inst.timers.values()
                ]
        if due_by is not None:
            found = [t for t in found if t.due <= due_by]
        found.sort(key=lambda t: (t.due, t.workflow, t.instance_id, t.seq, t.index))
        return found

    def load_armed(
        self, workflow: str, instance_id: str
    ) -> tuple[InstanceRecord, list[Timer]] | None:
        self._check()
        with self._lock:
            inst = self._instances.get((workflow, instance_id))
            if inst is None:
                return None
            armed = sorted(inst.timers.values(), key=lambda t: (t.due, t.seq, t.index))
            return inst.record, armed

    def next_due(self, workflow: str, *, after: int | None = None) -> int | None:
        self._check()
        with self._lock:
            heap = self._due.get(workflow)
            if not heap:
                return None
            # Stale entries on top are dropped for good: the next call is O(1).
            while heap and self._armed(workflow, heap[0]) is None:
                heapq.heappop(heap)
                self._stale[workflow] = max(0, self._stale.get(workflow, 0) - 1)
            for entry in _in_order(heap):
                if (after is None or entry[0] > after) and self._armed(workflow, entry):
                    return entry[0]
            return None

    def claim_timers(
        self,
        workflow: str,
        *,
        due_by: int,
        owner: str,
        proof: str,
        now: float,
        until: float,
        limit: int = 100,
    ) -> list[Timer]:
        self._check()
        picked: list[Timer] = []
        blocked: set[str] = set()
        verdicts: dict[str, bool] = {}
        with self._lock:
            for entry in _in_order(self._due.get(workflow, [])):
                if entry[0] > due_by or len(picked) >= limit:
                    break
                t = self._armed(workflow, entry)
                if t is None or t.instance_id in blocked:
                    continue
                if not leases.lease_free(t, proof=proof, now=now, verdicts=verdicts):
                    blocked.add(t.instance_id)
                    continue
                picked.append(t)
            out: list[Timer] = []
            for t in picked:
                if t.instance_id in blocked:
                    continue  # another live worker holds a due timer of it
                held = leases.leased_timer(t, owner, until, proof)
                self._instances[(workflow, t.instance_id)].timers[(t.seq, t.index)] = held
                out.append(held)
        return out

    def disarm(self, timers: Sequence[Timer]) -> None:
        self._check()
        with self._lock:
            for t in timers:
                inst = self._instances.get((t.workflow, t.instance_id))
                if inst is not None and inst.timers.pop((t.seq, t.index), None) is not None:
                    self._stale[t.workflow] = self._stale.get(t.workflow, 0) + 1
                    self._soonest(inst)
            for wf in {t.workflow for t in timers}:
                self._compact(wf)

    def release_timers(self, timers: Sequence[Timer], *, until: float | None = None) -> None:
        self._check()
        with self._lock:
            for t in timers:
                inst = self._instances.get((t.workflow, t.instance_id))
                cur = None if inst is None else inst.timers.get((t.seq, t.index))
                if inst is None or cur is None or t.lease_proof is None:
                    continue
                if cur.lease_proof == t.lease_proof:
                    # A lease without proof is free only once it expires.
                    owner = None if until is None else cur.lease_owner
                    inst.timers[(t.seq, t.index)] = dataclasses.replace(
                        cur, lease_owner=owner, lease_until=until, lease_proof=None
                    )

    def listen(self, workflows: Sequence[str]) -> TimerListener:
        self._check()
        return wakeup.LocalListener(self.scope, workflows)

    def close(self) -> None:
        self._closed = True

    def __enter__(self) -> MemoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
