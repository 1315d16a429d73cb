"""Timed transitions at run time (SPEC §2, §7.2), on every store, driven by a
controlled clock: arming and disarming, due order and written order, guards
that spend timers, ``send`` firing due timers first, chains, compensation,
changed specs, and firing exactly once however many try."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

import wfdsl
from wfdsl.errors import (
    GuardFailed,
    IllegalTransition,
    InvalidInput,
    UnknownInstance,
    UnknownState,
)
from wfdsl.ir import Spec
from wfdsl.runtime.aio import AsyncManager
from wfdsl.runtime.context import Context
from wfdsl.runtime.manager import Manager
from wfdsl.runtime.timers import LEAVE_FOR
from wfdsl.stores.base import Store
from wfdsl.stores.records import InstanceRecord, Transition, TransitionKind, epoch_ms

TICKET = """
workflow ticket {
    initial state open { enter opened  exit left_open }
    state waiting { enter waited }
    state escalated { enter escalated_hook }
    final state closed
    final state expired
    event wait, answer, close, poke
    open -> waiting on wait
    waiting -> open on answer
    open -> open on poke
    open -> escalated after 10m if urgent
    open -> waiting after 10m
    waiting -> expired after 1h
    escalated -> closed after 5m
    * -> closed on close
}
"""

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Clock:
    """The manager's clock, moved by the test."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


class TicketHooks:
    """Hooks that log ``(hook, effect_key)``; ``urgent`` holds for ids in ``self.urgent``."""

    def __init__(self) -> None:
        self.log: list[tuple[str, str]] = []
        self.urgent: set[str] = set()
        self.contexts: list[Context] = []
        self.failing: set[str] = set()

    def urgent_guard(self, ctx: Context) -> bool:
        self.contexts.append(ctx)
        return ctx.instance_id in self.urgent

    def as_mapping(self) -> dict[str, Any]:
        def hook(name: str) -> Any:
            def run(ctx: Context) -> None:
                if name in self.failing:
                    raise ConnectionError(f"{name} is down")
                self.log.append((name, ctx.effect_key))

            return run

        names = ("opened", "left_open", "waited", "escalated_hook")
        return {"urgent": self.urgent_guard, **{n: hook(n) for n in names}}


@pytest.fixture
def spec() -> Spec:
    return wfdsl.loads(TICKET)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def hooks() -> TicketHooks:
    return TicketHooks()


@pytest.fixture
def mgr(spec: Spec, store: Store, hooks: TicketHooks, clock: Clock) -> Manager[str, str]:
    return Manager(spec, store, hooks=hooks.as_mapping(), clock=clock)


def kinds(mgr: Manager[str, str], iid: str) -> list[tuple[str, str | None, str]]:
    return [(str(t.kind), t.source, t.target) for t in mgr.history(iid)]


# -- arming ----------------------------------------------------------------------------


def test_start_arms_the_initial_states_timers_at_its_time_plus_the_duration(
    mgr: Manager[str, str],
) -> None:
    mgr.start("t-1")
    armed = mgr.timers("t-1")
    assert [(t.state, t.target, t.after_ms, t.due_at) for t in armed] == [
        ("open", "escalated", 600_000, T0 + timedelta(minutes=10)),
        ("open", "waiting", 600_000, T0 + timedelta(minutes=10)),
    ]
    assert mgr.next_due() == T0 + timedelta(minutes=10)
    assert mgr.instance("t-1").next_due == epoch_ms(T0 + timedelta(minutes=10))


def test_nothing_fires_before_it_is_due(mgr: Manager[str, str], clock: Clock) -> None:
    mgr.start("t-1")
    clock.advance(minutes=9, seconds=59, milliseconds=999)
    report = mgr.fire_due()
    assert (report.fired, report.spent, report.ok) == ([], [], True)
    assert mgr.state("t-1") == "open"


