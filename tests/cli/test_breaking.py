"""``wfdsl breaking`` from the command line: reports, exit statuses, ``--against``,
``--db`` and ``--render``."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from wfdsl import loads
from wfdsl.cli import cli

from .helpers import ROOT, needs_dot

#: Version 1 of an order workflow (the one the library tests change).
OLD = (ROOT / "tests" / "compare" / "order.wf").read_text(encoding="utf-8")


# -- the command --------------------------------------------------------------------


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def files(tmp_path: Path, old: str, new: str) -> tuple[str, str]:
    (tmp_path / "old.wf").write_text(old, encoding="utf-8")
    (tmp_path / "new.wf").write_text(new, encoding="utf-8")
    return str(tmp_path / "old.wf"), str(tmp_path / "new.wf")


def test_no_breaking_change_exits_0(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["breaking", *files(tmp_path, OLD, OLD)])
    assert result.exit_code == 0
    assert result.stdout == "No breaking changes.\n"


def test_breaking_change_exits_1_with_text_diagnostics(runner: CliRunner, tmp_path: Path) -> None:
    old, new = files(tmp_path, OLD, OLD.replace("    packed -> delivered on deliver\n", ""))
    result = runner.invoke(cli, ["breaking", old, new])
    assert result.exit_code == 1
    assert result.stdout == (
        f"{old}:18:5: WF503 transition 'packed -> delivered on deliver' was removed\n"
        "  18 |     packed -> delivered on deliver\n"
        "           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n"
        "\n"
        "Found 1 breaking change.\n"
    )


def test_exit_zero_reports_without_failing(runner: CliRunner, tmp_path: Path) -> None:
    old, new = files(tmp_path, OLD, OLD.replace("workflow order", "workflow purchase"))
    result = runner.invoke(cli, ["breaking", "--exit-zero", old, new])
    assert result.exit_code == 0
    assert "WF506" in result.stdout


def test_json_format_has_the_lint_keys(runner: CliRunner, tmp_path: Path) -> None:
    old, new = files(tmp_path, OLD, OLD.replace("packed", "boxed"))
    result = runner.invoke(cli, ["breaking", "--format", "json", old, new])
    assert result.exit_code == 1
    [item] = json.loads(result.stdout)
    assert item == {
        "path": old,
        "line": 7,
        "column": 11,
        "end_line": 7,
        "end_column": 17,
        "code": "WF501",
        "severity": "error",
        "message": "state 'packed' was removed",
        "hint": "renamed to 'boxed'? running instances still use the old name",
    }


def test_github_format_prints_workflow_commands(runner: CliRunner, tmp_path: Path) -> None:
    old, new = files(tmp_path, OLD, OLD.replace("    state packed\n", "    final state packed\n"))
    new_text = Path(new).read_text(encoding="utf-8")
    Path(new).write_text(new_text.replace("    packed -> delivered on deliver\n", ""), "utf-8")
    result = runner.invoke(cli, ["breaking", "--format", "github", old, new])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[1].startswith(f"::error file={new},line=7,col=5,endLine=7,endColumn=23,")
    assert lines[1].endswith(
        "title=WF504 state-made-final::state 'packed' is now final "
        "(instances in it can no longer move on)"
    )


def test_invalid_new_file_exits_2_with_its_diagnostic(runner: CliRunner, tmp_path: Path) -> None:
    old, new = files(tmp_path, OLD, OLD.replace("-> paid", "-> payed"))
    result = runner.invoke(cli, ["breaking", old, new])
    assert result.exit_code == 2
    assert "WF101" in result.stderr
    assert "Traceback" not in result.output


def test_missing_file_exits_2(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["breaking", str(tmp_path / "a.wf"), str(tmp_path / "b.wf")])
    assert result.exit_code == 2
    assert "No such file or directory" in result.stderr


def test_one_path_without_against_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    old, _ = files(tmp_path, OLD, OLD)
    result = runner.invoke(cli, ["breaking", old])
    assert result.exit_code == 2
    assert "give two files" in result.stderr


# -- --against GIT_REF ------------------------------------------------------------

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / "flows").mkdir(parents=True)
    git(repo, "init", "-q")
    (repo / "flows" / "order.wf").write_text(OLD, encoding="utf-8")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "first")
    return repo


@needs_git
def test_against_compares_with_the_file_at_a_revision(runner: CliRunner, repo: Path) -> None:
    path = repo / "flows" / "order.wf"
    path.write_text(OLD.replace("    packed -> delivered on deliver\n", ""), encoding="utf-8")
    result = runner.invoke(cli, ["breaking", "--against", "HEAD", str(path)])
    assert result.exit_code == 1
    assert result.stdout.startswith("HEAD:flows/order.wf:18:5: WF503 ")
    assert "  18 |     packed -> delivered on deliver\n" in result.stdout


@needs_git
def test_against_with_no_change_exits_0(runner: CliRunner, repo: Path) -> None:
    result = runner.invoke(cli, ["breaking", "--against", "HEAD", str(repo / "flows/order.wf")])
    assert result.exit_code == 0


@needs_git
def test_against_a_file_new_at_that_revision_exits_2(runner: CliRunner, repo: Path) -> None:
    path = repo / "flows" / "new.wf"
    path.write_text(OLD, encoding="utf-8")
    result = runner.invoke(cli, ["breaking", "--against", "HEAD", str(path)])
    assert result.exit_code == 2
    assert result.stderr == "wfdsl: error: --against: flows/new.wf did not exist at HEAD\n"


@needs_git
def test_against_an_unknown_revision_exits_2(runner: CliRunner, repo: Path) -> None:
    result = runner.invoke(cli, ["breaking", "--against", "nope", str(repo / "flows/order.wf")])
    assert result.exit_code == 2
    assert result.stderr == "wfdsl: error: --against: unknown git revision 'nope'\n"


@needs_git
def test_against_outside_a_repository_exits_2(runner: CliRunner, tmp_path: Path) -> None:
    outside = tmp_path / "plain"
    outside.mkdir()
    (outside / "order.wf").write_text(OLD, encoding="utf-8")
    result = runner.invoke(cli, ["breaking", "--against", "HEAD", str(outside / "order.wf")])
    assert result.exit_code == 2
    assert "is not inside a git repository" in result.stderr


# -- --db URL -----------------------------------------------------------------------


@pytest.fixture
def db(tmp_path: Path) -> str:
    """A SQLite store with instances in 'paid' (2) and 'cancelled' (1, finished)."""
    from wfdsl import Manager, SQLiteStore

    path = tmp_path / "wf.db"
    store = SQLiteStore(str(path))
    mgr = Manager(
        loads(OLD), store, hooks={"card_ok": lambda ctx: True, "charge": lambda ctx: None}
    )
    for i in ("o-1", "o-2", "o-3"):
        mgr.start(i)
        mgr.send(i, "pay")
    mgr.send("o-3", "cancel")
    store.close()
    return str(path)


def test_db_keeps_changes_that_hit_live_instances(
    runner: CliRunner, tmp_path: Path, db: str
) -> None:
    new = OLD.replace("created, paid -> cancelled", "created -> cancelled").replace(
        "    packed -> delivered on deliver\n", ""
    )
    old, new_path = files(tmp_path, OLD, new)
    plain = runner.invoke(cli, ["breaking", old, new_path])
    assert plain.stdout.count("WF503") == 2
    result = runner.invoke(cli, ["breaking", "--db", db, old, new_path])
    assert result.exit_code == 1
    assert result.stdout.count("WF503") == 1
    assert "no longer fires from 'paid' (2 live instances in 'paid')" in result.stdout
    assert result.stdout.endswith("Found 1 breaking change for 2 live instances.\n")


def test_db_with_no_live_instance_affected_exits_0(
    runner: CliRunner, tmp_path: Path, db: str
) -> None:
    old, new = files(tmp_path, OLD, OLD.replace("    packed -> delivered on deliver\n", ""))
    result = runner.invoke(cli, ["breaking", "--db", db, old, new])
    assert result.exit_code == 0
    assert result.stdout == "No breaking changes for 2 live instances.\n"


def test_db_keeps_a_removed_state_that_live_instances_were_heading_for(
    runner: CliRunner, tmp_path: Path, db: str
) -> None:
    # Nobody is in 'packed', but the two instances in 'paid' wait for 'pack',
    # which led there and now leads nowhere.
    new = OLD.replace("    state packed\n", "").replace(
        "    paid -> packed on pack\n    packed -> delivered on deliver\n", ""
    )
    old, new_path = files(tmp_path, OLD, new)
    result = runner.invoke(cli, ["breaking", "--db", db, old, new_path])
    assert result.exit_code == 1
    assert "WF501 state 'packed' was removed (2 live instances in 'paid')" in result.stdout


def test_db_with_a_bad_url_exits_2(runner: CliRunner, tmp_path: Path) -> None:
    old, new = files(tmp_path, OLD, OLD)
    result = runner.invoke(cli, ["breaking", "--db", "mysql://x", old, new])
    assert result.exit_code == 2
    assert "unknown database scheme" in result.stderr


def test_render_writes_dot(runner: CliRunner, tmp_path: Path) -> None:
    old, new = files(tmp_path, OLD, OLD.replace("packed", "boxed"))
    out = tmp_path / "review.dot"
    result = runner.invoke(cli, ["breaking", "--render", str(out), old, new])
    assert result.exit_code == 1
    assert out.read_text(encoding="utf-8").startswith("// Generated by wfdsl breaking --render")


@needs_dot
def test_render_writes_png(runner: CliRunner, tmp_path: Path) -> None:
    old, new = files(tmp_path, OLD, OLD)
    out = tmp_path / "review.png"
    result = runner.invoke(cli, ["breaking", "--render", str(out), old, new])
    assert result.exit_code == 0
    assert out.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_render_without_graphviz_is_a_one_line_error(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = files(tmp_path, OLD, OLD)
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH with no 'dot' on it
    result = runner.invoke(cli, ["breaking", "--render", str(tmp_path / "r.svg"), old, new])
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1
    assert "install Graphviz" in result.stderr


def test_render_with_an_unknown_suffix_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    old, new = files(tmp_path, OLD, OLD)
    result = runner.invoke(cli, ["breaking", "--render", str(tmp_path / "r.gif"), old, new])
    assert result.exit_code == 2
    assert "--render" in result.stderr


def test_installed_command_reports_and_exits_1(tmp_path: Path) -> None:
    import sys

    old, new = files(tmp_path, OLD, OLD.replace("workflow order", "workflow purchase"))
    done = subprocess.run(
        [sys.executable, "-m", "wfdsl", "breaking", "--format", "json", old, new],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert [d["code"] for d in json.loads(done.stdout)] == ["WF506"]


def test_db_naming_a_missing_sqlite_file_exits_2_and_creates_nothing(
    runner: CliRunner, tmp_path: Path
) -> None:
    old, new = files(tmp_path, OLD, OLD.replace("    packed -> delivered on deliver\n", ""))
    result = runner.invoke(cli, ["breaking", "--db", str(tmp_path / "typo.db"), old, new])
    assert result.exit_code == 2
    assert "no such database file" in result.stderr
    assert not (tmp_path / "typo.db").exists()
