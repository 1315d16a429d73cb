"""``AsyncManager``: the :class:`~wfdsl.runtime.manager.Manager` surface for asyncio.

Each call runs the synchronous manager in a thread of the manager's own pool
(threads made as calls need them, reused after), so the event loop never
blocks on the store's disk flushes or locks, and the loop's default executor
stays free for the application: a call waiting for an instance's turn, or for
another worker's hooks, never takes the thread that a hook's
``asyncio.to_thread`` is waiting for. Guards, hooks and compensators may be plain functions
or ``async def`` coroutines; a coroutine runs on the event loop of the call
that needs it (a context variable carries the loop into the worker thread, so
one manager may be shared by threads that each run their own loop), and the
worker thread waits for it. Semantics, errors and stores are those of
``Manager``.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import os
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from datetime import datetime
from typing import Any, TypeVar

from wfdsl.errors import WorkflowError
from wfdsl.runtime import ordering
from wfdsl.runtime.base import BaseManager, E, Hooks, S
from wfdsl.runtime.batch import Send
from wfdsl.runtime.binding import Call, bind
from wfdsl.runtime.manager import Manager
from wfdsl.runtime.report import ResumeReport, TimerReport
from wfdsl.runtime.worker import POLL, Stop, WorkerStats, stopper
from wfdsl.stores.records import InstanceRecord, Timer, Transition

__all__ = ["AsyncManager"]

T = TypeVar("T")

#: The event loop of the ``AsyncManager`` call being served.
_LOOP: ContextVar[asyncio.AbstractEventLoop | None] = ContextVar("wfdsl_loop", default=None)


#: Threads of the pool the managers' calls run in, at most: calls past it queue
#: (they never wait for each other's threads: a call waits only for a turn,
#: whose holder runs in a thread of its own).
MAX_THREADS = 256

_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        with _POOL_LOCK:
            if _POOL is None:
                _POOL = ThreadPoolExecutor(MAX_THREADS, thread_name_prefix="wfdsl-async")
    return _POOL


def _after_fork_in_child() -> None:
    global _POOL
    _POOL = None  # its threads do not exist in the child


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


#: The asyncio task an async hook or guard runs in (set by :func:`_awaited`).
#: Tasks the hook creates inherit it, which tells them apart: a call made in
#: that very task is nested in the hook (it would wait for itself), a call from
#: a task the hook started is an ordinary one, which waits its turn.
_HOOK_TASK: ContextVar[asyncio.Task[Any] | None] = ContextVar("wfdsl_hook_task", default=None)


async def _awaited(awaitable: Awaitable[T]) -> T:
    _HOOK_TASK.set(asyncio.current_task())
    return await awaitable


def _bridge(fn: Call) -> Call:
    """A plain callable for the worker thread. An awaitable it gets back (from an
    ``async def``, or a plain callable such as a lambda or an object whose
    ``__call__`` is async) is run on the event loop of the call being served:
    an un-awaited coroutine would be a guard that is always true, or a hook
    that never runs."""

    def call(ctx: Any) -> Any:
        result = fn(ctx)
        if not inspect.isawaitable(result):
            return result
        loop = _LOOP.get()
        if loop is None:  # pragma: no cover - only reachable through the sync manager
            close = getattr(result, "close", None)
            if callable(close):
                close()
            raise RuntimeError("an async hook was called outside AsyncManager")
        return asyncio.run_coroutine_threadsafe(_awaited(result), loop).result()

    return call


class AsyncManager(BaseManager[S, E]):
    """``await mgr.send(...)`` and friends; see the module docstring. Takes what
    :class:`~wfdsl.runtime.manager.Manager` takes."""

    manager: Manager[S, E]

    def _setup(self, hooks: Hooks) -> None:
        calls = {name: _bridge(fn) for name, fn in bind(self.spec, hooks, allow_async=True).items()}
        self.manager = Manager._bound(self.spec, self.store, calls, self.options)

    async def _run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        token = _LOOP.set(loop)
        try:
            ctx = contextvars.copy_context()
            hook_task = _HOOK_TASK.get()
            if hook_task is not None and hook_task is not asyncio.current_task():
                # Started by a hook, not awaited inside it: the hook's turn is
                # not this call's (it may well have returned by now).
                ctx.run(ordering.ACTIVE.set, None)
                ctx.run(_HOOK_TASK.set, None)
            call = functools.partial(ctx.run, fn, *args, **kwargs)
            return await loop.run_in_executor(_pool(), call)
        finally:
            _LOOP.reset(token)

    def set_clock(self, clock: Callable[[], datetime]) -> None:
        """See :meth:`Manager.set_clock`."""
        self.manager.set_clock(clock)

    async def start(
        self,
        instance_id: str,
        *,
        key: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> Transition:
        """See :meth:`Manager.start`."""
        return await self._run(self.manager.start, instance_id, key=key, data=data)

    async def send(
        self,
        instance_id: str,
        event: E,
        *,
        key: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> Transition:
        """See :meth:`Manager.send`."""
        return await self._run(self.manager.send, instance_id, event, key=key, data=data)

    async def send_many(
        self, items: Iterable[Send[E] | tuple[Any, ...]]
    ) -> list[Transition | WorkflowError]:
        """See :meth:`Manager.send_many`."""
        return await self._run(self.manager.send_many, list(items))

    async def state(self, instance_id: str) -> S:
        """See :meth:`Manager.state`."""
        return await self._run(self.manager.state, instance_id)

    async def instance(self, instance_id: str) -> InstanceRecord:
        """See :meth:`Manager.instance`."""
        return await self._run(self.manager.instance, instance_id)

    async def history(self, instance_id: str) -> list[Transition]:
        """See :meth:`Manager.history`."""
        return await self._run(self.manager.history, instance_id)

    async def compensate(self, instance_id: str, to_state: S | str) -> list[Transition]:
        """See :meth:`Manager.compensate`."""
        return await self._run(self.manager.compensate, instance_id, to_state)

    async def retry(self, instance_id: str) -> int:
        """See :meth:`Manager.retry`."""
        return await self._run(self.manager.retry, instance_id)

    async def resume(self) -> ResumeReport:
        """See :meth:`Manager.resume`."""
        return await self._run(self.manager.resume)

    async def fire_due(self, now: datetime | None = None, *, limit: int = 100) -> TimerReport:
        """See :meth:`Manager.fire_due`."""
        return await self._run(self.manager.fire_due, now, limit=limit)

    async def next_due(self) -> datetime | None:
        """See :meth:`Manager.next_due`."""
        return await self._run(self.manager.next_due)

    async def timers(self, instance_id: str) -> list[Timer]:
        """See :meth:`Manager.timers`."""
        return await self._run(self.manager.timers, instance_id)

    async def run_worker(
        self,
        stop: Stop | asyncio.Event | None = None,
        *,
        poll: float = POLL,
        until_idle: bool = False,
        limit: int = 100,
    ) -> WorkerStats:
        """See :meth:`Manager.run_worker`: the worker loop runs in a thread of
        the manager's pool, and async hooks on this call's loop. ``stop`` may
        also be an :class:`asyncio.Event`; cancelling the awaiting task stops
        the worker between two instances, as ``stop`` does.

        :raises ValueError: ``poll`` or ``limit`` out of range.
        :raises StoreError: the store failed.
        """
        cancelled = threading.Event()
        asked = stopper(stop.is_set if isinstance(stop, asyncio.Event) else stop)

        def stopped() -> bool:
            return cancelled.is_set() or asked()

        try:
            return await self._run(
                self.manager.run_worker, stopped, poll=poll, until_idle=until_idle, limit=limit
            )
        except asyncio.CancelledError:
            cancelled.set()
            raise
