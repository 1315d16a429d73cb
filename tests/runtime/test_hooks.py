"""Hook failures (SPEC §7): the transition stands, work stays pending, retried, dead after N."""

from __future__ import annotations

import pytest

import wfdsl
from wfdsl import Manager
from wfdsl.errors import HookFailed, WorkDead
from wfdsl.ir import Spec
from wfdsl.stores.base import Store
from wfdsl.stores.records import WorkStatus

from .conftest import OrderHooks


def test_a_failing_hook_raises_hook_failed_and_the_transition_stands(
    order_spec: Spec, store: Store, hooks: OrderHooks
) -> None:
    hooks.failures["send_receipt"] = 1
    mgr = Manager(order_spec, store, hooks=hooks)
    mgr.start("o-1")
    with pytest.raises(HookFailed) as info:
        mgr.send("o-1", "pay")
    err = info.value
    assert (err.instance_id, err.seq, err.hook, err.attempt) == ("o-1", 2, "send_receipt", 1)
    assert "send_receipt is down" in err.error
    assert mgr.state("o-1") == "paid"
    assert hooks.ran() == ["charge_card"]


def test_failed_work_stays_pending_with_its_error_and_attempts(
    order_spec: Spec, store: Store, hooks: OrderHooks
) -> None:
    hooks.failures["charge_card"] = 1
    mgr = Manager(order_spec, store, hooks=hooks)
    mgr.start("o-1")
    with pytest.raises(HookFailed):
        mgr.send("o-1", "pay")
    work = store.pending_work("order", "o-1")
    assert [(w.hook, w.attempts, w.status) for w in work] == [
        ("charge_card", 1, WorkStatus.PENDING),
        ("send_receipt", 0, WorkStatus.PENDING),
    ]
    assert work[0].last_error == "RuntimeError: charge_card is down"
    assert mgr.instance("o-1").pending == 2


def test_the_next_send_first_retries_pending_work_in_order(
    order_spec: Spec, store: Store, hooks: OrderHooks
) -> None:
    hooks.failures["charge_card"] = 1
    mgr = Manager(order_spec, store, hooks=hooks)
    mgr.start("o-1")
    with pytest.raises(HookFailed):
        mgr.send("o-1", "pay")
    mgr.send("o-1", "pack")
    assert hooks.ran() == ["charge_card", "send_receipt", "reserve_stock"]
    assert mgr.instance("o-1").pending == 0


def test_a_retry_keeps_the_effect_key_and_counts_the_attempt(
    order_spec: Spec, store: Store, hooks: OrderHooks
) -> None:
    hooks.failures["charge_card"] = 2
    mgr = Manager(order_spec, store, hooks=hooks)
    mgr.start("o-1")
    for _ in range(2):
        with pytest.raises(HookFailed):
            mgr.send("o-1", "pack") if mgr.state("o-1") == "paid" else mgr.send("o-1", "pay")
    mgr.resume()
    assert hooks.log[0] == ("charge_card", "order/o-1/2/charge_card", 3)


def test_when_pending_work_fails_again_the_new_event_is_not_applied(
    order_spec: Spec, store: Store, hooks: OrderHooks
) -> None:
    hooks.failures["charge_card"] = 2
    mgr = Manager(order_spec, store, hooks=hooks)
    mgr.start("o-1")
    with pytest.raises(HookFailed):
        mgr.send("o-1", "pay")
    with pytest.raises(HookFailed):
        mgr.send("o-1", "pack")
    assert mgr.state("o-1") == "paid"
    assert len(mgr.history("o-1")) == 2


def test_work_failing_max_attempts_times_is_dead_and_blocks_the_instance(
    order_spec: Spec, store: Store, hooks: OrderHooks
) -> None:
    hooks.failures["charge_card"] = 10
    mgr = Manager(order_spec, store, hooks=hooks, max_attempts=3)
    mgr.start("o-1")
    with pytest.raises(HookFailed):
        mgr.send("o-1", "pay")
    report = mgr.resume()
    assert report.failed and not report.dead
    report = mgr.resume()
    assert report.dead == ["o-1"]
    assert mgr.instance("o-1").dead == 1
    assert mgr.resume().failed == []  # dead work is not retried by resume
    with pytest.raises(WorkDead) as info:
        mgr.send("o-1", "pack")
    assert info.value.hooks == ("charge_card",)


def test_retry_re_drives_dead_work(order_spec: Spec, store: Store, hooks: OrderHooks) -> None:
    hooks.failures["charge_card"] = 1
    mgr = Manager(order_spec, store, hooks=hooks, max_attempts=1)
    mgr.start("o-1")
    with pytest.raises(HookFailed):
        mgr.send("o-1", "pay")
    assert mgr.instance("o-1").dead == 1
    assert mgr.retry("o-1") == 1
    assert hooks.ran() == ["charge_card", "send_receipt"]
    assert (mgr.instance("o-1").dead, mgr.instance("o-1").pending) == (0, 0)
    mgr.send("o-1", "pack")


def test_a_failing_start_hook_leaves_the_instance_started(store: Store) -> None:

    spec = wfdsl.loads(
        "workflow w { initial state a { enter boot } final state b event go a -> b on go }"
    )
    calls = []

    def boot(ctx: object) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise OSError("disk full")

    mgr = Manager(spec, store, hooks={"boot": boot})
    with pytest.raises(HookFailed):
        mgr.start("1")
    assert mgr.state("1") == "a"
    mgr.send("1", "go")
    assert len(calls) == 2


def test_a_hook_named_on_exit_and_enter_of_a_self_transition_gets_two_effect_keys(
    store: Store,
) -> None:

    spec = wfdsl.loads("workflow w { initial state a { enter log exit log } event e a -> a on e }")
    keys: list[str] = []
    mgr = Manager(spec, store, hooks={"log": lambda c: keys.append(c.effect_key)})
    mgr.start("1")
    mgr.send("1", "e")
    assert keys == ["w/1/1/log", "w/1/2/log", "w/1/2/log#2"]