def test_a_due_timer_fires_as_a_timer_transition_with_the_hooks_of_an_event(
    mgr: Manager[str, str], clock: Clock, hooks: TicketHooks
) -> None:
    mgr.start("t-1")
    clock.advance(minutes=25)  # a late worker: the transition is still dated when it was due
    report = mgr.fire_due()
    (fired,) = report.fired
    t = fired.transition
    assert (t.seq, t.kind, t.source, t.target, t.event) == (
        2,
        TransitionKind.TIMER,
        "open",
        "waiting",
        None,
    )
    assert t.at == T0 + timedelta(minutes=10)
    assert t.key == "wfdsl-timer:1:1" == fired.timer.transition_key
    assert mgr.history("t-1")[-1] == t
    assert hooks.log[-2:] == [
        ("left_open", "ticket/t-1/2/left_open"),
        ("waited", "ticket/t-1/2/waited"),
    ]
    # The guarded timer due at the same moment came first and was spent.
    assert [(s.target, s.index) for s in report.spent] == [("escalated", 0)]
    # Its target's timer counts from the due time, not from when it fired.
    assert [x.due_at for x in mgr.timers("t-1")] == [T0 + timedelta(minutes=70)]


def test_leaving_the_state_disarms_its_timers(mgr: Manager[str, str], clock: Clock) -> None:
    mgr.start("t-1")
    clock.advance(minutes=5)
    mgr.send("t-1", "wait")
    clock.advance(minutes=6)  # the open timers would be due now
    assert mgr.fire_due().fired == []
    assert [(t.state, t.due_at) for t in mgr.timers("t-1")] == [
        ("waiting", T0 + timedelta(minutes=65))
    ]


def test_a_self_transition_re_arms_from_the_time_it_re_enters(
    mgr: Manager[str, str], clock: Clock
) -> None:
    mgr.start("t-1")
    clock.advance(minutes=8)
    mgr.send("t-1", "poke")
    assert {t.due_at for t in mgr.timers("t-1")} == {T0 + timedelta(minutes=18)}
    assert {t.seq for t in mgr.timers("t-1")} == {2}
    clock.advance(minutes=3)  # 11 minutes after start: the first visit's timers are gone
    assert mgr.fire_due().fired == []


def test_a_final_state_arms_nothing(mgr: Manager[str, str]) -> None:
    mgr.start("t-1")
    mgr.send("t-1", "close")
    assert mgr.timers("t-1") == []
    assert mgr.next_due() is None


def test_timers_of_an_unknown_instance_raise(mgr: Manager[str, str]) -> None:
    with pytest.raises(UnknownInstance):
        mgr.timers("ghost")


# -- order and guards -----------------------------------------------------------------


def test_due_timers_are_tried_in_due_order_then_written_order(store: Store, clock: Clock) -> None:
    spec = wfdsl.loads(
        """workflow race {
            initial state a
            final state by_order_b
            final state by_order_c
            final state sooner
            a -> by_order_b after 1h
            a -> by_order_c after 1h
            a -> sooner after 59m59s
        }"""
    )
    mgr = Manager(spec, store, clock=clock)
    mgr.start("r")
    clock.advance(hours=2)
    (fired,) = mgr.fire_due().fired
    assert fired.transition.target == "sooner"  # due first, though written last
    assert fired.transition.at == T0 + timedelta(minutes=59, seconds=59)


def test_written_order_breaks_a_tie_of_due_times(store: Store, clock: Clock) -> None:
    spec = wfdsl.loads(
        """workflow race {
            initial state a
            final state first
            final state second
            a -> second after 1h if never
            a -> first after 1h
            a -> second after 1h
        }"""
    )
    mgr = Manager(spec, store, hooks={"never": lambda ctx: False}, clock=clock)
    mgr.start("r")
    clock.advance(hours=1)
    report = mgr.fire_due()
    assert [f.transition.target for f in report.fired] == ["first"]
    assert [(s.target, s.index) for s in report.spent] == [("second", 0)]


