"""The wheel ships every subpackage and the data files the code loads."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_subpackage_is_listed_for_the_wheel() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    on_disk = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "wfdsl").rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    assert on_disk - listed == set(), "add these to [tool.setuptools] packages"
    assert "wfdsl.grammar" in listed


def test_installed_package_has_its_grammar_templates_and_type_marker() -> None:
    assert resources.files("wfdsl.grammar").joinpath("wf.lark").is_file()
    assert resources.files("wfdsl.templates").joinpath("module.py.j2").is_file()
    assert resources.files("wfdsl").joinpath("py.typed").is_file()
