"""Another worker process, for tests of ordering and ownership across processes.

Usage: ``python child.py LOG STORE... -- ACTION...``

* ``STORE``: ``sqlite PATH`` or ``postgres DSN SCHEMA``.
* ``ACTION``: ``start ID``, ``send ID EVENT``, ``compensate ID STATE`` or ``resume``,
  optionally followed by ``block HOOK`` (the hook prints ``running HOOK`` and
  waits for a line on stdin before it returns) or ``die HOOK`` (the process
  kills itself with SIGKILL inside the hook, after logging it).

The workflow is :data:`SHOP` (the shape of the faults in issue reports: a
refund must never run before the charge it undoes), with default worker ids.
Every hook appends ``HOOK SEQ PID`` to ``LOG`` when it starts. The process
prints ``done`` when the action returns.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

import wfdsl
from wfdsl import Context, Manager
from wfdsl.stores.base import Store

SHOP = """
workflow shop {
    initial state created
    state paid {
        enter charge_card, send_receipt
        exit close_tab
        compensate refund_charge
    }
    final state cancelled { enter refund_card }
    event pay, cancel
    created -> paid on pay
    created, paid -> cancelled on cancel
}
"""


def log_line(log: str, line: str) -> None:
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def shop_hooks(log: str, block: str | None = None, die: str | None = None) -> dict[str, Any]:
    """Hooks that log, and block or die on cue."""
    spec = wfdsl.loads(SHOP)

    def hook(ctx: Context) -> None:
        log_line(log, f"{ctx.hook} {ctx.seq} {os.getpid()}")
        if ctx.hook == die:
            os.kill(os.getpid(), signal.SIGKILL)
        if ctx.hook == block:
            print(f"running {ctx.hook}", flush=True)
            sys.stdin.readline()

    return dict.fromkeys(spec.hook_names(), hook)


def open_store(args: list[str]) -> Store:
    if args[0] == "sqlite":
        from wfdsl.stores.sqlite import SQLiteStore

        return SQLiteStore(args[1])
    from wfdsl.stores.postgres import PostgresStore

    return PostgresStore(args[1], schema=args[2], application_name=args[2])


def main(argv: list[str]) -> None:
    log = argv[0]
    split = argv.index("--")
    store = open_store(argv[1:split])
    action = argv[split + 1 :]
    cue: dict[str, str] = {}
    for word in ("block", "die"):
        if word in action:
            at = action.index(word)
            cue[word] = action[at + 1]
            del action[at : at + 2]
    mgr = Manager(wfdsl.loads(SHOP), store, hooks=shop_hooks(log, **cue))
    if action[0] == "start":
        mgr.start(action[1])
    elif action[0] == "send":
        mgr.send(action[1], action[2])
    elif action[0] == "compensate":
        mgr.compensate(action[1], action[2])
    else:
        report = mgr.resume()
        print(f"ok {report.ok}", flush=True)
    print("done", flush=True)
    store.close()


if __name__ == "__main__":
    main(sys.argv[1:])
