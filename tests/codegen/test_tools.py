"""Generated modules pass the real ``mypy --strict``, ``ruff check`` and
``ruff format --check`` untouched, and a user module type-checks against them.

The tools run once per session over every golden module and every file in
tests/typing (they are slow), each in a temporary directory with its own
cache; the tests below then read their reports file by file.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from wfdsl.codegen import generate

from .helpers import ROOT, SOURCES, TYPING_DIR, golden_path, random_spec

MODULES = [golden_path(s).name for s in SOURCES]
#: Modules of seeded random specs: hostile text in every place a string goes.
RANDOM_SEEDS = range(40)
RANDOM_MODULES = [f"random{seed}_wf.py" for seed in RANDOM_SEEDS]
TYPING_OK = sorted(p.name for p in TYPING_DIR.glob("*_ok.py"))
TYPING_BAD = sorted(p.name for p in TYPING_DIR.glob("*_bad.py"))

#: ruff's settings as users have them: this repository's (line length 100,
#: rules E F W I UP B SIM RUF) and ruff's default line length, 88, with the same
#: rules but E501 (strings that cannot be split may pass 88 columns, never 100).
RUFF_CONFIGS = {
    "repo": ["--config", str(ROOT / "pyproject.toml")],
    "line-length-88": ["--isolated", "--line-length", "88"],
}
#: ``ruff check`` flags added to a config (``ruff format`` takes no rule flags).
RUFF_RULES = {
    "repo": [],
    "line-length-88": ["--select", "E,F,W,I,UP,B,SIM,RUF", "--ignore", "E501"],
}


@dataclass(frozen=True)
class Reports:
    workdir: Path
    #: file name -> mypy error lines ("line: message  [code]")
    mypy: dict[str, list[str]]
    mypy_output: str
    #: config -> file name -> ruff check findings
    ruff_check: dict[str, dict[str, list[str]]]
    #: config -> names of files ruff format would change (from its --diff)
    ruff_format: dict[str, set[str]]


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    """The tool's output; it must have run (exit 0 or 1: clean or findings)."""
    proc = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode in (0, 1), f"{args[2]} could not run:\n{out}"
    return out


@pytest.fixture(scope="session")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Reports:
    work = tmp_path_factory.mktemp("codegen-tools")
    for name in MODULES:
        shutil.copy(ROOT / "tests" / "golden" / "codegen" / name, work / name)
    for name in TYPING_OK + TYPING_BAD:
        shutil.copy(TYPING_DIR / name, work / name)
    for seed, name in zip(RANDOM_SEEDS, RANDOM_MODULES, strict=True):
        text = generate(random_spec(seed), source=f"random{seed}.wf", sha256="0" * 64)
        (work / name).write_text(text, encoding="utf-8")
    files = MODULES + RANDOM_MODULES + TYPING_OK + TYPING_BAD

    env = dict(os.environ, MYPYPATH=str(ROOT))
    # --follow-imports=silent: wfdsl itself is checked by its own CI step; here
    # only the generated and user modules are under test, in strict mode.
    out = _run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--follow-imports=silent",
            "--cache-dir",
            str(work / ".mypy_cache"),
            "--show-error-codes",
            "--no-error-summary",
            "--no-pretty",
            *files,
        ],
        work,
        env,
    )
    mypy: dict[str, list[str]] = {name: [] for name in files}
    for line in out.splitlines():
        m = re.match(r"([^:]+\.py):(\d+): error: (.*)$", line)
        if m:
            mypy.setdefault(m[1], []).append(f"{m[2]}: {m[3]}")

    ruff_check: dict[str, dict[str, list[str]]] = {}
    ruff_format: dict[str, set[str]] = {}
    for config, flags in RUFF_CONFIGS.items():
        out = _run(
            [
                sys.executable,
                "-m",
                "ruff",
                "check",
                "--no-cache",
                "--output-format",
                "concise",
                *flags,
                *RUFF_RULES[config],
                *files,
            ],
            work,
        )
        found: dict[str, list[str]] = {name: [] for name in files}
        for line in out.splitlines():
            m = re.match(r"([^:]+\.py):(\d+:\d+: .*)$", line)
            if m:
                found.setdefault(m[1], []).append(m[2])
        ruff_check[config] = found
        out = _run(
            [sys.executable, "-m", "ruff", "format", "--no-cache", "--diff", *flags, *files],
            work,
        )
        ruff_format[config] = {m[1] for m in re.finditer(r"^--- (\S+\.py)$", out, re.MULTILINE)}
    return Reports(work, mypy, out, ruff_check, ruff_format)


@pytest.mark.parametrize("module", MODULES)
def test_generated_module_passes_mypy_strict(reports: Reports, module: str) -> None:
    assert reports.mypy[module] == []


@pytest.mark.parametrize("config", RUFF_CONFIGS)
@pytest.mark.parametrize("module", MODULES)
def test_generated_module_passes_ruff_check(reports: Reports, module: str, config: str) -> None:
    assert reports.ruff_check[config][module] == []


@pytest.mark.parametrize("config", RUFF_CONFIGS)
@pytest.mark.parametrize("module", MODULES)
def test_generated_module_is_already_ruff_formatted(
    reports: Reports, module: str, config: str
) -> None:
    assert module not in reports.ruff_format[config]


@pytest.mark.parametrize("config", RUFF_CONFIGS)
def test_modules_of_random_specs_pass_every_tool(reports: Reports, config: str) -> None:
    assert {m: reports.mypy[m] for m in RANDOM_MODULES if reports.mypy[m]} == {}
    checked = reports.ruff_check[config]
    assert {m: checked[m] for m in RANDOM_MODULES if checked[m]} == {}
    assert reports.ruff_format[config].isdisjoint(RANDOM_MODULES)


@pytest.mark.parametrize("user_module", TYPING_OK)
def test_user_module_using_hooks_and_manager_type_checks(
    reports: Reports, user_module: str
) -> None:
    assert reports.mypy[user_module] == []


def _expected_errors(path: Path) -> list[tuple[int, str]]:
    marks = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        m = re.search(r"# error: ([a-z-]+)$", line)
        if m:
            marks.append((number, m[1]))
    return marks


@pytest.mark.parametrize("user_module", TYPING_BAD)
def test_user_module_misusing_the_types_fails_exactly_where_marked(
    reports: Reports, user_module: str
) -> None:
    expected = _expected_errors(TYPING_DIR / user_module)
    assert expected, "a *_bad.py file must mark its expected errors"
    got = []
    for error in reports.mypy[user_module]:
        m = re.match(r"(\d+): .*\[([a-z-]+)\]$", error)
        assert m, error
        got.append((int(m[1]), m[2]))
    assert sorted(set(got)) == expected, "\n".join(reports.mypy[user_module])
