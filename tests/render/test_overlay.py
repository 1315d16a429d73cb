"""``wfdsl render --db``: live counts per state and one instance's path, read
from real stores (SQLite through the CLI, memory through the library call)
that a real Manager wrote."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import wfdsl
from wfdsl.cli import cli
from wfdsl.errors import UnknownInstance
from wfdsl.render import Overlay, Step
from wfdsl.render.dot import to_dot
from wfdsl.render.mermaid import to_mermaid
from wfdsl.render.model import Armed, extract
from wfdsl.render.overlay import overlay_from_store
from wfdsl.runtime.manager import Manager
from wfdsl.stores import open_store
from wfdsl.stores.memory import MemoryStore

from .cdp import Browser
from .helpers import ROOT
from .test_mermaid_browser import browser, draw
from .test_mermaid_browser import pytestmark as needs_mermaid_in_chromium

__all__ = ["browser"]  # the fixture, for the Mermaid test below


def needs_browser(test: Callable[..., None]) -> Callable[..., None]:
    for mark in needs_mermaid_in_chromium:
        test = mark(test)
    return test


ORDER = ROOT / "examples" / "order.wf"


@pytest.fixture
def db(tmp_path: Path) -> str:
    """Six orders: o-0 shipped, o-1 packed, o-2 and o-3 paid, o-4 created, o-5 cancelled."""
    spec = wfdsl.load(ORDER)
    path = str(tmp_path / "orders.db")
    store = open_store(path)
    hooks: dict[str, Callable[..., Any]] = {n: (lambda ctx: True) for n in spec.guard_names}
    hooks["flagged_for_fraud"] = lambda ctx: False
    hooks.update({n: (lambda ctx: None) for n in spec.hook_names()})
    mgr = Manager(spec, store, hooks=hooks)
    for i in range(6):
        mgr.start(f"o-{i}")
    for i in range(4):
        mgr.send(f"o-{i}", "pay")
    for i in range(2):
        mgr.send(f"o-{i}", "pack")
    mgr.send("o-0", "ship")
    mgr.send("o-5", "cancel")
    store.close()
    return path


def render(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["render", str(ORDER), *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def state_line(dot: str, state: str) -> str:
    return next(ln for ln in dot.splitlines() if ln.startswith(f'  "{state}" ['))


def test_db_overlay_shows_each_states_instance_count(db: str) -> None:
    code, dot, _ = render("--db", db)
    assert code == 0
    assert "2 instances" in state_line(dot, "paid")
    assert "1 instance<" in state_line(dot, "shipped")
    assert "0 finished" in state_line(dot, "delivered")
    assert "1 finished" in state_line(dot, "cancelled")
    assert "live instances per state (5 in all; 1 finished)" in dot
    assert 'fillcolor="#90cdf4"' in state_line(dot, "paid")  # the busiest state is darkest


def test_sqlite_url_form_is_accepted(db: str) -> None:
    assert render("--db", f"sqlite:///{db}")[1] == render("--db", db)[1]


def test_instance_overlay_draws_its_path_and_current_state(db: str) -> None:
    code, dot, _ = render("--db", db, "--instance", "o-1")
    assert code == 0
    bold = [ln.split(" [")[0].strip() for ln in dot.splitlines() if "penwidth=2.6" in ln]
    assert bold == ['"__initial" -> "created"', '"created" -> "paid"', '"paid" -> "packed"']
    assert 'fillcolor="#fefcbf"' in state_line(dot, "packed")
    assert "instance o-1: path in bold, now in packed" in dot


def test_an_unknown_instance_is_exit_2(db: str) -> None:
    code, _, err = render("--db", db, "--instance", "nope")
    assert code == 2 and "no instance 'nope'" in err


def test_an_unknown_database_scheme_is_exit_2(db: str) -> None:
    code, _, err = render("--db", "mysql://x/y")
    assert code == 2 and "unknown database scheme" in err


def test_a_database_file_that_does_not_exist_is_exit_2_and_is_not_created(tmp_path: Path) -> None:
    typo = tmp_path / "ordres.db"
    code, _, err = render("--db", str(typo))
    assert code == 2 and "no such database file" in err
    assert not typo.exists()


# -- the library call, over any Store ---------------------------------------------------


def order_manager() -> tuple[Manager[str, str], MemoryStore]:
    spec = wfdsl.load(ORDER)
    store = MemoryStore()
    hooks: dict[str, Callable[..., Any]] = {n: (lambda ctx: True) for n in spec.guard_names}
    hooks["flagged_for_fraud"] = lambda ctx: False
    hooks.update({n: (lambda ctx: None) for n in spec.hook_names()})
    return Manager(spec, store, hooks=hooks), store


def test_overlay_path_marks_only_event_steps_as_taken_edges() -> None:
    mgr, store = order_manager()
    mgr.start("o-1")
    mgr.send("o-1", "pay")
    mgr.send("o-1", "pack")
    mgr.compensate("o-1", "paid")
    overlay = overlay_from_store(store, mgr.spec, "o-1")
    assert overlay.instance == "o-1"
    assert overlay.path == [
        Step(None, "created"),
        Step("created", "paid", "pay"),
        Step("paid", "packed", "pack"),
        Step("packed", "paid"),  # compensation: a state, no edge
    ]
    assert overlay.current == "paid"


def test_overlay_counts_instances_per_state() -> None:
    mgr, store = order_manager()
    for i in range(3):
        mgr.start(f"o-{i}")
    mgr.send("o-0", "pay")
    assert overlay_from_store(store, mgr.spec).counts == {"created": 2, "paid": 1}


def test_overlay_of_an_unknown_instance_raises_unknown_instance() -> None:
    mgr, store = order_manager()
    with pytest.raises(UnknownInstance) as raised:
        overlay_from_store(store, mgr.spec, "nope")
    assert (raised.value.workflow, raised.value.instance_id) == ("order", "nope")


# -- armed timers ---------------------------------------------------------------------

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def timed_db(tmp_path: Path) -> str:
    """o-1 and o-4 cancelled by their timer at 12:30, o-2 in created (its timer
    due at 12:40), o-3 paid (nothing armed)."""
    spec = wfdsl.load(ORDER)
    path = str(tmp_path / "timed.db")
    store = open_store(path)
    hooks: dict[str, Callable[..., Any]] = {n: (lambda ctx: True) for n in spec.guard_names}
    hooks["flagged_for_fraud"] = lambda ctx: False
    hooks.update({n: (lambda ctx: None) for n in spec.hook_names()})
    now = [T0]
    mgr = Manager(spec, store, hooks=hooks, clock=lambda: now[0])
    mgr.start("o-1")
    mgr.start("o-4")
    mgr.start("o-3")
    mgr.send("o-3", "pay")
    now[0] = T0 + timedelta(minutes=10)
    mgr.start("o-2")
    now[0] = T0 + timedelta(minutes=31)
    assert len(mgr.fire_due().fired) == 2
    store.close()
    return path


def test_db_overlay_shows_the_timers_armed_in_each_state(tmp_path: Path) -> None:
    spec = wfdsl.load(ORDER)
    store = MemoryStore()
    hooks: dict[str, Callable[..., Any]] = {n: (lambda ctx: True) for n in spec.guard_names}
    hooks.update({n: (lambda ctx: None) for n in spec.hook_names()})
    clock = [T0]
    mgr = Manager(spec, store, hooks=hooks, clock=lambda: clock[0])
    mgr.start("o-1")
    clock[0] = T0 + timedelta(minutes=10)
    mgr.start("o-2")
    mgr.start("o-3")
    mgr.send("o-3", "cancel")
    overlay = overlay_from_store(store, spec)
    assert overlay.armed == {"created": Armed(2, T0 + timedelta(minutes=30))}
    dot = to_dot(extract(spec, overlay=overlay))
    assert "\u25f7 2 timers, next due 2026-03-01 12:30:00Z" in state_line(dot, "created")
    assert "\u25f7" not in state_line(dot, "paid")
    assert "\u25f7 2 timers armed" in dot
    mermaid = to_mermaid(extract(spec, overlay=overlay))
    assert "    created : \u25f7 2 timers, next due 2026-03-01 12:30:00Z" in mermaid.splitlines()


def test_instance_overlay_draws_a_fired_timer_as_taken_and_its_armed_timers(
    tmp_path: Path,
) -> None:
    db = timed_db(tmp_path)
    code, dot, _ = render("--db", db, "--instance", "o-4")
    assert code == 0
    bold = [ln.split(" [")[0].strip() for ln in dot.splitlines() if "penwidth=2.6" in ln]
    assert bold == ['"__initial" -> "created"', '"created" -> "cancelled"']
    timed = next(
        ln for ln in dot.splitlines() if '"created" -> "cancelled"' in ln and "after" in ln
    )
    assert "penwidth=2.6" in timed  # the timed arrow, not the cancel event's
    code, dot, _ = render("--db", db, "--instance", "o-2")
    assert "\u25f7 due 2026-03-01 12:40:00Z" in state_line(dot, "created")
    code, dot, _ = render("--db", db)
    assert "\u25f7 due 2026-03-01 12:40:00Z" in state_line(dot, "created")


@needs_browser
def test_mermaid_draws_the_timers_overlay(browser: Browser) -> None:
    spec = wfdsl.load(ORDER)
    overlay = Overlay(counts={"created": 2}, armed={"created": Armed(2, T0)})
    svg = draw(browser, to_mermaid(extract(spec, overlay=overlay)))
    assert "2 timers, next due 2026-03-01 12:00:00Z" in svg
