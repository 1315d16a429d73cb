"""The runtime commands (SPEC §4): instances, history, start, send, resume, compensate.

Exit 0 done; 1 the workflow refused or a hook failed; 2 the command is wrong.
Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import wfdsl
from wfdsl.cli import cli
from wfdsl.runtime.hook_loader import load_hooks
from wfdsl.runtime.manager import Manager
from wfdsl.stores.sqlite import SQLiteStore

ROOT = Path(__file__).resolve().parents[2]
SPEC = str(ROOT / "examples" / "order.wf")
HOOKS = f"{ROOT / 'examples' / 'order_hooks.py'}:OrderHooks"


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("ORDER_LEDGER", str(tmp_path / "ledger.db"))
    return str(tmp_path / "orders.db")


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def drive(db: str, *args: str) -> Result:
    return run(*args, "--spec", SPEC, "--hooks", HOOKS, "--db", db)


def one_line_error(result: Result, code: int) -> str:
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("wfdsl: error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def test_start_send_and_history(db: str) -> None:
    assert drive(db, "start", "o-1").stdout == "o-1: started in created (seq 1)\n"
    result = drive(db, "send", "o-1", "pay", "--key", "k1", "--data", '{"amount": 1200}')
    assert (result.exit_code, result.stdout) == (0, "o-1: created -> paid on pay (seq 2)\n")
    hist = run("history", "--db", db, "o-1", "--format", "json")
    assert hist.exit_code == 0
    rows = json.loads(hist.stdout)
    assert [(r["seq"], r["kind"], r["target"], r["key"], r["data"]) for r in rows] == [
        (1, "start", "created", None, {}),
        (2, "event", "paid", "k1", {"amount": 1200}),
    ]
    text = run("history", "--db", db, "o-1").stdout
    assert text.splitlines()[0] == "order/o-1"
    assert "created -> paid on pay" in text


def test_instances_lists_and_filters(db: str) -> None:
    drive(db, "start", "o-1")
    drive(db, "start", "o-2")
    drive(db, "send", "o-2", "cancel")
    out = run("instances", "--db", db).stdout.splitlines()
    assert out[0].split() == [
        "WORKFLOW",
        "INSTANCE",
        "STATE",
        "SEQ",
        "PENDING",
        "DEAD",
        "NEXT",
        "DUE",
        "NOTE",
    ]
    assert [line.split()[:3] for line in out[1:]] == [
        ["order", "o-1", "created"],
        ["order", "o-2", "cancelled"],
    ]
    rows = json.loads(
        run(
            "instances", "--db", f"sqlite:///{db}", "--state", "cancelled", "--format", "json"
        ).stdout
    )
    assert [r["instance"] for r in rows] == ["o-2"]
    assert (
        json.loads(run("instances", "--db", db, "--workflow", "other", "--format", "json").stdout)
        == []
    )


def start_in_the_past(db: str, *ids: str, minutes: float) -> datetime:
    """Start orders with a clock ``minutes`` ago (their 30m expiry counts from
    then); return that time."""
    then = datetime.now(UTC) - timedelta(minutes=minutes)
    with SQLiteStore(db) as store:
        mgr = Manager(wfdsl.load(SPEC), store, hooks=load_hooks(HOOKS), clock=lambda: then)
        for iid in ids:
            mgr.start(iid)
    return then


def test_timers_lists_armed_timers_with_their_due_time_in_utc(db: str) -> None:
    then = start_in_the_past(db, "o-late", minutes=31)
    start_in_the_past(db, "o-new", minutes=1)
    drive(db, "start", "o-paid")
    drive(db, "send", "o-paid", "pay")  # paid: its timer went with the state it left
    out = run("timers", "--db", db).stdout.splitlines()
    assert out[0].split() == [
        "WORKFLOW",
        "INSTANCE",
        "STATE",
        "TARGET",
        "AFTER",
        "DUE",
        "(UTC)",
        "WHEN",
    ]
    assert [line.split()[:5] for line in out[1:]] == [
        ["order", "o-late", "created", "cancelled", "30m"],
        ["order", "o-new", "created", "cancelled", "30m"],
    ]
    due = (then + timedelta(minutes=30)).astimezone(UTC)
    assert due.isoformat(timespec="milliseconds").replace("+00:00", "Z") in out[1]
    assert out[1].endswith("overdue") and " in 2" in out[2]
    rows = json.loads(run("timers", "--db", db, "--due", "--format", "json").stdout)
    assert [(r["instance"], r["overdue"], r["after_ms"]) for r in rows] == [
        ("o-late", True, 1_800_000)
    ]
    assert run("timers", "--db", db, "--workflow", "other").stderr == "no armed timers\n"


def test_instances_and_history_show_timers(db: str) -> None:
    start_in_the_past(db, "o-1", minutes=45)
    rows = json.loads(run("instances", "--db", db, "--format", "json").stdout)
    assert rows[0]["next_due"].endswith("Z")
    assert drive(db, "send", "o-1", "pay").exit_code == 1  # the clock cancelled it first
    shown = run("history", "--db", db, "o-1").stdout
    assert "created -> cancelled (timer)  wfdsl-timer:1:0" in shown
    assert (
        json.loads(run("instances", "--db", db, "--format", "json").stdout)[0]["next_due"] is None
    )


def test_timers_of_a_database_that_does_not_exist_exit_2(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.db")
    assert "no such database file" in one_line_error(run("timers", "--db", missing), 2)
    assert not os.path.exists(missing)


def test_a_rejected_transition_exits_1(db: str) -> None:
    drive(db, "start", "o-1")
    line = one_line_error(drive(db, "send", "o-1", "ship"), 1)
    assert "does not accept 'ship'" in line


def test_a_guard_rejection_exits_1(db: str) -> None:
    drive(db, "start", "o-1")
    line = one_line_error(drive(db, "send", "o-1", "pay", "--data", '{"card": "expired"}'), 1)
    assert "every guard was false" in line


def test_start_twice_exits_1(db: str) -> None:
    drive(db, "start", "o-1")
    one_line_error(drive(db, "start", "o-1"), 1)


def test_idempotent_replay_and_conflict(db: str) -> None:
    drive(db, "start", "o-1")
    first = drive(db, "send", "o-1", "pay", "--key", "k", "--data", '{"amount": 5}')
    again = drive(db, "send", "o-1", "pay", "--key", "k", "--data", '{"amount": 5}')
    assert first.stdout == again.stdout
    one_line_error(drive(db, "send", "o-1", "pay", "--key", "k", "--data", '{"amount": 6}'), 1)


def test_compensate_and_resume(db: str) -> None:
    drive(db, "start", "o-1")
    drive(db, "send", "o-1", "pay", "--data", '{"amount": 5}')
    drive(db, "send", "o-1", "pack")
    result = drive(db, "compensate", "o-1", "created")
    assert result.stdout.splitlines() == [
        "o-1: packed -> paid (compensate) (seq 4)",
        "o-1: paid -> created (compensate) (seq 5)",
    ]
    assert drive(db, "compensate", "o-1", "created").stdout.startswith("o-1: already in created")
    resumed = drive(db, "resume")
    assert (resumed.exit_code, resumed.stdout) == (0, "nothing to resume\n")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["send", "ghost", "pay"], "unknown instance 'ghost'"),
        (["send", "o-1", "teleport"], "no event 'teleport'"),
        (["send", "o-1", "pay", "--data", "{not json"], "--data is not valid JSON"),
        (["send", "o-1", "pay", "--data", "[1, 2]"], "--data must be a JSON object"),
        (["compensate", "o-1", "nowhere"], "no state 'nowhere'"),
    ],
    ids=["unknown-instance", "unknown-event", "bad-json", "json-not-object", "unknown-state"],
)
def test_user_mistakes_exit_2_with_one_line(db: str, args: list[str], fragment: str) -> None:
    drive(db, "start", "o-1")
    assert fragment in one_line_error(drive(db, *args), 2)


def test_a_missing_spec_exits_2(db: str, tmp_path: Path) -> None:
    result = run("start", "o-1", "--spec", str(tmp_path / "nope.wf"), "--hooks", HOOKS, "--db", db)
    assert "cannot read" in one_line_error(result, 2)


def test_an_invalid_spec_exits_2(db: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.wf"
    bad.write_text("workflow w { state }")
    result = run("start", "o-1", "--spec", str(bad), "--db", db)
    assert result.exit_code == 2 and "not a valid workflow" in result.stderr


@pytest.mark.parametrize(
    ("hooks", "fragment"),
    [
        ("no_such_module_xyz:Hooks", "cannot import 'no_such_module_xyz'"),
        ("no-colon", "expected MODULE:OBJECT"),
        (f"{ROOT / 'examples' / 'order_hooks.py'}:Nope", "has no attribute 'Nope'"),
        ("/nonexistent/hooks.py:H", "no such file"),
    ],
    ids=["not-importable", "no-colon", "no-attribute", "no-file"],
)
def test_bad_hooks_exit_2(db: str, hooks: str, fragment: str) -> None:
    result = run("start", "o-1", "--spec", SPEC, "--hooks", hooks, "--db", db)
    assert fragment in one_line_error(result, 2)


def test_missing_hooks_name_every_unbound_name(db: str) -> None:
    line = one_line_error(run("start", "o-1", "--spec", SPEC, "--db", db), 2)
    assert "card_valid" in line and "recall_shipment" in line and "--hooks" in line


@pytest.mark.parametrize(
    ("url", "fragment"),
    [("mysql://x/y", "unknown database scheme"), ("sqlite://", "no file"), ("", "no database")],
)
def test_bad_db_urls_exit_2(url: str, fragment: str) -> None:
    assert fragment in one_line_error(run("instances", "--db", url), 2)


def test_reading_a_database_that_does_not_exist_exits_2(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.db")
    assert "no such database file" in one_line_error(run("instances", "--db", missing), 2)
    assert not os.path.exists(missing)
    one_line_error(run("history", "--db", missing, "o-1"), 2)


@pytest.mark.parametrize(
    "command",
    [["send", "o-1", "pay"], ["compensate", "o-1", "created"], ["resume"], ["retry", "o-1"]],
)
def test_only_start_creates_a_database(tmp_path: Path, command: list[str]) -> None:
    typo = str(tmp_path / "ordres.db")
    assert "no such database file" in one_line_error(drive(typo, *command), 2)
    assert not os.path.exists(typo)


def test_control_characters_in_ids_cannot_break_the_output(db: str) -> None:
    evil = "o-1\nforged line\x1b[2J"
    started = drive(db, "start", evil)
    assert started.stdout == "o-1\\nforged line\\x1b[2J: started in created (seq 1)\n"
    listed = run("instances", "--db", db).stdout.splitlines()
    assert len(listed) == 2 and "o-1\\nforged line\\x1b[2J" in listed[1]
    shown = run("history", "--db", db, evil).stdout.splitlines()
    assert shown[0] == "order/o-1\\nforged line\\x1b[2J" and len(shown) == 3


def test_history_of_an_unknown_instance_exits_2(db: str) -> None:
    drive(db, "start", "o-1")
    assert "no instance 'o-9'" in one_line_error(run("history", "--db", db, "o-9"), 2)


def test_a_failing_hook_exits_1_and_resume_finishes_it(db: str, tmp_path: Path) -> None:
    flaky = tmp_path / "flaky.py"
    flaky.write_text(
        "import os\n"
        "class Hooks:\n"
        "    def tick(self, ctx):\n"
        "        if not os.path.exists(os.environ['FLAG']):\n"
        "            raise RuntimeError('not yet')\n"
    )
    spec = tmp_path / "t.wf"
    spec.write_text(
        "workflow t { initial state a final state b { enter tick } event go a -> b on go }"
    )
    flag = tmp_path / "flag"
    env = {"FLAG": str(flag)}
    runner = CliRunner(env=env)
    args = ["--spec", str(spec), "--hooks", f"{flaky}:Hooks", "--db", db]
    assert runner.invoke(cli, ["start", "x", *args]).exit_code == 0
    failed = runner.invoke(cli, ["send", "x", "go", *args])
    assert failed.exit_code == 1 and "hook 'tick' failed" in failed.stderr
    unfinished = runner.invoke(cli, ["resume", *args])
    assert unfinished.exit_code == 1 and "tick failed again" in unfinished.stderr
    flag.write_text("")
    done = runner.invoke(cli, ["resume", *args])
    assert (done.exit_code, done.stdout) == (0, "x: ran tick\n")


# The console script installed beside this interpreter (editable or wheel install).
WFDSL = Path(sys.executable).parent / "wfdsl"


def test_the_installed_script_drives_an_instance(tmp_path: Path) -> None:
    db = str(tmp_path / "orders.db")
    env = {**os.environ, "ORDER_LEDGER": str(tmp_path / "ledger.db")}

    def sh(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(WFDSL), *args], capture_output=True, text=True, env=env, check=False
        )

    common = ["--spec", SPEC, "--hooks", HOOKS, "--db", db]
    assert sh("start", "o-1", *common).returncode == 0
    paid = sh("send", "o-1", "pay", "--data", '{"amount": 3}', *common)
    assert (paid.returncode, paid.stdout) == (0, "o-1: created -> paid on pay (seq 2)\n")
    listed = sh("instances", "--db", db)
    assert "o-1" in listed.stdout and "paid" in listed.stdout


def test_the_installed_script_reports_mistakes_without_a_traceback(tmp_path: Path) -> None:
    from wfdsl.stores.sqlite import SQLiteStore

    SQLiteStore(str(tmp_path / "x.db")).close()  # an empty database
    result = subprocess.run(
        [
            str(WFDSL),
            "send",
            "o-1",
            "pay",
            "--spec",
            SPEC,
            "--hooks",
            HOOKS,
            "--db",
            str(tmp_path / "x.db"),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "ORDER_LEDGER": str(tmp_path / "ledger.db")},
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr == "wfdsl: error: order: unknown instance 'o-1'\n"


def test_the_example_app_tells_its_story(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "order_app.py"),
            "--db",
            str(tmp_path / "orders.db"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "charged once: effect_key made the retry a no-op" in out
    assert "resume() took the dead worker's work over at once" in out
    assert "report ok: True" in out
    assert "ledger: charge 4200, receipt  <-" in out
    assert "o-5: cancelled  created -> paid -> packed -> paid -> created -> cancelled" in out
    assert "at +29m a worker's fire_due() fires 0 timer(s)" in out
    assert "at +30m it fires o-6: created -> cancelled (timer at " in out
    assert "send fired the overdue timer first (timer at " in out
    assert "ledger for o-7: nothing" in out
    assert "o-8: created    created" in out  # left for wfdsl worker


def test_retry_re_drives_dead_work(db: str, tmp_path: Path) -> None:
    flaky = tmp_path / "dying.py"
    flaky.write_text(
        "import os\n"
        "class Hooks:\n"
        "    def tick(self, ctx):\n"
        "        if not os.path.exists(os.environ['FLAG']):\n"
        "            raise RuntimeError('not yet')\n"
    )
    spec = tmp_path / "t.wf"
    spec.write_text(
        "workflow t { initial state a final state b { enter tick } event go a -> b on go }"
    )
    flag = tmp_path / "flag"
    runner = CliRunner(env={"FLAG": str(flag)})
    args = ["--spec", str(spec), "--hooks", f"{flaky}:Hooks", "--db", db]
    runner.invoke(cli, ["start", "x", *args])
    assert runner.invoke(cli, ["send", "x", "go", *args]).exit_code == 1  # attempt 1
    for _ in range(4):  # attempts 2-5: the fifth failure (max_attempts) makes the work dead
        assert runner.invoke(cli, ["resume", *args]).exit_code == 1
    listed = json.loads(run("instances", "--db", db, "--format", "json").stdout)
    assert (listed[0]["pending"], listed[0]["dead"]) == (0, 1)
    flag.write_text("")
    done = runner.invoke(cli, ["retry", "x", *args])
    assert (done.exit_code, done.stdout) == (0, "x: revived 1 dead hook(s); pending work ran\n")
    listed = json.loads(run("instances", "--db", db, "--format", "json").stdout)
    assert (listed[0]["pending"], listed[0]["dead"]) == (0, 0)


@pytest.mark.parametrize(
    "command",
    [
        ["start", "x"],
        ["send", "x", "go"],
        ["compensate", "x", "a"],
        ["resume"],
        ["retry", "x"],
    ],
    ids=["start", "send", "compensate", "resume", "retry"],
)
def test_async_hooks_are_refused_by_every_command_naming_each(
    db: str, tmp_path: Path, command: list[str]
) -> None:
    spec = tmp_path / "t.wf"
    spec.write_text(
        "workflow t { initial state a final state b { enter tick } event go a -> b on go if ok }"
    )
    hooks = tmp_path / "async_hooks.py"
    hooks.write_text(
        "class Hooks:\n"
        "    async def ok(self, ctx):\n        return False\n"
        "    async def tick(self, ctx):\n        pass\n"
    )
    from wfdsl.stores.sqlite import SQLiteStore

    SQLiteStore(db).close()  # a database to refuse to work on
    result = run(*command, "--spec", str(spec), "--hooks", f"{hooks}:Hooks", "--db", db)
    line = one_line_error(result, 2)
    assert "ok is an async function" in line and "tick is an async function" in line
    assert "use wfdsl.AsyncManager" in line


def test_history_asks_for_the_workflow_when_an_id_is_in_two(db: str, tmp_path: Path) -> None:
    other = tmp_path / "other.wf"
    other.write_text("workflow other { initial state a }")
    drive(db, "start", "o-1")
    assert run("start", "o-1", "--spec", str(other), "--db", db).exit_code == 0
    line = one_line_error(run("history", "--db", db, "o-1"), 2)
    assert "exists in workflows order, other; choose one with --workflow" in line
    shown = run("history", "--db", db, "o-1", "--workflow", "other")
    assert shown.exit_code == 0 and shown.stdout.splitlines()[0] == "other/o-1"


def test_resume_says_which_work_another_worker_is_running(db: str, tmp_path: Path) -> None:
    import threading

    from wfdsl import Manager, load
    from wfdsl.stores.sqlite import SQLiteStore

    spec = tmp_path / "t.wf"
    spec.write_text("workflow t { initial state a { enter tick } }")
    entered, release = threading.Event(), threading.Event()

    def tick(ctx: object) -> None:
        entered.set()
        release.wait(60)

    store = SQLiteStore(db)
    mgr = Manager(load(spec), store, hooks={"tick": tick}, worker_id="web-7")
    starter = threading.Thread(target=mgr.start, args=("x",))
    starter.start()
    try:
        assert entered.wait(60)
        hooks = tmp_path / "quick.py"
        hooks.write_text("class Hooks:\n    def tick(self, ctx): pass\n")
        # The CLI is a process of its own: the live worker here holds the work.
        result = subprocess.run(
            [str(WFDSL), "resume", "--spec", str(spec), "--hooks", f"{hooks}:Hooks", "--db", db],
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        release.set()
        starter.join(60)
        store.close()
    assert result.returncode == 1
    assert "x: tick is still running in worker web-7" in result.stderr
