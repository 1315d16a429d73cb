"""The embedded default store: one SQLite file, safe for several processes.

* WAL journal, ``synchronous=FULL`` unless asked otherwise: a transition that
  ``send`` returned survives a power cut.
* The connection runs in autocommit mode; every write is an explicit
  ``BEGIN IMMEDIATE`` ... ``COMMIT``, so a read-then-write inside it is atomic
  and writers from other processes queue on the busy timeout.
* The schema is created and migrated by the store (``PRAGMA user_version``).
* Hook work is leased to a process, identified by host, boot, pid namespace,
  process id and start time (:mod:`wfdsl.stores.process`): work held by a
  process that has exited is free at once.
* A hook's completion marker is committed as soon as the hook returns, in a
  transaction of its own with ``synchronous=OFF`` for that transaction only,
  that writes the work row alone (work is counted from an index of open work):
  visible to every process at once (so none waits on a finished worker),
  without a disk flush of its own. A power cut may lose the last markers,
  which only runs those hooks again (hooks are at-least-once); the next
  transition's flush writes them anyway (one WAL, flushed as a whole).
  (Folding markers into the next write instead saves that commit, about a
  tenth of a hooked send, but leaves other processes waiting on a worker
  that has finished.)
* A store used in a child process after ``fork`` opens its own connection
  there (SQLite connections must not cross a fork), and the child is a worker
  of its own.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import urllib.parse
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from wfdsl.errors import AlreadyStarted, StoreError, UnknownInstance, VersionConflict
from wfdsl.stores import leases, process, wakeup
from wfdsl.stores.base import TimerListener
from wfdsl.stores.limits import storable
from wfdsl.stores.records import InstanceRecord, Timer, Transition, WorkItem, WorkStatus
from wfdsl.stores.sql import (
    SHARED,
    TIMER_COLUMNS,
    WORK_COLUMNS,
    Dialect,
    Migrations,
    SQLStore,
    check_schema,
    data_text,
    instance_from_row,
    migrate,
    timer_from_row,
    work_from_row,
)

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "SQLiteStore"]

#: ``MIGRATIONS[n]`` takes a database from schema version ``n`` to ``n + 1``.
MIGRATIONS: Migrations = (
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
    # 2: leases carry their holder's proof of identity (a process), so that
    # the work of a process that has exited is free at once. Work is counted
    # from the open-work index from now on, so that a completion marker writes
    # one row: wf_instances.pending and .dead are no longer kept.
    ("ALTER TABLE wf_work ADD COLUMN lease_proof TEXT",),
    # 3: armed timers (timed transitions), one row per timer, written and
    # removed with the transitions that enter and leave its state; indexed by
    # due time, so the next due one is one index lookup however many are armed.
    # ``due`` is in milliseconds since the Unix epoch (UTC).
    (
        """CREATE TABLE wf_timers (
            workflow    TEXT NOT NULL,
            instance_id TEXT NOT NULL,
            seq         INTEGER NOT NULL,
            idx         INTEGER NOT NULL,
            state       TEXT NOT NULL,
            target      TEXT NOT NULL,
            after_ms    INTEGER NOT NULL,
            due         INTEGER NOT NULL,
            lease_owner TEXT,
            lease_until REAL,
            lease_proof TEXT,
            PRIMARY KEY (workflow, instance_id, seq, idx)
        ) WITHOUT ROWID""",
        "CREATE INDEX wf_timers_due ON wf_timers (workflow, due)",
    ),
)

#: The schema version this code writes.
SCHEMA_VERSION = len(MIGRATIONS)

_SYNC_MODES = ("OFF", "NORMAL", "FULL", "EXTRA")

#: Work counts from the open-work index (a handful of rows at most), so that
#: marking work done writes the work row alone.
_PENDING = """(SELECT count(*) FROM wf_work w INDEXED BY wf_work_open
    WHERE w.workflow = i.workflow AND w.instance_id = i.instance_id AND w.status <> 'done'
      AND w.status = 'pending')"""
_DEAD = _PENDING.replace("'pending')", "'dead')")

#: The soonest due time of the instance's armed timers: a primary-key range (``+``
#: keeps the planner off the due-time index, which would scan the whole workflow).
_NEXT_DUE = """(SELECT min(+t.due) FROM wf_timers t
    WHERE t.workflow = i.workflow AND t.instance_id = i.instance_id)"""

_INSTANCE_COLUMNS = f"""i.workflow, i.instance_id, i.state, i.version, i.fingerprint,
    i.compensating, {_PENDING}, {_DEAD}, i.created_at, i.updated_at, {_NEXT_DUE}"""

# The statements on every send's path take positional parameters (cheaper).
_LOAD = f"SELECT {_INSTANCE_COLUMNS} FROM wf_instances i WHERE i.workflow = ? AND i.instance_id = ?"

_INSERT_WORK = f"INSERT INTO wf_work ({WORK_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"

_INSERT_TRANSITION = (
    "INSERT INTO wf_transitions (workflow, instance_id, seq, kind, source, target, "
    "event, key, data, at) VALUES (?,?,?,?,?,?,?,?,?,?)"
)

_UPDATE_INSTANCE = (
    "UPDATE wf_instances SET state = ?, version = ?, compensating = ?, updated_at = ? "
    "WHERE workflow = ? AND instance_id = ? AND version = ?"
)

_MARK_DONE = (
    "UPDATE wf_work SET status = 'done', lease_owner = NULL, lease_until = NULL, "
    "lease_proof = NULL "
    "WHERE workflow = ? AND instance_id = ? AND seq = ? AND idx = ? AND status = 'pending'"
)

_OPEN_WORK = f"SELECT {WORK_COLUMNS} FROM wf_work WHERE workflow = ? AND status <> 'done'"

_INSERT_TIMER = f"INSERT INTO wf_timers ({TIMER_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)"

#: Every transition leaves its source state: its timers go (a primary-key range).
_DISARM_ALL = "DELETE FROM wf_timers WHERE workflow = ? AND instance_id = ?"

_TIMER_KEY = "workflow = ? AND instance_id = ? AND seq = ? AND idx = ?"

#: One instance's armed timers, soonest first: its primary-key range (``+``
#: keeps the planner off the due-time index, which would walk the workflow).
_INSTANCE_TIMERS = (
    f"SELECT {TIMER_COLUMNS} FROM wf_timers WHERE workflow = ? AND instance_id = ? "
    "ORDER BY +due, seq, idx"
)

#: Due timers of a workflow, earliest first, read along the due-time index.
_DUE_TIMERS = (
    f"SELECT {TIMER_COLUMNS} FROM wf_timers INDEXED BY wf_timers_due "
    "WHERE workflow = ? AND due <= ? ORDER BY due, instance_id, seq, idx"
)

#: Instances with work of a status: read from the open-work index, not by
#: counting every instance's work.
_HAS = """(i.workflow, i.instance_id) IN (SELECT workflow, instance_id
    FROM wf_work INDEXED BY wf_work_open WHERE status <> 'done' AND status = '{status}')"""

_DIALECT = Dialect(
    "main",
    lambda name: f":{name}",
    has_pending=_HAS.format(status="pending"),
    has_dead=_HAS.format(status="dead"),
)

_SQL = {name: _DIALECT.render(text) for name, text in SHARED.items()}

#: Connections a forked child inherited: kept referenced, never used or closed.
#: (Only a fork that bypassed :func:`os.register_at_fork` leaves one.)
_INHERITED: list[sqlite3.Connection] = []

#: Every open store of this process, so that no connection crosses a fork.
_OPEN: weakref.WeakSet[SQLiteStore] = weakref.WeakSet()

#: The generation of a store whose connection a fork closed: never the
#: current one, so the next call opens a new connection.
_REOPEN = -1

#: The stores whose locks the forking thread holds across ``fork()``.
_FORKING: list[SQLiteStore] = []


def _finalize(conn: sqlite3.Connection, generation: int) -> None:
    """At garbage collection or exit: close, unless this is a forked child, where
    the connection (and the locks it holds) belong to the parent."""
    if generation == process.GENERATION:
        conn.close()


def _before_fork() -> None:
    """Close every store's connection before ``fork()``; each side reopens its
    own on first use.

    SQLite forbids carrying a connection into a child, even one the child never
    uses: the child inherits the parent's record of which locks the process
    holds on the file, so a connection it opens there believes it holds locks
    it does not, and another process's close can then checkpoint and delete the
    write-ahead log under it, losing the child's acknowledged writes. Each
    store's lock is held across the fork, so no thread of the parent reopens a
    connection in between.
    """
    for store in list(_OPEN):
        store._lock.acquire()
        _FORKING.append(store)
        store._close_for_fork()


def _after_fork() -> None:
    while _FORKING:
        _FORKING.pop()._lock.release()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_before_fork, after_in_parent=_after_fork, after_in_child=_after_fork
    )


class SQLiteStore(SQLStore):
    """Implements :class:`~wfdsl.stores.base.Store` on a SQLite file.

    :param path: the database file (created if missing), or ``":memory:"``.
    :param synchronous: ``"FULL"`` (default, durable on power loss) or
        ``"NORMAL"`` (durable on process crash; a power cut may lose the last
        transactions), ``"EXTRA"``, or ``"OFF"``.
    :param busy_timeout: seconds a writer waits for another process's write.
    :param readonly: open for reading only: the file must exist and hold the
        current wfdsl schema, and it is left exactly as it is (no journal mode
        switch, no migration, no table; every write is refused).
    :raises SchemaNotFound: ``readonly``, and the file holds no wfdsl schema.
    :raises StoreError: the file cannot be opened (or, ``readonly``, does not
        exist), was written by a newer wfdsl, or is another application's
        database; or (``readonly``) its schema is older than this wfdsl's.
    """

    _dialect = _DIALECT
    _sql = _SQL
    _instances = f"SELECT {_INSTANCE_COLUMNS} FROM {{s}}.wf_instances i"

    def __init__(
        self,
        path: str,
        *,
        synchronous: str = "FULL",
        busy_timeout: float = 30.0,
        readonly: bool = False,
    ) -> None:
        mode = synchronous.upper()
        if mode not in _SYNC_MODES:
            raise StoreError(f"synchronous must be one of {', '.join(_SYNC_MODES)}")
        self.path = str(path)
        self.synchronous = mode
        self.readonly = readonly
        self._busy_timeout = busy_timeout
        self._closed = False
        #: Guards the connection; held across ``fork()`` (see :func:`_before_fork`).
        self._lock = threading.RLock()
        if self.path == ":memory:":
            self._scope = f"sqlite-memory:{id(self)}"
        else:
            self._scope = "sqlite:" + os.path.realpath(self.path)
            if readonly and not os.path.isfile(self.path):
                what = "not a file" if os.path.exists(self.path) else "no such file"
                raise StoreError(f"cannot open SQLite database {self.path!r}: {what}")
        with self._lock:
            _OPEN.add(self)  # first: a fork from now on closes the connection
            try:
                self._connect()
                self._migrate()
            except sqlite3.Error as exc:
                self._discard()
                raise StoreError(f"cannot open SQLite database {self.path!r}: {exc}") from None
            except StoreError:
                self._discard()
                raise

    def _discard(self) -> None:
        """Forget a store that failed to open, or was closed."""
        _OPEN.discard(self)
        if hasattr(self, "_finalizer"):
            self._finalizer()

    def _connect(self) -> None:
        """Open this process's connection (lock held)."""
        self._generation = process.GENERATION
        target, uri = self.path, False
        if self.readonly and self.path != ":memory:":
            # mode=rw: never create the file (nor, with query_only, write it).
            target = f"file:{urllib.parse.quote(os.path.abspath(self.path))}?mode=rw"
            uri = True
        try:
            conn = sqlite3.connect(
                target,
                uri=uri,
                timeout=self._busy_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open SQLite database {self.path!r}: {exc}") from None
        self._conn = conn
        self._finalizer = weakref.finalize(self, _finalize, conn, self._generation)
        try:
            if self.readonly:
                conn.execute("PRAGMA query_only = ON")
            conn.execute(f"PRAGMA synchronous = {self.synchronous}")
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
        except sqlite3.Error as exc:
            self._finalizer()
            raise StoreError(f"cannot open SQLite database {self.path!r}: {exc}") from None
        except StoreError:
            self._finalizer()
            raise

    def _close_for_fork(self) -> None:
        """Close the connection before ``fork()`` (lock held): both processes
        reopen their own on first use. An in-memory database cannot be reopened:
        it stays with the parent, and the child may not use it."""
        if self._closed or self.path == ":memory:" or self._conn.in_transaction:
            return
        self._finalizer()
        self._generation = _REOPEN

    def _check(self) -> None:
        """Refuse a closed store; open the connection that a fork closed (or, after
        a fork that bypassed ``os.register_at_fork``, open the child's own and
        leave the inherited one untouched: closing or using it could disturb the
        parent's locks)."""
        if self._closed:
            raise StoreError("the store is closed")
        with self._lock:
            if self._generation == process.GENERATION:
                return  # another thread reopened it
            if self.path == ":memory:":
                raise StoreError("an in-memory SQLite store cannot be used after fork")
            if self._generation != _REOPEN:
                self._finalizer.detach()
                _INHERITED.append(self._conn)
            self._connect()

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r}, synchronous={self.synchronous!r})"

    @property
    def scope(self) -> str:
        return self._scope

    def identity(self) -> str:
        return process.proof()

    # -- plumbing ---------------------------------------------------------------

    def _migrate(self) -> None:
        """Check the file's schema, then (unless read-only) switch it to WAL (a
        setting the file keeps) and migrate it: nothing is changed in a file
        that is refused."""
        conn = self._conn
        current, found = self._inspect(conn)
        check_schema(current, found, SCHEMA_VERSION, self.path, readonly=self.readonly)
        if self.readonly:
            return
        if self.path != ":memory:":
            jm = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(jm).lower() != "wal":
                raise StoreError(f"{self.path}: cannot switch to WAL (journal_mode={jm})")
        if current == SCHEMA_VERSION:
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Read again under the write lock: another process may have migrated.
            current, found = self._inspect(conn)
            check_schema(current, found, SCHEMA_VERSION, self.path, readonly=False)
            latest = migrate(current, MIGRATIONS, conn.execute, self.path)
            conn.execute(f"PRAGMA user_version = {latest}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    @staticmethod
    def _inspect(conn: sqlite3.Connection) -> tuple[int, bool]:
        """The schema version recorded in the file, and whether wfdsl's tables are there."""
        current: int = conn.execute("PRAGMA user_version").fetchone()[0]
        found = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'wf_instances'"
        ).fetchone()
        return current, found is not None

    @property
    def schema_version(self) -> int:
        """The schema version of the open database."""
        with self._read() as conn:
            version: int = conn.execute("PRAGMA user_version").fetchone()[0]
            return version

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            # Checked under the lock: a fork in another thread may have closed it.
            if self._closed or self._generation != process.GENERATION:
                self._check()
            try:
                yield self._conn
            except sqlite3.Error as exc:
                raise StoreError(f"{self.path}: {exc}") from exc

    @contextmanager
    def _write(self, *, flush: bool = True) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``; with ``flush=False``, a commit that
        does not wait for the disk (``synchronous=OFF`` for this transaction)."""
        with self._lock:
            if self._closed or self._generation != process.GENERATION:
                self._check()
            conn = self._conn
            relax = not flush and self.synchronous != "OFF"
            try:
                if relax:
                    conn.execute("PRAGMA synchronous = OFF")
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreError(f"{self.path}: {exc}") from exc
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if isinstance(exc, (sqlite3.Error, UnicodeEncodeError)):
                    raise StoreError(f"{self.path}: {exc}") from exc
                raise
            finally:
                if relax:
                    conn.execute(f"PRAGMA synchronous = {self.synchronous}")

    def _fetch(self, what: str, query: str, params: Mapping[str, Any]) -> list[Any]:
        with self._read() as conn:
            return conn.execute(query, params).fetchall()

    def _execute(self, what: str, query: str, params: Mapping[str, Any]) -> None:
        with self._write() as conn:
            conn.execute(query, params)

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
                w.lease_proof,
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
            _INSERT_TRANSITION,
            (
                workflow,
                instance_id,
                t.seq,
                t.kind.value,
                t.source,
                t.target,
                t.event,
                t.key,
                data_text(t),
                at,
            ),
        )

    # -- reads --------------------------------------------------------------------

    def load(self, workflow: str, instance_id: str) -> InstanceRecord | None:
        # On every send's path: written out rather than through ``_read``.
        with self._lock:
            if self._closed or self._generation != process.GENERATION:
                self._check()
            try:
                row = self._conn.execute(_LOAD, (workflow, instance_id)).fetchone()
            except sqlite3.Error as exc:
                raise StoreError(f"{self.path}: {exc}") from exc
            except UnicodeEncodeError:
                return None  # not UTF-8: no store can have written it
            return None if row is None else instance_from_row(row)

    # -- writes -------------------------------------------------------------------

    def create(
        self,
        instance: InstanceRecord,
        first: Transition,
        work: Sequence[WorkItem],
        *,
        timers: Sequence[Timer] = (),
    ) -> None:
        at = (instance.created_at or first.at).isoformat()
        with self._write() as conn:
            try:
                conn.execute(
                    "INSERT INTO wf_instances (workflow, instance_id, state, version, fingerprint, "
                    "compensating, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?)",
                    (
                        instance.workflow,
                        instance.instance_id,
                        instance.state,
                        instance.version,
                        instance.fingerprint,
                        instance.compensating,
                        at,
                        at,
                    ),
                )
            except sqlite3.IntegrityError:
                raise AlreadyStarted(instance.workflow, instance.instance_id) from None
            self._insert_transition(conn, instance.workflow, instance.instance_id, first, at)
            self._insert_work(conn, work)
            if timers:
                self._insert_timers(conn, timers)
        if timers:
            wakeup.notify(self._scope, instance.workflow, min(t.due for t in timers))

    def append(
        self,
        workflow: str,
        instance_id: str,
        transition: Transition,
        work: Sequence[WorkItem],
        *,
        compensating: str | None,
        timers: Sequence[Timer] = (),
    ) -> None:
        # On every send's path: the transaction is written out rather than
        # going through ``_write``, which costs a generator per call.
        at = transition.at.isoformat()
        with self._lock:
            if self._closed or self._generation != process.GENERATION:
                self._check()
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreError(f"{self.path}: {exc}") from exc
            try:
                self._append(conn, workflow, instance_id, transition, work, compensating, at)
                conn.execute(_DISARM_ALL, (workflow, instance_id))
                if timers:
                    self._insert_timers(conn, timers)
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if isinstance(exc, (sqlite3.Error, UnicodeEncodeError)):
                    raise StoreError(f"{self.path}: {exc}") from exc
                raise
        if timers:
            wakeup.notify(self._scope, workflow, min(t.due for t in timers))

    def _append(
        self,
        conn: sqlite3.Connection,
        workflow: str,
        instance_id: str,
        transition: Transition,
        work: Sequence[WorkItem],
        compensating: str | None,
        at: str,
    ) -> None:
        """The statements of :meth:`append`, inside its transaction."""
        cur = conn.execute(
            _UPDATE_INSTANCE,
            (
                transition.target,
                transition.seq,
                compensating,
                at,
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
        proof: str,
        now: float,
        until: float,
        limit: int = 1000,
    ) -> list[WorkItem]:
        sql = _OPEN_WORK
        args: list[Any] = [workflow]
        if instance_id is not None:
            sql += " AND instance_id = ?"
            args.append(instance_id)
        sql += " ORDER BY instance_id, seq, idx"
        claimed: list[WorkItem] = []
        # A lease lost with the machine's power was held by a worker lost with
        # it: the claim need not wait for the disk (as completion markers).
        with self._write(flush=False) as conn:
            # Streamed: the prefix rule needs the blocked rows too, so the
            # filter runs here, not in SQL; it stops at ``limit`` free items.
            verdicts: dict[str, bool] = {}
            blocked: str | None = None
            for row in conn.execute(sql, args):
                w = work_from_row(row)
                if w.instance_id == blocked:
                    continue
                if w.status is WorkStatus.DEAD or not leases.lease_free(
                    w, proof=proof, now=now, verdicts=verdicts
                ):
                    blocked = w.instance_id
                    continue
                claimed.append(w)
                if len(claimed) >= limit:
                    break
            conn.executemany(
                "UPDATE wf_work SET lease_owner = ?, lease_until = ?, lease_proof = ? "
                "WHERE workflow = ? AND instance_id = ? AND seq = ? AND idx = ?",
                [(owner, until, proof, *w.ident) for w in claimed],
            )
        return [leases.leased(w, owner, until, proof) for w in claimed]

    def complete(self, items: Sequence[WorkItem]) -> None:
        if not items:
            if self._closed:
                self._check()
            return
        with self._write(flush=False) as conn:
            if len(items) == 1:
                conn.execute(_MARK_DONE, items[0].ident)
            else:
                conn.executemany(_MARK_DONE, [w.ident for w in items])

    def begin(self, item: WorkItem) -> None:
        with self._write(flush=False) as conn:
            conn.execute(
                "UPDATE wf_work SET attempts = attempts + 1 WHERE workflow = ? "
                "AND instance_id = ? AND seq = ? AND idx = ? AND status = 'pending'",
                item.ident,
            )

    def fail(self, item: WorkItem, error: str, *, dead: bool, begun: bool = False) -> None:
        with self._write() as conn:
            conn.execute(
                f"UPDATE wf_work SET attempts = attempts + {0 if begun else 1}, "
                "last_error = ?, status = ? "
                "WHERE workflow = ? AND instance_id = ? AND seq = ? AND idx = ? "
                "AND status = 'pending'",
                (error, "dead" if dead else "pending", *item.ident),
            )
            if item.lease_proof is not None:
                conn.execute(
                    "UPDATE wf_work SET lease_owner = NULL, lease_until = NULL, "
                    "lease_proof = NULL WHERE workflow = ? AND instance_id = ? "
                    "AND status <> 'done' AND lease_proof = ?",
                    (item.workflow, item.instance_id, item.lease_proof),
                )

    def revive(self, workflow: str, instance_id: str) -> int:
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE wf_work SET status = 'pending', attempts = 0, lease_owner = NULL, "
                "lease_until = NULL, lease_proof = NULL WHERE workflow = ? AND instance_id = ? "
                "AND status <> 'done' AND status = 'dead'",
                (workflow, instance_id),
            )
            n: int = cur.rowcount
            return n

    # -- timers -------------------------------------------------------------------

    @staticmethod
    def _insert_timers(conn: sqlite3.Connection, timers: Sequence[Timer]) -> None:
        conn.executemany(
            _INSERT_TIMER,
            [
                (
                    t.workflow,
                    t.instance_id,
                    t.seq,
                    t.index,
                    t.state,
                    t.target,
                    t.after_ms,
                    t.due,
                    t.lease_owner,
                    t.lease_until,
                    t.lease_proof,
                )
                for t in timers
            ],
        )

    def timers(
        self,
        workflow: str | None = None,
        *,
        instance_id: str | None = None,
        due_by: int | None = None,
    ) -> list[Timer]:
        if not storable(workflow, instance_id):
            return []  # never stored, so nothing armed
        if workflow is not None and instance_id is not None and due_by is None:
            # On every timer's firing path: one statement, written out.
            if self._closed or self._generation != process.GENERATION:
                self._check()
            with self._lock:
                try:
                    cur = self._conn.execute(_INSTANCE_TIMERS, (workflow, instance_id))
                    return [timer_from_row(r) for r in cur]
                except sqlite3.Error as exc:
                    raise StoreError(f"{self.path}: {exc}") from exc
        where: list[str] = []
        params: list[Any] = []
        for column, value in (("workflow", workflow), ("instance_id", instance_id)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if due_by is not None:
            where.append("due <= ?")
            params.append(due_by)
        sql = f"SELECT {TIMER_COLUMNS} FROM wf_timers"
        if where:
            sql += " WHERE " + " AND ".join(where)
        # One instance's timers: its primary-key range (``+`` keeps the planner
        # off the due-time index, which would walk the whole workflow).
        sql += " ORDER BY {}due, workflow, instance_id, seq, idx".format(
            "+" if instance_id is not None else ""
        )
        with self._read() as conn:
            return [timer_from_row(r) for r in conn.execute(sql, params)]

    def load_armed(
        self, workflow: str, instance_id: str
    ) -> tuple[InstanceRecord, list[Timer]] | None:
        if not storable(workflow, instance_id):
            return None
        if self._closed or self._generation != process.GENERATION:
            self._check()
        with self._lock:
            try:
                row = self._conn.execute(_LOAD, (workflow, instance_id)).fetchone()
                if row is None:
                    return None
                cur = self._conn.execute(_INSTANCE_TIMERS, (workflow, instance_id))
                return instance_from_row(row), [timer_from_row(r) for r in cur]
            except sqlite3.Error as exc:
                raise StoreError(f"{self.path}: {exc}") from exc

    def next_due(self, workflow: str, *, after: int | None = None) -> int | None:
        if not storable(workflow):
            return None
        with self._read() as conn:
            if after is None:
                row = conn.execute(
                    "SELECT min(due) FROM wf_timers WHERE workflow = ?", (workflow,)
                ).fetchone()
            else:
                row = conn.execute(
                    "SELECT min(due) FROM wf_timers WHERE workflow = ? AND due > ?",
                    (workflow, after),
                ).fetchone()
        due: int | None = row[0]
        return due

    def claim_timers(
        self,
        workflow: str,
        *,
        due_by: int,
        owner: str,
        proof: str,
        now: float,
        until: float,
        limit: int = 100,
    ) -> list[Timer]:
        picked: list[Timer] = []
        blocked: set[str] = set()
        verdicts: dict[str, bool] = {}
        # A lost claim only lets another worker try the same timer, which the
        # version check makes harmless: no disk flush of its own.
        with self._write(flush=False) as conn:
            for row in conn.execute(_DUE_TIMERS, (workflow, due_by)):
                if len(picked) >= limit:
                    break
                t = timer_from_row(row)
                if t.instance_id in blocked:
                    continue
                if not leases.lease_free(t, proof=proof, now=now, verdicts=verdicts):
                    blocked.add(t.instance_id)
                    continue
                picked.append(t)
            picked = [t for t in picked if t.instance_id not in blocked]
            conn.executemany(
                f"UPDATE wf_timers SET lease_owner = ?, lease_until = ?, lease_proof = ? "
                f"WHERE {_TIMER_KEY}",
                [(owner, until, proof, *t.ident) for t in picked],
            )
        return [leases.leased_timer(t, owner, until, proof) for t in picked]

    def disarm(self, timers: Sequence[Timer]) -> None:
        if not timers:
            if self._closed:
                self._check()
            return
        with self._write() as conn:
            conn.executemany(f"DELETE FROM wf_timers WHERE {_TIMER_KEY}", [t.ident for t in timers])

    def release_timers(self, timers: Sequence[Timer], *, until: float | None = None) -> None:
        held = [t for t in timers if t.lease_proof is not None]
        if not held:
            return
        # A lease without proof (``until``) is free only once it expires.
        owner = "CASE WHEN ? IS NULL THEN NULL ELSE lease_owner END"
        with self._write(flush=False) as conn:
            conn.executemany(
                f"UPDATE wf_timers SET lease_owner = {owner}, lease_until = ?, lease_proof = NULL "
                f"WHERE {_TIMER_KEY} AND lease_proof = ?",
                [(until, until, *t.ident, t.lease_proof) for t in held],
            )

    def listen(self, workflows: Sequence[str]) -> TimerListener:
        if self._closed:
            self._check()
        return wakeup.LocalListener(self._scope, workflows)

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._discard()

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
