"""A call is reentrant only while the hook that makes it is running (SPEC
§7.1), on every store: tasks and threads a hook starts inherit its context,
and a call they make to the same instance *after* the hook returned is a
call like any other, not refused."""

from __future__ import annotations

import asyncio
import contextvars
import threading

import pytest

import wfdsl
from wfdsl.errors import HookFailed, ReentrantCall
from wfdsl.runtime.aio import AsyncManager
from wfdsl.runtime.context import Context
from wfdsl.runtime.manager import Manager
from wfdsl.stores.base import Store
from wfdsl.stores.records import Transition

SPEC = wfdsl.loads(
    """workflow door {
        initial state shut { enter lock_it }
        state open
        final state gone
        event open, leave
        shut -> open on open
        open -> gone on leave
    }"""
)
HANG = 60


def test_a_thread_started_in_a_hook_may_send_once_the_hook_returned(store: Store) -> None:
    returned = threading.Event()
    outcome: list[object] = []
    threads: list[threading.Thread] = []
    mgr: Manager[str, str]

    def later() -> None:
        assert returned.wait(HANG)
        try:
            outcome.append(mgr.send("d-1", "open").target)
        except Exception as exc:
            outcome.append(exc)

    def lock_it(ctx: Context) -> None:
        ctx_copy = contextvars.copy_context()  # the context travels with the thread
        t = threading.Thread(target=ctx_copy.run, args=(later,))
        t.start()
        threads.append(t)

    mgr = Manager(SPEC, store, hooks={"lock_it": lock_it})
    mgr.start("d-1")
    returned.set()
    threads[0].join(HANG)
    assert outcome == ["open"]


def test_a_task_created_in_an_async_hook_may_send_once_the_hook_returned(store: Store) -> None:
    tasks: list[asyncio.Task[object]] = []

    async def main() -> object:
        returned = asyncio.Event()

        async def later() -> object:
            await returned.wait()
            return (await mgr.send("d-1", "open")).target

        async def lock_it(ctx: Context) -> None:
            tasks.append(asyncio.create_task(later()))

        mgr = AsyncManager(SPEC, store, hooks={"lock_it": lock_it})
        await mgr.start("d-1")
        returned.set()
        return await asyncio.wait_for(tasks[0], HANG)

    assert asyncio.run(main()) == "open"


def test_a_task_created_in_an_async_hook_that_sends_at_once_waits_its_turn(
    store: Store,
) -> None:
    """The task starts no later than the hook's return, while its worker is
    still recording the hook done: an ordinary call, not a nested one."""

    async def main() -> list[str]:
        tasks: list[asyncio.Task[Transition]] = []

        async def lock_it(ctx: Context) -> None:
            tasks.append(asyncio.create_task(mgr.send(ctx.instance_id, "open")))

        mgr = AsyncManager(SPEC, store, hooks={"lock_it": lock_it})
        await asyncio.gather(*(mgr.start(f"t-{i}") for i in range(20)))
        done = await asyncio.wait_for(asyncio.gather(*tasks), HANG)
        return [t.target for t in done]

    assert asyncio.run(main()) == ["open"] * 20


def test_a_send_an_async_hook_awaits_on_its_own_instance_is_still_refused(
    store: Store,
) -> None:
    async def main() -> BaseException | None:
        async def lock_it(ctx: Context) -> None:
            await mgr.send(ctx.instance_id, "open")

        mgr = AsyncManager(SPEC, store, hooks={"lock_it": lock_it})
        with pytest.raises(HookFailed) as caught:
            await asyncio.wait_for(mgr.start("n-1"), HANG)
        return caught.value.__cause__

    assert isinstance(asyncio.run(main()), ReentrantCall)


def test_to_thread_from_an_async_hook_after_it_returned_is_not_refused(store: Store) -> None:
    async def main() -> object:
        pending: list[asyncio.Future[object]] = []
        go = threading.Event()

        def send_later() -> object:
            assert go.wait(HANG)
            return mgr.manager.send("d-1", "open").target

        async def lock_it(ctx: Context) -> None:
            pending.append(asyncio.ensure_future(asyncio.to_thread(send_later)))

        mgr = AsyncManager(SPEC, store, hooks={"lock_it": lock_it})
        await mgr.start("d-1")
        go.set()
        return await asyncio.wait_for(pending[0], HANG)

    assert asyncio.run(main()) == "open"


def test_a_call_while_the_hook_runs_is_still_refused(store: Store) -> None:
    refused: list[BaseException] = []
    mgr: Manager[str, str]

    def lock_it(ctx: Context) -> None:
        # A thread the hook waits for: nested in the hook, so reentrant.
        def now() -> None:
            try:
                mgr.send("d-1", "open")
            except ReentrantCall as exc:
                refused.append(exc)

        t = threading.Thread(target=contextvars.copy_context().run, args=(now,))
        t.start()
        t.join(HANG)

    mgr = Manager(SPEC, store, hooks={"lock_it": lock_it})
    mgr.start("d-1")
    assert len(refused) == 1
    assert mgr.state("d-1") == "shut"
    with pytest.raises(ReentrantCall):
        raise refused[0]
