"""Batches on PostgreSQL (``load_many``, ``append_many``; so ``send_many`` and
``fire_due``): a batch costs one read and one write whatever its size, is
written exactly once through a lost reply, wakes workers only for timers it
armed, and is read along the primary key however young the statistics are.
What each append means is checked on every backend: test_batch.py, and the
chains below (which PostgreSQL writes as one row each).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

import wfdsl
from wfdsl import Manager
from wfdsl.errors import VersionConflict
from wfdsl.stores.base import Store
from wfdsl.stores.batch import Append
from wfdsl.stores.postgres import PostgresStore
from wfdsl.stores.records import Transition, TransitionKind

from .specs import LIGHT
from .test_batch import DUE, path, step, timer
from .test_conformance import AT, WF, start, work
from .test_explain import Recorder, pg_nodes
from .test_postgres import READY_IDLE, Proxy, pg, proxied, start_job

if TYPE_CHECKING:
    from pgtest import Postgres  # the ``postgres`` fixture (tests/pgtest.py)

__all__ = ["pg", "proxied"]  # fixtures, used by name


# -- chains, on every backend -----------------------------------------------------------


def test_a_chain_leaves_armed_only_the_timers_of_its_last_state(store: Store) -> None:
    start(store, "a")
    out = store.append_many(
        [
            step("a", 2, "created", "waiting", timers=(timer("a", 2, "waiting"),)),
            step("a", 3, "waiting", "held", timers=(timer("a", 3, "held", due=DUE + 7),)),
        ]
    )
    assert out == [None, None]
    assert [(t.seq, t.state, t.due) for t in store.timers(WF, instance_id="a")] == [
        (3, "held", DUE + 7)
    ]
    rec = store.load(WF, "a")
    assert rec is not None and (rec.state, rec.version, rec.next_due) == ("held", 3, DUE + 7)


def test_every_append_of_a_chain_keeps_its_work_and_the_last_its_compensation(
    store: Store,
) -> None:
    start(store, "a")
    first = step("a", 2, "created", "paid", hooks=("charge",))
    t = Transition(3, TransitionKind.EVENT, "paid", "shipped", "go", None, {}, AT)
    second = Append(WF, "a", t, work("a", 3, ("ship",)), "paid")
    assert store.append_many([first, second]) == [None, None]
    assert [(w.seq, w.hook) for w in store.pending_work(WF, "a")] == [(2, "charge"), (3, "ship")]
    rec = store.load(WF, "a")
    assert rec is not None and (rec.state, rec.compensating) == ("shipped", "paid")


def test_an_append_that_does_not_follow_its_chain_fails_after_those_before_it(
    store: Store,
) -> None:
    start(store, "a")
    out = store.append_many(
        [
            step("a", 2, "created", "paid"),
            step("a", 4, "paid", "shipped"),  # seq 3 is missing
            step("a", 5, "shipped", "done"),
        ]
    )
    assert out[0] is None
    assert isinstance(out[1], VersionConflict) and isinstance(out[2], VersionConflict)
    assert path(store, "a") == [(1, "created"), (2, "paid")]


# -- PostgreSQL ---------------------------------------------------------------------------


@pytest.fixture
def recorded(postgres: Postgres, pg_schema: str) -> Iterator[tuple[PostgresStore, Recorder]]:
    """A store of one pooled connection whose statements are recorded."""
    store = postgres.store(pg_schema, application_name=pg_schema, min_size=1, max_size=1)
    recorder = Recorder()
    try:
        with store._pool.connection() as conn:  # the pool's one connection
            conn.cursor_factory = recorder.cursor_class()
        yield store, recorder
    finally:
        store.close()


@pytest.mark.postgres
@pytest.mark.parametrize("n", [1, 8, 40])
def test_a_batch_of_sends_is_one_read_and_one_write_whatever_its_size(
    recorded: tuple[PostgresStore, Recorder], n: int
) -> None:
    store, recorder = recorded
    mgr = Manager(wfdsl.loads(LIGHT), store)
    ids = [f"i{k}" for k in range(n)]
    for iid in ids:
        mgr.start(iid)
    for _ in range(2):
        recorder.seen.clear()
        results = mgr.send_many([(iid, "next") for iid in ids])
        assert all(isinstance(r, Transition) for r in results), results
        assert len(recorder.seen) == 2, [q.split()[:3] for q, _ in recorder.seen]
    assert {store.load("light", iid).state for iid in ids} == {"red"}  # type: ignore[union-attr]
    assert [t.target for t in store.history("light", ids[-1])] == ["green", "yellow", "red"]


@pytest.mark.postgres
@pytest.mark.parametrize("mode", ["drop_reply", "drop_request"])
def test_a_batch_whose_connection_is_cut_is_written_exactly_once(
    proxied: tuple[Proxy, PostgresStore], mode: str
) -> None:
    proxy, store = proxied
    start_job(store, "j-1", fingerprint="fp")
    start_job(store, "j-2", fingerprint="fp")

    def append(iid: str, seq: int, source: str, target: str) -> Append:
        t = Transition(seq, TransitionKind.EVENT, source, target, "go", None, {}, AT)
        return Append("job", iid, t)

    batch = [
        append("j-1", 2, "queued", "running"),
        append("j-2", 2, "queued", "done"),
        append("j-1", 3, "running", "done"),
    ]
    before = proxy.connections
    proxy.mode = mode
    assert store.append_many(batch) == [None, None, None]
    assert proxy.mode == "pass" and proxy.connections > before  # lost, then on a new connection
    if mode == "drop_reply":  # the lost reply said the batch had committed
        assert READY_IDLE in proxy.swallowed
    assert [t.seq for t in store.history("job", "j-1")] == [1, 2, 3]
    assert [t.seq for t in store.history("job", "j-2")] == [1, 2]


@pytest.mark.postgres
def test_workers_hear_of_the_timers_a_batch_armed_and_only_of_those(
    postgres: Postgres, pg_schema: str
) -> None:
    with postgres.store(pg_schema, application_name=pg_schema) as store:
        for iid in ("a", "b", "c"):
            start(store, iid)
        listener = store.listen([WF])
        try:
            stale = step("c", 3, "created", "waiting", timers=(timer("c", 3, "waiting", due=DUE),))
            out = store.append_many([stale])
            assert isinstance(out[0], VersionConflict)
            assert not listener.wait(0.3)  # nothing written: nothing to hear
            # One chain written (due DUE + 5), one not (due DUE): the workers
            # hear of DUE + 5, the soonest that was armed.
            written = step(
                "a", 2, "created", "waiting", timers=(timer("a", 2, "waiting", due=DUE + 5),)
            )
            out = store.append_many([written, stale])
            assert out[0] is None and isinstance(out[1], VersionConflict)
            assert not listener.wait(0.5, sooner_than=DUE + 5)
            later = step(
                "b", 2, "created", "waiting", timers=(timer("b", 2, "waiting", due=DUE + 9),)
            )
            assert store.append_many([later]) == [None]
            assert listener.wait(5.0, sooner_than=DUE + 10)
        finally:
            listener.close()


def _plans(conn: Any, statements: list[tuple[str, Any]]) -> list[tuple[str, list[str]]]:
    """Each statement, and what its plan scans: ``"Seq Scan wf_x"``, ``"Index
    Scan wf_x_pkey"``..., as the planner chooses it with the settings it has."""
    out = []
    for query, params in statements:
        with conn.transaction(force_rollback=True):
            ((plan,),) = conn.execute("EXPLAIN (FORMAT JSON) " + query, params).fetchall()
        nodes = pg_nodes(plan[0]["Plan"])
        scans = [
            f"{n['Node Type']} {n.get('Index Name') or n.get('Relation Name')}"
            for n in nodes
            if "Scan" in n["Node Type"] and "Function" not in n["Node Type"]
        ]
        out.append((" ".join(query.split()[:8]), scans))
    return out


