"""Timer speed, measured side by side in one run (SPEC §8).

    python benchmarks/bench_timers.py [--timers 600] [--rounds 5] [--warm 5000]
        [--small 1000] [--large 1000000] [--no-postgres]

* **Timers fired per second** on SQLite (WAL, ``synchronous=FULL``), and on
  PostgreSQL when ``WFDSL_PG_DSN`` is set, against the raw transaction doing
  the same work by hand with the same settings: find the due timers along
  the due-time index; for each, read its instance, then in one transaction
  move the instance (version-checked), insert the ``timer`` transition and
  remove the instance's armed timers. ``Manager.fire_due`` adds the claim
  (one statement per batch), the read of the instance's armed timers and the
  manager's own work (target: >= 0.8x raw). The headline is the steady
  state of a long-running worker: one database per variant, armed with
  enough timers for a warm-up and every round, fired until its write-ahead
  log has wrapped and is being reused (``--warm``), then round after round on
  the same databases; the figure on fresh databases (new ones every round,
  the WAL growing) is printed beside it. The variants take turns, one batch
  each, the order flipping every round; medians of the rounds, never the best.
* **Finding the next due timer, and firing one**, with ``--small`` and with
  ``--large`` timers armed (target: the large case within 2x of the small):
  ``Manager.next_due()`` (median of many calls), and ``fire_due(limit=1)``
  firing one due timer among all the others (median). The armed timers are
  bulk-loaded into the store's own tables, with due times spread over a month.
* **Memory of a worker** with ``--small`` and ``--large`` timers armed: a
  fresh process opens the store and runs ``Manager.run_worker(until_idle=True)``
  (a sweep, owed work, firing the due ones); its peak resident set size is
  reported (target: bounded, not growing with the number armed: the worker
  never loads them all).

Everything is written to a temporary directory and to PostgreSQL schemas named
``wfdsl_bench_timers_<pid>_...``, dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_runtime import Rounds, wal_size

import wfdsl
from wfdsl import Manager
from wfdsl.stores.base import Store
from wfdsl.stores.records import epoch_ms
from wfdsl.stores.sqlite import SQLiteStore

SPEC = """workflow wait {
    initial state waiting
    final state done
    waiting -> done after 1m
}"""
T0 = datetime(2026, 1, 1, tzinfo=UTC)
DUE = epoch_ms(T0) + 60_000
LATER = T0 + timedelta(hours=1)
AT = T0.isoformat()
DONE_AT = (T0 + timedelta(minutes=1)).isoformat()
MONTH_MS = 30 * 24 * 3_600_000


def manager(store: Store, clock: datetime = T0) -> Manager[str, str]:
    return Manager(wfdsl.loads(SPEC), store, clock=lambda: clock)


def arm(mgr: Manager[str, str], n: int, prefix: str = "i") -> None:
    for i in range(n):
        mgr.start(f"{prefix}{i:07}")


# -- fired per second: SQLite -----------------------------------------------------------


def sqlite_raw_db(path: str, n: int) -> sqlite3.Connection:
    """The hand-written ceiling's database: ``n`` instances, each with one timer
    due, settled (the WAL checkpointed and emptied)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.executescript(
        """CREATE TABLE instances (workflow TEXT, id TEXT, state TEXT, version INTEGER,
               PRIMARY KEY (workflow, id)) WITHOUT ROWID;
           CREATE TABLE transitions (workflow TEXT, id TEXT, seq INTEGER, kind TEXT,
               source TEXT, target TEXT, key TEXT, at TEXT,
               PRIMARY KEY (workflow, id, seq)) WITHOUT ROWID;
           CREATE UNIQUE INDEX transitions_key ON transitions (workflow, id, key);
           CREATE TABLE timers (workflow TEXT, id TEXT, seq INTEGER, idx INTEGER,
               target TEXT, due INTEGER, PRIMARY KEY (workflow, id, seq, idx)) WITHOUT ROWID;
           CREATE INDEX timers_due ON timers (workflow, due);"""
    )
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO instances VALUES ('wait', ?, 'waiting', 1)", ((f"i{i:07}",) for i in range(n))
    )
    conn.executemany(
        "INSERT INTO timers VALUES ('wait', ?, 1, 0, 'done', ?)",
        ((f"i{i:07}", DUE) for i in range(n)),
    )
    conn.execute("COMMIT")
    settle_sqlite(path)
    return conn


