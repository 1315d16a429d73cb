"""Batched sends: many transitions per store transaction (:meth:`Manager.send_many`).

A durable send costs one flush to the disk; its own work is a few statements.
``send_many`` applies many sends with the meaning each has alone, and writes
them in as few transactions as that meaning allows:

* The batch goes in **rounds**. A round reads each instance it touches once,
  decides as many of that instance's sends as it can (in the order given, each
  on the state the one before it leaves: guards see that state), and writes
  every decided transition of every instance in one store transaction
  (:meth:`~wfdsl.stores.base.Store.append_many`). Then the hooks the round's
  transitions owe run, instance by instance, and the next round starts.
* An instance's sends stop at the end of the round at the first transition
  that owes hook work: SPEC §7.1, the hooks of a transition finish before the
  instance's next transition is applied. So a workflow without hooks on the
  way takes one round, whatever the batch.
* A send that needs more than a decision (its instance owes hook work, is
  compensating, has dead work or a due timer; or it replays a key whose
  transition owes work) goes through :meth:`Manager.send` itself, alone, at
  its place in its instance's order.
* A send that fails gets its error as its result, as ``send`` would have
  raised it, and the batch goes on: the instance's later sends see the state
  it left. A version conflict (another writer moved the instance after the
  round read it) decides the instance's sends again from a fresh read, as
  ``send`` retries.

Sends to different instances are independent, as if sent at once from
different threads: a hook of one instance that calls an instance whose
transition the same round wrote is refused (``ReentrantCall``) rather than
kept waiting for the batch it is part of.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic

from wfdsl.errors import (
    HookFailed,
    IdempotencyConflict,
    InvalidInput,
    StoreError,
    UnknownInstance,
    VersionConflict,
    WorkflowError,
    WorkInProgress,
)
from wfdsl.runtime import ordering
from wfdsl.runtime.base import E
from wfdsl.runtime.compensation import MAX_RACES
from wfdsl.runtime.inputs import NO_DATA, check_id, check_key, encode, same_data
from wfdsl.runtime.report import Fired, TimerReport
from wfdsl.runtime.work import LostWork
from wfdsl.stores.batch import Append
from wfdsl.stores.records import (
    TIMER_KEY_PREFIX,
    InstanceRecord,
    Timer,
    Transition,
    TransitionKind,
    WorkStatus,
    epoch_ms,
)

if TYPE_CHECKING:
    from wfdsl.runtime.manager import Manager

__all__ = ["Result", "Send", "send_many"]

_EVENT = TransitionKind.EVENT


@dataclass(frozen=True, slots=True)
class Send(Generic[E]):
    """One send of a batch: what :meth:`Manager.send` takes."""

    instance_id: str
    event: E
    data: Mapping[str, Any] | None = None
    key: str | None = None


#: What a send of the batch came to: the transition applied (or, for a replayed
#: key, the original one), or the error ``send`` would have raised.
Result = Transition | WorkflowError

#: A send as given: a :class:`Send`, or ``(instance_id, event)``,
#: ``(instance_id, event, data)``, ``(instance_id, event, data, key)``.
Item = Send[Any] | tuple[Any, ...]


@dataclass(slots=True)
class _Item:
    """A checked send of the batch."""

    pos: int
    instance_id: str
    event: str
    key: str | None
    data: Mapping[str, Any] | None
    payload: Mapping[str, Any]
    text: str
    races: int = 0


@dataclass(slots=True)
class _Planned:
    """A send decided in this round: written (``append``), or the same key as
    a send before it in the round (``alias``: its result is that one's)."""

    item: _Item
    append: Append | None = None
    alias: int | None = None


def _checked(wf: str, pos: int, given: Item, events: frozenset[str]) -> _Item:
    """:raises InvalidInput: as ``send`` would, before anything is written."""
    if isinstance(given, Send):
        iid, event, data, key = given.instance_id, given.event, given.data, given.key
    elif isinstance(given, tuple) and 2 <= len(given) <= 4:
        iid, event = given[0], given[1]
        data = given[2] if len(given) > 2 else None
        key = given[3] if len(given) > 3 else None
    else:
        raise InvalidInput(
            wf, f"item {pos} of the batch is neither a Send nor (instance_id, event[, data[, key]])"
        )
    check_id(wf, iid)
    ev = event if type(event) is str else str(event)
    if ev not in events:
        raise InvalidInput(wf, f"the workflow declares no event {ev!r}")
    if key is not None:
        check_key(wf, key)
        if key.startswith(TIMER_KEY_PREFIX):
            raise InvalidInput(
                wf, f"idempotency keys starting with {TIMER_KEY_PREFIX!r} are kept for timers"
            )
    payload, text = (NO_DATA, "{}") if data is None else encode(wf, data)
    return _Item(pos, iid, ev, key, data, payload, text)


def send_many(mgr: Manager[Any, Any], items: Iterable[Item]) -> list[Result]:
    """See :meth:`Manager.send_many`."""
    wf = mgr.workflow
    given = list(items)
    results: list[Result | None] = [None] * len(given)
    queues: dict[str, deque[_Item]] = {}
    active = ordering.ACTIVE.get() is not None
    for pos, raw in enumerate(given):
        try:
            item = _checked(wf, pos, raw, mgr._events)
            if active:
                ordering.check_reentry((mgr._scope, wf, item.instance_id), f"send({item.event!r})")
        except WorkflowError as exc:
            results[pos] = exc
            continue
        queues.setdefault(item.instance_id, deque()).append(item)
    while queues:
        _round(mgr, queues, results)
        for iid in [iid for iid, q in queues.items() if not q]:
            del queues[iid]
    done = [r for r in results if r is not None]
    assert len(done) == len(given)
    return done


def _round(
    mgr: Manager[Any, Any], queues: dict[str, deque[_Item]], results: list[Result | None]
) -> None:
    """Decide what can be decided of every instance's sends, write it in one
    transaction, run the hooks it owes; then the sends that need ``send``
    itself, one per instance."""
    wf = mgr.workflow
    planned: list[_Planned] = []
    alone: list[_Item] = []
    try:
        loaded: dict[str, InstanceRecord] | StoreError = mgr.store.load_many(wf, list(queues))
    except StoreError as exc:
        loaded = exc
    for iid, queue in queues.items():
        stop = _plan(mgr, iid, queue, planned, results, loaded)
        if stop is not None:
            alone.append(stop)
    with ExitStack() as turns:
        hooked = [p for p in planned if p.append is not None and p.append.work]
        busy: set[str] = set()
        if hooked:
            # Held from the write through the hooks, as ``send`` holds one
            # (taken in one order, so that batches never wait on each other).
            deadline = time.monotonic() + mgr.options.wait
            for p in sorted(hooked, key=lambda p: p.item.instance_id):
                try:
                    turns.enter_context(
                        ordering.turn((mgr._scope, wf, p.item.instance_id), deadline)
                    )
                except ordering.Busy:
                    busy.add(p.item.instance_id)
        if busy:
            # Another thread of this process holds them: their sends go back;
            # the first goes through ``send``, which waits as it always does.
            for p in reversed(planned):
                if p.item.instance_id in busy:
                    queues[p.item.instance_id].appendleft(p.item)
            planned = [p for p in planned if p.item.instance_id not in busy]
            hooked = [p for p in hooked if p.item.instance_id not in busy]
            alone.extend(queues[iid].popleft() for iid in sorted(busy))
        _write(mgr, planned, queues, results)
        for p in hooked:
            assert p.append is not None
            if results[p.item.pos] is not p.append.transition:
                continue  # not written
            try:
                # Written just now by this worker, first attempt counted (Engine.work).
                mgr._runner.run(p.append.transition, p.append.work, fresh=True)
            except LostWork:
                results[p.item.pos] = _in_progress(mgr, p.item.instance_id)
            except WorkflowError as exc:  # HookFailed, UnknownHook: the transition stands
                results[p.item.pos] = exc
    for item in alone:
        try:
            results[item.pos] = mgr.send(item.instance_id, item.event, key=item.key, data=item.data)
        except WorkflowError as exc:
            results[item.pos] = exc


def _write(
    mgr: Manager[Any, Any],
    planned: list[_Planned],
    queues: dict[str, deque[_Item]],
    results: list[Result | None],
) -> None:
    """Write the round's transitions in one transaction; a send whose instance
    another writer moved first goes back to be decided again."""
    appends = [p.append for p in planned if p.append is not None]
    try:
        outcomes = mgr.store.append_many(appends) if appends else []
    except StoreError as exc:
        for p in planned:
            results[p.item.pos] = exc
        return
    again: dict[str, list[_Item]] = {}
    k = 0
    for p in planned:
        item = p.item
        if p.append is None:
            continue
        outcome = outcomes[k]
        k += 1
        if outcome is None:
            results[item.pos] = p.append.transition
        elif isinstance(outcome, VersionConflict) and item.races + 1 < MAX_RACES:
            item.races += 1
            again.setdefault(item.instance_id, [])
        else:
            results[item.pos] = outcome
    for p in planned:
        iid = p.item.instance_id
        if iid in again and results[p.item.pos] is None:
            again[iid].append(p.item)
        elif p.alias is not None:
            results[p.item.pos] = results[p.alias]
    for iid, its in again.items():
        queues[iid].extendleft(reversed(its))


def _in_progress(mgr: Manager[Any, Any], iid: str) -> WorkInProgress:
    held = [w for w in mgr.store.pending_work(mgr.workflow, iid) if w.status is WorkStatus.PENDING]
    return WorkInProgress(
        mgr.workflow,
        iid,
        [w.hook for w in held],
        [w.lease_owner or "?" for w in held],
        waited=mgr.options.wait,
    )


def _plan(
    mgr: Manager[Any, Any],
    iid: str,
    queue: deque[_Item],
    planned: list[_Planned],
    results: list[Result | None],
    loaded: dict[str, InstanceRecord] | StoreError,
) -> _Item | None:
    """Decide the instance's sends from the head of ``queue`` on, into
    ``planned`` (popping them), from the instance as ``loaded`` (the round's
    read of its instances); return the send that must go through ``send``
    alone (popped), if one stopped the instance before anything was decided."""
    store, wf = mgr.store, mgr.workflow
    if isinstance(loaded, StoreError):
        while queue:
            results[queue.popleft().pos] = loaded
        return None
    inst = loaded.get(iid)
    if inst is None:
        while queue:
            results[queue.popleft().pos] = UnknownInstance(wf, iid)
        return None
    if inst.compensating is not None or inst.dead or inst.pending:
        return queue.popleft()  # ``send`` raises, or runs the owed work first
    state, version, next_due = inst.state, inst.version, inst.next_due
    #: This round's transitions of the instance that have a key, by key.
    keyed: dict[str, tuple[_Item, Transition]] = {}
    first = len(planned)
    while queue:
        item = queue[0]
        at = mgr._clock()
        if next_due is not None and next_due <= epoch_ms(at):
            # The clock has left the state, or may have: ``send`` fires its
            # due timers first.
            return queue.popleft() if len(planned) == first else None
        if item.key is not None:
            mine = keyed.get(item.key)
            if mine is not None:
                other, t = mine
                queue.popleft()
                if other.event != item.event or not same_data(t.data, item.text):
                    results[item.pos] = IdempotencyConflict(wf, iid, item.key)
                else:
                    planned.append(_Planned(item, alias=other.pos))
                continue
            try:
                prior = store.find_key(wf, iid, item.key)
            except StoreError as exc:
                queue.popleft()
                results[item.pos] = exc
                continue
            if prior is not None:
                queue.popleft()
                if prior.event != item.event or not same_data(prior.data, item.text):
                    results[item.pos] = IdempotencyConflict(wf, iid, item.key)
                else:
                    # The instance owes nothing (checked above; a transition
                    # owing work ends the instance's round): the original.
                    results[item.pos] = prior
                continue
        seq = version + 1
        queue.popleft()
        try:
            decided = mgr._unguarded.get((state, item.event))
            if decided is None:
                decided = mgr._decide(iid, state, item.event, seq, item.payload)
        except WorkflowError as exc:  # IllegalTransition, GuardRejected, GuardFailed, ...
            results[item.pos] = exc
            continue
        target, plan = decided
        t = Transition(seq, _EVENT, state, target, item.event, item.key, item.payload, at)
        timers = mgr._engine.arm(iid, t) if mgr._timed else []
        work = mgr._engine.work(iid, t, mgr._runner.new_lease(), plan) if plan else []
        # An instance with no timer armed at this version has none to remove.
        append = Append(wf, iid, t, work, None, timers, next_due is not None)
        planned.append(_Planned(item, append))
        if item.key is not None:
            keyed[item.key] = (item, t)
        state, version = target, seq
        next_due = min((tm.due for tm in timers), default=None)
        if work:
            return None  # its hooks run before the instance's next send
    return None


# -- timers (Manager.fire_due) ------------------------------------------------------

#: What :func:`fire_claimed` did with one instance: ``"fired"`` (a timer fired;
#: the instance's other claimed timers went with the state it left), ``"left"``
#: (nothing fired, and what stays armed is left for another spec or a later
#: call), ``"free"`` (nothing fired; what stays armed may be tried again at once).
Fate = str


@dataclass(slots=True)
class _Firing:
    """One instance's timer firing, decided in the round, written with the rest."""

    instance_id: str
    timer: Timer
    append: Append
    spent: list[Timer]


def fire_claimed(
    mgr: Manager[Any, Any],
    claimed: Mapping[str, Sequence[Timer]],
    due_by: int,
    report: TimerReport,
    stop: Callable[[], bool] | None,
) -> tuple[dict[str, tuple[Fate, set[tuple[str, str, int, int]]]], list[str]]:
    """Fire the due timers of the instances in ``claimed`` (claimed by this
    worker for :meth:`Manager.fire_due`), writing the transitions of all of
    them (and removing the timers whose guard was false) in one store
    transaction, then running the hooks they owe, instance by instance; what
    happened goes into ``report`` exactly as firing them one by one tells it.

    Returns what became of each instance handled here (its fate, and the
    idents of the timers spent), and the instances left to the one-by-one path
    (:meth:`Manager._fire_claimed`): those that owe hook work, are busy, are
    compensating or dead, or whose state is unknown (that path waits, drains,
    and reports them), those another writer moved first, and those whose fired
    timer armed one that is due already (another look).
    """
    wf, store = mgr.workflow, mgr.store
    fates: dict[str, tuple[Fate, set[tuple[str, str, int, int]]]] = {}
    slow: list[str] = []
    later: list[str] = []  # after this round: their turn is free again
    with ExitStack() as turns:
        fires: list[_Firing] = []
        spent_only: list[tuple[str, list[Timer], list[Timer]]] = []
        for iid in claimed:
            if stop is not None and stop():
                break
            key = (mgr._scope, wf, iid)
            try:
                turns.enter_context(ordering.turn(key, time.monotonic()))
            except ordering.Busy:
                slow.append(iid)
                continue
            try:
                decided = _decide_timers(mgr, iid, due_by)
            except WorkflowError as exc:  # a guard that raised, a reentrant guard
                report.errors.append((iid, f"{type(exc).__name__}: {exc}"))
                fates[iid] = ("left", set())
                continue
            if decided is None:
                slow.append(iid)
            elif isinstance(decided, _Firing):
                fires.append(decided)
            elif decided[0] or decided[1]:
                spent_only.append((iid, decided[0], decided[1]))
            else:
                fates[iid] = ("free", set())  # nothing due any more
        spent = [t for _, s, _ in spent_only for t in s]
        appends = [f.append for f in fires]
        outcomes = store.append_many(appends, disarm=spent) if appends or spent else []
        for iid, s, unmatched in spent_only:
            report.spent.extend(s)
            report.spec_changed.extend(unmatched)
            fates[iid] = ("left" if unmatched else "free", {t.ident for t in s})
        for f, outcome in zip(fires, outcomes, strict=True):
            if outcome is not None:
                slow.append(f.instance_id)  # moved by another writer: read again
                continue
            t = f.append.transition
            report.spent.extend(f.spent)
            report.fired.append(Fired(f.instance_id, t, f.timer))
            fates[f.instance_id] = ("fired", {x.ident for x in f.spent})
            if f.append.work:
                try:
                    mgr._runner.run(t, f.append.work, fresh=True)
                except HookFailed as exc:
                    report.failed.append((exc.instance_id, exc.hook, exc.error))
                    continue
                except (LostWork, WorkflowError):
                    later.append(f.instance_id)  # the one-by-one path tells it
                    continue
            if any(x.due <= due_by for x in f.append.timers):
                later.append(f.instance_id)  # a timer it armed is due already
    return fates, slow + later


def _decide_timers(
    mgr: Manager[Any, Any], iid: str, due_by: int
) -> _Firing | tuple[list[Timer], list[Timer]] | None:
    """What firing the instance's due timers comes to, decided from one read:
    the timer that fires (its guard holds), or the timers spent (guard false)
    and left (not in this spec) when none does; ``None`` when the instance
    needs the one-by-one path.

    :raises GuardFailed: a timer's guard raised.
    """
    wf, store, engine = mgr.workflow, mgr.store, mgr._engine
    found = store.load_armed(wf, iid)
    if found is None:
        return None
    inst, armed = found
    if inst.next_due is None or inst.next_due > due_by:
        return [], []
    if (
        inst.compensating is not None
        or inst.dead
        or inst.pending
        or not mgr.spec.has_state(inst.state)
        or any(t.seq != inst.version for t in armed)
    ):
        return None
    due = [t for t in armed if t.due <= due_by]
    due.sort(key=lambda t: (t.due, t.index))
    spent: list[Timer] = []
    unmatched: list[Timer] = []
    for timer in due:
        edge = engine.timed_edge(timer)
        if edge is None:
            unmatched.append(timer)
        elif edge.guard is None or mgr._firing._holds(inst, timer, edge):
            t, work, armed = engine.fire(inst, timer, edge, mgr._runner.new_lease())
            append = Append(wf, iid, t, work, None, armed)
            return _Firing(iid, timer, append, spent)
        else:
            spent.append(timer)
    return spent, unmatched
