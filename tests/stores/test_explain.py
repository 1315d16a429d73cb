"""Costs that do not grow with the store: every statement on a hot path is
read along the index meant for it, on SQLite and on PostgreSQL.

The statements are the ones the stores really run: a manager drives every hot
operation (start, send, a send with an idempotency key, a send to an instance
owing hook work, a failing hook, retry, an idle ``resume()``, a ``resume()``
with work owed and a compensation to carry on, timers: next due, claiming and
firing them) on a store holding many instances and one long history, and each
statement it ran is explained:

* SQLite: ``EXPLAIN QUERY PLAN``, with and without ``ANALYZE`` statistics
  (which, counting one row per instance key, make the primary key look better
  than the partial indexes): no full ``SCAN`` of a table, and the intended index.
* PostgreSQL: ``EXPLAIN (FORMAT JSON)`` after ``ANALYZE``, with
  ``enable_seqscan`` off (a sequential scan is then chosen only where no index
  can serve): no ``Seq Scan`` of a wfdsl table, no index walked without a
  condition (except the partial open-work index, which holds only open work),
  and the intended index.

It also covers what these plans rely on: the reads by sequence number and the
owed-work probe (on every backend), and the schema migration that adds the
indexes to an older database (never by a read-only open).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import wfdsl
from wfdsl import Manager
from wfdsl.errors import HookFailed, StoreError, WorkDead
from wfdsl.stores.base import Store
from wfdsl.stores.records import Transition, TransitionKind
from wfdsl.stores.sqlite import MIGRATIONS, SCHEMA_VERSION, SQLiteStore

from .test_conformance import AT, WF, start

if TYPE_CHECKING:
    from pgtest import Postgres  # the ``postgres`` fixture (tests/pgtest.py)

SPEC = """workflow scan {
    initial state a {
        enter h
        compensate undo
    }
    state b {
        enter h
        compensate undo
    }
    state c {
        enter h
        compensate undo
    }
    event go
    a -> b on go
    b -> c on go
    c -> a on go
    b -> a after 1m
}"""
T0 = datetime(2026, 1, 1, tzinfo=UTC)

#: Instances in the store besides those the scenario uses, and the length of
#: the long history (a thousand each: enough for a wrong plan to be chosen).
MANY = 1000
DEEP = 1000


class Hooks:
    """``h`` and ``undo``, each failing while its name is in ``failing``."""

    def __init__(self) -> None:
        self.failing: set[str] = set()

    def h(self, ctx: object) -> None:
        if "h" in self.failing:
            raise RuntimeError("h is down")

    def undo(self, ctx: object) -> None:
        if "undo" in self.failing:
            raise RuntimeError("undo is down")


def fill(store: Store) -> None:
    """:data:`MANY` instances in ``b`` with their hooks done and a timer armed
    (due long after the scenario's), and ``deep`` with :data:`DEEP`
    transitions, each hook done."""
    later = T0 + timedelta(days=30)
    mgr = Manager(wfdsl.loads(SPEC), store, hooks=Hooks(), clock=lambda: later)
    for i in range(MANY):
        mgr.start(f"bulk{i:05}")
        mgr.send(f"bulk{i:05}", "go")
    mgr.start("deep")
    for _ in range(DEEP - 1):
        mgr.send("deep", "go")


def exercise(store: Store) -> None:
    """Every hot operation, on ``store`` as :func:`fill` left it."""
    hooks = Hooks()
    clock = [T0]
    mgr = Manager(
        wfdsl.loads(SPEC), store, hooks=hooks, clock=lambda: clock[0], max_attempts=2, wait=0
    )
    assert mgr.resume().ok  # idle: the probe alone
    mgr.start("s1")
    mgr.send("s1", "go", key="k1")  # load, find_key, append (arming a timer), complete
    mgr.send("s1", "go", key="k1")  # replayed: found by its key
    # A send to an instance owing a hook (the long one): claim, the owed
    # transition, complete, then the event.
    hooks.failing = {"h"}
    with pytest.raises(HookFailed):
        mgr.send("deep", "go")
    hooks.failing = set()
    mgr.send("deep", "go")
    # Dead work, revived by retry.
    hooks.failing = {"h"}
    with pytest.raises(HookFailed):
        mgr.send("s1", "go")
    with pytest.raises(HookFailed):
        mgr.retry("s1")
    with pytest.raises(WorkDead):
        mgr.send("s1", "go")
    hooks.failing = set()
    mgr.retry("s1")
    # resume() with work owed, dead work and a compensation to carry on.
    mgr.start("s2")
    mgr.send("s2", "go")
    mgr.send("s2", "go")  # in c: two steps back to a, the first left unfinished
    hooks.failing = {"undo"}
    with pytest.raises(HookFailed):
        mgr.compensate("s2", "a")
    mgr.start("s3")
    hooks.failing = {"h"}
    with pytest.raises(HookFailed):
        mgr.send("s1", "go")
    with pytest.raises(HookFailed):
        mgr.send("s3", "go")
    with pytest.raises(HookFailed):
        mgr.send("s3", "go")  # its second attempt: dead now
    hooks.failing = set()
    report = mgr.resume()
    assert report.compensated == ["s2"] and report.dead == ["s3"], report
    # Timers: the next due, then firing the due ones.
    mgr.start("t1")
    mgr.send("t1", "go")
    assert mgr.next_due() is not None
    clock[0] = T0 + timedelta(days=1)
    assert mgr.fire_due().fired


# -- SQLite ---------------------------------------------------------------------------------

WORK_KEY = r"PRIMARY KEY \(workflow=\? AND instance_id=\? AND seq=\? AND idx=\?\)"

#: What each statement must be read along: (a pattern the statement matches,
#: a pattern every matching plan must contain).
SQLITE_INTENDED = [
    (r"FROM wf_instances i WHERE i\.workflow = '[^']*' AND i\.instance_id =", r"PRIMARY KEY"),
    (r"AND key = ", r"INDEX wf_transitions_key \(workflow=\? AND instance_id=\? AND key=\?\)"),
    (r"FROM main\.wf_work .*status <> 'done' ORDER BY seq", r"INDEX wf_work_open"),
    (r"FROM wf_work INDEXED BY wf_work_open WHERE workflow", r"INDEX wf_work_open"),
    (r"seq IN \(", r"PRIMARY KEY \(workflow=\? AND instance_id=\? AND seq=\?\)"),
    (
        r"SELECT EXISTS",
        r"INDEX wf_work_open \(workflow=\?\).*INDEX wf_instances_compensating \(workflow=\?\)",
    ),
    (r"fingerprint <", r"INDEX wf_instances_fingerprint \(workflow=\? AND fingerprint<\?\)"),
    (r"compensating IS NOT NULL ORDER BY", r"INDEX wf_instances_compensating"),
    (
        r"IN \(SELECT workflow, instance_id\s+FROM wf_work INDEXED BY wf_work_open WHERE workflow =",
        r"LIST SUBQUERY.*SEARCH wf_work USING INDEX wf_work_open \(workflow=\?\)",
    ),
    (r"min\(due\) FROM wf_timers WHERE workflow", r"INDEX wf_timers_due"),
    (r"FROM wf_timers INDEXED BY wf_timers_due", r"INDEX wf_timers_due \(workflow=\? AND due<\?\)"),
    (r"^UPDATE wf_work INDEXED BY", r"INDEX wf_work_open \(workflow=\? AND instance_id=\?\)"),
    (r"^UPDATE wf_work SET", WORK_KEY),
    (r"^UPDATE wf_instances SET", r"PRIMARY KEY \(workflow=\? AND instance_id=\?\)"),
    (r"^DELETE FROM wf_timers", r"PRIMARY KEY \(workflow=\? AND instance_id=\?\)"),
    (r"^UPDATE wf_timers SET", WORK_KEY),
    (r"FROM wf_timers WHERE workflow = '[^']*' AND instance_id = ", r"PRIMARY KEY"),
]


def sqlite_plan(conn: sqlite3.Connection, statement: str) -> str:
    rows = conn.execute("EXPLAIN QUERY PLAN " + statement).fetchall()
    return "\n".join(str(r[3]) for r in rows)


def sqlite_statements(path: Path) -> list[str]:
    """The statements (with their values) the store ran for :func:`exercise`."""
    seen: list[str] = []
    with SQLiteStore(str(path)) as store:
        store._conn.set_trace_callback(seen.append)
        exercise(store)
        store._conn.set_trace_callback(None)
    kept: dict[str, None] = {}
    for statement in seen:
        if re.match(r"\s*(SELECT|UPDATE|DELETE|INSERT|WITH)", statement, re.IGNORECASE):
            kept.setdefault(statement)
    return list(kept)


@pytest.fixture(scope="module")
def sqlite_filled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("explain") / "filled.db"
    with SQLiteStore(str(path), synchronous="OFF") as store:
        fill(store)
    return path


@pytest.mark.parametrize("analyzed", [False, True], ids=["no-statistics", "analyzed"])
def test_every_hot_statement_on_sqlite_reads_along_its_index(
    sqlite_filled: Path, tmp_path: Path, analyzed: bool
) -> None:
    path = tmp_path / "explain.db"
    source = sqlite3.connect(sqlite_filled)
    target = sqlite3.connect(path)
    source.backup(target)
    source.close()
    if analyzed:
        target.execute("ANALYZE")
        target.commit()
    target.close()
    statements = sqlite_statements(path)
    conn = sqlite3.connect(path)
    matched = [0] * len(SQLITE_INTENDED)
    problems: list[str] = []
    for statement in statements:
        plan = sqlite_plan(conn, statement)
        if re.search(r"^SCAN (?!CONSTANT ROW)", plan, re.M):
            problems.append(f"full scan:\n  {statement}\n  {plan}")
        for n, (pattern, wanted) in enumerate(SQLITE_INTENDED):
            if re.search(pattern, statement, re.S):
                matched[n] += 1
                if not re.search(wanted, plan, re.S):
                    problems.append(f"not along {wanted!r}:\n  {statement}\n  {plan}")
    conn.close()
    assert not problems, "\n".join(problems)
    # Every kind of statement was seen: the scenario still reaches them all.
    missing = [SQLITE_INTENDED[n][0] for n, count in enumerate(matched) if not count]
    assert not missing, missing


# -- PostgreSQL -----------------------------------------------------------------------------

#: As :data:`SQLITE_INTENDED`, for PostgreSQL: (a pattern the statement
#: matches, an index its plan must use).
PG_INTENDED = [
    (r"WHERE i\.workflow = %s AND i\.instance_id = %s", "wf_instances_pkey"),
    (r"AND key = %\(key\)s", "wf_transitions_key"),
    (
        r"FROM \S+\.wf_work\s+WHERE workflow = %\(wf\)s AND instance_id = %\(id\)s AND status <> 'done' ORDER BY",
        "wf_work_open",
    ),
    (r"seq IN \(", "wf_transitions_pkey"),
    (r"SELECT EXISTS \(SELECT 1 FROM \S+\.wf_work", "wf_work_open"),
    (r"SELECT EXISTS \(SELECT 1 FROM \S+\.wf_work", "wf_instances_compensating"),
    (r"fingerprint <", "wf_instances_fingerprint"),
    (r"i\.compensating IS NOT NULL ORDER BY", "wf_instances_compensating"),
    (r"FOR NO KEY UPDATE OF i SKIP LOCKED", "wf_work_open"),
    (r"SET status = 'done'", "wf_work_open"),
    (r"SELECT min\(due\) FROM", "wf_timers_due"),
    (r"FOR UPDATE OF t SKIP LOCKED", "wf_timers_due"),
    (r"UPDATE \S+\.wf_instances\s+SET state", "wf_instances_pkey"),
    # Batches (:func:`exercise_batches`): a probe per instance, whatever the statistics.
    (r"AS x\(id\)\s+CROSS JOIN LATERAL", "wf_instances_pkey"),
    (r"FROM h\s+WHERE i\.workflow = h\.wf", "wf_instances_pkey"),
    (r"DELETE FROM \S+\.wf_timers x USING gate", "wf_timers_pkey"),
    (r"LIMIT %\(spent_n\)s", "wf_timers_pkey"),
]


def exercise_batches(store: Store) -> None:
    """What PostgreSQL runs for batches besides: ``send_many`` (one read of
    its instances; one statement writing their transitions with the hook work
    and the timers they owe, and one removing the timers of the states they
    leave) and spent timers removed with a batch (as ``fire_due`` does)."""
    mgr = Manager(wfdsl.loads(SPEC), store, hooks=Hooks(), clock=lambda: T0)
    ids = [f"m{i}" for i in range(3)]
    for iid in ids:
        mgr.start(iid)
    for _ in range(2):  # a -> b arms a timer, b -> c removes it
        results = mgr.send_many([(iid, "go") for iid in ids])
        assert all(isinstance(r, Transition) for r in results), results
    mgr.start("m9")
    mgr.send("m9", "go")
    armed = store.timers("scan", instance_id="m9")
    assert armed
    assert store.append_many([], disarm=armed) == []
    assert not store.timers("scan", instance_id="m9")


class Recorder:
    """The statements a store's pooled connection runs, with their parameters."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, Any]] = []

    def cursor_class(self) -> type[Any]:
        import psycopg

        seen = self.seen

        class Recording(psycopg.Cursor[Any]):
            def execute(self, query: Any, params: Any = None, **kw: Any) -> Any:
                seen.append((str(query), params))
                return super().execute(query, params, **kw)

            def executemany(self, query: Any, params_seq: Any, **kw: Any) -> Any:
                rows = list(params_seq)
                if rows:
                    seen.append((str(query), rows[0]))
                return super().executemany(query, rows, **kw)

        return Recording


def pg_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from pg_nodes(child)


def pg_problems(nodes: list[dict[str, Any]]) -> list[str]:
    """Sequential scans of wfdsl tables, and indexes walked without a
    condition (other than the open-work index, which holds only open work)."""
    found = []
    for node in nodes:
        relation = str(node.get("Relation Name", ""))
        kind = node["Node Type"]
        if kind == "Seq Scan" and relation.startswith("wf_"):
            found.append(f"Seq Scan on {relation}")
        if (
            kind in ("Index Scan", "Index Only Scan", "Bitmap Index Scan")
            and "Index Cond" not in node
            and node.get("Index Name") != "wf_work_open"
        ):
            found.append(f"{kind} of {node.get('Index Name')} without a condition")
    return found


@pytest.mark.postgres
def test_every_hot_statement_on_postgresql_reads_along_its_index(
    postgres: Postgres, pg_schema: str
) -> None:
    with postgres.store(pg_schema, application_name=pg_schema) as store:
        fill(store)
    with postgres.connect() as conn:
        for table in ("wf_instances", "wf_transitions", "wf_work", "wf_timers"):
            conn.execute(f'ANALYZE "{pg_schema}".{table}')
    recorder = Recorder()
    store = postgres.store(pg_schema, application_name=pg_schema, min_size=1, max_size=1)
    try:
        with store._pool.connection() as conn:  # the pool's one connection
            conn.cursor_factory = recorder.cursor_class()
        exercise(store)
        exercise_batches(store)
    finally:
        store.close()
    statements = {q: p for q, p in recorder.seen if not q.lstrip().upper().startswith("SELECT 1")}
    assert statements
    matched = [0] * len(PG_INTENDED)
    problems: list[str] = []
    with postgres.connect() as conn:
        for query, params in statements.items():
            with conn.transaction(force_rollback=True):
                conn.execute("SET LOCAL enable_seqscan = off")
                ((plan,),) = conn.execute("EXPLAIN (FORMAT JSON) " + query, params).fetchall()
            nodes = list(pg_nodes(plan[0]["Plan"]))
            found = pg_problems(nodes)
            indexes = {str(node.get("Index Name")) for node in nodes}
            for n, (pattern, index) in enumerate(PG_INTENDED):
                if re.search(pattern, query, re.S):
                    matched[n] += 1
                    if index not in indexes:
                        found.append(f"not along {index} (used: {sorted(indexes - {'None'})})")
            if found:
                problems.append(f"{'; '.join(found)}:\n  {' '.join(query.split())}")
    assert not problems, "\n".join(problems)
    missing = [PG_INTENDED[n][0] for n, count in enumerate(matched) if not count]
    assert not missing, missing


# -- what the plans rely on, on every backend ----------------------------------------------


def test_transitions_reads_those_asked_for_in_seq_order(store: Store) -> None:
    start(store, "o-1")
    for seq in range(2, 6):
        move = Transition(seq, TransitionKind.EVENT, "created", "created", "e", None, {}, AT)
        store.append(WF, "o-1", move, (), compensating=None)
    got = store.transitions(WF, "o-1", [5, 2, 99, 2])
    assert [t.seq for t in got] == [2, 5]
    assert got == [t for t in store.history(WF, "o-1") if t.seq in (2, 5)]
    assert store.transitions(WF, "o-1", []) == []
    assert store.transitions(WF, "nobody", [1]) == []
    many = store.transitions(WF, "o-1", range(1, 1200))  # more than one statement's worth
    assert [t.seq for t in many] == [1, 2, 3, 4, 5]


def test_anything_owed_sees_open_work_and_compensations_of_its_workflow_only(
    store: Store,
) -> None:
    assert not store.anything_owed(WF)
    start(store, "done")  # no work
    start(store, "other", wf="elsewhere", hooks=("h",))
    assert not store.anything_owed(WF)
    assert store.anything_owed("elsewhere")
    start(store, "owes", hooks=("h",))
    assert store.anything_owed(WF)
    (item,) = store.pending_work(WF, "owes")
    store.fail(item, "boom", dead=True)
    assert store.anything_owed(WF)  # dead work is owed too
    store.revive(WF, "owes")
    (item,) = store.pending_work(WF, "owes")
    store.complete([item])
    assert not store.anything_owed(WF)
    back = Transition(2, TransitionKind.COMPENSATE, "created", "created", None, None, {}, AT)
    store.append(WF, "done", back, (), compensating="created")
    assert store.anything_owed(WF)
    again = Transition(3, TransitionKind.COMPENSATE, "created", "created", None, None, {}, AT)
    store.append(WF, "done", again, (), compensating=None)
    assert not store.anything_owed(WF)


def test_an_idle_resume_reports_nothing_even_with_instances_of_another_spec(
    store: Store,
) -> None:
    start(store, "old", wf="scan", fp="an older spec")
    mgr = Manager(wfdsl.loads(SPEC), store, hooks=Hooks(), clock=lambda: T0)
    assert store.other_fingerprints("scan", mgr.fingerprint) == ["old"]
    report = mgr.resume()
    assert report.ok and not report.spec_changed


# -- the indexes arrive by migration ----------------------------------------------------------


def sqlite_indexes(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'").fetchall()
        return {r[0] for r in rows}
    finally:
        conn.close()


def version_3_file(path: Path) -> None:
    conn = sqlite3.connect(path)
    for version in MIGRATIONS[:3]:
        for statement in version:
            conn.execute(statement)
    conn.execute(
        "INSERT INTO wf_instances VALUES ('order', 'old', 'created', 1, 'fp', 'created', 0, 0, "
        "'2026-01-02T03:04:05+00:00', '2026-01-02T03:04:05+00:00')"
    )
    conn.execute("PRAGMA user_version = 3")
    conn.commit()
    conn.close()


def test_a_sqlite_file_of_schema_version_3_gains_the_indexes_and_keeps_its_instances(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v3.db"
    version_3_file(path)
    with SQLiteStore(str(path)) as store:
        assert store.schema_version == SCHEMA_VERSION == 5
        assert [r.instance_id for r in store.instances(WF, compensating_only=True)] == ["old"]
        assert store.anything_owed(WF)
        assert store.other_fingerprints(WF, "fp") == []
        assert store.other_fingerprints(WF, "new") == ["old"]
    assert {"wf_instances_fingerprint", "wf_instances_compensating"} <= sqlite_indexes(path)


def test_a_read_only_open_of_a_version_3_file_migrates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "v3.db"
    version_3_file(path)
    before = path.read_bytes()
    with pytest.raises(StoreError, match="schema version 3 is older"):
        SQLiteStore(str(path), readonly=True)
    assert path.read_bytes() == before
    assert "wf_instances_fingerprint" not in sqlite_indexes(path)


@pytest.mark.postgres
def test_a_postgresql_schema_of_version_3_gains_the_indexes_and_keeps_its_instances(
    postgres: Postgres, pg_schema: str
) -> None:
    from wfdsl.stores.postgres import MIGRATIONS as PG_MIGRATIONS
    from wfdsl.stores.postgres import SCHEMA_VERSION as PG_VERSION

    q = f'"{pg_schema}"'
    with postgres.connect() as conn, conn.transaction():
        conn.execute(f"CREATE SCHEMA {q}")
        for version in PG_MIGRATIONS[:3]:
            for statement in version:
                conn.execute(statement.replace("{s}", q))
        conn.execute(f"CREATE TABLE {q}.wf_meta (one boolean PRIMARY KEY, version integer)")
        conn.execute(f"INSERT INTO {q}.wf_meta VALUES (true, 3)")
        conn.execute(
            f"INSERT INTO {q}.wf_instances VALUES "
            "('order', 'old', 'created', 1, 'fp', 'created', %s, %s)",
            (AT.isoformat(), AT.isoformat()),
        )
    with pytest.raises(StoreError, match="schema version 3 is older"):
        postgres.store(pg_schema, readonly=True)
    indexes = "SELECT indexname FROM pg_indexes WHERE schemaname = %s"
    assert "wf_instances_fingerprint" not in {r[0] for r in postgres.query(indexes, pg_schema)}
    with postgres.store(pg_schema) as store:
        assert store.schema_version == PG_VERSION == 4
        assert [r.instance_id for r in store.instances(WF, compensating_only=True)] == ["old"]
        assert store.other_fingerprints(WF, "new") == ["old"]
    found = {r[0] for r in postgres.query(indexes, pg_schema)}
    assert {"wf_instances_fingerprint", "wf_instances_compensating"} <= found
