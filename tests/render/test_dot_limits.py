"""Graphviz draws whatever a ``.wf`` file says, however long, and its layout
is bounded the same way for every command that runs it.

Graphviz's lexer refuses a run of more than 16,384 characters inside a quoted
or HTML-like string ("syntax error ... longer than 16384?"), which made
``dot`` fail on a whole diagram because of one long guard or description."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

import wfdsl
from wfdsl.cli import cli
from wfdsl.render import Detail, extract
from wfdsl.render.dot import LABEL_LIMIT, LAYOUT_BOUNDS, QUOTED_LIMIT, elided, to_dot

from .helpers import dot_to, needs_dot
from .pipeline import release_pipeline


def flow(
    *, guard_names: int = 1, description: int = 0, name: int = 1, hooks: int = 0, twin: bool = False
) -> str:
    """A small workflow with one part made as long as asked."""
    guard = " and ".join(f"check_{i}" for i in range(guard_names))
    target = "s" + "x" * name
    described = f' "{"d" * description}"' if description else ""
    enter = (" { enter " + ", ".join(f"hook_{i}" for i in range(hooks)) + " }") if hooks else ""
    lines = [
        f'workflow w "{"w" * description}" {{',
        f"    initial state a{enter}",
        f"    final state {target}{described}",
        f'    event go "{"e" * description}"' if description else "    event go",
        f"    a -> {target} on go if {guard}",
    ]
    if twin:  # a second state whose long name differs from the first only in its middle
        middle = len(target) // 2
        other = target[:middle] + "y" + target[middle + 1 :]
        lines[2:2] = [f"    final state {other}"]
        lines.append(f"    a -> {other} on go if not {guard}")
    return "\n".join([*lines, "}"]) + "\n"


CASES = {
    "a guard of 3,000 names": flow(guard_names=3000),
    "descriptions of 20,000 characters": flow(description=20_000),
    "a state name of 17,000 characters": flow(name=17_000),
    "5,000 hooks on one state": flow(hooks=5000),
}


@needs_dot
@pytest.mark.parametrize("text", CASES.values(), ids=list(CASES))
def test_graphviz_draws_a_workflow_whatever_the_length_of_its_texts(text: str) -> None:
    svg = dot_to(to_dot(extract(wfdsl.loads(text), Detail.HOOKS)), "svg")
    assert svg.startswith(b"<?xml")


@needs_dot
def test_render_draws_a_guard_of_3000_names(tmp_path: Path) -> None:
    (tmp_path / "w.wf").write_text(CASES["a guard of 3,000 names"])
    result = CliRunner().invoke(
        cli, ["render", str(tmp_path / "w.wf"), "-o", str(tmp_path / "w.svg")]
    )
    assert result.exit_code == 0, result.stderr
    svg = (tmp_path / "w.svg").read_text()
    assert "check_0 and check_1" in svg and "and check_2999" in svg and "\u2026" in svg


@needs_dot
def test_two_long_names_alike_but_in_the_middle_stay_two_states() -> None:
    dot = to_dot(extract(wfdsl.loads(flow(name=9000, twin=True)), Detail.HOOKS))
    svg = dot_to(dot, "svg").decode()
    assert svg.count('class="node"') == 4  # the start point, a and the two finals


def test_elided_texts_keep_their_start_and_end_and_fit_the_limit() -> None:
    text = "".join(chr(ord("a") + i % 26) for i in range(10_000))
    short = elided(text, LABEL_LIMIT)
    assert len(short) == LABEL_LIMIT
    assert short.startswith(text[:200]) and short.endswith(text[-200:]) and "\u2026" in short
    unique = elided(text, QUOTED_LIMIT, unique=True)
    assert len(unique) == QUOTED_LIMIT and unique != elided(text[:-1] + "!", QUOTED_LIMIT)
    assert elided("short", LABEL_LIMIT) == "short"


def test_labels_stay_far_below_graphviz_s_limit_even_when_every_character_is_escaped() -> None:
    # '&' becomes '&amp;' and '"' becomes '&quot;': the longest escapes.
    text = flow(description=20_000).replace("d" * 20_000, "&" * 20_000)
    dot = to_dot(extract(wfdsl.loads(text), Detail.HOOKS))
    longest = max(
        len(run) for line in dot.splitlines() for run in line.replace("<", ">").split(">")
    )
    assert longest < 16_384


# -- the layout is bounded for every command that runs Graphviz ------------------


@pytest.fixture
def recorded_dot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Graphviz's own ``dot`` behind a wrapper that notes its arguments."""
    real = shutil.which("dot")
    if real is None:
        pytest.skip("Graphviz 'dot' is not installed (apt-get install graphviz)")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "dot-args.log"
    wrapper = bin_dir / "dot"
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> {log}\nexec {real} "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return log


def test_every_command_bounds_graphviz_s_layout(recorded_dot: Path, tmp_path: Path) -> None:
    from wfdsl.preview.server import Previewer

    wf = tmp_path / "release.wf"
    wf.write_text(release_pipeline(100))
    runner = CliRunner()
    for args in (
        ["render", str(wf), "-o", str(tmp_path / "r.svg")],
        ["breaking", str(wf), str(wf), "--render", str(tmp_path / "b.svg")],
    ):
        assert runner.invoke(cli, args).exit_code == 0
    assert Previewer(str(wf), draw_wait=None).snapshot().svg is not None
    calls = recorded_dot.read_text().splitlines()
    assert len(calls) == 3
    assert all(set(LAYOUT_BOUNDS) <= set(call.split()) for call in calls), calls


def test_the_dot_that_render_writes_is_unchanged_by_the_bound() -> None:
    """The bound is given to Graphviz, not written into the DOT."""
    dot = to_dot(extract(wfdsl.loads(release_pipeline(3)), Detail.HOOKS))
    assert "nslimit" not in dot
