"""PostgresStore beyond the shared contract: schema and migrations, several worker
processes, a worker killed mid-hook, and connections that drop or never answer.

The conformance suite (test_conformance.py) runs against PostgreSQL too; these
tests cover what only a server-backed store has to get right.
"""

from __future__ import annotations

import itertools
import os
import random
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import wfdsl
from wfdsl import Manager
from wfdsl.errors import AlreadyStarted, StoreError
from wfdsl.ir import HookKind
from wfdsl.stores import open_store
from wfdsl.stores.postgres import MIGRATIONS, SCHEMA_VERSION, PostgresStore
from wfdsl.stores.records import InstanceRecord, Timer, Transition, TransitionKind, WorkItem

from .pg_worker import COUNTER, JOB

if TYPE_CHECKING:
    from pgtest import Postgres  # the ``postgres`` fixture (tests/pgtest.py)

WORKER = str(Path(__file__).with_name("pg_worker.py"))
AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def pg(postgres: Postgres, pg_schema: str) -> tuple[str, str]:
    """``(dsn, schema)``: the test server and a schema of this test's own."""
    return postgres.dsn, pg_schema


@pytest.fixture
def store(pg: tuple[str, str]) -> Iterator[PostgresStore]:
    dsn, schema = pg
    with PostgresStore(dsn, schema=schema, application_name=schema) as s:
        yield s


Query = Callable[..., list[tuple[Any, ...]]]


@pytest.fixture
def query(postgres: Postgres) -> Query:
    """Run one statement on the test server (a connection of its own)."""
    return postgres.query


def start_job(store: PostgresStore, iid: str, *, fingerprint: str) -> None:
    """An instance of ``job`` whose two enter hooks are pending and unleased, as a
    worker that crashed right after writing the transition leaves it."""
    record = InstanceRecord("job", iid, "queued", 1, fingerprint, created_at=AT, updated_at=AT)
    first = Transition(1, TransitionKind.START, None, "queued", None, None, {}, AT)
    work = [
        WorkItem("job", iid, 1, i, h, HookKind.ENTER)
        for i, h in enumerate(("step_one", "step_two"))
    ]
    store.create(record, first, work)


def worker(*args: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, WORKER, *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen[str], timeout: float = 120) -> str:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    return out


# -- construction ---------------------------------------------------------------------


def test_the_module_imports_without_psycopg_and_construction_says_what_to_install() -> None:
    code = (
        "import sys; sys.modules['psycopg'] = None; sys.modules['psycopg_pool'] = None\n"
        "from wfdsl.stores.postgres import PostgresStore\n"
        "from wfdsl.errors import StoreError\n"
        "try:\n"
        "    PostgresStore('postgresql://nobody@127.0.0.1/none')\n"
        "except StoreError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'wfdsl[postgres]'" in out.stdout


@pytest.mark.postgres
def test_an_unreachable_server_is_a_store_error_naming_it_without_the_password(
    postgres: Postgres,  # skip with the others when there is no server configured
) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(StoreError, match=f"127.0.0.1:{port}") as info:
        PostgresStore(f"postgresql://alice:s3cret@127.0.0.1:{port}/db", connect_timeout=2)
    assert "s3cret" not in str(info.value)


@pytest.mark.postgres
def test_open_store_takes_a_postgresql_url_and_its_schema_parameter(pg: tuple[str, str]) -> None:
    dsn, schema = pg
    store = open_store(f"{dsn}?schema={schema}")
    try:
        assert isinstance(store, PostgresStore)
        assert store.schema == schema
    finally:
        store.close()


# -- schema -------------------------------------------------------------------------


@pytest.mark.postgres
def test_the_store_creates_its_tables_and_indexes_in_its_own_schema(
    store: PostgresStore, pg: tuple[str, str], query: Query
) -> None:
    _dsn, schema = pg
    tables = query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s ORDER BY 1",
        schema,
    )
    assert [t for (t,) in tables] == [
        "wf_instances",
        "wf_meta",
        "wf_timers",
        "wf_transitions",
        "wf_work",
    ]
    indexes = {
        i for (i,) in query("SELECT indexname FROM pg_indexes WHERE schemaname = %s", schema)
    }
    assert {"wf_instances_state", "wf_transitions_key", "wf_work_open", "wf_timers_due"} <= indexes
    assert store.schema_version == SCHEMA_VERSION


