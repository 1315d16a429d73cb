"""The embedded default store: one SQLite file, safe for several processes.

* WAL journal, ``synchronous=FULL`` unless asked otherwise: a transition that
  ``send`` returned survives a power cut.
* The connection runs in autocommit mode; every write is an explicit
  ``BEGIN IMMEDIATE`` ... ``COMMIT``, so a read-then-write inside it is atomic
  and writers from other processes queue on the busy timeout.
* The schema is created and migrated by the store (``PRAGMA user_version``).
* Hook completion markers are kept in memory and folded into the next write
  transaction (or written on ``flush``/``close``/exit): marking work done then
  costs no disk flush of its own. If the process dies first, the work merely
  looks pending and runs again, which at-least-once hooks allow.
* A store used in a child process after ``fork`` opens its own connection
  there (SQLite connections must not cross a fork); the markers the parent had
  not yet written stay the parent's to write.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from wfdsl.errors import AlreadyStarted, StoreError, UnknownInstance, VersionConflict
from wfdsl.runtime.records import (
    InstanceRecord,
    Transition,
    TransitionKind,
    WorkItem,
    dump_data,
)
from wfdsl.stores.base import WORK_COLUMNS, work_from_row

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "SQLiteStore"]

#: ``MIGRATIONS[n]`` takes a database from schema version ``n`` to ``n + 1``.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE wf_instances (
            workflow     TEXT NOT NULL,
            instance_id  TEXT NOT NULL,
            state        TEXT NOT NULL,
            version      INTEGER NOT NULL,
            fingerprint  TEXT NOT NULL,
            compensating TEXT,
            pending      INTEGER NOT NULL DEFAULT 0,
            dead         INTEGER NOT NULL DEFAULT 0,
            created_at   TEXT NOT NULL,
            updated_at   TEXT NOT NULL,
            PRIMARY KEY (workflow, instance_id)
        ) WITHOUT ROWID""",
        """CREATE TABLE wf_transitions (
            workflow    TEXT NOT NULL,
            instance_id TEXT NOT NULL,
            seq         INTEGER NOT NULL,
            kind        TEXT NOT NULL,
            source      TEXT,
            target      TEXT NOT NULL,
            event       TEXT,
            key         TEXT,
            data        TEXT NOT NULL,
            at          TEXT NOT NULL,
            PRIMARY KEY (workflow, instance_id, seq)
        ) WITHOUT ROWID""",
        """CREATE UNIQUE INDEX wf_transitions_key
            ON wf_transitions (workflow, instance_id, key) WHERE key IS NOT NULL""",
        """CREATE TABLE wf_work (
            workflow    TEXT NOT NULL,
            instance_id TEXT NOT NULL,
            seq         INTEGER NOT NULL,
            idx         INTEGER NOT NULL,
            hook        TEXT NOT NULL,
            kind        TEXT NOT NULL,
            status      TEXT NOT NULL,
            attempts    INTEGER NOT NULL DEFAULT 0,
            last_error  TEXT,
            lease_owner TEXT,
            lease_until REAL,
            PRIMARY KEY (workflow, instance_id, seq, idx)
        ) WITHOUT ROWID""",
        """CREATE INDEX wf_work_open ON wf_work (workflow, instance_id, seq, idx)
            WHERE status <> 'done'""",
    ),
)

#: The schema version this code writes.
SCHEMA_VERSION = len(MIGRATIONS)

_SYNC_MODES = ("OFF", "NORMAL", "FULL", "EXTRA")

_INSTANCE_COLUMNS = """i.workflow, i.instance_id, i.state, i.version, i.fingerprint,
    i.compensating, i.created_at, i.updated_at, i.pending, i.dead"""

_LOAD = f"SELECT {_INSTANCE_COLUMNS} FROM wf_instances i WHERE i.workflow = ? AND i.instance_id = ?"

_INSERT_WORK = f"INSERT INTO wf_work ({WORK_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)"

_MARK_DONE = (
    "UPDATE wf_work SET status = 'done', lease_owner = NULL, lease_until = NULL "
    "WHERE workflow = ? AND instance_id = ? AND seq = ? AND idx = ? AND status = 'pending'"
)

_Key = tuple[str, str]
_Done = dict[_Key, set[tuple[int, int]]]

#: Connections a forked child inherited: kept referenced, never used or closed.
_INHERITED: list[sqlite3.Connection] = []


