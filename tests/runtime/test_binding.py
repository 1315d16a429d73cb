"""Binding hooks to a spec (SPEC §7): checked up front, every problem reported,
every callable shape that cannot work refused before anything runs."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Iterator
from typing import Any

import pytest

import wfdsl
from wfdsl import Manager
from wfdsl.errors import BindError, GuardRejected, HookFailed
from wfdsl.ir import Spec
from wfdsl.runtime.aio import AsyncManager
from wfdsl.runtime.context import Context
from wfdsl.stores.base import Store
from wfdsl.stores.memory import MemoryStore

from .conftest import OrderHooks

SMALL = wfdsl.loads(
    "workflow w { initial state a final state b { enter h } event go a -> b on go if g }"
)


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


def test_a_non_callable_attribute_is_reported_as_not_callable_not_as_missing(
    order_spec: Spec,
) -> None:
    names = order_spec.guard_names + order_spec.hook_names()
    mapping: dict[str, object] = {n: (lambda c: True) for n in names}
    mapping["in_stock"] = True
    with pytest.raises(BindError) as info:
        Manager(order_spec, MemoryStore(), hooks=mapping)
    assert info.value.missing == ()
    assert info.value.unfit == (("in_stock", "is not callable (it is a bool)"),)


@pytest.mark.parametrize("manager", [Manager, AsyncManager], ids=["Manager", "AsyncManager"])
def test_a_hooks_class_given_instead_of_an_instance_is_refused_saying_what_to_give(
    order_spec: Spec, manager: type[Manager[str, str]]
) -> None:
    with pytest.raises(BindError) as info:
        manager(order_spec, MemoryStore(), hooks=OrderHooks)
    assert info.value.given is not None
    assert "hooks is the class OrderHooks, not an instance" in str(info.value)
    assert "give OrderHooks()" in str(info.value)


class AsyncHooks:
    async def g(self, ctx: Context) -> bool:
        return False

    async def h(self, ctx: Context) -> None:
        raise AssertionError("never run by the sync manager")


class AsyncCall:
    async def __call__(self, ctx: Context) -> bool:
        return False


async def free_async(ctx: Context) -> bool:
    return False


@pytest.mark.parametrize(
    "hooks",
    [
        AsyncHooks(),
        {"g": free_async, "h": AsyncHooks().h},
        {"g": functools.partial(free_async), "h": AsyncCall()},
    ],
    ids=["methods", "functions", "partial-and-callable-object"],
)
def test_the_sync_manager_refuses_async_guards_and_hooks_naming_each(hooks: Any) -> None:
    with pytest.raises(BindError) as info:
        Manager(SMALL, MemoryStore(), hooks=hooks)
    assert [name for name, _ in info.value.unfit] == ["g", "h"]
    assert all("use wfdsl.AsyncManager" in why for _, why in info.value.unfit)


def test_async_manager_accepts_what_the_sync_manager_refuses() -> None:
    async def main() -> None:
        mgr = AsyncManager(SMALL, MemoryStore(), hooks=AsyncHooks())
        await mgr.start("1")
        with pytest.raises(GuardRejected):  # the async guard's False counted
            await mgr.send("1", "go")

    asyncio.run(main())


def gen_hook(ctx: Context) -> Iterator[None]:
    yield


class NeedsArgs:
    def __init__(self, ctx: Context) -> None:
        pass


@pytest.mark.parametrize(
    ("h", "why"),
    [
        (gen_hook, "is a generator function"),
        (NeedsArgs, "is the class NeedsArgs: give an instance or a function"),
        (lambda: None, "cannot be called with the context"),
        (lambda ctx, extra: None, "cannot be called with the context"),
        ("h", "is not callable (it is a str)"),
    ],
    ids=["generator", "class", "no-argument", "two-arguments", "string"],
)
def test_callables_that_cannot_take_the_context_are_refused(h: object, why: str) -> None:
    with pytest.raises(BindError) as info:
        Manager(SMALL, MemoryStore(), hooks={"g": lambda c: True, "h": h})
    ((name, reason),) = info.value.unfit
    assert name == "h" and why in reason


def test_callables_with_defaults_or_star_args_bind() -> None:
    def h(ctx: Context, extra: int = 1, *rest: object) -> None:
        pass

    Manager(SMALL, MemoryStore(), hooks={"g": lambda *a: True, "h": h})


def test_a_plain_guard_returning_a_coroutine_is_refused_not_taken_as_true(store: Store) -> None:
    # Not knowable at binding: a lambda around an async def.
    mgr = Manager(SMALL, store, hooks={"g": lambda ctx: free_async(ctx), "h": lambda c: None})
    mgr.start("1")
    with pytest.raises(BindError, match="g returned a coroutine"):
        mgr.send("1", "go")
    assert mgr.state("1") == "a"  # nothing was applied


def test_a_plain_hook_returning_a_coroutine_fails_instead_of_being_marked_done(
    store: Store,
) -> None:
    ran: list[str] = []

    async def h(ctx: Context) -> None:
        ran.append("h")

    mgr = Manager(SMALL, store, hooks={"g": lambda c: True, "h": lambda ctx: h(ctx)})
    mgr.start("1")
    with pytest.raises(HookFailed, match="h returned a coroutine") as info:
        mgr.send("1", "go")
    assert info.value.hook == "h" and ran == []
    assert mgr.instance("1").pending == 1  # still owed
