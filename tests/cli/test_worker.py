"""``wfdsl worker`` (SPEC §4, §7.2): fires due timers and runs owed hook work
for one or more workflows, logs each to stderr, stops cleanly on SIGINT and
SIGTERM, and says what is wrong with a command in one line."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
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
WFDSL = Path(sys.executable).parent / "wfdsl"

KYC = """workflow kyc {
    initial state review
    final state escalated { enter page }
    event approve
    review -> escalated after 2d
}"""


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("ORDER_LEDGER", str(tmp_path / "ledger.db"))
    return str(tmp_path / "orders.db")


def start_in_the_past(db: str, *ids: str, minutes: float) -> None:
    then = datetime.now(UTC) - timedelta(minutes=minutes)
    with SQLiteStore(db) as store:
        mgr = Manager(wfdsl.load(SPEC), store, hooks=load_hooks(HOOKS), clock=lambda: then)
        for iid in ids:
            mgr.start(iid)


def worker(db: str, *args: str) -> Result:
    return CliRunner().invoke(
        cli,
        ["worker", "--spec", SPEC, "--hooks", HOOKS, "--db", db, "--until-idle", *args],
        catch_exceptions=False,
    )


def state(db: str, iid: str, workflow: str = "order") -> str:
    with SQLiteStore(db) as store:
        rec = store.load(workflow, iid)
        assert rec is not None
        return rec.state


def test_until_idle_fires_what_is_due_logs_it_and_exits_0(db: str) -> None:
    start_in_the_past(db, "o-late", minutes=31)
    start_in_the_past(db, "o-new", minutes=1)
    result = worker(db)
    assert result.exit_code == 0, result.stderr
    assert (state(db, "o-late"), state(db, "o-new")) == ("cancelled", "created")
    fired = [line for line in result.stderr.splitlines() if "-> cancelled" in line]
    assert len(fired) == 1
    assert " INFO    order/o-late: created -> cancelled after 30m (timer due " in fired[0]
    assert fired[0].endswith(", fired 1m late)")
    assert result.stdout == ""


def test_one_worker_serves_several_workflows(db: str, tmp_path: Path) -> None:
    kyc_spec = tmp_path / "kyc.wf"
    kyc_spec.write_text(KYC)
    hooks = tmp_path / "kyc_hooks.py"
    hooks.write_text(
        "class Kyc:\n    def page(self, ctx):\n        print('paged', ctx.effect_key)\n"
    )
    start_in_the_past(db, "o-1", minutes=31)
    then = datetime.now(UTC) - timedelta(days=3)
    with SQLiteStore(db) as store:
        Manager(wfdsl.loads(KYC), store, hooks={"page": print}, clock=lambda: then).start("k-1")
    result = CliRunner().invoke(
        cli,
        [
            "worker",
            "--spec",
            SPEC,
            "--hooks",
            HOOKS,
            "--spec",
            str(kyc_spec),
            "--hooks",
            f"{hooks}:Kyc",
            "--db",
            db,
            "--until-idle",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.stderr
    assert (state(db, "o-1"), state(db, "k-1", "kyc")) == ("cancelled", "escalated")
    assert "paged kyc/k-1/2/page" in result.stdout


def test_until_idle_exits_1_when_a_hook_failed(db: str, tmp_path: Path) -> None:
    spec = tmp_path / "t.wf"
    spec.write_text("workflow t { initial state a final state b { enter boom } a -> b after 1s }")
    hooks = tmp_path / "boom.py"
    hooks.write_text("class Boom:\n    def boom(self, ctx):\n        raise RuntimeError('down')\n")
    then = datetime.now(UTC) - timedelta(minutes=1)
    with SQLiteStore(db) as store:
        Manager(wfdsl.load(spec), store, hooks={"boom": print}, clock=lambda: then).start("x")
    result = CliRunner().invoke(
        cli,
        ["worker", "--spec", str(spec), "--hooks", f"{hooks}:Boom", "--db", db, "--until-idle"],
    )
    assert result.exit_code == 1
    assert "WARNING t/x: boom failed: RuntimeError: down; it will be retried" in result.stderr
    assert state(db, "x", "t") == "b"  # the timer's transition stands; its hook is owed


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--hooks", HOOKS, "--hooks", HOOKS], "one per --spec"),
        (["--spec", SPEC], "given twice"),
        (["--hooks", "nowhere.py:X"], "--hooks"),
    ],
)
def test_command_mistakes_exit_2_in_one_line(db: str, args: list[str], fragment: str) -> None:
    start_in_the_past(db, "o-1", minutes=0)
    result = CliRunner().invoke(cli, ["worker", "--spec", SPEC, "--db", db, "--until-idle", *args])
    assert result.exit_code == 2, result.output
    assert fragment in result.stderr and "Traceback" not in result.output


def test_a_database_that_does_not_exist_is_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "typo.db"
    result = CliRunner().invoke(
        cli, ["worker", "--spec", SPEC, "--hooks", HOOKS, "--db", str(missing)]
    )
    assert result.exit_code == 2 and "no such database file" in result.stderr
    assert not missing.exists()


def test_missing_hooks_are_named(db: str) -> None:
    start_in_the_past(db, "o-1", minutes=0)
    result = CliRunner().invoke(cli, ["worker", "--spec", SPEC, "--db", db, "--until-idle"])
    assert result.exit_code == 2
    assert "card_valid" in result.stderr and "pass --hooks MODULE:OBJECT" in result.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_the_installed_worker_stops_cleanly_on_a_signal(
    db: str, tmp_path: Path, sig: signal.Signals
) -> None:
    start_in_the_past(db, "o-1", minutes=31)
    proc = subprocess.Popen(
        [str(WFDSL), "worker", "--spec", SPEC, "--hooks", HOOKS, "--db", db, "--poll", "60"],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "ORDER_LEDGER": str(tmp_path / "ledger.db")},
    )
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.put(line)
        lines.put("")

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    seen: list[str] = []
    try:
        while not any("order/o-1: created -> cancelled" in line for line in seen):
            seen.append(lines.get(timeout=60))
            assert seen[-1], f"the worker exited early: {''.join(seen)}"
        proc.send_signal(sig)
        assert proc.wait(timeout=30) == 0, "".join(seen)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    while (line := lines.get(timeout=10)) != "":
        seen.append(line)
    reader.join(10)
    assert proc.stderr is not None
    proc.stderr.close()
    text = "".join(seen)
    assert f"{sig.name}: stopping after the instance in hand" in text
    assert "stopped: 1 timer(s) fired" in text and "Traceback" not in text
    assert state(db, "o-1") == "cancelled"
    with SQLiteStore(db) as store:
        assert all(t.lease_proof is None for t in store.timers())
