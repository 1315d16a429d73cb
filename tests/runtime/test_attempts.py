"""Hook work bookkeeping (SPEC §7): each hook is marked done as it returns, so a
crash after the first of several hooks does not run it again; and a run counts
as an attempt when it *starts*, so a hook that kills its worker still uses up
its attempts and its work goes dead after ``max_attempts``. Across real
processes on the shared stores, and in one process on every store."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import wfdsl
from wfdsl.errors import HookFailed, WorkDead
from wfdsl.runtime.context import Context
from wfdsl.runtime.manager import Manager
from wfdsl.stores.base import Store
from wfdsl.stores.records import WorkStatus

from .test_ordering import Child, manager, ran


@pytest.fixture
def log(tmp_path: Path) -> str:
    return str(tmp_path / "hooks.log")


@pytest.fixture
def child(shared_store: Store, request: pytest.FixtureRequest, log: str) -> Iterator[Child]:
    made = Child(shared_store, request, log)
    try:
        yield made
    finally:
        made.close()


def test_a_crash_after_the_first_hook_does_not_run_it_again(
    shared_store: Store, child: Child, log: str
) -> None:
    mgr = manager(shared_store, log)
    mgr.start("o-1")
    killed = child.run("send", "o-1", "pay", "die", "send_receipt")
    killed.communicate()
    assert killed.returncode == -9
    # charge_card returned before the kill: it is done, only send_receipt is owed.
    assert [w.hook for w in shared_store.pending_work("shop", "o-1")] == ["send_receipt"]
    report = mgr.resume()
    assert report.ok and report.completed == [("o-1", "send_receipt")]
    assert ran(log) == [
        ("charge_card", 2, killed.pid),
        ("send_receipt", 2, killed.pid),
        ("send_receipt", 2, os.getpid()),
    ]


def test_a_hook_that_kills_its_worker_uses_up_its_attempts_and_goes_dead(
    shared_store: Store, child: Child, log: str
) -> None:
    mgr = manager(shared_store, log)  # max_attempts=5, as the child's
    mgr.start("o-1")
    first = child.run("send", "o-1", "pay", "die", "charge_card")
    first.communicate()
    attempts = [shared_store.pending_work("shop", "o-1")[0].attempts]
    for _ in range(4):
        again = child.run("resume", "die", "charge_card")
        again.communicate()
        assert again.returncode == -9
        attempts.append(shared_store.pending_work("shop", "o-1")[0].attempts)
    assert attempts == [1, 2, 3, 4, 5]
    # Five starts, five deaths: the sixth run is not started; the work is dead.
    report = mgr.resume()
    assert report.dead == ["o-1"] and not report.ok
    assert [h for h, _, _ in ran(log)] == ["charge_card"] * 5
    item = shared_store.pending_work("shop", "o-1")[0]
    assert item.status is WorkStatus.DEAD
    assert item.last_error is not None and "killed or crashed" in item.last_error
    with pytest.raises(WorkDead):
        mgr.send("o-1", "cancel")


SPEC = wfdsl.loads(
    """workflow trio {
        initial state idle
        state busy { enter a, b, c }
        event go
        idle -> busy on go
    }"""
)


def test_each_hook_is_marked_done_as_it_returns(store: Store) -> None:
    seen: list[tuple[str, int]] = []
    pending_at: dict[str, list[str]] = {}

    def hook(ctx: Context) -> None:
        seen.append((ctx.hook, ctx.attempt))
        pending_at[ctx.hook] = [w.hook for w in store.pending_work("trio", ctx.instance_id)]

    mgr = Manager(SPEC, store, hooks=dict.fromkeys(("a", "b", "c"), hook))
    mgr.start("t-1")
    mgr.send("t-1", "go")
    # When b starts, a is done already; when c starts, b is too.
    assert pending_at == {"a": ["a", "b", "c"], "b": ["b", "c"], "c": ["c"]}
    assert seen == [("a", 1), ("b", 1), ("c", 1)]


def test_attempts_count_starts_and_failures_alike(store: Store) -> None:
    calls: list[tuple[str, int]] = []
    fail_b = {"left": 2}

    def hook(ctx: Context) -> None:
        calls.append((ctx.hook, ctx.attempt))
        if ctx.hook == "b" and fail_b["left"]:
            fail_b["left"] -= 1
            raise RuntimeError("b is down")

    mgr = Manager(SPEC, store, hooks=dict.fromkeys(("a", "b", "c"), hook), max_attempts=3)
    mgr.start("t-1")
    with pytest.raises(HookFailed) as failed:
        mgr.send("t-1", "go")
    assert failed.value.attempt == 1
    assert [(w.hook, w.attempts) for w in store.pending_work("trio", "t-1")] == [
        ("b", 1),
        ("c", 0),
    ]
    with pytest.raises(HookFailed) as again:
        mgr.retry("t-1")
    assert again.value.attempt == 2
    mgr.retry("t-1")
    assert calls == [("a", 1), ("b", 1), ("b", 2), ("b", 3), ("c", 1)]
    assert store.pending_work("trio", "t-1") == []
