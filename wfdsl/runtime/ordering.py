"""Run to completion inside one process: one step at a time per instance.

A thread that is about to owe or run hook work of an instance takes that
instance's *turn*: held from the write of the transition (or the claim of owed
work) through its hooks to the completion markers. Turns are keyed by
``(store scope, workflow, instance id)``, so every manager and store object on
the same data in this process shares them. Between processes, the store's
leases order the work (:mod:`wfdsl.stores.base`).

A turn lasts as long as the lease of the work its holder runs (SPEC §7.1: the
lease is the last resort against a worker that is alive but hung). A thread
waiting for a turn whose holder let its lease run out takes the turn over; the
hung holder, once its hook returns, finds its turn gone (:func:`held`) and
records nothing more.

A call to an instance from inside one of its own hooks or guards would wait
for itself. The instances whose turn the current call chain holds are kept in
a context variable, which follows the chain into every thread and task that
copies the context (``asyncio.to_thread``, an ``AsyncManager`` hook running on
its loop), so such a call is recognised and refused at once with
:class:`~wfdsl.errors.ReentrantCall`. Each entry is live only while the block
that holds the turn runs: a task or thread started inside a hook that calls
the instance *after* the hook returned is not refused.

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

__all__ = [
    "ACTIVE",
    "Busy",
    "Key",
    "Mark",
    "check_reentry",
    "extend",
    "held",
    "in_turn",
    "marked",
    "turn",
]

#: ``(store scope, workflow, instance id)``.
Key = tuple[str, str, str]

#: Lease of a turn taken with no lease given: effectively unbounded.
_FOREVER = float("inf")


class Mark:
    """One block that runs as an instance's own (a turn, or its guards): live
    while the block runs; ``lost`` once another thread took its turn over."""

    __slots__ = ("key", "live", "lost")

    def __init__(self, key: Key) -> None:
        self.key = key
        self.live = True
        self.lost = False


#: The blocks this call chain runs as an instance's own (their turns, their guards).
ACTIVE: ContextVar[tuple[Mark, ...] | None] = ContextVar("wfdsl_active", default=None)


class Busy(Exception):
    """Another thread of this process held the turn until the deadline."""


class _Slot:
    __slots__ = ("cond", "expires", "holder", "users")

    def __init__(self) -> None:
        self.cond = threading.Condition(threading.Lock())
        #: The holder's mark, or ``None`` when free.
        self.holder: Mark | None = None
        #: When (``time.monotonic``) the holder's lease runs out.
        self.expires = 0.0
        self.users = 0


class _Turns:
    """The per-instance turns of this process, made on demand and dropped when
    no thread holds or waits for them."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._slots: dict[Key, _Slot] = {}

    def acquire(self, key: Key, mark: Mark, deadline: float, lease: float) -> _Slot:
        """Take the instance's turn for ``mark``, waiting until ``deadline``
        (``time.monotonic``); a holder whose lease ran out is taken over.

        :raises Busy: still held (and its lease running) at the deadline.
        """
        with self._mutex:
            slot = self._slots.get(key)
            if slot is None:
                slot = self._slots[key] = _Slot()
            slot.users += 1
        with slot.cond:
            while True:
                now = time.monotonic()
                prior = slot.holder
                if prior is None or now >= slot.expires:
                    if prior is not None:
                        prior.lost = True  # hung past its lease: taken over
                    slot.holder = mark
                    slot.expires = now + lease
                    return slot
                if now >= deadline:
                    break
                slot.cond.wait(min(deadline, slot.expires) - now)
        self._drop(key, slot)
        raise Busy(key)

    def release(self, key: Key, slot: _Slot, mark: Mark) -> None:
        with slot.cond:
            if slot.holder is mark:
                slot.holder = None
                slot.cond.notify()
        self._drop(key, slot)

    def extend(self, key: Key, mark: Mark, until: float) -> bool:
        """Let ``mark``'s turn last until ``until`` (``time.monotonic``); whether
        it still holds it."""
        with self._mutex:
            slot = self._slots.get(key)
        if slot is None:
            return False
        with slot.cond:
            if slot.holder is not mark:
                return False
            slot.expires = until
            return True

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


def _mark(key: Key) -> Mark | None:
    """The live mark of ``key`` this call chain runs under, if any."""
    active = ACTIVE.get()
    if active is None:
        return None
    for mark in reversed(active):
        if mark.key == key and mark.live:
            return mark
    return None


def check_reentry(key: Key, call: str) -> None:
    """Refuse a call to the instance ``key`` from inside its own hooks or guards
    (while they run: not from a task they started that calls after they returned).

    :raises ReentrantCall: this call chain holds the instance's turn.
    """
    if _mark(key) is not None:
        raise ReentrantCall(key[1], key[2], call)


def in_turn(key: Key) -> bool:
    """Whether this call chain runs inside the instance's turn (or guards)."""
    return _mark(key) is not None


def held(key: Key) -> bool:
    """Whether the turn this call chain took for ``key`` is still its own (not
    taken over by another thread after its lease ran out)."""
    mark = _mark(key)
    return mark is not None and not mark.lost


def extend(key: Key, seconds: float) -> bool:
    """Let the turn this call chain holds for ``key`` last ``seconds`` more
    (its holder renewed its lease); whether it still holds it."""
    mark = _mark(key)
    if mark is None or mark.lost:
        return False
    return _TURNS.extend(key, mark, time.monotonic() + seconds)


@contextmanager
def turn(key: Key, deadline: float, lease: float = _FOREVER) -> Iterator[None]:
    """Hold the instance's turn for the block, waiting for another thread's
    until ``deadline`` (``time.monotonic``), or until that thread's ``lease``
    (seconds, renewed by :func:`extend`) runs out; the block's guards and hooks
    run as this instance's (see :func:`check_reentry`).

    :raises Busy: another thread held it until the deadline, or this call chain
        holds it already (it would wait for itself).
    """
    if in_turn(key):
        raise Busy(key)
    turns = _TURNS
    mark = Mark(key)
    slot = turns.acquire(key, mark, deadline, lease)
    try:
        with _marked(mark):
            yield
    finally:
        turns.release(key, slot, mark)


@contextmanager
def _marked(mark: Mark) -> Iterator[None]:
    active = ACTIVE.get()
    token = ACTIVE.set((*active, mark) if active else (mark,))
    try:
        yield
    finally:
        mark.live = False
        ACTIVE.reset(token)


@contextmanager
def marked(key: Key) -> Iterator[None]:
    """Run the block as the instance's own (its guards, for one): calls to the
    instance from inside it are refused."""
    with _marked(Mark(key)):
        yield
