"""The server-backed store: PostgreSQL, for many workers on many machines.

Design (see ``docs/scaling.md`` for the why):

* Every write is **one SQL statement** run in autocommit mode (data-modifying
  CTEs), so it is atomic, needs no ``BEGIN``/``COMMIT`` round trips, and can
  never be left half-written; a batch of appends (``append_many``) too, with
  one row per instance (``load_many`` reads a batch's instances in one).
  ``fail`` alone uses an explicit transaction, and ``append_many`` when a
  concurrent send took one of its keys (it then writes the others one by one).
* ``append`` guards the instance row with its version (``UPDATE ... WHERE
  version = seq - 1``): concurrent senders to one instance serialise on the row
  lock and the loser gets :class:`~wfdsl.errors.VersionConflict`.
* ``claim`` locks the instances whose work it takes with ``FOR NO KEY UPDATE
  SKIP LOCKED`` (one claimer per instance at a time, so an instance's work is
  never split between workers) and re-checks each work row's lease in the
  ``UPDATE`` itself, so a lease that another worker took after this statement's
  snapshot is never overwritten.
* Every write can be re-run safely, which is what makes connection failures
  recoverable: a transition row carries a random token, so after a lost
  connection the store can tell its own committed write from a rival's;
  ``fail`` and ``revive`` stamp the work rows they change with a token the same
  way; ``complete`` and ``claim`` are idempotent. A dropped connection or a
  restarted server is retried (with backoff, for ``retry_for`` seconds) on a
  fresh connection; after that the call raises :class:`~wfdsl.errors.StoreError`.
* Hook work is leased to a worker *session*: each store holds a connection of
  its own with a session-level advisory lock (:mod:`wfdsl.stores.presence`),
  and ``claim`` treats work whose holder's lock is gone from ``pg_locks`` as
  free at once: a worker that died (or lost its session) holds nothing. The
  lease expiry stays, for a worker that lives but hangs.
* Completion markers are committed with ``synchronous_commit = off``: they are
  visible to other workers at once but do not wait for a disk flush. A server
  crash may lose the last few of them, which only means those hooks run again
  (hooks are at-least-once). ``durable_completions=True`` waits for the flush.
* The schema (default ``wfdsl``) is created and migrated by the store, under an
  advisory lock so that workers starting together migrate once.

psycopg is imported when a store is constructed, never at import time.
"""

from __future__ import annotations

import contextlib
import json
import re
import select
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import unquote, urlsplit, urlunsplit

