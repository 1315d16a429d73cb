"""An instance stored in a state the loaded spec no longer declares (SPEC §7.1):
every call on it raises ``UnknownState`` naming the instance, the state and the
spec, never ``KeyError`` or ``ValueError``; nothing is written."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import pytest
from click.testing import CliRunner

import wfdsl
from wfdsl import Manager
from wfdsl.cli import cli
from wfdsl.errors import UnknownState
from wfdsl.ir import Spec
from wfdsl.stores.base import Store
from wfdsl.stores.sqlite import SQLiteStore

BEFORE = """workflow review {
    initial state draft
    state reviewing { enter notify compensate withdraw }
    final state published
    event submit, approve
    draft -> reviewing on submit
    reviewing -> published on approve
}"""
# The spec changed under live instances: ``reviewing`` renamed to ``in_review``.
AFTER = BEFORE.replace("reviewing", "in_review")
HOOKS = {"notify": lambda ctx: None, "withdraw": lambda ctx: None}


class State(StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    PUBLISHED = "published"


class Event(StrEnum):
    SUBMIT = "submit"
    APPROVE = "approve"


@pytest.fixture
def after(tmp_path: Path) -> Spec:
    path = tmp_path / "review.wf"
    path.write_text(AFTER)
    return wfdsl.load(path)


def reviewing(store: Store) -> None:
    mgr = Manager(wfdsl.loads(BEFORE), store, hooks=HOOKS)
    mgr.start("r-1")
    mgr.send("r-1", "submit")


def check(exc: UnknownState, spec: Spec) -> None:
    assert (exc.instance_id, exc.state) == ("r-1", "reviewing")
    assert spec.path in str(exc) and spec.fingerprint()[:12] in str(exc)


def test_send_compensate_retry_and_typed_state_raise_unknown_state(
    store: Store, after: Spec
) -> None:
    reviewing(store)
    mgr = Manager(after, store, hooks=HOOKS)
    typed = Manager(after, store, hooks=HOOKS, state_type=State, event_type=Event)
    calls = [
        lambda: mgr.send("r-1", "approve"),
        lambda: mgr.send("r-1", "approve", key="k"),
        lambda: mgr.compensate("r-1", "draft"),
        lambda: mgr.retry("r-1"),
        lambda: typed.state("r-1"),
    ]
    for call in calls:
        with pytest.raises(UnknownState) as info:
            call()
        check(info.value, after)
    assert mgr.state("r-1") == "reviewing"  # untyped: the stored text, as it is
    assert len(mgr.history("r-1")) == 2  # nothing was written


def test_resume_leaves_such_an_instance_with_owed_work_alone_and_says_so(
    store: Store, after: Spec
) -> None:
    fail = [True]

    def notify(ctx: object) -> None:
        if fail[0]:
            raise RuntimeError("down")

    mgr = Manager(wfdsl.loads(BEFORE), store, hooks={**HOOKS, "notify": notify})
    mgr.start("r-1")
    with pytest.raises(wfdsl.WorkflowError):
        mgr.send("r-1", "submit")
    report = Manager(after, store, hooks=HOOKS).resume()
    assert report.spec_changed == ["r-1"] and not report.ok


@pytest.mark.parametrize(
    "command",
    [["send", "r-1", "approve"], ["compensate", "r-1", "draft"], ["retry", "r-1"]],
    ids=["send", "compensate", "retry"],
)
def test_the_cli_says_so_in_one_line_and_exits_1(tmp_path: Path, command: list[str]) -> None:
    db = str(tmp_path / "review.db")
    with SQLiteStore(db) as store:
        reviewing(store)
    spec = tmp_path / "review.wf"
    spec.write_text(AFTER)
    hooks = tmp_path / "review_hooks.py"
    hooks.write_text(
        "class Hooks:\n    def notify(self, ctx): pass\n    def withdraw(self, ctx): pass\n"
    )
    args = [*command, "--spec", str(spec), "--hooks", f"{hooks}:Hooks", "--db", db]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output
    assert lines[0].startswith("wfdsl: error: review: instance 'r-1' is in state 'reviewing'")
