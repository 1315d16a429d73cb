"""Starting instances and sending events (SPEC §7)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import wfdsl
from wfdsl import Manager
from wfdsl.errors import (
    AlreadyStarted,
    GuardRejected,
    IllegalTransition,
    InvalidInput,
    UnknownInstance,
    WorkflowError,
)
from wfdsl.ir import Spec
from wfdsl.stores.base import Store
from wfdsl.stores.records import TransitionKind

from .conftest import OrderHooks


def test_start_records_a_start_transition_into_the_initial_state(
    order_spec: Spec, store: Store, hooks: OrderHooks
) -> None:
    mgr = Manager(order_spec, store, hooks=hooks)
    t = mgr.start("o-1", data={"customer": "ada"})
    assert (t.seq, t.kind, t.source, t.target, t.event, t.data) == (
        1,
        TransitionKind.START,
        None,
        "created",
        None,
        {"customer": "ada"},
    )
    assert mgr.state("o-1") == "created"


def test_start_twice_raises_already_started(
    order_spec: Spec, store: Store, hooks: OrderHooks
) -> None:
    mgr = Manager(order_spec, store, hooks=hooks)
    mgr.start("o-1")
    with pytest.raises(AlreadyStarted):
        mgr.start("o-1")


def test_send_applies_the_transition_and_runs_enter_hooks_in_order(
    order_spec: Spec, store: Store, hooks: OrderHooks
) -> None:
    mgr = Manager(order_spec, store, hooks=hooks)
    mgr.start("o-1")
    t = mgr.send("o-1", "pay", data={"amount": 1200})
    assert (t.seq, t.kind, t.source, t.target, t.event, t.data) == (
        2,
        TransitionKind.EVENT,
        "created",
        "paid",
        "pay",
        {"amount": 1200},
    )
    assert mgr.state("o-1") == "paid"
    assert hooks.ran() == ["charge_card", "send_receipt"]


def test_hooks_get_a_context_describing_the_transition(
    order_spec: Spec, store: Store, hooks: OrderHooks
) -> None:
    mgr = Manager(order_spec, store, hooks=hooks)
    mgr.start("o-1")
    mgr.send("o-1", "pay", data={"amount": 5})
    ctx = hooks.contexts[0]
    assert (ctx.workflow, ctx.instance_id, ctx.event, ctx.source, ctx.target) == (
        "order",
        "o-1",
        "pay",
        "created",
        "paid",
    )
    assert (ctx.data, ctx.seq, ctx.attempt, ctx.hook) == ({"amount": 5}, 2, 1, "charge_card")
    assert ctx.effect_key == "order/o-1/2/charge_card"


def test_history_lists_every_transition_in_seq_order(
    order_spec: Spec, store: Store, hooks: OrderHooks
) -> None:
    mgr = Manager(order_spec, store, hooks=hooks)
    mgr.start("o-1")
    for event in ("pay", "pack", "ship", "deliver"):
        mgr.send("o-1", event)
    hist = mgr.history("o-1")
    assert [t.seq for t in hist] == [1, 2, 3, 4, 5]
    assert [t.target for t in hist] == ["created", "paid", "packed", "shipped", "delivered"]


def test_an_event_the_state_does_not_accept_raises_illegal_transition(
    order_spec: Spec, store: Store, hooks: OrderHooks
) -> None:
    mgr = Manager(order_spec, store, hooks=hooks)
    mgr.start("o-1")
    with pytest.raises(IllegalTransition) as info:
        mgr.send("o-1", "ship")
    assert not isinstance(info.value, GuardRejected)
    assert (info.value.state, info.value.event) == ("created", "ship")
    assert len(mgr.history("o-1")) == 1


def test_a_final_state_accepts_no_event(order_spec: Spec, store: Store, hooks: OrderHooks) -> None:
    mgr = Manager(order_spec, store, hooks=hooks)
    mgr.start("o-1")
    mgr.send("o-1", "cancel")
    with pytest.raises(IllegalTransition, match="final"):
        mgr.send("o-1", "cancel")


def test_all_guards_false_raises_guard_rejected_naming_them(
    order_spec: Spec, store: Store, hooks: OrderHooks
) -> None:
    hooks.card_ok = False
    mgr = Manager(order_spec, store, hooks=hooks)
    mgr.start("o-1")
    with pytest.raises(GuardRejected) as info:
        mgr.send("o-1", "pay")
    assert info.value.guards == ("card_valid and not flagged_for_fraud",)
    assert mgr.state("o-1") == "created"
    assert hooks.ran() == []


def test_guards_see_the_prospective_transition(order_spec: Spec, store: Store) -> None:
    seen = []
    mapping = {name: (lambda c: None) for name in order_spec.hook_names()}
    mapping["card_valid"] = lambda c: seen.append((c.seq, c.source, c.target, c.data)) or True
    mapping["flagged_for_fraud"] = lambda c: False
    mapping["in_stock"] = lambda c: True
    mgr = Manager(order_spec, store, hooks=mapping)
    mgr.start("o-1")
    mgr.send("o-1", "pay", data={"amount": 3})
    assert seen == [(2, "created", "paid", {"amount": 3})]


def test_wildcard_transitions_are_tried_after_explicit_ones(store: Store) -> None:
    spec = wfdsl.loads(
        """workflow w { initial state a state b final state c final state d
        event e, x
        a -> b on x
        * -> c on e
        b -> d on e }"""
    )
    mgr = Manager(spec, store)
    mgr.start("1")
    mgr.start("2")
    mgr.send("1", "e")
    mgr.send("2", "x")
    mgr.send("2", "e")
    assert (mgr.state("1"), mgr.state("2")) == ("c", "d")


def test_the_first_transition_whose_guard_holds_fires(store: Store) -> None:
    spec = wfdsl.loads(
        """workflow w { initial state a final state big final state small
        event go
        a -> big on go if large
        a -> small on go }"""
    )
    mgr = Manager(spec, store, hooks={"large": lambda c: c.data.get("n", 0) > 10})
    mgr.start("1")
    mgr.start("2")
    mgr.send("1", "go", data={"n": 50})
    mgr.send("2", "go", data={"n": 1})
    assert (mgr.state("1"), mgr.state("2")) == ("big", "small")


def test_a_self_transition_runs_exit_hooks_then_enter_hooks(store: Store) -> None:
    spec = wfdsl.loads(
        """workflow w { initial state a { enter hi exit bye } event again a -> a on again }"""
    )
    ran: list[str] = []
    mgr = Manager(
        spec, store, hooks={"hi": lambda c: ran.append("hi"), "bye": lambda c: ran.append("bye")}
    )
    mgr.start("1")
    mgr.send("1", "again")
    assert ran == ["hi", "bye", "hi"]
    assert [t.target for t in mgr.history("1")] == ["a", "a"]


def test_unknown_instance_raises_unknown_instance(
    order_spec: Spec, store: Store, hooks: OrderHooks
) -> None:
    mgr = Manager(order_spec, store, hooks=hooks)
    with pytest.raises(UnknownInstance):
        mgr.send("ghost", "pay")
    with pytest.raises(UnknownInstance):
        mgr.state("ghost")
    with pytest.raises(UnknownInstance):
        mgr.history("ghost")


@pytest.mark.parametrize(
    ("instance_id", "event", "data"),
    [
        ("", "pay", None),
        ("o-1", "teleport", None),
        ("o-1", "pay", {"when": datetime(2026, 1, 1)}),
        ("o-1", "pay", {"x": float("nan")}),
        ("o-1", "pay", {1: "not a string key"}),
        ("o-1", "pay", ["not", "a", "mapping"]),
    ],
    ids=["empty-id", "unknown-event", "non-json-value", "nan", "int-key", "not-a-mapping"],
)
def test_bad_input_is_rejected_before_anything_is_written(
    order_spec: Spec, store: Store, hooks: OrderHooks, instance_id: str, event: str, data: object
) -> None:
    mgr = Manager(order_spec, store, hooks=hooks)
    mgr.start("o-1")
    with pytest.raises(InvalidInput):
        mgr.send(instance_id, event, data=data)  # type: ignore[arg-type]
    assert len(mgr.history("o-1")) == 1
    assert hooks.ran() == []


@pytest.mark.parametrize("key", ["", 7])
def test_an_empty_or_non_string_key_is_rejected_before_anything_is_written(
    order_spec: Spec, store: Store, hooks: OrderHooks, key: object
) -> None:
    mgr = Manager(order_spec, store, hooks=hooks)
    mgr.start("o-1")
    with pytest.raises(InvalidInput, match="idempotency key"):
        mgr.send("o-1", "pay", key=key)  # type: ignore[arg-type]
    assert len(mgr.history("o-1")) == 1


def test_start_rejects_an_empty_id_and_bad_data(
    order_spec: Spec, store: Store, hooks: OrderHooks
) -> None:
    mgr = Manager(order_spec, store, hooks=hooks)
    with pytest.raises(InvalidInput):
        mgr.start("")
    with pytest.raises(InvalidInput):
        mgr.start("o-1", data={"x": object()})
    assert store.load("order", "o-1") is None


def test_data_may_be_any_mapping_of_json_values(
    order_spec: Spec, store: Store, hooks: OrderHooks
) -> None:
    from types import MappingProxyType

    mgr = Manager(order_spec, store, hooks=hooks)
    mgr.start("o-1", data=MappingProxyType({"customer": "c-9"}))
    t = mgr.send("o-1", "pay", key="k", data=MappingProxyType({"amount": 1200}))
    assert dict(t.data) == {"amount": 1200}
    assert mgr.send("o-1", "pay", key="k", data={"amount": 1200}) == t  # same data: a replay


def test_every_runtime_error_is_a_workflow_error(
    order_spec: Spec, store: Store, hooks: OrderHooks
) -> None:
    mgr = Manager(order_spec, store, hooks=hooks)
    with pytest.raises(WorkflowError):
        mgr.send("ghost", "pay")


def test_transitions_carry_the_managers_clock(
    order_spec: Spec, store: Store, hooks: OrderHooks
) -> None:
    now = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)
    mgr = Manager(order_spec, store, hooks=hooks, clock=lambda: now)
    assert mgr.start("o-1").at == now
    mgr.set_clock(lambda: now + timedelta(minutes=10))  # paid before the 30m expiry
    mgr.send("o-1", "pay")
    assert [t.at for t in mgr.history("o-1")] == [now, now + timedelta(minutes=10)]


def test_managers_of_different_workflows_share_a_store_without_colliding(store: Store) -> None:
    one = wfdsl.loads("workflow one { initial state a final state b event go a -> b on go }")
    two = wfdsl.loads("workflow two { initial state x final state y event go x -> y on go }")
    m1, m2 = Manager(one, store), Manager(two, store)
    m1.start("shared-id")
    m2.start("shared-id")
    m1.send("shared-id", "go")
    assert (m1.state("shared-id"), m2.state("shared-id")) == ("b", "x")


def test_state_is_returned_as_the_given_state_type(
    order_spec: Spec, store: Store, hooks: OrderHooks
) -> None:
    from enum import StrEnum

    class State(StrEnum):
        CREATED = "created"
        PAID = "paid"
        PACKED = "packed"
        SHIPPED = "shipped"
        DELIVERED = "delivered"
        CANCELLED = "cancelled"

    class Event(StrEnum):
        PAY = "pay"
        PACK = "pack"
        SHIP = "ship"
        DELIVER = "deliver"
        CANCEL = "cancel"

    mgr = Manager(order_spec, store, hooks=hooks, state_type=State, event_type=Event)
    mgr.start("o-1")
    mgr.send("o-1", Event.PAY)
    assert mgr.state("o-1") is State.PAID
    assert mgr.history("o-1")[-1].event == "pay"
