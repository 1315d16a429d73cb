"""``AsyncManager``: the :class:`~wfdsl.runtime.manager.Manager` surface for asyncio.

Each call runs the synchronous manager in a worker thread
(:func:`asyncio.to_thread`), so the event loop never blocks on the store's
disk flushes or locks. Guards, hooks and compensators may be plain functions
or ``async def`` coroutines; coroutines are run on the caller's event loop,
and the worker thread waits for them. Semantics, errors and stores are those
of ``Manager``.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Coroutine, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from wfdsl.ir import Spec
from wfdsl.runtime.binding import bind
from wfdsl.runtime.manager import Manager
from wfdsl.runtime.records import InstanceRecord, ResumeReport, Transition

if TYPE_CHECKING:
    from wfdsl.stores.base import Store

__all__ = ["AsyncManager"]

S = TypeVar("S", bound=str)
E = TypeVar("E", bound=str)
T = TypeVar("T")


class AsyncManager(Generic[S, E]):
    """``await mgr.send(...)`` and friends; see the module docstring."""

    @overload
    def __init__(
        self: AsyncManager[str, str],
        spec: Spec,
        store: Store,
        *,
        hooks: object | Mapping[str, Callable[..., Any]] | None = None,
        clock: Callable[[], datetime] | None = None,
        worker_id: str | None = None,
        lease: float = 60.0,
        max_attempts: int = 5,
    ) -> None: ...

    @overload
    def __init__(
        self,
        spec: Spec,
        store: Store,
        *,
        hooks: object | Mapping[str, Callable[..., Any]] | None = None,
        state_type: type[S],
        event_type: type[E],
        clock: Callable[[], datetime] | None = None,
        worker_id: str | None = None,
        lease: float = 60.0,
        max_attempts: int = 5,
    ) -> None: ...

    def __init__(
        self,
        spec: Spec,
        store: Store,
        *,
        hooks: object | Mapping[str, Callable[..., Any]] | None = None,
        state_type: type[Any] | None = None,
        event_type: type[Any] | None = None,
        clock: Callable[[], datetime] | None = None,
        worker_id: str | None = None,
        lease: float = 60.0,
        max_attempts: int = 5,
    ) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        calls = {name: self._bridge(fn) for name, fn in bind(spec, hooks).items()}
        self.manager: Manager[S, E] = Manager(
            spec,
            store,
            hooks=calls,
            state_type=state_type,  # type: ignore[arg-type]
            event_type=event_type,  # type: ignore[arg-type]
            clock=clock,
            worker_id=worker_id,
            lease=lease,
            max_attempts=max_attempts,
        )
        self.spec = spec
        self.store = store

    def _bridge(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """A plain callable for the worker thread. A coroutine it returns (from an
        ``async def``, or a plain callable such as a lambda or an object whose
        ``__call__`` is async) is run on the event loop that made the current call:
        an un-awaited coroutine would be a guard that is always true, or a hook
        that never runs."""

        def call(ctx: Any) -> Any:
            result = fn(ctx)
            if not inspect.iscoroutine(result):
                return result
            loop = self._loop
            if loop is None:  # pragma: no cover - only reachable through the sync manager
                result.close()
                raise RuntimeError("an async hook was called outside AsyncManager")
            coro: Coroutine[Any, Any, Any] = result
            return asyncio.run_coroutine_threadsafe(coro, loop).result()

        return call

    async def _run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        self._loop = asyncio.get_running_loop()
        return await asyncio.to_thread(fn, *args, **kwargs)

    def set_clock(self, clock: Callable[[], datetime]) -> None:
        """See :meth:`Manager.set_clock`."""
        self.manager.set_clock(clock)

    async def start(self, instance_id: str, *, data: Mapping[str, Any] | None = None) -> Transition:
        """See :meth:`Manager.start`."""
        return await self._run(self.manager.start, instance_id, data=data)

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
