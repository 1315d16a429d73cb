"""Shared paths and helpers for the diagram tests."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

import wfdsl
from wfdsl.ir import Spec

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
EXAMPLES = sorted((ROOT / "examples").glob("*.wf"))
HOSTILE = HERE / "hostile.wf"
BIG = HERE / "release.wf"
TIMERS = HERE / "timers.wf"

needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None, reason="Graphviz 'dot' is not installed (apt-get install graphviz)"
)


def spec_of(path: Path) -> Spec:
    return wfdsl.load(path)


def review_block(spec: Spec) -> str:
    """The Mermaid block of ``spec``'s review page, as GitHub gets it."""
    from wfdsl.render.markdown import review_page

    return review_page(spec).split("```mermaid\n", 1)[1].split("\n```", 1)[0]


def dot_to(text: str, fmt: str) -> bytes:
    """Run the real Graphviz on DOT text; fail the test on any complaint."""
    done = subprocess.run(["dot", f"-T{fmt}"], input=text.encode(), capture_output=True)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stderr == b"", done.stderr.decode()
    return done.stdout
