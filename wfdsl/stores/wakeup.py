"""Waking this process's sleeping workers when a timer is armed.

A worker sleeps until the next due time. When a ``send`` in the same process
arms a sooner timer, the store that wrote it calls :func:`notify`, and every
:class:`LocalListener` of that store's data (its ``scope``) and workflow wakes
at once. Memory and SQLite stores hear only their own process this way (other
processes' timers are found by the worker's polling); PostgreSQL hears every
process through ``LISTEN``/``NOTIFY`` (:mod:`wfdsl.stores.postgres`) and
uses this too, for its own process.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence

__all__ = ["LocalListener", "notify"]

_mutex = threading.Lock()
#: scope -> the listeners open on it.
_listeners: dict[str, set[LocalListener]] = {}


def notify(scope: str, workflow: str, due: int) -> None:
    """A timer of ``workflow`` due at ``due`` (milliseconds since the epoch) was
    armed on the data ``scope`` names: wake the listeners of that workflow
    waiting for one due before it."""
    if not _listeners:
        return
    with _mutex:
        found = _listeners.get(scope)
        woken = [ln for ln in found if workflow in ln.workflows] if found else ()
    for listener in woken:
        listener.hear(due)


class LocalListener:
    """Implements :class:`~wfdsl.stores.base.TimerListener` for this process."""

    def __init__(self, scope: str, workflows: Sequence[str]) -> None:
        self.scope = scope
        self.workflows = frozenset(workflows)
        self._cond = threading.Condition(threading.Lock())
        #: The soonest due time heard since the last wait took it.
        self._heard: int | None = None
        with _mutex:
            _listeners.setdefault(scope, set()).add(self)

    def hear(self, due: int) -> None:
        """A timer due at ``due`` was armed."""
        with self._cond:
            if self._heard is None or due < self._heard:
                self._heard = due
            self._cond.notify_all()

    def wait(self, timeout: float, *, sooner_than: int | None = None) -> bool:
        deadline = time.monotonic() + max(0.0, timeout)
        with self._cond:
            while True:
                heard, self._heard = self._heard, None
                if heard is not None and (sooner_than is None or heard < sooner_than):
                    return True
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)

    def close(self) -> None:
        with _mutex:
            found = _listeners.get(self.scope)
            if found is not None:
                found.discard(self)
                if not found:
                    del _listeners[self.scope]


def _after_fork_in_child() -> None:
    # The listening threads stayed in the parent; the child starts with none.
    global _mutex
    _mutex = threading.Lock()
    _listeners.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
