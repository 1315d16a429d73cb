"""The Store contract (wfdsl/stores/base.py), run against every backend."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from wfdsl.errors import AlreadyStarted, StoreError, UnknownInstance, VersionConflict
from wfdsl.ir import HookKind
from wfdsl.stores.base import Store
from wfdsl.stores.records import (
    InstanceRecord,
    Timer,
    Transition,
    TransitionKind,
    WorkItem,
    WorkStatus,
)

if TYPE_CHECKING:
    from rivals import Rivals  # the ``rivals`` fixture (tests/rivals.py)

AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
WF = "order"


def start(
    store: Store,
    iid: str = "o-1",
    *,
    wf: str = WF,
    hooks: tuple[str, ...] = (),
    fp: str = "fp1",
    owner: str | None = None,
    until: float | None = None,
    proof: str | None = None,
) -> None:
    record = InstanceRecord(wf, iid, "created", 1, fp, created_at=AT, updated_at=AT)
    first = Transition(1, TransitionKind.START, None, "created", None, None, {}, AT)
    store.create(record, first, work(iid, 1, hooks, wf=wf, owner=owner, until=until, proof=proof))


def work(
    iid: str,
    seq: int,
    hooks: tuple[str, ...],
    *,
    wf: str = WF,
    owner: str | None = None,
    until: float | None = None,
    proof: str | None = None,
) -> list[WorkItem]:
    return [
        WorkItem(
            wf,
            iid,
            seq,
            i,
            h,
            HookKind.ENTER,
            lease_owner=owner,
            lease_until=until,
            lease_proof=proof,
        )
        for i, h in enumerate(hooks)
    ]


def move(
    store: Store,
    iid: str,
    seq: int,
    source: str,
    target: str,
    *,
    key: str | None = None,
    data: dict[str, object] | None = None,
    hooks: tuple[str, ...] = (),
    wf: str = WF,
    compensating: str | None = None,
    owner: str | None = None,
    until: float | None = None,
) -> Transition:
    t = Transition(seq, TransitionKind.EVENT, source, target, "go", key, data or {}, AT)
    store.append(
        wf,
        iid,
        t,
        work(iid, seq, hooks, wf=wf, owner=owner, until=until),
        compensating=compensating,
    )
    return t


# -- instances and transitions ---------------------------------------------------


def test_load_of_an_unknown_instance_is_none(store: Store) -> None:
    assert store.load(WF, "nope") is None


def test_create_records_state_version_fingerprint_and_pending_work(store: Store) -> None:
    start(store, hooks=("a", "b"))
    rec = store.load(WF, "o-1")
    assert rec is not None
    assert (rec.state, rec.version, rec.fingerprint, rec.pending, rec.dead) == (
        "created",
        1,
        "fp1",
        2,
        0,
    )
    assert rec.compensating is None
    assert rec.created_at == AT


def test_create_twice_raises_already_started(store: Store) -> None:
    start(store)
    with pytest.raises(AlreadyStarted):
        start(store)


def test_append_moves_the_instance_and_extends_history_in_seq_order(store: Store) -> None:
    start(store)
    move(store, "o-1", 2, "created", "paid")
    move(store, "o-1", 3, "paid", "shipped")
    rec = store.load(WF, "o-1")
    assert rec is not None and (rec.state, rec.version) == ("shipped", 3)
    assert [(t.seq, t.target) for t in store.history(WF, "o-1")] == [
        (1, "created"),
        (2, "paid"),
        (3, "shipped"),
    ]


def test_append_with_a_stale_version_conflicts_and_writes_nothing(store: Store) -> None:
    start(store)
    move(store, "o-1", 2, "created", "paid")
    with pytest.raises(VersionConflict):
        move(store, "o-1", 2, "created", "cancelled", hooks=("x",))
    rec = store.load(WF, "o-1")
    assert rec is not None and (rec.state, rec.version, rec.pending) == ("paid", 2, 0)
    assert len(store.history(WF, "o-1")) == 2


def test_append_to_an_unknown_instance_raises_unknown_instance(store: Store) -> None:
    with pytest.raises(UnknownInstance):
        move(store, "ghost", 2, "created", "paid")


def test_a_used_idempotency_key_conflicts_and_writes_nothing(store: Store) -> None:
    start(store)
    move(store, "o-1", 2, "created", "paid", key="k")
    with pytest.raises(VersionConflict):
        move(store, "o-1", 3, "paid", "shipped", key="k")
    rec = store.load(WF, "o-1")
    assert rec is not None and rec.version == 2


def test_find_key_returns_the_transition_with_its_data(store: Store) -> None:
    start(store)
    data = {"amount": 12, "items": [{"sku": "a", "qty": 2}], "note": "é ✓", "gift": None}
    sent = move(store, "o-1", 2, "created", "paid", key="req-1", data=data)
    assert store.find_key(WF, "o-1", "req-1") == sent
    assert store.find_key(WF, "o-1", "other") is None


def test_idempotency_keys_are_scoped_per_instance(store: Store) -> None:
    start(store, "a")
    start(store, "b")
    move(store, "a", 2, "created", "paid", key="k")
    move(store, "b", 2, "created", "paid", key="k")
    assert store.find_key(WF, "b", "k") is not None


def test_history_of_an_unknown_instance_is_empty(store: Store) -> None:
    assert store.history(WF, "nope") == []


def test_workflows_namespace_instance_ids(store: Store) -> None:
    start(store, "x", wf="order")
    start(store, "x", wf="refund")
    move(store, "x", 2, "created", "paid", wf="refund")
    a, b = store.load("order", "x"), store.load("refund", "x")
    assert a is not None and b is not None and (a.state, b.state) == ("created", "paid")


def test_compensating_target_is_set_and_cleared_by_append(store: Store) -> None:
    start(store)
    move(store, "o-1", 2, "created", "paid")
    move(store, "o-1", 3, "paid", "shipped", compensating="created")
    rec = store.load(WF, "o-1")
    assert rec is not None and rec.compensating == "created"
    assert [r.instance_id for r in store.instances(WF, compensating_only=True)] == ["o-1"]
    move(store, "o-1", 4, "shipped", "paid")
    rec = store.load(WF, "o-1")
    assert rec is not None and rec.compensating is None


# -- hook work --------------------------------------------------------------------


def test_pending_work_is_listed_in_seq_and_index_order(store: Store) -> None:
    start(store, hooks=("a", "b"))
    move(store, "o-1", 2, "created", "paid", hooks=("c",))
    assert [(w.seq, w.idx, w.hook, w.status) for w in store.pending_work(WF, "o-1")] == [
        (1, 0, "a", WorkStatus.PENDING),
        (1, 1, "b", WorkStatus.PENDING),
        (2, 0, "c", WorkStatus.PENDING),
    ]


def test_completed_work_is_no_longer_pending(store: Store) -> None:
    start(store, hooks=("a", "b"))
    store.complete(store.pending_work(WF, "o-1")[:1])
    assert [w.hook for w in store.pending_work(WF, "o-1")] == ["b"]
    rec = store.load(WF, "o-1")
    assert rec is not None and rec.pending == 1


def test_completion_is_visible_to_another_store_at_once_and_survives_reopening(
    store_factory: Callable[[], Store],
) -> None:
    store = store_factory()
    start(store, hooks=("a",))
    watcher = store_factory()  # another connection (memory: the same store)
    assert len(watcher.pending_work(WF, "o-1")) == 1
    store.complete(store.pending_work(WF, "o-1"))
    assert watcher.pending_work(WF, "o-1") == []  # no worker waits on a finished one
    again = store_factory()
    rec = again.load(WF, "o-1")
    assert rec is not None and rec.pending == 0


def test_completing_work_twice_counts_it_once(store: Store) -> None:
    start(store, hooks=("a", "b"))
    first = store.pending_work(WF, "o-1")[:1]
    store.complete(first)
    store.complete(first)
    rec = store.load(WF, "o-1")
    assert rec is not None and rec.pending == 1


def test_identity_is_stable_in_a_process_and_scope_names_the_data(
    store_factory: Callable[[], Store],
) -> None:
    store = store_factory()
    assert store.identity() == store.identity() != ""
    again = store_factory()
    assert again.scope == store.scope
    assert "password" not in store.scope


def test_claim_leases_free_work_to_the_caller(store: Store) -> None:
    start(store, hooks=("a", "b"))
    me = store.identity()
    items = store.claim(WF, "o-1", owner="w1", proof=me, now=100.0, until=160.0)
    assert [(w.hook, w.lease_owner, w.lease_until, w.lease_proof) for w in items] == [
        ("a", "w1", 160.0, me),
        ("b", "w1", 160.0, me),
    ]
    assert store.pending_work(WF, "o-1") == items


def test_work_a_live_worker_holds_is_free_only_once_its_lease_expires(
    store: Store, rivals: Rivals
) -> None:
    start(store, hooks=("a",), owner="them", until=160.0, proof=rivals.live())
    me = store.identity()
    assert store.claim(WF, "o-1", owner="me", proof=me, now=150.0, until=210.0) == []
    # Past its lease a live holder is presumed hung, and its work is free.
    (taken,) = store.claim(WF, "o-1", owner="me", proof=me, now=161.0, until=221.0)
    assert (taken.lease_owner, taken.lease_proof) == ("me", me)


def test_work_a_dead_worker_holds_is_free_at_once(store: Store, rivals: Rivals) -> None:
    start(store, hooks=("a", "b"), owner="them", until=1e12, proof=rivals.dead())
    items = store.claim(WF, "o-1", owner="me", proof=store.identity(), now=0.0, until=60.0)
    assert [(w.hook, w.lease_owner) for w in items] == [("a", "me"), ("b", "me")]


def test_a_worker_takes_back_its_own_work_whatever_name_it_gives(store: Store) -> None:
    me = store.identity()
    start(store, hooks=("a",), owner="before-restart", until=1e12, proof=me)
    (item,) = store.claim(WF, "o-1", owner="after", proof=me, now=0.0, until=60.0)
    assert item.lease_owner == "after"


def test_a_name_is_no_proof_another_live_worker_given_it_keeps_its_work(
    store: Store, rivals: Rivals
) -> None:
    # Two processes started with the same worker_id: only the proof counts.
    start(store, hooks=("a",), owner="orders-1", until=1e12, proof=rivals.live())
    assert (
        store.claim(WF, "o-1", owner="orders-1", proof=store.identity(), now=0.0, until=9.0) == []
    )


def test_a_lease_without_proof_is_freed_only_by_its_expiry(store: Store) -> None:
    start(store, hooks=("a",), owner="old-style", until=100.0)
    me = store.identity()
    assert store.claim(WF, "o-1", owner="me", proof=me, now=50.0, until=60.0) == []
    assert len(store.claim(WF, "o-1", owner="me", proof=me, now=101.0, until=160.0)) == 1


def test_claim_takes_an_instances_work_only_up_to_what_another_live_worker_holds(
    store: Store, rivals: Rivals
) -> None:
    start(store, hooks=("a", "b"))
    store.claim(WF, "o-1", owner="them", proof=rivals.live(), now=0.0, until=1e12)
    move(store, "o-1", 2, "created", "paid", hooks=("c",))  # free, but after theirs
    assert store.claim(WF, "o-1", owner="me", proof=store.identity(), now=1.0, until=9.0) == []
    assert store.claim(WF, None, owner="me", proof=store.identity(), now=1.0, until=9.0) == []


def test_claim_stops_an_instance_at_its_dead_work(store: Store) -> None:
    start(store, hooks=("a", "b"))
    me = store.identity()
    a, _b = store.claim(WF, "o-1", owner="w", proof=me, now=0.0, until=10.0)
    store.fail(a, "boom", dead=True)
    # b comes after dead work: running it now would run it out of order.
    assert store.claim(WF, "o-1", owner="w", proof=me, now=0.0, until=10.0) == []


def test_claim_over_a_whole_workflow_orders_by_instance_and_respects_limit(store: Store) -> None:
    start(store, "b", hooks=("x",))
    start(store, "a", hooks=("y", "z"))
    start(store, "c", wf="other", hooks=("q",))
    me = store.identity()
    items = store.claim(WF, None, owner="w", proof=me, now=0.0, until=10.0)
    assert [(w.instance_id, w.hook) for w in items] == [("a", "y"), ("a", "z"), ("b", "x")]
    start(store, "d", hooks=("u", "v"))
    assert len(store.claim(WF, "d", owner="w", proof=me, now=0.0, until=10.0, limit=1)) == 1


def test_completed_work_is_never_claimed(store: Store) -> None:
    start(store, hooks=("a",))
    store.complete(store.pending_work(WF, "o-1"))
    assert store.claim(WF, "o-1", owner="w", proof=store.identity(), now=0.0, until=10.0) == []


def test_fail_records_the_attempt_and_error_and_releases_the_holders_leases(
    store: Store, rivals: Rivals
) -> None:
    start(store, hooks=("a", "b"))
    theirs = rivals.live()
    a, _b = store.claim(WF, "o-1", owner="w1", proof=theirs, now=0.0, until=1e12)
    store.fail(a, "ValueError: boom", dead=False)
    items = store.pending_work(WF, "o-1")
    assert (items[0].attempts, items[0].last_error, items[0].status) == (
        1,
        "ValueError: boom",
        WorkStatus.PENDING,
    )
    assert [(w.lease_owner, w.lease_proof) for w in items] == [(None, None), (None, None)]
    assert len(store.claim(WF, "o-1", owner="w2", proof=store.identity(), now=1.0, until=2.0)) == 2


def test_release_frees_held_work_for_any_worker(store: Store, rivals: Rivals) -> None:
    start(store, hooks=("a", "b"))
    theirs = rivals.live()
    held = store.claim(WF, "o-1", owner="w1", proof=theirs, now=0.0, until=1e12)
    store.release(held[1:])
    assert [w.lease_proof for w in store.pending_work(WF, "o-1")] == [theirs, None]
    store.release(held[:1])
    assert len(store.claim(WF, "o-1", owner="w2", proof=store.identity(), now=1.0, until=2.0)) == 2


def test_dead_work_flags_the_instance_and_is_never_claimed(store: Store) -> None:
    start(store, hooks=("a",))
    me = store.identity()
    (a,) = store.claim(WF, "o-1", owner="w", proof=me, now=0.0, until=10.0)
    store.fail(a, "boom", dead=True)
    rec = store.load(WF, "o-1")
    assert rec is not None and (rec.pending, rec.dead) == (0, 1)
    assert [w.status for w in store.pending_work(WF, "o-1")] == [WorkStatus.DEAD]
    assert store.claim(WF, "o-1", owner="w", proof=me, now=0.0, until=10.0) == []
    assert [r.instance_id for r in store.instances(WF, dead_only=True)] == ["o-1"]


def test_revive_makes_dead_work_pending_with_zero_attempts(store: Store) -> None:
    start(store, hooks=("a",))
    (a,) = store.claim(WF, "o-1", owner="w", proof=store.identity(), now=0.0, until=10.0)
    store.fail(a, "boom", dead=True)
    assert store.revive(WF, "o-1") == 1
    (again,) = store.pending_work(WF, "o-1")
    assert (again.status, again.attempts, again.lease_proof) == (WorkStatus.PENDING, 0, None)
    rec = store.load(WF, "o-1")
    assert rec is not None and (rec.pending, rec.dead) == (1, 0)
    assert store.revive(WF, "o-1") == 0


# -- listing ----------------------------------------------------------------------


def test_instances_filter_by_workflow_state_and_pending_work(store: Store) -> None:
    start(store, "a", hooks=("h",))
    start(store, "b")
    move(store, "b", 2, "created", "paid")
    start(store, "c", wf="other")
    assert [(r.workflow, r.instance_id) for r in store.instances()] == [
        ("order", "a"),
        ("order", "b"),
        ("other", "c"),
    ]
    assert [r.instance_id for r in store.instances(WF, state="paid")] == ["b"]
    assert [r.instance_id for r in store.instances(WF, pending_only=True)] == ["a"]
    assert [(r.workflow, r.state) for r in store.instances(instance_id="c")] == [
        ("other", "created")
    ]
    assert store.instances(WF, instance_id="c") == []


def test_other_fingerprints_lists_instances_started_under_another_spec(store: Store) -> None:
    start(store, "a", fp="old")
    start(store, "b", fp="new")
    start(store, "c", fp="old", wf="other")
    assert store.other_fingerprints(WF, "new") == ["a"]


def test_a_closed_store_refuses_to_work(store: Store) -> None:
    store.close()
    with pytest.raises(StoreError):
        store.load(WF, "o-1")
    store.close()  # closing twice is harmless


# -- timers (SPEC §7.2) -------------------------------------------------------------

#: A due time (milliseconds since the epoch), and the duration the timers wait.
T0 = 1_800_000_000_000
MINUTE = 60_000


def timer(
    iid: str,
    seq: int,
    index: int,
    due: int,
    *,
    wf: str = WF,
    state: str = "created",
    target: str = "cancelled",
) -> Timer:
    return Timer(wf, iid, seq, index, state, target, 30 * MINUTE, due)


def armed(store: Store, iid: str, wf: str = WF) -> list[tuple[int, int, int]]:
    """``(seq, index, due)`` of the instance's armed timers, in due order."""
    return [(t.seq, t.index, t.due) for t in store.timers(wf, instance_id=iid)]


