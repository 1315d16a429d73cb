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
* An instance this connection has just read or written is not read again
  while ``PRAGMA data_version`` shows no other connection has committed and
  this one has written nothing else (:class:`_Known`): a ``send`` that follows
  another reads a counter, not the instance with its work and timers.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
import urllib.parse
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from wfdsl.errors import AlreadyStarted, StoreError, UnknownInstance, VersionConflict
from wfdsl.stores import leases, process, wakeup
from wfdsl.stores.base import TimerListener
from wfdsl.stores.batch import Append, Outcome, chains, skipped, soonest_armed
from wfdsl.stores.frozen import EMPTY
from wfdsl.stores.limits import storable
from wfdsl.stores.records import (
    InstanceRecord,
    Timer,
    Transition,
    TransitionKind,
    WorkItem,
    WorkStatus,
    build_instance,
)
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
    # 4: what ``resume()`` and listings ask is read along indexes, so that it
    # costs the same however many instances the store holds: instances by
    # spec fingerprint, and (a partial index, empty while nothing is
    # interrupted) the instances in a compensation.
    (
        "CREATE INDEX wf_instances_fingerprint ON wf_instances (workflow, fingerprint)",
        """CREATE INDEX wf_instances_compensating ON wf_instances (workflow, instance_id)
            WHERE compensating IS NOT NULL""",
    ),
    # 5: a transition moves its instance in the statement that records it. The
    # trigger checks that the instance is at the version just before the
    # transition (else the insert is undone: another writer got there first)
    # and moves it; a transition other than a compensation step also ends any
    # compensation. A send that owes nothing else is then one statement,
    # committed on its own, where it was four (``BEGIN``, update, insert,
    # ``COMMIT``): each is a round trip through the driver. A compensation
    # step's own ``compensating`` is written beside it. An instance already
    # at the transition's version and target is left as it is: a process of
    # an earlier wfdsl still running on a file another one migrated updates
    # the instance itself before inserting, in the same transaction (a
    # committed instance at that version has its transition row already,
    # which the primary key refuses to a second one).
    (
        """CREATE TRIGGER wf_transitions_move AFTER INSERT ON wf_transitions
            WHEN NEW.kind <> 'start'
        BEGIN
            UPDATE wf_instances
               SET state = NEW.target, version = NEW.seq, updated_at = NEW.at,
                   compensating = CASE NEW.kind WHEN 'compensate' THEN compensating END
             WHERE workflow = NEW.workflow AND instance_id = NEW.instance_id
               AND version = NEW.seq - 1;
            SELECT RAISE(ABORT, 'wfdsl: the instance is not at the version before the transition')
             WHERE changes() = 0 AND NOT EXISTS (
                SELECT 1 FROM wf_instances
                 WHERE workflow = NEW.workflow AND instance_id = NEW.instance_id
                   AND version = NEW.seq AND state = NEW.target);
        END""",
    ),
)

#: The schema version this code writes.
SCHEMA_VERSION = len(MIGRATIONS)

_SYNC_MODES = ("OFF", "NORMAL", "FULL", "EXTRA")
#: The modes in which a commit waits for the disk (in WAL mode).
_FLUSHING = frozenset({"FULL", "EXTRA"})

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

_LOAD_MANY = (
    f"SELECT {_INSTANCE_COLUMNS} FROM wf_instances i WHERE i.workflow = ? AND i.instance_id IN "
)

_INSERT_WORK = f"INSERT INTO wf_work ({WORK_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"

_INSERT_TRANSITION = (
    "INSERT INTO wf_transitions (workflow, instance_id, seq, kind, source, target, "
    "event, key, data, at) VALUES (?,?,?,?,?,?,?,?,?,?)"
)

#: A compensation step's walk target (the trigger of migration 5 moved the
#: instance already, in the same transaction).
_SET_COMPENSATING = (
    "UPDATE wf_instances SET compensating = ? WHERE workflow = ? AND instance_id = ?"
)

