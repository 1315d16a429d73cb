"""One step at a time per instance (SPEC §7.1), on every store: the hooks of a
transition all finish before the instance's next transition is applied,
whichever thread or process sends; a dead worker holds nothing; a send from
inside a hook is refused at once; replays run owed work first.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import wfdsl
from wfdsl import Manager
from wfdsl.errors import (
    AlreadyStarted,
    HookFailed,
    IdempotencyConflict,
    ReentrantCall,
    WorkInProgress,
)
from wfdsl.ir import Spec
from wfdsl.runtime.context import Context
from wfdsl.stores.base import Store
from wfdsl.stores.memory import MemoryStore
from wfdsl.stores.postgres import PostgresStore
from wfdsl.stores.records import WorkStatus
from wfdsl.stores.sqlite import SQLiteStore

from .child import SHOP, shop_hooks

CHILD = str(Path(__file__).with_name("child.py"))
SPEC = wfdsl.loads(SHOP)


@pytest.fixture
def log(tmp_path: Path) -> str:
    return str(tmp_path / "hooks.log")


def ran(log: str) -> list[tuple[str, int, int]]:
    """``(hook, seq, pid)`` of every hook run, in the order they started."""
    if not os.path.exists(log):
        return []
    out = []
    for line in Path(log).read_text().splitlines():
        hook, seq, pid = line.split()
        out.append((hook, int(seq), int(pid)))
    return out


def hooks_ran(log: str) -> list[str]:
    return [hook for hook, _, _ in ran(log)]


class Child:
    """Another worker process on the store under test (see child.py)."""

    def __init__(self, store: Store, request: pytest.FixtureRequest, log: str) -> None:
        if isinstance(store, SQLiteStore):
            self.where = ["sqlite", store.path]
        else:
            assert isinstance(store, PostgresStore)
            self.where = ["postgres", request.getfixturevalue("postgres").dsn, store.schema]
        self.log = log
        self.procs: list[subprocess.Popen[str]] = []

    def run(self, *action: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, CHILD, self.log, *self.where, "--", *action],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.procs.append(proc)
        return proc

    def running(self, proc: subprocess.Popen[str], hook: str) -> None:
        """Wait (the child is a real process) until it runs ``hook``."""
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line == f"running {hook}\n", proc.stderr.read() if proc.stderr else line

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.communicate()


@pytest.fixture
def child(shared_store: Store, request: pytest.FixtureRequest, log: str) -> Iterator[Child]:
    made = Child(shared_store, request, log)
    try:
        yield made
    finally:
        made.close()


def manager(store: Store, log: str, **options: Any) -> Manager[str, str]:
    """A manager in this process with the child's hooks (logging with this pid)."""
    return Manager(SPEC, store, hooks=shop_hooks(log), **options)


# -- across processes ------------------------------------------------------------------


def test_a_worker_killed_mid_hook_is_taken_over_at_once_by_the_next_send(
    shared_store: Store, child: Child, log: str
) -> None:
    mgr = manager(shared_store, log, wait=0)  # default worker id; no waiting allowed
    mgr.start("o-1")
    killed = child.run("send", "o-1", "pay", "die", "charge_card")
    killed.communicate()
    assert killed.returncode == -9
    assert mgr.state("o-1") == "paid" and mgr.instance("o-1").pending == 2
    # The dead worker's charge_card runs first, then cancel: never a refund
    # ahead of the charge, and no waiting for a 60 s lease.
    mgr.send("o-1", "cancel")
    assert ran(log) == [
        ("charge_card", 2, killed.pid),
        ("charge_card", 2, os.getpid()),
        ("send_receipt", 2, os.getpid()),
        ("close_tab", 3, os.getpid()),
        ("refund_card", 3, os.getpid()),
    ]