from wfdsl.errors import AlreadyStarted, StoreError, UnknownInstance, VersionConflict
from wfdsl.stores import process, urls
from wfdsl.stores.base import TimerListener
from wfdsl.stores.batch import Append, Outcome, chains, skipped
from wfdsl.stores.limits import storable
from wfdsl.stores.presence import LOCK_SPACE, Presence
from wfdsl.stores.records import (
    InstanceRecord,
    Timer,
    Transition,
    WorkItem,
    WorkStatus,
)
from wfdsl.stores.sql import (
    SHARED,
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

if TYPE_CHECKING:
    from psycopg import Connection
    from psycopg_pool import ConnectionPool

__all__ = [
    "CHANNEL",
    "DEFAULT_SCHEMA",
    "INSTALL_HINT",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "PostgresStore",
]

#: The schema wfdsl's tables live in unless told otherwise.
DEFAULT_SCHEMA = "wfdsl"

#: What to tell a user whose Python lacks the driver.
INSTALL_HINT = "pip install 'wfdsl[postgres]'"

_T = TypeVar("_T")

#: ``MIGRATIONS[n]`` takes a schema from version ``n`` to ``n + 1``. ``{s}`` is the
#: quoted schema name. Text columns that are sorted use the "C" collation so that
#: ordering is by code point, as in the other stores, whatever the database locale.
MIGRATIONS: Migrations = (
    (
        """CREATE TABLE {s}.wf_instances (
            workflow     text COLLATE "C" NOT NULL,
            instance_id  text COLLATE "C" NOT NULL,
            state        text NOT NULL,
            version      bigint NOT NULL,
            fingerprint  text NOT NULL,
            compensating text,
            created_at   text NOT NULL,
            updated_at   text NOT NULL,
            PRIMARY KEY (workflow, instance_id)
        )""",
        "CREATE INDEX wf_instances_state ON {s}.wf_instances (workflow, state)",
        """CREATE TABLE {s}.wf_transitions (
            workflow    text COLLATE "C" NOT NULL,
            instance_id text COLLATE "C" NOT NULL,
            seq         bigint NOT NULL,
            kind        text NOT NULL,
            source      text,
            target      text NOT NULL,
            event       text,
            key         text,
            data        json NOT NULL,
            at          text NOT NULL,
            token       uuid NOT NULL,
            PRIMARY KEY (workflow, instance_id, seq)
        )""",
        """CREATE UNIQUE INDEX wf_transitions_key
            ON {s}.wf_transitions (workflow, instance_id, key) WHERE key IS NOT NULL""",
        """CREATE TABLE {s}.wf_work (
            workflow    text COLLATE "C" NOT NULL,
            instance_id text COLLATE "C" NOT NULL,
            seq         bigint NOT NULL,
            idx         integer NOT NULL,
            hook        text NOT NULL,
            kind        text NOT NULL,
            status      text NOT NULL,
            attempts    integer NOT NULL DEFAULT 0,
            last_error  text,
            lease_owner text,
            lease_until double precision,
            op_token    uuid,
            PRIMARY KEY (workflow, instance_id, seq, idx)
        )""",
        """CREATE INDEX wf_work_open ON {s}.wf_work (workflow, instance_id, seq, idx)
            WHERE status <> 'done'""",
    ),
    # 2: leases carry their holder's proof of identity (its session's lock key),
    # so that the work of a worker whose session ended is free at once.
    ("ALTER TABLE {s}.wf_work ADD COLUMN lease_proof text",),
    # 3: armed timers (timed transitions), one row per timer, written and
    # removed with the transitions that enter and leave its state; indexed by
    # due time, so the next due one is one index lookup however many are armed.
    # ``due`` is in milliseconds since the Unix epoch (UTC).
    (
        """CREATE TABLE {s}.wf_timers (
            workflow    text COLLATE "C" NOT NULL,
            instance_id text COLLATE "C" NOT NULL,
            seq         bigint NOT NULL,
            idx         integer NOT NULL,
            state       text NOT NULL,
            target      text NOT NULL,
            after_ms    bigint NOT NULL,
            due         bigint NOT NULL,
            lease_owner text,
            lease_until double precision,
            lease_proof text,
            PRIMARY KEY (workflow, instance_id, seq, idx)
        )""",
        "CREATE INDEX wf_timers_due ON {s}.wf_timers (workflow, due)",
    ),
    # 4: what ``resume()`` and listings ask is read along indexes, so that it
    # costs the same however many instances the schema holds: instances by
    # spec fingerprint, and (a partial index, empty while nothing is
    # interrupted) the instances in a compensation.
    (
        "CREATE INDEX wf_instances_fingerprint ON {s}.wf_instances (workflow, fingerprint)",
        """CREATE INDEX wf_instances_compensating ON {s}.wf_instances (workflow, instance_id)
            WHERE compensating IS NOT NULL""",
    ),
)

#: The schema version this code writes.
SCHEMA_VERSION = len(MIGRATIONS)

_META = """CREATE TABLE IF NOT EXISTS {s}.wf_meta (
    one     boolean PRIMARY KEY DEFAULT true CHECK (one),
    version integer NOT NULL
)"""

#: ``due + 0``: the soonest of the instance's timers is read along its primary
#: key; a bare ``min(due)`` may walk the whole workflow's due-time index.
_INSTANCE = """SELECT i.workflow, i.instance_id, i.state, i.version, i.fingerprint,
    i.compensating, c.pending, c.dead, i.created_at, i.updated_at,
    (SELECT min(t.due + 0) FROM {s}.wf_timers t
     WHERE t.workflow = i.workflow AND t.instance_id = i.instance_id) AS next_due
FROM {s}.wf_instances i
CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE w.status = 'pending') AS pending,
           count(*) FILTER (WHERE w.status = 'dead') AS dead
    FROM {s}.wf_work w
    WHERE w.workflow = i.workflow AND w.instance_id = i.instance_id AND w.status <> 'done'
) c"""

#: Instances with work of a status (a semi-join on the open-work index).
_HAS = """EXISTS (SELECT 1 FROM {s}.wf_work h WHERE h.workflow = i.workflow
    AND h.instance_id = i.instance_id AND h.status <> 'done' AND h.status = '{status}')"""

#: Inserts the work given as one JSON array of objects, once per row of the CTE
#: ``gate`` (one JSON parameter costs far less to send than an array per column).
_INSERT_WORK = """, wk AS (
    INSERT INTO {s}.wf_work (workflow, instance_id, seq, idx, hook, kind, status, attempts,
        last_error, lease_owner, lease_until, lease_proof)
    SELECT %(wf)s, %(id)s, %(seq)s, w.idx, w.hook, w.kind, w.status, w.attempts,
        w.last_error, w.lease_owner, w.lease_until, w.lease_proof
    FROM gate, json_to_recordset(%(work)s::json)
        AS w(idx integer, hook text, kind text, status text, attempts integer,
             last_error text, lease_owner text, lease_until double precision,
             lease_proof text)
)"""

_INSERT_TRANSITION = """, tr AS (
    INSERT INTO {s}.wf_transitions (workflow, instance_id, seq, kind, source, target, event,
        key, data, at, token)
    SELECT %(wf)s, %(id)s, %(seq)s, %(kind)s, %(source)s, %(target)s, %(event)s, %(key)s,
        %(data)s::json, %(at)s, %(token)s::uuid
    FROM gate
)"""

_CREATE = (
    """WITH gate AS (
    INSERT INTO {s}.wf_instances (workflow, instance_id, state, version, fingerprint,
        compensating, created_at, updated_at)
    VALUES (%(wf)s, %(id)s, %(state)s, %(version)s, %(fingerprint)s, %(compensating)s,
        %(created)s, %(created)s)
    ON CONFLICT DO NOTHING
    RETURNING 1
)"""
    + _INSERT_TRANSITION
)

_APPEND = (
    """WITH gate AS (
    UPDATE {s}.wf_instances
    SET state = %(target)s, version = %(seq)s, compensating = %(compensating)s,
        updated_at = %(at)s
    WHERE workflow = %(wf)s AND instance_id = %(id)s AND version = %(seq)s - 1
    RETURNING 1
)"""
    + _INSERT_TRANSITION
)

#: Every transition leaves its source state: its timers go, in the same statement.
_DISARM = """, disarm AS (
    DELETE FROM {s}.wf_timers t USING gate
    WHERE t.workflow = %(wf)s AND t.instance_id = %(id)s
)"""

#: Arms the timers given as one JSON array of objects (all of this transition).
_ARM = """, arm AS (
    INSERT INTO {s}.wf_timers (workflow, instance_id, seq, idx, state, target, after_ms, due)
    SELECT %(wf)s, %(id)s, %(seq)s, t.idx, t.state, t.target, t.after_ms, t.due
    FROM gate, json_to_recordset(%(timers)s::json)
        AS t(idx integer, state text, target text, after_ms bigint, due bigint)
)"""

#: The end of a write: how many instance rows it wrote (0: a conflict).
_COUNT = " SELECT count(*) FROM gate"

#: ... and, when it armed timers, a notification to sleeping workers, sent
#: when the transaction commits (never for a write that did not happen).
_COUNT_NOTIFY = " SELECT count(*) FROM (SELECT pg_notify(%(channel)s, %(note)s) FROM gate) n"

#: The channel workers ``LISTEN`` on; the payload is ``[schema, workflow, due]``.
CHANNEL = "wfdsl_timers"

# -- append_many: the whole batch in one statement -------------------------------------
#
# A batch's appends are grouped into chains (one per instance); a chain is
# written whole by one row of ``gate``: the instance moves from the version
# before its first append (the one version check: while the statement holds
# the row, every later append of the chain holds too) to its last append's
# state. Each JSON parameter is one array of objects, one per row.

#: The chains: one row each, by instance.
_BATCH_GATE = """WITH h AS MATERIALIZED (
    SELECT * FROM json_to_recordset(%(chains)s::json)
        AS h(wf text, id text, first bigint, seq bigint, target text, compensating text,
             at text, disarm boolean)
    -- No row more than given: the limit tells the planner how few there are
    -- (it takes a function's rows for 100, enough to prefer a hash join over
    -- the whole table to a primary-key probe per chain).
    LIMIT %(n)s
), gate AS (
    UPDATE {s}.wf_instances i
    SET state = h.target, version = h.seq, compensating = h.compensating, updated_at = h.at
    FROM h
    WHERE i.workflow = h.wf AND i.instance_id = h.id AND i.version = h.first - 1
    RETURNING i.workflow, i.instance_id, h.disarm
), tr AS (
    INSERT INTO {s}.wf_transitions (workflow, instance_id, seq, kind, source, target, event,
        key, data, at, token)
    SELECT t.wf, t.id, t.seq, t.kind, t.source, t.target, t.event, t.key, t.data::json, t.at,
        t.token::uuid
    FROM json_to_recordset(%(transitions)s::json)
        AS t(wf text, id text, seq bigint, kind text, source text, target text, event text,
             key text, data text, at text, token text)
    JOIN gate ON gate.workflow = t.wf AND gate.instance_id = t.id
)"""

#: The timers armed before the batch, of the instances written (those whose
#: chain leaves a state: :attr:`Append.disarm`).
_BATCH_DISARM = """, disarm AS (
    DELETE FROM {s}.wf_timers x USING gate
    WHERE gate.disarm AND x.workflow = gate.workflow AND x.instance_id = gate.instance_id
)"""

_BATCH_WORK = """, wk AS (
    INSERT INTO {s}.wf_work (workflow, instance_id, seq, idx, hook, kind, status, attempts,
        last_error, lease_owner, lease_until, lease_proof)
    SELECT w.wf, w.id, w.seq, w.idx, w.hook, w.kind, w.status, w.attempts,
        w.last_error, w.lease_owner, w.lease_until, w.lease_proof
    FROM json_to_recordset(%(work)s::json)
        AS w(wf text, id text, seq bigint, idx integer, hook text, kind text, status text,
             attempts integer, last_error text, lease_owner text,
             lease_until double precision, lease_proof text)
    JOIN gate ON gate.workflow = w.wf AND gate.instance_id = w.id
)"""

#: The timers each written chain leaves armed, and a notification per
#: workflow with the soonest of them (sent when the transaction commits).
_BATCH_ARM = """, armed AS MATERIALIZED (
    SELECT a.* FROM json_to_recordset(%(timers)s::json)
        AS a(wf text, id text, seq bigint, idx integer, state text, target text,
             after_ms bigint, due bigint)
    JOIN gate ON gate.workflow = a.wf AND gate.instance_id = a.id
), arm AS (
    INSERT INTO {s}.wf_timers (workflow, instance_id, seq, idx, state, target, after_ms, due)
    SELECT wf, id, seq, idx, state, target, after_ms, due FROM armed
), note AS (
    SELECT pg_notify(%(channel)s, json_build_array(%(schema)s::text, wf, min(due))::text)
    FROM armed GROUP BY wf
)"""

#: Spent timers (``disarm=`` of :meth:`PostgresStore.append_many`), by key.
_BATCH_SPENT = """, spent AS (
    DELETE FROM {s}.wf_timers x
    USING (SELECT * FROM json_to_recordset(%(spent)s::json)
           AS p(wf text, id text, seq bigint, idx integer) LIMIT %(spent_n)s) p
    WHERE x.workflow = p.wf AND x.instance_id = p.id AND x.seq = p.seq AND x.idx = p.idx
)"""


def _batch_statement(work: bool, timers: bool, disarm: bool, spent: bool) -> str:
    """The statement of a batch with (or without) work, timers armed, timers
    to disarm with the state left, spent timers: the instances it wrote, one
    row each (with, when it armed timers, the notifications sent)."""
    out = _BATCH_GATE
    if disarm:
        out += _BATCH_DISARM
    if work:
        out += _BATCH_WORK
    if timers:
        out += _BATCH_ARM
    if spent:
        out += _BATCH_SPENT
    # A SELECT in a WITH runs only if read: ``note`` is, once (when anything
    # was written). Spent timers go even when no instance row is written.
    notes = ", (SELECT count(*) FROM note)" if timers else ""
    return out + f" SELECT gate.workflow, gate.instance_id{notes} FROM gate"


_TIMER_COLUMNS = """workflow, instance_id, seq, idx, state, target, after_ms, due,
    lease_owner, lease_until, lease_proof"""

_TIMER_KEY = "workflow = %(wf)s AND instance_id = %(id)s AND seq = %(seq)s AND idx = %(idx)s"

#: A timer ``{t}`` that the worker ``%(proof)s`` may claim at ``%(now)s``: the
#: lease rule of hook work (:data:`_FREE`).
_TIMER_FREE = """(({t}.lease_owner IS NULL AND {t}.lease_proof IS NULL)
        OR {t}.lease_proof = %(proof)s
        OR coalesce({t}.lease_until, 0) < %(now)s
        OR ({t}.lease_proof IS NOT NULL
            AND {t}.lease_proof NOT IN (SELECT proof FROM live)))"""

#: Claims due timers. A claim only spreads timers over workers (firing is made
#: exactly-once by the version check), so losing one to a server crash is
#: harmless: it is committed without waiting for the disk, as a completion
#: marker is.
_CLAIM_TIMERS = (
    f"""WITH live AS MATERIALIZED (
    SELECT l.objid::text AS proof FROM pg_locks l
    WHERE l.locktype = 'advisory' AND l.classid = {LOCK_SPACE} AND l.objsubid = 2 AND l.granted
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
), pick AS MATERIALIZED (
    SELECT t.workflow, t.instance_id, t.seq, t.idx FROM {{s}}.wf_timers t
    WHERE t.workflow = %(wf)s AND t.due <= %(due)s AND """
    + _TIMER_FREE.replace("{t}", "t")
    + """
      -- an instance another live worker holds a due timer of is left to it
      -- (``due + 0``: read along the instance's primary key, never the
      -- due-time index, which would walk every due timer for each one)
      AND NOT EXISTS (SELECT 1 FROM {s}.wf_timers b
          WHERE b.workflow = t.workflow AND b.instance_id = t.instance_id
            AND b.due + 0 <= %(due)s AND NOT """
    + _TIMER_FREE.replace("{t}", "b")
    + """)
    -- Due order only: the index gives it without sorting, however many share
    -- a due time (the order within an instance is the firing code's to keep).
    ORDER BY t.due
    LIMIT %(limit)s
    FOR UPDATE OF t SKIP LOCKED
)
UPDATE {s}.wf_timers t SET lease_owner = %(owner)s, lease_until = %(until)s,
    lease_proof = %(proof)s
FROM pick, (SELECT set_config('synchronous_commit', 'off', true)) AS nowait(setting)
WHERE t.workflow = pick.workflow AND t.instance_id = pick.instance_id
  AND t.seq = pick.seq AND t.idx = pick.idx AND """
    + _TIMER_FREE.replace("{t}", "t")
    + """
RETURNING t.workflow, t.instance_id, t.seq, t.idx, t.state, t.target, t.after_ms, t.due,
    t.lease_owner, t.lease_until, t.lease_proof"""
)

_WRITTEN = """SELECT
    EXISTS (SELECT 1 FROM {s}.wf_instances WHERE workflow = %(wf)s AND instance_id = %(id)s),
    (SELECT token FROM {s}.wf_transitions
     WHERE workflow = %(wf)s AND instance_id = %(id)s AND seq = %(seq)s)"""

#: Work ``{w}`` that the worker ``%(proof)s`` may take at ``%(now)s``: unheld,
#: its own, expired, or held under a lock key no live session holds (``live``).
_FREE = """{w}.status = 'pending' AND (
        ({w}.lease_owner IS NULL AND {w}.lease_proof IS NULL)
        OR {w}.lease_proof = %(proof)s
        OR coalesce({w}.lease_until, 0) < %(now)s
        OR ({w}.lease_proof IS NOT NULL
            AND {w}.lease_proof NOT IN (SELECT proof FROM live)))"""

#: ... and no earlier unfinished work of its instance is dead or held by a live
#: other worker: hooks of one instance run in order, whoever runs them.
_PREFIX = (
    """NOT EXISTS (SELECT 1 FROM {s}.wf_work b
        WHERE b.workflow = {w}.workflow AND b.instance_id = {w}.instance_id
          AND b.status <> 'done' AND (b.seq, b.idx) < ({w}.seq, {w}.idx)
          AND NOT ("""
    + _FREE.replace("{w}", "b")
    + "))"
)

_CLAIMABLE = _FREE + " AND " + _PREFIX

_CLAIM = (
    f"""WITH live AS MATERIALIZED (
    SELECT l.objid::text AS proof FROM pg_locks l
    WHERE l.locktype = 'advisory' AND l.classid = {LOCK_SPACE} AND l.objsubid = 2 AND l.granted
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
), inst AS MATERIALIZED (
    SELECT i.workflow, i.instance_id FROM {{s}}.wf_instances i
    WHERE i.workflow = %(wf)s {{only}}
      AND EXISTS (SELECT 1 FROM {{s}}.wf_work w
                  WHERE w.workflow = i.workflow AND w.instance_id = i.instance_id AND """
    + _CLAIMABLE.replace("{w}", "w")
    + """)
    ORDER BY i.instance_id
    LIMIT %(limit)s
    FOR NO KEY UPDATE OF i SKIP LOCKED
), pick AS MATERIALIZED (
    SELECT w.workflow, w.instance_id, w.seq, w.idx
    FROM {s}.wf_work w JOIN inst ON w.workflow = inst.workflow AND w.instance_id = inst.instance_id
    WHERE """
    + _CLAIMABLE.replace("{w}", "w")
    + """
    ORDER BY w.instance_id, w.seq, w.idx
    LIMIT %(limit)s
)
UPDATE {s}.wf_work w SET lease_owner = %(owner)s, lease_until = %(until)s,
    lease_proof = %(proof)s
FROM pick
WHERE w.workflow = pick.workflow AND w.instance_id = pick.instance_id
  AND w.seq = pick.seq AND w.idx = pick.idx AND """
    + _FREE.replace("{w}", "w")
    + """
RETURNING w.workflow, w.instance_id, w.seq, w.idx, w.hook, w.kind, w.status, w.attempts,
    w.last_error, w.lease_owner, w.lease_until, w.lease_proof"""
)

#: ``set_config(..., true)`` applies to this statement's own transaction only.
#: The work of one transition: every column of the index on open work is bound,
#: so the update touches that transition's rows and nothing else.
_COMPLETE = """UPDATE {s}.wf_work w
SET status = 'done', lease_owner = NULL, lease_until = NULL, lease_proof = NULL{async_}
WHERE w.workflow = %(wf)s AND w.instance_id = %(id)s AND w.seq = %(seq)s
  AND w.idx = ANY(%(idx)s::integer[]) AND w.status = 'pending'"""

_ASYNC_COMMIT = "\nFROM (SELECT set_config('synchronous_commit', 'off', true)) AS nowait(setting)"

_FAIL = """UPDATE {s}.wf_work
SET attempts = attempts + %(add)s, last_error = %(error)s, status = %(status)s,
    op_token = %(token)s::uuid
WHERE workflow = %(wf)s AND instance_id = %(id)s AND seq = %(seq)s AND idx = %(idx)s
  AND status = 'pending' AND op_token IS DISTINCT FROM %(token)s::uuid"""

#: One more attempt, counted as a hook starts (at most once per token: a retry
#: on a fresh connection of a write that was applied changes nothing).
_BEGIN = """UPDATE {s}.wf_work w
SET attempts = attempts + 1, op_token = %(token)s::uuid{async_}
WHERE w.workflow = %(wf)s AND w.instance_id = %(id)s AND w.seq = %(seq)s AND w.idx = %(idx)s
  AND w.status = 'pending' AND w.op_token IS DISTINCT FROM %(token)s::uuid"""

_RELEASE = """UPDATE {s}.wf_work SET lease_owner = NULL, lease_until = NULL, lease_proof = NULL
WHERE workflow = %(wf)s AND instance_id = %(id)s AND status <> 'done'
  AND lease_proof = %(proof)s"""

#: The second count finds rows this very call revived in an attempt whose commit
#: was not acknowledged (the CTE's snapshot predates its own update).
_REVIVE = """WITH r AS (
    UPDATE {s}.wf_work SET status = 'pending', attempts = 0, lease_owner = NULL,
        lease_until = NULL, lease_proof = NULL, op_token = %(token)s::uuid
    WHERE workflow = %(wf)s AND instance_id = %(id)s AND status = 'dead'
    RETURNING 1
)
SELECT (SELECT count(*) FROM r) + (SELECT count(*) FROM {s}.wf_work
    WHERE workflow = %(wf)s AND instance_id = %(id)s AND status <> 'done'
      AND op_token = %(token)s::uuid)"""


def _writes() -> list[tuple[str, str]]:
    """The ``create`` and ``append`` statements, with and without work and
    timers: ``create``, ``create_work``, ``create_timers``, ``create_work_timers``,
    ``append``, ...; every ``append`` disarms the timers of the state it leaves
    (but the ``_kept`` ones, for an append whose instance has none armed:
    :attr:`Append.disarm`)."""
    out: list[tuple[str, str]] = []
    for work in (False, True):
        for timers in (False, True):
            suffix = ("_work" if work else "") + ("_timers" if timers else "")
            arm = (_INSERT_WORK if work else "") + (_ARM if timers else "")
            end = _COUNT_NOTIFY if timers else _COUNT
            out.append(("create" + suffix, _CREATE + arm + end))
            for kept in (False, True):
                name = _write_name("append", work, timers, kept=kept)
                out.append((name, _APPEND + ("" if kept else _DISARM) + arm + end))
    return out


def _write_name(kind: str, work: object, timers: object, *, kept: bool = False) -> str:
    return (
        kind + ("_work" if work else "") + ("_timers" if timers else "") + ("_kept" if kept else "")
    )


def _timer_params(schema: str, workflow: str, timers: Sequence[Timer]) -> dict[str, str]:
    rows = [
        {"idx": t.index, "state": t.state, "target": t.target, "after_ms": t.after_ms, "due": t.due}
        for t in timers
    ]
    soonest = min(t.due for t in timers)
    return {
        "timers": json.dumps(rows),
        "channel": CHANNEL,
        "note": json.dumps([schema, workflow, soonest]),
    }


_SCHEMA_SETTING = re.compile(r"(?:^|\s)schema\s*=\s*('(?:[^'\\]|\\.)*'|\S*)")


def _split_schema(dsn: str) -> tuple[str, str | None]:
    """Take wfdsl's own ``schema`` setting out of a connection string (libpq
    would reject it): the ``schema`` query parameter of a ``postgresql://``
    URL, or a ``schema=`` setting of a keyword string. Returns the string for
    libpq, unchanged otherwise (no re-encoding), and the schema."""
    if urls.is_keyword_dsn(dsn):
        found = _SCHEMA_SETTING.findall(dsn)
        if not found:
            return dsn, None
        value = found[-1]
        if value.startswith("'"):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        return _SCHEMA_SETTING.sub("", dsn).strip(), value or None
    try:
        parts = urlsplit(dsn)
    except ValueError:
        return dsn, None  # libpq says what is wrong with it
    if parts.scheme.lower() not in ("postgresql", "postgres") or not parts.query:
        return dsn, None
    kept: list[str] = []
    schemas: list[str] = []
    for item in parts.query.split("&"):
        name, _, value = item.partition("=")
        if unquote(name) == "schema":
            schemas.append(unquote(value))
        else:
            kept.append(item)
    if not schemas:
        return dsn, None
    return urlunsplit(parts._replace(query="&".join(kept))), schemas[-1] or None


#: PostgreSQL keeps the first ``NAMEDATALEN - 1`` bytes of a name (63 in every
#: standard build) and silently drops the rest.
MAX_NAME_BYTES = 63


def name_problem(name: str, *, application: bool = False) -> str | None:
    """Why PostgreSQL (or psycopg) would not take ``name`` as it is, as a
    schema name (or, with ``application``, an ``application_name``), or
    ``None`` if it would: names over 63 bytes are truncated by the server (so
    two long names could name one schema), ``%`` is psycopg's placeholder
    syntax, ``pg_`` is reserved for the server's own schemas, and an
    ``application_name`` outside printable ASCII is rewritten with ``?``."""
    if not name:
        return "is empty"
    if "\x00" in name:
        return "contains a NUL character"
    if application:
        if not (name.isascii() and name.isprintable()):
            return "holds characters other than printable ASCII (the server would replace them)"
    elif not name.isprintable():
        return "contains control characters"
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        return "is not UTF-8 text"
    if size > MAX_NAME_BYTES:
        return (
            f"is {size} bytes long; PostgreSQL keeps only the first {MAX_NAME_BYTES} "
            "bytes of a name, so it would not be the name given"
        )
    if application:
        return None
    if "%" in name:
        return "contains '%', which psycopg would read as a query placeholder"
    if name.startswith("pg_"):
        return "starts with 'pg_', which PostgreSQL reserves for its own schemas"
    return None


def _work_row(w: WorkItem) -> dict[str, Any]:
    """A work item's columns (but its instance and transition), as JSON."""
    return {
        "idx": w.idx,
        "hook": w.hook,
        "kind": w.kind.value,
        "status": w.status.value,
        "attempts": w.attempts,
        "last_error": w.last_error,
        "lease_owner": w.lease_owner,
        "lease_until": w.lease_until,
        "lease_proof": w.lease_proof,
    }


def _work_params(work: Sequence[WorkItem]) -> dict[str, str]:
    return {"work": json.dumps([_work_row(w) for w in work])}


def _transition_params(
    workflow: str, instance_id: str, t: Transition, token: str
) -> dict[str, Any]:
    return {
        "wf": workflow,
        "id": instance_id,
        "seq": t.seq,
        "kind": t.kind.value,
        "source": t.source,
        "target": t.target,
        "event": t.event,
        "key": t.key,
        "data": data_text(t),
        "at": t.at.isoformat(),
        "token": token,
    }


#: SQLSTATEs worth retrying on a fresh connection: serialization failure,
#: deadlock, lock timeout, the server shutting down or starting up, too many
#: connections. Class 08 (connection exceptions) is retried too.
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03", "57P01", "57P02", "57P03", "53300"})

_MAY_HAVE_BEEN_APPLIED = (
    " (it may have been applied before the connection was lost: read the "
    "instance back, or repeat the send with the same idempotency key)"
)


def _count(row: Any) -> int:
    """The instance rows a write statement wrote (its last column)."""
    return 0 if row is None else int(row[0])


def transient(exc: Exception) -> bool:
    """Whether a psycopg error may pass if the statement is run again on a fresh
    connection: a connection-level failure (the client's own, without a
    SQLSTATE, or class 08), or one of :data:`TRANSIENT_SQLSTATES`. Anything else
    (a value too large for an index, a constraint, a type error...) is
    permanent."""
    import psycopg

    state: str | None = getattr(exc, "sqlstate", None)
    if state is None:
        return isinstance(exc, psycopg.OperationalError)
    return state.startswith("08") or state in TRANSIENT_SQLSTATES


def one_line(exc: Exception) -> str:
    """The server's (or libpq's) message on one line: its detail and hint follow
    the message on lines of their own."""
    return " ".join(str(exc).split())


def _read_only(conn: Connection[Any]) -> None:
    """Configure a pooled connection of a read-only store."""
    conn.read_only = True


_INHERITED: list[Any] = []
"""Pools and sessions a forked child inherited: kept referenced, never used or closed."""


class PostgresStore(SQLStore):
    """Implements :class:`~wfdsl.stores.base.Store` on PostgreSQL (psycopg 3 + psycopg-pool).

    :param dsn: a libpq connection string or ``postgresql://`` URL.
    :param schema: the schema holding wfdsl's tables (created if missing); by
        default the URL's ``schema`` query parameter
        (``postgresql://host/db?schema=orders``), else ``wfdsl``.
    :param min_size: connections kept open in the pool.
    :param max_size: most connections the pool opens (one per concurrent thread
        is enough; a single-threaded worker needs one or two). The worker's
        session (its proof of life) is one more connection, opened when the
        store first leases hook work.
    :param connect_timeout: seconds to wait for a connection when opening.
    :param retry_for: seconds during which a call that lost its connection (or
        hit a deadlock or serialization failure) is retried before it raises
        :class:`~wfdsl.errors.StoreError`.
    :param durable_completions: wait for hook completion markers to reach the
        server's disk (off by default: a lost marker only re-runs a hook).
    :param application_name: shown in ``pg_stat_activity`` (unless the DSN sets one).
    :param readonly: open for reading only: the schema must exist at the current
        version (it is never created nor migrated), every statement runs in a
        read-only transaction, and the store holds no hook work.
    :raises SchemaNotFound: ``readonly``, and there is no wfdsl schema.
    :raises StoreError: psycopg is not installed (install ``wfdsl[postgres]``),
        the connection string is malformed, a name would not reach the server
        as given (:func:`name_problem`), the server cannot be reached, or the
        schema was written by a newer wfdsl. Messages never hold a password.
    """

    def __init__(
        self,
        dsn: str,
        *,
        schema: str | None = None,
        min_size: int = 1,
        max_size: int = 4,
        connect_timeout: float = 10.0,
        retry_for: float = 30.0,
        durable_completions: bool = False,
        application_name: str = "wfdsl",
        readonly: bool = False,
    ) -> None:
        try:
            import psycopg
            from psycopg import sql
            from psycopg.conninfo import conninfo_to_dict
        except ImportError as exc:
            raise StoreError(
                f"the PostgreSQL store needs psycopg 3 and psycopg-pool ({exc}); "
                f"install them with: {INSTALL_HINT}"
            ) from exc
        #: Every message is redacted against the string as given.
        self._given = dsn
        dsn, url_schema = _split_schema(dsn)
        schema = DEFAULT_SCHEMA if schema is None else schema
        schema = url_schema or schema
        problem = name_problem(schema)
        if problem is not None:
            raise self._error(f"PostgreSQL schema name {schema!r:.80} {problem}")
        self.schema = schema
        self.readonly = readonly
        self.retry_for = retry_for
        self.connect_timeout = connect_timeout
        self.durable_completions = durable_completions
        self._closed = True
        self._pg = psycopg
        try:
            params = conninfo_to_dict(dsn)
        except psycopg.Error as exc:
            raise self._error(f"invalid PostgreSQL connection string: {one_line(exc)}") from None
        shown_as = str(params.get("application_name", application_name))
        problem = name_problem(shown_as, application=True)
        if problem is not None:
            raise self._error(f"application_name {shown_as!r:.80} {problem}")
        user = params.get("user")
        self._where = "{}{}:{}/{}".format(
            f"{user}@" if user else "",
            params.get("host", "localhost"),
            params.get("port", "5432"),
            params.get("dbname", ""),
        )
        self._scope = "postgresql://{}:{}/{}#{}".format(
            params.get("host", "localhost"),
            params.get("port", "5432"),
            params.get("dbname", ""),
            schema,
        )
        kwargs: dict[str, Any] = {"autocommit": True}
        if "application_name" not in params:
            kwargs["application_name"] = application_name
        if "connect_timeout" not in params:
            kwargs["connect_timeout"] = max(1, int(connect_timeout))
        self._dsn = dsn
        self._kwargs = kwargs
        self._min_size = min_size
        self._max_size = max(max_size, min_size)
        quoted = sql.Identifier(schema).as_string(None)
        has_pending = _HAS.format(s=quoted, status="pending")
        has_dead = _HAS.format(s=quoted, status="dead")
        self._dialect = Dialect(
            quoted,
            lambda name: f"%({name})s",
            has_pending=has_pending,
            has_dead=has_dead,
            # Correlated on ``i.workflow`` already.
            has_pending_in=has_pending,
            has_dead_in=has_dead,
            # The planner picks the partial indexes by itself.
            by_key="",
            by_open="",
            by_compensating="",
            by_fingerprint="",
        )
        self._instances = _INSTANCE
        self._seq_queries = {}
        self._sql = self._render(SHARED)
        for name, text in (
            ("meta", _META),
            ("load", _INSTANCE + " WHERE i.workflow = %s AND i.instance_id = %s"),
            # One primary-key probe per id (given once each), as ``load`` reads
            # one: ``OFFSET 0`` keeps the planner from joining the ids to the
            # table instead, which it may prefer while its statistics are young.
            (
                "load_many",
                _INSTANCE.replace(
                    "FROM {s}.wf_instances i",
                    "FROM unnest(%s::text[]) AS x(id)\nCROSS JOIN LATERAL (SELECT * FROM "
                    "{s}.wf_instances WHERE workflow = %s AND instance_id = x.id OFFSET 0) i",
                ),
            ),
            *_writes(),
            ("written", _WRITTEN),
            ("claim_timers", _CLAIM_TIMERS),
            (
                "instance_timers",
                f"SELECT {_TIMER_COLUMNS} FROM {{s}}.wf_timers "
                "WHERE workflow = %s AND instance_id = %s ORDER BY due, seq, idx",
            ),
            ("claim_one", _CLAIM.replace("{only}", "AND i.instance_id = %(id)s")),
            ("claim_any", _CLAIM.replace("{only}", "")),
            (
                "complete",
                _COMPLETE.replace("{async_}", "" if durable_completions else _ASYNC_COMMIT),
            ),
            ("fail", _FAIL),
            ("begin", _BEGIN.replace("{async_}", "" if durable_completions else _ASYNC_COMMIT)),
            ("release_holder", _RELEASE),
            ("revive", _REVIVE),
        ):
            self._sql[name] = text.replace("{s}", quoted)
        self._quoted = quoted
        # One plain connection first: it fails fast with libpq's own words when the
        # server is unreachable, and migrates the schema before any pool exists.
        try:
            with psycopg.connect(dsn, **kwargs) as conn:
                self._migrate(conn)
        except psycopg.OperationalError as exc:
            raise self._error(
                f"cannot connect to PostgreSQL at {self._where}: {one_line(exc)}"
            ) from None
        except psycopg.Error as exc:
            raise self._error(
                f"PostgreSQL at {self._where}: cannot set up schema {schema!r}: {one_line(exc)}"
            ) from None
        if readonly:
            # Every statement in a transaction of its own, read-only on the server.
            self._kwargs = {**kwargs, "autocommit": False}
        self._open()
        self._closed = False

    def _error(self, message: str) -> StoreError:
        """A :class:`StoreError` saying ``message`` without any password."""
        return StoreError(urls.redact(message, self._given))

    def _open(self) -> None:
        """Open this process's pool, and its (lazily connected) worker session."""
        import psycopg
        from psycopg_pool import ConnectionPool

        self._generation = process.GENERATION
        pool: ConnectionPool[Connection[Any]] = ConnectionPool(
            self._dsn,
            kwargs=self._kwargs,
            min_size=self._min_size,
            max_size=self._max_size,
            open=False,
            timeout=self.connect_timeout,
            name=f"wfdsl:{self.schema}",
            configure=_read_only if self.readonly else None,
        )
        try:
            pool.open(wait=True, timeout=self.connect_timeout)
        except psycopg.Error as exc:
            pool.close()
            raise self._error(
                f"cannot connect to PostgreSQL at {self._where}: {one_line(exc)}"
            ) from None
        self._pool = pool
        self._presence = Presence(self._session, self._where)

    def _session(self) -> Connection[Any]:
        """A connection for the worker's session: TCP keepalives on, so that a
        connection that silently died is noticed (and the lock freed) in seconds."""
        import psycopg

        options = {
            "keepalives": 1,
            "keepalives_idle": 5,
            "keepalives_interval": 2,
            "keepalives_count": 3,
            **self._kwargs,
        }
        if "application_name" in options:
            # Within the server's 63 bytes (the name is printable ASCII, checked).
            name = options["application_name"][: MAX_NAME_BYTES - len(":worker")]
            options["application_name"] = f"{name}:worker"
        return psycopg.connect(self._dsn, **options)

    def _forked(self) -> None:
        """In a forked child: leave the parent's pool and session alone (their
        sockets are the parent's) and open this process's own."""
        _INHERITED.append((self._pool, self._presence))
        self._presence.forget()
        self._open()

    def __repr__(self) -> str:
        return f"PostgresStore({self._where!r}, schema={self.schema!r})"

    @property
    def scope(self) -> str:
        return self._scope

    def identity(self) -> str:
        if self._closed:
            raise StoreError("the store is closed")
        if self.readonly:
            raise StoreError("a store opened read-only holds no hook work")
        if self._generation != process.GENERATION:
            self._forked()
        return self._presence.proof()

    # -- plumbing ---------------------------------------------------------------

    def _q(self, text: str) -> str:
        return text.replace("{s}", self._quoted)

    def _call(self, what: str, op: Callable[[Connection[Any]], _T], *, write: bool = False) -> _T:
        """Run ``op`` on a pooled connection, retrying it on a fresh one for up
        to ``retry_for`` seconds after a transient error (:func:`transient`: a
        lost connection, a deadlock, a serialization failure); any other error
        is permanent and raised at once, since running it again would fail the
        same way. Only operations that are safe to run again (every one in this
        module) go through here. A ``write`` whose connection was lost after it
        was sent says that it may have been applied."""
        if self._closed:
            raise StoreError("the store is closed")
        if self._generation != process.GENERATION:
            self._forked()
        pg = self._pg
        deadline: float | None = None
        delay = 0.01
        sent = False  # whether the current attempt got as far as a connection
        lost = False  # whether an attempt was lost after it was sent
        while True:
            try:
                wait = self.connect_timeout
                if deadline is not None:
                    wait = max(0.05, min(wait, deadline - time.monotonic()))
                sent = False
                with self._pool.connection(timeout=wait) as conn:
                    sent = True
                    return op(conn)
            except UnicodeEncodeError as exc:  # a parameter psycopg cannot send
                raise self._error(f"PostgreSQL at {self._where}: could not {what}: {exc}") from None
            except pg.Error as exc:
                if not transient(exc):
                    state = f" (SQLSTATE {exc.sqlstate})" if exc.sqlstate else ""
                    unknown = _MAY_HAVE_BEEN_APPLIED if write and lost else ""
                    raise self._error(
                        f"PostgreSQL at {self._where}: could not {what}: "
                        f"{one_line(exc)}{state}{unknown}"
                    ) from exc
                lost = lost or sent
                unknown = _MAY_HAVE_BEEN_APPLIED if write and lost else ""
                now = time.monotonic()
                if deadline is None:
                    deadline = now + self.retry_for
                if now >= deadline or self._closed:
                    raise self._error(
                        f"PostgreSQL at {self._where}: could not {what} for "
                        f"{self.retry_for:g}s: {one_line(exc)}{unknown}"
                    ) from exc
                time.sleep(min(delay, max(0.0, deadline - now)))
                delay = min(delay * 2, 0.5)
                if isinstance(exc, pg.OperationalError):
                    # Idle connections may have died with this one (a server
                    # restart kills them all): test them now, not one failure each.
                    self._pool.check()

    def _fetch(self, what: str, query: str, params: Mapping[str, Any]) -> list[Any]:
        return self._call(what, lambda conn: conn.execute(query, params).fetchall())

    def _execute(self, what: str, query: str, params: Mapping[str, Any]) -> None:
        self._call(what, lambda conn: conn.execute(query, params), write=True)

    def _migrate(self, conn: Connection[Any]) -> None:
        where = f"PostgreSQL at {self._where} (schema {self.schema!r})"
        current, found = self._inspect(conn)
        check_schema(current, found, SCHEMA_VERSION, where, readonly=self.readonly)
        if current == SCHEMA_VERSION:
            return
        with conn.transaction():
            # Workers starting together wait here; the first migrates, the rest find it done.
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"wfdsl:{self.schema}",))
            conn.execute(self._q("CREATE SCHEMA IF NOT EXISTS {s}"))
            conn.execute(self._sql["meta"])
            current, found = self._inspect(conn)
            check_schema(current, found, SCHEMA_VERSION, where, readonly=False)
            latest = migrate(
                current, MIGRATIONS, lambda statement: conn.execute(self._q(statement)), where
            )
            conn.execute(
                self._q(
                    "INSERT INTO {s}.wf_meta (one, version) VALUES (true, %s) "
                    "ON CONFLICT (one) DO UPDATE SET version = EXCLUDED.version"
                ),
                (latest,),
            )

    def _inspect(self, conn: Connection[Any]) -> tuple[int, bool]:
        """The schema version recorded (0 for none), and whether wfdsl's tables
        are there; reads only, and needs no schema to exist."""
        row = conn.execute(
            "SELECT to_regclass(%s) IS NOT NULL, to_regclass(%s) IS NOT NULL",
            (f"{self._quoted}.wf_meta", f"{self._quoted}.wf_instances"),
        ).fetchone()
        has_meta, found = bool(row and row[0]), bool(row and row[1])
        if not has_meta:
            return 0, found
        version = conn.execute(self._q("SELECT version FROM {s}.wf_meta")).fetchone()
        return (int(version[0]) if version else 0), found

    @property
    def schema_version(self) -> int:
        """The schema version recorded in the database."""

        def op(conn: Connection[Any]) -> int:
            row = conn.execute(self._q("SELECT version FROM {s}.wf_meta")).fetchone()
            return int(row[0]) if row else 0

        return self._call("read the schema version", op)

    # -- reads --------------------------------------------------------------------

    def load(self, workflow: str, instance_id: str) -> InstanceRecord | None:
        if not storable(workflow, instance_id):
            return None
        query = self._sql["load"]

        def op(conn: Connection[Any]) -> InstanceRecord | None:
            row = conn.execute(query, (workflow, instance_id)).fetchone()
            return None if row is None else instance_from_row(row)

        return self._call("load an instance", op)

    # -- writes -------------------------------------------------------------------

    def create(
        self,
        instance: InstanceRecord,
        first: Transition,
        work: Sequence[WorkItem],
        *,
        timers: Sequence[Timer] = (),
    ) -> None:
        wf, iid = instance.workflow, instance.instance_id
        token = str(uuid.uuid4())
        params = _transition_params(wf, iid, first, token)
        params.update(
            state=instance.state,
            version=instance.version,
            fingerprint=instance.fingerprint,
            compensating=instance.compensating,
            created=(instance.created_at or first.at).isoformat(),
        )
        query = self._sql[_write_name("create", work, timers)]
        if work:
            params.update(_work_params(work))
        if timers:
            params.update(_timer_params(self.schema, wf, timers))

        def op(conn: Connection[Any]) -> None:
            row = conn.execute(query, params).fetchone()
            if row and row[0] == 1:
                return
            # Not inserted: a rival's instance, or ours from an attempt whose
            # acknowledgement was lost with the connection.
            written = conn.execute(self._sql["written"], params).fetchone()
            if written is None or str(written[1]) != token:
                raise AlreadyStarted(wf, iid)

        self._call("create an instance", op, write=True)

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
        token = str(uuid.uuid4())
        params = _transition_params(workflow, instance_id, transition, token)
        params["compensating"] = compensating
        query = self._sql[_write_name("append", work, timers)]
        if work:
            params.update(_work_params(work))
        if timers:
            params.update(_timer_params(self.schema, workflow, timers))
        pg = self._pg

        def op(conn: Connection[Any]) -> None:
            try:
                row = conn.execute(query, params).fetchone()
            except pg.errors.UniqueViolation:
                # The idempotency key is taken (by a concurrent send).
                raise VersionConflict(workflow, instance_id, transition.seq - 1) from None
            if row and row[0] == 1:
                return
            written = conn.execute(self._sql["written"], params).fetchone()
            if written is None or not written[0]:
                raise UnknownInstance(workflow, instance_id)
            if str(written[1]) == token:
                return  # our own write, committed by an earlier attempt
            raise VersionConflict(workflow, instance_id, transition.seq - 1)

        self._call("append a transition", op, write=True)

    # -- batches (Store.append_many) -----------------------------------------

    def load_many(self, workflow: str, instance_ids: Sequence[str]) -> dict[str, InstanceRecord]:
        ids = [iid for iid in dict.fromkeys(instance_ids) if storable(workflow, iid)]
        if not ids:
            if self._closed:
                raise StoreError("the store is closed")
            return {}
        query = self._sql["load_many"]

        def op(conn: Connection[Any]) -> dict[str, InstanceRecord]:
            # One statement, one round trip, whatever the number of ids.
            found: dict[str, InstanceRecord] = {}
            for row in conn.execute(query, (ids, workflow)):
                found[row[1]] = instance_from_row(row)
            return found

        return self._call("load instances", op)

    def append_many(
        self, appends: Sequence[Append], *, disarm: Sequence[Timer] = ()
    ) -> list[Outcome]:
        if self._closed:
            raise StoreError("the store is closed")
        if not appends and not disarm:
            return []
        groups = list(chains(appends).values())
        # A chain is written by one version check while its seqs follow each
        # other; an append that breaks the run fails as it would alone (after
        # those before it: ``VersionConflict``), and those after it are skipped.
        runs: list[list[int]] = []
        for group in groups:
            k = 1
            while k < len(group) and (
                appends[group[k]].transition.seq == appends[group[k - 1]].transition.seq + 1
            ):
                k += 1
            runs.append(group[:k])
        tokens = [str(uuid.uuid4()) for _ in appends]
        params, query = self._batch(appends, runs, tokens, disarm)
        pg = self._pg

        def op(conn: Connection[Any]) -> list[Outcome]:
            try:
                # One statement: atomic in autocommit, one round trip.
                written = {(r[0], r[1]) for r in conn.execute(query, params)}
            except pg.errors.UniqueViolation:
                # A key taken by a concurrent send: nothing was written; the
                # appends go again one by one, so that the others are written.
                with conn.transaction():
                    return self._append_one_by_one(conn, appends, tokens, groups, disarm)
            out: list[Outcome] = [None] * len(appends)
            for run, group in zip(runs, groups, strict=True):
                head = appends[run[0]]
                failed: Outcome = None
                if (head.workflow, head.instance_id) not in written:
                    # Not written: a rival moved the instance, it does not
                    # exist, or an earlier attempt of this call wrote the
                    # chain (and its acknowledgement was lost with the connection).
                    first = _transition_params(
                        head.workflow, head.instance_id, head.transition, tokens[run[0]]
                    )
                    failed = out[run[0]] = self._unwritten(conn, head, first)
                # After a failure, or past the run (whose first append then
                # fails its version check alone): ``VersionConflict``.
                for i in group[len(run) :] if failed is None else group[1:]:
                    out[i] = skipped(appends[i])
            return out

        return self._call("append transitions", op, write=True)

    def _batch(
        self,
        appends: Sequence[Append],
        runs: Sequence[list[int]],
        tokens: Sequence[str],
        spent: Sequence[Timer],
    ) -> tuple[dict[str, Any], str]:
        """The parameters and the statement of :meth:`append_many` in one
        statement (:func:`_batch_statement`): ``runs`` are the appends of each
        chain that one version check covers (their seqs follow each other)."""
        heads: list[dict[str, Any]] = []
        transitions: list[dict[str, Any]] = []
        work: list[dict[str, Any]] = []
        armed: list[dict[str, Any]] = []
        any_disarm = False
        for group in runs:
            chain = [appends[i] for i in group]
            last = chain[-1]
            first_seq = chain[0].transition.seq
            # The timers left armed: each append removes the ones armed before
            # it (but where the caller said there were none), then arms its own.
            disarms = [a.disarm for a in chain]
            chain_disarm = any(disarms)
            any_disarm = any_disarm or chain_disarm
            heads.append(
                {
                    "wf": last.workflow,
                    "id": last.instance_id,
                    "first": first_seq,
                    "seq": last.transition.seq,
                    "target": last.transition.target,
                    "compensating": last.compensating,
                    "at": last.transition.at.isoformat(),
                    "disarm": chain_disarm,
                }
            )
            for k, i in enumerate(group):
                a = appends[i]
                t = a.transition
                transitions.append(_transition_params(a.workflow, a.instance_id, t, tokens[i]))
                work.extend(
                    {"wf": a.workflow, "id": a.instance_id, "seq": t.seq, **_work_row(w)}
                    for w in a.work
                )
                if not any(disarms[k + 1 :]):
                    armed.extend(
                        {
                            "wf": a.workflow,
                            "id": a.instance_id,
                            "seq": t.seq,
                            "idx": tm.index,
                            "state": tm.state,
                            "target": tm.target,
                            "after_ms": tm.after_ms,
                            "due": tm.due,
                        }
                        for tm in a.timers
                    )
        params: dict[str, Any] = {
            "n": len(heads),
            "chains": json.dumps(heads),
            "transitions": json.dumps(transitions),
        }
        if work:
            params["work"] = json.dumps(work)
        if armed:
            params.update(timers=json.dumps(armed), channel=CHANNEL, schema=self.schema)
        if spent:
            params["spent_n"] = len(spent)
            params["spent"] = json.dumps(
                [
                    {"wf": t.workflow, "id": t.instance_id, "seq": t.seq, "idx": t.index}
                    for t in spent
                ]
            )
        flags = (bool(work), bool(armed), any_disarm, bool(spent))
        name = "batch" + "".join(f"_{int(f)}" for f in flags)
        query = self._sql.get(name)
        if query is None:
            query = self._sql[name] = _batch_statement(*flags).replace("{s}", self._quoted)
        return params, query

    def _unwritten(self, conn: Connection[Any], a: Append, params: dict[str, Any]) -> Outcome:
        """Why an append's statement wrote no instance row: ``None`` when an
        earlier attempt of this very call wrote it, else the error."""
        written = conn.execute(self._sql["written"], params).fetchone()
        if written is None or not written[0]:
            return UnknownInstance(a.workflow, a.instance_id)
        if str(written[1]) == params["token"]:
            return None
        return VersionConflict(a.workflow, a.instance_id, a.transition.seq - 1)

    def _append_one_by_one(
        self,
        conn: Connection[Any],
        appends: Sequence[Append],
        tokens: Sequence[str],
        groups: Sequence[list[int]],
        spent: Sequence[Timer],
    ) -> list[Outcome]:
        """:meth:`append_many` the slow way, inside the caller's transaction,
        each append (:meth:`append`'s statement) under a savepoint: for a batch
        in which a key was taken by a concurrent send, so that the other
        appends are written all the same."""
        pg = self._pg
        out: list[Outcome] = [None] * len(appends)
        for group in groups:
            failed = False
            for i in group:
                a = appends[i]
                if failed:
                    out[i] = skipped(a)
                    continue
                params = _transition_params(a.workflow, a.instance_id, a.transition, tokens[i])
                params["compensating"] = a.compensating
                if a.work:
                    params.update(_work_params(a.work))
                if a.timers:
                    params.update(_timer_params(self.schema, a.workflow, a.timers))
                query = self._sql[_write_name("append", a.work, a.timers, kept=not a.disarm)]
                conn.execute("SAVEPOINT wfdsl_append")
                try:
                    count = _count(conn.execute(query, params).fetchone())
                except pg.errors.UniqueViolation:
                    conn.execute("ROLLBACK TO SAVEPOINT wfdsl_append")
                    out[i] = VersionConflict(a.workflow, a.instance_id, a.transition.seq - 1)
                    failed = True
                    continue
                conn.execute("RELEASE SAVEPOINT wfdsl_append")
                if count != 1:
                    out[i] = self._unwritten(conn, a, params)
                    failed = out[i] is not None
        if spent:
            rows = [
                {"wf": t.workflow, "id": t.instance_id, "seq": t.seq, "idx": t.index} for t in spent
            ]
            query = f"DELETE FROM {self._quoted}.wf_timers WHERE {_TIMER_KEY}"
            conn.cursor().executemany(query, rows)
        return out

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
        params = {
            "wf": workflow,
            "id": instance_id,
            "owner": owner,
            "proof": proof,
            "now": float(now),
            "until": float(until),
            "limit": limit,
        }
        query = self._sql["claim_any" if instance_id is None else "claim_one"]

        def op(conn: Connection[Any]) -> list[WorkItem]:
            return [work_from_row(r) for r in conn.execute(query, params)]

        claimed: dict[tuple[str, str, int, int], WorkItem] = {}
        for _ in range(3):
            # A statement whose snapshot predates a rival's claim can pick that
            # rival's instances, lock them once the rival commits, and then see in
            # the final re-check that their work is taken: it returns short though
            # other work is free. A fresh statement (a fresh snapshot) finds it.
            fresh = [w for w in self._call("claim work", op) if w.ident not in claimed]
            claimed.update((w.ident, w) for w in fresh)
            if not fresh or len(claimed) >= limit or instance_id is not None:
                break
        items = sorted(claimed.values(), key=lambda w: (w.instance_id, w.seq, w.idx))
        return items[:limit]

    def complete(self, items: Sequence[WorkItem]) -> None:
        if not items:
            if self._closed:
                raise StoreError("the store is closed")
            return
        by_transition: dict[tuple[str, str, int], list[int]] = {}
        for w in items:
            by_transition.setdefault((w.workflow, w.instance_id, w.seq), []).append(w.idx)
        query = self._sql["complete"]

        def op(conn: Connection[Any]) -> None:
            for (wf, iid, seq), idx in by_transition.items():
                # An array literal of ints: cheaper to send than a list psycopg adapts.
                literal = "{" + ",".join(map(str, idx)) + "}"
                conn.execute(query, {"wf": wf, "id": iid, "seq": seq, "idx": literal})

        self._call("mark work done", op)

    def begin(self, item: WorkItem) -> None:
        params = {
            "wf": item.workflow,
            "id": item.instance_id,
            "seq": item.seq,
            "idx": item.idx,
            "token": str(uuid.uuid4()),
        }
        query = self._sql["begin"]

        def op(conn: Connection[Any]) -> None:
            conn.execute(query, params)

        self._call("count an attempt", op)

    def fail(self, item: WorkItem, error: str, *, dead: bool, begun: bool = False) -> None:
        params = {
            "add": 0 if begun else 1,
            "wf": item.workflow,
            "id": item.instance_id,
            "seq": item.seq,
            "idx": item.idx,
            "error": error,
            "status": WorkStatus.DEAD.value if dead else WorkStatus.PENDING.value,
            "token": str(uuid.uuid4()),
            "proof": item.lease_proof,
        }

        def op(conn: Connection[Any]) -> None:
            with conn.transaction():
                conn.execute(self._sql["fail"], params)
                if item.lease_proof is not None:
                    conn.execute(self._sql["release_holder"], params)

        self._call("record a failed hook", op, write=True)

    def revive(self, workflow: str, instance_id: str) -> int:
        params = {"wf": workflow, "id": instance_id, "token": str(uuid.uuid4())}

        def op(conn: Connection[Any]) -> int:
            row = conn.execute(self._sql["revive"], params).fetchone()
            return int(row[0]) if row else 0

        return self._call("revive dead work", op, write=True)

    # -- timers -------------------------------------------------------------------

    def timers(
        self,
        workflow: str | None = None,
        *,
        instance_id: str | None = None,
        due_by: int | None = None,
    ) -> list[Timer]:
        if not storable(workflow, instance_id):
            return []  # never stored, so nothing armed
        where: list[str] = []
        params: dict[str, Any] = {}
        for column, value in (
            ("workflow", workflow),
            ("instance_id", instance_id),
            ("due", due_by),
        ):
            if value is not None:
                where.append(f"{column} {'<=' if column == 'due' else '='} %({column})s")
                params[column] = value
        query = f"SELECT {_TIMER_COLUMNS} FROM {self._quoted}.wf_timers"
        if where:
            query += " WHERE " + " AND ".join(where)
        query += " ORDER BY due, workflow, instance_id, seq, idx"
        return [timer_from_row(r) for r in self._fetch("list armed timers", query, params)]

    def load_armed(
        self, workflow: str, instance_id: str
    ) -> tuple[InstanceRecord, list[Timer]] | None:
        if not storable(workflow, instance_id):
            return None
        load, armed = self._sql["load"], self._sql["instance_timers"]

        def op(conn: Connection[Any]) -> tuple[InstanceRecord, list[Timer]] | None:
            # Both statements go out before either answer comes back.
            with conn.pipeline():
                first = conn.execute(load, (workflow, instance_id))
                second = conn.execute(armed, (workflow, instance_id))
            row = first.fetchone()
            timers = [timer_from_row(r) for r in second.fetchall()]
            return None if row is None else (instance_from_row(row), timers)

        return self._call("load an instance and its timers", op)

    def next_due(self, workflow: str, *, after: int | None = None) -> int | None:
        if not storable(workflow):
            return None
        query = f"SELECT min(due) FROM {self._quoted}.wf_timers WHERE workflow = %(wf)s"
        if after is not None:
            query += " AND due > %(after)s"
        rows = self._fetch("find the next due timer", query, {"wf": workflow, "after": after})
        due: int | None = rows[0][0] if rows else None
        return None if due is None else int(due)

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
        params = {
            "wf": workflow,
            "due": due_by,
            "owner": owner,
            "proof": proof,
            "now": float(now),
            "until": float(until),
            "limit": limit,
        }
        query = self._sql["claim_timers"]

        def op(conn: Connection[Any]) -> list[Timer]:
            return [timer_from_row(r) for r in conn.execute(query, params)]

        claimed = self._call("claim due timers", op)
        claimed.sort(key=lambda t: (t.due, t.instance_id, t.seq, t.index))
        return claimed

    def disarm(self, timers: Sequence[Timer]) -> None:
        if self._closed:
            raise StoreError("the store is closed")
        if not timers:
            return
        query = f"DELETE FROM {self._quoted}.wf_timers WHERE {_TIMER_KEY}"
        rows = [
            {"wf": t.workflow, "id": t.instance_id, "seq": t.seq, "idx": t.index} for t in timers
        ]

        def op(conn: Connection[Any]) -> None:
            with conn.transaction():
                conn.cursor().executemany(query, rows)

        self._call("disarm spent timers", op, write=True)

    def release_timers(self, timers: Sequence[Timer], *, until: float | None = None) -> None:
        held = [t for t in timers if t.lease_proof is not None]
        if not held:
            return
        # A lease without proof (``until``) is free only once it expires.
        owner = "NULL" if until is None else "lease_owner"
        query = (
            f"UPDATE {self._quoted}.wf_timers SET lease_owner = {owner}, "
            f"lease_until = %(until)s, lease_proof = NULL{_ASYNC_COMMIT} "
            f"WHERE {_TIMER_KEY} AND lease_proof = %(proof)s"
        )
        rows = [
            {
                "wf": t.workflow,
                "id": t.instance_id,
                "seq": t.seq,
                "idx": t.index,
                "proof": t.lease_proof,
                "until": until,
            }
            for t in held
        ]

        def op(conn: Connection[Any]) -> None:
            conn.cursor().executemany(query, rows)

        self._call("release claimed timers", op)

    def listen(self, workflows: Sequence[str]) -> TimerListener:
        if self._closed:
            raise StoreError("the store is closed")
        return _Listener(self, workflows)

    def close(self) -> None:
        """Close the connection pool and end the worker's session (idempotent)."""
        if not self._closed:
            self._closed = True
            if self._generation != process.GENERATION:
                return  # a forked child: the pool and the session are the parent's
            self._presence.close()
            self._pool.close()

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Listener:
    """``LISTEN``s on :data:`CHANNEL` on a connection of its own and wakes for
    timers of its workflows armed in its store's schema by any process."""

    def __init__(self, store: PostgresStore, workflows: Sequence[str]) -> None:
        self._store = store
        self._workflows = frozenset(workflows)
        self._conn: Connection[Any] | None = None
        self._closed = False

    def _connect(self) -> Connection[Any]:
        store = self._store
        try:
            options = {**store._kwargs, "autocommit": True}  # LISTEN hears between transactions
            conn: Connection[Any] = store._pg.connect(store._dsn, **options)
            conn.execute(f"LISTEN {CHANNEL}")
        except store._pg.Error as exc:
            raise StoreError(
                f"PostgreSQL at {store._where}: cannot listen for timers: {str(exc).strip()}"
            ) from exc
        return conn

    def _heard(self, payload: bytes, sooner_than: int | None) -> bool:
        try:
            schema, workflow, due = json.loads(payload)
        except (ValueError, TypeError):
            return False
        return (
            schema == self._store.schema
            and workflow in self._workflows
            and (sooner_than is None or int(due) < sooner_than)
        )

    def wait(self, timeout: float, *, sooner_than: int | None = None) -> bool:
        """See :class:`~wfdsl.stores.base.TimerListener`. A lost connection wakes
        the caller (it may have missed a notification) and is opened again on
        the next call."""
        if self._closed:
            raise StoreError("the listener is closed")
        deadline = time.monotonic() + max(0.0, timeout)
        conn = self._conn
        if conn is None:
            conn = self._conn = self._connect()
        pgconn = conn.pgconn
        try:
            while True:
                while (note := pgconn.notifies()) is not None:
                    if self._heard(note.extra, sooner_than):
                        return True
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                ready, _, _ = select.select([conn.fileno()], [], [], left)
                if ready:
                    pgconn.consume_input()
                    if pgconn.status != 0:  # CONNECTION_OK
                        raise OSError("connection lost")
        except (OSError, self._store._pg.Error):
            self._drop()
            return True

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    def close(self) -> None:
        self._closed = True
        self._drop()
