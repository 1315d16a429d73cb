"""What the runtime's messages say, word for word where users read them."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from click.testing import CliRunner

import wfdsl
from wfdsl.cli import cli
from wfdsl.errors import (
    BindError,
    CompensationInProgress,
    HookFailed,
    InvalidInput,
    WorkInProgress,
    a_type,
)
from wfdsl.runtime.context import Context
from wfdsl.runtime.manager import Manager
from wfdsl.stores.base import Store
from wfdsl.stores.memory import MemoryStore

from .conftest import ROOT

ORDER = wfdsl.load(ROOT / "examples" / "order.wf")
SECRET = "hunter2-S3cret"
HANG = 60


def order_hooks(**overrides: Any) -> dict[str, Any]:
    hooks: dict[str, Any] = {name: (lambda ctx: True) for name in ORDER.guard_names}
    hooks["flagged_for_fraud"] = lambda ctx: False
    hooks.update({name: (lambda ctx: None) for name in ORDER.hook_names()})
    hooks.update(overrides)
    return hooks


# -- articles and type names -----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "said"),
    [(1, "an int"), ("x", "a str"), (None, "None"), ([], "a list"), (object(), "an object")],
)
def test_types_are_named_with_their_article(value: object, said: str) -> None:
    assert a_type(value) == said


def test_a_hook_that_is_not_callable_is_named_with_the_right_article() -> None:
    with pytest.raises(BindError) as bad:
        Manager(ORDER, MemoryStore(), hooks=order_hooks(charge_card=1, refund_card=None))
    assert "charge_card is not callable (it is an int)" in str(bad.value)
    assert " a int" not in str(bad.value)


def test_data_of_the_wrong_type_is_named_with_the_right_article(store: Store) -> None:
    mgr = Manager(ORDER, store, hooks=order_hooks())
    with pytest.raises(InvalidInput) as bad:
        mgr.start("o-1", data=7)  # type: ignore[arg-type]
    assert "not an int" in str(bad.value) and " a int" not in str(bad.value)


# -- hooks given as a class ---------------------------------------------------------------


def test_a_class_of_static_methods_binds_as_hooks(store: Store) -> None:
    ran: list[str] = []

    class Hooks:
        @staticmethod
        def card_valid(ctx: Context) -> bool:
            return True

        @staticmethod
        def flagged_for_fraud(ctx: Context) -> bool:
            return False

        in_stock = card_valid

        @classmethod
        def charge_card(cls, ctx: Context) -> None:
            ran.append(ctx.hook)

        @staticmethod
        def send_receipt(ctx: Context) -> None:
            ran.append(ctx.hook)

        refund_card = release_stock = reserve_stock = book_courier = recall_shipment = send_receipt

    mgr = Manager(ORDER, store, hooks=Hooks)
    mgr.start("o-1")
    mgr.send("o-1", "pay")
    assert ran == ["charge_card", "send_receipt"]


def test_a_class_whose_hooks_need_an_instance_says_exactly_which() -> None:
    class Hooks:
        @staticmethod
        def card_valid(ctx: Context) -> bool:
            return True

        def charge_card(self, ctx: Context) -> None:
            pass

    with pytest.raises(BindError) as bad:
        Manager(ORDER, MemoryStore(), hooks=Hooks)
    text = str(bad.value)
    assert "hooks is the class " in text and "Hooks, not an instance" in text
    assert "charge_card is a plain method (not @staticmethod)" in text
    assert "Hooks() (or a mapping of name to callable)" in text
    assert "hooks object lacks flagged_for_fraud" in text  # the missing, named too


# -- compensation ---------------------------------------------------------------------------


def test_a_compensate_to_another_state_names_the_walk_in_progress(store: Store) -> None:
    down = {"on": True}

    def release_stock(ctx: Context) -> None:
        if down["on"]:
            raise RuntimeError("warehouse offline")

    mgr = Manager(ORDER, store, hooks=order_hooks(release_stock=release_stock))
    mgr.start("o-1")
    mgr.send("o-1", "pay")
    mgr.send("o-1", "pack")
    with pytest.raises(HookFailed):
        mgr.compensate("o-1", "created")
    with pytest.raises(CompensationInProgress) as refused:
        mgr.compensate("o-1", "paid")
    assert str(refused.value) == (
        "order: compensate('o-1', 'paid') is refused: instance 'o-1' is being compensated "
        "back to 'created'; call compensate('o-1', 'created') again to finish"
    )
    assert refused.value.target == "created"
    down["on"] = False
    assert [t.target for t in mgr.compensate("o-1", "created")] == ["created"]


# -- work in progress and work queued behind it ------------------------------------------------


def test_the_report_tells_the_hook_in_hand_from_the_hooks_queued_behind_it(store: Store) -> None:
    entered, release = threading.Event(), threading.Event()

    def charge_card(ctx: Context) -> None:
        entered.set()
        assert release.wait(HANG)

    mgr = Manager(ORDER, store, hooks=order_hooks(charge_card=charge_card), wait=0)
    mgr.start("o-1")
    sender = threading.Thread(target=mgr.send, args=("o-1", "pay"))
    sender.start()
    try:
        assert entered.wait(HANG)
        report = mgr.resume()
        assert report.in_progress == [("o-1", "charge_card", mgr.worker_id)]
        assert report.queued == [("o-1", "send_receipt")]
        assert not report.ok
        with pytest.raises(WorkInProgress) as busy:
            mgr.send("o-1", "pack")
        assert "running (charge_card, held by " in str(busy.value)
        assert "; then send_receipt, queued after it)" in str(busy.value)
    finally:
        release.set()
        sender.join(HANG)
    assert mgr.resume().ok


# -- the CLI's PostgreSQL connect error ------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["worker", "--spec", str(ROOT / "examples" / "order.wf"), "--until-idle"],
        ["timers"],
        ["send", "o-1", "pay", "--spec", str(ROOT / "examples" / "order.wf")],
        ["resume", "--spec", str(ROOT / "examples" / "order.wf")],
    ],
    ids=["worker", "timers", "send", "resume"],
)
@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://postgres:{SECRET}@127.0.0.1:1/test",
        f"host=127.0.0.1 port=1 dbname=test password='my {SECRET}'",
    ],
    ids=["url", "keywords"],
)
def test_a_postgres_connect_error_is_one_line_without_the_password(
    args: list[str], url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("psycopg")
    monkeypatch.setenv("PGCONNECT_TIMEOUT", "2")
    result = CliRunner().invoke(cli, [*args, "--db", url], catch_exceptions=False)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("wfdsl: error: --db ")
    assert "cannot connect to PostgreSQL" in lines[0]
    assert SECRET not in result.output and "***" in lines[0]