def start_armed(store: Store, iid: str, *dues: int, wf: str = WF) -> None:
    record = InstanceRecord(wf, iid, "created", 1, "fp1", created_at=AT, updated_at=AT)
    first = Transition(1, TransitionKind.START, None, "created", None, None, {}, AT)
    store.create(record, first, (), timers=[timer(iid, 1, i, d, wf=wf) for i, d in enumerate(dues)])


def test_create_arms_timers_and_load_gives_the_soonest_due(store: Store) -> None:
    start_armed(store, "o-1", T0 + MINUTE, T0)
    rec = store.load(WF, "o-1")
    assert rec is not None and rec.next_due == T0
    assert rec.next_due_at == datetime(2027, 1, 15, 8, 0, tzinfo=UTC)
    assert armed(store, "o-1") == [(1, 1, T0), (1, 0, T0 + MINUTE)]
    (first, _) = store.timers(WF, instance_id="o-1")
    assert (first.state, first.target, first.after_ms, first.lease_proof) == (
        "created",
        "cancelled",
        30 * MINUTE,
        None,
    )


def test_load_armed_reads_an_instance_with_its_timers(store: Store) -> None:
    start_armed(store, "o-1", T0 + MINUTE, T0)
    start(store, "bare")
    found = store.load_armed(WF, "o-1")
    assert found is not None
    record, timers = found
    assert record == store.load(WF, "o-1")
    assert timers == store.timers(WF, instance_id="o-1")
    assert [t.index for t in timers] == [1, 0]
    assert store.load_armed(WF, "bare") == (store.load(WF, "bare"), [])
    assert store.load_armed(WF, "ghost") is None