def sqlite_raw(path: str, n: int, *, batched: bool = False) -> Callable[[int], int]:
    """The hand-written ceiling on SQLite; returns ``fire(batch) -> fired``:
    one transaction per timer, or (``batched``, bench_batch.py's ceiling of
    ``fire_due``, which does the same) one for the whole batch."""
    conn = sqlite_raw_db(path, n)
    now = epoch_ms(LATER)

    def fire_one(iid: str, seq: int, idx: int, target: str, state: str, version: int) -> None:
        conn.execute(
            "UPDATE instances SET state = ?, version = ? "
            "WHERE workflow = 'wait' AND id = ? AND version = ?",
            (target, version + 1, iid, version),
        )
        conn.execute(
            "INSERT INTO transitions VALUES ('wait', ?, ?, 'timer', ?, ?, ?, ?)",
            (iid, version + 1, state, target, f"t:{seq}:{idx}", DONE_AT),
        )
        conn.execute("DELETE FROM timers WHERE workflow = 'wait' AND id = ?", (iid,))

    def read(iid: str) -> tuple[str, int]:
        row = conn.execute(
            "SELECT state, version FROM instances WHERE workflow = 'wait' AND id = ?", (iid,)
        ).fetchone()
        return row[0], row[1]

    def fire(batch: int) -> int:
        due = conn.execute(
            "SELECT id, seq, idx, target FROM timers WHERE workflow = 'wait' AND due <= ? "
            "ORDER BY due LIMIT ?",
            (now, batch),
        ).fetchall()
        if batched:
            rows = [read(d[0]) for d in due]
            conn.execute("BEGIN IMMEDIATE")
            for (iid, seq, idx, target), (state, version) in zip(due, rows, strict=True):
                fire_one(iid, seq, idx, target, state, version)
            conn.execute("COMMIT")
            return len(due)
        for iid, seq, idx, target in due:
            state, version = read(iid)
            conn.execute("BEGIN IMMEDIATE")
            fire_one(iid, seq, idx, target, state, version)
            conn.execute("COMMIT")
        return len(due)

    return fire


def settle_sqlite(path: str) -> None:
    """Checkpoint the WAL into the database, as after a quiet moment: both
    variants start firing from the same state of the file, however they were
    filled."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def settle_pg(dsn: str, schema: str) -> None:
    """Vacuum and analyze the schema's tables, for the same reason."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(dsn, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,)
        ).fetchall()
        for (table,) in tables:
            conn.execute(
                sql.SQL("VACUUM ANALYZE {}.{}").format(*map(sql.Identifier, (schema, table)))
            )


def wfdsl_fire(store: Store, n: int, settle: Callable[[], None]) -> Callable[[int], int]:
    arm(manager(store), n)
    settle()
    worker = manager(store, LATER)

    def fire(batch: int) -> int:
        return len(worker.fire_due(limit=batch).fired)

    return fire


def fire_round(
    fires: dict[str, Callable[[int], int]], n: int, batch: int, flip: bool
) -> dict[str, float]:
    """Timers fired per second by each variant firing ``n`` timers, the
    variants taking turns a ``batch`` at a time (``flip`` reverses the turn
    order; alternate it by round)."""
    order = list(fires.items())
    if flip:
        order.reverse()
    spent = dict.fromkeys(fires, 0.0)
    left = dict.fromkeys(fires, n)
    while any(left.values()):
        for name, fire in order:
            if not left[name]:
                continue
            t0 = time.perf_counter()
            done = fire(min(batch, left[name]))
            spent[name] += time.perf_counter() - t0
            assert done, f"{name} fired nothing with {left[name]} left"
            left[name] -= done
    return {name: n / spent[name] for name in fires}


