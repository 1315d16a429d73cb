"""``wfdsl breaking``: changes that break in-flight instances, and the review picture."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from wfdsl import loads
from wfdsl.cli import cli
from wfdsl.compare.breaking import BREAKING_RULES, compare
from wfdsl.fmt import format_source
from wfdsl.render.diff import render_diff
from wfdsl.render.dot import quoted

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").rglob("*.wf"))

OLD = """\
workflow order {

    initial state created
    state paid {
        enter charge
    }
    state packed
    final state delivered
    final state cancelled

    event pay
    event pack
    event deliver
    event cancel

    created -> paid on pay if card_ok
    paid -> packed on pack
    packed -> delivered on deliver
    created, paid -> cancelled on cancel
}
"""


def append(text: str, lines: str) -> str:
    """``lines`` added at the end of the workflow's body."""
    assert text.endswith("}\n")
    return text[:-2] + lines + "}\n"


def codes(old: str, new: str) -> list[str]:
    return [c.diagnostic.code for c in compare(loads(old, "old.wf"), loads(new, "new.wf"))]


def only(old: str, new: str) -> str:
    changes = compare(loads(old, "old.wf"), loads(new, "new.wf"))
    assert len(changes) == 1, [c.diagnostic.headline() for c in changes]
    d = changes[0].diagnostic
    return f"{d.path}:{d.line}:{d.column}: {d.code} {d.message}" + (
        f" | {d.hint}" if d.hint else ""
    )


# -- what breaks --------------------------------------------------------------------


def test_identical_specs_break_nothing() -> None:
    assert codes(OLD, OLD) == []


def test_layout_comments_and_descriptions_break_nothing() -> None:
    new = "# reformatted\n" + format_source(OLD).replace("state packed", 'state packed "Boxed"')
    assert codes(OLD, new) == []


def test_additions_break_nothing() -> None:
    new = OLD.replace("    event pay\n", "    event pay\n    event hold\n").replace(
        "    state packed\n", "    state packed\n    state on_hold\n"
    )
    new = append(new, "    * -> on_hold on hold\n    packed -> cancelled on cancel\n")
    assert codes(OLD, new) == []


def test_changing_a_guard_or_hooks_breaks_nothing() -> None:
    new = OLD.replace("if card_ok", "if card_ok and not flagged").replace("charge", "charge, mail")
    assert codes(OLD, new) == []


def test_removed_state_is_reported_at_its_place_in_the_old_file() -> None:
    new = OLD.replace("    state packed\n", "").replace(
        "    paid -> packed on pack\n    packed -> delivered on deliver\n",
        "    paid -> delivered on pack\n",
    )
    assert codes(OLD, new) == ["WF501"]  # not also its transitions
    first = compare(loads(OLD, "old.wf"), loads(new, "new.wf"))[0].diagnostic
    assert (first.path, first.line, first.column) == ("old.wf", 7, 11)
    assert first.message == "state 'packed' was removed"


def test_renamed_state_is_reported_with_a_hint() -> None:
    new = OLD.replace("packed", "boxed")
    assert only(OLD, new) == (
        "old.wf:7:11: WF501 state 'packed' was removed"
        " | renamed to 'boxed'? running instances still use the old name"
    )


def test_removed_event_is_reported() -> None:
    new = OLD.replace("    event cancel\n", "").replace(
        "    created, paid -> cancelled on cancel\n", ""
    )
    assert only(OLD, new) == "old.wf:14:11: WF502 event 'cancel' was removed"


def test_removing_an_event_no_transition_used_breaks_nothing() -> None:
    old = OLD.replace("    event cancel\n", "    event cancel\n    event hold\n")
    assert codes(old, OLD) == []


def test_renamed_event_is_reported_with_a_hint() -> None:
    new = OLD.replace("cancel\n", "abort\n").replace("on cancel", "on abort")
    assert only(OLD, new) == (
        "old.wf:14:11: WF502 event 'cancel' was removed"
        " | renamed to 'abort'? running instances still use the old name"
    )


def test_removed_transition_is_reported() -> None:
    new = OLD.replace("    packed -> delivered on deliver\n", "")
    assert only(OLD, new) == (
        "old.wf:18:5: WF503 transition 'packed -> delivered on deliver' was removed"
    )


def test_source_dropped_from_a_transition_is_reported_for_that_source() -> None:
    new = OLD.replace("created, paid -> cancelled", "created -> cancelled")
    assert only(OLD, new) == (
        "old.wf:19:5: WF503 transition 'created, paid -> cancelled on cancel'"
        " no longer fires from 'paid'"
    )


def test_changed_target_is_a_removed_transition_with_a_hint() -> None:
    new = OLD.replace("paid -> packed on pack", "paid -> delivered on pack")
    assert only(OLD, new) == (
        "old.wf:17:5: WF503 transition 'paid -> packed on pack' was removed"
        " | 'pack' now leads to 'delivered'"
    )


def test_wildcard_replaced_by_the_same_sources_breaks_nothing() -> None:
    old = OLD.replace("created, paid -> cancelled", "* -> cancelled")
    new = OLD.replace("created, paid -> cancelled", "created, paid, packed -> cancelled")
    assert codes(old, new) == []


