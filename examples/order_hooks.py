"""Guards and hooks for examples/order.wf, doing real work against a SQLite ledger.

Every effect is written in the ledger's own transaction together with the
hook's ``effect_key``: a hook that runs again after a crash or a failure (hooks
are delivered at least once) finds its key and does nothing, so each payment,
refund, reservation and booking happens exactly once.

Use from the shell: ``wfdsl send o-1 pay --spec examples/order.wf
--hooks examples/order_hooks.py:OrderHooks --db orders.db`` (the ledger file is
``$ORDER_LEDGER``, default ``orders.ledger.db``).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable

from wfdsl import Context

LEDGER_SCHEMA = """
CREATE TABLE IF NOT EXISTS effects (effect_key TEXT PRIMARY KEY, kind TEXT NOT NULL,
                                    order_id TEXT NOT NULL, amount INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS stock (sku TEXT PRIMARY KEY, on_hand INTEGER NOT NULL);
INSERT OR IGNORE INTO stock VALUES ('widget', 3);
"""

#: Orders above this amount are held for a fraud review.
FRAUD_LIMIT = 10_000


class OrderHooks:
    """One method per guard and hook of ``order.wf``."""

    def __init__(self, ledger: str | None = None) -> None:
        self.ledger = ledger or os.environ.get("ORDER_LEDGER", "orders.ledger.db")
        with self._db() as db:
            db.executescript(LEDGER_SCHEMA)
        #: Test doubles for a flaky outside world: hook name -> failures left.
        self.outages: dict[str, int] = {}
        #: Called after an effect is committed (the demo uses it to "crash").
        self.after_effect: Callable[[Context], None] | None = None

    def _db(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.ledger, isolation_level=None, timeout=30)
        db.execute("PRAGMA journal_mode = WAL")
        return db

    def _effect(self, ctx: Context, kind: str, amount: int = 0, stock: int = 0) -> None:
        """Apply one effect exactly once, keyed by ``ctx.effect_key``."""
        if self.outages.get(ctx.hook, 0) > 0:
            self.outages[ctx.hook] -= 1
            raise ConnectionError(f"{kind}: the service is unavailable")
        db = self._db()
        try:
            db.execute("BEGIN IMMEDIATE")
            done = db.execute(
                "SELECT 1 FROM effects WHERE effect_key = ?", (ctx.effect_key,)
            ).fetchone()
            if done is None:
                db.execute(
                    "INSERT INTO effects VALUES (?, ?, ?, ?)",
                    (ctx.effect_key, kind, ctx.instance_id, amount),
                )
                if stock:
                    db.execute(
                        "UPDATE stock SET on_hand = on_hand + ? WHERE sku = 'widget'", (stock,)
                    )
            db.execute("COMMIT")
        finally:
            db.close()
        if self.after_effect is not None:
            self.after_effect(ctx)

    # -- guards -------------------------------------------------------------------

    def card_valid(self, ctx: Context) -> bool:
        return ctx.data.get("card") != "expired"

    def flagged_for_fraud(self, ctx: Context) -> bool:
        return int(ctx.data.get("amount", 0)) > FRAUD_LIMIT

    def in_stock(self, ctx: Context) -> bool:
        db = self._db()
        try:
            (on_hand,) = db.execute("SELECT on_hand FROM stock WHERE sku = 'widget'").fetchone()
        finally:
            db.close()
        return int(on_hand) > 0

    # -- hooks --------------------------------------------------------------------

    def charge_card(self, ctx: Context) -> None:
        self._effect(ctx, "charge", amount=int(ctx.data.get("amount", 0)))

    def send_receipt(self, ctx: Context) -> None:
        self._effect(ctx, "receipt")

    def reserve_stock(self, ctx: Context) -> None:
        self._effect(ctx, "reserve", stock=-1)

    def book_courier(self, ctx: Context) -> None:
        self._effect(ctx, "courier")

    # -- compensators ---------------------------------------------------------------

    def refund_card(self, ctx: Context) -> None:
        # A compensation step carries the data of the transition it undoes.
        self._effect(ctx, "refund", amount=-int(ctx.data.get("amount", 0)))

    def release_stock(self, ctx: Context) -> None:
        self._effect(ctx, "release", stock=+1)

    def recall_shipment(self, ctx: Context) -> None:
        self._effect(ctx, "recall")

    # -- reading the ledger -----------------------------------------------------------

    def effects(self, order_id: str | None = None) -> list[tuple[str, str, int]]:
        """``(order_id, kind, amount)`` of every effect applied, oldest first."""
        db = self._db()
        try:
            sql = "SELECT order_id, kind, amount FROM effects"
            args: tuple[str, ...] = ()
            if order_id is not None:
                sql += " WHERE order_id = ?"
                args = (order_id,)
            return [(r[0], r[1], int(r[2])) for r in db.execute(sql + " ORDER BY rowid", args)]
        finally:
            db.close()

    def stock(self) -> int:
        db = self._db()
        try:
            return int(db.execute("SELECT on_hand FROM stock WHERE sku = 'widget'").fetchone()[0])
        finally:
            db.close()
