"""Compensation (SPEC §7): walk back along the path, one persisted step per state."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest

import wfdsl
from wfdsl import Manager
from wfdsl.errors import (
    CompensationInProgress,
    HookFailed,
    IllegalTransition,
    InvalidInput,
    WorkInProgress,
)
from wfdsl.ir import HookKind, Spec
from wfdsl.stores.base import Store

if TYPE_CHECKING:
    from rivals import Rivals  # the ``rivals`` fixture (tests/rivals.py)
from wfdsl.stores.records import Transition, TransitionKind, WorkItem

from .conftest import OrderHooks


def shipped(mgr: Manager[str, str], iid: str = "o-1") -> None:
    mgr.start(iid)
    for event in ("pay", "pack", "ship"):
        mgr.send(iid, event)


def test_compensate_runs_compensators_newest_first_back_to_the_target(
    order_spec: Spec, store: Store, hooks: OrderHooks
) -> None:
    mgr = Manager(order_spec, store, hooks=hooks)
    shipped(mgr)
    hooks.log.clear()
    steps = mgr.compensate("o-1", "created")
    assert hooks.ran() == ["recall_shipment", "release_stock", "refund_card"]
    assert [(t.kind, t.source, t.target, t.event) for t in steps] == [
        (TransitionKind.COMPENSATE, "shipped", "packed", None),
        (TransitionKind.COMPENSATE, "packed", "paid", None),
        (TransitionKind.COMPENSATE, "paid", "created", None),
    ]
    assert mgr.state("o-1") == "created"
    assert [t.seq for t in mgr.history("o-1")] == list(range(1, 8))


def test_compensate_stops_at_an_intermediate_state(
    order_spec: Spec, store: Store, hooks: OrderHooks
) -> None:
    mgr = Manager(order_spec, store, hooks=hooks)
    shipped(mgr)
    hooks.log.clear()
    mgr.compensate("o-1", "paid")
    assert hooks.ran() == ["recall_shipment", "release_stock"]
    assert mgr.state("o-1") == "paid"


def test_compensating_to_the_current_state_does_nothing(
    order_spec: Spec, store: Store, hooks: OrderHooks
) -> None:
    mgr = Manager(order_spec, store, hooks=hooks)
    shipped(mgr)
    assert mgr.compensate("o-1", "shipped") == []
    assert len(mgr.history("o-1")) == 4


def test_a_state_not_on_the_path_raises_illegal_transition(
    order_spec: Spec, store: Store, hooks: OrderHooks
) -> None:
    mgr = Manager(order_spec, store, hooks=hooks)
    mgr.start("o-1")
    mgr.send("o-1", "pay")
    with pytest.raises(IllegalTransition, match="not on the path"):
        mgr.compensate("o-1", "shipped")
    with pytest.raises(InvalidInput):
        mgr.compensate("o-1", "nowhere")


def test_a_failing_compensator_stops_the_walk_and_a_second_call_continues(
    order_spec: Spec, store: Store, hooks: OrderHooks
) -> None:
    mgr = Manager(order_spec, store, hooks=hooks)
    shipped(mgr)
    hooks.log.clear()
    hooks.failures["release_stock"] = 1
    with pytest.raises(HookFailed) as info:
        mgr.compensate("o-1", "created")
    assert info.value.hook == "release_stock"
    assert mgr.state("o-1") == "paid"  # the step is recorded; its compensator is pending
    assert mgr.instance("o-1").compensating == "created"
    assert hooks.ran() == ["recall_shipment"]
    steps = mgr.compensate("o-1", "created")
    assert hooks.ran() == ["recall_shipment", "release_stock", "refund_card"]
    assert [t.target for t in steps] == ["created"]
    assert mgr.instance("o-1").compensating is None


def test_send_is_refused_while_a_compensation_is_in_progress(
    order_spec: Spec, store: Store, hooks: OrderHooks
) -> None:
    mgr = Manager(order_spec, store, hooks=hooks)
    shipped(mgr)
    hooks.failures["release_stock"] = 1
    with pytest.raises(HookFailed):
        mgr.compensate("o-1", "created")
    with pytest.raises(CompensationInProgress):
        mgr.send("o-1", "cancel")
    with pytest.raises(CompensationInProgress):
        mgr.compensate("o-1", "paid")


def test_resume_finishes_an_interrupted_compensation(
    order_spec: Spec, store: Store, hooks: OrderHooks
) -> None:
    mgr = Manager(order_spec, store, hooks=hooks)
    shipped(mgr)
    hooks.failures["recall_shipment"] = 1
    with pytest.raises(HookFailed):
        mgr.compensate("o-1", "created")
    report = mgr.resume()
    assert report.compensated == ["o-1"]
    assert mgr.state("o-1") == "created"
    mgr.send("o-1", "pay")


def first_step_back_held(mgr: Manager[str, str], proof: str) -> None:
    """What another worker leaves when it has recorded o-1's first step back
    from shipped and holds (is running, or ran before it died) its compensator."""
    shipped(mgr)
    at = mgr.history("o-1")[-1].at
    step = Transition(5, TransitionKind.COMPENSATE, "shipped", "packed", None, None, {}, at)
    held = WorkItem(
        "order",
        "o-1",
        5,
        0,
        "recall_shipment",
        HookKind.COMPENSATE,
        lease_owner="other",
        lease_until=time.time() + 3600,
        lease_proof=proof,
    )
    mgr.store.append("order", "o-1", step, [held], compensating="created")


def test_a_compensation_does_not_walk_past_a_compensator_another_live_worker_holds(
    order_spec: Spec, store: Store, hooks: OrderHooks, rivals: Rivals
) -> None:
    mgr = Manager(order_spec, store, hooks=hooks, wait=0)
    first_step_back_held(mgr, rivals.live())
    ran_before = len(hooks.log)
    report = mgr.resume()
    assert report.compensated == [] and not report.ok
    assert report.in_progress == [("o-1", "recall_shipment", "other")]
    with pytest.raises(WorkInProgress) as info:
        mgr.compensate("o-1", "created")
    assert info.value.hooks == ("recall_shipment",)
    assert hooks.ran()[ran_before:] == []  # refund_card did not run before recall_shipment
    assert mgr.state("o-1") == "packed"


def test_a_compensation_takes_a_dead_workers_compensator_over_and_goes_on_in_order(
    order_spec: Spec, store: Store, hooks: OrderHooks, rivals: Rivals
) -> None:
    mgr = Manager(order_spec, store, hooks=hooks, wait=0)
    first_step_back_held(mgr, rivals.dead())
    ran_before = len(hooks.log)
    report = mgr.resume()
    assert report.compensated == ["o-1"] and report.ok
    assert hooks.ran()[ran_before:] == ["recall_shipment", "release_stock", "refund_card"]
    assert mgr.state("o-1") == "created"


def test_nothing_is_undone_before_its_hooks_have_run(
    order_spec: Spec, store: Store, hooks: OrderHooks, rivals: Rivals
) -> None:
    mgr = Manager(order_spec, store, hooks=hooks, wait=0)
    mgr.start("o-1")
    # A live worker is charging the card: the transition stands, charge_card
    # is held and has not run.
    pay = Transition(
        2, TransitionKind.EVENT, "created", "paid", "pay", None, {}, mgr.history("o-1")[0].at
    )
    charge = WorkItem(
        "order",
        "o-1",
        2,
        0,
        "charge_card",
        HookKind.ENTER,
        lease_owner="other",
        lease_until=time.time() + 3600,
        lease_proof=rivals.live(),
    )
    store.append("order", "o-1", pay, [charge], compensating=None)
    with pytest.raises(WorkInProgress) as info:
        mgr.compensate("o-1", "created")
    assert info.value.hooks == ("charge_card",)
    assert hooks.ran() == [] and mgr.state("o-1") == "paid"  # no refund ahead of the charge
    store.release(store.pending_work("order", "o-1"))  # the other worker gives it up
    mgr.compensate("o-1", "created")
    assert hooks.ran() == ["charge_card", "refund_card"]


def test_after_compensation_the_instance_moves_on_and_can_compensate_again(
    order_spec: Spec, store: Store, hooks: OrderHooks
) -> None:
    mgr = Manager(order_spec, store, hooks=hooks)
    shipped(mgr)
    mgr.compensate("o-1", "paid")
    mgr.send("o-1", "pack")
    hooks.log.clear()
    mgr.compensate("o-1", "created")
    assert hooks.ran() == ["release_stock", "refund_card"]
    assert Manager.path(mgr.history("o-1")) == ["created"]


def test_a_state_entered_twice_is_compensated_twice(store: Store) -> None:
    spec = wfdsl.loads(
        "workflow w { initial state a state b { compensate undo } event e a -> b on e b -> b on e }"
    )
    undone: list[int] = []
    mgr = Manager(spec, store, hooks={"undo": lambda c: undone.append(c.seq)})
    mgr.start("1")
    mgr.send("1", "e")
    mgr.send("1", "e")
    mgr.compensate("1", "a")
    assert undone == [4, 5]
    assert mgr.state("1") == "a"


def test_a_compensation_step_carries_the_data_of_the_transition_it_undoes(
    order_spec: Spec, store: Store, hooks: OrderHooks
) -> None:
    mgr = Manager(order_spec, store, hooks=hooks)
    mgr.start("o-1")
    mgr.send("o-1", "pay", data={"amount": 1200})
    mgr.send("o-1", "pack", data={"bin": 7})
    hooks.contexts.clear()
    steps = mgr.compensate("o-1", "created")
    assert [dict(t.data) for t in steps] == [{"bin": 7}, {"amount": 1200}]
    assert [(c.hook, dict(c.data)) for c in hooks.contexts] == [
        ("release_stock", {"bin": 7}),
        ("refund_card", {"amount": 1200}),
    ]
