"""Applications that fork around a SQLiteStore, without killing anything:
``python fork_scenarios.py SCENARIO DB`` runs one and prints, as JSON, every
write that was acknowledged (``[instance, state]`` after each acknowledged
``start`` or ``send``), across all its processes. tests/stores/test_fork.py
checks that each of them is in the file afterwards.

Children leave with ``os._exit`` (as ``multiprocessing`` and preforking servers
do), so nothing they did is saved by a clean shutdown of their own.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable

import wfdsl
from wfdsl import Manager
from wfdsl.runtime.context import Context
from wfdsl.stores.sqlite import SQLiteStore

SPEC = wfdsl.loads(
    "workflow job { initial state queued { enter note } state running final state done "
    "event run, finish queued -> running on run running -> done on finish }"
)

Acks = list[tuple[str, str]]


def drive(mgr: Manager, prefix: str, n: int, acks: Acks) -> None:
    """Start ``n`` instances and move each through a send, recording every ack."""
    for i in range(n):
        iid = f"{prefix}-{i}"
        acks.append((iid, mgr.start(iid).target))
        acks.append((iid, mgr.send(iid, "run").target))


def child(run: Callable[[Acks], None]) -> tuple[int, int]:
    """Fork; the child runs ``run`` and writes its acks to a pipe, then leaves
    with ``os._exit``. Returns the child's pid and the pipe's read end."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        os.close(r)
        acks: Acks = []
        code = 0
        try:
            run(acks)
        except BaseException as exc:
            print(f"child {os.getpid()}: {type(exc).__name__}: {exc}", file=sys.stderr)
            code = 1
        os.write(w, json.dumps(acks).encode())
        os.close(w)
        os._exit(code)
    os.close(w)
    return pid, r


def collect(pid: int, r: int) -> Acks:
    """The acks the child reported, once it has exited successfully."""
    data = b""
    while chunk := os.read(r, 65536):
        data += chunk
    os.close(r)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"child {pid} failed")
    return [tuple(a) for a in json.loads(data)]  # type: ignore[misc]


def wait_for(fd: int) -> None:
    os.read(fd, 1)


def parent_closes_first(db: str) -> Acks:
    """The issue's case: the child writes before and after the parent closes."""
    store = SQLiteStore(db)
    mgr = Manager(SPEC, store, hooks={"note": lambda ctx: None})
    acks: Acks = []
    drive(mgr, "parent", 1, acks)
    go_r, go_w = os.pipe()
    ready_r, ready_w = os.pipe()

    def run(out: Acks) -> None:
        drive(mgr, "child-before", 1, out)
        os.write(ready_w, b"x")
        wait_for(go_r)  # the parent has closed its store by now
        drive(mgr, "child-after", 2, out)

    pid, r = child(run)
    wait_for(ready_r)
    store.close()
    os.write(go_w, b"x")
    return acks + collect(pid, r)


def child_closes_first(db: str) -> Acks:
    store = SQLiteStore(db)
    mgr = Manager(SPEC, store, hooks={"note": lambda ctx: None})
    acks: Acks = []
    drive(mgr, "parent-before", 1, acks)

    def run(out: Acks) -> None:
        drive(mgr, "child", 2, out)
        store.close()

    pid, r = child(run)
    acks += collect(pid, r)
    drive(mgr, "parent-after", 2, acks)
    # No close: the parent leaves as abruptly as the child did.
    return acks


def fork_inside_a_hook(db: str) -> Acks:
    store = SQLiteStore(db)
    acks: Acks = []
    forked: list[tuple[int, int]] = []
    parent_identity = store.identity()

    def note(ctx: Context) -> None:
        if ctx.instance_id != "forker-0" or forked:
            return

        def run(out: Acks) -> None:
            # A worker of its own, and it may drive other instances from here.
            assert store.identity() != parent_identity
            drive(mgr, "child", 2, out)

        forked.append(child(run))

    mgr = Manager(SPEC, store, hooks={"note": note})
    drive(mgr, "forker", 1, acks)
    drive(mgr, "parent", 2, acks)
    acks += collect(*forked[0])
    store.close()
    return acks


def preforking_server(db: str) -> Acks:
    """A master that uses the store at boot, forks workers that serve from it,
    and closes its own store (it serves nothing) while they work."""
    store = SQLiteStore(db)
    mgr = Manager(SPEC, store, hooks={"note": lambda ctx: None})
    acks: Acks = []
    drive(mgr, "boot", 1, acks)
    go_r, go_w = os.pipe()

    def serve(out: Acks, n: int) -> None:
        drive(mgr, f"worker{n}-early", 1, out)
        wait_for(go_r)
        drive(mgr, f"worker{n}", 5, out)

    workers = [child(lambda out, n=n: serve(out, n)) for n in range(3)]
    store.close()
    os.write(go_w, b"xxx")
    for pid, r in workers:
        acks += collect(pid, r)
    return acks


def fork_while_another_thread_writes(db: str) -> Acks:
    """A threaded parent: one thread keeps writing while another forks, twice."""
    import threading

    store = SQLiteStore(db)
    mgr = Manager(SPEC, store, hooks={"note": lambda ctx: None})
    acks: Acks = []
    busy = threading.Thread(target=drive, args=(mgr, "thread", 40, acks))
    busy.start()
    children = [child(lambda out, n=n: drive(mgr, f"child{n}", 3, out)) for n in range(2)]
    busy.join()
    for pid, r in children:
        acks += collect(pid, r)
    store.close()
    return acks


SCENARIOS = {
    f.__name__: f
    for f in (
        parent_closes_first,
        child_closes_first,
        fork_inside_a_hook,
        preforking_server,
        fork_while_another_thread_writes,
    )
}

if __name__ == "__main__":
    scenario, db = sys.argv[1:]
    print(json.dumps(SCENARIOS[scenario](db)))