@pytest.mark.postgres
def test_reopening_keeps_the_data(store: PostgresStore, pg: tuple[str, str]) -> None:
    dsn, schema = pg
    start_job(store, "j-1", fingerprint="fp")
    with PostgresStore(dsn, schema=schema) as again:
        record = again.load("job", "j-1")
        assert record is not None and record.pending == 2


@pytest.mark.postgres
def test_a_schema_written_by_a_newer_wfdsl_is_refused(
    store: PostgresStore, pg: tuple[str, str], query: Query
) -> None:
    dsn, schema = pg
    query(f'UPDATE "{schema}".wf_meta SET version = 99 RETURNING version')
    with pytest.raises(StoreError, match="newer wfdsl"):
        PostgresStore(dsn, schema=schema)


@pytest.mark.postgres
def test_a_schema_of_version_2_gains_timers_in_place_and_keeps_its_instances(
    pg: tuple[str, str], query: Query, postgres: Postgres
) -> None:
    dsn, schema = pg
    with postgres.connect() as conn, conn.transaction():
        conn.execute(f'CREATE SCHEMA "{schema}"')
        for version in MIGRATIONS[:2]:
            for statement in version:
                conn.execute(statement.replace("{s}", f'"{schema}"'))
        conn.execute(f'CREATE TABLE "{schema}".wf_meta (one boolean PRIMARY KEY, version integer)')
        conn.execute(f'INSERT INTO "{schema}".wf_meta VALUES (true, 2)')
        conn.execute(
            f'INSERT INTO "{schema}".wf_instances VALUES '
            "('order', 'old', 'created', 1, 'fp', NULL, %s, %s)",
            (AT.isoformat(), AT.isoformat()),
        )
    with PostgresStore(dsn, schema=schema) as store:
        assert store.schema_version == SCHEMA_VERSION == 4
        old = store.load("order", "old")
        assert old is not None and (old.state, old.next_due) == ("created", None)
        move = Transition(2, TransitionKind.EVENT, "created", "paid", "pay", None, {}, AT)
        due = Timer("order", "old", 2, 0, "paid", "cancelled", 60_000, 1_800_000_000_000)
        store.append("order", "old", move, (), compensating=None, timers=[due])
        assert store.next_due("order") == due.due


