"""Binding hooks to a spec (SPEC §7): checked up front, every missing name reported."""

from __future__ import annotations

import pytest

from wfdsl import Manager
from wfdsl.errors import BindError
from wfdsl.ir import Spec
from wfdsl.stores.memory import MemoryStore


def test_missing_guards_and_hooks_are_all_named(order_spec: Spec) -> None:
    class Partial:
        def card_valid(self, ctx: object) -> bool:
            return True

    with pytest.raises(BindError) as info:
        Manager(order_spec, MemoryStore(), hooks=Partial())
    assert set(info.value.missing) == {
        "flagged_for_fraud",
        "in_stock",
        "charge_card",
        "send_receipt",
        "refund_card",
        "reserve_stock",
        "release_stock",
        "book_courier",
        "recall_shipment",
    }


def test_no_hooks_at_all_names_every_guard_and_hook(order_spec: Spec) -> None:
    with pytest.raises(BindError) as info:
        Manager(order_spec, MemoryStore())
    assert len(info.value.missing) == len(order_spec.guard_names) + len(order_spec.hook_names())


def test_a_mapping_of_callables_binds(order_spec: Spec) -> None:
    names = order_spec.guard_names + order_spec.hook_names()
    Manager(order_spec, MemoryStore(), hooks={n: (lambda c: True) for n in names})


def test_a_non_callable_attribute_counts_as_missing(order_spec: Spec) -> None:
    names = order_spec.guard_names + order_spec.hook_names()
    mapping: dict[str, object] = {n: (lambda c: True) for n in names}
    mapping["in_stock"] = True
    with pytest.raises(BindError) as info:
        Manager(order_spec, MemoryStore(), hooks=mapping)
    assert info.value.missing == ("in_stock",)