def test_resume_after_a_crash_runs_the_dead_workers_hook_and_says_so(
    shared_store: Store, child: Child, log: str
) -> None:
    manager(shared_store, log).start("o-1")
    child.run("send", "o-1", "pay", "die", "charge_card").communicate()
    report = manager(shared_store, log, wait=0).resume()
    assert report.completed == [("o-1", "charge_card"), ("o-1", "send_receipt")]
    assert report.ok
    assert shared_store.instances("shop", pending_only=True) == []


def test_a_send_waits_for_a_live_worker_in_another_process_and_keeps_hook_order(
    shared_store: Store, child: Child, log: str
) -> None:
    mgr = manager(shared_store, log, wait=0)
    mgr.start("o-1")
    busy = child.run("send", "o-1", "pay", "block", "charge_card")
    child.running(busy, "charge_card")
    with pytest.raises(WorkInProgress) as info:
        mgr.send("o-1", "cancel")
    assert info.value.hooks == ("charge_card", "send_receipt")
    assert mgr.state("o-1") == "paid"  # nothing applied
    report = mgr.resume()
    # The hook in hand is in progress; the one after it is only queued.
    assert [(i, h) for i, h, _ in report.in_progress] == [("o-1", "charge_card")]
    assert report.queued == [("o-1", "send_receipt")]
    assert not report.ok
    # With time to wait, the send waits for the other worker, then goes on.
    patient = manager(shared_store, log, wait=60)
    sent: list[object] = []
    sender = threading.Thread(target=lambda: sent.append(patient.send("o-1", "cancel")))
    sender.start()
    assert busy.stdin is not None
    busy.stdin.write("go\n")
    busy.stdin.flush()
    _out, err = busy.communicate(timeout=60)
    assert busy.returncode == 0, err
    sender.join(timeout=60)
    assert len(sent) == 1
    assert hooks_ran(log) == ["charge_card", "send_receipt", "close_tab", "refund_card"]


def test_two_workers_given_the_same_worker_id_never_run_each_others_work(
    shared_store: Store, child: Child, log: str
) -> None:
    mgr = Manager(SPEC, shared_store, hooks=shop_hooks(log), worker_id="orders-1", wait=0)
    mgr.start("o-1")
    busy = child.run("send", "o-1", "pay", "block", "charge_card")
    child.running(busy, "charge_card")
    with pytest.raises(WorkInProgress):
        mgr.send("o-1", "cancel")
    assert mgr.resume().completed == []
    assert hooks_ran(log) == ["charge_card"]


# -- across threads ------------------------------------------------------------------


class Gate:
    """Hooks whose ``charge_card`` waits until released."""

    def __init__(self, log: list[str]) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.calls: dict[str, Any] = {n: self._hook for n in SPEC.hook_names()}
        self.log = log

    def _hook(self, ctx: Context) -> None:
        self.log.append(f"{ctx.hook} start")
        if ctx.hook == "charge_card":
            self.entered.set()
            assert self.release.wait(60)
        self.log.append(f"{ctx.hook} end")


def test_a_send_from_another_thread_waits_for_the_running_hooks(store: Store) -> None:
    log: list[str] = []
    gate = Gate(log)
    mgr = Manager(SPEC, store, hooks=gate.calls, wait=60)
    impatient = Manager(SPEC, store, hooks=gate.calls, wait=0)
    mgr.start("o-1")
    payer = threading.Thread(target=mgr.send, args=("o-1", "pay"))
    payer.start()
    assert gate.entered.wait(60)
    with pytest.raises(WorkInProgress):  # another manager, same process and data
        impatient.send("o-1", "cancel")
    canceller = threading.Thread(target=mgr.send, args=("o-1", "cancel"))
    canceller.start()
    gate.release.set()
    payer.join(60)
    canceller.join(60)
    assert log == [
        "charge_card start",
        "charge_card end",
        "send_receipt start",
        "send_receipt end",
        "close_tab start",
        "close_tab end",
        "refund_card start",
        "refund_card end",
    ]
    assert mgr.state("o-1") == "cancelled"


