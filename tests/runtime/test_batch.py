"""``Manager.send_many``: many sends, few store transactions, the meaning of
the same sends one by one (SPEC §7, §7.1, §7.2); on every store."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import wfdsl
from wfdsl import AsyncManager, Manager, MemoryStore, Send
from wfdsl.errors import (
    GuardRejected,
    HookFailed,
    IdempotencyConflict,
    IllegalTransition,
    InvalidInput,
    ReentrantCall,
    UnknownInstance,
    UnknownState,
    WorkflowError,
)
from wfdsl.ir import Spec
from wfdsl.runtime.context import Context
from wfdsl.stores.base import Store
from wfdsl.stores.batch import Append, Outcome
from wfdsl.stores.records import Timer, Transition, TransitionKind

from .conftest import ROOT, OrderHooks

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def shape(r: Transition | WorkflowError) -> tuple[Any, ...]:
    """What a result says, comparable between two stores."""
    if isinstance(r, Transition):
        return ("ok", r.seq, str(r.kind), r.source, r.target, r.event, r.key, dict(r.data), r.at)
    return (type(r).__name__, str(r))


def one_by_one(mgr: Manager[str, str], items: Sequence[tuple[Any, ...]]) -> list[Any]:
    out: list[Any] = []
    for iid, event, *rest in items:
        data = rest[0] if rest else None
        key = rest[1] if len(rest) > 1 else None
        try:
            out.append(mgr.send(iid, event, data=data, key=key))
        except WorkflowError as exc:
            out.append(exc)
    return out


def histories(mgr: Manager[str, str], ids: Sequence[str]) -> dict[str, list[tuple[Any, ...]]]:
    return {iid: [shape(t) for t in mgr.history(iid)] for iid in ids}


def per_instance(log: Sequence[tuple[str, str, int]]) -> dict[str, list[str]]:
    """The hooks run, per instance (the effect key starts with the id)."""
    out: dict[str, list[str]] = {}
    for hook, effect_key, _ in log:
        out.setdefault(effect_key.split("/")[1], []).append(hook)
    return out


#: Every kind of outcome, several instances, several events per instance.
MIXED: list[tuple[Any, ...]] = [
    ("a", "pay", {"amount": 10}, "k1"),
    ("b", "pay"),
    ("a", "pack"),
    ("c", "ship"),  # illegal in ``created``
    ("a", "pay", {"amount": 10}, "k1"),  # the same key again: a replay
    ("b", "cancel", None, "k1"),  # a key is per instance
    ("a", "ship"),
    ("zz", "pay"),  # never started
    ("c", "cancel", {"why": "late"}, "kc"),
    ("c", "cancel", {"why": "early"}, "kc"),  # the same key, other data
    ("a", "deliver"),
    ("a", "deliver"),  # final: nothing accepts it
    ("b", "nope"),  # undeclared event
    ("", "pay"),  # empty id
]


def test_a_batch_means_what_the_same_sends_one_by_one_mean(store: Store) -> None:
    ids = ["a", "b", "c"]
    text = (ROOT / "examples" / "order.wf").read_text()
    results, logs, paths = [], [], []
    for batched in (False, True):
        # Two workflows of one store: the same instance ids, apart.
        name = "batched" if batched else "alone"
        spec = wfdsl.loads(text.replace("workflow order", f"workflow {name}"))
        hooks = OrderHooks()
        mgr = Manager(spec, store, hooks=hooks, clock=Clock())
        for iid in ids:
            mgr.start(iid)
        got = mgr.send_many(MIXED) if batched else one_by_one(mgr, MIXED)
        results.append([tuple(str(x).replace(name, "WF") for x in shape(r)) for r in got])
        logs.append(per_instance(hooks.log))
        paths.append(histories(mgr, ids))
    assert results[0] == results[1]
    assert logs[0] == logs[1]
    assert paths[0] == paths[1]
    kinds = [r[0] for r in results[1]]
    assert kinds == [
        "ok",
        "ok",
        "ok",
        "IllegalTransition",
        "ok",
        "ok",
        "ok",
        "UnknownInstance",
        "ok",
        "IdempotencyConflict",
        "ok",
        "IllegalTransition",
        "InvalidInput",
        "InvalidInput",
    ]


def test_sends_to_one_instance_apply_in_order_each_after_the_hooks_before_it(
    order_spec: Spec, store: Store
) -> None:
    seen: list[tuple[str, int, int]] = []
    mgr: Manager[str, str]

    def hook(name: str) -> Callable[[Context], None]:
        def run(ctx: Context) -> None:
            # The instance has not moved on while its hooks run.
            seen.append((name, ctx.seq, mgr.instance(ctx.instance_id).version))

        return run

    names = ["charge_card", "send_receipt", "refund_card", "reserve_stock"]
    names += ["release_stock", "book_courier", "recall_shipment"]
    calls: dict[str, Any] = {n: hook(n) for n in names}
    calls.update(card_valid=lambda c: True, flagged_for_fraud=lambda c: False)
    calls["in_stock"] = lambda c: c.source == "paid"
    mgr = Manager(order_spec, store, hooks=calls)
    mgr.start("o-1")
    got = mgr.send_many([("o-1", "pay"), ("o-1", "pack"), ("o-1", "ship"), ("o-1", "deliver")])
    assert [r.target for r in got if isinstance(r, Transition)] == [
        "paid",
        "packed",
        "shipped",
        "delivered",
    ]
    assert [r.seq for r in got if isinstance(r, Transition)] == [2, 3, 4, 5]
    assert seen == [
        ("charge_card", 2, 2),
        ("send_receipt", 2, 2),
        ("reserve_stock", 3, 3),
        ("book_courier", 4, 4),
    ]


def test_guards_see_the_state_the_send_before_left() -> None:
    spec = wfdsl.loads(
        """workflow counter {
            initial state zero
            state one
            state two
            final state done
            event up
            event stop
            zero -> one on up
            one -> two on up if small
            one, two -> done on stop
        }"""
    )
    asked: list[tuple[str, int]] = []

    def small(ctx: Context) -> bool:
        asked.append((ctx.source or "", ctx.seq))
        return bool(ctx.data.get("ok"))

    mgr = Manager(spec, MemoryStore(), hooks={"small": small})
    mgr.start("x")
    got = mgr.send_many([("x", "up"), ("x", "up", {"ok": False}), ("x", "up", {"ok": True})])
    assert isinstance(got[0], Transition) and got[0].target == "one"
    assert isinstance(got[1], GuardRejected)
    assert isinstance(got[2], Transition) and (got[2].seq, got[2].target) == (3, "two")
    assert asked == [("one", 3), ("one", 3)]


def test_a_key_repeated_in_one_batch_replays_or_conflicts(order_spec: Spec, store: Store) -> None:
    mgr = Manager(order_spec, store, hooks=OrderHooks())
    mgr.start("o-1")
    mgr.start("o-2")
    got = mgr.send_many(
        [
            ("o-1", "cancel", {"n": 1}, "k"),
            ("o-1", "cancel", {"n": 1}, "k"),
            ("o-2", "cancel", {"n": 1}, "k"),
            ("o-2", "cancel", {"n": 2}, "k"),
        ]
    )
    assert isinstance(got[0], Transition) and got[1] == got[0]
    assert isinstance(got[2], Transition) and got[2].seq == 2
    assert isinstance(got[3], IdempotencyConflict)
    assert [t.seq for t in mgr.history("o-1")] == [1, 2]
    assert [t.seq for t in mgr.history("o-2")] == [1, 2]


def test_a_failing_hook_is_its_sends_result_and_the_next_send_runs_it_first(
    order_spec: Spec, store: Store, hooks: OrderHooks
) -> None:
    mgr = Manager(order_spec, store, hooks=hooks)
    mgr.start("a")
    mgr.start("b")
    hooks.failures["charge_card"] = 1
    got = mgr.send_many([("a", "pay"), ("b", "cancel"), ("a", "pack")])
    assert isinstance(got[0], HookFailed) and got[0].hook == "charge_card"
    assert isinstance(got[1], Transition) and got[1].target == "cancelled"
    assert isinstance(got[2], Transition) and got[2].target == "packed"
    # The owed hooks ran (retried) before ``pack`` was applied.
    assert hooks.ran() == ["charge_card", "send_receipt", "reserve_stock"]
    assert mgr.instance("a").pending == 0


def test_one_items_error_never_stops_the_others(order_spec: Spec, store: Store) -> None:
    hooks = OrderHooks()
    mgr = Manager(order_spec, store, hooks=hooks)
    for iid in ("a", "b", "c"):
        mgr.start(iid)
    hooks.card_ok = False
    got = mgr.send_many(
        [
            ("a", "pay"),  # guard false
            ("nobody", "cancel"),
            ("b", "cancel"),
            ("b", "cancel"),  # final already
            ("c", 7),  # not an event
            "c",  # type: ignore[list-item]  # not an item at all
            ("c", "cancel", {"x": object()}),  # not JSON
            ("c", "cancel"),
        ]
    )
    assert isinstance(got[0], GuardRejected)
    assert isinstance(got[1], UnknownInstance)
    assert isinstance(got[2], Transition)
    assert isinstance(got[3], IllegalTransition)
    assert all(isinstance(r, InvalidInput) for r in got[4:7])
    assert isinstance(got[7], Transition) and got[7].target == "cancelled"
    assert mgr.state("a") == "created"


def test_a_due_timer_fires_before_a_batched_event_as_before_a_send(
    order_spec: Spec, store: Store
) -> None:
    clock = Clock()
    mgr = Manager(order_spec, store, hooks=OrderHooks(), clock=clock)
    mgr.start("late")
    mgr.start("early")
    clock.now = T0 + timedelta(minutes=31)
    mgr.start("fresh")
    got = mgr.send_many([("late", "pay"), ("fresh", "pay"), ("late", "cancel")])
    assert isinstance(got[0], IllegalTransition)  # the clock cancelled it first
    assert isinstance(got[1], Transition) and got[1].target == "paid"
    assert isinstance(got[2], IllegalTransition)
    assert [str(t.kind) for t in mgr.history("late")] == ["start", "timer"]
    assert mgr.state("early") == "created"  # not in the batch: fired by workers


def test_a_batch_is_refused_for_the_instance_whose_hook_sends_it(
    order_spec: Spec, store: Store
) -> None:
    got: list[Any] = []
    mgr: Manager[str, str]

    def charge(ctx: Context) -> None:
        got.extend(mgr.send_many([(ctx.instance_id, "pack"), ("other", "cancel")]))

    hooks = OrderHooks()
    calls: dict[str, Any] = {"charge_card": charge}
    for n in ("send_receipt", "refund_card", "reserve_stock", "release_stock"):
        calls[n] = getattr(hooks, n)
    for n in ("book_courier", "recall_shipment", "card_valid", "flagged_for_fraud", "in_stock"):
        calls[n] = getattr(hooks, n)
    mgr = Manager(order_spec, store, hooks=calls)
    mgr.start("o-1")
    mgr.start("other")
    mgr.send("o-1", "pay")
    assert isinstance(got[0], ReentrantCall)
    assert isinstance(got[1], Transition) and got[1].target == "cancelled"


def test_an_instance_in_a_state_the_spec_lost_is_its_items_error(store: Store) -> None:
    old = wfdsl.loads(
        "workflow w { initial state a\n state b\n final state c\n event go\n a -> b on go\n b -> c on go }"
    )
    new = wfdsl.loads("workflow w { initial state a\n final state c\n event go\n a -> c on go }")
    Manager(old, store).start("x")
    Manager(old, store).send("x", "go")
    Manager(old, store).start("y")
    got = Manager(new, store).send_many([("x", "go"), ("y", "go")])
    assert isinstance(got[0], UnknownState)
    assert isinstance(got[1], Transition) and got[1].target == "c"


class CountingStore(MemoryStore):
    """A memory store that counts its write transactions."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def append(self, *args: Any, **kwargs: Any) -> None:
        self.writes += 1
        super().append(*args, **kwargs)

    def append_many(
        self, appends: Sequence[Append], *, disarm: Sequence[Timer] = ()
    ) -> list[Outcome]:
        self.writes += 1
        return super().append_many(appends, disarm=disarm)