def test_an_instance_without_timers_has_no_next_due(store: Store) -> None:
    start(store)
    rec = store.load(WF, "o-1")
    assert rec is not None and rec.next_due is None
    assert store.timers(WF, instance_id="o-1") == []


def test_append_disarms_the_state_left_and_arms_the_state_entered(store: Store) -> None:
    start_armed(store, "o-1", T0, T0 + MINUTE)
    t = Transition(2, TransitionKind.EVENT, "created", "paid", "pay", None, {}, AT)
    store.append(WF, "o-1", t, (), compensating=None, timers=[timer("o-1", 2, 3, T0 + 5 * MINUTE)])
    assert armed(store, "o-1") == [(2, 3, T0 + 5 * MINUTE)]
    rec = store.load(WF, "o-1")
    assert rec is not None and rec.next_due == T0 + 5 * MINUTE
    # A self transition leaves and re-enters: the visit's timers are new ones.
    again = Transition(3, TransitionKind.EVENT, "paid", "paid", "poke", None, {}, AT)
    store.append(WF, "o-1", again, (), compensating=None, timers=[timer("o-1", 3, 3, T0)])
    assert armed(store, "o-1") == [(3, 3, T0)]
    # A transition into a state that arms nothing leaves none armed.
    done = Transition(4, TransitionKind.EVENT, "paid", "cancelled", "cancel", None, {}, AT)
    store.append(WF, "o-1", done, (), compensating=None)
    assert armed(store, "o-1") == []
    rec = store.load(WF, "o-1")
    assert rec is not None and rec.next_due is None
    assert store.next_due(WF) is None