def test_a_timer_whose_guard_is_false_is_spent_and_never_re_arms(
    store: Store, clock: Clock, hooks: TicketHooks
) -> None:
    only_guarded = wfdsl.loads(
        """workflow nag {
            initial state quiet
            final state loud
            quiet -> loud after 5m if urgent
        }"""
    )
    nag = Manager(only_guarded, store, hooks={"urgent": hooks.urgent_guard}, clock=clock)
    nag.start("n-1")
    clock.advance(minutes=5)
    report = nag.fire_due()
    assert (report.fired, [s.target for s in report.spent]) == ([], ["loud"])
    assert nag.timers("n-1") == [] and nag.next_due() is None
    hooks.urgent.add("n-1")  # too late: the timer was spent
    clock.advance(hours=1)
    assert nag.fire_due().fired == [] and nag.state("n-1") == "quiet"
    (ctx,) = hooks.contexts
    assert (ctx.event, ctx.source, ctx.target, ctx.seq, dict(ctx.data)) == (
        None,
        "quiet",
        "loud",
        2,
        {},
    )


def test_a_true_guard_fires_its_timer_first(
    mgr: Manager[str, str], clock: Clock, hooks: TicketHooks
) -> None:
    hooks.urgent.add("u-1")
    mgr.start("u-1")
    clock.advance(minutes=10)
    report = mgr.fire_due()
    assert [f.transition.target for f in report.fired] == ["escalated"]
    assert report.spent == []  # the other timer went with the state it was armed in


def test_wildcard_timed_transitions_arm_in_every_non_final_state(
    store: Store, clock: Clock
) -> None:
    spec = wfdsl.loads(
        """workflow deadline {
            initial state a
            state b
            final state done
            final state too_late
            event next
            a -> b on next
            b -> done on next
            * -> too_late after 1d
        }"""
    )
    mgr = Manager(spec, store, clock=clock)
    mgr.start("d")
    clock.advance(hours=23)
    mgr.send("d", "next")  # b re-arms the day from here
    assert [t.due_at for t in mgr.timers("d")] == [T0 + timedelta(hours=47)]
    clock.advance(hours=24)
    assert [f.transition.target for f in mgr.fire_due().fired] == ["too_late"]
    assert mgr.timers("d") == []


# -- send, chains, compensation -----------------------------------------------------------


def test_send_first_fires_the_timers_the_clock_has_passed(
    mgr: Manager[str, str], clock: Clock
) -> None:
    mgr.start("t-1")
    clock.advance(minutes=90)  # no worker ran: waiting expired at 12:10 + 1h
    with pytest.raises(IllegalTransition) as caught:
        mgr.send("t-1", "answer")
    assert caught.value.state == "expired"
    assert kinds(mgr, "t-1") == [
        ("start", None, "open"),
        ("timer", "open", "waiting"),
        ("timer", "waiting", "expired"),
    ]
    assert [t.at for t in mgr.history("t-1")][1:] == [
        T0 + timedelta(minutes=10),
        T0 + timedelta(minutes=70),
    ]


def test_send_applies_its_event_to_the_state_the_timers_led_to(
    mgr: Manager[str, str], clock: Clock
) -> None:
    mgr.start("t-1")
    clock.advance(minutes=15)
    t = mgr.send("t-1", "answer")  # waiting (by the clock) -> open
    assert (t.seq, t.source, t.target, t.at) == (3, "waiting", "open", clock.now)
    assert [x.due_at for x in mgr.timers("t-1")] == [clock.now + timedelta(minutes=10)] * 2


def test_a_timer_due_exactly_now_fires_before_the_event(
    mgr: Manager[str, str], clock: Clock
) -> None:
    mgr.start("t-1")
    clock.advance(minutes=10)
    mgr.send("t-1", "close")
    assert kinds(mgr, "t-1")[1:] == [("timer", "open", "waiting"), ("event", "waiting", "closed")]


