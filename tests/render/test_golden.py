"""Golden files pin the DOT and Mermaid text byte for byte.

Regenerate after an intended change with ``WFDSL_UPDATE_GOLDEN=1 pytest
tests/render/test_golden.py`` and review the diff like code.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from wfdsl.render import extract
from wfdsl.render.dot import to_dot
from wfdsl.render.mermaid import to_mermaid

from .helpers import BIG, HOSTILE, ROOT, TIMERS, spec_of

GOLDEN = ROOT / "tests" / "golden"
UPDATE = os.environ.get("WFDSL_UPDATE_GOLDEN") == "1"

#: (source, golden stem): the order example, the 44-state release train, hostile
#: text, timed transitions of every shape.
CASES = [
    (ROOT / "examples" / "order.wf", "order"),
    (BIG, "release"),
    (HOSTILE, "hostile"),
    (TIMERS, "timers"),
]


def _check(actual: str, golden: Path) -> None:
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(actual, encoding="utf-8", newline="\n")
    assert golden.exists(), f"{golden} missing; run with WFDSL_UPDATE_GOLDEN=1"
    assert actual == golden.read_text(encoding="utf-8"), (
        f"{golden.name} differs; if intended, regenerate with WFDSL_UPDATE_GOLDEN=1"
    )


@pytest.mark.parametrize(("source", "stem"), CASES, ids=[c[1] for c in CASES])
def test_dot_matches_golden(source: Path, stem: str) -> None:
    _check(to_dot(extract(spec_of(source))), GOLDEN / "dot" / f"{stem}.dot")


@pytest.mark.parametrize(("source", "stem"), CASES, ids=[c[1] for c in CASES])
def test_mermaid_matches_golden(source: Path, stem: str) -> None:
    _check(to_mermaid(extract(spec_of(source))), GOLDEN / "mermaid" / f"{stem}.mmd")


def test_output_is_deterministic() -> None:
    spec = spec_of(BIG)
    assert to_dot(extract(spec)) == to_dot(extract(spec_of(BIG)))
    assert to_mermaid(extract(spec)) == to_mermaid(extract(spec_of(BIG)))