def test_an_append_that_conflicts_neither_disarms_nor_arms(store: Store) -> None:
    start_armed(store, "o-1", T0)
    stale = Transition(3, TransitionKind.EVENT, "created", "paid", "pay", None, {}, AT)
    with pytest.raises(VersionConflict):
        store.append(WF, "o-1", stale, (), compensating=None, timers=[timer("o-1", 3, 0, T0 - 1)])
    assert armed(store, "o-1") == [(1, 0, T0)]
    assert store.next_due(WF) == T0


def test_next_due_is_the_soonest_of_the_workflow_and_can_look_past_a_time(store: Store) -> None:
    assert store.next_due(WF) is None
    start_armed(store, "b", T0 + 2 * MINUTE)
    start_armed(store, "a", T0 + 3 * MINUTE, T0 + MINUTE)
    start_armed(store, "c", T0, wf="other")
    assert store.next_due(WF) == T0 + MINUTE
    assert store.next_due(WF, after=T0 + MINUTE) == T0 + 2 * MINUTE
    assert store.next_due(WF, after=T0 + 3 * MINUTE) is None
    assert store.next_due("other") == T0


def test_the_next_due_stays_right_as_thousands_are_armed_and_removed(store: Store) -> None:
    for i in range(1500):
        start_armed(store, f"i{i:04}", T0 + i * MINUTE)
    # Spend the 1,200 soonest; the rest of the index must still answer right.
    store.disarm([timer(f"i{i:04}", 1, 0, T0 + i * MINUTE) for i in range(1200)])
    assert store.next_due(WF) == T0 + 1200 * MINUTE
    assert store.next_due(WF, after=T0 + 1300 * MINUTE) == T0 + 1301 * MINUTE
    assert len(store.timers(WF, due_by=T0 + 1249 * MINUTE)) == 50


