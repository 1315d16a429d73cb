"""An application using the generated ``order_wf`` module as intended.

``mypy --strict`` must accept this file as it is (tests/codegen/test_tools.py),
and tests/codegen/test_runtime.py runs it against the real runtime.
"""

from __future__ import annotations

from typing import assert_type

from order_wf import SPEC, Event, Hooks, State, manager

from wfdsl import Context, Manager, MemoryStore


class OrderHooks:
    """Implements the generated ``Hooks`` protocol; it does not inherit from it."""

    def __init__(self) -> None:
        self.effects: list[str] = []

    def card_valid(self, ctx: Context) -> bool:
        return ctx.data.get("card") != "expired"

    def flagged_for_fraud(self, ctx: Context) -> bool:
        return False

    def in_stock(self, ctx: Context) -> bool:
        return True

    def charge_card(self, ctx: Context) -> None:
        self.effects.append(ctx.effect_key)

    def send_receipt(self, ctx: Context) -> None:
        self.effects.append(ctx.effect_key)

    def refund_card(self, ctx: Context) -> None:
        self.effects.append(ctx.effect_key)

    def reserve_stock(self, ctx: Context) -> None:
        self.effects.append(ctx.effect_key)

    def release_stock(self, ctx: Context) -> None:
        self.effects.append(ctx.effect_key)

    def book_courier(self, ctx: Context) -> None:
        self.effects.append(ctx.effect_key)

    def recall_shipment(self, ctx: Context) -> None:
        self.effects.append(ctx.effect_key)


def deliver_one_order(hooks: OrderHooks) -> list[State]:
    """Drive one order from checkout to delivery; the states it went through."""
    checked: Hooks = hooks
    mgr = manager(MemoryStore(), checked)
    assert_type(mgr, Manager[State, Event])
    assert mgr.spec is SPEC
    mgr.start("o-1")
    path = [mgr.state("o-1")]
    for event in (Event.PAY, Event.PACK, Event.SHIP, Event.DELIVER):
        mgr.send("o-1", event, key=f"{event}-1")
        path.append(mgr.state("o-1"))
    assert_type(path[-1], State)
    return path


def is_finished(state: State) -> bool:
    """Exhaustive over the generated enum: mypy checks every member is handled."""
    match state:
        case State.DELIVERED | State.CANCELLED:
            return True
        case State.CREATED | State.PAID | State.PACKED | State.SHIPPED:
            return False
