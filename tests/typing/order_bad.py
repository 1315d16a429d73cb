"""Misuses of the generated ``order_wf`` module that ``mypy --strict`` must reject.

Each line marked ``# error: CODE`` must get exactly that mypy error, and no
other line any (tests/codegen/test_tools.py). This file is never run.
"""

from __future__ import annotations

from order_wf import Event, Hooks, State, manager

from wfdsl import Context, MemoryStore


class MissingHooks:
    """Has the guards but none of the hooks."""

    def card_valid(self, ctx: Context) -> bool:
        return True

    def flagged_for_fraud(self, ctx: Context) -> bool:
        return False

    def in_stock(self, ctx: Context) -> bool:
        return True


def misuse(hooks: Hooks) -> None:
    mgr = manager(MemoryStore(), hooks)
    mgr.send("o-1", Event.PAY)
    mgr.send("o-1", State.PAID)  # error: arg-type
    mgr.send("o-1", "pay")  # error: arg-type
    event: Event = mgr.state("o-1")  # error: assignment
    print(event)
    manager(MemoryStore(), MissingHooks())  # error: arg-type
