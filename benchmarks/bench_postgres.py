"""PostgresStore speed, measured side by side in one run.

    WFDSL_PG_DSN=postgresql://user@host:5432/db python benchmarks/bench_postgres.py \\
        [--sends 400] [--rounds 5] [--workers 4] [--seconds 5] [--instances 10000]

On the three-state machine of bench_runtime.py (green -> yellow -> red -> green):

* durable ``send`` against the raw psycopg transaction doing the same work
  (read the state; ``BEGIN``; insert the transition; update the instance;
  ``COMMIT``), against the same work hand-written as one statement (a
  data-modifying CTE, which is how PostgresStore writes), and, for a send with
  an ``enter`` hook, against the raw transaction that also inserts the hook's
  work row and, after running the hook, marks it done -- one worker, variants
  in lockstep, the turn order flipping every round (target: >= 0.8x the raw
  transaction). The headline is the steady state of a long-running process
  (connections and instances made once, ``--warm`` sends first); the figure
  on fresh connections and instances every round is printed beside it.
  Medians of the rounds, never the best;
* the same with 1 and with ``--workers`` concurrent processes, each driving its
  own instance for ``--seconds`` (target: 4 workers >= 3x one);
* ``resume()`` of ``--instances`` instances with pending hook work, by one
  worker and by ``--workers`` workers at once.

Everything runs in schemas named ``wfdsl_bench_<pid>_...``, dropped at the end.
The machine's core count is printed: on a small machine the server, the
workers and this script share the same cores, which caps what concurrency buys.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import sql

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_runtime import HOOKED, HOOKS, NEXT, PLAIN, Rounds, lockstep, noop

import wfdsl
from wfdsl import Manager
from wfdsl.ir import HookKind
from wfdsl.stores.postgres import PostgresStore
from wfdsl.stores.records import InstanceRecord, Transition, TransitionKind, WorkItem

AT = "2026-01-01T00:00:00+00:00"


#: The server backend (process id) each variant's "send" talks to.
BACKEND: dict[Callable[[], None], int] = {}


# -- the variants: each setup returns one "send" ---------------------------------------


def raw_schema(dsn: str, schema: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        s = sql.Identifier(schema)
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(s))
        conn.execute(
            sql.SQL(
                "CREATE TABLE {}.instances (workflow text, id text, state text, version bigint, "
                "PRIMARY KEY (workflow, id))"
            ).format(s)
        )
        conn.execute(
            sql.SQL(
                "CREATE TABLE {}.transitions (workflow text, id text, seq bigint, source text, "
                "target text, event text, data json, at text, PRIMARY KEY (workflow, id, seq))"
            ).format(s)
        )
        conn.execute(
            sql.SQL(
                "CREATE TABLE {}.work (workflow text, id text, seq bigint, idx integer, hook text, "
                "status text, PRIMARY KEY (workflow, id, seq, idx))"
            ).format(s)
        )


def raw_statements(schema: str) -> tuple[sql.Composed, sql.Composed, sql.Composed, sql.Composed]:
    """The hand-written transaction's statements on :func:`raw_schema`'s tables
    in ``schema``: ``(seed, read, insert, update)``; ``seed`` starts an
    instance (its id the one parameter)."""
    s = sql.Identifier(schema)
    return (
        sql.SQL("INSERT INTO {}.instances VALUES ('light', %s, 'green', 1)").format(s),
        sql.SQL("SELECT state, version FROM {}.instances WHERE workflow = %s AND id = %s").format(
            s
        ),
        sql.SQL("INSERT INTO {}.transitions VALUES (%s, %s, %s, %s, %s, %s, %s, %s)").format(s),
        sql.SQL(
            "UPDATE {}.instances SET state = %s, version = %s WHERE workflow = %s AND id = %s"
        ).format(s),
    )


def raw_setup(dsn: str, schema: str, iid: str) -> Callable[[], None]:
    """The hand-written transaction: read, then BEGIN; INSERT; UPDATE; COMMIT."""
    conn = psycopg.connect(dsn, autocommit=True)
    seed, read, insert, update = raw_statements(schema)
    conn.execute(seed, (iid,))

    def step() -> None:
        row = conn.execute(read, ("light", iid)).fetchone()
        assert row is not None
        state, version = row
        target = NEXT[state]
        with conn.transaction():
            conn.execute(insert, ("light", iid, version + 1, state, target, "next", "{}", AT))
            conn.execute(update, (target, version + 1, "light", iid))

    BACKEND[step] = conn.info.backend_pid
    return step


def raw_hook_setup(dsn: str, schema: str, iid: str) -> Callable[[], None]:
    """The hand-written transaction that also records the hook it owes, runs the
    hook after the commit, then marks it done: what a send with a hook does."""
    iid += "-hook"  # shares the raw variant's tables
    conn = psycopg.connect(dsn, autocommit=True)
    s = sql.Identifier(schema)
    seed, read, insert, update = raw_statements(schema)
    conn.execute(seed, (iid,))
    owe = sql.SQL("INSERT INTO {}.work VALUES (%s, %s, %s, 0, %s, 'pending')").format(s)
    done = sql.SQL(
        "UPDATE {}.work SET status = 'done' WHERE workflow = %s AND id = %s AND seq = %s AND idx = 0"
    ).format(s)

    def step() -> None:
        row = conn.execute(read, ("light", iid)).fetchone()
        assert row is not None
        state, version = row
        target = NEXT[state]
        with conn.transaction():
            conn.execute(insert, ("light", iid, version + 1, state, target, "next", "{}", AT))
            conn.execute(update, (target, version + 1, "light", iid))
            conn.execute(owe, ("light", iid, version + 1, f"on_{target}"))
        noop(None)
        conn.execute(done, ("light", iid, version + 1))

    BACKEND[step] = conn.info.backend_pid
    return step


def raw_cte_setup(dsn: str, schema: str, iid: str) -> Callable[[], None]:
    """The same work as one statement: read, then one version-checked CTE."""
    iid += "-cte"  # shares the raw variant's tables
    conn = psycopg.connect(dsn, autocommit=True)
    s = sql.Identifier(schema)
    conn.execute(
        sql.SQL("INSERT INTO {}.instances VALUES ('light', %s, 'green', 1)").format(s), (iid,)
    )
    read = sql.SQL(
        "SELECT state, version FROM {}.instances WHERE workflow = %s AND id = %s"
    ).format(s)
    write = sql.SQL(
        "WITH u AS (UPDATE {s}.instances SET state = %(t)s, version = %(v)s + 1 "
        "WHERE workflow = %(w)s AND id = %(i)s AND version = %(v)s RETURNING 1) "
        "INSERT INTO {s}.transitions SELECT %(w)s, %(i)s, %(v)s + 1, %(s)s, %(t)s, 'next', "
        "'{{}}'::json, %(at)s FROM u"
    ).format(s=s)

    def step() -> None:
        row = conn.execute(read, ("light", iid)).fetchone()
        assert row is not None
        state, version = row
        conn.execute(
            write, {"t": NEXT[state], "v": version, "w": "light", "i": iid, "s": state, "at": AT}
        )

    BACKEND[step] = conn.info.backend_pid
    return step


def wfdsl_setup(dsn: str, schema: str, iid: str, spec_text: str) -> Callable[[], None]:
    store = PostgresStore(dsn, schema=schema, min_size=1, max_size=1)
    mgr = Manager(wfdsl.loads(spec_text), store, hooks=HOOKS if "enter" in spec_text else None)
    mgr.start(iid)

    def step() -> None:
        mgr.send(iid, "next")

    BACKEND[step] = store._call("find the backend", lambda c: c.info.backend_pid)
    return step


VARIANTS: dict[str, Callable[[str, str, str], Callable[[], None]]] = {
    "raw psycopg transaction": raw_setup,
    "raw psycopg, one statement": raw_cte_setup,
    "raw psycopg, with hook work": raw_hook_setup,
    "wfdsl send": lambda dsn, schema, iid: wfdsl_setup(dsn, schema + "_plain", iid, PLAIN),
    "wfdsl send, 1 enter hook": lambda dsn, schema, iid: wfdsl_setup(
        dsn, schema + "_hook", iid, HOOKED
    ),
}


def steady(dsn: str, schema: str, sends: int, rounds: int, warm: int) -> Rounds:
    """One worker in a long-running process: each variant's connection and
    instance made once, ``warm`` sends each first, then ``rounds`` rounds of
    ``sends`` in turns (one send of each, every call timed), the turn order
    flipping every round."""
    steps = {name: make(dsn, schema, "steady") for name, make in VARIANTS.items()}
    lockstep(steps, warm, flip=False)
    out = Rounds()
    for r in range(rounds):
        out.add(lockstep(steps, sends, flip=r % 2 == 1))
    return out


def fresh(dsn: str, schema: str, sends: int, rounds: int) -> Rounds:
    """The same, but every round on new connections and new instances."""
    out = Rounds()
    for r in range(rounds):
        steps = {name: make(dsn, schema, f"lock-{r}") for name, make in VARIANTS.items()}
        out.add(lockstep(steps, sends, flip=r % 2 == 1))
    return out


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process on this machine (the server backend)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _worker(
    variant: str, dsn: str, schema: str, iid: str, start_at: float, seconds: float, out: Any
) -> None:
    step = VARIANTS[variant](dsn, schema, iid)
    backend = BACKEND[step]
    time.sleep(max(0.0, start_at - time.time()))
    end = start_at + seconds
    n = 0
    client0, server0 = time.process_time(), _cpu_seconds(backend)
    while time.time() < end:
        step()
        n += 1
    out.put((n, time.process_time() - client0, _cpu_seconds(backend) - server0))


def concurrent(
    dsn: str, schema: str, workers: int, seconds: float
) -> dict[str, dict[int, tuple[float, float]]]:
    """Per variant and worker count: sends per second of all workers together
    (each on its own instance), and CPU seconds per send (the workers' own plus
    their server backends')."""
    ctx = mp.get_context("spawn")
    rates: dict[str, dict[int, tuple[float, float]]] = {}
    for variant in VARIANTS:
        for n in sorted({1, workers}):
            out = ctx.Queue()
            start_at = time.time() + 2.0  # after every worker has connected
            procs = [
                ctx.Process(
                    target=_worker,
                    args=(variant, dsn, schema, f"c{n}-{w}", start_at, seconds, out),
                )
                for w in range(n)
            ]
            for p in procs:
                p.start()
            results = [out.get(timeout=seconds + 120) for _ in procs]
            for p in procs:
                p.join()
            sends = sum(r[0] for r in results)
            cpu = sum(r[1] + r[2] for r in results)
            rates.setdefault(variant, {})[n] = (sends / seconds, cpu / max(sends, 1))
    return rates


# -- resume -------------------------------------------------------------------------


def _resumer(dsn: str, schema: str, start_at: float, out: Any) -> None:
    with PostgresStore(dsn, schema=schema, min_size=1, max_size=1) as store:
        mgr = Manager(wfdsl.loads(HOOKED), store, hooks=HOOKS)
        time.sleep(max(0.0, start_at - time.time()))
        t0 = time.perf_counter()
        report = mgr.resume()
        out.put((len(report.completed), time.perf_counter() - t0))


def pending_instances(dsn: str, schema: str, instances: int) -> None:
    """``instances`` instances in green whose enter hook never ran (a crash right
    after each transition was written)."""
    fingerprint = wfdsl.loads(HOOKED).fingerprint()
    with PostgresStore(dsn, schema=schema) as store:
        now = datetime.now(UTC)
        for i in range(instances):
            iid = f"r{i:05}"
            record = InstanceRecord("light", iid, "green", 1, fingerprint, created_at=now)
            first = Transition(1, TransitionKind.START, None, "green", None, None, {}, now)
            store.create(record, first, [WorkItem("light", iid, 1, 0, "on_green", HookKind.ENTER)])


def resume(dsn: str, schema: str, instances: int, workers: int) -> dict[int, tuple[int, float]]:
    ctx = mp.get_context("spawn")
    out: dict[int, tuple[int, float]] = {}
    for n in sorted({1, workers}):
        name = f"{schema}_resume{n}"
        pending_instances(dsn, name, instances)
        q = ctx.Queue()
        start_at = time.time() + 2.0
        procs = [ctx.Process(target=_resumer, args=(dsn, name, start_at, q)) for _ in range(n)]
        for p in procs:
            p.start()
        results = [q.get(timeout=3600) for _ in procs]
        for p in procs:
            p.join()
        out[n] = (sum(r[0] for r in results), max(r[1] for r in results))
    return out


def drop_schemas(dsn: str, prefix: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s)", (prefix,)
            )
        ]
        for name in names:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", default=os.environ.get("WFDSL_PG_DSN"))
    parser.add_argument("--sends", type=int, default=400, help="sends per round (one worker)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warm", type=int, default=400, help="sends before the steady rounds")
    parser.add_argument("--skip", default="", help="comma-separated: concurrent, resume")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=5.0, help="per concurrency run")
    parser.add_argument("--instances", type=int, default=10000, help="instances for resume()")
    args = parser.parse_args()
    if not args.dsn:
        sys.exit("set WFDSL_PG_DSN=postgresql://user@host:5432/db or pass --dsn")
    dsn: str = args.dsn
    schema = f"wfdsl_bench_{os.getpid()}"
    with psycopg.connect(dsn) as conn:
        version = conn.execute("SHOW server_version").fetchone()
        settings = conn.execute(
            "SELECT string_agg(name || '=' || setting, ', ' ORDER BY name) FROM pg_settings "
            "WHERE name IN ('fsync', 'synchronous_commit', 'wal_sync_method')"
        ).fetchone()
    print(
        f"Python {sys.version.split()[0]}, psycopg {psycopg.__version__}, "
        f"PostgreSQL {version[0] if version else '?'} ({settings[0] if settings else ''}), "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start\n"
    )
    try:
        for suffix in ("", "_c"):
            raw_schema(dsn, schema + suffix)
        d = steady(dsn, schema, args.sends, args.rounds, args.warm)
        f = fresh(dsn, schema, args.sends, args.rounds)
        print(
            f"Durable send, one worker: medians of {args.rounds} rounds x {args.sends} (lockstep); "
            f"steady: one long-running process ({args.warm} sends first); fresh: new "
            "connections and instances every round"
        )
        print(
            f"{'variant':<30} {'steady/s':>9} {'µs/send':>8} {'vs raw txn':>10} {'(range)':>10} "
            f"{'vs raw+hook':>11} | {'fresh/s':>8} {'vs raw txn':>10} {'vs raw+hook':>11}"
        )
        names = list(d.rates)
        hook = names.index("raw psycopg, with hook work")

        def med(rounds: Rounds, name: str, base: int) -> float:
            own, other = rounds.rates[name], rounds.rates[names[base]]
            return statistics.median(a / b for a, b in zip(own, other, strict=True))

        for name in names:
            ratios = d.ratios(name)
            print(
                f"{name:<30} {d.median(name):>9,.0f} {1e6 / d.median(name):>8.1f} "
                f"{med(d, name, 0):>9.2f}x {min(ratios):.2f}-{max(ratios):.2f} "
                f"{med(d, name, hook):>10.2f}x | {f.median(name):>8,.0f} "
                f"{med(f, name, 0):>9.2f}x {med(f, name, hook):>10.2f}x"
            )

        skip = set(args.skip.split(","))
        if "concurrent" in skip:
            return
        c = concurrent(dsn, schema + "_c", args.workers, args.seconds)
        w = args.workers
        cores = os.cpu_count() or 1
        print(f"\nDurable send, 1 and {w} concurrent worker processes, {args.seconds:g} s each")
        print(
            f"{'variant':<34} {'1 worker/s':>11} {f'{w} workers/s':>13} {'speed-up':>9} "
            f"{'CPU µs/send':>12} {'CPU ceiling/s':>14}"
        )
        for name, by_n in c.items():
            (one, _), (many, cpu) = by_n[1], by_n[w]
            print(
                f"{name:<34} {one:>11,.0f} {many:>13,.0f} {many / one:>8.2f}x "
                f"{cpu * 1e6:>12.0f} {cores / cpu:>14,.0f}"
            )
        print(
            f"(CPU µs/send: the workers' and their server backends' CPU time per send with "
            f"{w} workers; CPU ceiling: {cores} cores / that, if nothing else ran)"
        )

        if "resume" in skip:
            return
        r = resume(dsn, schema, args.instances, w)
        print(f"\nresume() of {args.instances} instances with one pending hook each")
        for n, (done, secs) in r.items():
            label = f"{n} worker" + ("s" if n > 1 else "")
            print(f"{label:<34} {done:>6} hooks in {secs:6.2f} s ({done / secs:,.0f} hooks/s)")
    finally:
        drop_schemas(dsn, schema)


if __name__ == "__main__":
    main()
