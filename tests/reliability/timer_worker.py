"""A worker process for the timer crash tests: ``Manager.run_worker`` on the
``ticket`` workflow, with its clock read from a file the test moves.

Usage: python timer_worker.py DB_URL WORKDIR {work [DIE_AFTER]|idle}

* ``work``: run the worker (default worker id, a short poll) until SIGTERM.
  With ``DIE_AFTER``, the process kills itself (SIGKILL) inside its
  ``DIE_AFTER``-th hook, after the hook's effect: a kill that certainly lands
  between a hook and its completion marker.
* ``idle``: run the worker until a pass finds nothing to do, then ``resume()``;
  print ``{"ok": ..., "stats": ...}`` and exit.

Hooks append their ``effect_key`` to ``WORKDIR/hooks.log``. The clock is
``WORKDIR/clock``: milliseconds since the epoch, replaced atomically by the test.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from datetime import datetime
from pathlib import Path

import wfdsl
from wfdsl import Manager
from wfdsl.runtime.context import Context
from wfdsl.stores import open_store
from wfdsl.stores.records import from_epoch_ms

TICKET = """workflow ticket {
    initial state open { enter on_open  exit off_open }
    state waiting { enter on_waiting }
    state escalated { enter on_escalated }
    final state closed { enter on_closed }
    final state expired { enter on_expired }
    event wait, answer, close
    open -> waiting on wait
    waiting -> open on answer
    open -> escalated after 10m if urgent
    open -> waiting after 10m
    waiting -> expired after 1h
    escalated -> closed after 5m
    * -> closed on close
}"""

HOOKS = ("on_open", "off_open", "on_waiting", "on_escalated", "on_closed", "on_expired")


def urgent(instance_id: str) -> bool:
    """The guard, known to the checker too: every third ticket is urgent."""
    return int(instance_id.rsplit("-", 1)[1]) % 3 == 0


class FileClock:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self) -> datetime:
        while True:
            try:
                return from_epoch_ms(int(self.path.read_text()))
            except (ValueError, FileNotFoundError):  # pragma: no cover - replaced atomically
                continue


def set_clock(path: Path, ms: int) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(str(ms))
    os.replace(tmp, path)


def append(path: Path, line: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def hooks(log: Path, die_after: int = 0) -> dict[str, object]:
    calls = [0]

    def record(ctx: Context) -> None:
        append(log, ctx.effect_key)
        calls[0] += 1
        if calls[0] == die_after:
            os.kill(os.getpid(), signal.SIGKILL)

    return {"urgent": lambda ctx: urgent(ctx.instance_id), **dict.fromkeys(HOOKS, record)}


def manager(url: str, work: Path, die_after: int = 0) -> Manager[str, str]:
    return Manager(
        wfdsl.loads(TICKET),
        open_store(url),
        hooks=hooks(work / "hooks.log", die_after),
        clock=FileClock(work / "clock"),
        wait=0.5,
    )


def main() -> None:
    url, work, mode = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    die_after = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    mgr = manager(url, work, die_after)
    if mode == "idle":
        stats = mgr.run_worker(until_idle=True, poll=0.05)
        report = mgr.resume()
        print(json.dumps({"ok": report.ok and stats.ok, "report": repr(report)}), flush=True)
        mgr.store.close()
        return
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print("ready", flush=True)
    mgr.run_worker(stop, poll=0.02)
    mgr.store.close()


if __name__ == "__main__":
    main()
