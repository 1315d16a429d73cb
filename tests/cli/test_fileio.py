"""Atomic writes: every output file of every command goes through write_atomic."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from wfdsl.cli.fileio import write_atomic


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_file_gets_the_umask_default_not_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "out.py", "x = 1\n")
    finally:
        os.umask(old)
    assert mode(tmp_path / "out.py") == 0o644
    assert (tmp_path / "out.py").read_text() == "x = 1\n"


def test_existing_file_keeps_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "flow.wf"
    target.write_text("old")
    target.chmod(0o640)
    write_atomic(target, b"new")
    assert mode(target) == 0o640
    assert target.read_bytes() == b"new"


def test_failure_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "flow.wf"
    target.write_text("old")
    with pytest.raises(TypeError):
        write_atomic(target, 42)  # type: ignore[arg-type]
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["flow.wf"]


def test_text_is_utf8(tmp_path: Path) -> None:
    write_atomic(tmp_path / "a.md", "Überweisung → done\n")
    assert (tmp_path / "a.md").read_bytes() == "Überweisung → done\n".encode()


def test_a_symlink_is_written_through_and_stays_a_link(tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir()
    real = tmp_path / "shared" / "order.wf"
    real.write_text("old\n", encoding="utf-8")
    link = tmp_path / "order.wf"
    link.symlink_to(real)
    write_atomic(link, "new\n")
    assert link.is_symlink()
    assert real.read_text(encoding="utf-8") == "new\n"
    assert sorted(p.name for p in (tmp_path / "shared").iterdir()) == ["order.wf"]
