"""resume() (SPEC §7): finish cut-off work, report spec changes instead of skipping silently."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import wfdsl
from wfdsl import Manager
from wfdsl.errors import HookFailed
from wfdsl.ir import HookKind, Spec
from wfdsl.runtime.context import Context
from wfdsl.stores.base import Store

if TYPE_CHECKING:
    from rivals import Rivals  # the ``rivals`` fixture (tests/rivals.py)
from wfdsl.stores.memory import MemoryStore
from wfdsl.stores.records import Transition, TransitionKind, WorkItem

from .conftest import OrderHooks


def test_resume_runs_pending_work_of_every_instance(
    order_spec: Spec, store: Store, hooks: OrderHooks
) -> None:
    mgr = Manager(order_spec, store, hooks=hooks)
    hooks.failures["charge_card"] = 2
    for iid in ("a", "b"):
        mgr.start(iid)
        with pytest.raises(HookFailed):
            mgr.send(iid, "pay")
    report = mgr.resume()
    assert report.completed == [
        ("a", "charge_card"),
        ("a", "send_receipt"),
        ("b", "charge_card"),
        ("b", "send_receipt"),
    ]
    assert report.ok
    assert mgr.resume().completed == []


def test_resume_reports_instances_started_under_another_spec(
    order_spec: Spec, store: Store, hooks: OrderHooks
) -> None:
    old = Manager(order_spec, store, hooks=hooks)
    old.start("old")
    hooks.failures["charge_card"] = 1
    with pytest.raises(HookFailed):
        old.send("old", "pay")  # its work is pending
    changed = wfdsl.loads(
        (Path(order_spec.path))
        .read_text()
        .replace(
            "final state delivered",
            "final state delivered state lost\n event lose\n shipped -> lost on lose",
        )
    )
    report = Manager(changed, store, hooks=hooks).resume()
    assert report.spec_changed == ["old"]
    assert not report.ok


def test_finished_instances_of_an_older_spec_do_not_fail_every_resume(
    order_spec: Spec, store: Store, hooks: OrderHooks
) -> None:
    old = Manager(order_spec, store, hooks=hooks)
    old.start("done")
    old.send("done", "cancel")  # nothing left to do for it
    changed = wfdsl.loads(
        Path(order_spec.path).read_text().replace("event cancel", "event refund event cancel")
    )
    report = Manager(changed, store, hooks=hooks).resume()
    assert report.spec_changed == []
    assert report.ok


def test_resume_ignores_layout_only_changes_to_the_spec(
    order_spec: Spec, store: Store, hooks: OrderHooks
) -> None:
    Manager(order_spec, store, hooks=hooks).start("o-1")
    relaid = wfdsl.loads(
        "# a comment\n"
        + Path(order_spec.path).read_text().replace('"Order placed, awaiting payment"', "")
    )
    assert Manager(relaid, store, hooks=hooks).resume().spec_changed == []


def test_pending_work_of_a_changed_spec_instance_is_left_alone(
    order_spec: Spec, store: Store, hooks: OrderHooks
) -> None:
    hooks.failures["charge_card"] = 1
    mgr = Manager(order_spec, store, hooks=hooks)
    mgr.start("o-1")
    with pytest.raises(HookFailed):
        mgr.send("o-1", "pay")
    changed = wfdsl.loads(
        Path(order_spec.path).read_text().replace("event cancel", "event refund event cancel")
    )
    report = Manager(changed, store, hooks=hooks).resume()
    assert report.spec_changed == ["o-1"]
    assert report.completed == []
    assert store.load("order", "o-1").pending == 2  # type: ignore[union-attr]


def held_payment(mgr: Manager[str, str], proof: str, *, owner: str = "other") -> None:
    """What a worker leaves when it has written ``pay`` for o-1 and is (or was)
    running charge_card: the transition, and its work held under ``proof``."""
    mgr.start("o-1")
    pay = Transition(
        2, TransitionKind.EVENT, "created", "paid", "pay", None, {}, mgr.history("o-1")[0].at
    )
    lease = WorkItem(
        "order",
        "o-1",
        2,
        0,
        "charge_card",
        HookKind.ENTER,
        lease_owner=owner,
        lease_until=time.time() + 3600,
        lease_proof=proof,
    )
    mgr.store.append("order", "o-1", pay, [lease], compensating=None)


def test_resume_runs_a_dead_workers_work_at_once_with_default_worker_ids(
    order_spec: Spec, store: Store, hooks: OrderHooks, rivals: Rivals
) -> None:
    mgr = Manager(order_spec, store, hooks=hooks, wait=0)
    held_payment(mgr, rivals.dead())
    report = mgr.resume()
    assert report.completed == [("o-1", "charge_card")]
    assert report.ok


def test_resume_reports_work_a_live_worker_runs_and_is_not_ok(
    order_spec: Spec, store: Store, hooks: OrderHooks, rivals: Rivals
) -> None:
    mgr = Manager(order_spec, store, hooks=hooks, wait=0)
    held_payment(mgr, rivals.live(), owner="checkout-3")
    report = mgr.resume()
    assert report.completed == []
    assert report.in_progress == [("o-1", "charge_card", "checkout-3")]
    assert not report.ok
    assert hooks.ran() == []


def test_one_poisoned_instance_does_not_stop_resume_for_the_others(
    order_spec: Spec, store: Store, hooks: OrderHooks
) -> None:
    mgr = Manager(order_spec, store, hooks=hooks)
    hooks.failures["charge_card"] = 1
    for iid in ("a", "b"):
        mgr.start(iid)
    with pytest.raises(HookFailed):
        mgr.send("b", "pay")
    # a owes work for a hook the spec does not name (written under another
    # spec whose fingerprint happened to match, or by hand).
    at = mgr.history("a")[0].at
    ghost = Transition(2, TransitionKind.EVENT, "created", "paid", "pay", None, {}, at)
    store.append(
        "order",
        "a",
        ghost,
        [WorkItem("order", "a", 2, 0, "ghost", HookKind.ENTER)],
        compensating=None,
    )
    report = mgr.resume()
    assert report.completed == [("b", "charge_card"), ("b", "send_receipt")]
    assert [(iid, error.split(":")[0]) for iid, error in report.errors] == [("a", "UnknownHook")]
    assert "'ghost'" in report.errors[0][1]
    assert not report.ok
    assert [w.hook for w in store.pending_work("order", "a")] == ["ghost"]  # left as it was


def test_ok_is_false_while_dead_work_is_owed(
    order_spec: Spec, store: Store, hooks: OrderHooks
) -> None:
    hooks.failures["charge_card"] = 1
    mgr = Manager(order_spec, store, hooks=hooks, max_attempts=1)
    mgr.start("o-1")
    with pytest.raises(HookFailed):
        mgr.send("o-1", "pay")
    report = mgr.resume()
    assert report.dead == ["o-1"] and report.failed == []
    assert not report.ok
    mgr.retry("o-1")
    assert mgr.resume().ok


def test_one_resume_tries_a_failing_compensator_once(store: Store) -> None:
    spec = wfdsl.loads(
        "workflow w { initial state a state b { compensate undo_b }"
        " state c { compensate undo_c } state d { compensate undo_d }"
        " event go a -> b on go b -> c on go c -> d on go }"
    )
    attempts: list[int] = []

    def undo_c(ctx: Context) -> None:
        attempts.append(ctx.attempt)
        raise RuntimeError("down")

    mgr = Manager(
        spec, store, hooks={"undo_b": lambda c: None, "undo_c": undo_c, "undo_d": lambda c: None}
    )
    mgr.start("i")
    for _ in range(3):
        mgr.send("i", "go")
    with pytest.raises(HookFailed):
        mgr.compensate("i", "a")  # stops at c -> b, still compensating to a
    report = mgr.resume()
    assert attempts == [1, 2]
    assert report.failed == [("i", "undo_c", "RuntimeError: down")]
    assert report.compensated == []


def test_resume_reaches_work_behind_a_full_batch_of_failing_instances() -> None:
    spec = wfdsl.loads("workflow w { initial state a { enter h } }")
    broken = {f"a{n:04}" for n in range(1001)}
    runs: list[str] = []

    def h(ctx: Context) -> None:
        iid = ctx.instance_id
        if iid in broken or ctx.attempt == 1:
            raise RuntimeError("down")
        runs.append(iid)

    mgr = Manager(spec, MemoryStore(), hooks={"h": h})
    for iid in [*sorted(broken), "z"]:
        with pytest.raises(HookFailed):
            mgr.start(iid)
    report = mgr.resume()
    assert runs == ["z"]
    assert ("z", "h") in report.completed
    assert len(report.failed) == 1001