def test_a_chain_of_timers_that_came_due_while_nobody_looked_fires_in_one_go(
    mgr: Manager[str, str], clock: Clock, hooks: TicketHooks
) -> None:
    hooks.urgent.add("u-1")
    mgr.start("u-1")
    clock.advance(days=3)
    report = mgr.fire_due()
    assert [(f.transition.source, f.transition.target, f.transition.at) for f in report.fired] == [
        ("open", "escalated", T0 + timedelta(minutes=10)),
        ("escalated", "closed", T0 + timedelta(minutes=15)),
    ]


def test_compensation_re_arms_the_state_it_steps_back_into(
    mgr: Manager[str, str], clock: Clock
) -> None:
    mgr.start("t-1")
    clock.advance(minutes=5)
    mgr.send("t-1", "wait")
    clock.advance(minutes=20)
    (step,) = mgr.compensate("t-1", "open")
    assert (step.kind, step.target) == (TransitionKind.COMPENSATE, "open")
    assert {t.due_at for t in mgr.timers("t-1")} == {clock.now + timedelta(minutes=10)}
    clock.advance(minutes=10)
    assert [f.transition.target for f in mgr.fire_due().fired] == ["waiting"]
    assert Manager.path(mgr.history("t-1")) == ["open", "waiting"]


def test_timer_keys_are_reserved(mgr: Manager[str, str]) -> None:
    mgr.start("t-1")
    with pytest.raises(InvalidInput, match="kept for timers"):
        mgr.send("t-1", "wait", key="wfdsl-timer:1:1")
    with pytest.raises(InvalidInput, match="kept for timers"):
        mgr.start("t-2", key="wfdsl-timer:x")


# -- hooks, ownership, exactly once ------------------------------------------------------


def test_a_failing_hook_of_a_fired_timer_is_reported_and_its_transition_stands(
    mgr: Manager[str, str], clock: Clock, hooks: TicketHooks
) -> None:
    mgr.start("t-1")
    hooks.failing.add("waited")
    clock.advance(minutes=10)
    report = mgr.fire_due()
    assert [f.transition.target for f in report.fired] == ["waiting"]
    assert report.failed == [("t-1", "waited", "ConnectionError: waited is down")]
    assert not report.ok
    assert mgr.state("t-1") == "waiting" and mgr.instance("t-1").pending == 1
    hooks.failing.clear()
    assert mgr.resume().completed == [("t-1", "waited")]


def test_hook_work_owed_runs_before_a_timer_fires(
    mgr: Manager[str, str], clock: Clock, hooks: TicketHooks
) -> None:
    hooks.failing.add("opened")
    with pytest.raises(Exception, match="opened is down"):
        mgr.start("t-1")
    hooks.failing.clear()
    clock.advance(minutes=10)
    mgr.fire_due()
    assert [h for h, _ in hooks.log] == ["opened", "left_open", "waited"]


def test_two_managers_firing_at_once_fire_each_timer_once(
    spec: Spec, store_factory: Any, hooks: TicketHooks, clock: Clock
) -> None:
    managers = [
        Manager(spec, store_factory(), hooks=hooks.as_mapping(), clock=clock) for _ in range(2)
    ]
    for i in range(40):
        managers[0].start(f"t-{i}")
    clock.advance(minutes=10)
    barrier = threading.Barrier(2)
    reports: list[Any] = []

    def fire(m: Manager[str, str]) -> None:
        barrier.wait()
        while True:
            report = m.fire_due(limit=7)
            reports.append(report)
            if not report.fired and not report.in_progress:
                return

    threads = [threading.Thread(target=fire, args=(m,)) for m in managers]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    fired = [f.instance_id for r in reports for f in r.fired]
    assert sorted(fired) == sorted(f"t-{i}" for i in range(40))
    for i in range(40):
        assert kinds(managers[0], f"t-{i}")[1:] == [("timer", "open", "waiting")]


def test_a_timer_a_dead_worker_claimed_fires_at_once(
    mgr: Manager[str, str], store: Store, clock: Clock, rivals: Any
) -> None:
    mgr.start("t-1")
    clock.advance(minutes=10)
    due = epoch_ms(clock.now)
    store.claim_timers("ticket", due_by=due, owner="gone", proof=rivals.dead(), now=0, until=1e12)
    assert [f.instance_id for f in mgr.fire_due().fired] == ["t-1"]