def fresh_rounds(
    make: dict[str, Callable[[int, int], Callable[[int], int]]], n: int, rounds: int, batch: int
) -> Rounds:
    """Every round on new databases holding ``n`` armed timers (settled: the
    WAL checkpointed and emptied), as a short-lived process would see them."""
    out = Rounds()
    for r in range(rounds):
        fires = {name: build(r, n) for name, build in make.items()}
        out.add(fire_round(fires, n, batch, flip=r % 2 == 1))
    return out


def steady_rounds(
    make: dict[str, Callable[[int, int], Callable[[int], int]]],
    n: int,
    rounds: int,
    batch: int,
    warm: int,
    wal: dict[str, str] | None = None,
) -> tuple[Rounds, int]:
    """One database per variant holding enough armed timers for a warm-up and
    every round, fired in a long-running process: first up to ``warm`` timers
    each, until every variant's write-ahead log (paths in ``wal``; SQLite) has
    stopped growing (it wrapped and is being reused), then ``rounds`` rounds
    of ``n`` on the same databases. Returns the rounds and the warm-up size."""
    fires = {name: build(-1, warm + rounds * n) for name, build in make.items()}
    done, steady = 0, 0
    sizes: dict[str, int] = {}
    while done < warm:
        fire_round(fires, batch, batch, flip=False)
        done += batch
        if wal is None:
            continue
        now = {name: wal_size(path) for name, path in wal.items()}
        steady = steady + 1 if now == sizes and all(now.values()) else 0
        sizes = now
        if steady >= 2:
            break
    else:
        if wal is not None:
            raise RuntimeError(f"the WAL still grew after {warm} timers: raise --warm")
    out = Rounds()
    for r in range(rounds):
        out.add(fire_round(fires, n, batch, flip=r % 2 == 1))
    return out, done


# -- fired per second: PostgreSQL ----------------------------------------------------------


def pg_raw(dsn: str, schema: str, n: int) -> Callable[[int], int]:
    """The hand-written transaction on PostgreSQL: read the due timers; per
    timer, read the instance, then BEGIN; UPDATE; INSERT; DELETE; COMMIT."""
    import psycopg
    from psycopg import sql

    conn = psycopg.connect(dsn, autocommit=True)
    s = sql.Identifier(schema)
    for statement in (
        "CREATE SCHEMA {s}",
        "CREATE TABLE {s}.instances (workflow text, id text, state text, version bigint, "
        "PRIMARY KEY (workflow, id))",
        "CREATE TABLE {s}.transitions (workflow text, id text, seq bigint, kind text, "
        "source text, target text, key text, at text, PRIMARY KEY (workflow, id, seq))",
        "CREATE TABLE {s}.timers (workflow text, id text, seq bigint, idx integer, "
        "target text, due bigint, PRIMARY KEY (workflow, id, seq, idx))",
        "CREATE INDEX ON {s}.timers (workflow, due)",
        "CREATE UNIQUE INDEX ON {s}.transitions (workflow, id, key)",
    ):
        conn.execute(sql.SQL(statement).format(s=s))
    with conn.cursor() as cur:
        with cur.copy(sql.SQL("COPY {}.instances FROM STDIN").format(s)) as copy:
            for i in range(n):
                copy.write_row(("wait", f"i{i:07}", "waiting", 1))
        with cur.copy(sql.SQL("COPY {}.timers FROM STDIN").format(s)) as copy:
            for i in range(n):
                copy.write_row(("wait", f"i{i:07}", 1, 0, "done", DUE))
    settle_pg(dsn, schema)
    find = sql.SQL(
        "SELECT id, seq, idx, target FROM {}.timers WHERE workflow = 'wait' AND due <= %s "
        "ORDER BY due LIMIT %s"
    ).format(s)
    read = sql.SQL(
        "SELECT state, version FROM {}.instances WHERE workflow = 'wait' AND id = %s"
    ).format(s)
    move = sql.SQL(
        "UPDATE {}.instances SET state = %s, version = %s "
        "WHERE workflow = 'wait' AND id = %s AND version = %s"
    ).format(s)
    record = sql.SQL(
        "INSERT INTO {}.transitions VALUES ('wait', %s, %s, 'timer', %s, %s, %s, %s)"
    ).format(s)
    disarm = sql.SQL("DELETE FROM {}.timers WHERE workflow = 'wait' AND id = %s").format(s)
    now = epoch_ms(LATER)

    def fire(batch: int) -> int:
        due = conn.execute(find, (now, batch)).fetchall()
        for iid, seq, idx, target in due:
            row = conn.execute(read, (iid,)).fetchone()
            assert row is not None
            state, version = row
            with conn.transaction():
                conn.execute(move, (target, version + 1, iid, version))
                conn.execute(record, (iid, version + 1, state, target, f"t:{seq}:{idx}", DONE_AT))
                conn.execute(disarm, (iid,))
        return len(due)

    return fire


