"""Golden files pin the generated module of every example byte for byte.

Regenerate them with ``WFDSL_UPDATE_GOLDEN=1 pytest tests/codegen/test_golden.py``
and review the diff like code.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from wfdsl.codegen import render_file

from .helpers import GOLDEN_DIR, SOURCES, golden_path

UPDATE = bool(os.environ.get("WFDSL_UPDATE_GOLDEN"))


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_generated_module_matches_its_golden_file(source: Path) -> None:
    golden = golden_path(source)
    text = render_file(source, golden).text
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text, encoding="utf-8", newline="\n")
    assert golden.exists(), f"no golden file for {source.name}: run with WFDSL_UPDATE_GOLDEN=1"
    assert golden.read_text(encoding="utf-8") == text


def test_every_golden_file_has_a_source() -> None:
    expected = {golden_path(s).name for s in SOURCES}
    orphans = sorted(p.name for p in GOLDEN_DIR.glob("*.py") if p.name not in expected)
    assert orphans == [], "golden files whose source is gone (delete them)"
