"""resume() (SPEC §7): finish cut-off work, report spec changes instead of skipping silently."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import wfdsl
from wfdsl import Manager
from wfdsl.errors import HookFailed
from wfdsl.ir import HookKind, Spec
from wfdsl.runtime.context import Context
from wfdsl.stores.base import Store
from wfdsl.stores.memory import MemoryStore
from wfdsl.stores.records import Transition, TransitionKind, WorkItem
from wfdsl.stores.sqlite import SQLiteStore

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


def test_another_worker_waits_for_a_lease_but_the_same_worker_reclaims_it(
    order_spec: Spec, tmp_path: Path, hooks: OrderHooks
) -> None:
    path = str(tmp_path / "wf.db")
    store = SQLiteStore(path)
    died = Manager(order_spec, store, hooks=hooks, worker_id="w1")
    died.start("o-1")
    # What a worker leaves when it dies right after writing a transition: the
    # transition and its work rows, leased to it for the lease period.
    pay = Transition(
        2, TransitionKind.EVENT, "created", "paid", "pay", None, {}, died.history("o-1")[0].at
    )
    lease = WorkItem(
        "order",
        "o-1",
        2,
        0,
        "charge_card",
        HookKind.ENTER,
        lease_owner="w1",
        lease_until=time.time() + 3600,
    )
    store.append("order", "o-1", pay, [lease], compensating=None)
    store.close()
    with SQLiteStore(path) as s2:
        assert Manager(order_spec, s2, hooks=hooks, worker_id="w2").resume().completed == []
    with SQLiteStore(path) as s3:
        assert Manager(order_spec, s3, hooks=hooks, worker_id="w1").resume().completed == [
            ("o-1", "charge_card")
        ]


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