def test_sends_without_hooks_on_the_way_are_written_in_one_transaction() -> None:
    spec = wfdsl.loads(
        "workflow w { initial state a\n state b\n final state c\n event go\n a -> b on go\n b -> c on go }"
    )
    store = CountingStore()
    mgr = Manager(spec, store)
    for i in range(20):
        mgr.start(f"i{i}")
    got = mgr.send_many(
        [Send(f"i{i}", "go") for i in range(20)]
        + [Send(f"i{i}", "go", key="2nd") for i in range(20)]
    )
    assert all(isinstance(r, Transition) and r.kind is TransitionKind.EVENT for r in got)
    assert {mgr.state(f"i{i}") for i in range(20)} == {"c"}
    assert store.writes == 1


def test_the_async_twin_sends_many(order_spec: Spec, store: Store) -> None:
    hooks = OrderHooks()

    async def main() -> list[Transition | WorkflowError]:
        mgr = AsyncManager(order_spec, store, hooks=hooks)
        await mgr.start("o-1")
        return await mgr.send_many([Send("o-1", "pay"), Send("o-1", "pack"), ("o-1", "nope")])

    got = asyncio.run(main())
    assert [type(r).__name__ for r in got] == ["Transition", "Transition", "InvalidInput"]
    assert hooks.ran() == ["charge_card", "send_receipt", "reserve_stock"]


