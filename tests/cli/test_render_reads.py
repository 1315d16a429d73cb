"""``render --check`` and ``docs --check`` read the committed files as every
input is read (frontend/source.py's ``read_limited``): a FIFO, device or
directory is one line and exit 2, never a read that blocks or never ends,
and a file far larger than a fresh render is out of date, not read whole."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import ORDER


def wfdsl(*args: str | Path, cwd: Path | None = None) -> tuple[int, str]:
    """A real ``wfdsl`` process, so that a read that blocks fails the test
    by its timeout instead of hanging the whole run."""
    done = subprocess.run(
        [sys.executable, "-m", "wfdsl", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
    )
    return done.returncode, done.stderr


@pytest.fixture
def order(tmp_path: Path) -> Path:
    path = tmp_path / "order.wf"
    shutil.copy(ORDER, path)
    return path


@pytest.mark.parametrize("kind", ["fifo", "directory", "device"])
def test_render_check_refuses_a_committed_diagram_that_is_not_a_file(
    order: Path, tmp_path: Path, kind: str
) -> None:
    out = tmp_path / "order.mmd"
    if kind == "fifo":
        os.mkfifo(out)  # nobody writes: reading it would block for ever
    elif kind == "directory":
        out.mkdir()
    else:
        out.symlink_to("/dev/zero")  # reading it would never end
    code, err = wfdsl("render", order, "-o", out, "--check")
    words = {"fifo": "a FIFO", "directory": "a directory", "device": "a device"}[kind]
    assert code == 2, err
    assert err == f"wfdsl: error: {out}: cannot read: is {words}; wfdsl reads only regular files\n"


def test_render_check_finds_a_huge_committed_diagram_out_of_date_without_reading_it(
    order: Path, tmp_path: Path
) -> None:
    out = tmp_path / "order.mmd"
    with out.open("wb") as fh:
        fh.truncate(64 * 1024**3)  # sparse: 64 GiB that take no room
    code, err = wfdsl("render", order, "-o", out, "--check")
    assert code == 1, err
    assert f"{out}: out of date with {order}; run: wfdsl render {order} -o {out}\n" == err


def test_render_check_still_passes_and_fails_on_regular_files(order: Path, tmp_path: Path) -> None:
    out = tmp_path / "order.mmd"
    assert wfdsl("render", order, "-o", out)[0] == 0
    assert wfdsl("render", order, "-o", out, "--check") == (0, "")
    out.write_bytes(out.read_bytes() + b"\n")  # one byte more than a fresh render
    assert wfdsl("render", order, "-o", out, "--check")[0] == 1


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_docs_check_refuses_a_committed_page_that_is_not_a_file(
    order: Path, tmp_path: Path, kind: str
) -> None:
    (tmp_path / "docs").mkdir()
    page = tmp_path / "docs" / "order.md"
    if kind == "fifo":
        os.mkfifo(page)
    else:
        page.symlink_to("/dev/zero")
    code, err = wfdsl("docs", order, "-o", tmp_path / "docs", "--check")
    assert code == 2, err
    assert "order.md: cannot read: is a" in err and "wfdsl reads only regular files" in err