def _flush_buffer(conn: sqlite3.Connection, done: _Done, skip: _Key | None = None) -> int:
    """Mark buffered work done and keep each instance's ``pending`` count in step.

    For the instance ``skip`` the count is not updated but returned, so that the
    caller folds it into the update of that instance it is about to make."""
    folded = 0
    for (wf, iid), items in done.items():
        if len(items) == 1:
            seq, idx = next(iter(items))
            n = conn.execute(_MARK_DONE, (wf, iid, seq, idx)).rowcount
        else:
            n = conn.executemany(_MARK_DONE, [(wf, iid, seq, idx) for seq, idx in items]).rowcount
        if n <= 0:
            continue
        if (wf, iid) == skip:
            folded = n
        else:
            conn.execute(
                "UPDATE wf_instances SET pending = pending - ? WHERE workflow = ? AND instance_id = ?",
                (n, wf, iid),
            )
    return folded


def _finalize(
    conn: sqlite3.Connection,
    done: _Done,
    lock: threading.RLock,
    wake: threading.Event,
    pid: int,
) -> None:
    """At garbage collection or interpreter exit: write deferred markers, close,
    and let the idle flusher thread end. In a forked child this does nothing:
    the connection, its lock and its markers belong to the parent."""
    if os.getpid() != pid:
        return
    wake.set()
    with lock:
        try:
            if done:
                conn.execute("BEGIN IMMEDIATE")
                _flush_buffer(conn, done)
                conn.execute("COMMIT")
                done.clear()
        except sqlite3.Error:
            pass
        finally:
            conn.close()


def _idle_flusher(ref: weakref.ref[SQLiteStore], wake: threading.Event, delay: float) -> None:
    """Background thread: write completion markers no write came to fold in.

    Holds only a weak reference, so the store can be collected; exits when the
    store is closed or gone."""
    while True:
        wake.wait()
        time.sleep(delay)
        # Clear before looking at the store: ``close`` sets ``_closed`` before it
        # sets ``wake``, so a close that this check misses wakes the next wait.
        wake.clear()
        store = ref()
        if store is None or store._closed:
            return
        # Closed meanwhile, or busy: the next write or close folds them in.
        with contextlib.suppress(StoreError):
            store.flush()
        del store