def test_an_empty_batch_is_an_empty_list(order_spec: Spec, store: Store) -> None:
    assert Manager(order_spec, store, hooks=OrderHooks()).send_many([]) == []


@pytest.mark.parametrize("n", [1, 3])
def test_results_come_back_in_the_order_given(order_spec: Spec, store: Store, n: int) -> None:
    mgr = Manager(order_spec, store, hooks=OrderHooks())
    ids = [f"o-{i}" for i in range(n)]
    for iid in ids:
        mgr.start(iid)
    got = mgr.send_many([(iid, "cancel") for iid in reversed(ids)])
    assert [r.seq for r in got if isinstance(r, Transition)] == [2] * n
    assert [mgr.history(iid)[-1].target for iid in ids] == ["cancelled"] * n
    assert len(got) == n


# -- timers fired through the batch path --------------------------------------------

TIMED = """workflow ticket {
    initial state open
    state escalated { enter escalated_hook }
    final state closed
    event close
    open -> escalated after 10m if urgent
    open -> closed after 10m
    escalated -> closed on close
}"""


def test_due_timers_of_many_instances_fire_in_one_transaction() -> None:
    store = CountingStore()
    clock = Clock()
    ran: list[str] = []
    urgent = {"t3", "t5"}
    mgr = Manager(
        wfdsl.loads(TIMED),
        store,
        hooks={
            "urgent": lambda c: c.instance_id in urgent,
            "escalated_hook": lambda c: ran.append(c.instance_id),
        },
        clock=clock,
    )
    for i in range(10):
        mgr.start(f"t{i}")
    clock.now = T0 + timedelta(minutes=11)
    store.writes = 0
    report = mgr.fire_due()
    assert store.writes == 1
    assert sorted(f.instance_id for f in report.fired) == [f"t{i}" for i in range(10)]
    assert {mgr.state(f"t{i}") for i in range(10) if f"t{i}" not in urgent} == {"closed"}
    assert [mgr.state(i) for i in sorted(urgent)] == ["escalated", "escalated"]
    assert sorted(ran) == sorted(urgent)
    # The urgent ones' ``open -> closed`` timers went with the state they left.
    assert store.timers("ticket") == []
    # The others' ``urgent`` timers were tried first, false, and spent.
    assert sorted(t.instance_id for t in report.spent) == sorted(
        f"t{i}" for i in range(10) if f"t{i}" not in urgent
    )


