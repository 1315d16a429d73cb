"""Mistakes with the types a spec carries that ``mypy --strict`` must reject.

Each line marked ``# error: CODE`` must get exactly that mypy error, and no
other line any (tests/codegen/test_tools.py). This file is never run.
"""

from __future__ import annotations

from order_wf import SPEC, Event, State

from wfdsl import AsyncManager, Manager, Spec, Store, loads

TEXT = "workflow door { initial state closed final state open event push closed -> open on push }"


def loaded_spec_gives_plain_strings(store: Store) -> None:
    s: State = Manager(loads(TEXT), store).state("x")  # error: assignment
    print(s)


async def loaded_spec_gives_plain_strings_async(store: Store) -> None:
    s: State = await AsyncManager(loads(TEXT), store).state("x")  # error: assignment
    print(s)


def a_loaded_spec_is_not_a_typed_one(store: Store) -> None:
    typed: Spec[State, Event] = loads(TEXT)  # error: assignment
    mgr: Manager[State, Event] = Manager(loads(TEXT), store)  # error: arg-type
    print(typed, mgr)


def typed_manager_takes_events_not_states_or_strings(store: Store) -> None:
    mgr = Manager(SPEC, store)
    mgr.send("o-1", Event.PAY)
    mgr.send("o-1", State.PAID)  # error: arg-type
    mgr.send("o-1", "pay")  # error: arg-type
    event: Event = mgr.state("o-1")  # error: assignment
    print(event)


def types_are_str_types() -> None:
    loads(TEXT).with_types(int, Event)  # error: type-var
