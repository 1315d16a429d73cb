"""``--hooks MODULE:OBJECT``: the module's file is read as a spec is (regular
files only, 8 MiB at most), so a FIFO, device or directory there is a
one-line error, never an import that blocks for ever."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from wfdsl.errors import HooksNotLoaded
from wfdsl.frontend.source import MAX_SOURCE_BYTES
from wfdsl.runtime.hook_loader import load_hooks

ROOT = Path(__file__).resolve().parents[2]
HOOKS = "class Hooks:\n    def ping(self, ctx: object) -> None:\n        pass\n"


def loaded(ref: str, cwd: Path) -> tuple[int, str]:
    """``load_hooks(ref)`` in a fresh interpreter in ``cwd`` (a read that
    blocks fails the test by its timeout): its exit status and message."""
    script = (
        "import sys\n"
        "from wfdsl.errors import HooksNotLoaded\n"
        "from wfdsl.runtime.hook_loader import load_hooks\n"
        "try:\n"
        "    print(type(load_hooks(sys.argv[1])).__name__)\n"
        "except HooksNotLoaded as exc:\n"
        "    print(exc)\n"
        "    sys.exit(2)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, ref], capture_output=True, text=True, timeout=60, cwd=cwd
    )
    assert done.stderr == ""
    return done.returncode, done.stdout


def special(path: Path, kind: str) -> None:
    if kind == "fifo":
        os.mkfifo(path)  # nobody writes: reading it would block for ever
    elif kind == "directory":
        path.mkdir()
    else:
        path.symlink_to("/dev/zero")  # reading it would never end


WORDS = {"fifo": "a FIFO", "directory": "a directory", "device": "a device"}


@pytest.mark.parametrize("kind", WORDS)
def test_a_hooks_file_that_is_not_a_regular_file_is_refused(tmp_path: Path, kind: str) -> None:
    special(tmp_path / "hooks.py", kind)
    code, out = loaded("hooks.py:Hooks", tmp_path)
    assert (code, out) == (
        2,
        f"hooks.py:Hooks: 'hooks.py' is {WORDS[kind]}; wfdsl reads only regular files\n",
    )


@pytest.mark.parametrize("kind", WORDS)
def test_a_hooks_module_by_name_whose_file_is_special_is_refused(tmp_path: Path, kind: str) -> None:
    """Python's import passes over such a file and says "No module named";
    wfdsl says what is there."""
    special(tmp_path / "myhooks.py", kind)
    code, out = loaded("myhooks:Hooks", tmp_path)
    assert code == 2
    assert out == (
        f"myhooks:Hooks: '{tmp_path / 'myhooks.py'}' is {WORDS[kind]};"
        " wfdsl reads only regular files\n"
    )


def test_a_module_in_a_package_whose_file_is_a_fifo_is_refused(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("")
    os.mkfifo(tmp_path / "app" / "hooks.py")
    code, out = loaded("app.hooks:Hooks", tmp_path)
    assert code == 2 and out.endswith("hooks.py' is a FIFO; wfdsl reads only regular files\n")


def test_a_hooks_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    with (tmp_path / "hooks.py").open("wb") as fh:
        fh.truncate(MAX_SOURCE_BYTES + 1)  # sparse
    with pytest.raises(HooksNotLoaded) as refused:
        load_hooks(f"{tmp_path / 'hooks.py'}:Hooks")
    assert "is larger than 8 MiB, the limit for a hooks module" in str(refused.value)


@pytest.mark.parametrize("ref", ["hooks.py:Hooks", "./hooks.py:Hooks", "hooks:Hooks"])
def test_regular_hooks_still_load_by_file_or_by_name(tmp_path: Path, ref: str) -> None:
    (tmp_path / "hooks.py").write_text(HOOKS)
    assert loaded(ref, tmp_path) == (0, "Hooks\n")


def test_a_hooks_file_runs_as_a_module_with_its_own_file_name(tmp_path: Path) -> None:
    path = tmp_path / "named.py"
    path.write_text("import os\nclass Hooks:\n    where = os.path.basename(__file__)\n")
    hooks = load_hooks(f"{path}:Hooks")
    assert type(hooks).where == "named.py"  # type: ignore[attr-defined]


def test_an_error_raised_by_the_module_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("raise ValueError('first line\\nsecond line')\n")
    with pytest.raises(HooksNotLoaded) as failed:
        load_hooks(f"{tmp_path / 'bad.py'}:Hooks")
    assert str(failed.value) == (
        f"{tmp_path / 'bad.py'}:Hooks: cannot import '{tmp_path / 'bad.py'}':"
        " ValueError: first line second line"
    )


def test_the_cli_refuses_a_fifo_for_hooks_in_one_line(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "hooks.py")
    done = subprocess.run(
        [
            sys.executable, "-m", "wfdsl", "start", "o-1",
            "--spec", str(ROOT / "examples" / "order.wf"),
            "--hooks", "hooks.py:OrderHooks", "--db", str(tmp_path / "x.db"),
        ],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr == (
        "wfdsl: error: --hooks hooks.py:OrderHooks: 'hooks.py' is a FIFO;"
        " wfdsl reads only regular files\n"
    )


def test_a_hooks_module_by_name_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    with (tmp_path / "bighooks.py").open("wb") as fh:
        fh.truncate(MAX_SOURCE_BYTES + 1)  # sparse
    code, out = loaded("bighooks:Hooks", tmp_path)
    assert code == 2
    assert out == (
        f"bighooks:Hooks: '{tmp_path / 'bighooks.py'}' is larger than 8 MiB,"
        " the limit for a hooks module\n"
    )


def test_a_compiled_module_by_name_still_loads() -> None:
    """An extension module (a .so, not a source to read) passes the check."""
    import importlib.util

    spec = importlib.util.find_spec("_decimal")
    if spec is None or not spec.has_location:
        pytest.skip("_decimal is built into this Python")
    assert type(load_hooks("_decimal:Context")).__name__ == "Context"
