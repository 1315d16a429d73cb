"""AsyncManager under load (on every store): its calls run in a thread pool of
their own, so hooks that use ``asyncio.to_thread`` (the loop's default
executor) never wait behind the manager's own blocking work; and
``AsyncManager.run_worker`` mirrors ``Manager.run_worker``."""

from __future__ import annotations

import asyncio
import contextlib
import threading

import pytest

import wfdsl
from wfdsl.errors import HookFailed
from wfdsl.runtime.aio import AsyncManager
from wfdsl.runtime.context import Context
from wfdsl.stores.base import Store

SPEC = wfdsl.loads(
    """workflow flip {
        initial state down { enter note }
        state up { enter note }
        event flip
        down -> up on flip
        up -> down on flip
    }"""
)

#: More concurrent calls than the default executor has threads (min(32, cpus + 4)).
CALLS = 50
#: Guards the test against a hang (the fault): far above what the calls take.
HANG = 120


class Hooks:
    def __init__(self) -> None:
        self.seen: list[tuple[str, int]] = []
        self.lock = threading.Lock()

    async def note(self, ctx: Context) -> None:
        # Blocking work the asyncio way: it needs a thread of the default executor.
        await asyncio.to_thread(self._record, ctx.instance_id, ctx.seq)

    def _record(self, instance_id: str, seq: int) -> None:
        with self.lock:
            self.seen.append((instance_id, seq))


def test_fifty_concurrent_calls_across_instances_with_to_thread_hooks_finish(
    store: Store,
) -> None:
    hooks = Hooks()

    async def main() -> list[str]:
        mgr = AsyncManager(SPEC, store, hooks=hooks, wait=60)
        await asyncio.wait_for(asyncio.gather(*(mgr.start(f"f-{i}") for i in range(CALLS))), HANG)
        await asyncio.wait_for(
            asyncio.gather(*(mgr.send(f"f-{i}", "flip") for i in range(CALLS))), HANG
        )
        return [await mgr.state(f"f-{i}") for i in range(CALLS)]

    assert asyncio.run(main()) == ["up"] * CALLS
    assert sorted(hooks.seen) == sorted(
        [(f"f-{i}", 1) for i in range(CALLS)] + [(f"f-{i}", 2) for i in range(CALLS)]
    )


def test_fifty_concurrent_sends_to_one_instance_run_one_step_at_a_time(store: Store) -> None:
    hooks = Hooks()

    async def main() -> int:
        mgr = AsyncManager(SPEC, store, hooks=hooks, wait=HANG)
        await mgr.start("f-1")
        await asyncio.wait_for(
            asyncio.gather(*(mgr.send("f-1", "flip", key=f"k-{i}") for i in range(CALLS))),
            HANG,
        )
        return len(await mgr.history("f-1"))

    assert asyncio.run(main()) == CALLS + 1
    # Every transition's hook ran once, in seq order.
    assert hooks.seen == [("f-1", seq) for seq in range(1, CALLS + 2)]


def test_async_run_worker_runs_owed_work_with_async_hooks(store: Store) -> None:
    hooks = Hooks()
    failing = {"left": 1}

    async def note(ctx: Context) -> None:
        if failing["left"]:
            failing["left"] -= 1
            raise RuntimeError("down")
        await hooks.note(ctx)

    async def main() -> tuple[int, int]:
        mgr = AsyncManager(SPEC, store, hooks={"note": note})
        with pytest.raises(HookFailed):  # the hook failed: its work is owed
            await mgr.start("f-1")
        stats = await mgr.run_worker(until_idle=True, poll=0.01)
        return stats.ran, (await mgr.instance("f-1")).pending

    assert asyncio.run(main()) == (1, 0)
    assert hooks.seen == [("f-1", 1)]


def test_async_run_worker_stops_on_an_asyncio_event_and_on_cancel(store: Store) -> None:
    async def main() -> bool:
        mgr = AsyncManager(SPEC, store, hooks=Hooks())
        stop = asyncio.Event()
        worker = asyncio.create_task(mgr.run_worker(stop, poll=0.01))
        await asyncio.sleep(0)
        stop.set()
        stats = await asyncio.wait_for(worker, HANG)
        cancelled = asyncio.create_task(mgr.run_worker(poll=0.01))
        await asyncio.sleep(0)
        cancelled.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await cancelled
        return stats.ok

    assert asyncio.run(main())
