"""Costs that must not grow with the store, measured side by side in one run.

    python benchmarks/bench_scale.py [--sizes 1000,10000,100000] [--calls 200]
        [--history 10000] [--rounds 25] [--no-postgres]

* **Idle ``resume()``** (nothing owed anywhere) with 1,000, 10,000 and
  100,000 instances of the workflow in the store, on SQLite (WAL) and, when
  ``WFDSL_PG_DSN`` is set, on PostgreSQL:
  the median of ``--calls`` calls (target: <= 1 ms at 100,000 on both).
  Every instance has its ``start`` transition and that transition's
  ``enter`` hook work, done: the tables hold what a store that has run that
  many instances holds. Beside it, ``resume()`` running the one hook that one
  instance owes (the whole path: the probe, claim, run, complete, report).
* **A ``send`` to an instance owing one hook** (its last transition's
  ``enter`` hook failed once and is retried first), with 3 transitions of
  history against 10,000 (``--history``): the median of ``--rounds`` rounds,
  the two taking turns (target: within 1.5x). Each round makes the instance
  owe the hook again with a send whose hook fails (not timed); the 3-transition
  instance is a fresh one each round, the long one gains two transitions a
  round.

On SQLite the stores run at ``synchronous=NORMAL`` (no disk flush per
commit): an idle ``resume()`` commits nothing, so it costs the same at
``FULL``; the other figures would otherwise be mostly a flush (0.2 to 4 ms on
a shared virtual disk, at random), which costs the same at any size and would
hide what does not. On PostgreSQL every commit waits for the server's flush,
as configured.

The instances are bulk-loaded into the store's own tables (as ``start`` and
``send`` would write them, a hundred times faster), then analysed as a
running database would be. Everything is written to a temporary directory and
to PostgreSQL schemas named ``wfdsl_bench_scale_<pid>_...``, dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import wfdsl
from wfdsl import Manager
from wfdsl.errors import HookFailed
from wfdsl.stores.base import Store
from wfdsl.stores.sqlite import SQLiteStore

SPEC = """workflow scale {
    initial state a { enter h }
    event go
    a -> a on go
}"""
WF = "scale"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
AT = T0.isoformat()
TOKEN = "00000000-0000-0000-0000-000000000000"


class Hook:
    """The ``enter`` hook: fails while ``failing`` is set."""

    def __init__(self) -> None:
        self.failing = False

    def __call__(self, ctx: object) -> None:
        if self.failing:
            raise RuntimeError("down")


def manager(store: Store, hook: Hook) -> Manager[str, str]:
    return Manager(wfdsl.loads(SPEC), store, hooks={"h": hook}, clock=lambda: T0)


# -- bulk loading -------------------------------------------------------------------------


def instance_rows(prefix: str, n: int, fingerprint: str) -> Iterator[tuple[Any, ...]]:
    for i in range(n):
        yield (WF, f"{prefix}{i:07}", "a", 1, fingerprint, AT, AT)


def transition_rows(iid: str, count: int) -> Iterator[tuple[Any, ...]]:
    """``count`` transitions of one instance: its start, then ``go`` after ``go``."""
    yield (WF, iid, 1, "start", None, "a", None, "{}", AT)
    for seq in range(2, count + 1):
        yield (WF, iid, seq, "event", "a", "a", "go", "{}", AT)


def work_rows(iid: str, count: int) -> Iterator[tuple[Any, ...]]:
    """The done ``enter`` hook work of each of ``count`` transitions."""
    for seq in range(1, count + 1):
        yield (WF, iid, seq, 0, "h", "enter", "done", 1)


INSERT_INSTANCE = (
    "INSERT INTO {s}wf_instances (workflow, instance_id, state, version, fingerprint, "
    "created_at, updated_at) VALUES ({p})"
)
INSERT_TRANSITION = (
    "INSERT INTO {s}wf_transitions (workflow, instance_id, seq, kind, source, target, event, "
    "data, at{token}) VALUES ({p})"
)
INSERT_WORK = (
    "INSERT INTO {s}wf_work (workflow, instance_id, seq, idx, hook, kind, status, attempts) "
    "VALUES ({p})"
)


def bulk_sqlite(path: str, idle: int, deep: int) -> None:
    """``idle`` instances (``i...``), each with its start and its hook done, and
    one instance ``deep`` with ``deep`` transitions, each with its hook done."""
    fingerprint = wfdsl.loads(SPEC).fingerprint()
    SQLiteStore(path).close()  # the schema, at this wfdsl's version
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("BEGIN")

    def many(template: str, rows: Iterator[tuple[Any, ...]], width: int) -> None:
        sql = template.format(s="", token="", p=",".join("?" * width))
        conn.executemany(sql, rows)

    many(INSERT_INSTANCE, instance_rows("i", idle, fingerprint), 7)
    many(INSERT_TRANSITION, (r for i in range(idle) for r in transition_rows(f"i{i:07}", 1)), 9)
    many(INSERT_WORK, (r for i in range(idle) for r in work_rows(f"i{i:07}", 1)), 8)
    if deep:
        conn.execute(
            "INSERT INTO wf_instances (workflow, instance_id, state, version, fingerprint, "
            "created_at, updated_at) VALUES (?, 'deep', 'a', ?, ?, ?, ?)",
            (WF, deep, fingerprint, AT, AT),
        )
        many(INSERT_TRANSITION, transition_rows("deep", deep), 9)
        many(INSERT_WORK, work_rows("deep", deep), 8)
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def bulk_pg(dsn: str, schema: str, idle: int, deep: int) -> None:
    import psycopg
    from psycopg import sql

    fingerprint = wfdsl.loads(SPEC).fingerprint()
    pg_store(dsn, schema).close()  # the schema, at this wfdsl's version
    s = sql.Identifier(schema)

    def copy(cur: Any, table: str, columns: str, rows: Iterable[tuple[Any, ...]]) -> None:
        statement = sql.SQL("COPY {}.{} (" + columns + ") FROM STDIN").format(
            s, sql.Identifier(table)
        )
        with cur.copy(statement) as out:
            for row in rows:
                out.write_row(row)

    instance_columns = "workflow, instance_id, state, version, fingerprint, created_at, updated_at"
    transition_columns = "workflow, instance_id, seq, kind, source, target, event, data, at, token"
    work_columns = "workflow, instance_id, seq, idx, hook, kind, status, attempts"
    with psycopg.connect(dsn, autocommit=True) as conn, conn.cursor() as cur:
        copy(cur, "wf_instances", instance_columns, instance_rows("i", idle, fingerprint))
        copy(
            cur,
            "wf_transitions",
            transition_columns,
            ((*r, TOKEN) for i in range(idle) for r in transition_rows(f"i{i:07}", 1)),
        )
        copy(
            cur, "wf_work", work_columns, (r for i in range(idle) for r in work_rows(f"i{i:07}", 1))
        )
        if deep:
            copy(
                cur,
                "wf_instances",
                instance_columns,
                [(WF, "deep", "a", deep, fingerprint, AT, AT)],
            )
            copy(
                cur,
                "wf_transitions",
                transition_columns,
                ((*r, TOKEN) for r in transition_rows("deep", deep)),
            )
            copy(cur, "wf_work", work_columns, work_rows("deep", deep))
        for table in ("wf_instances", "wf_transitions", "wf_work", "wf_timers"):
            conn.execute(sql.SQL("VACUUM ANALYZE {}.{}").format(s, sql.Identifier(table)))


def pg_store(dsn: str, schema: str) -> Store:
    from wfdsl.stores.postgres import PostgresStore

    return PostgresStore(dsn, schema=schema)


def drop_schemas(dsn: str, prefix: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(dsn, autocommit=True) as conn:
        names = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s)", (prefix,)
        ).fetchall()
        for (name,) in names:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))


# -- measures -------------------------------------------------------------------------------


def owe(mgr: Manager[str, str], hook: Hook, iid: str) -> None:
    """Make ``iid`` owe one hook: a send whose hook fails (its transition stands)."""
    hook.failing = True
    try:
        mgr.send(iid, "go")
    except HookFailed:
        pass
    else:
        raise AssertionError("the hook should have failed")
    finally:
        hook.failing = False


def idle_resume(store: Store, calls: int) -> tuple[float, float]:
    """Median seconds of ``resume()`` with nothing owed, and of ``resume()``
    running the one hook one instance owes (made to owe it again, untimed,
    before each call: a send whose hook fails)."""
    hook = Hook()
    mgr = manager(store, hook)
    report = mgr.resume()
    assert report.ok and not report.completed, report
    idle = []
    for _ in range(calls):
        t0 = time.perf_counter()
        mgr.resume()
        idle.append(time.perf_counter() - t0)
    mgr.start("owing")
    owed = []
    for _ in range(max(1, calls // 4)):
        owe(mgr, hook, "owing")
        t0 = time.perf_counter()
        report = mgr.resume()
        owed.append(time.perf_counter() - t0)
        assert report.ok and report.completed == [("owing", "h")], report
    return statistics.median(idle), statistics.median(owed)


def owed_send(store: Store, deep: int, rounds: int) -> tuple[float, float]:
    """Median seconds of a ``send`` to an instance owing one hook, with 3
    transitions of history and with about ``deep``: the two take turns."""
    hook = Hook()
    mgr = manager(store, hook)

    def timed(iid: str) -> float:
        before = mgr.instance(iid).version
        t0 = time.perf_counter()
        mgr.send(iid, "go")
        spent = time.perf_counter() - t0
        after = mgr.instance(iid)
        assert after.version == before + 1 and not after.pending, after
        return spent

    shallow: list[float] = []
    long: list[float] = []
    # One round not counted: the first send opens what every later one reuses.
    for r in range(rounds + 1):
        iid = f"s{r:04}"
        mgr.start(iid)
        mgr.send(iid, "go")
        owe(mgr, hook, iid)  # 3 transitions, the last one's hook owed
        owe(mgr, hook, "deep")
        assert mgr.instance(iid).version == 3
        # Alternate which goes first, so that neither always follows the other.
        if r % 2:
            few = timed(iid)
            many = timed("deep")
        else:
            many = timed("deep")
            few = timed(iid)
        if r:
            shallow.append(few)
            long.append(many)
    return statistics.median(shallow), statistics.median(long)


# -- main ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="instances in the store")
    parser.add_argument("--calls", type=int, default=200, help="resume() calls per size")
    parser.add_argument("--history", type=int, default=10_000, help="transitions of the long one")
    parser.add_argument("--rounds", type=int, default=25, help="owed sends per instance")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    dsn = None if args.no_postgres else os.environ.get("WFDSL_PG_DSN")
    prefix = f"wfdsl_bench_scale_{os.getpid()}"
    print(
        f"Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}, {os.cpu_count()} "
        f"cores, load average {os.getloadavg()[0]:.2f} at start, wfdsl from "
        f"{os.path.dirname(wfdsl.__file__)}\n"
    )
    stores: list[tuple[str, Callable[[str, int, int], Store]]] = []

    def sqlite_at(tmp: str) -> Callable[[str, int, int], Store]:
        def make(name: str, idle: int, deep: int) -> Store:
            path = f"{tmp}/{name}.db"
            bulk_sqlite(path, idle, deep)
            return SQLiteStore(path, synchronous="NORMAL")  # see the docstring

        return make

    def pg_at(dsn: str) -> Callable[[str, int, int], Store]:
        def make(name: str, idle: int, deep: int) -> Store:
            schema = f"{prefix}_{name}"
            bulk_pg(dsn, schema, idle, deep)
            return pg_store(dsn, schema)

        return make

    try:
        with tempfile.TemporaryDirectory(prefix="wfdsl-bench-", dir=os.getcwd()) as tmp:
            stores.append(("SQLite", sqlite_at(tmp)))
            if dsn:
                stores.append(("PostgreSQL", pg_at(dsn)))
            else:
                print("(PostgreSQL skipped: set WFDSL_PG_DSN=postgresql://user@host:5432/db)\n")

            print(
                f"resume(): idle (nothing owed; median of {args.calls} calls) and running "
                f"one owed hook (median of {max(1, args.calls // 4)})"
            )
            print(f"{'store':<12} {'instances':>10} {'idle ms':>9} {'one owed ms':>12}")
            idle: dict[tuple[str, int], tuple[float, float]] = {}
            for name, make in stores:
                for size in sizes:
                    store = make(f"idle{size}", size, 0)
                    try:
                        idle[(name, size)] = idle_resume(store, args.calls)
                    finally:
                        store.close()
                    quiet, owed = idle[(name, size)]
                    print(
                        f"{name:<12} {size:>10,} {quiet * 1e3:>9.3f} {owed * 1e3:>12.3f}",
                        flush=True,
                    )
            for name, _ in stores:
                small, large = idle[(name, sizes[0])], idle[(name, sizes[-1])]
                print(
                    f"{name}: {sizes[-1]:,} vs {sizes[0]:,} instances: idle "
                    f"{large[0] / small[0]:.2f}x ({large[0] * 1e3:.3f} ms at {sizes[-1]:,}; "
                    f"target <= 1 ms), one owed {large[1] / small[1]:.2f}x"
                )

            print(
                f"\nsend to an instance owing one hook, 3 vs {args.history:,} transitions of "
                f"history, median of {args.rounds} rounds (in turns)"
            )
            print(f"{'store':<12} {'3 ms':>9} {f'{args.history:,} ms':>11} {'ratio':>7}")
            for name, make in stores:
                store = make("owed", 0, args.history - 1)
                try:
                    few, many = owed_send(store, args.history, args.rounds)
                finally:
                    store.close()
                print(
                    f"{name:<12} {few * 1e3:>9.3f} {many * 1e3:>11.3f} {many / few:>6.2f}x "
                    "(target <= 1.5x)",
                    flush=True,
                )
    finally:
        if dsn:
            drop_schemas(dsn, prefix)


if __name__ == "__main__":
    main()
