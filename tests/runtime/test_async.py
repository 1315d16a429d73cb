"""AsyncManager: the same surface and semantics, awaited; hooks may be coroutines."""

from __future__ import annotations

import asyncio
import threading

import pytest

import wfdsl
from wfdsl.errors import GuardRejected, HookFailed
from wfdsl.runtime.aio import AsyncManager
from wfdsl.runtime.context import Context
from wfdsl.stores.base import Store

SPEC = wfdsl.loads(
    """workflow job {
        initial state queued
        state running { enter launch compensate abort }
        final state done { enter notify }
        event run, finish
        queued -> running on run if allowed
        running -> done on finish
    }"""
)


class Hooks:
    def __init__(self) -> None:
        self.log: list[tuple[str, str]] = []
        self.loop_threads: set[int] = set()
        self.fail_launch = False

    async def allowed(self, ctx: Context) -> bool:
        await asyncio.sleep(0)
        return ctx.data.get("ok", True) is not False

    async def launch(self, ctx: Context) -> None:
        self.loop_threads.add(threading.get_ident())
        await asyncio.sleep(0)
        if self.fail_launch:
            raise RuntimeError("no capacity")
        self.log.append(("launch", ctx.effect_key))

    async def abort(self, ctx: Context) -> None:
        self.log.append(("abort", ctx.effect_key))

    def notify(self, ctx: Context) -> None:  # plain functions work too
        self.log.append(("notify", ctx.effect_key))


def test_an_async_manager_drives_instances_with_async_hooks(store: Store) -> None:
    hooks = Hooks()

    async def main() -> list[str]:
        mgr = AsyncManager(SPEC, store, hooks=hooks)
        await mgr.start("j-1")
        await mgr.send("j-1", "run")
        await mgr.send("j-1", "finish")
        return [t.target for t in await mgr.history("j-1")]

    assert asyncio.run(main()) == ["queued", "running", "done"]
    assert hooks.log == [("launch", "job/j-1/2/launch"), ("notify", "job/j-1/3/notify")]
    assert hooks.loop_threads == {threading.main_thread().ident}  # coroutines ran on the loop


def test_concurrent_sends_to_many_instances(store: Store) -> None:
    hooks = Hooks()

    async def main() -> set[str]:
        mgr = AsyncManager(SPEC, store, hooks=hooks)
        ids = [f"j-{i}" for i in range(20)]
        await asyncio.gather(*(mgr.start(i) for i in ids))
        await asyncio.gather(*(mgr.send(i, "run") for i in ids))
        return {await mgr.state(i) for i in ids}

    assert asyncio.run(main()) == {"running"}
    assert len(hooks.log) == 20


def test_errors_surface_as_in_the_sync_manager(store: Store) -> None:
    hooks = Hooks()

    async def main() -> None:
        mgr = AsyncManager(SPEC, store, hooks=hooks)
        await mgr.start("j-1")
        with pytest.raises(GuardRejected):
            await mgr.send("j-1", "run", data={"ok": False})
        hooks.fail_launch = True
        with pytest.raises(HookFailed) as info:
            await mgr.send("j-1", "run")
        assert info.value.hook == "launch"
        hooks.fail_launch = False
        report = await mgr.resume()
        assert report.completed == [("j-1", "launch")]
        await mgr.compensate("j-1", "queued")
        assert await mgr.state("j-1") == "queued"

    asyncio.run(main())
    assert hooks.log[-1] == ("abort", "job/j-1/3/abort")


def test_a_plain_callable_returning_a_coroutine_is_awaited(store: Store) -> None:
    hooks = Hooks()

    class Deny:  # a callable object whose __call__ is async: not a coroutine function
        async def __call__(self, ctx: Context) -> bool:
            return False

    table = {
        "allowed": Deny(),
        "launch": lambda ctx: hooks.launch(ctx),  # a lambda around an async hook
        "abort": hooks.abort,
        "notify": hooks.notify,
    }

    async def main() -> None:
        mgr = AsyncManager(SPEC, store, hooks=table)
        await mgr.start("j-1")
        with pytest.raises(GuardRejected):  # the guard's False counts, not a truthy coroutine
            await mgr.send("j-1", "run")
        table["allowed"] = lambda ctx: hooks.allowed(ctx)
        mgr2 = AsyncManager(SPEC, store, hooks=table)
        await mgr2.send("j-1", "run")

    asyncio.run(main())
    assert hooks.log == [("launch", "job/j-1/2/launch")]  # the hook really ran


def test_one_manager_shared_by_threads_each_with_its_own_loop_runs_hooks_on_the_callers_loop(
    store: Store,
) -> None:
    spec = wfdsl.loads(
        "workflow w { initial state a { enter first } final state b { enter second }"
        " event go a -> b on go if ok }"
    )
    seen: list[tuple[str, int, int]] = []  # (instance, loop id, thread id) per call
    guard = threading.Lock()

    async def note(ctx: Context) -> None:
        await asyncio.sleep(0)
        with guard:
            seen.append((ctx.instance_id, id(asyncio.get_running_loop()), threading.get_ident()))

    async def ok(ctx: Context) -> bool:
        await note(ctx)
        return True

    mgr = AsyncManager(spec, store, hooks={"first": note, "second": note, "ok": ok})
    threads: dict[str, int] = {}
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        iid = f"t{n}"
        threads[iid] = threading.get_ident()

        async def main() -> None:
            for _ in range(3):
                await mgr.send(iid, "go")
                await mgr.compensate(iid, "a")

        try:
            asyncio.run(mgr.start(iid))
            asyncio.run(main())  # a loop of its own, closed in between: followed, not kept
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    workers = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(60)
    assert errors == []
    assert len(seen) == 4 * (1 + 3 * 2)
    for iid, _loop, thread in seen:
        assert thread == threads[iid]  # on the caller's own loop, never another thread's


def test_an_async_hook_awaiting_a_send_to_its_own_instance_is_refused_not_hung(
    store: Store,
) -> None:
    spec = wfdsl.loads(
        "workflow w { initial state a final state b { enter h } state c event go, jump "
        "a -> b on go a -> c on jump }"
    )

    async def h(ctx: Context) -> None:
        await mgr.send(ctx.instance_id, "jump")

    mgr = AsyncManager(spec, store, hooks={"h": h})

    async def main() -> None:
        await mgr.start("1")
        with pytest.raises(HookFailed) as info:
            await asyncio.wait_for(mgr.send("1", "go"), timeout=60)
        assert info.value.error.startswith("ReentrantCall")

    asyncio.run(main())