def test_timers_are_listed_by_due_time_and_filtered(store: Store) -> None:
    start_armed(store, "b", T0 + MINUTE)
    start_armed(store, "a", T0 + MINUTE, T0 + 9 * MINUTE)
    start_armed(store, "c", T0, wf="other")
    assert [(t.workflow, t.instance_id, t.due) for t in store.timers()] == [
        ("other", "c", T0),
        (WF, "a", T0 + MINUTE),
        (WF, "b", T0 + MINUTE),
        (WF, "a", T0 + 9 * MINUTE),
    ]
    assert [t.instance_id for t in store.timers(WF, due_by=T0 + MINUTE)] == ["a", "b"]
    assert [t.instance_id for t in store.timers(instance_id="c")] == ["c"]


def test_claim_timers_leases_the_due_ones_earliest_first(store: Store) -> None:
    start_armed(store, "late", T0 + MINUTE)
    start_armed(store, "early", T0 - MINUTE)
    start_armed(store, "future", T0 + 60 * MINUTE)
    me = store.identity()
    claimed = store.claim_timers(WF, due_by=T0 + MINUTE, owner="w1", proof=me, now=1.0, until=61.0)
    assert [(t.instance_id, t.lease_owner, t.lease_until, t.lease_proof) for t in claimed] == [
        ("early", "w1", 61.0, me),
        ("late", "w1", 61.0, me),
    ]
    assert store.timers(WF, instance_id="early") == claimed[:1]
    one = store.claim_timers(
        WF, due_by=T0 + MINUTE, owner="w1", proof=me, now=1.0, until=9.0, limit=1
    )
    assert [t.instance_id for t in one] == ["early"]  # its own claim is free to it


