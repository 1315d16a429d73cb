"""Generated modules at run time: their SPEC is the source's spec, built
without parsing, and their typed manager drives the real runtime."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import wfdsl
from wfdsl.codegen import generate
from wfdsl.ir import Spec

from .helpers import (
    GOLDEN_DIR,
    ROOT,
    SOURCES,
    TYPING_DIR,
    golden_path,
    load_module,
    random_spec,
)


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_generated_spec_has_the_fingerprint_of_its_source(
    source: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    generated = load_module(golden_path(source), f"{source.stem}_wf", monkeypatch)
    assert generated.SPEC.fingerprint() == wfdsl.load(source).fingerprint()


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_generated_spec_keeps_every_name_and_description_exactly(
    source: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    generated = load_module(golden_path(source), f"{source.stem}_wf", monkeypatch)
    assert generated.SPEC.to_data() == wfdsl.load(source).to_data()


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_enums_list_every_state_and_event_valued_as_written(
    source: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    generated = load_module(golden_path(source), f"{source.stem}_wf", monkeypatch)
    spec = wfdsl.load(source)
    assert [m.value for m in generated.State] == [s.name for s in spec.states]
    assert [m.value for m in generated.Event] == [e.name for e in spec.events]


@pytest.mark.parametrize("seed", range(20))
def test_random_specs_survive_generation_exactly(seed: int) -> None:
    spec = random_spec(seed)
    namespace: dict[str, Any] = {}
    text = generate(spec, source="r.wf", sha256="0" * 64)
    exec(compile(text, f"random{seed}_wf.py", "exec"), namespace)
    assert namespace["SPEC"].to_data() == spec.to_data()


def test_importing_a_generated_module_parses_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> Spec:
        raise AssertionError("the generated module parsed a .wf source at import time")

    import wfdsl.frontend.source

    monkeypatch.setattr(wfdsl.frontend.source, "parse", refuse)
    monkeypatch.setattr(wfdsl.frontend.source, "analyze", refuse)
    generated = load_module(GOLDEN_DIR / "order_wf.py", "order_wf", monkeypatch)
    assert isinstance(generated.SPEC, Spec)


def test_generated_module_does_not_need_the_code_generator() -> None:
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import order_wf; "
        "assert 'jinja2' not in sys.modules and 'wfdsl.codegen' not in sys.modules"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(GOLDEN_DIR)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


def test_typed_manager_runs_the_order_and_returns_state_members(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    generated = load_module(GOLDEN_DIR / "order_wf.py", "order_wf", monkeypatch)
    app = load_module(TYPING_DIR / "order_ok.py", "order_ok", monkeypatch)
    hooks = app.OrderHooks()
    path = app.deliver_one_order(hooks)
    State = generated.State
    assert path == [State.CREATED, State.PAID, State.PACKED, State.SHIPPED, State.DELIVERED]
    assert all(type(state) is State for state in path)
    assert hooks.effects == [
        "order/o-1/2/charge_card",
        "order/o-1/2/send_receipt",
        "order/o-1/3/reserve_stock",
        "order/o-1/4/book_courier",
    ]


def test_typed_manager_accepts_the_hooks_protocol_and_binds_every_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    generated = load_module(GOLDEN_DIR / "order_wf.py", "order_wf", monkeypatch)

    class NoHooks:
        pass

    with pytest.raises(wfdsl.errors.BindError) as info:
        generated.manager(wfdsl.MemoryStore(), NoHooks())
    assert set(info.value.missing) >= {"card_valid", "charge_card", "recall_shipment"}