def test_state_made_final_is_reported_at_its_place_in_the_new_file() -> None:
    new = OLD.replace("    state packed\n", "    final state packed\n").replace(
        "    packed -> delivered on deliver\n", ""
    )
    assert codes(OLD, new) == ["WF503", "WF504"]
    made_final = compare(loads(OLD, "old.wf"), loads(new, "new.wf"))[1].diagnostic
    assert (made_final.path, made_final.line, made_final.column) == ("new.wf", 7, 5)
    assert made_final.message == "state 'packed' is now final"


def test_initial_state_changed_is_reported() -> None:
    new = OLD.replace("    initial state created\n", "    initial state draft\n    state created\n")
    new = new.replace("    event pay\n", "    event pay\n    event submit\n")
    new = append(new, "    draft -> created on submit\n")
    assert only(OLD, new) == ("new.wf:3:5: WF505 initial state changed from 'created' to 'draft'")


def test_workflow_renamed_is_reported() -> None:
    assert only(OLD, OLD.replace("workflow order", "workflow purchase")) == (
        "new.wf:1:10: WF506 workflow renamed from 'order' to 'purchase'"
        " | stores keep instances under 'order'; the new name finds none of them"
    )


def test_every_breaking_rule_is_documented_in_the_four_sections() -> None:
    from wfdsl.lint.base import SECTIONS, doc_sections

    assert sorted(BREAKING_RULES) == ["WF501", "WF502", "WF503", "WF504", "WF505", "WF506"]
    for rule in BREAKING_RULES.values():
        assert list(doc_sections(rule)) == list(SECTIONS), rule.code


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


# -- --render OUT -----------------------------------------------------------------------

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")

TRICKY = OLD.replace(
    "workflow order {", 'workflow order "a \\"quoted\\" <b>&amp; \\\\ x" {'
).replace("    state packed\n", '    state packed "<i>&\\"\\\\</i> \\n ]; }"\n')


def pairs() -> list[tuple[str, str, str]]:
    """(id, old, new): the change kinds above, and every example against a changed self."""
    out = [
        ("same", OLD, OLD),
        ("renamed", OLD, OLD.replace("packed", "boxed")),
        (
            "final",
            OLD,
            OLD.replace("    state packed", "    final state packed").replace(
                "    packed -> delivered on deliver\n", ""
            ),
        ),
        (
            "guards-hooks",
            OLD,
            OLD.replace("if card_ok", "if card_ok or (vip and not x)").replace(
                "enter charge", "enter charge, mail\n        exit log"
            ),
        ),
        (
            "tricky",
            TRICKY,
            TRICKY.replace("initial state created", "state created").replace(
                "state paid", "initial state paid"
            ),
        ),
        ("wildcard", OLD.replace("created, paid -> cancelled", "* -> cancelled"), OLD),
    ]
    for path in EXAMPLES:
        text = path.read_text(encoding="utf-8")
        out.append((path.name, text, text))
        spec = loads(text)
        last = spec.edges[-1].span.line if spec.edges else 0
        lines = text.split("\n")
        if last:
            del lines[last - 1]
            out.append((path.name + "-minus-one", text, "\n".join(lines)))
    return out


@needs_dot
@pytest.mark.parametrize(("name", "old", "new"), pairs(), ids=[p[0] for p in pairs()])
def test_dot_accepts_the_review_diagram(name: str, old: str, new: str) -> None:
    dot_text = render_diff(loads(old), loads(new), "old.wf", "new.wf")
    done = subprocess.run(
        ["dot", "-Tsvg"], input=dot_text.encode(), capture_output=True, check=False
    )
    assert done.returncode == 0, done.stderr.decode()
    assert done.stderr == b"", done.stderr.decode()


def test_review_diagram_marks_added_removed_and_changed_parts() -> None:
    new = (
        OLD.replace("packed", "boxed")
        .replace("if card_ok", "if card_ok and kyc")
        .replace("enter charge", "enter charge, mail")
    )
    dot_text = render_diff(loads(OLD), loads(new), "old.wf", "new.wf")
    # removed: red and dashed, name struck through
    assert '"packed" [label=<<TABLE' in dot_text
    assert "<S><B>packed</B></S>" in dot_text
    assert '"paid" -> "packed" [label=<<FONT COLOR="#c53030"><S>pack</S></FONT>>' in dot_text
    # added: green and bold
    assert '"paid" -> "boxed" [label=<<FONT COLOR="#2f855a"><B>pack</B></FONT>>' in dot_text
    # changed guard and hooks: orange, old and new text
    assert "was [card_ok]" in dot_text and "now [card_ok and kyc]" in dot_text
    assert "enter was / charge<" in dot_text and "enter now / charge, mail<" in dot_text


def test_review_diagram_escapes_every_label() -> None:
    spec = loads(TRICKY)
    dot_text = render_diff(spec, spec, "<old>", 'new "x".wf')
    assert (
        f"tooltip={quoted('packed (same): ' + str(spec.state('packed').description))}" in dot_text
    )
    assert "&lt;old&gt;" in dot_text and "new &quot;x&quot;.wf" in dot_text


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
