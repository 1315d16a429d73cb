"""What only the SQLite store promises: durability settings, schema versioning,
URLs, completion markers, several processes on one file, fork."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from wfdsl.errors import StoreError
from wfdsl.stores import open_store
from wfdsl.stores.memory import MemoryStore
from wfdsl.stores.records import Timer, Transition, TransitionKind
from wfdsl.stores.sqlite import MIGRATIONS, SCHEMA_VERSION, SQLiteStore

from .test_conformance import AT, WF, start


def pragma(path: Path, name: str) -> object:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]
    finally:
        conn.close()


def test_the_file_is_in_wal_mode_with_full_sync_by_default(tmp_path: Path) -> None:
    with SQLiteStore(str(tmp_path / "wf.db")) as store:
        assert store._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert store._conn.isolation_level is None  # autocommit; writes use BEGIN IMMEDIATE


def test_synchronous_normal_can_be_asked_for(tmp_path: Path) -> None:
    with SQLiteStore(str(tmp_path / "wf.db"), synchronous="normal") as store:
        assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == 1


def test_an_unknown_synchronous_mode_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="synchronous"):
        SQLiteStore(str(tmp_path / "wf.db"), synchronous="SOMETIMES")


def test_the_store_creates_and_versions_its_schema(tmp_path: Path) -> None:
    path = tmp_path / "wf.db"
    SQLiteStore(str(path)).close()
    assert pragma(path, "user_version") == SCHEMA_VERSION
    with SQLiteStore(str(path)) as again:  # reopening migrates nothing and keeps data
        assert again.schema_version == SCHEMA_VERSION


def test_a_database_from_a_newer_wfdsl_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "wf.db"
    SQLiteStore(str(path)).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer wfdsl"):
        SQLiteStore(str(path))


def test_a_file_that_is_not_a_database_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="cannot open"):
        SQLiteStore(str(path))


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        (":memory:", MemoryStore),
        ("memory://", MemoryStore),
        ("{tmp}/a.db", SQLiteStore),
        ("sqlite:///{tmp}/b.db", SQLiteStore),
    ],
)
def test_open_store_understands_urls(tmp_path: Path, url: str, kind: type) -> None:
    store = open_store(url.format(tmp=tmp_path))
    try:
        assert isinstance(store, kind)
    finally:
        store.close()


def test_sqlite_urls_take_relative_and_absolute_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with open_store("sqlite:///rel.db") as rel:  # type: ignore[attr-defined]
        assert isinstance(rel, SQLiteStore) and rel.path == "rel.db"
    with open_store(f"sqlite:///{tmp_path}/abs.db") as absolute:  # type: ignore[attr-defined]
        assert isinstance(absolute, SQLiteStore) and absolute.path == f"{tmp_path}/abs.db"


@pytest.mark.parametrize("url", ["", "   ", "mysql://host/db", "sqlite://"])
def test_open_store_rejects_bad_urls(url: str) -> None:
    with pytest.raises(StoreError):
        open_store(url)


def test_a_marker_lost_to_a_hard_crash_before_it_was_written_leaves_the_work_pending(
    tmp_path: Path,
) -> None:
    path = tmp_path / "wf.db"
    with SQLiteStore(str(path)) as store:
        start(store, "a", hooks=("h",))
    script = (
        "import os\n"
        "from wfdsl.stores.sqlite import SQLiteStore\n"
        f"s = SQLiteStore({str(path)!r})\n"
        "s.complete(s.pending_work('order', 'a'))  # committed: another process sees it\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)
    with SQLiteStore(str(path)) as store:
        assert store.pending_work(WF, "a") == []


def test_a_database_of_schema_version_1_is_migrated_and_keeps_its_work(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    for statement in MIGRATIONS[0]:
        conn.execute(statement)
    conn.execute(
        "INSERT INTO wf_work VALUES ('order', 'a', 1, 0, 'h', 'enter', 'pending', 0, NULL, "
        "'old-worker', 99.0)"
    )
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    with SQLiteStore(str(path)) as store:
        assert store.schema_version == SCHEMA_VERSION
        (item,) = store.pending_work(WF, "a")
        assert (item.lease_owner, item.lease_until, item.lease_proof) == ("old-worker", 99.0, None)


def test_a_database_of_schema_version_2_gains_timers_in_place_and_keeps_its_instances(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v2.db"
    conn = sqlite3.connect(path)
    for version in MIGRATIONS[:2]:
        for statement in version:
            conn.execute(statement)
    conn.execute(
        "INSERT INTO wf_instances VALUES ('order', 'old', 'created', 1, 'fp', NULL, 0, 0, "
        "'2026-01-02T03:04:05+00:00', '2026-01-02T03:04:05+00:00')"
    )
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()
    with SQLiteStore(str(path)) as store:
        assert store.schema_version == SCHEMA_VERSION == 4
        old = store.load(WF, "old")
        assert old is not None and (old.state, old.next_due) == ("created", None)
        move = Transition(2, TransitionKind.EVENT, "created", "paid", "pay", None, {}, AT)
        due = Timer(WF, "old", 2, 0, "paid", "cancelled", 60_000, 1_800_000_000_000)
        store.append(WF, "old", move, (), compensating=None, timers=[due])
        assert store.next_due(WF) == due.due
    assert pragma(path, "user_version") == 4


def test_two_stores_on_one_file_see_each_others_writes(tmp_path: Path) -> None:
    path = str(tmp_path / "wf.db")
    with SQLiteStore(path) as one, SQLiteStore(path) as two:
        start(one, "a")
        assert two.load(WF, "a") is not None


def test_a_forked_child_gets_its_own_connection_and_is_a_worker_of_its_own(
    tmp_path: Path,
) -> None:
    path = tmp_path / "wf.db"
    with SQLiteStore(str(path)) as store:
        start(store, "a", hooks=("h",))
    script = (
        "import os, sys\n"
        "from wfdsl.stores.sqlite import SQLiteStore\n"
        f"s = SQLiteStore({str(path)!r})\n"
        "parent = s.identity()\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    assert s.identity() != parent  # the child holds nothing of the parent's\n"
        "    s.complete(s.pending_work('order', 'a'))  # on a connection of its own\n"
        "    sys.exit(0)\n"
        "_, status = os.waitpid(pid, 0)\n"
        "print(os.waitstatus_to_exitcode(status), s.identity() == parent)\n"
        "print(len(s.pending_work('order', 'a')))  # the parent's connection still works\n"
        "s.close()\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True
    ).stdout.split()
    assert out == ["0", "True", "0"]
