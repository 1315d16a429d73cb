"""What the commands read: a directory search stays in its directory, special
files are never read (not even named on the command line), and every file
read has a size limit (docs/cli.md, "Files wfdsl reads")."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from wfdsl.cli import cli
from wfdsl.frontend.source import MAX_SOURCE_BYTES

from .helpers import ORDER

SECRET = "aws_secret_access_key = hunter2"


def run(*args: str | Path, stdin: bytes | None = None) -> tuple[int, str]:
    """Exit status and everything the command printed (stdout and stderr)."""
    result = CliRunner().invoke(cli, [str(a) for a in args], input=stdin, catch_exceptions=False)
    return result.exit_code, result.stdout + result.stderr


@pytest.fixture
def secrets(tmp_path: Path) -> Path:
    """A directory outside the one searched, holding files nobody asked for."""
    outside = tmp_path / "home"
    outside.mkdir()
    (outside / "credentials").write_text(SECRET + "\n")
    (outside / "flows").mkdir()
    (outside / "flows" / "private.wf").write_text(SECRET + "\n")
    return outside


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    flows = tmp_path / "flows"
    flows.mkdir()
    shutil.copy(ORDER, flows / "order.wf")
    return flows


@contextlib.contextmanager
def fifo_at(path: Path) -> Iterator[Path]:
    """A FIFO at ``path``. Should a command open it anyway, a writer feeds it
    a line and closes it, so that the test fails on the output instead of
    hanging; the writer is released at the end either way."""
    os.mkfifo(path)
    released = threading.Event()

    def feed() -> None:
        fd = os.open(path, os.O_WRONLY)  # blocks until someone reads
        with contextlib.suppress(OSError):
            if not released.is_set():
                os.write(fd, b"read by mistake\n")
        os.close(fd)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    try:
        yield path
    finally:
        released.set()
        with contextlib.suppress(OSError):
            os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK))  # lets the writer go
        writer.join(timeout=5)


# -- the search stays inside the directory ---------------------------------------


@pytest.mark.parametrize("command", ["lint", "fmt"])
def test_a_wf_link_to_a_file_outside_is_skipped_and_never_shown(
    command: str, tree: Path, secrets: Path
) -> None:
    (tree / "leak.wf").symlink_to(secrets / "credentials")
    code, out = run(command, tree) if command == "lint" else run(command, "--check", tree)
    assert "hunter2" not in out
    assert f"{tree / 'leak.wf'}: skipped: a symbolic link to {secrets / 'credentials'}" in out
    assert code == 0


@pytest.mark.parametrize("command", ["lint", "fmt"])
def test_a_symlinked_directory_leading_outside_is_not_searched(
    command: str, tree: Path, secrets: Path
) -> None:
    (tree / "shared").symlink_to(secrets / "flows", target_is_directory=True)
    code, out = run(command, tree) if command == "lint" else run(command, "--check", tree)
    assert "hunter2" not in out and "private.wf" not in out
    assert code == 0


def test_a_link_inside_the_directory_is_linted_once(tree: Path) -> None:
    text = ORDER.read_text()
    end = text.rindex("}")
    (tree / "order.wf").write_text(text[:end] + "    event never_sent\n" + text[end:])
    (tree / "sub").mkdir()
    (tree / "sub" / "alias.wf").symlink_to(tree / "order.wf")
    code, out = run("lint", "--format", "json", tree)
    findings = json.loads(out)
    assert code == 1 and [f["code"] for f in findings] == ["WF205"]


def test_a_link_to_a_device_in_the_directory_is_skipped(tree: Path) -> None:
    (tree / "zero.wf").symlink_to("/dev/zero")
    code, out = run("lint", tree)
    assert code == 0 and "skipped: a symbolic link to /dev/zero" in out


def test_a_file_named_on_the_command_line_is_read_through_its_link(
    tree: Path, secrets: Path
) -> None:
    """The user asked for it: a link named directly is followed."""
    (tree / "private.wf").symlink_to(secrets / "flows" / "private.wf")
    code, out = run("lint", tree / "private.wf")
    assert code == 1 and "WF100" in out


# -- special files are refused, named or found -----------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["lint", "{p}"],
        ["lint", "{d}"],
        ["fmt", "{p}"],
        ["fmt", "--check", "{d}"],
        ["render", "{p}"],
        ["compile", "{p}"],
        ["docs", "{p}", "-o", "{d}/docs"],
        ["breaking", "{p}", "{o}"],
        ["breaking", "{o}", "{p}"],
        ["preview", "{p}"],
        ["start", "x", "--spec", "{p}", "--db", "{d}/x.db"],
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_a_fifo_is_refused_in_one_line_without_blocking(args: list[str], tree: Path) -> None:
    with fifo_at(tree / "pipe.wf") as pipe:
        argv = [a.format(p=pipe, d=tree, o=tree / "order.wf") for a in args]
        code, out = run(*argv)
    assert code == 2, out
    assert "pipe.wf" in out and "FIFO" in out
    assert "read by mistake" not in out and "Traceback" not in out


@pytest.mark.parametrize("command", ["lint", "fmt", "render", "compile"])
def test_a_device_named_on_the_command_line_is_refused(command: str) -> None:
    code, out = run(command, "/dev/zero")
    assert code == 2
    assert "/dev/zero" in out and "is a device; wfdsl reads only regular files" in out


def test_a_socket_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.wf"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        code, out = run("lint", tmp_path)
    assert code == 2 and "s.wf: is a socket" in out


# -- every file read has a size limit --------------------------------------------


@pytest.fixture
def huge(tmp_path: Path) -> Path:
    """A file one byte over the limit (sparse: it takes no room on disk)."""
    path = tmp_path / "huge.wf"
    with path.open("wb") as fh:
        fh.truncate(MAX_SOURCE_BYTES + 1)
    return path


@pytest.mark.parametrize("command", ["lint", "fmt", "render", "compile"])
def test_a_file_over_the_size_limit_is_refused(command: str, huge: Path) -> None:
    code, out = run(command, huge)
    assert code == 2
    assert "huge.wf" in out and "is larger than 8 MiB, the limit for a .wf file" in out


def test_a_file_at_the_size_limit_is_read(tmp_path: Path) -> None:
    text = ORDER.read_text()
    padded = text + "#" * (MAX_SOURCE_BYTES - len(text.encode()) - 1) + "\n"
    (tmp_path / "big.wf").write_text(padded)
    code, out = run("lint", tmp_path / "big.wf")
    assert code == 0, out


def test_fmt_bounds_standard_input_too() -> None:
    code, out = run("fmt", "-", stdin=b"#" * (MAX_SOURCE_BYTES + 1))
    assert code == 2 and "is larger than 8 MiB" in out