@pytest.mark.postgres
@pytest.mark.parametrize("rows", [2_000, 20_000])
@pytest.mark.parametrize("stats", ["none", "stale"])
def test_a_batch_probes_the_primary_key_however_young_the_statistics(
    postgres: Postgres,
    pg_schema: str,
    recorded: tuple[PostgresStore, Recorder],
    stats: str,
    rows: int,
) -> None:
    store, recorder = recorded
    q = f'"{pg_schema}"'
    with postgres.connect() as conn:
        for table in ("wf_instances", "wf_transitions", "wf_timers", "wf_work"):
            conn.execute(f"ALTER TABLE {q}.{table} SET (autovacuum_enabled = false)")
        mgr = Manager(wfdsl.loads(LIGHT), store)
        ids = [f"i{k}" for k in range(8)]
        for iid in ids:
            mgr.start(iid)
        if stats == "stale":  # taken while the table held 8 instances
            conn.execute(f"ANALYZE {q}.wf_instances")
        conn.execute(
            f"INSERT INTO {q}.wf_instances SELECT 'light', 'x' || g, 'green', 1, 'fp', NULL, "
            "'2026-01-01', '2026-01-01' FROM generate_series(1, %s) g",
            (rows,),
        )
        conn.commit()
        recorder.seen.clear()
        mgr.send_many([(iid, "next") for iid in ids])
        assert len(recorder.seen) == 2
        (read, read_scans), (write, write_scans) = _plans(conn, recorder.seen)
    # The read, as ``load`` reads one instance, at any size.
    assert [s for s in read_scans if "wf_instances" in s] == ["Index Scan wf_instances_pkey"], (
        read,
        read_scans,
    )
    # The write too, but where the planner would rather scan a table of a few
    # thousand rows (as it would a join of any kind): which costs little.
    if rows >= 20_000:
        assert [s for s in write_scans if "wf_instances" in s] == [
            "Index Scan wf_instances_pkey"
        ], (write, write_scans)
    for statement, scans in ((read, read_scans), (write, write_scans)):
        assert not [s for s in scans if s.startswith("Seq Scan wf_t")], (statement, scans)
