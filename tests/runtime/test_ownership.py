"""Whose work is whose, inside one process (SPEC §7.1), on every store: work
this process claimed is never run twice nor reported as another worker's, and
a thread hung in a hook past its lease is taken over by the next caller, its
late result not recorded again."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

import wfdsl
from wfdsl.errors import HookFailed, WorkInProgress
from wfdsl.runtime.context import Context
from wfdsl.runtime.manager import Manager
from wfdsl.stores.base import Store

SPEC = wfdsl.loads(
    """workflow bill {
        initial state created
        state paid { enter charge }
        final state cancelled { enter refund }
        event pay, cancel
        created -> paid on pay
        paid -> cancelled on cancel
    }"""
)
#: Bounds every wait of a test thread on another (a hang guard, not a timing).
HANG = 60


class Hooks:
    def __init__(self) -> None:
        self.log: list[tuple[str, str, int]] = []
        self.lock = threading.Lock()
        self.fail: set[str] = set()
        #: instance -> (entered, release): the charge of that instance blocks.
        self.block: dict[str, tuple[threading.Event, threading.Event]] = {}
        #: Block only the run with this attempt number (``None``: every run).
        self.block_attempt: int | None = None

    def charge(self, ctx: Context) -> None:
        with self.lock:
            self.log.append(("charge", ctx.instance_id, ctx.attempt))
        if ctx.instance_id in self.fail:
            raise RuntimeError("card service down")
        cue = self.block.get(ctx.instance_id)
        if cue is not None and self.block_attempt in (None, ctx.attempt):
            cue[0].set()
            assert cue[1].wait(HANG)

    def refund(self, ctx: Context) -> None:
        with self.lock:
            self.log.append(("refund", ctx.instance_id, ctx.attempt))


def in_thread(fn: Callable[[], Any]) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            fn()
        except BaseException as exc:  # handed to the test
            errors.append(exc)

    t = threading.Thread(target=run)
    t.start()
    return t, errors


def test_work_of_other_instances_is_not_claimed_ahead_by_resume(
    store_factory: Callable[[], Store],
) -> None:
    hooks = Hooks()
    store = store_factory()
    mgr = Manager(SPEC, store, hooks=hooks)
    for iid in ("x-1", "y-1"):
        mgr.start(iid)
        hooks.fail.add(iid)
        with pytest.raises(HookFailed):
            mgr.send(iid, "pay")
    hooks.fail.clear()
    entered, release = threading.Event(), threading.Event()
    hooks.block["x-1"] = (entered, release)
    reports: list[Any] = []
    resumer, errors = in_thread(lambda: reports.append(mgr.resume()))
    assert entered.wait(HANG)  # resume is inside x-1's charge
    # Another manager of this process (same default worker id; on PostgreSQL
    # another store object) sends to y-1: its owed charge is free for it, not
    # held by the resume busy with x-1, and runs once, before the cancel.
    other = Manager(SPEC, store_factory(), hooks=hooks, wait=0)
    other.send("y-1", "cancel")
    release.set()
    resumer.join(HANG)
    assert not errors
    assert [e for e in hooks.log if e[1] == "y-1"] == [
        ("charge", "y-1", 1),
        ("charge", "y-1", 2),
        ("refund", "y-1", 1),
    ]
    (report,) = reports
    assert report.ok and report.completed == [("x-1", "charge")]


def test_a_hook_hung_past_its_lease_is_taken_over_by_the_next_send(store: Store) -> None:
    hooks = Hooks()
    hooks.block_attempt = 1  # only the first run hangs
    mgr = Manager(SPEC, store, hooks=hooks, lease=0.5, wait=HANG)
    mgr.start("o-1")
    entered, release = threading.Event(), threading.Event()
    hooks.block["o-1"] = (entered, release)
    hung, errors = in_thread(lambda: mgr.send("o-1", "pay"))
    assert entered.wait(HANG)
    # The hung thread's lease runs out; this send takes the charge over, runs
    # it, then applies the cancel. It does not wait forever.
    t = mgr.send("o-1", "cancel")
    assert t.target == "cancelled"
    release.set()  # the hung hook returns late ...
    hung.join(HANG)
    # ... and its thread records nothing: the work was taken from it.
    assert len(errors) == 1 and isinstance(errors[0], WorkInProgress)
    assert hooks.log == [("charge", "o-1", 1), ("charge", "o-1", 2), ("refund", "o-1", 1)]
    assert store.pending_work("bill", "o-1") == []
    assert [h.target for h in mgr.history("o-1")] == ["created", "paid", "cancelled"]
    assert mgr.resume().ok


def test_a_call_from_this_worker_while_its_own_lease_is_live_waits_for_the_turn(
    store: Store,
) -> None:
    """The in-process turn, not the store lease, orders threads of one worker:
    a second send waits for the first's hook and then runs, never getting
    WorkInProgress for its own process's work while the wait lasts."""
    hooks = Hooks()
    mgr = Manager(SPEC, store, hooks=hooks, wait=HANG)
    mgr.start("o-1")
    entered, release = threading.Event(), threading.Event()
    hooks.block["o-1"] = (entered, release)
    first, errors = in_thread(lambda: mgr.send("o-1", "pay"))
    assert entered.wait(HANG)
    second, errors2 = in_thread(lambda: mgr.send("o-1", "cancel"))
    release.set()
    first.join(HANG)
    second.join(HANG)
    assert not errors and not errors2
    assert hooks.log == [("charge", "o-1", 1), ("refund", "o-1", 1)]
