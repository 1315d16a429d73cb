"""The generated ``SPEC`` carries its types: what mypy infers for managers built
on it, and on a loaded spec.

``mypy --strict`` must accept this file as it is (tests/codegen/test_tools.py);
tests/codegen/test_spec_types.py runs its functions on every store, so each
``assert_type`` here is also checked against what the runtime returns.
"""

from __future__ import annotations

from enum import StrEnum
from typing import assert_type

from order_wf import SPEC, Event, Hooks, State, manager

import wfdsl
from wfdsl import AsyncManager, Manager, Spec, Store, Transition, load, loads
from wfdsl.codegen import generate

LOADED_TEXT = """
workflow door {
    initial state closed
    state open
    event push
    event pull
    closed -> open on push
    open -> closed on pull
}
"""


class Door(StrEnum):
    """Hand-written types for the loaded spec."""

    CLOSED = "closed"
    OPEN = "open"


class Move(StrEnum):
    PUSH = "push"
    PULL = "pull"


def the_spec_is_typed() -> None:
    assert_type(SPEC, Spec[State, Event])
    assert_type(SPEC.state_type, type[State])
    assert_type(SPEC.event_type, type[Event])
    assert_type(SPEC.as_state("paid"), State)


def a_typed_spec_goes_where_a_spec_does() -> str:
    """Every consumer of the IR takes a plain ``Spec``; a ``Spec[State, Event]``
    is one (the type parameters are covariant)."""
    plain: Spec = SPEC
    return generate(plain, source="order.wf", sha256="0" * 64)


def loaded_specs_are_plain(path: str) -> None:
    assert_type(load(path), Spec[str, str])
    assert_type(loads(LOADED_TEXT), Spec[str, str])
    assert_type(wfdsl.loads(LOADED_TEXT), Spec)  # the same type: str is the default
    assert_type(loads(LOADED_TEXT).as_state("open"), str)


def drive(store: Store, hooks: Hooks) -> list[State]:
    """``Manager(SPEC, store)`` is a ``Manager[State, Event]``: the states an
    order goes through, as ``State`` members."""
    mgr = Manager(SPEC, store, hooks=hooks)
    assert_type(mgr, Manager[State, Event])
    assert_type(wfdsl.Manager(SPEC, store, hooks=hooks), wfdsl.Manager[State, Event])
    mgr.start("o-1")
    states = [mgr.state("o-1")]
    mgr.send("o-1", Event.PAY, data={"card": "visa"})
    states.append(mgr.state("o-1"))
    assert_type(states, list[State])
    history = mgr.history("o-1")
    assert_type(history, list[Transition])
    assert_type(history[-1].target, str)  # the stored record: see docs/codegen.md
    return states


def drive_with_the_helper(store: Store, hooks: Hooks) -> State:
    mgr = manager(store, hooks, wait=0.5)
    assert_type(mgr, Manager[State, Event])
    mgr.start("o-2")
    mgr.send("o-2", Event.CANCEL)
    state = mgr.state("o-2")
    assert_type(state, State)
    return state


async def drive_async(store: Store, hooks: Hooks) -> list[State]:
    amgr = AsyncManager(SPEC, store, hooks=hooks)
    assert_type(amgr, AsyncManager[State, Event])
    await amgr.start("o-3")
    states = [await amgr.state("o-3")]
    await amgr.send("o-3", Event.PAY, data={"card": "visa"})
    states.append(await amgr.state("o-3"))
    assert_type(states, list[State])
    return states


def drive_loaded(store: Store) -> list[str]:
    """A loaded spec's manager is a ``Manager[str, str]``; ``send`` takes plain
    strings and enum members alike."""
    mgr = Manager(loads(LOADED_TEXT), store)
    assert_type(mgr, Manager[str, str])
    mgr.start("d-1")
    mgr.send("d-1", "push")
    states = [mgr.state("d-1")]
    mgr.send("d-1", Move.PULL)
    states.append(mgr.state("d-1"))
    assert_type(states, list[str])
    return states


def typed_by_hand(store: Store) -> Door:
    """A loaded spec given types by hand: ``with_types`` is typed for mypy."""
    spec = loads(LOADED_TEXT).with_types(Door, Move)
    assert_type(spec, Spec[Door, Move])
    mgr = Manager(spec, store)
    assert_type(mgr, Manager[Door, Move])
    mgr.start("d-2")
    mgr.send("d-2", Move.PUSH)
    door = mgr.state("d-2")
    assert_type(door, Door)
    return door