def pg_store(dsn: str, schema: str) -> Store:
    from wfdsl.stores.postgres import PostgresStore

    return PostgresStore(dsn, schema=schema, min_size=1, max_size=1)


def drop_schemas(dsn: str, prefix: str) -> None:
    from bench_postgres import drop_schemas as drop

    drop(dsn, prefix)


# -- flat: next due and firing one, small and large ---------------------------------------


def rows(n: int, fingerprint: str) -> Iterator[tuple[str, int]]:
    """``(instance id, due)`` of ``n`` armed timers spread over a month after T0 + 1 day."""
    start = epoch_ms(T0) + 24 * 3_600_000
    for i in range(n):
        yield f"bulk{i:07}", start + (i * 7_919) % MONTH_MS


def bulk_sqlite(path: str, n: int) -> None:
    """``n`` instances in ``waiting`` with their timer armed, written straight
    into a SQLiteStore's tables (as ``start`` would, a million times faster)."""
    fingerprint = wfdsl.loads(SPEC).fingerprint()
    SQLiteStore(path).close()  # the schema
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("BEGIN")
    data = list(rows(n, fingerprint))
    conn.executemany(
        "INSERT INTO wf_instances (workflow, instance_id, state, version, fingerprint, "
        "created_at, updated_at) VALUES ('wait', ?, 'waiting', 1, ?, ?, ?)",
        ((iid, fingerprint, AT, AT) for iid, _ in data),
    )
    conn.executemany(
        "INSERT INTO wf_transitions (workflow, instance_id, seq, kind, target, data, at) "
        "VALUES ('wait', ?, 1, 'start', 'waiting', '{}', ?)",
        ((iid, AT) for iid, _ in data),
    )
    conn.executemany(
        "INSERT INTO wf_timers (workflow, instance_id, seq, idx, state, target, after_ms, due) "
        "VALUES ('wait', ?, 1, 0, 'waiting', 'done', 60000, ?)",
        data,
    )
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()


def bulk_pg(dsn: str, schema: str, n: int) -> None:
    import psycopg
    from psycopg import sql

    fingerprint = wfdsl.loads(SPEC).fingerprint()
    pg_store(dsn, schema).close()  # the schema
    s = sql.Identifier(schema)
    with psycopg.connect(dsn, autocommit=True) as conn, conn.cursor() as cur:
        data = list(rows(n, fingerprint))
        copy_sql = "COPY {}.wf_instances (workflow, instance_id, state, version, fingerprint, created_at, updated_at) FROM STDIN"
        with cur.copy(sql.SQL(copy_sql).format(s)) as copy:
            for iid, _ in data:
                copy.write_row(("wait", iid, "waiting", 1, fingerprint, AT, AT))
        copy_sql = "COPY {}.wf_transitions (workflow, instance_id, seq, kind, target, data, at, token) FROM STDIN"
        with cur.copy(sql.SQL(copy_sql).format(s)) as copy:
            for iid, _ in data:
                copy.write_row(
                    (
                        "wait",
                        iid,
                        1,
                        "start",
                        "waiting",
                        "{}",
                        AT,
                        "00000000-0000-0000-0000-000000000000",
                    )
                )
        copy_sql = "COPY {}.wf_timers (workflow, instance_id, seq, idx, state, target, after_ms, due) FROM STDIN"
        with cur.copy(sql.SQL(copy_sql).format(s)) as copy:
            for iid, due in data:
                copy.write_row(("wait", iid, 1, 0, "waiting", "done", 60_000, due))
        for table in ("wf_instances", "wf_transitions", "wf_timers"):
            conn.execute(sql.SQL("VACUUM ANALYZE {}.{}").format(s, sql.Identifier(table)))


