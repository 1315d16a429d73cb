"""Idempotency keys (SPEC §7): scoped to an instance; a replay changes nothing."""

from __future__ import annotations

import pytest

from wfdsl import Manager
from wfdsl.errors import IdempotencyConflict
from wfdsl.ir import Spec
from wfdsl.stores.base import Store

from .conftest import OrderHooks


def test_a_replayed_key_returns_the_original_transition_and_changes_nothing(
    order_spec: Spec, store: Store, hooks: OrderHooks
) -> None:
    mgr = Manager(order_spec, store, hooks=hooks)
    mgr.start("o-1")
    first = mgr.send("o-1", "pay", key="req-7f3", data={"amount": 1200})
    mgr.send("o-1", "pack")
    again = mgr.send("o-1", "pay", key="req-7f3", data={"amount": 1200})
    assert again == first
    assert len(mgr.history("o-1")) == 3
    assert hooks.ran().count("charge_card") == 1


def test_a_replay_is_recognised_by_another_manager(
    order_spec: Spec, store: Store, hooks: OrderHooks
) -> None:
    Manager(order_spec, store, hooks=hooks).start("o-1")
    first = Manager(order_spec, store, hooks=hooks).send("o-1", "pay", key="k", data={"a": [1, 2]})
    assert (
        Manager(order_spec, store, hooks=hooks).send("o-1", "pay", key="k", data={"a": [1, 2]})
        == first
    )


def test_key_order_in_data_does_not_matter(
    order_spec: Spec, store: Store, hooks: OrderHooks
) -> None:
    mgr = Manager(order_spec, store, hooks=hooks)
    mgr.start("o-1")
    first = mgr.send("o-1", "pay", key="k", data={"a": 1, "b": 2})
    assert mgr.send("o-1", "pay", key="k", data={"b": 2, "a": 1}) == first


@pytest.mark.parametrize(
    ("event", "data"),
    [("cancel", {"amount": 1200}), ("pay", {"amount": 999}), ("pay", None)],
    ids=["other-event", "other-data", "no-data"],
)
def test_a_key_reused_with_other_event_or_data_conflicts(
    order_spec: Spec, store: Store, hooks: OrderHooks, event: str, data: dict[str, int] | None
) -> None:
    mgr = Manager(order_spec, store, hooks=hooks)
    mgr.start("o-1")
    mgr.send("o-1", "pay", key="k", data={"amount": 1200})
    with pytest.raises(IdempotencyConflict) as info:
        mgr.send("o-1", event, key="k", data=data)
    assert (info.value.instance_id, info.value.key) == ("o-1", "k")
    assert len(mgr.history("o-1")) == 2


def test_keys_are_scoped_to_one_instance(order_spec: Spec, store: Store, hooks: OrderHooks) -> None:
    mgr = Manager(order_spec, store, hooks=hooks)
    mgr.start("a")
    mgr.start("b")
    mgr.send("a", "pay", key="same")
    t = mgr.send("b", "cancel", key="same")
    assert (t.target, mgr.state("b")) == ("cancelled", "cancelled")


def test_a_replay_of_a_send_whose_hook_failed_returns_the_transition(
    order_spec: Spec, store: Store, hooks: OrderHooks
) -> None:
    hooks.failures["charge_card"] = 1
    mgr = Manager(order_spec, store, hooks=hooks)
    mgr.start("o-1")
    with pytest.raises(Exception, match="charge_card"):
        mgr.send("o-1", "pay", key="k")
    t = mgr.send("o-1", "pay", key="k")
    assert (t.seq, t.target) == (2, "paid")
