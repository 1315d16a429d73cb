"""What only the SQLite store promises: durability settings, schema versioning,
URLs, completion markers, several processes on one file, fork."""

from __future__ import annotations

import itertools
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from wfdsl.errors import StoreError, UnknownInstance, VersionConflict
from wfdsl.stores import open_store
from wfdsl.stores.memory import MemoryStore
from wfdsl.stores.records import Timer, Transition, TransitionKind
from wfdsl.stores.sqlite import MIGRATIONS, SCHEMA_VERSION, SQLiteStore

from .test_conformance import AT, WF, start
from .test_conformance import work as work_of


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


def old_file(path: Path, version: int, instance: str) -> None:
    """A file of schema ``version`` holding one ``order`` instance: ``instance``
    gives its id, state, version, fingerprint and compensation as SQL values."""
    conn = sqlite3.connect(path)
    for statements in MIGRATIONS[:version]:
        for statement in statements:
            conn.execute(statement)
    conn.execute(
        f"INSERT INTO wf_instances VALUES ('order', {instance}, 0, 0, "
        "'2026-01-02T03:04:05+00:00', '2026-01-02T03:04:05+00:00')"
    )
    conn.execute(f"PRAGMA user_version = {version}")
    conn.commit()
    conn.close()


def test_a_database_of_schema_version_2_gains_timers_in_place_and_keeps_its_instances(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v2.db"
    old_file(path, 2, "'old', 'created', 1, 'fp', NULL")
    with SQLiteStore(str(path)) as store:
        assert store.schema_version == SCHEMA_VERSION == 5
        old = store.load(WF, "old")
        assert old is not None and (old.state, old.next_due) == ("created", None)
        move = Transition(2, TransitionKind.EVENT, "created", "paid", "pay", None, {}, AT)
        due = Timer(WF, "old", 2, 0, "paid", "cancelled", 60_000, 1_800_000_000_000)
        store.append(WF, "old", move, (), compensating=None, timers=[due])
        assert store.next_due(WF) == due.due
    assert pragma(path, "user_version") == 5


def test_a_database_of_schema_version_4_is_migrated_and_its_compensations_go_on(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v4.db"
    old_file(path, 4, "'old', 'paid', 2, 'fp', 'created'")
    with SQLiteStore(str(path)) as store:
        assert store.schema_version == SCHEMA_VERSION == 5
        back = Transition(3, TransitionKind.COMPENSATE, "paid", "created", None, None, {}, AT)
        store.append(WF, "old", back, (), compensating="created")
        rec = store.load(WF, "old")
        assert rec is not None
        assert (rec.state, rec.version, rec.compensating) == ("created", 3, "created")
        done = Transition(4, TransitionKind.EVENT, "created", "paid", "pay", None, {}, AT)
        store.append(WF, "old", done, (), compensating=None)
        assert fresh_load_of(str(path), WF, "old") == store.load(WF, "old")
        rec = store.load(WF, "old")
        assert rec is not None
        assert (rec.state, rec.version, rec.compensating) == ("paid", 4, None)
    assert pragma(path, "user_version") == 5


@pytest.mark.parametrize("owes", [False, True], ids=["alone", "with-work"])
def test_a_transition_written_behind_the_stores_back_is_checked_by_the_file_itself(
    tmp_path: Path, owes: bool
) -> None:
    # The instance moves with the insert of its transition (one statement when
    # nothing else is written): a transition inserted for a version the
    # instance has left, or for no instance, is refused by the file and
    # leaves nothing behind.
    path = tmp_path / "wf.db"
    with SQLiteStore(str(path)) as store:
        start(store, "a")
        move = Transition(2, TransitionKind.EVENT, "created", "paid", "pay", None, {}, AT)
        store.append(WF, "a", move, (), compensating=None)
        again = Transition(2, TransitionKind.EVENT, "paid", "shipped", "ship", None, {}, AT)
        skip = Transition(4, TransitionKind.EVENT, "paid", "shipped", "ship", None, {}, AT)
        hooks = work_of("a", 2, ("h",)) if owes else ()
        for stale in (again, skip):
            with pytest.raises(VersionConflict):
                store.append(WF, "a", stale, hooks, compensating=None)
        with pytest.raises(UnknownInstance):
            store.append(WF, "nobody", move, (), compensating=None)
        assert [t.seq for t in store.history(WF, "a")] == [1, 2]
        assert store.pending_work(WF, "a") == []
        assert store.load(WF, "a") == fresh_load_of(str(path), WF, "a")
    raw = sqlite3.connect(path)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="not at the version"):
            raw.execute(
                "INSERT INTO wf_transitions VALUES ('order', 'a', 5, 'event', 'paid', 'x', "
                "'e', NULL, '{}', '2026-01-01T00:00:00+00:00')"
            )
    finally:
        raw.close()


def test_a_process_of_the_previous_release_keeps_writing_after_the_file_migrates(
    tmp_path: Path,
) -> None:
    # A rolling upgrade: a process of schema 4's wfdsl, still running, writes
    # a transition as it always did (update the instance, then insert the
    # transition, in one transaction) into a file a new process migrated.
    path = tmp_path / "wf.db"
    old_file(path, 4, "'a', 'created', 1, 'fp', NULL")
    with SQLiteStore(str(path)) as store:
        assert store.schema_version == 5
    old = sqlite3.connect(path, isolation_level=None)
    try:

        def old_append(seq: int, source: str, target: str, compensating: str | None) -> None:
            old.execute("BEGIN IMMEDIATE")
            moved = old.execute(
                "UPDATE wf_instances SET state = ?, version = ?, compensating = ?, updated_at = ? "
                "WHERE workflow = 'order' AND instance_id = 'a' AND version = ?",
                (target, seq, compensating, AT.isoformat(), seq - 1),
            ).rowcount
            assert moved == 1
            old.execute(
                "INSERT INTO wf_transitions VALUES ('order', 'a', ?, ?, ?, ?, 'e', NULL, '{}', ?)",
                (seq, "compensate" if compensating else "event", source, target, AT.isoformat()),
            )
            old.execute("COMMIT")

        old_append(2, "created", "paid", None)
        old_append(3, "paid", "created", "created")  # a compensation step
        with SQLiteStore(str(path)) as store:
            rec = store.load(WF, "a")
            assert rec is not None
            assert (rec.state, rec.version, rec.compensating) == ("created", 3, "created")
            assert [t.seq for t in store.history(WF, "a")] == [2, 3]  # (its start not made)
            # The allowance is for that transaction's own update only: a
            # second transition for a version already written is refused.
            again = Transition(3, TransitionKind.EVENT, "paid", "created", "e", None, {}, AT)
            with pytest.raises(VersionConflict):
                store.append(WF, "a", again, (), compensating=None)
    finally:
        old.close()


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


# -- the instance records a store keeps between a send's write and the next read --

LIGHT = """workflow light {
    initial state green { enter on_green }
    state yellow
    state red
    event next
    green -> yellow on next
    yellow -> red on next
    red -> green on next
    yellow -> red after 5m
}"""


def fresh_load_of(path: str, workflow: str, iid: str) -> object:
    """The instance as a store that has never seen it reads it from the file."""
    with SQLiteStore(path) as other:
        return other.load(workflow, iid)


def fresh_load(path: str, iid: str) -> object:
    return fresh_load_of(path, "light", iid)


def test_every_read_after_a_send_equals_a_fresh_read_of_the_file(tmp_path: Path) -> None:
    import wfdsl
    from wfdsl import Manager

    path = str(tmp_path / "wf.db")
    with SQLiteStore(path) as store:
        mgr = Manager(wfdsl.loads(LIGHT), store, hooks={"on_green": lambda ctx: None})
        mgr.start("a")
        for i in range(7):  # through a hook, a state arming a timer, and data
            mgr.send("a", "next", data={"i": i} if i % 2 else None)
            assert store.load("light", "a") == fresh_load(path, "a")
            assert mgr.instance("a") == fresh_load(path, "a")
        assert [t.seq for t in mgr.history("a")] == list(range(1, 9))


def test_a_send_sees_what_another_connection_wrote_since_its_last_read(tmp_path: Path) -> None:
    import wfdsl
    from wfdsl import Manager

    path = str(tmp_path / "wf.db")
    spec = wfdsl.loads(LIGHT)
    with SQLiteStore(path) as one, SQLiteStore(path) as two:
        a = Manager(spec, one, hooks={"on_green": lambda ctx: None})
        b = Manager(spec, two, hooks={"on_green": lambda ctx: None})
        a.start("x")
        states = []
        for i in range(6):  # the two take turns: each read must see the other's write
            sender = a if i % 2 else b
            states.append(sender.send("x", "next").target)
            assert a.instance("x") == b.instance("x") == fresh_load(path, "x")
        assert states == ["yellow", "red", "green", "yellow", "red", "green"]
        assert [t.seq for t in a.history("x")] == list(range(1, 8))


STOPLIGHT = """workflow light {
    initial state green
    state yellow
    state red
    event next, stop, go
    green -> yellow on next
    yellow -> red on next
    red -> green on next
    green, yellow -> red on stop
    red -> green on go if clear
}"""


def test_a_send_decided_on_a_kept_copy_answers_as_one_decided_on_the_file(
    tmp_path: Path,
) -> None:
    # Manager.send decides an unguarded transition on the copy of the instance
    # its store kept (Store.load_optimistic), reading nothing first. Whatever
    # another connection did meanwhile, every answer is the one a read of the
    # file would give: a transition from the state the file holds, a guard
    # called on that state, a refusal naming it.
    import wfdsl
    from wfdsl import Manager
    from wfdsl.errors import IllegalTransition

    path = str(tmp_path / "wf.db")
    spec = wfdsl.loads(STOPLIGHT)
    seen: list[str] = []

    def clear(ctx: Any) -> bool:
        seen.append(a.instance("x").state)  # as the guard's own read finds it
        return True

    with SQLiteStore(path) as one, SQLiteStore(path) as two:
        a = Manager(spec, one, hooks={"clear": clear})
        b = Manager(spec, two, hooks={"clear": clear})
        a.start("x")
        assert a.send("x", "next").target == "yellow"  # a keeps x at yellow
        assert b.send("x", "next").target == "red"
        t = a.send("x", "next")  # decided at yellow, refused by the file, decided again
        assert (t.source, t.target) == ("red", "green")
        assert b.send("x", "stop").target == "red"  # a keeps x at green
        t = a.send("x", "go")  # guarded: decided on the file
        assert (t.source, t.target, seen) == ("red", "green", ["red"])
        assert b.send("x", "next").target == "yellow"  # a keeps x at green
        with pytest.raises(IllegalTransition, match="state 'yellow'"):
            a.send("x", "go")
        history = [(h.source, h.target) for h in a.history("x")]
        assert all(now[0] == last[1] for last, now in itertools.pairwise(history))
        assert a.instance("x") == b.instance("x") == fresh_load(path, "x")


def test_a_send_that_owes_nothing_else_is_one_statement(tmp_path: Path) -> None:
    import wfdsl
    from wfdsl import Manager

    with SQLiteStore(str(tmp_path / "wf.db")) as store:
        mgr = Manager(wfdsl.loads(STOPLIGHT), store, hooks={"clear": lambda ctx: True})
        mgr.start("x")
        mgr.send("x", "next")
        statements: list[str] = []
        store._conn.set_trace_callback(statements.append)
        mgr.send("x", "next")
        store._conn.set_trace_callback(None)
    # (The trace names the statement once more for each step of its trigger.)
    assert {s.split(" (")[0] for s in statements} == {"INSERT INTO wf_transitions"}


def test_a_write_to_one_instance_leaves_what_the_store_keeps_of_others(tmp_path: Path) -> None:
    # Threads sending to their own instances through one store each keep
    # their instance's record: a write accounts for the instances it touched.
    import wfdsl
    from wfdsl import Manager

    path = str(tmp_path / "wf.db")
    with SQLiteStore(path) as store:
        mgr = Manager(wfdsl.loads(STOPLIGHT), store, hooks={"clear": lambda ctx: True})
        for iid in ("p", "q"):
            mgr.start(iid)
            mgr.send(iid, "next")
        mgr.send("p", "next")
        statements: list[str] = []
        store._conn.set_trace_callback(statements.append)
        assert mgr.send("q", "next").source == "yellow"
        store._conn.set_trace_callback(None)
        assert {s.split(" (")[0] for s in statements} == {"INSERT INTO wf_transitions"}
        # A change made through the connection behind the store's back voids
        # every kept record: the next send reads the file.
        store._conn.execute("UPDATE wf_instances SET state = 'green' WHERE instance_id = 'q'")
        assert mgr.send("q", "next").source == "green"
        assert mgr.instance("q") == fresh_load(path, "q")


def test_a_batch_reads_only_a_counter_for_the_instances_it_wrote_last(tmp_path: Path) -> None:
    import wfdsl
    from wfdsl import Manager, Send

    path = str(tmp_path / "wf.db")
    spec = wfdsl.loads(STOPLIGHT)
    with SQLiteStore(path) as one, SQLiteStore(path) as two:
        a = Manager(spec, one, hooks={"clear": lambda ctx: True})
        ids = ["p", "q", "r"]
        for iid in ids:
            a.start(iid)
        a.send_many([Send(iid, "next") for iid in ids])  # read, written and kept
        statements: list[str] = []
        one._conn.set_trace_callback(statements.append)
        got = a.send_many([Send(iid, "next") for iid in ids])
        one._conn.set_trace_callback(None)
        assert [getattr(t, "target", t) for t in got] == ["red", "red", "red"]
        assert not [s for s in statements if s.startswith("SELECT")]
        # Another connection moves q: the next batch reads q (and only it)
        # from the file, and acts on what it finds there.
        b = Manager(spec, two, hooks={"clear": lambda ctx: True})
        assert b.send("q", "next").target == "green"
        got = a.send_many([Send(iid, "next") for iid in ids])
        assert [(t.source, t.target) for t in got if not isinstance(t, Exception)] == [
            ("red", "green"),
            ("green", "yellow"),
            ("red", "green"),
        ]
        for iid in ids:
            assert a.instance(iid) == fresh_load(path, iid)


def test_a_read_sees_a_change_made_by_another_program_or_process(tmp_path: Path) -> None:
    import wfdsl
    from wfdsl import Manager

    path = str(tmp_path / "wf.db")
    with SQLiteStore(path) as store:
        mgr = Manager(wfdsl.loads(LIGHT), store, hooks={"on_green": lambda ctx: None})
        mgr.start("a")
        mgr.send("a", "next")  # yellow, kept by the store
        assert mgr.state("a") == "yellow"
        raw = sqlite3.connect(path, isolation_level=None)
        raw.execute("UPDATE wf_instances SET state = 'red', compensating = 'green'")
        raw.close()
        assert mgr.instance("a").compensating == "green"
        assert mgr.state("a") == "red"
        script = (
            "import sqlite3, sys\n"
            "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "c.execute(\"UPDATE wf_instances SET state = 'green', compensating = NULL\")\n"
        )
        subprocess.run([sys.executable, "-c", script, path], check=True)
        assert mgr.state("a") == "green"
        assert mgr.send("a", "next").source == "green"


def test_a_write_that_fails_leaves_no_kept_record_behind(tmp_path: Path) -> None:
    import wfdsl
    from wfdsl import Manager

    path = str(tmp_path / "wf.db")
    with SQLiteStore(path) as store:
        mgr = Manager(wfdsl.loads(LIGHT), store, hooks={"on_green": lambda ctx: None})
        mgr.start("a")
        mgr.send("a", "next")
        rec = store.load("light", "a")
        assert rec is not None
        # Data that is not JSON fails after the instance row was updated: rolled back.
        bad = Transition(
            rec.version + 1,
            TransitionKind.EVENT,
            "yellow",
            "red",
            "next",
            None,
            {"x": float("nan")},
            AT,
        )
        with pytest.raises(StoreError):
            store.append("light", "a", bad, (), compensating=None)
        assert store.load("light", "a") == fresh_load(path, "a") == rec
        stale = Transition(rec.version, TransitionKind.EVENT, "yellow", "red", "next", None, {}, AT)
        with pytest.raises(VersionConflict):
            store.append("light", "a", stale, (), compensating=None)
        assert store.load("light", "a") == fresh_load(path, "a") == rec
        assert mgr.send("a", "next").seq == rec.version + 1


def test_a_read_after_this_store_wrote_something_else_in_between_is_fresh(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "wf.db")
    with SQLiteStore(path) as store:
        start(store, "a", hooks=("h",))  # owes one hook
        rec = store.load(WF, "a")
        assert rec is not None and rec.pending == 1
        store.complete(store.pending_work(WF, "a"))  # between the read and the write
        move = Transition(2, TransitionKind.EVENT, "created", "paid", "pay", None, {}, AT)
        store.append(WF, "a", move, (), compensating=None)
        after = store.load(WF, "a")
        assert after == fresh_load_of(path, WF, "a")
        assert after is not None and after.pending == 0 and after.version == 2


@pytest.mark.parametrize("readonly", [False, True])
@pytest.mark.parametrize("kind", ["directory", "fifo", "device"])
def test_a_path_that_is_not_a_regular_file_is_refused_by_name(
    tmp_path: Path, kind: str, readonly: bool
) -> None:
    """SQLite says "disk I/O error" for a FIFO or a device and "unable to open
    database file" for a directory; the store says what is wrong, touches
    nothing and never blocks on a FIFO."""
    if kind == "directory":
        path = tmp_path / "orders.db"
        path.mkdir()
    elif kind == "fifo":
        path = tmp_path / "orders.db"
        os.mkfifo(path)
    else:
        path = Path("/dev/null")
    with pytest.raises(StoreError, match="not a regular file") as caught:
        SQLiteStore(str(path), readonly=readonly)
    assert "disk I/O" not in str(caught.value)
    if kind == "directory":
        assert list(path.iterdir()) == []
