"""Order fulfilment on the durable runtime: a short story told on a real SQLite store.

    python examples/order_app.py [--db PATH]

The workflow is examples/order.wf; the hooks (examples/order_hooks.py) charge,
reserve, book and refund against a second SQLite file, the ledger, using each
hook's ``effect_key`` so that every effect happens exactly once even though
hooks may run more than once. The story shows an idempotent retry, a guard
saying no, a flaky courier API, a worker process killed (kill -9) in the middle
of a payment whose work the restarted process takes over at once, a
compensation, and unpaid orders expiring (``created -> cancelled after 30m``)
on a controlled clock. It leaves one unpaid order placed 31 minutes ago for
``wfdsl worker`` to cancel (``scripts/demo.sh`` runs it).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from order_hooks import OrderHooks  # noqa: E402

from wfdsl import Context, Manager, SQLiteStore, load  # noqa: E402
from wfdsl.errors import GuardRejected, HookFailed, IllegalTransition  # noqa: E402

#: Seconds a worker holds hook work before others presume it hung. A dead
#: worker's work is free at once, whatever this says.
LEASE = 60.0


def say(text: str) -> None:
    print(text, flush=True)


def manager(db: str, hooks: OrderHooks) -> Manager[str, str]:
    return Manager(load(HERE / "order.wf"), SQLiteStore(db), hooks=hooks, lease=LEASE)


def crash_during_payment(db: str, ledger: str, order: str) -> None:
    """Child process: pay for ``order`` and die (SIGKILL, as ``kill -9``) right
    after the card is charged, before the runtime records the hook as done."""
    hooks = OrderHooks(ledger)

    def die(ctx: Context) -> None:
        if ctx.hook == "charge_card":
            os.kill(os.getpid(), signal.SIGKILL)

    hooks.after_effect = die
    manager(db, hooks).send(order, "pay", key=f"checkout-{order}", data={"amount": 4200})
    raise SystemExit("unreachable: the worker should have died")


def ledger_line(hooks: OrderHooks, order: str) -> str:
    effects = hooks.effects(order)
    return (
        ", ".join(f"{kind}{f' {amount}' if amount else ''}" for _, kind, amount in effects)
        or "nothing"
    )


def story(db: str, ledger: str) -> None:
    hooks = OrderHooks(ledger)
    mgr = manager(db, hooks)
    say(f"store: {db}   ledger: {ledger}   (stock: {hooks.stock()} widgets)\n")

    say("1. o-1 goes from checkout to the customer's door")
    mgr.start("o-1")
    first = mgr.send("o-1", "pay", key="checkout-o-1", data={"amount": 1200})
    say(f"   pay        -> {first.target} (seq {first.seq}); card charged, receipt sent")
    again = mgr.send("o-1", "pay", key="checkout-o-1", data={"amount": 1200})
    say(
        f"   pay again with the same key -> the original transition (seq {again.seq}), nothing charged twice"
    )
    for event in ("pack", "ship", "deliver"):
        t = mgr.send("o-1", event)
        say(f"   {event:<10} -> {t.target} (seq {t.seq})")
    say(f"   ledger: {ledger_line(hooks, 'o-1')}\n")

    say("2. o-2 pays with an expired card: the guard says no")
    mgr.start("o-2")
    try:
        mgr.send("o-2", "pay", data={"amount": 800, "card": "expired"})
    except GuardRejected as exc:
        say(
            f"   rejected: every guard was false ({'; '.join(exc.guards)}); still {mgr.state('o-2')}"
        )
    mgr.send("o-2", "cancel")
    say(f"   cancel     -> {mgr.state('o-2')}\n")

    say("3. o-3: the courier API is down when the parcel ships")
    mgr.start("o-3")
    mgr.send("o-3", "pay", data={"amount": 990})
    mgr.send("o-3", "pack")
    hooks.outages["book_courier"] = 1
    try:
        mgr.send("o-3", "ship")
    except HookFailed as exc:
        say(f"   ship stands (state {mgr.state('o-3')}), but {exc.hook} failed: {exc.error}")
        say(f"   pending hook work: {mgr.instance('o-3').pending}")
    report = mgr.resume()
    say(
        f"   resume() ran {', '.join(h for _, h in report.completed)}; pending now {mgr.instance('o-3').pending}"
    )
    say(f"   ledger: {ledger_line(hooks, 'o-3')}\n")

    say("4. o-4: the worker process is killed (kill -9) right after charging the card")
    mgr.start("o-4")
    mgr.store.close()
    child = subprocess.run(
        [sys.executable, __file__, "--db", db, "--ledger", ledger, "--crash-during-payment", "o-4"],
        check=False,
    )
    say(f"   worker died (signal {-child.returncode}) before recording charge_card as done")
    mgr = manager(db, hooks)
    inst = mgr.instance("o-4")
    holders = {w.lease_owner for w in mgr.store.pending_work("order", "o-4")}
    say(
        f"   after restart: o-4 is {inst.state}, {inst.pending} hook(s) owed, held by "
        f"{', '.join(sorted(h or '-' for h in holders))} (gone); ledger: {ledger_line(hooks, 'o-4')}"
    )
    report = mgr.resume()
    say(
        f"   resume() took the dead worker's work over at once (no {LEASE:g} s lease to wait for) "
        f"and ran {', '.join(h for _, h in report.completed)}; report ok: {report.ok}"
    )
    say(
        f"   ledger: {ledger_line(hooks, 'o-4')}  <- charged once: effect_key made the retry a no-op\n"
    )

    say("5. o-5: the warehouse finds the parcel damaged after packing; undo back to created")
    mgr.start("o-5")
    mgr.send("o-5", "pay", data={"amount": 3100})
    mgr.send("o-5", "pack")
    steps = mgr.compensate("o-5", "created")
    say("   compensate: " + "; ".join(f"{t.source} -> {t.target}" for t in steps))
    mgr.send("o-5", "cancel")
    say(f"   cancel     -> {mgr.state('o-5')}; ledger: {ledger_line(hooks, 'o-5')}\n")

    say("6. o-6 and o-7 are never paid: order.wf cancels them after 30m (on a controlled clock)")
    # The story happens in the last hour, so that no transition is dated later than now.
    placed = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=50)
    clock = [placed]
    mgr.set_clock(lambda: clock[0])
    mgr.start("o-6")
    (timer,) = mgr.timers("o-6")
    say(
        f"   o-6 placed at {placed:%H:%M:%S}; armed: {timer.state} -> {timer.target}, "
        f"due {timer.due_at:%H:%M:%S}"
    )
    clock[0] = placed + timedelta(minutes=5)
    mgr.start("o-7")
    say("   o-7 placed at +5m: due at +35m")
    clock[0] = placed + timedelta(minutes=29)
    say(f"   at +29m a worker's fire_due() fires {len(mgr.fire_due().fired)} timer(s)")
    clock[0] = placed + timedelta(minutes=30)
    (fired,) = mgr.fire_due().fired
    t = fired.transition
    say(
        f"   at +30m it fires o-6: {t.source} -> {t.target} ({t.kind} at {t.at:%H:%M:%S}, key {t.key})"
    )
    clock[0] = placed + timedelta(minutes=45)  # no worker ran since
    try:
        mgr.send("o-7", "pay", data={"amount": 500})
    except IllegalTransition as exc:
        last = mgr.history("o-7")[-1]
        say(
            f"   at +45m o-7's customer pays, too late: send fired the overdue timer first "
            f"({last.kind} at {last.at:%H:%M:%S}), and {exc.state} accepts no pay"
        )
    mgr.set_clock(lambda: datetime.now(UTC))
    say(f"   ledger for o-7: {ledger_line(hooks, 'o-7')}\n")

    say("7. o-8 was placed 31 minutes ago and nobody has paid: its timer is overdue")
    mgr.set_clock(lambda: datetime.now(UTC) - timedelta(minutes=31))
    mgr.start("o-8")
    mgr.set_clock(lambda: datetime.now(UTC))
    (timer,) = mgr.timers("o-8")
    say(
        f"   due {timer.due_at:%H:%M:%S} UTC; `wfdsl worker` cancels it (scripts/demo.sh runs one)\n"
    )

    say("Where everything ended up:")
    for rec in mgr.store.instances("order"):
        path = " -> ".join(t.target for t in mgr.history(rec.instance_id))
        say(f"   {rec.instance_id}: {rec.state:<10} {path}")
    say(f"   widgets in stock: {hooks.stock()}")
    mgr.store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="SQLite store to create (default: a temporary directory)")
    parser.add_argument("--ledger", help=argparse.SUPPRESS)
    parser.add_argument("--crash-during-payment", metavar="ORDER", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.crash_during_payment:
        crash_during_payment(args.db, args.ledger, args.crash_during_payment)
        return
    db = args.db or os.path.join(tempfile.mkdtemp(prefix="wfdsl-orders-"), "orders.db")
    if os.path.exists(db):
        parser.error(
            f"{db} exists; remove it or choose another --db (the story starts from scratch)"
        )
    os.makedirs(os.path.dirname(os.path.abspath(db)), exist_ok=True)
    ledger = os.path.splitext(db)[0] + ".ledger.db"
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(ledger + suffix):
            os.remove(ledger + suffix)
    story(db, ledger)


if __name__ == "__main__":
    main()