def test_a_hook_interrupted_by_a_base_exception_is_free_for_the_next_send(store: Store) -> None:
    stop = [True]
    runs: list[str] = []

    def charge(ctx: Context) -> None:
        runs.append(ctx.hook)
        if stop[0]:
            raise SystemExit(3)  # e.g. a thread told to stop, mid-hook

    hooks: dict[str, Any] = {n: (lambda c: runs.append(c.hook)) for n in SPEC.hook_names()}
    hooks["charge_card"] = charge
    mgr = Manager(SPEC, store, hooks=hooks, wait=0)
    mgr.start("o-1")
    with pytest.raises(SystemExit):
        mgr.send("o-1", "pay")
    # Nothing holds the work now: no thread, no lease.
    assert [w.lease_proof for w in store.pending_work("shop", "o-1")] == [None, None]
    stop[0] = False
    mgr.send("o-1", "cancel")
    assert runs == ["charge_card", "charge_card", "send_receipt", "close_tab", "refund_card"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")
def test_a_manager_in_a_forked_child_does_not_take_the_parents_work_for_its_own(
    store: Store,
) -> None:
    log: list[str] = []
    gate = Gate(log)
    mgr = Manager(SPEC, store, hooks=gate.calls, wait=0)
    mgr.start("o-1")
    payer = threading.Thread(target=mgr.send, args=("o-1", "pay"))
    payer.start()
    assert gate.entered.wait(60)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit status
        code = 1
        try:
            mgr.send("o-1", "cancel")
        except WorkInProgress:
            code = 0
        except BaseException:
            code = 2
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    gate.release.set()
    payer.join(60)
    assert os.waitstatus_to_exitcode(status) == 0
    assert log[-1] == "send_receipt end" and mgr.state("o-1") == "paid"


# -- from inside a hook -------------------------------------------------------------


def test_a_send_from_inside_a_hook_to_its_own_instance_is_refused_at_once(store: Store) -> None:
    runs: list[str] = []

    def charge(ctx: Context) -> None:
        runs.append(ctx.hook)
        mgr.send(ctx.instance_id, "cancel")  # while send_receipt is still owed

    hooks: dict[str, Any] = {n: (lambda c: runs.append(c.hook)) for n in SPEC.hook_names()}
    hooks["charge_card"] = charge
    mgr = Manager(SPEC, store, hooks=hooks)
    mgr.start("o-1")
    with pytest.raises(HookFailed) as info:
        mgr.send("o-1", "pay")
    assert info.value.hook == "charge_card"
    assert info.value.error.startswith("ReentrantCall: shop: send('cancel') to instance 'o-1'")
    assert isinstance(info.value.__cause__, ReentrantCall)
    assert runs == ["charge_card"]  # no exit hook, no refund, before send_receipt
    assert mgr.state("o-1") == "paid"


def test_a_guard_that_sends_to_its_own_instance_is_refused(store: Store) -> None:
    spec = wfdsl.loads(
        "workflow w { initial state a final state b state c event go, jump "
        "a -> b on go if check a -> c on jump }"
    )

    def check(ctx: Context) -> bool:
        mgr.send(ctx.instance_id, "jump")
        return True

    mgr = Manager(spec, store, hooks={"check": check})
    mgr.start("1")
    with pytest.raises(ReentrantCall):
        mgr.send("1", "go")
    assert mgr.state("1") == "a"


def test_a_hook_may_send_to_another_instance(store: Store) -> None:
    spec = wfdsl.loads(
        "workflow w { initial state a final state b { enter poke } event go a -> b on go }"
    )

    def poke(ctx: Context) -> None:
        if ctx.instance_id == "parent":
            mgr.send("child", "go")

    mgr = Manager(spec, store, hooks={"poke": poke})
    mgr.start("parent")
    mgr.start("child")
    mgr.send("parent", "go")
    assert (mgr.state("parent"), mgr.state("child")) == ("b", "b")


# -- replays ----------------------------------------------------------------------


def test_a_replayed_key_runs_the_work_its_transition_still_owes(
    order_spec: Spec, store: Store, hooks: Any
) -> None:
    hooks.failures["charge_card"] = 2
    mgr = Manager(order_spec, store, hooks=hooks)
    mgr.start("o-1")
    with pytest.raises(HookFailed):
        mgr.send("o-1", "pay", key="req-1", data={"amount": 5})
    with pytest.raises(HookFailed) as info:  # the retry fails again: said so
        mgr.send("o-1", "pay", key="req-1", data={"amount": 5})
    assert info.value.attempt == 2
    first = mgr.history("o-1")[1]
    assert mgr.send("o-1", "pay", key="req-1", data={"amount": 5}) == first
    assert hooks.ran() == ["charge_card", "send_receipt"]
    assert mgr.instance("o-1").pending == 0


def test_a_replay_waits_for_work_another_worker_runs(order_spec: Spec, store: Store) -> None:
    log: list[str] = []
    gate = Gate(log)
    mgr = Manager(SPEC, store, hooks=gate.calls, wait=0)
    mgr.start("o-1")
    payer = threading.Thread(target=mgr.send, args=("o-1", "pay"), kwargs={"key": "k"})
    payer.start()
    assert gate.entered.wait(60)
    try:
        with pytest.raises(WorkInProgress):
            mgr.send("o-1", "pay", key="k")
    finally:
        gate.release.set()
        payer.join(60)
    assert mgr.send("o-1", "pay", key="k").seq == 2


def test_a_start_with_a_key_is_idempotent(store: Store) -> None:
    spec = wfdsl.loads("workflow w { initial state a { enter boot } event e a -> a on e }")
    boots: list[int] = []
    fail = [1]

    def boot(ctx: Context) -> None:
        boots.append(ctx.attempt)
        if fail[0]:
            fail[0] -= 1
            raise OSError("disk full")

    mgr = Manager(spec, store, hooks={"boot": boot})
    with pytest.raises(HookFailed):
        mgr.start("1", key="create-1", data={"n": 1})
    again = mgr.start("1", key="create-1", data={"n": 1})  # runs the owed boot first
    assert (again.seq, again.key, dict(again.data)) == (1, "create-1", {"n": 1})
    assert boots == [1, 2]
    assert mgr.start("1", key="create-1", data={"n": 1}) == again
    with pytest.raises(IdempotencyConflict):
        mgr.start("1", key="create-1", data={"n": 2})
    with pytest.raises(AlreadyStarted):
        mgr.start("1", key="other")
    with pytest.raises(AlreadyStarted):
        mgr.start("1")
    mgr.send("1", "e", key="sent")
    with pytest.raises(IdempotencyConflict):  # a send's key is no start's
        mgr.start("1", key="sent")


# -- waiting ------------------------------------------------------------------------


def test_wait_must_be_zero_or_more_seconds(order_spec: Spec) -> None:
    with pytest.raises(ValueError, match="wait"):
        Manager(order_spec, MemoryStore(), hooks={}, wait=-1)


def test_work_in_progress_names_the_hooks_and_who_holds_them(store: Store) -> None:
    log: list[str] = []
    gate = Gate(log)
    mgr = Manager(SPEC, store, hooks=gate.calls, worker_id="web-1")
    mgr.start("o-1")
    payer = threading.Thread(target=mgr.send, args=("o-1", "pay"))
    payer.start()
    assert gate.entered.wait(60)
    try:
        other = Manager(SPEC, store, hooks=gate.calls, wait=0)
        with pytest.raises(WorkInProgress) as info:
            other.send("o-1", "cancel")
        assert info.value.owners == ("web-1",)
        assert "held by web-1" in str(info.value)
        held = store.pending_work("shop", "o-1")
        assert {(w.lease_owner, w.status) for w in held} == {("web-1", WorkStatus.PENDING)}
    finally:
        gate.release.set()
        payer.join(60)
