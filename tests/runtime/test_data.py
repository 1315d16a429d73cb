"""Transition data is immutable to callers, in every store: what a hook, a
guard or a reader of ``history()`` is given cannot rewrite what was recorded."""

from __future__ import annotations

import copy
import json
import pickle
from collections.abc import Callable
from typing import Any

import pytest

from wfdsl import Manager
from wfdsl.errors import HookFailed
from wfdsl.ir import Spec
from wfdsl.runtime.context import Context
from wfdsl.stores.base import Store

from .conftest import OrderHooks

DATA = {"amount": 1200, "items": [{"sku": "w-1", "qty": 2}], "customer": {"name": "Ada"}}

#: Ways a hook might try to change the data it was given.
EDITS: dict[str, Callable[[Any], object]] = {
    "set a key": lambda d: d.__setitem__("amount", 0),
    "delete a key": lambda d: d.__delitem__("amount"),
    "update": lambda d: d.update(amount=0),
    "pop": lambda d: d.pop("amount"),
    "setdefault": lambda d: d.setdefault("new", 1),
    "clear": lambda d: d.clear(),
    "set a nested key": lambda d: d["customer"].__setitem__("name", "Eve"),
    "append to a nested list": lambda d: d["items"].append({"sku": "free"}),
    "change an item of a list": lambda d: d["items"][0].__setitem__("qty", 99),
    "replace a list item": lambda d: d["items"].__setitem__(0, None),
    "extend a list": lambda d: d["items"].extend([1]),
    "sort a list": lambda d: d["items"].sort(),
}


def hooks_with(hooks: OrderHooks, **overrides: Callable[[Context], Any]) -> dict[str, Any]:
    names = ("card_valid", "flagged_for_fraud", "in_stock", "charge_card", "send_receipt")
    names += ("refund_card", "reserve_stock", "release_stock", "book_courier", "recall_shipment")
    return {n: overrides.get(n) or getattr(hooks, n) for n in names}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_a_hook_cannot_rewrite_history_through_its_context(
    order_spec: Spec, store: Store, hooks: OrderHooks, edit: str
) -> None:
    failing = [True]

    def charge(ctx: Context) -> None:
        if failing[0]:
            EDITS[edit](ctx.data)

    mgr = Manager(order_spec, store, hooks=hooks_with(hooks, charge_card=charge))
    mgr.start("o-1")
    with pytest.raises(HookFailed) as info:
        mgr.send("o-1", "pay", key="req-1", data=DATA)
    assert info.value.error.startswith("TypeError: transition data is read-only")
    assert mgr.history("o-1")[1].data == DATA
    failing[0] = False
    # A correct replay of the same key and data is a replay, not a conflict.
    assert mgr.send("o-1", "pay", key="req-1", data=DATA).data == DATA
    assert mgr.state("o-1") == "paid" and mgr.history("o-1")[1].data == DATA


def test_a_guard_gets_read_only_data_too(order_spec: Spec, store: Store, hooks: OrderHooks) -> None:
    def card_valid(ctx: Context) -> bool:
        with pytest.raises(TypeError):
            ctx.data["items"].append("more")
        return True

    mgr = Manager(order_spec, store, hooks=hooks_with(hooks, card_valid=card_valid))
    mgr.start("o-1")
    mgr.send("o-1", "pay", data=DATA)
    assert mgr.history("o-1")[1].data == DATA


def test_history_and_replays_hand_out_read_only_data(
    order_spec: Spec, store: Store, hooks: OrderHooks
) -> None:
    mgr = Manager(order_spec, store, hooks=hooks)
    mgr.start("o-1", data={"cart": [1]})
    sent = mgr.send("o-1", "pay", key="k", data=DATA)
    for t in (sent, mgr.history("o-1")[1], store.history("order", "o-1")[1]):
        for edit in EDITS.values():
            with pytest.raises(TypeError):
                edit(t.data)
    replayed = mgr.send("o-1", "pay", key="k", data=DATA)
    with pytest.raises(TypeError):
        replayed.data["items"].append(1)  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        mgr.history("o-1")[0].data["cart"].append(2)
    mgr.history("o-1").clear()  # the list handed out is the caller's own
    assert [t.data for t in mgr.history("o-1")] == [{"cart": [1]}, DATA]


def test_data_given_to_send_is_copied_in(order_spec: Spec, store: Store, hooks: OrderHooks) -> None:
    mgr = Manager(order_spec, store, hooks=hooks)
    mgr.start("o-1")
    mine = copy.deepcopy(DATA)
    mgr.send("o-1", "pay", data=mine)
    mine["items"].append("later")  # type: ignore[attr-defined]
    mine["customer"]["name"] = "Eve"  # type: ignore[index]
    assert mgr.history("o-1")[1].data == DATA


def test_read_only_data_reads_like_plain_json(
    order_spec: Spec, store: Store, hooks: OrderHooks
) -> None:
    mgr = Manager(order_spec, store, hooks=hooks)
    mgr.start("o-1")
    data = mgr.send("o-1", "pay", data=DATA).data
    assert data == DATA and isinstance(data, dict) and isinstance(data["items"], list)
    assert json.loads(json.dumps(data)) == DATA
    assert pickle.loads(pickle.dumps(data)) == DATA
    mutable = copy.deepcopy(data)  # the documented way to a mutable copy
    mutable["items"].append("more")
    assert type(mutable) is dict and type(mutable["items"]) is list
    assert mgr.history("o-1")[1].data == DATA
    assert {**data, "amount": 1} == {**DATA, "amount": 1}  # merging makes a plain dict
