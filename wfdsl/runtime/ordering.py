"""Run to completion inside one process: one step at a time per instance.

A thread that is about to owe or run hook work of an instance takes that
instance's *turn*: a lock held from the write of the transition (or the claim
of owed work) through its hooks to the completion markers. Turns are keyed by
``(store scope, workflow, instance id)``, so every manager and store object on
the same data in this process shares them. Between processes, the store's
leases order the work (:mod:`wfdsl.stores.base`).

A call to an instance from inside one of its own hooks or guards would wait
for itself. The instances whose turn the current call chain holds are kept in
a context variable, which follows the chain into every thread that copies the
context (``asyncio.to_thread``, an ``AsyncManager`` hook running on its loop),
so such a call is recognised and refused at once with
:class:`~wfdsl.errors.ReentrantCall`.

After ``os.fork()`` the child starts with no turns held: the threads that held
them in the parent do not exist there.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from wfdsl.errors import ReentrantCall

__all__ = ["ACTIVE", "Busy", "Key", "check_reentry", "in_turn", "marked", "turn"]

#: ``(store scope, workflow, instance id)``.
Key = tuple[str, str, str]

#: The instances whose turn this call chain holds (or whose guards it runs).
ACTIVE: ContextVar[frozenset[Key] | None] = ContextVar("wfdsl_active", default=None)


class Busy(Exception):
    """Another thread of this process held the turn until the deadline."""


class _Slot:
    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.users = 0


class _Turns:
    """The per-instance locks of this process, made on demand and dropped when
    no thread holds or waits for them."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._slots: dict[Key, _Slot] = {}

    def acquire(self, key: Key, deadline: float) -> _Slot:
        """The instance's lock, waiting until ``deadline`` (``time.monotonic``).

        :raises Busy: still held at the deadline.
        """
        with self._mutex:
            slot = self._slots.get(key)
            if slot is None:
                slot = self._slots[key] = _Slot()
            slot.users += 1
        if slot.lock.acquire(blocking=False):
            return slot
        timeout = deadline - time.monotonic()
        if timeout > 0 and slot.lock.acquire(timeout=timeout):
            return slot
        self._drop(key, slot)
        raise Busy(key)

    def release(self, key: Key, slot: _Slot) -> None:
        slot.lock.release()
        self._drop(key, slot)

    def _drop(self, key: Key, slot: _Slot) -> None:
        with self._mutex:
            slot.users -= 1
            if slot.users == 0 and self._slots.get(key) is slot:
                del self._slots[key]


_TURNS = _Turns()


def _after_fork_in_child() -> None:
    global _TURNS
    _TURNS = _Turns()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def check_reentry(key: Key, call: str) -> None:
    """Refuse a call to the instance ``key`` from inside its own hooks or guards.

    :raises ReentrantCall: this call chain holds the instance's turn.
    """
    active = ACTIVE.get()
    if active is not None and key in active:
        raise ReentrantCall(key[1], key[2], call)


def in_turn(key: Key) -> bool:
    """Whether this call chain holds the instance's turn."""
    active = ACTIVE.get()
    return active is not None and key in active


@contextmanager
def turn(key: Key, deadline: float) -> Iterator[None]:
    """Hold the instance's turn for the block, waiting for another thread's
    until ``deadline`` (``time.monotonic``); the block's guards and hooks run as
    this instance's (see :func:`check_reentry`).

    :raises Busy: another thread held it until the deadline, or this call chain
        holds it already (it would wait for itself).
    """
    if in_turn(key):
        raise Busy(key)
    turns = _TURNS
    slot = turns.acquire(key, deadline)
    try:
        with marked(key):
            yield
    finally:
        turns.release(key, slot)


@contextmanager
def marked(key: Key) -> Iterator[None]:
    """Run the block as the instance's own (its guards, for one): calls to the
    instance from inside it are refused."""
    active = ACTIVE.get()
    token = ACTIVE.set(active | {key} if active else frozenset((key,)))
    try:
        yield
    finally:
        ACTIVE.reset(token)
