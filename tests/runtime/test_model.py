"""Property: on any sequence of calls, every store (tests/conftest.py's
``STORES``) gives the outcomes and histories the memory store gives, and every
history is a valid path of the spec."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wfdsl
from wfdsl import Manager
from wfdsl.errors import WorkflowError
from wfdsl.ir import Spec
from wfdsl.stores.base import Store
from wfdsl.stores.memory import MemoryStore
from wfdsl.stores.records import Transition, TransitionKind

SPEC = wfdsl.load(Path(__file__).resolve().parents[2] / "examples" / "order.wf")
IDS = ["a", "b"]
RUNS = itertools.count()
EVENTS = [e.name for e in SPEC.events] + ["teleport"]
STATES = [s.name for s in SPEC.states]

ops = st.lists(
    st.one_of(
        st.tuples(st.just("start"), st.sampled_from(IDS)),
        st.tuples(
            st.just("send"),
            st.sampled_from(IDS),
            st.sampled_from(EVENTS),
            st.sampled_from([None, "k1", "k2"]),
            st.sampled_from([None, {"card": "expired"}, {"amount": 5}]),
        ),
        st.tuples(st.just("compensate"), st.sampled_from(IDS), st.sampled_from(STATES)),
    ),
    max_size=25,
)


def hooks(log: list[str]) -> dict[str, Any]:
    calls: dict[str, Any] = {
        name: (lambda ctx: log.append(ctx.effect_key)) for name in SPEC.hook_names()
    }
    calls["card_valid"] = lambda ctx: ctx.data.get("card") != "expired"
    calls["flagged_for_fraud"] = lambda ctx: False
    calls["in_stock"] = lambda ctx: True
    return calls


def apply(mgr: Manager[str, str], op: tuple[Any, ...]) -> object:
    try:
        if op[0] == "start":
            t = mgr.start(op[1])
        elif op[0] == "send":
            t = mgr.send(op[1], op[2], key=op[3], data=op[4])
        else:
            return [shape(s) for s in mgr.compensate(op[1], op[2])]
    except WorkflowError as exc:
        return type(exc).__name__
    return shape(t)


def shape(t: Transition) -> tuple[object, ...]:
    return (t.seq, str(t.kind), t.source, t.target, t.event, t.key, dict(t.data))


def valid_path(spec: Spec, history: list[Transition]) -> bool:
    stack: list[str] = []
    for t in history:
        if t.kind is TransitionKind.START:
            ok = not stack and t.target == spec.initial.name
            stack.append(t.target)
        elif t.kind is TransitionKind.COMPENSATE:
            ok = len(stack) > 1 and t.source == stack.pop() and t.target == stack[-1]
        else:
            assert t.source is not None and t.event is not None
            targets = [e.target.value for e in spec.candidates(t.source, t.event)]
            ok = t.source == stack[-1] and t.target in targets
            stack.append(t.target)
        if not ok:
            return False
    return True


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(calls=ops)
def test_every_store_behaves_as_the_memory_store_and_keeps_valid_paths(
    store: Store, calls: list[tuple[Any, ...]]
) -> None:
    # One store under test for every example (opening one per example would
    # cost a database each time): each example works on instances of its own.
    run = next(RUNS)
    reference = MemoryStore()
    stores = [reference, store]
    logs: list[list[str]] = [[], []]
    managers = [Manager(SPEC, s, hooks=hooks(log)) for s, log in zip(stores, logs, strict=True)]
    mine = [(op[0], f"{run}-{op[1]}", *op[2:]) for op in calls]
    for op in mine:
        outcomes = [apply(m, op) for m in managers]
        assert outcomes[0] == outcomes[1], op
    for iid in IDS:
        histories = [s.history("order", f"{run}-{iid}") for s in stores]
        assert [shape(t) for t in histories[0]] == [shape(t) for t in histories[1]]
        assert valid_path(SPEC, histories[0])
        assert [t.seq for t in histories[0]] == list(range(1, len(histories[0]) + 1))
    assert logs[0] == logs[1]