@pytest.mark.postgres
def test_workers_opening_a_fresh_schema_together_migrate_it_once(
    pg: tuple[str, str], query: Query
) -> None:
    dsn, schema = pg
    code = (
        "import sys\nfrom wfdsl.stores.postgres import PostgresStore\n"
        "PostgresStore(sys.argv[1], schema=sys.argv[2]).close()\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, dsn, schema], stderr=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    for p in procs:
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
    assert query(f'SELECT version FROM "{schema}".wf_meta') == [(SCHEMA_VERSION,)]


@pytest.mark.postgres
def test_schemas_do_not_see_each_other(store: PostgresStore, postgres: Postgres) -> None:
    other_schema = postgres.new_schema()
    try:
        with postgres.store(other_schema) as other:
            start_job(store, "j-1", fingerprint="fp")
            assert other.load("job", "j-1") is None
    finally:
        postgres.drop_schema(other_schema)


# -- several processes ------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.slow
def test_sends_from_several_processes_to_one_instance_lose_no_update(
    store: PostgresStore, pg: tuple[str, str]
) -> None:
    dsn, schema = pg
    Manager(wfdsl.loads(COUNTER), store).start("shared")
    at = time.time() + 1.0
    procs = [worker("send", dsn, schema, 25, f"p{n}", at) for n in range(4)]
    assert [finish(p) for p in procs] == ["25\n"] * 4

    history = store.history("counter", "shared")
    assert [t.seq for t in history] == list(range(1, 102))
    for n in range(4):  # every send of every process is there once, in its order
        assert [t.data["i"] for t in history if t.data.get("tag") == f"p{n}"] == list(range(25))


@pytest.mark.postgres
@pytest.mark.slow
def test_concurrent_resumes_never_run_the_same_hook_twice(
    store: PostgresStore, pg: tuple[str, str], query: Query
) -> None:
    dsn, schema = pg
    query(f'CREATE TABLE "{schema}".ran (instance_id text, hook text, worker text, what text)')
    fp = wfdsl.loads(JOB).fingerprint()
    for n in range(150):
        start_job(store, f"j-{n:03}", fingerprint=fp)
    at = time.time() + 1.5
    procs = [worker("resume", dsn, schema, f"w{n}", 60, at) for n in range(3)]
    completed = [int(finish(p)) for p in procs]

    assert sum(completed) == 300
    runs = query(f'SELECT instance_id, hook, count(*) FROM "{schema}".ran GROUP BY 1, 2')
    assert len(runs) == 300
    assert {count for _, _, count in runs} == {1}
    assert store.instances("job", pending_only=True) == []


@pytest.mark.postgres
def test_work_of_a_worker_killed_mid_hook_is_taken_over_without_waiting_for_its_lease(
    store: PostgresStore, pg: tuple[str, str], query: Query
) -> None:
    dsn, schema = pg
    query(f'CREATE TABLE "{schema}".ran (instance_id text, hook text, worker text, what text)')
    start_job(store, "j-1", fingerprint=wfdsl.loads(JOB).fingerprint())
    lease = 600.0  # never expires during the test: only proof of life frees the work
    doomed = worker("resume", dsn, schema, "doomed", lease, 0, "hang")
    try:
        assert doomed.stdout is not None
        ready, _, _ = select.select([doomed.stdout], [], [], 60)
        assert ready and doomed.stdout.readline() == "running\n"
        # While its session lives, another worker leaves the work alone.
        assert finish(worker("resume", dsn, schema, "early", lease, 0)) == "0\n"
        held = store.pending_work("job", "j-1")
        assert {w.lease_owner for w in held} == {"doomed"}
    finally:
        doomed.send_signal(signal.SIGKILL)
        doomed.communicate()
    # Its session ended with it: the work is free at once.
    assert finish(worker("resume", dsn, schema, "heir", lease, 0)) == "2\n"
    runs = query(f'SELECT hook, worker, what FROM "{schema}".ran ORDER BY hook, what')
    assert runs == [
        ("step_one", "heir", "done"),
        ("step_one", "doomed", "started"),
        ("step_two", "heir", "done"),
    ]
    assert store.pending_work("job", "j-1") == []


@pytest.mark.postgres
def test_a_worker_that_loses_its_session_gets_a_new_identity_and_its_old_work_is_free(
    pg: tuple[str, str], postgres: Postgres
) -> None:
    dsn, schema = pg
    name = f"{schema}-lost"
    with (
        PostgresStore(dsn, schema=schema, application_name=name) as lost,
        PostgresStore(dsn, schema=schema) as other,
    ):
        start_job(lost, "j-1", fingerprint="fp")
        before = lost.identity()
        held = lost.claim("job", "j-1", owner="lost", proof=before, now=0.0, until=1e12)
        assert len(held) == 2
        assert other.claim("job", "j-1", owner="o", proof=other.identity(), now=1, until=2) == []
        # The connection drops (a network cut, a failover), the process lives on.
        assert postgres.terminate(f"{name}:worker") == 1
        deadline = time.monotonic() + 30
        while lost.identity() == before and time.monotonic() < deadline:
            time.sleep(0.05)  # the keeper notices within its heartbeat
        assert lost.identity() != before  # so the runtime knows it lost what it held
        taken = other.claim("job", "j-1", owner="o", proof=other.identity(), now=1, until=2)
        assert [w.hook for w in taken] == ["step_one", "step_two"]


# -- connection failures --------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.slow
def test_sends_survive_their_backends_being_terminated_and_none_is_applied_twice(
    store: PostgresStore, pg: tuple[str, str], postgres: Postgres
) -> None:
    _, schema = pg
    mgr = Manager(wfdsl.loads(COUNTER), store)
    mgr.start("shared")
    errors: list[BaseException] = []

    def sender() -> None:
        try:
            for i in range(300):
                mgr.send("shared", "tick", data={"i": i})
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=sender)
    thread.start()
    killed = 0
    while thread.is_alive():
        killed += postgres.terminate(schema)
        time.sleep(0.05)
    thread.join()

    assert errors == []
    assert killed > 0
    history = store.history("counter", "shared")
    assert [t.data.get("i") for t in history[1:]] == list(range(300))
    assert [t.seq for t in history] == list(range(1, 302))


