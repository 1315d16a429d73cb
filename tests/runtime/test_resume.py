"""resume() (SPEC §7): finish cut-off work, report spec changes instead of skipping silently."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import wfdsl
from wfdsl import Manager
from wfdsl.errors import HookFailed
from wfdsl.ir import HookKind, Spec
from wfdsl.runtime.records import Transition, TransitionKind, WorkItem
from wfdsl.stores.base import Store
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
    Manager(order_spec, store, hooks=hooks).start("old")
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