def test_a_due_timer_a_live_worker_holds_is_left_to_it_until_its_lease_expires(
    store: Store, rivals: Rivals
) -> None:
    start_armed(store, "o-1", T0, T0 + 1)
    start_armed(store, "o-2", T0)
    theirs = rivals.live()
    store.claim_timers(WF, due_by=T0, owner="them", proof=theirs, now=0.0, until=100.0)
    me = store.identity()
    # o-1's second timer is free, but its instance is in another worker's hands.
    mine = store.claim_timers(WF, due_by=T0 + 1, owner="me", proof=me, now=50.0, until=60.0)
    assert mine == []
    expired = store.claim_timers(WF, due_by=T0 + 1, owner="me", proof=me, now=101.0, until=160.0)
    assert sorted((t.instance_id, t.index) for t in expired) == [("o-1", 0), ("o-1", 1), ("o-2", 0)]


def test_a_due_timer_a_dead_worker_holds_is_free_at_once(store: Store, rivals: Rivals) -> None:
    start_armed(store, "o-1", T0)
    store.claim_timers(WF, due_by=T0, owner="them", proof=rivals.dead(), now=0.0, until=1e12)
    me = store.identity()
    (taken,) = store.claim_timers(WF, due_by=T0, owner="me", proof=me, now=1.0, until=61.0)
    assert (taken.instance_id, taken.lease_owner, taken.lease_proof) == ("o-1", "me", me)


