"""The stages of ``docs/architecture.md`` hold: the import-linter contract in
pyproject.toml places every module, ``lint-imports`` keeps it on the code and
fails, naming the import, on a back-edge, and the page and its picture name
every stage the contract does."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "wfdsl"
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
CONTRACTS: list[dict[str, Any]] = CONFIG["tool"]["importlinter"]["contracts"]
STAGES = next(c for c in CONTRACTS if c["id"] == "stages")
PAGE = ROOT / "docs" / "architecture.md"
PICTURE = ROOT / "docs" / "images" / "architecture.dot"


def layer_names() -> list[str]:
    """Every stage the contract's layers name, optional ones without parentheses."""
    names = []
    for layer in STAGES["layers"]:
        names += [part.strip().strip("()") for part in layer.replace(":", "|").split("|")]
    return names


def top_level_modules() -> set[str]:
    """The children of the package on disk: modules and subpackages."""
    found = {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    found |= {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    return found


def lint_imports(root: Path, *contracts: str) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on the package under ``root`` with ``root``'s pyproject.toml."""
    only = [arg for c in contracts for arg in ("--contract", c)]
    code = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
    return subprocess.run(
        [sys.executable, "-c", code, "--no-cache", "--no-logo", *only, "pyproject.toml"],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A copy of the package and its pyproject.toml, to break on purpose."""
    shutil.copytree(PACKAGE, tmp_path / "wfdsl", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def add_line(path: Path, line: str) -> None:
    with path.open("a", encoding="utf-8") as fh:
        fh.write(f"\n{line}  # noqa\n")


def test_the_contract_places_every_module_of_the_package() -> None:
    assert STAGES["exhaustive"] is True
    unplaced = top_level_modules() - set(layer_names()) - set(STAGES["exhaustive_ignores"])
    assert unplaced == set(), "add these to a layer of the 'stages' contract in pyproject.toml"


def test_the_contract_keeps_the_ir_at_the_bottom_and_the_cli_near_the_top() -> None:
    layers = STAGES["layers"]
    assert layers[-1] == "ir" and layers[:2] == ["__main__", "cli"]


def test_lint_imports_keeps_every_contract() -> None:
    done = lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Contracts: {len(CONTRACTS)} kept, 0 broken." in done.stdout


def test_a_back_edge_breaks_the_build_naming_the_import(copy: Path) -> None:
    add_line(copy / "wfdsl" / "frontend" / "source.py", "from wfdsl.cli.common import UserError")
    done = lint_imports(copy, "stages")
    assert done.returncode == 1
    assert "wfdsl.frontend is not allowed to import wfdsl.cli" in done.stdout
    assert "wfdsl.frontend.source -> wfdsl.cli.common" in done.stdout


def test_a_store_reaching_the_manager_breaks_the_build(copy: Path) -> None:
    add_line(copy / "wfdsl" / "stores" / "memory.py", "from wfdsl.runtime.manager import Manager")
    done = lint_imports(copy, "stages")
    assert done.returncode == 1
    assert "wfdsl.stores.memory -> wfdsl.runtime.manager" in done.stdout


def test_click_outside_the_cli_breaks_the_build(copy: Path) -> None:
    add_line(copy / "wfdsl" / "render" / "dot.py", "import click")
    done = lint_imports(copy, "click")
    assert done.returncode == 1
    assert "wfdsl.render.dot -> click" in done.stdout


def test_a_module_in_no_stage_breaks_the_build(copy: Path) -> None:
    (copy / "wfdsl" / "helpers.py").write_text('"""Belongs nowhere."""\n', encoding="utf-8")
    done = lint_imports(copy, "stages")
    assert done.returncode == 1
    assert "wfdsl.helpers" in done.stdout


def test_the_page_names_every_stage_and_shows_the_picture() -> None:
    page = PAGE.read_text(encoding="utf-8")
    missing = [name for name in layer_names() if f"`{name}" not in page]
    assert missing == [], f"docs/architecture.md does not describe {missing}"
    assert "(images/architecture.svg)" in page


def test_the_picture_is_drawn_from_the_current_contract_and_code() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "architecture.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_the_committed_svg_draws_every_stage_of_its_source() -> None:
    svg = PICTURE.with_suffix(".svg").read_text(encoding="utf-8")
    dot = PICTURE.read_text(encoding="utf-8")
    nodes = [name for name in layer_names() if f'  "{name}" [label=' in dot]
    assert nodes, "the picture draws no stage"
    missing = [name for name in nodes if f"<title>{name}</title>" not in svg]
    assert missing == [], (
        "docs/images/architecture.svg is stale; run python scripts/architecture.py"
    )