_COMPENSATE = TransitionKind.COMPENSATE

_MARK_DONE = (
    "UPDATE wf_work SET status = 'done', lease_owner = NULL, lease_until = NULL, "
    "lease_proof = NULL "
    "WHERE workflow = ? AND instance_id = ? AND seq = ? AND idx = ? AND status = 'pending'"
)

#: Open work, along its partial index: SQLite would otherwise take an
#: instance's primary-key range, its whole history of done work.
_OPEN_WORK = (
    f"SELECT {WORK_COLUMNS} FROM wf_work INDEXED BY wf_work_open "
    "WHERE workflow = ? AND status <> 'done'"
)

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
#: counting every instance's work (``{of}``: of one workflow only).
_HAS = """(i.workflow, i.instance_id) IN (SELECT workflow, instance_id
    FROM wf_work INDEXED BY wf_work_open WHERE {of}status <> 'done' AND status = '{status}')"""

_DIALECT = Dialect(
    "main",
    lambda name: f":{name}",
    has_pending=_HAS.format(of="", status="pending"),
    has_dead=_HAS.format(of="", status="dead"),
    has_pending_in=_HAS.format(of="workflow = :workflow AND ", status="pending"),
    has_dead_in=_HAS.format(of="workflow = :workflow AND ", status="dead"),
    by_key="INDEXED BY wf_transitions_key",
    by_open="INDEXED BY wf_work_open",
    by_compensating="INDEXED BY wf_instances_compensating",
    by_fingerprint="INDEXED BY wf_instances_fingerprint",
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

#: How many instance records a store keeps (see :class:`_Known`) before it
#: forgets them all.
_KNOWN_MAX = 4096

#: Whether another connection has committed since this one last asked: a
#: counter that only other connections' commits change (SQLite's docs).
_DATA_VERSION = "PRAGMA data_version"

_from_iso = datetime.fromisoformat


class _Slot:
    """An append waiting in a group commit (:meth:`SQLiteStore._grouped`)."""

    __slots__ = ("append", "done", "error")

    def __init__(self, append: Append) -> None:
        self.append = append
        self.done = False
        self.error: Exception | None = None


class _Redo(Exception):
    """Undo an :meth:`SQLiteStore.append_many` transaction to write it again."""


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


class _Known:
    """Instance records this connection read or wrote, kept while they are
    certainly current, so that ``send`` reads no more than a counter.

    A record is kept with ``PRAGMA data_version`` as read before it was read
    from the file, and the *epoch* then. While the data version has not moved,
    no other connection (of any process) has committed. The epoch moves
    whenever this connection changes rows whose effect on the kept records was
    not accounted for: a write that is (``append``, ``append_many``, a
    completion marker, a claim) updates or drops the kept record of each
    instance it touched and leaves the others valid, so that threads sending to
    their own instances through one store keep theirs; any other write, or a
    change made through the connection behind the store's back, voids them all
    (:meth:`settle` sees ``total_changes`` moved). A record this connection
    writes in :meth:`SQLiteStore.append` is derived from the one read before
    it, and kept under that read's data version: if anything else committed in
    between, the version has moved since and the next read goes to the file. A
    kept record is used by ``load`` only after the data version has been read
    again (one cheap statement, against the instance read's three subqueries),
    and by ``load_optimistic`` without (see there).

    Where another process writes between most reads (or reads rarely come back
    to the same instance), reading the counter only costs: after a run of
    misses it is not read for a while.
    """

    __slots__ = ("cold", "epoch", "idle", "loaded", "misses", "records", "seen")

    def __init__(self) -> None:
        #: ``(workflow, instance_id)`` -> ``(record, data_version, epoch)``.
        self.records: dict[tuple[str, str], tuple[InstanceRecord, int, int]] = {}
        #: The last read of each instance, for the :meth:`SQLiteStore.append`
        #: that follows it: ``(record, data_version or None, epoch)``.
        self.loaded: dict[tuple[str, str], tuple[InstanceRecord, int | None, int]] = {}
        #: Kept records found stale in a row.
        self.misses = 0
        #: Reads left before the counter is read again for an instance not kept.
        self.idle = 0
        #: Reads of instances not kept since the last hit.
        self.cold = 0
        #: Records kept under an older epoch are void.
        self.epoch = 0
        #: The connection's ``total_changes`` after the last write accounted for.
        self.seen = 0

    def settle(self, conn: sqlite3.Connection) -> int:
        """The epoch, moved on first if the connection changed rows since the
        last write accounted for (:meth:`account`)."""
        changes = conn.total_changes
        if changes != self.seen:
            self.seen = changes
            self.epoch += 1
        return self.epoch

    def account(self, conn: sqlite3.Connection) -> None:
        """The write just committed is accounted for: the caller updated or
        dropped the kept record of every instance it touched, and called
        :meth:`settle` before it, holding the store's lock throughout."""
        self.seen = conn.total_changes

    def recall(
        self, conn: sqlite3.Connection, ident: tuple[str, str], epoch: int
    ) -> tuple[InstanceRecord | None, int | None]:
        """``(record, counter)`` when the kept record of ``ident`` is certainly
        current (``epoch`` from :meth:`settle`), else ``(None, the counter read
        now or None)``: the counter to keep the record read next under."""
        if self.idle:
            self.idle -= 1
            return None, None
        kept = self.records.get(ident)
        version: int = conn.execute(_DATA_VERSION).fetchone()[0]
        if kept is not None and kept[2] == epoch:
            if version == kept[1] and not conn.in_transaction:
                self.misses = self.cold = 0
                self.loaded[ident] = kept
                return kept[0], version
            self.misses += 1
            if self.misses >= 4:
                self.misses, self.idle = 0, 256
        else:
            self.cold += 1
            if self.cold > 64:
                # Reads rarely come back to a kept record: stop paying for it.
                self.cold, self.idle = 0, 1024
        return None, version

    def note(
        self, ident: tuple[str, str], record: InstanceRecord, version: int | None, epoch: int
    ) -> None:
        loaded = self.loaded
        if len(loaded) >= _KNOWN_MAX:
            loaded.clear()
        loaded[ident] = (record, version, epoch)

    def keep(
        self, ident: tuple[str, str], record: InstanceRecord, version: int, epoch: int
    ) -> None:
        records = self.records
        if len(records) >= _KNOWN_MAX:
            records.clear()
        records[ident] = (record, version, epoch)


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
        self._seq_queries = {}
        #: Guards the connection; held across ``fork()`` (see :func:`_before_fork`).
        self._lock = threading.RLock()
        #: Appends waiting for a group commit (:meth:`_grouped`), and their lock.
        self._queue: list[_Slot] = []
        self._queue_lock = threading.Lock()
        #: A second connection for reads while another thread writes (see
        #: _load_aside), opened on first need; and its lock.
        self._aside: sqlite3.Connection | None = None
        self._aside_generation = -1
        self._aside_lock = threading.Lock()
        self._known = _Known()
        if self.path == ":memory:":
            self._scope = f"sqlite-memory:{id(self)}"
        else:
            self._scope = "sqlite:" + os.path.realpath(self.path)
            try:
                kind: int | None = os.stat(self.path).st_mode
            except OSError:
                kind = None
            if kind is not None and not stat.S_ISREG(kind):
                # SQLite would say "disk I/O error" for a FIFO or a device, or
                # "unable to open database file" for a directory.
                raise StoreError(
                    f"cannot open SQLite database {self.path!r}: not a regular file "
                    "(a directory, FIFO or device); give a database file"
                )
            if readonly and kind is None:
                raise StoreError(f"cannot open SQLite database {self.path!r}: no such file")
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
        # The counters records were kept under belong to the old connection.
        self._known = _Known()
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
            # Only FULL and EXTRA flush a commit in WAL mode (NORMAL flushes
            # at checkpoints), so only they have a flush to spare.
            relax = not flush and self.synchronous in _FLUSHING
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

    @contextmanager
    def _accounted(self) -> Iterator[int]:
        """Hold the connection across the block's writes and what follows them
        (see :class:`_Known`): yields the epoch, and the block updates or drops
        the kept record of every instance it writes. The writes are accounted
        for when the block ends; a block that raises is not, so that whatever
        it changed before it failed voids every kept record."""
        with self._lock:
            # Checked under the lock: a fork (in a hook, say) may have closed it.
            if self._closed or self._generation != process.GENERATION:
                self._check()
            known = self._known
            yield known.settle(self._conn)
            known.account(self._conn)

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
                w.kind._value_,
                w.status._value_,
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
                t.kind._value_,
                t.source,
                t.target,
                t.event,
                t.key,
                data_text(t),
                at,
            ),
        )

    # -- reads --------------------------------------------------------------------

    def load_optimistic(self, workflow: str, instance_id: str) -> InstanceRecord | None:
        # The kept record without reading the counter (see the protocol): a
        # send's insert checks the instance's version itself (the trigger of
        # migration 5), so a copy another connection overtook costs a refused
        # insert and a read, never a wrong transition.
        # ``total_changes`` still rules out this connection's own other
        # writes (work marked done, say), which move no version.
        ident = (workflow, instance_id)
        known = self._known
        kept = known.records.get(ident)
        # (The connection is looked at only once it is certainly this
        # process's and open: a fork closes it.)
        if kept is not None and not self._closed and self._generation == process.GENERATION:
            record = kept[0]
            conn = self._conn
            try:
                usable = (
                    kept[2] == known.settle(conn)
                    and not record.pending
                    and not record.dead
                    and record.compensating is None
                    and not conn.in_transaction
                )
            except sqlite3.ProgrammingError:
                usable = False  # closed meanwhile (a fork in another thread): read
            if usable:
                known.loaded[ident] = kept
                return record
        return self.load(workflow, instance_id)

    def load(self, workflow: str, instance_id: str) -> InstanceRecord | None:
        lock = self._lock
        if not lock.acquire(blocking=False):
            return self._load_aside(workflow, instance_id)
        # Held from here: a write must not take it between look and read. On
        # every send's path: written out rather than through ``_read``.
        try:
            if self._closed or self._generation != process.GENERATION:
                self._check()
            ident = (workflow, instance_id)
            conn = self._conn
            known = self._known
            changes = known.settle(conn)
            try:
                kept, version = known.recall(conn, ident, changes)
                if kept is not None:
                    return kept
                row = conn.execute(_LOAD, ident).fetchone()
            except sqlite3.Error as exc:
                raise StoreError(f"{self.path}: {exc}") from exc
            except UnicodeEncodeError:
                return None  # not UTF-8: no store can have written it
            if row is None:
                known.records.pop(ident, None)
                return None
            # instance_from_row, written out (both times are NOT NULL).
            record = build_instance(
                row[0],
                row[1],
                row[2],
                row[3],
                row[4],
                row[5],
                row[6],
                row[7],
                _from_iso(row[8]),
                _from_iso(row[9]),
                row[10],
            )
            known.note(ident, record, version, changes)
            if version is not None:
                known.keep(ident, record, version, changes)
            return record
        finally:
            lock.release()

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
        lock = self._lock
        if not lock.acquire(blocking=False):
            # Another thread is writing: join the group commit (see _grouped).
            self._grouped(Append(workflow, instance_id, transition, work, compensating, timers))
            return
        # Held from here: no other write slips in between.
        try:
            # On every send's path: the transaction is written out rather than
            # going through ``_write``, which costs a generator per call.
            at = transition.at.isoformat()
            if self._closed or self._generation != process.GENERATION:
                self._check()
            conn = self._conn
            ident = (workflow, instance_id)
            known = self._known
            changes = known.settle(conn)
            # The read this transition was decided on, if it is the last one.
            read = known.loaded.pop(ident, None)
            if read is not None:
                # Still what the store keeps of the instance? A write since
                # (a completion marker, say) keeps a newer record, or none.
                kept = known.records.get(ident)
                if kept is None or kept[0] is not read[0] or read[0].version != transition.seq - 1:
                    read = None
            # Every transition leaves its source state, whose timers go. None
            # to remove when that read found none armed: timers are only ever
            # armed by a transition (or the start) of their instance, which
            # would have moved the version, and the update checks it did not.
            unarmed = read is not None and read[0].next_due is None
            seq = transition.seq
            data = transition.data
            row = (
                workflow,
                instance_id,
                seq,
                transition.kind._value_,
                transition.source,
                transition.target,
                transition.event,
                transition.key,
                "{}" if data is EMPTY else data_text(transition),
                at,
            )
            # The statements, written out (this is every send's path). The
            # insert moves the instance too (the trigger of migration 5).
            # Nothing else to write: one statement, its own transaction.
            alone = (
                unarmed
                and not work
                and not timers
                and compensating is None
                and transition.kind is not _COMPENSATE
            )
            try:
                if not alone:
                    conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.execute(_INSERT_TRANSITION, row)
                except sqlite3.IntegrityError:
                    raise self._lost(conn, workflow, instance_id, seq - 1) from None
                if not alone:
                    if compensating is not None or transition.kind is _COMPENSATE:
                        conn.execute(_SET_COMPENSATING, (compensating, workflow, instance_id))
                    if work:
                        self._insert_work(conn, work)
                    if not unarmed:
                        conn.execute(_DISARM_ALL, ident)
                    if timers:
                        self._insert_timers(conn, timers)
                    conn.execute("COMMIT")
            except BaseException as exc:
                known.records.pop(ident, None)
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if isinstance(exc, (sqlite3.Error, UnicodeEncodeError)):
                    raise StoreError(f"{self.path}: {exc}") from exc
                raise
            if read is None or read[1] is None or read[2] != changes:
                known.records.pop(ident, None)
            else:
                # What the file holds now, if nothing else committed since the
                # read (which the next read checks by the read's counter).
                prior = read[0]
                records = known.records
                if len(records) >= _KNOWN_MAX:
                    records.clear()
                records[ident] = (
                    build_instance(
                        workflow,
                        instance_id,
                        transition.target,
                        transition.seq,
                        prior.fingerprint,
                        compensating,
                        prior.pending + len(work),
                        prior.dead,
                        prior.created_at,
                        _from_iso(at),
                        min(t.due for t in timers) if timers else None,
                    ),
                    read[1],
                    changes,
                )
            # It touched this instance only: the other kept records stand.
            known.account(conn)
        finally:
            lock.release()
        if timers:
            wakeup.notify(self._scope, workflow, min(t.due for t in timers))

    @staticmethod
    def _lost(
        conn: sqlite3.Connection, workflow: str, instance_id: str, version: int
    ) -> UnknownInstance | VersionConflict:
        """Why a transition's insert was refused: the instance does not exist,
        or it is no longer at ``version`` (the trigger's check; or another
        transition took the same ``seq`` or idempotency key first)."""
        exists = conn.execute(
            "SELECT 1 FROM wf_instances WHERE workflow = ? AND instance_id = ?",
            (workflow, instance_id),
        ).fetchone()
        if exists is None:
            return UnknownInstance(workflow, instance_id)
        return VersionConflict(workflow, instance_id, version)

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
        """The statements of :meth:`append`, inside :meth:`append_many`'s
        transaction (``append`` itself writes them out: it is every send's path)."""
        try:
            self._insert_transition(conn, workflow, instance_id, transition, at)
        except sqlite3.IntegrityError:
            raise self._lost(conn, workflow, instance_id, transition.seq - 1) from None
        if compensating is not None or transition.kind is _COMPENSATE:
            conn.execute(_SET_COMPENSATING, (compensating, workflow, instance_id))
        self._insert_work(conn, work)

    # -- batches (Store.append_many) -----------------------------------------

    def load_many(self, workflow: str, instance_ids: Sequence[str]) -> dict[str, InstanceRecord]:
        ids = list(dict.fromkeys(instance_ids))
        found: dict[str, InstanceRecord] = {}
        known = self._known
        records = known.records
        with self._read() as conn:
            # The records kept of them (see _Known) where certainly current:
            # a batch's next step reads one counter, not its instances.
            changes = known.settle(conn)
            version: int = conn.execute(_DATA_VERSION).fetchone()[0]
            if not conn.in_transaction:
                for iid in ids:
                    kept = records.get((workflow, iid))
                    if kept is not None and kept[1] == version and kept[2] == changes:
                        found[iid] = kept[0]
            if len(found) == len(ids):
                return found
            missing = [iid for iid in ids if iid not in found]
            # One statement per slice (SQLite limits the parameters of one).
            for start in range(0, len(missing), 500):
                part = missing[start : start + 500]
                query = _LOAD_MANY + "(" + ",".join("?" * len(part)) + ")"
                try:
                    rows = conn.execute(query, (workflow, *part)).fetchall()
                except UnicodeEncodeError:  # an id no store can have written
                    return self._load_each(workflow, ids)
                for row in rows:
                    rec = instance_from_row(row)
                    found[rec.instance_id] = rec
                    known.keep((workflow, rec.instance_id), rec, version, changes)
        return found

    def _keep_appended(
        self,
        appends: Sequence[Append],
        stamps: Sequence[str],
        out: Sequence[Outcome],
        epoch: int,
    ) -> None:
        """After :meth:`append_many` committed (in ``epoch``, the lock still
        held): keep what the file now holds of each instance it wrote, derived
        from the record kept of it before, as :meth:`append` does; drop the
        others'."""
        records = self._known.records
        for a, stamp, outcome in zip(appends, stamps, out, strict=True):
            ident = (a.workflow, a.instance_id)
            kept = records.get(ident)
            if kept is None:
                continue
            prior, t = kept[0], a.transition
            # (In a chain, each is derived from the one just derived.)
            if outcome is not None or kept[2] != epoch or prior.version != t.seq - 1:
                del records[ident]
                continue
            records[ident] = (
                build_instance(
                    a.workflow,
                    a.instance_id,
                    t.target,
                    t.seq,
                    prior.fingerprint,
                    a.compensating,
                    prior.pending + len(a.work),
                    prior.dead,
                    prior.created_at,
                    _from_iso(stamp),
                    min(tm.due for tm in a.timers) if a.timers else None,
                ),
                kept[1],
                epoch,
            )

    def _load_each(self, workflow: str, ids: Sequence[str]) -> dict[str, InstanceRecord]:
        """:meth:`load_many` one by one: for ids that cannot be sent as they are
        (:meth:`load` finds nothing under them)."""
        found: dict[str, InstanceRecord] = {}
        for iid in ids:
            rec = self.load(workflow, iid)
            if rec is not None:
                found[iid] = rec
        return found

    def _load_aside(self, workflow: str, instance_id: str) -> InstanceRecord | None:
        """:meth:`load` while another thread holds the connection (most of that
        time is its flush to the disk): read through a second connection, which
        WAL lets read meanwhile, so that threads keep deciding and queue their
        writes for the next group commit. It reads the last committed state, as
        a read made just before that write would: ``append``'s version check
        makes that safe, as for any read."""
        if self.path == ":memory:":  # one connection only: wait for it
            with self._lock:
                return self.load(workflow, instance_id)
        with self._aside_lock:
            if self._closed:
                raise StoreError("the store is closed")
            conn = self._aside
            if conn is None or self._aside_generation != process.GENERATION:
                try:
                    conn = sqlite3.connect(
                        self.path,
                        timeout=self._busy_timeout,
                        isolation_level=None,
                        check_same_thread=False,
                    )
                    conn.execute("PRAGMA query_only = ON")
                except sqlite3.Error as exc:
                    raise StoreError(f"{self.path}: {exc}") from exc
                weakref.finalize(self, _finalize, conn, process.GENERATION)
                self._aside, self._aside_generation = conn, process.GENERATION
            try:
                row = conn.execute(_LOAD, (workflow, instance_id)).fetchone()
            except sqlite3.Error as exc:
                raise StoreError(f"{self.path}: {exc}") from exc
            except UnicodeEncodeError:
                return None
        return None if row is None else instance_from_row(row)

    def _grouped(self, append: Append) -> None:
        """:meth:`append` while another thread writes: a group commit.

        Most of a write is its flush to the disk, during which this store's
        connection is taken. Writers that arrive meanwhile queue their appends;
        the first of them to get the connection writes every queued append in
        one transaction (:meth:`append_many`: each checked as it is alone) and
        tells each writer its own outcome. So several threads on one store get
        more than one thread's throughput, not less.

        :raises VersionConflict, UnknownInstance, StoreError: as :meth:`append`.
        """
        slot = _Slot(append)
        with self._queue_lock:
            self._queue.append(slot)
        with self._lock:
            if not slot.done:
                with self._queue_lock:
                    group, self._queue = self._queue, []
                try:
                    outcomes = self.append_many([s.append for s in group])
                except BaseException as exc:
                    for s in group:
                        s.done = True
                        if s is not slot:
                            s.error = StoreError(f"{self.path}: group commit failed: {exc}")
                    raise
                for s, outcome in zip(group, outcomes, strict=True):
                    s.error, s.done = outcome, True
        if slot.error is not None:
            raise slot.error

    def append_many(
        self, appends: Sequence[Append], *, disarm: Sequence[Timer] = ()
    ) -> list[Outcome]:
        out: list[Outcome] = [None] * len(appends)
        groups = list(chains(appends).values())
        if not groups and not disarm:
            if self._closed:
                self._check()
            return out
        stamps = [a.transition.at.isoformat() for a in appends]
        known = self._known
        with self._accounted() as epoch:
            while True:
                try:
                    with self._write() as conn:
                        redo = self._append_chains(conn, appends, stamps, groups, out)
                        if redo is not None:
                            # Part of a chain was written before it failed: undo
                            # the transaction, write it again without that chain.
                            raise _Redo
                        if disarm:
                            conn.executemany(
                                f"DELETE FROM wf_timers WHERE {_TIMER_KEY}",
                                [t.ident for t in disarm],
                            )
                    break
                except _Redo:
                    assert redo is not None
                    # Write the failed chain up to its failure only.
                    failed, n = redo
                    groups = [g if g is not failed else g[:n] for g in groups]
                    for g in groups:  # outcomes of the undone attempt are void
                        for i in g:
                            out[i] = None
            self._keep_appended(appends, stamps, out, epoch)
            for t in disarm:
                known.records.pop((t.workflow, t.instance_id), None)
        for wf, due in soonest_armed(appends, out).items():
            wakeup.notify(self._scope, wf, due)
        return out

    def _append_chains(
        self,
        conn: sqlite3.Connection,
        appends: Sequence[Append],
        stamps: Sequence[str],
        groups: Sequence[list[int]],
        out: list[Outcome],
    ) -> tuple[list[int], int] | None:
        """Write the chains inside :meth:`append_many`'s transaction, noting
        failures in ``out``. A chain that fails before it wrote anything is
        passed over; one that fails after it wrote something is returned with
        the position of the failure (the transaction must be undone), else
        ``None``."""
        for group in groups:
            before = conn.total_changes
            for n, i in enumerate(group):
                a = appends[i]
                try:
                    self._append(
                        conn,
                        a.workflow,
                        a.instance_id,
                        a.transition,
                        a.work,
                        a.compensating,
                        stamps[i],
                    )
                except (VersionConflict, UnknownInstance) as exc:
                    out[i] = exc
                    for j in group[n + 1 :]:
                        out[j] = skipped(appends[j])
                    if conn.total_changes != before:
                        return group, n
                    break
                if a.disarm:
                    conn.execute(_DISARM_ALL, (a.workflow, a.instance_id))
                if a.timers:
                    self._insert_timers(conn, a.timers)
        return None

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
        # Leases are no part of an instance record: every kept one stands. A
        # lease lost with the machine's power was held by a worker lost with
        # it: the claim need not wait for the disk (as completion markers).
        with self._accounted(), self._write(flush=False) as conn:
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
        known = self._known
        with self._accounted() as epoch:
            if len(items) > 1:
                with self._write(flush=False) as conn:
                    conn.executemany(_MARK_DONE, [w.ident for w in items])
                for w in items:
                    known.records.pop((w.workflow, w.instance_id), None)
                return
            item = items[0]
            with self._write(flush=False) as conn:
                done: int = conn.execute(_MARK_DONE, item.ident).rowcount
            # A hooked send's marker: the instance's kept record stays current
            # with one piece of work fewer pending.
            ident = (item.workflow, item.instance_id)
            kept = known.records.get(ident)
            if kept is not None and kept[2] == epoch:
                r = kept[0]
                known.records[ident] = (
                    build_instance(
                        r.workflow,
                        r.instance_id,
                        r.state,
                        r.version,
                        r.fingerprint,
                        r.compensating,
                        r.pending - done,
                        r.dead,
                        r.created_at,
                        r.updated_at,
                        r.next_due,
                    ),
                    kept[1],
                    epoch,
                )
            else:
                known.records.pop(ident, None)

    def begin(self, item: WorkItem) -> None:
        # An attempt is no part of an instance record: every kept one stands.
        with self._accounted(), self._write(flush=False) as conn:
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
                    "UPDATE wf_work INDEXED BY wf_work_open SET lease_owner = NULL, "
                    "lease_until = NULL, lease_proof = NULL WHERE workflow = ? "
                    "AND instance_id = ? AND status <> 'done' AND lease_proof = ?",
                    (item.workflow, item.instance_id, item.lease_proof),
                )

    def revive(self, workflow: str, instance_id: str) -> int:
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE wf_work INDEXED BY wf_work_open SET status = 'pending', attempts = 0, "
                "lease_owner = NULL, lease_until = NULL, lease_proof = NULL "
                "WHERE workflow = ? AND instance_id = ? AND status <> 'done' AND status = 'dead'",
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
        ident = (workflow, instance_id)
        with self._lock:
            conn = self._conn
            known = self._known
            changes = known.settle(conn)
            try:
                kept, version = known.recall(conn, ident, changes)
                if kept is not None and kept.next_due is None:
                    return kept, []  # nothing armed, certainly
                row = conn.execute(_LOAD, ident).fetchone()
                if row is None:
                    known.records.pop(ident, None)
                    return None
                cur = conn.execute(_INSTANCE_TIMERS, ident)
                record = instance_from_row(row)
                known.note(ident, record, version, changes)
                if version is not None:
                    known.keep(ident, record, version, changes)
                return record, [timer_from_row(r) for r in cur]
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
        with self._aside_lock:
            if self._aside is not None and self._aside_generation == process.GENERATION:
                self._aside.close()
            self._aside = None

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
