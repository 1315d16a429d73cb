"""Atomic writes: every output file of every command goes through
write_output / write_atomic, each caller stating the policy (root, mark,
writer) it writes under."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from wfdsl.cli.common import UserError
from wfdsl.cli.fileio import WriteRefused, write_atomic, write_output

#: A file the user named: stays in its own directory, replaced whatever it holds.
NAMED: dict[str, None] = {"root": None, "mark": None}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_file_gets_the_umask_default_not_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "out.py", "x = 1\n", **NAMED, writer="test")
    finally:
        os.umask(old)
    assert mode(tmp_path / "out.py") == 0o644
    assert (tmp_path / "out.py").read_text() == "x = 1\n"


def test_existing_file_keeps_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "flow.wf"
    target.write_text("old")
    target.chmod(0o640)
    write_atomic(target, b"new", **NAMED, writer="test")
    assert mode(target) == 0o640
    assert target.read_bytes() == b"new"


def test_failure_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "flow.wf"
    target.write_text("old")
    with pytest.raises(TypeError):
        write_atomic(target, 42, **NAMED, writer="test")  # type: ignore[arg-type]
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["flow.wf"]


def test_text_is_utf8(tmp_path: Path) -> None:
    write_atomic(tmp_path / "a.md", "Überweisung → done\n", **NAMED, writer="test")
    assert (tmp_path / "a.md").read_bytes() == "Überweisung → done\n".encode()


def test_a_symlink_is_written_through_and_stays_a_link(tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir()
    real = tmp_path / "shared" / "order.wf"
    real.write_text("old\n", encoding="utf-8")
    link = tmp_path / "order.wf"
    link.symlink_to(real)
    write_atomic(link, "new\n", **NAMED, writer="test")
    assert link.is_symlink()
    assert real.read_text(encoding="utf-8") == "new\n"
    assert sorted(p.name for p in (tmp_path / "shared").iterdir()) == ["order.wf"]


# -- the write policy: stay in the directory, regular files only, generated files only


def test_a_link_to_a_file_outside_the_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep\n")
    (tmp_path / "out" / "page.md").symlink_to(victim)
    with pytest.raises(WriteRefused) as refused:
        write_atomic(tmp_path / "out" / "page.md", "new\n", **NAMED, writer="test")
    assert "outside" in (refused.value.strerror or "")
    assert victim.read_text() == "keep\n"
    assert (tmp_path / "out" / "page.md").is_symlink()


def test_a_dangling_link_is_refused_and_creates_nothing(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "page.md").symlink_to(tmp_path / "elsewhere" / "new.md")
    with pytest.raises(WriteRefused, match="does not exist"):
        write_atomic(tmp_path / "out" / "page.md", "new\n", **NAMED, writer="test")
    assert not (tmp_path / "elsewhere").exists()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["page.md"]


def test_a_link_that_only_leaves_a_subdirectory_of_the_root_is_followed(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    real = tmp_path / "b" / "page.md"
    real.write_text("old\n")
    (tmp_path / "a" / "page.md").symlink_to(real)
    with pytest.raises(WriteRefused):
        write_atomic(tmp_path / "a" / "page.md", "new\n", **NAMED, writer="test")  # root: a/
    write_atomic(tmp_path / "a" / "page.md", "new\n", root=tmp_path, mark=None, writer="test")
    assert real.read_text() == "new\n"


def test_a_symlinked_directory_the_user_names_is_followed(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "docs").symlink_to(tmp_path / "real", target_is_directory=True)
    write_atomic(
        tmp_path / "docs" / "page.md", "new\n", root=tmp_path / "docs", mark=None, writer="test"
    )
    assert (tmp_path / "real" / "page.md").read_text() == "new\n"


@pytest.mark.parametrize("kind", ["directory", "fifo"])
def test_only_regular_files_are_replaced(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "out.svg"
    if kind == "directory":
        target.mkdir()
    else:
        os.mkfifo(target)
    with pytest.raises(WriteRefused, match="regular files"):
        write_atomic(target, "new\n", **NAMED, writer="test")
    assert target.is_dir() if kind == "directory" else stat.S_ISFIFO(target.stat().st_mode)


def test_a_link_to_a_device_is_refused(tmp_path: Path) -> None:
    (tmp_path / "out.txt").symlink_to("/dev/null")
    with pytest.raises(WriteRefused):
        write_atomic(tmp_path / "out.txt", "new\n", **NAMED, writer="test")


def test_with_a_mark_only_a_file_carrying_it_is_replaced(tmp_path: Path) -> None:
    mine = tmp_path / "mine.py"
    mine.write_text("# made by the tool\nx = 1\n")
    theirs = tmp_path / "theirs.py"
    theirs.write_text("x = 1  # written by hand\n")
    write_atomic(
        mine, "# made by the tool\nx = 2\n", mark=b"made by the tool", writer="tool", root=None
    )
    with pytest.raises(WriteRefused, match="was not written by tool"):
        write_atomic(
            theirs, "# made by the tool\n", mark=b"made by the tool", writer="tool", root=None
        )
    assert mine.read_text().endswith("x = 2\n")
    assert theirs.read_text() == "x = 1  # written by hand\n"
    write_atomic(
        tmp_path / "new.py",
        "# made by the tool\n",
        mark=b"made by the tool",
        root=None,
        writer="test",
    )


def test_a_refusal_is_an_os_error_saying_why(tmp_path: Path) -> None:
    (tmp_path / "x").symlink_to("/nonexistent/x")
    with pytest.raises(OSError) as refused:
        write_atomic(tmp_path / "x", "new\n", **NAMED, writer="test")
    assert refused.value.filename == str(tmp_path / "x")
    assert refused.value.strerror and "symbolic link" in refused.value.strerror


# -- write_output: the one entry point commands use


def test_write_output_writes_under_the_policy_it_is_given(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    page = tmp_path / "out" / "page.md"
    write_output(str(page), "mine\n", root=tmp_path / "out", mark=b"mine", writer="wfdsl docs")
    write_output(str(page), "mine, again\n", root=tmp_path / "out", mark=b"mine", writer="x")
    assert page.read_text() == "mine, again\n"


def test_write_output_turns_a_refusal_into_one_line_naming_the_writer(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("written by hand\n")
    with pytest.raises(UserError) as refused:
        write_output(str(page), "new\n", root=tmp_path, mark=b"generated", writer="wfdsl docs")
    assert refused.value.message == (
        f"{page}: cannot write: exists and was not written by wfdsl docs; not replacing it"
    )
    assert page.read_text() == "written by hand\n"


def test_write_output_refuses_to_leave_the_root_it_is_given(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "victim.txt").write_text("keep\n")
    (tmp_path / "out" / "page.md").symlink_to(tmp_path / "victim.txt")
    with pytest.raises(UserError, match="outside"):
        write_output(
            str(tmp_path / "out" / "page.md"),
            "x\n",
            root=tmp_path / "out",
            mark=None,
            writer="test",
        )
    assert (tmp_path / "victim.txt").read_text() == "keep\n"


def test_no_command_writes_a_file_but_through_fileio() -> None:
    """One policy for every output file: no module of the CLI but fileio.py
    opens a file for writing, renames over one or makes a temporary one."""
    import ast

    cli_dir = Path(__file__).resolve().parents[2] / "wfdsl" / "cli"
    writes = {"write_text", "write_bytes", "mkstemp", "replace", "rename", "NamedTemporaryFile"}
    found = []
    for module in sorted(cli_dir.glob("*.py")):
        if module.name == "fileio.py":
            continue
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            modes = [a.value for a in node.args[1:2] if isinstance(a, ast.Constant)]
            modes += [k.value.value for k in node.keywords if k.arg == "mode"
                      and isinstance(k.value, ast.Constant)]  # fmt: skip
            opens_to_write = name == "open" and any(
                isinstance(m, str) and set(m) & set("wax+") for m in modes
            )
            # str.replace is text, not a rename: only os.replace counts.
            renames = name in ("replace", "rename") and getattr(func, "value", None) is not None
            renames = renames and getattr(func.value, "id", "") == "os"  # type: ignore[attr-defined]
            if opens_to_write or renames or name in writes - {"replace", "rename"}:
                found.append(f"{module.name}:{node.lineno}: {name}")
    assert found == []
