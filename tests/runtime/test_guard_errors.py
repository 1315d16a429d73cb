"""A guard that raises is a typed error naming the guard, the instance and the
cause; nothing is applied, on every store and through both managers."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import wfdsl
from wfdsl import Manager
from wfdsl.errors import GuardFailed, ReentrantCall, WorkflowError
from wfdsl.runtime import AsyncManager
from wfdsl.runtime.context import Context
from wfdsl.stores.base import Store

SPEC = wfdsl.loads(
    "workflow pay { initial state created state paid { enter charge } final state done "
    "event pay, finish created -> paid on pay if enough and not blocked "
    "created -> done on finish paid -> done on finish }"
)


def enough(ctx: Context) -> bool:
    return bool(ctx.data["amount"] > 10)


def hooks(**overrides: Any) -> dict[str, Any]:
    return {"enough": enough, "blocked": lambda ctx: False, "charge": lambda ctx: None, **overrides}


def test_a_guard_that_raises_is_guard_failed_and_nothing_is_applied(store: Store) -> None:
    mgr = Manager(SPEC, store, hooks=hooks())
    mgr.start("o-1")
    with pytest.raises(GuardFailed) as info:
        mgr.send("o-1", "pay", key="k-1")  # no amount in the data
    exc = info.value
    assert isinstance(exc, WorkflowError) and isinstance(exc.__cause__, KeyError)
    assert (exc.workflow, exc.instance_id, exc.state, exc.event) == ("pay", "o-1", "created", "pay")
    assert exc.guard == "enough and not blocked" and exc.error == "KeyError: 'amount'"
    assert str(exc) == (
        "pay: guard 'enough and not blocked' raised KeyError: 'amount' for instance 'o-1' "
        "(in state 'created', event 'pay'); nothing was applied"
    )
    assert [t.target for t in mgr.history("o-1")] == ["created"]
    assert store.find_key("pay", "o-1", "k-1") is None  # the key is free for a retry
    assert mgr.send("o-1", "pay", key="k-1", data={"amount": 50}).target == "paid"


def test_a_guard_that_raises_a_workflow_error_is_guard_failed_too(store: Store) -> None:
    other = Manager(SPEC, store, hooks=hooks())

    def blocked(ctx: Context) -> bool:
        return other.state("ghost") == "done"  # UnknownInstance, from another instance

    mgr = Manager(SPEC, store, hooks=hooks(blocked=blocked))
    mgr.start("o-1")
    with pytest.raises(GuardFailed, match="UnknownInstance"):
        mgr.send("o-1", "pay", data={"amount": 50})


def test_a_guard_calling_its_own_instance_is_still_refused_as_such(store: Store) -> None:
    def blocked(ctx: Context) -> bool:
        mgr.send(ctx.instance_id, "finish")
        return False

    mgr = Manager(SPEC, store, hooks=hooks(blocked=blocked))
    mgr.start("o-1")
    with pytest.raises(ReentrantCall):
        mgr.send("o-1", "pay", data={"amount": 50})


def test_an_async_guard_that_raises_is_guard_failed(store: Store) -> None:
    async def enough_later(ctx: Context) -> bool:
        await asyncio.sleep(0)
        raise ConnectionError("risk service unavailable")

    async def main() -> None:
        mgr = AsyncManager(SPEC, store, hooks=hooks(enough=enough_later))
        await mgr.start("o-1")
        with pytest.raises(GuardFailed, match="ConnectionError: risk service unavailable"):
            await mgr.send("o-1", "pay", data={"amount": 50})
        assert await mgr.state("o-1") == "created"

    asyncio.run(main())
