"""A generated module's ``SPEC`` carries its ``State`` and ``Event`` types
(SPEC §5): ``Manager(SPEC, store)`` returns ``State`` members on every store,
a loaded spec's manager returns plain strings, and the types change neither
equality, hashing nor the fingerprint.

The functions of tests/typing/spec_types_ok.py run here against the real
runtime; mypy checks the same file's ``assert_type`` lines (test_tools.py).
"""

from __future__ import annotations

import asyncio
import inspect
import re
from enum import StrEnum
from types import ModuleType
from typing import Any

import pytest

import wfdsl
from wfdsl.codegen import MANAGER_OPTIONS
from wfdsl.errors import UnknownState
from wfdsl.ir import Spec
from wfdsl.runtime.base import BaseManager
from wfdsl.stores.base import Store

from .helpers import GOLDEN_DIR, ROOT, TYPING_DIR, load_module

ORDER = ROOT / "examples" / "order.wf"


@pytest.fixture
def order_wf(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    return load_module(GOLDEN_DIR / "order_wf.py", "order_wf", monkeypatch)


@pytest.fixture
def app(order_wf: ModuleType, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """tests/typing/spec_types_ok.py, importing the golden ``order_wf``."""
    return load_module(TYPING_DIR / "spec_types_ok.py", "spec_types_ok", monkeypatch)


@pytest.fixture
def hooks(monkeypatch: pytest.MonkeyPatch, order_wf: ModuleType) -> Any:
    """tests/typing/order_ok.py's hooks: a class that implements ``Hooks``."""
    return load_module(TYPING_DIR / "order_ok.py", "order_ok", monkeypatch).OrderHooks()


def members_of(enum: type[StrEnum], values: list[Any]) -> bool:
    return all(type(v) is enum for v in values)


# -- at run time, on every store ---------------------------------------------------


def test_manager_of_the_generated_spec_returns_state_members(
    app: ModuleType, order_wf: ModuleType, store: Store, hooks: Any
) -> None:
    states = app.drive(store, hooks)
    assert states == [order_wf.State.CREATED, order_wf.State.PAID]
    assert members_of(order_wf.State, states)


def test_the_generated_helper_returns_the_same_typed_manager(
    app: ModuleType, order_wf: ModuleType, store: Store, hooks: Any
) -> None:
    state = app.drive_with_the_helper(store, hooks)
    assert state is order_wf.State.CANCELLED
    mgr = order_wf.manager(store, hooks, wait=0.25)
    assert mgr.spec is order_wf.SPEC and mgr.options.wait == 0.25
    assert type(mgr) is wfdsl.Manager


def test_async_manager_of_the_generated_spec_returns_state_members(
    app: ModuleType, order_wf: ModuleType, store: Store, hooks: Any
) -> None:
    states = asyncio.run(app.drive_async(store, hooks))
    assert states == [order_wf.State.CREATED, order_wf.State.PAID]
    assert members_of(order_wf.State, states)


def test_manager_of_a_loaded_spec_returns_plain_strings(app: ModuleType, store: Store) -> None:
    states = app.drive_loaded(store)
    assert states == ["open", "closed"]
    assert all(type(s) is str for s in states)


def test_a_spec_typed_by_hand_gives_its_own_members(app: ModuleType, store: Store) -> None:
    door = app.typed_by_hand(store)
    assert door is app.Door.OPEN


def test_history_keeps_the_stored_names_which_equal_the_members(
    order_wf: ModuleType, store: Store, hooks: Any
) -> None:
    """Transitions are the stored record: plain ``str`` even for a typed spec,
    so that the history of an instance whose states the spec no longer
    declares still reads; a ``StrEnum`` member equals its name."""
    mgr = wfdsl.Manager(order_wf.SPEC, store, hooks=hooks)
    mgr.start("o-1")
    mgr.send("o-1", order_wf.Event.PAY)
    last = mgr.history("o-1")[-1]
    assert (type(last.source), type(last.target), type(last.event)) == (str, str, str)
    assert (last.source, last.target, last.event) == (
        order_wf.State.CREATED,
        order_wf.State.PAID,
        order_wf.Event.PAY,
    )
    assert order_wf.State(last.target) is mgr.state("o-1")


def test_send_to_a_typed_manager_takes_plain_strings_at_run_time(
    order_wf: ModuleType, store: Store, hooks: Any
) -> None:
    mgr = wfdsl.Manager(order_wf.SPEC, store, hooks=hooks)
    mgr.start("o-1")
    mgr.send("o-1", "pay")
    assert mgr.state("o-1") is order_wf.State.PAID


def test_typed_state_of_a_state_the_spec_no_longer_declares_is_unknown_state(
    store: Store,
) -> None:
    before = wfdsl.loads(
        "workflow door { initial state closed state ajar event push closed -> ajar on push }"
    )
    after = wfdsl.loads(
        "workflow door { initial state closed state open event push closed -> open on push }"
    )
    old = wfdsl.Manager(before, store)
    old.start("d-1")
    old.send("d-1", "push")

    class Door(StrEnum):
        CLOSED = "closed"
        OPEN = "open"

    class Move(StrEnum):
        PUSH = "push"

    with pytest.raises(UnknownState) as info:
        wfdsl.Manager(after.with_types(Door, Move), store).state("d-1")
    assert (info.value.instance_id, info.value.state) == ("d-1", "ajar")
    assert wfdsl.Manager(after, store).state("d-1") == "ajar"  # untyped: the stored name


# -- the IR ------------------------------------------------------------------------


def test_types_change_neither_equality_hash_data_nor_fingerprint(order_wf: ModuleType) -> None:
    typed = order_wf.SPEC
    plain = typed.with_types(str, str)
    assert (typed.state_type, plain.state_type) == (order_wf.State, str)
    assert typed == plain and hash(typed) == hash(plain)
    assert typed.to_data() == plain.to_data()
    assert typed.fingerprint() == plain.fingerprint() == wfdsl.load(ORDER).fingerprint()
    loaded = wfdsl.load(ORDER)
    retyped = loaded.with_types(order_wf.State, order_wf.Event)
    assert retyped == loaded and retyped.fingerprint() == loaded.fingerprint()
    assert retyped.as_state("paid") is order_wf.State.PAID


def test_as_state_gives_the_member_or_the_name_and_refuses_undeclared_names(
    order_wf: ModuleType,
) -> None:
    assert order_wf.SPEC.as_state("shipped") is order_wf.State.SHIPPED
    loaded = wfdsl.load(ORDER)
    assert loaded.state_type is str and loaded.event_type is str
    assert type(loaded.as_state("shipped")) is str and loaded.as_state("shipped") == "shipped"
    for spec in (order_wf.SPEC, loaded):
        with pytest.raises(KeyError):
            spec.as_state("lost")


def test_types_must_have_a_member_for_every_name(order_wf: ModuleType) -> None:
    class Partial(StrEnum):
        CREATED = "created"
        PAID = "paid"

    loaded = wfdsl.load(ORDER)
    with pytest.raises(ValueError, match=r"Partial has no member valued 'packed', 'shipped'"):
        loaded.with_types(Partial, order_wf.Event)
    with pytest.raises(
        ValueError,
        match=r"workflow 'order': Partial has no member valued 'pay', 'pack'.*event_type",
    ):
        loaded.with_types(order_wf.State, Partial)


@pytest.mark.parametrize("bad", [int, "State", None])
def test_types_must_be_str_types(bad: Any) -> None:
    loaded = wfdsl.load(ORDER)
    with pytest.raises(TypeError, match="state_type must be str or a subclass of it"):
        loaded.with_types(bad, str)


def test_spec_is_subscriptable_at_run_time(order_wf: ModuleType) -> None:
    """Annotations such as ``Spec[State, Event]`` evaluate (without
    ``from __future__ import annotations`` too)."""
    alias = Spec[order_wf.State, order_wf.Event]
    assert alias.__origin__ is Spec and isinstance(order_wf.SPEC, Spec)


def test_manager_state_type_keywords_still_type_a_loaded_spec(
    order_wf: ModuleType, store: Store, hooks: Any
) -> None:
    """The keywords a module generated before typed specs passed: the manager
    runs on the spec given those types."""
    loaded = wfdsl.load(ORDER)
    mgr = wfdsl.Manager(
        loaded, store, hooks=hooks, state_type=order_wf.State, event_type=order_wf.Event
    )
    assert mgr.spec == loaded and mgr.spec.state_type is order_wf.State
    mgr.start("o-1")
    assert mgr.state("o-1") is order_wf.State.CREATED


# -- the helper's docstring ---------------------------------------------------------


def test_the_helper_lists_every_manager_option(order_wf: ModuleType) -> None:
    """The options the generated helper's docstring names are the runtime's."""
    params = inspect.signature(BaseManager.__init__).parameters.values()
    options = [p.name for p in params if p.kind is p.KEYWORD_ONLY]
    assert [o for o in options if o not in ("hooks", "state_type", "event_type")] == list(
        MANAGER_OPTIONS
    )
    doc = re.sub(r"\s+", " ", inspect.getdoc(order_wf.manager) or "")
    assert "passed on to ``Manager``: " + ", ".join(f"``{o}``" for o in MANAGER_OPTIONS) in doc


def test_the_typing_files_run_the_examples_they_check(app: ModuleType) -> None:
    app.the_spec_is_typed()
    assert "SPEC = ir.Spec(" in app.a_typed_spec_goes_where_a_spec_does()
    app.loaded_specs_are_plain(str(ORDER))