class Proxy:
    """A TCP proxy in front of the server that can lose one message on cue:
    ``drop_reply`` forwards the next request and swallows its answer (the write
    commits but its acknowledgement never arrives), ``drop_request`` swallows the
    next request (nothing reaches the server). Either way the client's connection
    is cut. ``down`` refuses every connection."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.mode = "pass"
        #: With ``drop_reply``, only a request containing these bytes (if set) has its reply lost.
        self.trigger: bytes | None = None
        #: The reply that was lost.
        self.swallowed = b""
        self.connections = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.mode == "down":
                client.close()
                continue
            self.connections += 1
            server = socket.create_connection(self.target)
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()

    def _pump(self, client: socket.socket, server: socket.socket) -> None:
        asked = False
        try:
            while True:
                ready, _, _ = select.select([client, server], [], [], 0.5)
                if self.mode == "down" or self._stop:
                    return
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    if sock is client:
                        if self.mode == "drop_request":
                            self.mode = "pass"
                            return
                        asked = self.trigger is None or self.trigger in data
                        server.sendall(data)
                    else:
                        if self.mode == "drop_reply" and asked:
                            self.mode = "pass"
                            self.swallowed = data
                            time.sleep(0.3)  # let the server finish its commit
                            return
                        client.sendall(data)
        except OSError:
            return
        finally:
            client.close()
            server.close()

    def close(self) -> None:
        self._stop = True
        self._listener.close()


@pytest.fixture
def proxied(pg: tuple[str, str]) -> Iterator[tuple[Proxy, PostgresStore]]:
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    dsn, schema = pg
    params = conninfo_to_dict(dsn)
    proxy = Proxy(str(params.get("host", "127.0.0.1")), int(params.get("port", 5432)))
    through = make_conninfo(dsn, host="127.0.0.1", port=str(proxy.port), sslmode="disable")
    store = PostgresStore(through, schema=schema, min_size=1, max_size=1, retry_for=5)
    try:
        yield proxy, store
    finally:
        proxy.mode = "pass"
        store.close()
        proxy.close()


def _create(store: PostgresStore) -> object:
    start_job(store, "j-2", fingerprint="fp")
    return store.load("job", "j-2") is not None


def _append(store: PostgresStore) -> object:
    t = Transition(2, TransitionKind.EVENT, "queued", "done", "finish", None, {}, AT)
    store.append("job", "j-1", t, [], compensating=None)
    return [x.seq for x in store.history("job", "j-1")]


def _fail(store: PostgresStore) -> object:
    item = store.pending_work("job", "j-1")[0]
    store.fail(item, "boom", dead=False)
    return store.pending_work("job", "j-1")[0].attempts


def _revive(store: PostgresStore) -> object:
    return store.revive("job", "j-1")


#: The server's ReadyForQuery message after a committed transaction ("idle").
READY_IDLE = b"Z\x00\x00\x00\x05I"

WRITES: dict[str, tuple[Callable[[PostgresStore], object], object]] = {
    "create": (_create, True),
    "append": (_append, [1, 2]),
    "fail": (_fail, 1),
    "revive": (_revive, 1),
}


@pytest.mark.postgres
@pytest.mark.parametrize("mode", ["drop_reply", "drop_request"])
@pytest.mark.parametrize("write", sorted(WRITES))
def test_a_write_whose_connection_is_cut_is_applied_exactly_once(
    proxied: tuple[Proxy, PostgresStore], write: str, mode: str
) -> None:
    proxy, store = proxied
    start_job(store, "j-1", fingerprint="fp")
    if write == "revive":
        store.fail(store.pending_work("job", "j-1")[0], "boom", dead=True)
    op, expected = WRITES[write]
    before = proxy.connections
    proxy.trigger = b"COMMIT" if write == "fail" else None  # fail is a BEGIN ... COMMIT
    proxy.mode = mode
    assert op(store) == expected
    assert proxy.mode == "pass"  # the message was lost, and the store went on
    assert proxy.connections > before  # on a new connection
    if mode == "drop_reply":  # the lost reply said the write had committed
        assert READY_IDLE in proxy.swallowed


@pytest.mark.postgres
def test_a_server_that_stays_away_is_a_store_error_and_nothing_is_half_written(
    proxied: tuple[Proxy, PostgresStore],
) -> None:
    proxy, store = proxied
    start_job(store, "j-1", fingerprint="fp")
    store.retry_for = 1.0
    proxy.mode = "down"
    t = Transition(2, TransitionKind.EVENT, "queued", "done", "finish", None, {}, AT)
    work = [WorkItem("job", "j-1", 2, 0, "step_one", HookKind.ENTER)]
    with pytest.raises(StoreError, match="could not append a transition") as info:
        store.append("job", "j-1", t, work, compensating=None)
    assert "may have been applied" in str(info.value)  # the caller is told what to check
    proxy.mode = "pass"
    record = store.load("job", "j-1")
    assert record is not None and (record.state, record.version, record.pending) == ("queued", 1, 2)
    assert len(store.history("job", "j-1")) == 1


@pytest.mark.postgres
def test_a_rivals_instance_is_still_already_started_after_a_lost_reply(
    proxied: tuple[Proxy, PostgresStore], pg: tuple[str, str]
) -> None:
    proxy, store = proxied
    dsn, schema = pg
    with PostgresStore(dsn, schema=schema) as rival:
        start_job(rival, "j-1", fingerprint="fp")
    proxy.mode = "drop_reply"
    with pytest.raises(AlreadyStarted):
        start_job(store, "j-1", fingerprint="fp")


@pytest.mark.postgres
def test_the_cli_lists_instances_and_history_from_postgresql(
    store: PostgresStore, pg: tuple[str, str]
) -> None:
    dsn, schema = pg
    mgr = Manager(wfdsl.loads(COUNTER), store)
    mgr.start("c-1")
    mgr.send("c-1", "tick", key="k-1")
    url = f"{dsn}?schema={schema}"
    env = {**os.environ, "NO_COLOR": "1"}
    listed = subprocess.run(
        [sys.executable, "-m", "wfdsl", "instances", "--db", url],
        capture_output=True,
        text=True,
        env=env,
    )
    assert listed.returncode == 0, listed.stderr
    assert "c-1" in listed.stdout and "open" in listed.stdout
    shown = subprocess.run(
        [sys.executable, "-m", "wfdsl", "history", "c-1", "--db", url, "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert shown.returncode == 0, shown.stderr
    import json

    steps = json.loads(shown.stdout)
    assert [(s["seq"], s["kind"], s["key"]) for s in steps] == [
        (1, "start", None),
        (2, "event", "k-1"),
    ]


# -- crashes ---------------------------------------------------------------------------------


def expected_hooks(spec: wfdsl.Spec, t: Transition) -> list[str]:
    if t.kind is TransitionKind.COMPENSATE:
        assert t.source is not None
        return list(spec.state(t.source).compensate)
    exits = list(spec.state(t.source).exit) if t.source else []
    return exits + list(spec.state(t.target).enter)


@pytest.mark.postgres
@pytest.mark.slow
def test_workers_killed_at_random_lose_nothing_and_apply_nothing_twice(
    store: PostgresStore, pg: tuple[str, str], query: Query
) -> None:
    """Three workers drive twelve shared orders while one of them is killed with
    SIGKILL every few hundred milliseconds and restarted (with default worker
    ids: nothing but its session proves a worker alive)."""
    dsn, schema = pg
    query(f'CREATE TABLE "{schema}".effects (n bigserial, effect_key text, worker text)')
    rng = random.Random(20261125)
    lease = 60.0  # never expires here: a killed worker's work is free at once
    acks: list[str] = []
    seeds = itertools.count()

    def launch(name: str) -> subprocess.Popen[str]:
        proc = worker("drive", dsn, schema, name, next(seeds), lease)
        assert proc.stdout is not None
        assert proc.stdout.readline() == "ready\n", proc.stderr
        return proc

    def reap(proc: subprocess.Popen[str]) -> None:
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate()
        acks.extend(line for line in out.splitlines() if line.startswith("ack "))

    names = ["w0", "w1", "w2"]
    procs = {name: launch(name) for name in names}
    try:
        for _ in range(15):
            time.sleep(rng.uniform(0.05, 0.4))
            victim = rng.choice(names)
            reap(procs[victim])
            procs[victim] = launch(victim)
    finally:
        for proc in procs.values():
            reap(proc)

    spec = wfdsl.load(Path(__file__).resolve().parents[2] / "examples" / "order.wf")
    hooks: dict[str, Any] = dict.fromkeys(spec.guard_names, lambda ctx: True)
    hooks["flagged_for_fraud"] = lambda ctx: False
    ran: list[str] = []
    for name in spec.hook_names():
        hooks[name] = lambda ctx: ran.append(ctx.effect_key)
    report = Manager(spec, store, hooks=hooks, wait=0).resume()
    assert report.ok, report

    runs = [k for (k,) in query(f'SELECT effect_key FROM "{schema}".effects ORDER BY n')] + ran
    effects = set(runs)
    for iid in {k.split("/")[1] for k in runs}:  # one step at a time, whoever ran it
        seqs = [int(k.split("/")[2]) for k in runs if k.split("/")[1] == iid]
        assert seqs == sorted(seqs), f"{iid}: hooks ran out of order: {seqs}"
    histories = {
        r.instance_id: store.history("order", r.instance_id) for r in store.instances("order")
    }
    assert len(acks) > 20  # the workers got real work done between kills
    for line in acks:  # no acknowledged step is lost
        _, iid, seq, key = line.split()
        t = histories[iid][int(seq) - 1]
        assert t.key == (None if key == "-" else key)
    for iid, history in histories.items():
        assert [t.seq for t in history] == list(range(1, len(history) + 1))  # nothing twice
        keys = [t.key for t in history if t.key]
        assert len(keys) == len(set(keys))
        path = Manager.path(history[:1])
        for t in history[1:]:  # a valid path of the spec
            assert t.source == path[-1]
            if t.kind is TransitionKind.COMPENSATE:
                path.pop()
                assert t.target == path[-1]
            else:
                assert t.event is not None
                assert t.target in {e.target.value for e in spec.candidates(t.source, t.event)}
                path.append(t.target)
        for t in history:  # every hook ran at least once
            for hook in expected_hooks(spec, t):
                assert f"order/{iid}/{t.seq}/{hook}" in effects
    assert store.instances("order", pending_only=True) == []
