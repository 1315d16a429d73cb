"""Fixtures shared by the whole test suite. Keep them small and general."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES_DIR = ROOT / "examples"


@pytest.fixture(scope="session")
def examples_dir() -> Path:
    """The repository's ``examples/`` directory."""
    return EXAMPLES_DIR


@pytest.fixture(scope="session")
def example_paths(examples_dir: Path) -> list[Path]:
    """Every ``.wf`` example, sorted by name."""
    return sorted(examples_dir.glob("*.wf"))