def test_disarm_spends_timers_and_is_idempotent(store: Store) -> None:
    start_armed(store, "o-1", T0, T0 + MINUTE)
    spent = timer("o-1", 1, 0, T0)
    store.disarm([spent])
    store.disarm([spent])
    store.disarm([])
    assert armed(store, "o-1") == [(1, 1, T0 + MINUTE)]
    rec = store.load(WF, "o-1")
    assert rec is not None and rec.next_due == T0 + MINUTE
    assert store.next_due(WF) == T0 + MINUTE


def test_released_timers_stay_armed_and_are_free_for_any_worker(
    store: Store, rivals: Rivals
) -> None:
    start_armed(store, "o-1", T0)
    theirs = rivals.live()
    held = store.claim_timers(WF, due_by=T0, owner="them", proof=theirs, now=0.0, until=1e12)
    store.release_timers(held)
    (t,) = store.timers(WF, instance_id="o-1")
    assert (t.lease_owner, t.lease_proof) == (None, None)
    me = store.identity()
    assert len(store.claim_timers(WF, due_by=T0, owner="me", proof=me, now=1.0, until=2.0)) == 1


def test_timers_released_until_a_time_are_free_for_no_one_before_it(store: Store) -> None:
    start_armed(store, "o-1", T0)
    me = store.identity()
    held = store.claim_timers(WF, due_by=T0, owner="me", proof=me, now=0.0, until=100.0)
    store.release_timers(held, until=500.0)
    (t,) = store.timers(WF, instance_id="o-1")
    assert (t.lease_owner, t.lease_until, t.lease_proof) == ("me", 500.0, None)
    assert store.claim_timers(WF, due_by=T0, owner="me", proof=me, now=499.0, until=9.0) == []
    assert len(store.claim_timers(WF, due_by=T0, owner="me", proof=me, now=501.0, until=9.0)) == 1


def test_a_listener_wakes_when_a_sooner_timer_is_armed(
    store_factory: Callable[[], Store],
) -> None:
    store = store_factory()
    listener = store.listen([WF])
    try:
        assert listener.wait(0.05) is False  # nothing armed: the time runs out
        other = store_factory()  # another connection (PostgreSQL: heard through NOTIFY)
        start_armed(other, "later", T0 + MINUTE)
        assert listener.wait(0.3, sooner_than=T0) is False  # not sooner: keep sleeping
        start_armed(other, "other-workflow", T0 - MINUTE, wf="other")
        start_armed(other, "sooner", T0 - MINUTE)
        assert listener.wait(10.0, sooner_than=T0) is True
    finally:
        listener.close()


def test_a_closed_store_refuses_timer_calls(store: Store) -> None:
    store.close()
    with pytest.raises(StoreError):
        store.next_due(WF)
    with pytest.raises(StoreError):
        store.timers(WF)


def test_begin_counts_an_attempt_before_the_run_and_fail_after_it_adds_none(
    store: Store,
) -> None:
    start(store, hooks=("a", "b"))
    a, _b = store.claim(WF, "o-1", owner="w", proof=store.identity(), now=0.0, until=1e12)
    store.begin(a)
    assert [w.attempts for w in store.pending_work(WF, "o-1")] == [1, 0]
    store.begin(a)  # a worker that died in it, and the next run
    store.fail(a, "ValueError: boom", dead=False, begun=True)
    first = store.pending_work(WF, "o-1")[0]
    assert (first.attempts, first.last_error, first.status) == (
        2,
        "ValueError: boom",
        WorkStatus.PENDING,
    )
    store.fail(a, "ValueError: boom", dead=True, begun=True)
    assert store.pending_work(WF, "o-1")[0].status is WorkStatus.DEAD
    store.begin(a)  # dead work is not counted any more
    assert store.pending_work(WF, "o-1")[0].attempts == 2


def test_begin_on_done_work_changes_nothing(store: Store) -> None:
    start(store, hooks=("a",))
    (a,) = store.pending_work(WF, "o-1")
    store.complete([a])
    store.begin(a)
    assert store.pending_work(WF, "o-1") == []
    assert store.instances(WF, pending_only=True) == []
