"""A worker process for the PostgreSQL tests: ``python pg_worker.py COMMAND DSN SCHEMA ...``.

Each run is a separate process with its own store, as a worker on another
machine would be. Commands:

* ``send N TAG START_AT``: send ``tick`` N times to the ``counter`` instance
  ``shared``, with data ``{"tag": TAG, "i": i}``; print how many were applied.
* ``resume WORKER LEASE START_AT [hang]``: run ``Manager.resume()`` of the ``job``
  workflow. Every hook records its run in the table ``ran``; with ``hang`` the
  hook ``step_one`` records that it started, prints ``running`` and never
  returns (the test kills the process). Prints how many hooks completed.

* ``drive WORKER SEED LEASE``: drive random instances of ``examples/order.wf``
  (start, random events, now and then a compensation back to ``created``) until
  killed. Every hook records its ``effect_key`` in the table ``effects``; every
  acknowledged step is printed as ``ack ID SEQ KEY`` before the next begins.

``START_AT`` (epoch seconds) lets several workers begin at the same moment.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

import wfdsl
from wfdsl import Context, Manager
from wfdsl.errors import WorkflowError
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
        mgr = Manager(wfdsl.loads(JOB), store, hooks=hooks, worker_id=worker, lease=lease, wait=0)
        _wait(start_at)
        report = mgr.resume()
    assert not report.failed, report.failed
    assert report.ok or report.in_progress, report
    print(hooks.completed, flush=True)


ORDER = Path(__file__).resolve().parents[2] / "examples" / "order.wf"
ORDER_HOOKS = (
    "charge_card",
    "send_receipt",
    "refund_card",
    "reserve_stock",
    "release_stock",
    "book_courier",
    "recall_shipment",
)
ORDER_EVENTS = ("pay", "pack", "ship", "deliver", "cancel")


def drive(dsn: str, schema: str, worker: str, seed: int, lease: float) -> None:
    conn = psycopg.connect(dsn, autocommit=True)
    insert = sql.SQL("INSERT INTO {}.effects (effect_key, worker) VALUES (%s, %s)").format(
        sql.Identifier(schema)
    )

    def hook(ctx: Context) -> None:
        conn.execute(insert, (ctx.effect_key, worker))

    hooks: dict[str, Any] = dict.fromkeys(ORDER_HOOKS, hook)
    hooks.update(card_valid=lambda ctx: True, flagged_for_fraud=lambda ctx: False)
    hooks["in_stock"] = lambda ctx: True
    rng = random.Random(seed)
    store = PostgresStore(dsn, schema=schema)
    mgr = Manager(wfdsl.loads(ORDER.read_text()), store, hooks=hooks, lease=lease, wait=0.5)
    print("ready", flush=True)
    for n in range(10**9):
        iid = f"o-{rng.randrange(12)}"
        try:
            if store.load("order", iid) is None:
                t = mgr.start(iid)
                print(f"ack {iid} {t.seq} -", flush=True)
            elif rng.random() < 0.1:
                for t in mgr.compensate(iid, "created"):
                    print(f"ack {iid} {t.seq} -", flush=True)
            else:
                key = f"{worker}-{seed}-{n}"
                t = mgr.send(iid, rng.choice(ORDER_EVENTS), key=key)
                print(f"ack {iid} {t.seq} {key}", flush=True)
        except WorkflowError:
            pass  # illegal events, rivals' starts, compensations to a state not on the path


def main(argv: list[str]) -> None:
    command, dsn, schema, *rest = argv
    args: list[Any] = rest
    if command == "send":
        send(dsn, schema, int(args[0]), args[1], float(args[2]))
    elif command == "resume":
        resume(dsn, schema, args[0], float(args[1]), float(args[2]), args[3:] == ["hang"])
    elif command == "drive":
        drive(dsn, schema, args[0], int(args[1]), float(args[2]))
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