def flat(store: Store, calls: int) -> tuple[float, float, float]:
    """Median seconds of ``next_due()``, of claiming one due timer among
    everything armed, and of ``fire_due(limit=1)`` firing one."""
    hot = manager(store)
    arm(hot, calls, prefix="hot")  # due at T0 + 1m, before every bulk timer
    worker = manager(store, LATER)
    next_due = []
    for _ in range(calls * 5):
        t0 = time.perf_counter()
        worker.next_due()
        next_due.append(time.perf_counter() - t0)
    me, due_by = store.identity(), epoch_ms(LATER)
    claim = []
    for _ in range(calls):
        t0 = time.perf_counter()
        held = store.claim_timers(
            "wait", due_by=due_by, owner="bench", proof=me, now=0, until=1, limit=1
        )
        claim.append(time.perf_counter() - t0)
        store.release_timers(held)
    fire_one = []
    for _ in range(calls):
        t0 = time.perf_counter()
        fired = worker.fire_due(limit=1).fired
        fire_one.append(time.perf_counter() - t0)
        assert len(fired) == 1
    return statistics.median(next_due), statistics.median(claim), statistics.median(fire_one)


# -- memory of a worker -----------------------------------------------------------------

_WORKER = """
import json, sys
from datetime import datetime, timedelta, UTC
import wfdsl
from wfdsl import Manager
from wfdsl.stores import open_store
spec = wfdsl.loads(sys.argv[2])
store = open_store(sys.argv[1])
later = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=1)
stats = Manager(spec, store, clock=lambda: later).run_worker(until_idle=True)
store.close()
# VmHWM: the peak resident set of this process's own memory (ru_maxrss would
# count the parent's, kept across fork and exec).
hwm = next(l for l in open("/proc/self/status") if l.startswith("VmHWM:")).split()[1]
print(json.dumps({"fired": stats.fired, "rss_kb": int(hwm)}))
"""


def worker_rss(url: str) -> tuple[int, int]:
    """A fresh worker process on ``url`` runs until idle: ``(fired, peak RSS in KiB)``."""
    out = subprocess.run(
        [sys.executable, "-c", _WORKER, url, SPEC], capture_output=True, text=True, check=True
    ).stdout
    result: dict[str, Any] = json.loads(out)
    return int(result["fired"]), int(result["rss_kb"])


