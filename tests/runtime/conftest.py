"""Runtime tests run on every store of tests/conftest.py's ``STORES``: memory,
a real SQLite file and a real PostgreSQL server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import wfdsl
from wfdsl.ir import Spec
from wfdsl.runtime.context import Context

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def order_spec() -> Spec:
    return wfdsl.load(ROOT / "examples" / "order.wf")


class OrderHooks:
    """Guards from attributes, hooks that log ``(hook, effect_key, attempt)`` and can be made to fail."""

    def __init__(self) -> None:
        self.card_ok = True
        self.fraud = False
        self.stock = True
        self.log: list[tuple[str, str, int]] = []
        self.contexts: list[Context] = []
        #: hook name -> how many more times it raises
        self.failures: dict[str, int] = {}

    def card_valid(self, ctx: Context) -> bool:
        return self.card_ok

    def flagged_for_fraud(self, ctx: Context) -> bool:
        return self.fraud

    def in_stock(self, ctx: Context) -> bool:
        return self.stock

    def _hook(self, name: str, ctx: Context) -> None:
        if self.failures.get(name, 0) > 0:
            self.failures[name] -= 1
            raise RuntimeError(f"{name} is down")
        self.log.append((name, ctx.effect_key, ctx.attempt))
        self.contexts.append(ctx)

    def __getattr__(self, name: str) -> Any:
        if name in {
            "charge_card",
            "send_receipt",
            "refund_card",
            "reserve_stock",
            "release_stock",
            "book_courier",
            "recall_shipment",
        }:
            return lambda ctx: self._hook(name, ctx)
        raise AttributeError(name)

    def ran(self) -> list[str]:
        return [name for name, _, _ in self.log]


@pytest.fixture
def hooks() -> OrderHooks:
    return OrderHooks()
