"""``Store.append_many``: many appends in one transaction, each with the
meaning it has alone; run against every backend (tests/conftest.py STORES)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from wfdsl.errors import StoreError, UnknownInstance, VersionConflict
from wfdsl.stores.base import Store
from wfdsl.stores.batch import Append
from wfdsl.stores.records import InstanceRecord, Timer, Transition, TransitionKind
from wfdsl.stores.sqlite import SQLiteStore

from .test_conformance import AT, WF, start, work

MINUTE = 60_000
DUE = 1_767_322_000_000


def step(
    iid: str,
    seq: int,
    source: str,
    target: str,
    *,
    key: str | None = None,
    hooks: tuple[str, ...] = (),
    timers: tuple[Timer, ...] = (),
    data: dict[str, object] | None = None,
) -> Append:
    t = Transition(seq, TransitionKind.EVENT, source, target, "go", key, data or {}, AT)
    return Append(WF, iid, t, work(iid, seq, hooks), None, timers)


def timer(iid: str, seq: int, state: str, *, index: int = 0, due: int = DUE) -> Timer:
    return Timer(WF, iid, seq, index, state, "expired", 30 * MINUTE, due)


def path(store: Store, iid: str) -> list[tuple[int, str]]:
    return [(t.seq, t.target) for t in store.history(WF, iid)]


def test_appends_to_many_instances_are_all_written(store: Store) -> None:
    for i in range(3):
        start(store, f"o-{i}")
    out = store.append_many(
        [step(f"o-{i}", 2, "created", "paid", key=f"k{i}", data={"n": i}) for i in range(3)]
    )
    assert out == [None, None, None]
    for i in range(3):
        rec = store.load(WF, f"o-{i}")
        assert rec is not None and (rec.state, rec.version) == ("paid", 2)
        found = store.find_key(WF, f"o-{i}", f"k{i}")
        assert found is not None and found.data == {"n": i}


def test_a_chain_of_one_instance_applies_in_order(store: Store) -> None:
    start(store)
    out = store.append_many(
        [
            step("o-1", 2, "created", "paid"),
            step("o-1", 3, "paid", "shipped", hooks=("notify",)),
            step("o-1", 4, "shipped", "done"),
        ]
    )
    assert out == [None, None, None]
    assert path(store, "o-1") == [(1, "created"), (2, "paid"), (3, "shipped"), (4, "done")]
    rec = store.load(WF, "o-1")
    assert rec is not None and (rec.version, rec.pending) == (4, 1)
    assert [(w.seq, w.hook) for w in store.pending_work(WF, "o-1")] == [(3, "notify")]


def test_a_stale_append_fails_alone_and_the_others_are_written(store: Store) -> None:
    start(store, "a")
    start(store, "b")
    start(store, "c")
    out = store.append_many(
        [
            step("a", 2, "created", "paid"),
            step("b", 3, "created", "paid"),  # b is at version 1: stale
            step("b", 4, "paid", "shipped"),  # after a failure in its chain
            step("c", 2, "created", "paid"),
            step("zz", 2, "created", "paid"),  # never started
        ]
    )
    assert out[0] is None and out[3] is None
    assert isinstance(out[1], VersionConflict) and isinstance(out[2], VersionConflict)
    assert isinstance(out[4], UnknownInstance)
    assert path(store, "a")[-1] == (2, "paid")
    assert path(store, "b") == [(1, "created")]
    assert path(store, "c")[-1] == (2, "paid")
    assert store.load(WF, "zz") is None


def test_a_chain_is_written_up_to_its_failure_and_not_after(store: Store) -> None:
    start(store, "a")
    start(store, "b")
    store.append_many([step("a", 2, "created", "paid", key="used")])
    out = store.append_many(
        [
            step("a", 3, "paid", "shipped"),
            step("a", 4, "shipped", "done", key="used"),  # the key is taken
            step("a", 5, "done", "archived"),
            step("b", 2, "created", "paid"),
        ]
    )
    assert out[0] is None and out[3] is None
    assert isinstance(out[1], VersionConflict) and isinstance(out[2], VersionConflict)
    assert path(store, "a") == [(1, "created"), (2, "paid"), (3, "shipped")]
    rec = store.load(WF, "a")
    assert rec is not None and (rec.state, rec.version) == ("shipped", 3)
    assert path(store, "b")[-1] == (2, "paid")


def test_a_key_repeated_in_one_chain_is_written_once(store: Store) -> None:
    start(store)
    out = store.append_many(
        [step("o-1", 2, "created", "paid", key="k"), step("o-1", 3, "paid", "shipped", key="k")]
    )
    assert out[0] is None and isinstance(out[1], VersionConflict)
    assert path(store, "o-1") == [(1, "created"), (2, "paid")]


def test_timers_are_armed_and_the_left_states_disarmed_in_the_batch(store: Store) -> None:
    start(store, "a")
    start(store, "b")
    store.append_many([step("a", 2, "created", "waiting", timers=(timer("a", 2, "waiting"),))])
    assert [t.seq for t in store.timers(WF, instance_id="a")] == [2]
    out = store.append_many(
        [
            step("a", 3, "waiting", "paid"),  # leaves ``waiting``: its timer goes
            step("b", 2, "created", "waiting", timers=(timer("b", 2, "waiting", due=DUE + 5),)),
        ]
    )
    assert out == [None, None]
    assert store.timers(WF, instance_id="a") == []
    assert [(t.instance_id, t.due) for t in store.timers(WF)] == [("b", DUE + 5)]
    assert store.next_due(WF) == DUE + 5
    rec = store.load(WF, "b")
    assert rec is not None and rec.next_due == DUE + 5


def test_spent_timers_are_removed_in_the_same_transaction(store: Store) -> None:
    start(store, "a")
    start(store, "b")
    store.append_many(
        [
            step(
                "a",
                2,
                "created",
                "waiting",
                timers=(timer("a", 2, "waiting"), timer("a", 2, "waiting", index=1, due=DUE + 9)),
            )
        ]
    )
    spent = store.timers(WF, instance_id="a")[0]
    out = store.append_many([step("b", 2, "created", "paid")], disarm=[spent])
    assert out == [None]
    assert [t.index for t in store.timers(WF, instance_id="a")] == [1]
    rec = store.load(WF, "a")
    assert rec is not None and rec.next_due == DUE + 9
    assert path(store, "b")[-1] == (2, "paid")


def test_an_empty_batch_writes_nothing(store: Store) -> None:
    assert store.append_many([]) == []


def test_a_closed_store_refuses_a_batch(store: Store) -> None:
    store.close()
    with pytest.raises(StoreError):
        store.append_many([step("o-1", 2, "created", "paid")])


# -- group commit: SQLite appends from threads that arrive during a write --------------


def test_appends_that_queue_behind_a_write_are_committed_together_each_told_its_own(
    tmp_path: Path,
) -> None:
    store = SQLiteStore(str(tmp_path / "group.db"))
    for iid in ("a", "b"):
        start(store, iid)
    outcomes: dict[str, BaseException | None] = {}

    def append(name: str, iid: str, seq: int, key: str) -> None:
        t = Transition(seq, TransitionKind.EVENT, "created", "paid", "go", key, {}, AT)
        try:
            store.append(WF, iid, t, work(iid, seq, ("h",)), compensating=None)
            outcomes[name] = None
        except BaseException as exc:  # told to this thread, whatever it is
            outcomes[name] = exc

    threads = [
        threading.Thread(target=append, args=("a1", "a", 2, "x")),
        threading.Thread(target=append, args=("a2", "a", 2, "y")),  # the same seq: a race
        threading.Thread(target=append, args=("b", "b", 2, "z")),
    ]
    with store._lock:  # a write in progress: the three queue up behind it
        for t in threads:
            t.start()
        while len(store._queue) < 3:
            threading.Event().wait(0.001)  # until all three have queued
    for t in threads:
        t.join()
    assert outcomes["b"] is None
    won = [n for n in ("a1", "a2") if outcomes[n] is None]
    lost = [n for n in ("a1", "a2") if outcomes[n] is not None]
    assert len(won) == 1 and isinstance(outcomes[lost[0]], VersionConflict)
    assert [t.seq for t in store.history(WF, "a")] == [1, 2]
    assert store.history(WF, "a")[-1].key == {"a1": "x", "a2": "y"}[won[0]]
    assert [w.seq for w in store.pending_work(WF, "b")] == [2]
    assert store._queue == []


def test_threads_sending_through_one_sqlite_store_lose_nothing(tmp_path: Path) -> None:
    store = SQLiteStore(str(tmp_path / "threads.db"))
    for k in range(6):
        start(store, f"t{k}")

    def run(k: int) -> None:
        iid = f"t{k}"
        for seq in range(2, 42):
            t = Transition(seq, TransitionKind.EVENT, "s", "s", "go", f"k{seq}", {}, AT)
            store.append(WF, iid, t, (), compensating=None)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in range(6):
        assert [t.seq for t in store.history(WF, f"t{k}")] == list(range(1, 42))
        rec = store.load(WF, f"t{k}")
        assert rec is not None and rec.version == 41


def test_a_read_during_another_threads_write_sees_the_last_commit_without_waiting(
    tmp_path: Path,
) -> None:
    store = SQLiteStore(str(tmp_path / "aside.db"))
    start(store, "a")
    store.append_many([step("a", 2, "created", "paid")])
    seen: list[object] = []
    read = threading.Event()

    def load() -> None:
        seen.append(store.load(WF, "a"))
        read.set()

    with store._lock:  # another thread's write (and its flush) in progress
        reader = threading.Thread(target=load)
        reader.start()
        assert read.wait(30), "the read waited for the write"
    reader.join()
    rec = seen[0]
    assert isinstance(rec, InstanceRecord) and (rec.state, rec.version) == ("paid", 2)
    store.close()
    with pytest.raises(StoreError):
        store._load_aside(WF, "a")


def test_load_many_reads_the_instances_that_exist_as_load_gives_them(store: Store) -> None:
    start(store, "a")
    start(store, "b", hooks=("h",))
    store.append_many([step("a", 2, "created", "waiting", timers=(timer("a", 2, "waiting"),))])
    found = store.load_many(WF, ["a", "nope", "b", "a"])
    assert sorted(found) == ["a", "b"]
    assert found["a"] == store.load(WF, "a") and found["b"] == store.load(WF, "b")
    assert (found["a"].version, found["a"].next_due, found["b"].pending) == (2, DUE, 1)
    assert store.load_many(WF, []) == {}