def test_timers_whose_guard_is_false_are_spent_in_the_batch_and_reported() -> None:
    spec = wfdsl.loads(
        """workflow nag {
            initial state waiting
            final state done
            event finish
            waiting -> done after 1m if ready
            waiting -> done on finish
        }"""
    )
    store = CountingStore()
    clock = Clock()
    mgr = Manager(spec, store, hooks={"ready": lambda c: c.instance_id == "b"}, clock=clock)
    mgr.start("a")
    mgr.start("b")
    clock.now = T0 + timedelta(minutes=2)
    store.writes = 0
    report = mgr.fire_due()
    assert store.writes == 1
    assert [f.instance_id for f in report.fired] == ["b"]
    assert [t.instance_id for t in report.spent] == ["a"]
    assert mgr.timers("a") == [] and mgr.state("a") == "waiting"


ATTEMPTS = """workflow w {
    initial state a
    state b { enter h1, h2 }
    final state c
    event go, fin
    a -> b on go
    b -> c on fin
}"""


@pytest.mark.parametrize("max_attempts", [1, 3])
def test_hooks_of_a_batch_count_attempts_as_a_send_does(store: Store, max_attempts: int) -> None:
    """The first run of a hook is attempt 1, and ``max_attempts`` means as many
    real runs, whether its transition came from ``send`` or ``send_many``."""

    def runs(batched: bool) -> tuple[list[int], list[str]]:
        seen: list[int] = []

        def h1(ctx: Context) -> None:
            seen.append(ctx.attempt)
            raise RuntimeError("card declined")

        iid = f"{'many' if batched else 'one'}-{max_attempts}"
        mgr = Manager(
            wfdsl.loads(ATTEMPTS),
            store,
            hooks={"h1": h1, "h2": lambda ctx: None},
            max_attempts=max_attempts,
        )
        mgr.start(iid)
        outcomes: list[str] = []
        if batched:
            (first,) = mgr.send_many([Send(iid, "go")])
            outcomes.append(type(first).__name__)
        else:
            try:
                mgr.send(iid, "go")
            except WorkflowError as exc:
                outcomes.append(type(exc).__name__)
        for _ in range(max_attempts):  # each send runs the owed hook first
            try:
                mgr.send(iid, "fin")
            except WorkflowError as exc:
                outcomes.append(type(exc).__name__)
        return seen, outcomes

    seen, outcomes = runs(batched=False)
    assert runs(batched=True) == (seen, outcomes)
    assert seen == list(range(1, max_attempts + 1))
    assert outcomes == ["HookFailed"] * max_attempts + ["WorkDead"]


def test_a_hook_of_a_batched_timer_firing_starts_at_attempt_one() -> None:
    clock = Clock()
    attempts: list[int] = []
    mgr = Manager(
        wfdsl.loads(TIMED),
        MemoryStore(),
        hooks={"urgent": lambda c: True, "escalated_hook": lambda c: attempts.append(c.attempt)},
        clock=clock,
    )
    for i in range(3):
        mgr.start(f"t{i}")
    clock.now = T0 + timedelta(minutes=11)
    assert len(mgr.fire_due().fired) == 3
    assert attempts == [1, 1, 1]
