"""A PostgreSQL worker's proof of life: a session of its own holding a
session-level advisory lock.

The server drops a session's advisory locks when the session ends, so the
lock is absent from ``pg_locks`` as soon as the worker's process dies (its
connection closes) or its connection is lost: other workers then take its work
over at once (as Oban and Que do with their job locks). A dropped connection is
not a dead process, though (Que's Go port learned this the hard way): the
keeper thread here watches the session and, when it is lost, opens a new one
under a **new** key. The worker's identity changes with it, so the runtime
notices that it lost its session, and stops treating as its own the work it
had claimed under the old one (another worker may hold it by now).

One :class:`Presence` per store and process (a forked child opens its own).
The lock lives in a key space of its own, ``pg_advisory_lock(LOCK_SPACE,
key)``: ``pg_locks`` shows it with ``classid = LOCK_SPACE``, ``objid = key``
and ``objsubid = 2``, which is what the stores' claim query looks for.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import select
import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from wfdsl.errors import StoreError
from wfdsl.stores import urls

if TYPE_CHECKING:
    from psycopg import Connection

__all__ = ["LOCK_SPACE", "Presence"]

log = logging.getLogger("wfdsl.stores")

#: The first key of every wfdsl worker lock ("wfds" in ASCII), so that the
#: second can be any positive 32-bit number without meeting an application's.
LOCK_SPACE = 0x77666473

#: How often the keeper looks at a quiet session, in seconds.
HEARTBEAT = 1.0


class Presence:
    """Holds the worker lock on a session opened by ``connect``; see the module
    docstring. :meth:`proof` is the worker's identity (the lock's key, as text).
    """

    def __init__(self, connect: Callable[[], Connection[Any]], where: str) -> None:
        self._connect = connect
        self._where = where
        self._mutex = threading.Lock()
        self._conn: Connection[Any] | None = None
        self._proof: str | None = None
        self._closed = False
        self._keeper: threading.Thread | None = None

    def proof(self) -> str:
        """The current session's key; opens the session on first use.

        :raises StoreError: no session could be opened.
        """
        proof = self._proof
        if proof is not None:
            return proof
        with self._mutex:
            if self._proof is None:
                self._open()
            assert self._proof is not None
            return self._proof

    def _open(self) -> None:
        """Open a session and take a fresh key in it (mutex held)."""
        import psycopg

        if self._closed:
            raise StoreError("the store is closed")
        try:
            conn = self._connect()
            for _ in range(100):
                key = secrets.randbelow(2**31 - 1) + 1
                row = conn.execute(
                    "SELECT pg_try_advisory_lock(%s, %s)", (LOCK_SPACE, key)
                ).fetchone()
                if row and row[0]:
                    break
            else:  # pragma: no cover - two billion keys, a hundred draws
                conn.close()
                raise StoreError(f"PostgreSQL at {self._where}: no free worker lock key")
        except psycopg.Error as exc:
            message = " ".join(str(exc).split())
            raise StoreError(
                urls.redact(
                    f"PostgreSQL at {self._where}: cannot open the worker session: {message}"
                )
            ) from exc
        self._conn = conn
        self._proof = str(key)
        if self._keeper is None:
            self._keeper = threading.Thread(
                target=_keep, args=(weakref.ref(self),), name="wfdsl-presence", daemon=True
            )
            self._keeper.start()

    def check(self) -> None:
        """Look at the session once: if it is gone, forget it (a new one, under a
        new key, is opened now or on the next :meth:`proof`)."""
        with self._mutex:
            conn = self._conn
            if self._closed:
                return
            if conn is None:  # lost earlier, and the server was not back yet
                with contextlib.suppress(StoreError):
                    self._open()
                return
            lost = conn.closed or conn.broken
            if not lost:
                try:
                    ready, _, _ = select.select([conn.fileno()], [], [], 0)
                    if ready:
                        # Input on an idle session: a notice, or the end of it.
                        conn.pgconn.consume_input()
                        while conn.pgconn.notifies() is not None:
                            pass
                        lost = conn.pgconn.status != 0  # CONNECTION_OK
                except Exception:
                    lost = True
            if lost:
                log.warning(
                    "PostgreSQL at %s: the worker session (key %s) was lost; "
                    "opening a new one under a new key",
                    self._where,
                    self._proof,
                )
                with contextlib.suppress(Exception):
                    conn.close()
                self._conn = None
                self._proof = None
                with contextlib.suppress(StoreError):
                    self._open()

    def fileno(self) -> int | None:
        conn = self._conn
        if conn is None or conn.closed:
            return None
        try:
            return conn.fileno()
        except Exception:
            return None

    def close(self) -> None:
        """End the session: the worker's leases are free at once."""
        with self._mutex:
            self._closed = True
            conn, self._conn, self._proof = self._conn, None, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    def forget(self) -> None:
        """In a forked child: drop the parent's session without touching it."""
        self._closed = True
        self._conn = None
        self._proof = None


def _keep(ref: weakref.ref[Presence]) -> None:
    """The keeper thread: wait until the session says something (the server
    closing it, for one) or a heartbeat passes, then check it."""
    while True:
        presence = ref()
        if presence is None or presence._closed:
            return
        fd = presence.fileno()
        del presence
        if fd is not None:
            with contextlib.suppress(OSError, ValueError):
                select.select([fd], [], [], HEARTBEAT)
        else:
            threading.Event().wait(HEARTBEAT)
        presence = ref()
        if presence is None or presence._closed:
            return
        presence.check()
        del presence
