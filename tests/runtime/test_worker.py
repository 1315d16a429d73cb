"""The long-running worker (``Manager.run_worker``, ``runtime.worker.run_worker``),
on every store: it runs owed hook work and fires due timers for several
workflows, logs what it does, wakes early when a sooner timer is armed, and
stops cleanly, holding nothing."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import wfdsl
from wfdsl.errors import HookFailed
from wfdsl.runtime.context import Context
from wfdsl.runtime.manager import Manager
from wfdsl.runtime.worker import run_worker
from wfdsl.stores.base import Store
from wfdsl.stores.memory import MemoryStore

ORDER = """workflow order {
    initial state created
    final state cancelled { enter release_hold }
    final state paid
    event pay
    created -> paid on pay
    created -> cancelled after 30m
}"""
KYC = """workflow kyc {
    initial state review { enter assign }
    state escalated { enter page_supervisor }
    final state approved
    event approve
    review -> approved on approve
    review -> escalated after 2d
    escalated -> approved on approve
}"""

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Effects:
    def __init__(self) -> None:
        self.log: list[str] = []
        self.failing: set[str] = set()
        self.ran = threading.Event()

    def hooks(self, *names: str) -> dict[str, Any]:
        def hook(name: str) -> Any:
            def run(ctx: Context) -> None:
                if name in self.failing:
                    raise ConnectionError(f"{name} is down")
                self.log.append(ctx.effect_key)
                self.ran.set()

            return run

        return {n: hook(n) for n in names}


def managers(store: Store, effects: Effects, now: datetime) -> list[Manager[str, str]]:
    return [
        Manager(wfdsl.loads(ORDER), store, hooks=effects.hooks("release_hold"), clock=lambda: now),
        Manager(
            wfdsl.loads(KYC),
            store,
            hooks=effects.hooks("assign", "page_supervisor"),
            clock=lambda: now,
            max_attempts=2,
        ),
    ]


def test_one_worker_fires_the_due_timers_of_several_workflows_and_runs_owed_work(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    effects = Effects()
    order, kyc = managers(store, effects, T0)
    order.start("o-1")
    order.start("o-2")
    order.send("o-2", "pay")
    effects.failing.add("assign")
    with pytest.raises(HookFailed):
        kyc.start("k-1")
    effects.failing.clear()
    late_order, late_kyc = managers(store, effects, T0 + timedelta(days=3))
    with caplog.at_level(logging.INFO, logger="wfdsl.worker"):
        stats = run_worker([late_order, late_kyc], until_idle=True)
    assert (stats.fired, stats.failed, stats.ok) == (2, 0, True)
    assert order.state("o-1") == "cancelled" and order.state("o-2") == "paid"
    assert kyc.state("k-1") == "escalated"
    assert sorted(effects.log) == [
        "kyc/k-1/1/assign",
        "kyc/k-1/2/page_supervisor",
        "order/o-1/2/release_hold",
    ]
    assert effects.log.index("kyc/k-1/1/assign") < effects.log.index("kyc/k-1/2/page_supervisor")
    lines = [r.getMessage() for r in caplog.records]
    assert (
        "order/o-1: created -> cancelled after 30m "
        "(timer due 2026-03-01T12:30:00.000Z, fired 2d23h30m late)" in lines
    )
    assert any(line.startswith("kyc/k-1: review -> escalated after 2d") for line in lines)


def test_failed_and_dead_work_are_logged(store: Store, caplog: pytest.LogCaptureFixture) -> None:
    effects = Effects()
    _, kyc = managers(store, effects, T0)
    kyc.start("k-1")
    late = managers(store, effects, T0 + timedelta(days=2))[1]
    effects.failing.add("page_supervisor")
    with caplog.at_level(logging.INFO, logger="wfdsl.worker"):
        stats = run_worker([late], until_idle=True)
        stats_again = run_worker([late], until_idle=True)
    assert kyc.state("k-1") == "escalated"
    assert not stats.ok and stats_again.dead == {"kyc/k-1"}
    messages = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert (
        "WARNING",
        "kyc/k-1: page_supervisor failed: ConnectionError: page_supervisor is down; "
        "it will be retried",
    ) in messages
    assert any(
        level == "ERROR" and "kyc/k-1: page_supervisor is dead after 2 attempts" in text
        for level, text in messages
    )


def test_the_work_of_a_dead_worker_is_taken_over_and_said_so(
    store: Store, rivals: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from wfdsl.ir import HookKind
    from wfdsl.stores.records import InstanceRecord, Transition, TransitionKind, WorkItem

    effects = Effects()
    _, kyc = managers(store, effects, T0)
    # What a worker killed right after writing k-1's start leaves: its hook
    # work, held by a process that is gone.
    record = InstanceRecord("kyc", "k-1", "review", 1, kyc.fingerprint, created_at=T0)
    first = Transition(1, TransitionKind.START, None, "review", None, None, {}, T0)
    held = WorkItem(
        "kyc", "k-1", 1, 0, "assign", HookKind.ENTER, lease_owner="host:4242",
        lease_until=1e12, lease_proof=rivals.dead(),
    )  # fmt: skip
    store.create(record, first, [held])
    with caplog.at_level(logging.INFO, logger="wfdsl.worker"):
        stats = run_worker([kyc], until_idle=True)
    assert effects.log == ["kyc/k-1/1/assign"] and stats.taken_over == 1
    assert "kyc/k-1: took over assign from worker host:4242 (gone, or its lease ran out)" in [
        r.getMessage() for r in caplog.records
    ]


def test_a_sleeping_worker_wakes_when_a_sooner_timer_is_armed(store: Store) -> None:
    effects = Effects()
    # The worker's clock is 31 minutes ahead of the one that starts the order, so
    # the timer is due for it the moment it is armed.
    worker = managers(store, effects, T0 + timedelta(minutes=31))[0]
    stop = threading.Event()
    done: list[Any] = []
    thread = threading.Thread(target=lambda: done.append(worker.run_worker(stop, poll=600.0)))
    thread.start()
    try:
        starter = managers(store, effects, T0)[0]
        starter.start("o-1")
        # With a 10-minute poll, only the arming wakes it.
        assert effects.ran.wait(30.0), "the worker did not wake for the armed timer"
        assert starter.state("o-1") == "cancelled"
    finally:
        stop.set()
        thread.join(30.0)
    assert not thread.is_alive() and done[0].fired == 1


@pytest.mark.postgres
def test_a_worker_on_postgresql_wakes_when_another_process_arms_a_sooner_timer(
    postgres: Any, pg_schema: str
) -> None:
    effects = Effects()
    store = postgres.store(pg_schema)
    worker = managers(store, effects, T0 + timedelta(minutes=31))[0]
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_worker, args=(stop,), kwargs={"poll": 600.0})
    script = (
        "import sys, wfdsl\n"
        "from datetime import datetime, UTC\n"
        "from wfdsl import Manager\n"
        "from wfdsl.stores.postgres import PostgresStore\n"
        f"spec = wfdsl.loads({ORDER!r})\n"
        "with PostgresStore(sys.argv[1], schema=sys.argv[2]) as store:\n"
        "    Manager(spec, store, hooks={'release_hold': print},\n"
        f"            clock=lambda: datetime.fromisoformat({T0.isoformat()!r})).start('o-9')\n"
    )
    effects.ran.clear()
    thread.start()
    try:
        subprocess.run([sys.executable, "-c", script, postgres.dsn, pg_schema], check=True)
        assert effects.ran.wait(30.0), "the worker did not hear the other process's timer"
        assert store.history("order", "o-9")[-1].target == "cancelled"
    finally:
        stop.set()
        thread.join(30.0)
        store.close()
    assert not thread.is_alive()


def test_stopping_releases_the_timers_not_yet_tried(store: Store) -> None:
    effects = Effects()
    order = managers(store, effects, T0)[0]
    for i in range(5):
        order.start(f"o-{i}")
    late = managers(store, effects, T0 + timedelta(hours=1))[0]
    calls = iter([False, True])  # stop after the first instance
    report = late._fire_due(None, 100, lambda: next(calls, True))
    assert len(report.fired) == 1
    left = store.timers("order")
    assert len(left) == 4 and all(t.lease_proof is None for t in left)


def test_a_worker_stops_when_asked_and_holds_nothing(store: Store) -> None:
    effects = Effects()
    order = managers(store, effects, T0)[0]
    order.start("o-1")
    stop = threading.Event()
    stop.set()
    stats = order.run_worker(stop)
    assert stats.passes == 0 and order.state("o-1") == "created"
    assert all(t.lease_proof is None for t in store.timers("order"))


def test_run_worker_refuses_managers_it_cannot_serve(store: Store) -> None:
    effects = Effects()
    order, _ = managers(store, effects, T0)
    with pytest.raises(ValueError, match="at least one"):
        run_worker([])
    with pytest.raises(ValueError, match="one manager per workflow"):
        run_worker([order, order])
    other = Manager(
        wfdsl.loads(KYC), MemoryStore(), hooks=effects.hooks("assign", "page_supervisor")
    )
    with pytest.raises(ValueError, match="share one store"):
        run_worker([order, other])
    with pytest.raises(ValueError, match="poll"):
        order.run_worker(poll=0)
