"""The benchmarks are not run by the suite (timing has no place in a pass/fail
test), but what one benchmark takes from another must exist: a rework of one
must not leave another failing on its first table (bench_batch once imported a
helper that bench_timers no longer had)."""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def _imports() -> list[tuple[str, str, str]]:
    """``(benchmark, module, name)`` for every ``from bench_x import name`` in
    the benchmarks, at the top or inside a function."""
    found = []
    for path in sorted(BENCHMARKS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("bench_"):
                found += [(path.name, node.module or "", alias.name) for alias in node.names]
    return found


IMPORTS = _imports()


def test_the_benchmarks_take_things_from_each_other() -> None:
    assert IMPORTS  # else the test below checks nothing


@pytest.mark.parametrize(("benchmark", "module", "name"), IMPORTS)
def test_what_a_benchmark_imports_from_another_exists(
    benchmark: str, module: str, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    imported = importlib.import_module(module)
    try:
        assert hasattr(imported, name), f"{benchmark}: {module} has no {name!r}"
    finally:
        sys.modules.pop(module, None)