def test_timers_a_live_worker_holds_are_left_to_it(
    mgr: Manager[str, str], store: Store, clock: Clock, rivals: Any
) -> None:
    mgr.start("t-1")
    clock.advance(minutes=10)
    due = epoch_ms(clock.now)
    held = store.claim_timers(
        "ticket", due_by=due, owner="busy", proof=rivals.live(), now=0, until=1e12
    )
    assert mgr.fire_due().fired == []
    store.release_timers(held)
    assert [f.instance_id for f in mgr.fire_due().fired] == ["t-1"]


def test_a_timer_another_spec_must_fire_is_left_to_it(
    spec: Spec, store: Store, clock: Clock
) -> None:
    nag = wfdsl.loads(
        """workflow ticket { initial state open final state gone open -> gone after 10m }"""
    )
    started = Manager(nag, store, clock=clock)
    started.start("t-1")
    clock.advance(minutes=10)
    # A manager of another spec (the timed transition is not in it) leaves it...
    other = Manager(spec, store, hooks=TicketHooks().as_mapping(), clock=clock)
    report = other.fire_due()
    assert [(t.instance_id, t.target) for t in report.spec_changed] == [("t-1", "gone")]
    (left,) = store.timers("ticket", instance_id="t-1")
    assert (left.lease_proof, left.lease_until is not None) == (None, True)
    # ... held by nobody, and claimed by no worker for LEAVE_FOR seconds...
    later = time.time() + LEAVE_FOR + 1
    me = store.identity()
    claim = {"due_by": epoch_ms(clock.now), "owner": "w", "proof": me, "until": later + 60}
    assert store.claim_timers("ticket", now=time.time(), **claim) == []
    assert len(store.claim_timers("ticket", now=later, **claim)) == 1
    # ... though a send to its instance under the spec that armed it fires it first.
    store.release_timers(store.timers("ticket"))
    assert [f.transition.target for f in started.fire_due().fired] == ["gone"]


def test_due_timers_nobody_here_can_fire_do_not_hold_up_the_others(
    store: Store, clock: Clock
) -> None:
    old = wfdsl.loads("workflow w { initial state a final state b a -> b after 1m }")
    new = wfdsl.loads("workflow w { initial state a final state b a -> b after 2m }")
    stale = Manager(old, store, clock=clock)
    for i in range(3):
        stale.start(f"old-{i}")  # due at 12:01, left by the new spec's workers
    clock.advance(seconds=30)
    worker = Manager(new, store, clock=clock)
    worker.start("new-0")  # due at 12:02:30, behind them in due order
    clock.advance(minutes=5)
    fired: list[str] = []
    for _ in range(4):
        report = worker.fire_due(limit=1)
        fired += [f.instance_id for f in report.fired]
    assert fired == ["new-0"]


def test_a_timer_whose_duration_changed_is_left_for_the_spec_that_armed_it(
    store: Store, clock: Clock
) -> None:
    v1 = wfdsl.loads("workflow w { initial state a final state b a -> b after 30m }")
    v2 = wfdsl.loads(
        "workflow w { initial state a final state b event go a -> b after 45m a -> b on go }"
    )
    Manager(v1, store, clock=clock).start("x")
    clock.advance(minutes=31)
    new = Manager(v2, store, clock=clock)
    assert [t.after_ms for t in new.fire_due().spec_changed] == [1_800_000]
    # An event under the new spec does not act on a timer that spec does not have.
    assert new.send("x", "go").target == "b"


def test_a_timer_moved_to_another_line_still_fires_under_the_new_spec(
    store: Store, clock: Clock
) -> None:
    v1 = wfdsl.loads("workflow w { initial state a final state b a -> b after 30m }")
    v2 = wfdsl.loads(
        "workflow w { initial state a final state b final state c "
        "a -> c after 2h a -> b after 30m }"
    )
    Manager(v1, store, clock=clock).start("x")
    clock.advance(minutes=30)
    assert [f.transition.target for f in Manager(v2, store, clock=clock).fire_due().fired] == ["b"]


