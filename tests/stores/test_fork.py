"""No SQLite connection crosses a fork, whatever the application does around
it: every acknowledged write of every process is in the file afterwards."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from .fork_scenarios import SCENARIOS

SCRIPT = str(Path(__file__).with_name("fork_scenarios.py"))

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")


def stored(db: Path) -> dict[str, str]:
    """Instance -> state, read from the file by a plain sqlite3 connection."""
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("SELECT instance_id, state FROM wf_instances").fetchall()
    finally:
        conn.close()
    return dict(rows)


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_every_acknowledged_write_survives_a_fork(tmp_path: Path, scenario: str) -> None:
    db = tmp_path / "wf.db"
    done = subprocess.run(
        [sys.executable, SCRIPT, scenario, str(db)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    acks = json.loads(done.stdout)
    last: dict[str, str] = {}
    for iid, state in acks:
        last[iid] = state
    assert len(last) >= 4  # the scenario ran in every process
    assert stored(db) == last


def test_a_store_reopens_its_connection_in_the_parent_after_a_fork(tmp_path: Path) -> None:
    from wfdsl.stores.sqlite import SQLiteStore

    from .test_conformance import WF, start

    with SQLiteStore(str(tmp_path / "wf.db")) as store:
        start(store, "before")
        before = store._conn
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child reports through its exit status
            os._exit(0 if store.load(WF, "before") is not None else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        start(store, "after")
        assert store._conn is not before  # the old one was closed before the fork
        assert [r.instance_id for r in store.instances(WF)] == ["after", "before"]


def test_an_in_memory_sqlite_store_stays_with_the_parent(tmp_path: Path) -> None:
    from wfdsl.errors import StoreError
    from wfdsl.stores.sqlite import SQLiteStore

    from .test_conformance import WF, start

    with SQLiteStore(":memory:") as store:
        start(store, "a")
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child reports through its exit status
            try:
                store.load(WF, "a")
            except StoreError:
                os._exit(0)
            os._exit(1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert store.load(WF, "a") is not None  # its data is intact in the parent