# -- main -------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timers", type=int, default=600, help="timers fired per round")
    parser.add_argument(
        "--batch", type=int, default=100, help="timers fired per turn (fire_due's limit)"
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--warm", type=int, default=5000, help="most timers fired before the steady rounds"
    )
    parser.add_argument(
        "--pg-warm",
        type=int,
        default=600,
        help="timers fired before the steady rounds on PostgreSQL",
    )
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=200, help="timers fired one by one")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    dsn = None if args.no_postgres else os.environ.get("WFDSL_PG_DSN")
    prefix = f"wfdsl_bench_timers_{os.getpid()}"
    print(
        f"Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.2f} at start\n"
    )
    try:
        with tempfile.TemporaryDirectory(prefix="wfdsl-bench-", dir=os.getcwd()) as tmp:
            n = args.timers
            sqlite_make: dict[str, Callable[[int, int], Callable[[int], int]]] = {
                "raw sqlite3 transaction": lambda r, k: sqlite_raw(f"{tmp}/raw{r}.db", k),
                "wfdsl fire_due": lambda r, k: wfdsl_fire(
                    SQLiteStore(f"{tmp}/wf{r}.db"), k, lambda: settle_sqlite(f"{tmp}/wf{r}.db")
                ),
            }
            steady, warmed = steady_rounds(
                sqlite_make,
                n,
                args.rounds,
                args.batch,
                args.warm,
                wal={
                    "raw sqlite3 transaction": f"{tmp}/raw-1.db",
                    "wfdsl fire_due": f"{tmp}/wf-1.db",
                },
            )
            fresh = fresh_rounds(sqlite_make, n, args.rounds, args.batch)
            table(
                "Timers fired per second on SQLite (WAL, synchronous=FULL)",
                steady,
                fresh,
                warmed,
                args,
            )
            if dsn:
                pg_make: dict[str, Callable[[int, int], Callable[[int], int]]] = {
                    "raw psycopg transaction": lambda r, k: pg_raw(dsn, f"{prefix}_raw{r + 1}", k),
                    "wfdsl fire_due": lambda r, k: wfdsl_fire(
                        pg_store(dsn, f"{prefix}_wf{r + 1}"),
                        k,
                        lambda: settle_pg(dsn, f"{prefix}_wf{r + 1}"),
                    ),
                }
                steady, warmed = steady_rounds(pg_make, n, args.rounds, args.batch, args.pg_warm)
                fresh = fresh_rounds(pg_make, n, args.rounds, args.batch)
                table("Timers fired per second on PostgreSQL", steady, fresh, warmed, args)

            print(
                f"\nNext due timer and firing one, {args.small:,} vs {args.large:,} armed "
                f"(median; firing one includes its commit)"
            )
            print(
                f"{'store':<12} {'armed':>10} {'next_due µs':>12} {'claim µs':>10} "
                f"{'fire one µs':>12} {'worker peak RSS MiB':>20}"
            )
            figures: dict[tuple[str, int], tuple[float, float, float, int]] = {}
            for size in (args.small, args.large):
                path = f"{tmp}/flat{size}.db"
                bulk_sqlite(path, size)
                fired, rss = worker_rss(path)  # a fresh worker first: RSS of a worker on it
                assert fired == 0
                with SQLiteStore(path) as store:
                    figures[("SQLite", size)] = (*flat(store, args.calls), rss)
                if dsn:
                    schema = f"{prefix}_flat{size}"
                    bulk_pg(dsn, schema, size)
                    url = f"{dsn}{'&' if '?' in dsn else '?'}schema={schema}"
                    fired, rss = worker_rss(url)
                    store = pg_store(dsn, schema)
                    try:
                        figures[("PostgreSQL", size)] = (*flat(store, args.calls), rss)
                    finally:
                        store.close()
            for (name, size), (nd, cl, fo, rss) in sorted(figures.items()):
                print(
                    f"{name:<12} {size:>10,} {nd * 1e6:>12.1f} {cl * 1e6:>10.1f} "
                    f"{fo * 1e6:>12.1f} {rss / 1024:>20.1f}"
                )
            for name in ("SQLite", "PostgreSQL"):
                if (name, args.large) in figures:
                    small, large = figures[(name, args.small)], figures[(name, args.large)]
                    print(
                        f"{name}: large/small next_due {large[0] / small[0]:.2f}x, "
                        f"claim {large[1] / small[1]:.2f}x, fire one {large[2] / small[2]:.2f}x, "
                        f"worker RSS {(large[3] - small[3]) / 1024:+.1f} MiB"
                    )
    finally:
        if dsn:
            drop_schemas(dsn, prefix)


def table(title: str, steady: Rounds, fresh: Rounds, warmed: int, args: argparse.Namespace) -> None:
    print(
        f"\n{title}: medians of {args.rounds} rounds x {args.timers} "
        f"(lockstep, batches of {args.batch})"
    )
    print(
        f"  steady: one long-running process ({warmed} timers fired first"
        + (", the WAL wrapped and reused" if "SQLite" in title else "")
        + "); fresh: new databases every round"
    )
    print(
        f"{'variant':<26} {'steady/s':>9} {'µs/timer':>9} {'vs raw':>7} {'(range)':>11}"
        f" | {'fresh/s':>8} {'µs/timer':>9} {'vs raw':>7}"
    )
    for name in steady.rates:
        s_rate, f_rate = steady.median(name), fresh.median(name)
        ratios = steady.ratios(name)
        print(
            f"{name:<26} {s_rate:>9,.0f} {1e6 / s_rate:>9.1f} "
            f"{statistics.median(ratios):>6.2f}x {min(ratios):.2f}-{max(ratios):.2f}"
            f" | {f_rate:>8,.0f} {1e6 / f_rate:>9.1f} "
            f"{statistics.median(fresh.ratios(name)):>6.2f}x"
        )


if __name__ == "__main__":
    main()