class SQLiteStore:
    """Implements :class:`~wfdsl.stores.base.Store` on a SQLite file.

    :param path: the database file (created if missing), or ``":memory:"``.
    :param synchronous: ``"FULL"`` (default, durable on power loss) or
        ``"NORMAL"`` (durable on process crash; a power cut may lose the last
        transactions), ``"EXTRA"``, or ``"OFF"``.
    :param busy_timeout: seconds a writer waits for another process's write.
    :param defer_completions: fold hook completion markers into the next write.
    :param flush_delay: seconds after which markers not yet folded into a write
        are written anyway, by a background thread (``None``: only at the next
        write, ``flush``, ``close`` or exit).
    :raises StoreError: the file cannot be opened, or was written by a newer wfdsl.
    """

    def __init__(
        self,
        path: str,
        *,
        synchronous: str = "FULL",
        busy_timeout: float = 30.0,
        defer_completions: bool = True,
        flush_delay: float | None = 0.5,
    ) -> None:
        mode = synchronous.upper()
        if mode not in _SYNC_MODES:
            raise StoreError(f"synchronous must be one of {', '.join(_SYNC_MODES)}")
        self.path = str(path)
        self.synchronous = mode
        self.defer_completions = defer_completions
        self.flush_delay = flush_delay
        self._busy_timeout = busy_timeout
        self._closed = False
        self._connect()
        try:
            self._migrate()
        except sqlite3.Error as exc:
            self._finalizer()
            raise StoreError(f"cannot open SQLite database {self.path!r}: {exc}") from None
        except StoreError:
            self._finalizer()
            raise

    def _connect(self) -> None:
        """Open this process's connection, with its lock, marker buffer and flusher."""
        self._pid = os.getpid()
        self._wake = threading.Event()
        self._flusher: threading.Thread | None = None
        self._lock = threading.RLock()
        self._done: _Done = {}
        try:
            conn = sqlite3.connect(
                self.path,
                timeout=self._busy_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open SQLite database {self.path!r}: {exc}") from None
        self._conn = conn
        self._finalizer = weakref.finalize(
            self, _finalize, conn, self._done, self._lock, self._wake, self._pid
        )
        try:
            if self.path != ":memory:":
                jm = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if str(jm).lower() != "wal":
                    raise StoreError(f"{self.path}: cannot switch to WAL (journal_mode={jm})")
            conn.execute(f"PRAGMA synchronous = {self.synchronous}")
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
        except sqlite3.Error as exc:
            self._finalizer()
            raise StoreError(f"cannot open SQLite database {self.path!r}: {exc}") from None
        except StoreError:
            self._finalizer()
            raise

    def _check(self) -> None:
        """Refuse a closed store; after a ``fork``, give the child its own connection.

        The parent's connection is left open and unused here (closing or using
        it in the child could disturb the parent's locks); its markers stay the
        parent's to write."""
        if self._closed:
            raise StoreError("the store is closed")
        if self._pid != os.getpid():
            if self.path == ":memory:":
                raise StoreError("an in-memory SQLite store cannot be used after fork")
            self._finalizer.detach()
            _INHERITED.append(self._conn)
            self._connect()

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r}, synchronous={self.synchronous!r})"

    # -- plumbing ---------------------------------------------------------------

    def _migrate(self) -> None:
        conn = self._conn
        current = conn.execute("PRAGMA user_version").fetchone()[0]
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: schema version {current} was written by a newer wfdsl "
                f"(this one knows {SCHEMA_VERSION})"
            )
        if current == SCHEMA_VERSION:
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = conn.execute("PRAGMA user_version").fetchone()[0]
            for version in range(current, SCHEMA_VERSION):
                for statement in MIGRATIONS[version]:
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    @property
    def schema_version(self) -> int:
        """The schema version of the open database."""
        with self._read() as conn:
            version: int = conn.execute("PRAGMA user_version").fetchone()[0]
            return version

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        if self._closed or self._pid != os.getpid():
            self._check()
        with self._lock:
            try:
                yield self._conn
            except sqlite3.Error as exc:
                raise StoreError(f"{self.path}: {exc}") from exc

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``, folding in deferred completion markers."""
        if self._closed or self._pid != os.getpid():
            self._check()
        with self._lock:
            conn = self._conn
            done = self._done
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreError(f"{self.path}: {exc}") from exc
            try:
                if done:
                    _flush_buffer(conn, done)
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise StoreError(f"{self.path}: {exc}") from exc
                raise
            done.clear()

    def _buffered(self, workflow: str, instance_id: str) -> set[tuple[int, int]]:
        return self._done.get((workflow, instance_id), set())

    @staticmethod
    def _time(text: str | None) -> datetime | None:
        return None if text is None else datetime.fromisoformat(text)

    def _instance(self, row: Any) -> InstanceRecord:
        pending = row[8]
        if pending and self._done:
            pending -= len(self._buffered(row[0], row[1]))
        return InstanceRecord(
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            row[5],
            pending,
            row[9],
            self._time(row[6]),
            self._time(row[7]),
        )

    @staticmethod
    def _transition(row: Any) -> Transition:
        data = row[6]
        return Transition(
            row[0],
            TransitionKind(row[1]),
            row[2],
            row[3],
            row[4],
            row[5],
            {} if data == "{}" else json.loads(data),
            datetime.fromisoformat(row[7]),
        )

    @staticmethod
    def _insert_work(conn: sqlite3.Connection, work: Sequence[WorkItem]) -> None:
        rows = [
            (
                w.workflow,
                w.instance_id,
                w.seq,
                w.idx,
                w.hook,
                w.kind.value,
                w.status.value,
                w.attempts,
                w.last_error,
                w.lease_owner,
                w.lease_until,
            )
            for w in work
        ]
        if len(rows) == 1:  # the common case: execute() is cheaper than executemany()
            conn.execute(_INSERT_WORK, rows[0])
        elif rows:
            conn.executemany(_INSERT_WORK, rows)

    @staticmethod
    def _insert_transition(
        conn: sqlite3.Connection, workflow: str, instance_id: str, t: Transition, at: str
    ) -> None:
        conn.execute(
            "INSERT INTO wf_transitions (workflow, instance_id, seq, kind, source, target, "
            "event, key, data, at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                workflow,
                instance_id,
                t.seq,
                t.kind.value,
                t.source,
                t.target,
                t.event,
                t.key,
                dump_data(t.data),
                at,
            ),
        )

    # -- reads --------------------------------------------------------------------

    def load(self, workflow: str, instance_id: str) -> InstanceRecord | None:
        # On every send's path: written out rather than through ``_read``.
        if self._closed or self._pid != os.getpid():
            self._check()
        with self._lock:
            try:
                row = self._conn.execute(_LOAD, (workflow, instance_id)).fetchone()
            except sqlite3.Error as exc:
                raise StoreError(f"{self.path}: {exc}") from exc
            return None if row is None else self._instance(row)

    def find_key(self, workflow: str, instance_id: str, key: str) -> Transition | None:
        with self._read() as conn:
            row = conn.execute(
                "SELECT seq, kind, source, target, event, key, data, at FROM wf_transitions "
                "WHERE workflow = ? AND instance_id = ? AND key = ?",
                (workflow, instance_id, key),
            ).fetchone()
            return None if row is None else self._transition(row)

    def history(self, workflow: str, instance_id: str) -> list[Transition]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT seq, kind, source, target, event, key, data, at FROM wf_transitions "
                "WHERE workflow = ? AND instance_id = ? ORDER BY seq",
                (workflow, instance_id),
            ).fetchall()
            return [self._transition(r) for r in rows]

    def pending_work(self, workflow: str, instance_id: str) -> list[WorkItem]:
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {WORK_COLUMNS} FROM wf_work WHERE workflow = ? AND instance_id = ? "
                "AND status <> 'done' ORDER BY seq, idx",
                (workflow, instance_id),
            ).fetchall()
            buffered = self._buffered(workflow, instance_id)
            return [work_from_row(r) for r in rows if (r[2], r[3]) not in buffered]

    def instances(
        self,
        workflow: str | None = None,
        *,
        state: str | None = None,
        pending_only: bool = False,
        compensating_only: bool = False,
    ) -> list[InstanceRecord]:
        where: list[str] = []
        args: list[Any] = []
        if workflow is not None:
            where.append("i.workflow = ?")
            args.append(workflow)
        if state is not None:
            where.append("i.state = ?")
            args.append(state)
        if compensating_only:
            where.append("i.compensating IS NOT NULL")
        if pending_only:
            where.append("i.pending > 0")
        sql = f"SELECT {_INSTANCE_COLUMNS} FROM wf_instances i"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY i.workflow, i.instance_id"
        with self._read() as conn:
            records = [self._instance(r) for r in conn.execute(sql, args).fetchall()]
        if pending_only:
            records = [r for r in records if r.pending]
        return records

    def other_fingerprints(self, workflow: str, fingerprint: str) -> list[str]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT instance_id FROM wf_instances WHERE workflow = ? AND fingerprint <> ? "
                "ORDER BY instance_id",
                (workflow, fingerprint),
            ).fetchall()
            return [r[0] for r in rows]

    # -- writes -------------------------------------------------------------------

    def create(self, instance: InstanceRecord, first: Transition, work: Sequence[WorkItem]) -> None:
        at = (instance.created_at or first.at).isoformat()
        with self._write() as conn:
            try:
                conn.execute(
                    "INSERT INTO wf_instances (workflow, instance_id, state, version, fingerprint, "
                    "compensating, pending, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?)",
                    (
                        instance.workflow,
                        instance.instance_id,
                        instance.state,
                        instance.version,
                        instance.fingerprint,
                        instance.compensating,
                        len(work),
                        at,
                        at,
                    ),
                )
            except sqlite3.IntegrityError:
                raise AlreadyStarted(instance.workflow, instance.instance_id) from None
            self._insert_transition(conn, instance.workflow, instance.instance_id, first, at)
            self._insert_work(conn, work)

    def append(
        self,
        workflow: str,
        instance_id: str,
        transition: Transition,
        work: Sequence[WorkItem],
        *,
        compensating: str | None,
    ) -> None:
        # On every send's path: the transaction is written out rather than
        # going through ``_write``, which costs a generator per call.
        if self._closed or self._pid != os.getpid():
            self._check()
        at = transition.at.isoformat()
        with self._lock:
            conn = self._conn
            buffer = self._done
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreError(f"{self.path}: {exc}") from exc
            try:
                done = _flush_buffer(conn, buffer, (workflow, instance_id)) if buffer else 0
                self._append(conn, workflow, instance_id, transition, work, compensating, at, done)
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise StoreError(f"{self.path}: {exc}") from exc
                raise
            if buffer:
                buffer.clear()

    def _append(
        self,
        conn: sqlite3.Connection,
        workflow: str,
        instance_id: str,
        transition: Transition,
        work: Sequence[WorkItem],
        compensating: str | None,
        at: str,
        done: int,
    ) -> None:
        """The statements of :meth:`append`, inside its transaction."""
        cur = conn.execute(
            "UPDATE wf_instances SET state = ?, version = ?, compensating = ?, updated_at = ?, "
            "pending = pending + ? WHERE workflow = ? AND instance_id = ? AND version = ?",
            (
                transition.target,
                transition.seq,
                compensating,
                at,
                len(work) - done,
                workflow,
                instance_id,
                transition.seq - 1,
            ),
        )
        if cur.rowcount != 1:
            exists = conn.execute(
                "SELECT 1 FROM wf_instances WHERE workflow = ? AND instance_id = ?",
                (workflow, instance_id),
            ).fetchone()
            if exists is None:
                raise UnknownInstance(workflow, instance_id)
            raise VersionConflict(workflow, instance_id, transition.seq - 1)
        try:
            self._insert_transition(conn, workflow, instance_id, transition, at)
        except sqlite3.IntegrityError:
            raise VersionConflict(workflow, instance_id, transition.seq - 1) from None
        self._insert_work(conn, work)

    def claim(
        self,
        workflow: str,
        instance_id: str | None,
        *,
        owner: str,
        now: float,
        until: float,
        limit: int = 1000,
    ) -> list[WorkItem]:
        sql = f"SELECT {WORK_COLUMNS} FROM wf_work WHERE workflow = ?"
        args: list[Any] = [workflow]
        if instance_id is not None:
            sql += " AND instance_id = ?"
            args.append(instance_id)
        sql += (
            " AND status <> 'done' AND status = 'pending'"
            " AND (lease_owner IS NULL OR lease_owner = ? OR lease_until < ?)"
            " ORDER BY instance_id, seq, idx LIMIT ?"
        )
        args += [owner, now, limit]
        with self._write() as conn:
            rows = conn.execute(sql, args).fetchall()
            items = [work_from_row(r) for r in rows]
            conn.executemany(
                "UPDATE wf_work SET lease_owner = ?, lease_until = ? "
                "WHERE workflow = ? AND instance_id = ? AND seq = ? AND idx = ?",
                [(owner, until, *w.ident) for w in items],
            )
        return [
            WorkItem(
                w.workflow,
                w.instance_id,
                w.seq,
                w.idx,
                w.hook,
                w.kind,
                w.status,
                w.attempts,
                w.last_error,
                owner,
                until,
            )
            for w in items
        ]

    def complete(self, items: Sequence[WorkItem]) -> None:
        if not items:
            return
        if self._closed or self._pid != os.getpid():
            self._check()
        with self._lock:
            done = self._done
            for w in items:
                done.setdefault((w.workflow, w.instance_id), set()).add((w.seq, w.idx))
            if not self.defer_completions or len(done) > 256:
                self.flush()
            elif self.flush_delay is not None and not self._wake.is_set():
                if self._flusher is None:
                    self._flusher = threading.Thread(
                        target=_idle_flusher,
                        args=(weakref.ref(self), self._wake, self.flush_delay),
                        name=f"wfdsl-flush:{self.path}",
                        daemon=True,
                    )
                    self._flusher.start()
                self._wake.set()

    def fail(self, item: WorkItem, error: str, *, dead: bool) -> None:
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE wf_work SET attempts = attempts + 1, last_error = ?, status = ? "
                "WHERE workflow = ? AND instance_id = ? AND seq = ? AND idx = ? "
                "AND status = 'pending'",
                (error, "dead" if dead else "pending", *item.ident),
            )
            if dead and cur.rowcount:
                conn.execute(
                    "UPDATE wf_instances SET pending = pending - 1, dead = dead + 1 "
                    "WHERE workflow = ? AND instance_id = ?",
                    (item.workflow, item.instance_id),
                )
            if item.lease_owner is not None:
                conn.execute(
                    "UPDATE wf_work SET lease_owner = NULL, lease_until = NULL "
                    "WHERE workflow = ? AND instance_id = ? AND status <> 'done' "
                    "AND lease_owner = ?",
                    (item.workflow, item.instance_id, item.lease_owner),
                )

    def revive(self, workflow: str, instance_id: str) -> int:
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE wf_work SET status = 'pending', attempts = 0, lease_owner = NULL, "
                "lease_until = NULL WHERE workflow = ? AND instance_id = ? "
                "AND status <> 'done' AND status = 'dead'",
                (workflow, instance_id),
            )
            n: int = cur.rowcount
            if n:
                conn.execute(
                    "UPDATE wf_instances SET pending = pending + ?, dead = dead - ? "
                    "WHERE workflow = ? AND instance_id = ?",
                    (n, n, workflow, instance_id),
                )
            return n

    def flush(self) -> None:
        if self._closed or self._pid != os.getpid():
            self._check()
        with self._lock:
            if self._done:
                with self._write():
                    pass

    def close(self) -> None:
        """Write deferred completion markers and close the connection (idempotent)."""
        if not self._closed:
            self._closed = True
            self._wake.set()  # lets the idle flusher see the store is closed
            self._finalizer()

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
