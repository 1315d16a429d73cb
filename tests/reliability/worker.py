"""A worker process for the crash tests: drives order instances on a SQLite file.

Usage: python worker.py DB WORKDIR SEED {drive [DIE_AFTER]|race|resume|bump N}

Every worker runs with the default worker id: nothing but its process proves
it alive, so a killed worker's work must be taken over at once.

* ``drive``: resume, print ``ready``, then move instances along random valid
  paths (sometimes compensating) for ever; every ``send``/``compensate`` is
  preceded by an intent line and followed, once it returned, by an ack line.
  After a restart the last intent is sent again (a client retrying), which
  exercises idempotency keys. With ``DIE_AFTER``, the worker kills itself
  (SIGKILL) inside its ``DIE_AFTER``-th hook, after the hook's effect: a kill
  that certainly lands between a hook and its completion marker.
* ``race``: print ``ready``, then send random events to (and now and then
  compensate) eight instances that every ``race`` worker shares, for ever;
  refusals (illegal events, work another worker is running) are skipped;
  every applied step is appended to ``WORKDIR/acks.log``.
* ``resume``: run ``resume()`` once, print its report as JSON and exit.
* ``bump N``: print ``ready``, wait for a line on stdin, then send ``bump`` N
  times to the shared counter instance.

Hooks append their ``effect_key`` to ``WORKDIR/hooks.log`` when they start.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import time
from pathlib import Path

import wfdsl
from wfdsl import Manager
from wfdsl.errors import WorkflowError
from wfdsl.runtime.context import Context
from wfdsl.stores.sqlite import SQLiteStore

ROOT = Path(__file__).resolve().parents[2]
NEXT = {"created": "pay", "paid": "pack", "packed": "ship", "shipped": "deliver"}
COUNTER = "workflow counter { initial state counting { enter tick } event bump counting -> counting on bump }"


def append(path: Path, line: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


class Hooks:
    def __init__(self, log: Path, die_after: int = 0) -> None:
        self.log = log
        self.die_after = die_after
        self.calls = 0

    def card_valid(self, ctx: Context) -> bool:
        return True

    def flagged_for_fraud(self, ctx: Context) -> bool:
        return False

    def in_stock(self, ctx: Context) -> bool:
        return True

    def record(self, ctx: Context) -> None:
        append(self.log, ctx.effect_key)
        self.calls += 1
        if self.calls == self.die_after:
            os.kill(os.getpid(), signal.SIGKILL)

    charge_card = send_receipt = refund_card = reserve_stock = record
    release_stock = book_courier = recall_shipment = tick = record


def act(mgr: Manager[str, str], intent: dict[str, str], acks: Path) -> None:
    iid = intent["id"]
    if intent["op"] == "send":
        t = mgr.send(iid, intent["event"], key=intent["key"], data={"n": intent["key"]})
        steps = [t]
    else:
        steps = mgr.compensate(iid, intent["to"])
    for t in steps:
        ack = {"id": iid, "seq": t.seq, "kind": str(t.kind), "target": t.target, "key": t.key}
        append(acks, json.dumps(ack))


def drive(mgr: Manager[str, str], work: Path, seed: int) -> None:
    rng = random.Random(seed)
    intents, acks = work / "intents.log", work / "acks.log"
    mgr.resume()
    if intents.exists():
        lines = intents.read_text().splitlines()
        if lines:
            act(mgr, json.loads(lines[-1]), acks)  # the client retries its last request
    print("ready", flush=True)
    counter = len(intents.read_text().splitlines()) if intents.exists() else 0
    while True:
        records = mgr.store.instances("order")
        active = [r for r in records if r.state in NEXT]
        if len(active) < 4:
            mgr.start(f"o-{len(records)}")
            continue
        inst = rng.choice(active)
        iid = inst.instance_id
        path = Manager.path(mgr.history(iid))
        counter += 1
        if len(path) > 2 and rng.random() < 0.2:
            intent = {"op": "compensate", "id": iid, "to": path[rng.randrange(len(path) - 1)]}
        else:
            event = (
                "cancel" if inst.state != "shipped" and rng.random() < 0.05 else NEXT[inst.state]
            )
            intent = {"op": "send", "id": iid, "event": event, "key": f"{seed}-{counter}"}
        append(intents, json.dumps(intent))
        act(mgr, intent, acks)


def race(mgr: Manager[str, str], work: Path, seed: int) -> None:
    rng = random.Random(seed)
    acks = work / "acks.log"
    print("ready", flush=True)
    for n in range(10**9):
        iid = f"r-{rng.randrange(8)}"
        try:
            if mgr.store.load("order", iid) is None:
                steps = [mgr.start(iid)]
            elif rng.random() < 0.15:
                steps = mgr.compensate(iid, "created")
            else:
                event = rng.choice(["pay", "pack", "ship", "deliver", "cancel"])
                steps = [mgr.send(iid, event, key=f"{seed}-{n}")]
        except WorkflowError:
            continue  # illegal here, or another worker is running its hooks
        for t in steps:
            ack = {"id": iid, "seq": t.seq, "kind": str(t.kind), "target": t.target, "key": t.key}
            append(acks, json.dumps(ack))


def main() -> None:
    db, work, seed, mode = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    die_after = int(sys.argv[5]) if mode == "drive" and len(sys.argv) > 5 else 0
    hooks = Hooks(work / "hooks.log", die_after)
    store = SQLiteStore(db)
    if mode == "bump":
        mgr = Manager(wfdsl.loads(COUNTER), store, hooks=hooks)
        print("ready", flush=True)
        sys.stdin.readline()  # all workers start sending together
        for i in range(int(sys.argv[5])):
            mgr.send("shared", "bump", key=f"{seed}-{i}")
            time.sleep(0.001)  # think time, so that the senders interleave
        store.close()
        return
    # Waiting briefly for a live rival's hooks keeps the workers busy.
    mgr = Manager(wfdsl.load(ROOT / "examples" / "order.wf"), store, hooks=hooks, wait=0.5)
    if mode == "resume":
        report = mgr.resume()
        print(json.dumps({"ok": report.ok, "report": repr(report)}), flush=True)
        store.close()
        return
    if mode == "race":
        race(mgr, work, seed)
        return
    drive(mgr, work, seed)


if __name__ == "__main__":
    main()
