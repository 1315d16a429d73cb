"""A worker process for the PostgreSQL tests: ``python pg_worker.py COMMAND DSN SCHEMA ...``.

Each run is a separate process with its own store, as a worker on another
machine would be. Commands:

* ``send N TAG START_AT``: send ``tick`` N times to the ``counter`` instance
  ``shared``, with data ``{"tag": TAG, "i": i}``; print how many were applied.
* ``resume WORKER LEASE START_AT [hang]``: run ``Manager.resume()`` of the ``job``
  workflow. Every hook records its run in the table ``ran``; with ``hang`` the
  hook ``step_one`` records that it started, prints ``running`` and never
  returns (the test kills the process). Prints how many hooks completed.

``START_AT`` (epoch seconds) lets several workers begin at the same moment.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import psycopg
from psycopg import sql

import wfdsl
from wfdsl import Context, Manager
from wfdsl.stores.postgres import PostgresStore

COUNTER = """
workflow counter {
    initial state open
    event tick
    open -> open on tick
}
"""

JOB = """
workflow job {
    initial state queued { enter step_one, step_two }
    final state done
    event finish
    queued -> done on finish
}
"""


def _wait(start_at: float) -> None:
    delay = start_at - time.time()
    if delay > 0:
        time.sleep(delay)


def send(dsn: str, schema: str, n: int, tag: str, start_at: float) -> None:
    with PostgresStore(dsn, schema=schema) as store:
        mgr = Manager(wfdsl.loads(COUNTER), store)
        _wait(start_at)
        for i in range(n):
            mgr.send("shared", "tick", data={"tag": tag, "i": i})
    print(n, flush=True)


class _Recorder:
    def __init__(self, dsn: str, schema: str, worker: str, hang: bool) -> None:
        self.conn = psycopg.connect(dsn, autocommit=True)
        self.table = sql.SQL("{}.ran").format(sql.Identifier(schema))
        self.worker = worker
        self.hang = hang
        self.completed = 0

    def _record(self, ctx: Context, what: str) -> None:
        self.conn.execute(
            sql.SQL(
                "INSERT INTO {} (instance_id, hook, worker, what) VALUES (%s, %s, %s, %s)"
            ).format(self.table),
            (ctx.instance_id, ctx.hook, self.worker, what),
        )

    def step_one(self, ctx: Context) -> None:
        if self.hang:
            self._record(ctx, "started")
            print("running", flush=True)
            time.sleep(3600)
        self._record(ctx, "done")
        self.completed += 1

    def step_two(self, ctx: Context) -> None:
        self._record(ctx, "done")
        self.completed += 1


def resume(dsn: str, schema: str, worker: str, lease: float, start_at: float, hang: bool) -> None:
    hooks = _Recorder(dsn, schema, worker, hang)
    with PostgresStore(dsn, schema=schema) as store:
        mgr = Manager(wfdsl.loads(JOB), store, hooks=hooks, worker_id=worker, lease=lease)
        _wait(start_at)
        report = mgr.resume()
    assert not report.failed, report.failed
    print(hooks.completed, flush=True)


def main(argv: list[str]) -> None:
    command, dsn, schema, *rest = argv
    args: list[Any] = rest
    if command == "send":
        send(dsn, schema, int(args[0]), args[1], float(args[2]))
    elif command == "resume":
        resume(dsn, schema, args[0], float(args[1]), float(args[2]), args[3:] == ["hang"])
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