def test_an_instance_in_a_state_the_spec_does_not_declare_is_reported_and_untouched(
    store: Store, clock: Clock
) -> None:
    old = wfdsl.loads(
        "workflow w { initial state reviewing final state done reviewing -> done after 1m }"
    )
    new = wfdsl.loads(
        "workflow w { initial state in_review final state done event ok in_review -> done on ok }"
    )
    Manager(old, store, clock=clock).start("x")
    clock.advance(minutes=2)
    mgr = Manager(new, store, clock=clock)
    report = mgr.fire_due()
    assert report.unknown_state == [("x", "reviewing")] and report.fired == []
    with pytest.raises(UnknownState):
        mgr.send("x", "ok")
    assert len(store.history("w", "x")) == 1


# -- clocks ---------------------------------------------------------------------------


def test_due_times_are_absolute_whatever_the_clocks_time_zone(store: Store) -> None:
    spec = wfdsl.loads("workflow w { initial state a final state b a -> b after 1h30m }")
    paris = timezone(timedelta(hours=1))
    mgr = Manager(spec, store, clock=lambda: datetime(2026, 3, 1, 13, 0, tzinfo=paris))
    mgr.start("x")
    assert mgr.next_due() == datetime(2026, 3, 1, 13, 30, tzinfo=UTC)
    naive = Manager(spec, store, clock=lambda: datetime(2026, 3, 1, 12, 0))  # taken as UTC
    naive.start("y")
    assert [t.due_at for t in naive.timers("y")] == [datetime(2026, 3, 1, 13, 30, tzinfo=UTC)]


def test_fire_due_takes_an_explicit_now(mgr: Manager[str, str]) -> None:
    mgr.start("t-1")
    assert mgr.fire_due(T0 + timedelta(minutes=9)).fired == []
    assert len(mgr.fire_due(T0 + timedelta(minutes=10)).fired) == 1


def test_async_manager_fires_timers_too(spec: Spec, store: Store, clock: Clock) -> None:
    import asyncio

    async def main() -> list[str]:
        amgr = AsyncManager(spec, store, hooks=TicketHooks().as_mapping(), clock=clock)
        await amgr.start("a-1")
        assert await amgr.next_due() == T0 + timedelta(minutes=10)
        assert len(await amgr.timers("a-1")) == 2
        clock.advance(minutes=10)
        report = await amgr.fire_due()
        return [f.transition.target for f in report.fired]

    assert asyncio.run(main()) == ["waiting"]


def test_the_records_of_a_store_say_when_the_next_timer_is_due(
    mgr: Manager[str, str], store: Store
) -> None:
    mgr.start("t-1")
    (record,) = store.instances("ticket")
    assert isinstance(record, InstanceRecord)
    assert record.next_due_at == T0 + timedelta(minutes=10)
    assert isinstance(mgr.history("t-1")[0], Transition)


def test_a_timer_guard_that_raises_fires_nothing_and_is_reported(
    store: Store, clock: Clock
) -> None:
    spec = wfdsl.loads(
        """workflow w {
            initial state a
            final state b
            event go
            a -> b after 1m if flaky
            a -> b on go
        }"""
    )

    def flaky(ctx: Context) -> bool:
        raise KeyError("amount")

    mgr = Manager(spec, store, hooks={"flaky": flaky}, clock=clock)
    mgr.start("x")
    clock.advance(minutes=1)
    report = mgr.fire_due()
    assert report.fired == report.spent == []
    assert report.errors and "KeyError" in report.errors[0][1] and not report.ok
    assert len(mgr.timers("x")) == 1  # still armed: nothing was decided
    with pytest.raises(GuardFailed) as caught:
        mgr.send("x", "go")  # the timer's guard is asked first, and raises
    assert (caught.value.event, caught.value.guard) == ("after 1m", "flaky")
    assert len(mgr.history("x")) == 1
