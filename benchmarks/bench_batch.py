"""Batched sends and threads, measured side by side in one run.

    python benchmarks/bench_batch.py [--batch 8] [--rounds 7] [--steps 60] \\
        [--threads 8] [--seconds 2] [--warm 3000] [--skip sqlite,threads]

On the three-state machine of bench_runtime.py (green -> yellow -> red ->
green), ``--batch`` instances each take one ``next`` per step:

* **one by one**: ``Manager.send`` to each instance (one transaction each);
* **send_many**: ``Manager.send_many`` of the step's sends (one transaction);
* **raw, one by one**: the hand-written transaction doing the same work (read
  the state; ``BEGIN``; insert the transition; update the instance; ``COMMIT``)
  once per send, as bench_runtime.py and bench_postgres.py measure it;
* **raw, batched** (the ceiling): the same reads, then one transaction with all
  the step's inserts and updates.

Timers: ``fire_due`` against bench_timers.py's raw firing (one transaction
per timer) and against the same raw work with a batch of timers per
transaction (the ceiling of ``fire_due``, which fires a claimed batch in one).

Targets (issue 15): send_many >= 3x one by one, and >= 0.7x the raw batched
ceiling, on SQLite (WAL, ``synchronous=FULL``) and on PostgreSQL.

Steady state: every variant works on its own file (schema) for the whole run,
first warmed with ``--warm`` transitions (enough to wrap SQLite's WAL, which a
fresh file never does, and to fill PostgreSQL's caches); then the variants take
turns, ``--steps`` steps each, for ``--rounds`` rounds, and the table shows the
median round of each. The first round (``fresh``) runs before the warm-up.

Threads: ``--threads`` threads sending one by one, each to its own instance,
through one ``Manager`` on one store, against one thread doing the same, for
``--seconds`` each, alternating, best of two turns (issue 15: several threads
reach at least one thread's throughput on SQLite; scale with connections on
PostgreSQL).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_runtime import HOOKED, HOOKS, NEXT, PLAIN

import wfdsl
from wfdsl import Manager
from wfdsl.stores.base import Store
from wfdsl.stores.sqlite import SQLiteStore

AT = "2026-01-01T00:00:00+00:00"

Step = Callable[[], None]


# -- SQLite ---------------------------------------------------------------------------


def sqlite_raw(path: str, n: int, batched: bool) -> Step:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute(
        "CREATE TABLE instances (workflow TEXT, id TEXT, state TEXT, version INTEGER, "
        "PRIMARY KEY (workflow, id)) WITHOUT ROWID"
    )
    conn.execute(
        "CREATE TABLE transitions (workflow TEXT, id TEXT, seq INTEGER, source TEXT, target TEXT, "
        "event TEXT, data TEXT, at TEXT, PRIMARY KEY (workflow, id, seq)) WITHOUT ROWID"
    )
    ids = [f"i{i}" for i in range(n)]
    for iid in ids:
        conn.execute("INSERT INTO instances VALUES ('light', ?, 'green', 1)", (iid,))
    read = "SELECT state, version FROM instances WHERE workflow = ? AND id = ?"
    insert = "INSERT INTO transitions VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    update = "UPDATE instances SET state = ?, version = ? WHERE workflow = ? AND id = ?"

    def write(iid: str, state: str, version: int) -> None:
        target = NEXT[state]
        conn.execute(insert, ("light", iid, version + 1, state, target, "next", "{}", AT))
        conn.execute(update, (target, version + 1, "light", iid))

    def one_by_one() -> None:
        for iid in ids:
            state, version = conn.execute(read, ("light", iid)).fetchone()
            conn.execute("BEGIN IMMEDIATE")
            write(iid, state, version)
            conn.execute("COMMIT")

    def together() -> None:
        rows = [conn.execute(read, ("light", iid)).fetchone() for iid in ids]
        conn.execute("BEGIN IMMEDIATE")
        for iid, (state, version) in zip(ids, rows, strict=True):
            write(iid, state, version)
        conn.execute("COMMIT")

    return together if batched else one_by_one


def managed(store: Store, n: int, batched: bool, spec: str = PLAIN) -> Step:
    mgr = Manager(wfdsl.loads(spec), store, hooks=HOOKS if "enter" in spec else None)
    ids = [f"i{i}" for i in range(n)]
    for iid in ids:
        mgr.start(iid)
    items = [(iid, "next") for iid in ids]

    def one_by_one() -> None:
        for iid in ids:
            mgr.send(iid, "next")

    def together() -> None:
        for r in mgr.send_many(items):
            if isinstance(r, Exception):
                raise r

    return together if batched else one_by_one


# -- PostgreSQL -----------------------------------------------------------------------


def pg_raw(dsn: str, schema: str, n: int, batched: bool) -> Step:
    import psycopg
    from bench_postgres import raw_schema, raw_statements

    raw_schema(dsn, schema)  # the tables bench_postgres.py's raw transaction writes
    conn = psycopg.connect(dsn, autocommit=True)
    seed, read, insert, update = raw_statements(schema)
    ids = [f"i{i}" for i in range(n)]
    for iid in ids:
        conn.execute(seed, (iid,))

    def write(iid: str, state: str, version: int) -> None:
        target = NEXT[state]
        conn.execute(insert, ("light", iid, version + 1, state, target, "next", "{}", AT))
        conn.execute(update, (target, version + 1, "light", iid))

    def fetch(iid: str) -> tuple[str, int]:
        row = conn.execute(read, ("light", iid)).fetchone()
        assert row is not None
        return row[0], row[1]

    def one_by_one() -> None:
        for iid in ids:
            state, version = fetch(iid)
            with conn.transaction():
                write(iid, state, version)

    def together() -> None:
        rows = [fetch(iid) for iid in ids]
        with conn.transaction():
            for iid, (state, version) in zip(ids, rows, strict=True):
                write(iid, state, version)

    return together if batched else one_by_one


# -- timers ---------------------------------------------------------------------------


def lockstep(
    make: dict[str, Callable[[int], Callable[[int], int]]], n: int, rounds: int, batch: int
) -> dict[str, float]:
    """Timers fired per second by each variant: in each round every variant
    fires its ``n`` timers, the variants taking turns a ``batch`` at a time;
    the median of the rounds."""
    results: dict[str, list[float]] = {}
    for r in range(rounds):
        fires = {name: build(r) for name, build in make.items()}
        spent = dict.fromkeys(fires, 0.0)
        left = dict.fromkeys(fires, n)
        while any(left.values()):
            for name, fire in fires.items():
                if not left[name]:
                    continue
                t0 = time.perf_counter()
                done = fire(batch)
                spent[name] += time.perf_counter() - t0
                assert done, f"{name} fired nothing with {left[name]} left"
                left[name] -= done
        for name, seconds in spent.items():
            results.setdefault(name, []).append(n / seconds)
    return {name: statistics.median(v) for name, v in results.items()}


def timers_table(tmp: str, n: int, batch: int, rounds: int) -> None:
    from bench_timers import settle_sqlite, wfdsl_fire
    from bench_timers import sqlite_raw as raw_firing

    rates = lockstep(
        {
            "raw, one transaction per timer": lambda r: raw_firing(f"{tmp}/traw{r}.db", n),
            "raw, one per batch (ceiling)": lambda r: raw_firing(
                f"{tmp}/trawb{r}.db", n, batched=True
            ),
            "wfdsl fire_due": lambda r: wfdsl_fire(
                SQLiteStore(f"{tmp}/twf{r}.db"), n, lambda: settle_sqlite(f"{tmp}/twf{r}.db")
            ),
        },
        n,
        rounds,
        batch,
    )
    print(
        f"Timers fired per second on SQLite (synchronous=FULL), median of {rounds} rounds x {n}, "
        f"batches of {batch}"
    )
    ceiling = rates["raw, one per batch (ceiling)"]
    one = rates["raw, one transaction per timer"]
    for name, rate in rates.items():
        print(f"{name:<34} {rate:>10,.0f} {rate / one:>7.2f}x one {rate / ceiling:>7.2f}x ceiling")
    print()


# -- measuring ------------------------------------------------------------------------


def rounds_of(
    steps: dict[str, Step], n: int, count: int, rounds: int, warm: int
) -> tuple[dict[str, float], dict[str, float]]:
    """Transitions per second of each variant: the first round on fresh
    data, then the median of ``rounds`` interleaved rounds after ``warm``
    transitions each."""

    def one_round() -> dict[str, float]:
        out: dict[str, float] = {}
        for name, step in steps.items():
            t0 = time.perf_counter()
            for _ in range(count):
                step()
            out[name] = count * n / (time.perf_counter() - t0)
        return out

    fresh = one_round()
    for step in steps.values():
        for _ in range(max(0, warm // n)):
            step()
    seen: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(rounds):
        for name, rate in one_round().items():
            seen[name].append(rate)
    return fresh, {name: statistics.median(v) for name, v in seen.items()}


def table(title: str, fresh: dict[str, float], steady: dict[str, float]) -> None:
    print(title)
    print(f"{'variant':<34} {'steady/s':>10} {'µs each':>8} {'fresh/s':>10}")
    for name, rate in steady.items():
        print(f"{name:<34} {rate:>10,.0f} {1e6 / rate:>8.1f} {fresh[name]:>10,.0f}")


def ratios(steady: dict[str, float], label: str) -> None:
    many, one = steady["wfdsl send_many"], steady["wfdsl send, one by one"]
    raw_many = steady["raw, batched (ceiling)"]
    print(
        f"{label}: send_many / one by one = {many / one:.2f}x (target >= 3x); "
        f"send_many / raw batched = {many / raw_many:.2f}x (target >= 0.7x); "
        f"raw batched / raw one by one = {raw_many / steady['raw, one by one']:.2f}x"
    )
    if "wfdsl send_many, 1 enter hook" in steady:
        hooked = steady["wfdsl send_many, 1 enter hook"]
        print(f"{label}: send_many with a hook / one by one without = {hooked / one:.2f}x")
    print()


def threads(mgr: Manager[str, str], count: int, seconds: float) -> float:
    """Sends per second by ``count`` threads, each to its own instance
    (``t0``, ``t1``, ...), through the one manager ``mgr``."""
    done = [0] * count
    stop = threading.Event()
    go = threading.Barrier(count + 1)

    def run(k: int) -> None:
        iid = f"t{k}"
        go.wait()
        n = 0
        while not stop.is_set():
            mgr.send(iid, "next")
            n += 1
        done[k] = n

    ts = [threading.Thread(target=run, args=(k,)) for k in range(count)]
    for t in ts:
        t.start()
    go.wait()
    t0 = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for t in ts:
        t.join()
    return sum(done) / (time.perf_counter() - t0)


def thread_table(label: str, store: Store, count: int, seconds: float, warm: int) -> None:
    """1 and ``count`` threads in turns on one warm store, median of 3 turns each."""
    mgr = Manager(wfdsl.loads(PLAIN), store)
    for k in range(count):
        mgr.start(f"t{k}")
    for i in range(warm):
        mgr.send(f"t{i % count}", "next")
    seen: dict[int, list[float]] = {1: [], count: []}
    for _ in range(3):
        for k in (1, count):
            seen[k].append(threads(mgr, k, seconds))
    one, many = statistics.median(seen[1]), statistics.median(seen[count])
    print(f"{label}: 1 thread {one:,.0f}/s, {count} threads {many:,.0f}/s ({many / one:.2f}x one)")


def sqlite_part(args: argparse.Namespace, skip: set[str]) -> None:
    """The SQLite tables: sends, timers, threads."""
    n = args.batch
    with tempfile.TemporaryDirectory(prefix="wfdsl-bench-", dir=os.getcwd()) as tmp:

        def db(name: str) -> str:
            return os.path.join(tmp, name + ".db")

        steps: dict[str, Step] = {
            "raw, one by one": sqlite_raw(db("raw1"), n, False),
            "raw, batched (ceiling)": sqlite_raw(db("rawn"), n, True),
            "wfdsl send, one by one": managed(SQLiteStore(db("one")), n, False),
            "wfdsl send_many": managed(SQLiteStore(db("many")), n, True),
            "wfdsl send_many, 1 enter hook": managed(SQLiteStore(db("hook")), n, True, HOOKED),
        }
        fresh, steady = rounds_of(steps, n, args.steps, args.rounds, args.warm)
        table(
            f"SQLite (WAL, synchronous=FULL), {n} sends per step, transitions per second, "
            f"median of {args.rounds} rounds x {args.steps} steps",
            fresh,
            steady,
        )
        ratios(steady, "SQLite")

        timers_table(tmp, args.timers, args.timer_batch, args.rounds)
        if "threads" in skip:
            return
        thread_table(
            "SQLite threads, one Manager/SQLiteStore",
            SQLiteStore(db("threads")),
            args.threads,
            args.seconds,
            args.warm,
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=8, help="sends per step (instances)")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--steps", type=int, default=60, help="steps per variant per round")
    ap.add_argument("--warm", type=int, default=3000, help="transitions per variant before")
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=2.0, help="per thread-count turn")
    ap.add_argument("--timers", type=int, default=600, help="timers fired per round")
    ap.add_argument("--timer-batch", type=int, default=100, help="fire_due's limit")
    ap.add_argument(
        "--skip", default="", help="comma-separated: sqlite, threads (the parts left out)"
    )
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    n = args.batch
    print(
        f"Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}, {os.cpu_count()} cores"
    )
    print(f"load average {os.getloadavg()[0]:.2f}\n")

    if "sqlite" not in skip:
        sqlite_part(args, skip)

    dsn = os.environ.get("WFDSL_PG_DSN")
    if not dsn:
        print("\n(PostgreSQL skipped: set WFDSL_PG_DSN=postgresql://user@host:5432/db)")
        return
    from wfdsl.stores.postgres import PostgresStore

    prefix = f"wfdsl_bench_batch_{os.getpid()}_"
    stores: list[PostgresStore] = []

    def pg(name: str, **kw: Any) -> PostgresStore:
        store = PostgresStore(dsn, schema=prefix + name, **kw)
        stores.append(store)
        return store

    try:
        steps = {
            "raw, one by one": pg_raw(dsn, prefix + "raw1", n, False),
            "raw, batched (ceiling)": pg_raw(dsn, prefix + "rawn", n, True),
            "wfdsl send, one by one": managed(pg("one", max_size=1), n, False),
            "wfdsl send_many": managed(pg("many", max_size=1), n, True),
            "wfdsl send_many, 1 enter hook": managed(pg("hook", max_size=1), n, True, HOOKED),
        }
        fresh, steady = rounds_of(steps, n, args.steps // 2, args.rounds, args.warm // 3)
        print()
        table(
            f"PostgreSQL, {n} sends per step, transitions per second, "
            f"median of {args.rounds} rounds x {args.steps // 2} steps",
            fresh,
            steady,
        )
        ratios(steady, "PostgreSQL")

        for size in () if "threads" in skip else (4, args.threads):
            thread_table(
                f"PostgreSQL threads, one Manager/PostgresStore(max_size={size})",
                pg(f"threads_{size}", max_size=size),
                args.threads,
                args.seconds,
                args.warm // 3,
            )
    finally:
        from bench_postgres import drop_schemas

        for store in stores:
            store.close()
        drop_schemas(dsn, prefix)


if __name__ == "__main__":
    main()
