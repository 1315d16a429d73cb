"""Timers under crashes (SPEC §7.2, §8): several worker processes fire the same
due timers while some of them are killed with SIGKILL and restarted, and a
client sends events meanwhile. Time comes from a clock file the test moves.
Every worker runs with the default worker id.

After the last kill, one fresh worker runs until idle and ``resume()`` reports
``ok``; then, for every instance:

* every history is a valid path of the spec, timers included;
* every ``timer`` transition is the firing of a timer armed by the transition
  just before it (so it fired only while its state was current), at its due
  time, under its own key: each armed timer fired at most once;
* every timer that came due while its state was current fired (or a sooner
  one, or one written earlier, did; or its guard was false): no event was
  applied to a state the clock had left, and no instance was left in a state
  with a timer that should have fired;
* every transition's hooks ran at least once with their stable ``effect_key``,
  in ``seq`` order per instance.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from wfdsl.errors import WorkflowError
from wfdsl.ir import Spec
from wfdsl.stores.records import Transition, TransitionKind, epoch_ms

from .timer_worker import TICKET, manager, set_clock, urgent

WORKER = Path(__file__).with_name("timer_worker.py")
ROUNDS = 60
WORKERS = 3
START = epoch_ms(datetime(2026, 6, 1, 9, 0, tzinfo=UTC))
MINUTE = 60_000


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield str(tmp_path / "tickets.db")
        return
    postgres = request.getfixturevalue("postgres")
    schema = request.getfixturevalue("pg_schema")
    yield f"{postgres.dsn}{'&' if '?' in postgres.dsn else '?'}schema={schema}"


_spawned = itertools.count()


def spawn(url: str, work: Path, *args: str) -> subprocess.Popen[str]:
    """A worker process; what it logs goes to a file of its own (a pipe nobody
    reads could fill and stop it)."""
    with open(work / f"worker-{next(_spawned)}.log", "w") as log:
        return subprocess.Popen(
            [sys.executable, str(WORKER), url, str(work), *args],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )


def kill(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL, "the worker died on its own: see its log"


@pytest.mark.slow
def test_timers_fire_exactly_once_while_workers_are_killed(url: str, tmp_path: Path) -> None:
    rng = random.Random(20261201)
    clock_file = tmp_path / "clock"
    now = START
    set_clock(clock_file, now)
    client = manager(url, tmp_path)  # the client sending events, never killed
    workers = [spawn(url, tmp_path, "work") for _ in range(WORKERS)]
    kills = 0
    started = 0
    dying: set[int] = set()  # workers that kill themselves inside a hook
    try:
        for round_ in range(ROUNDS):
            # The clock moves, and the client sends at once, racing the workers
            # for the timers that just came due.
            now += rng.choice([MINUTE, 2 * MINUTE, 3 * MINUTE, 5 * MINUTE, 10 * MINUTE])
            set_clock(clock_file, now)
            for _ in range(rng.randint(0, 2)):
                client.start(f"t-{started}")
                started += 1
            live = [r for r in client.store.instances("ticket") if r.next_due is not None]
            for rec in rng.sample(live, min(len(live), 3)):
                event = rng.choice(["wait", "answer", "close", "wait", "answer"])
                with contextlib.suppress(WorkflowError):  # refused there, or a worker is at it
                    client.send(rec.instance_id, event)
            if round_ % 3 == 2:
                # A worker told to die inside a hook is left to do so (under load
                # it may need a while to start): killing it first would leave the
                # rerun path untried. One that has died is replaced.
                for i, proc in enumerate(workers):
                    if i in dying and proc.poll() is not None:
                        proc.communicate()
                        assert proc.returncode == -signal.SIGKILL, "see the worker's log"
                        dying.discard(i)
                        workers[i] = spawn(url, tmp_path, "work")
                victims = [i for i in range(WORKERS) if i not in dying]
                if victims:
                    victim = rng.choice(victims)
                    kill(workers[victim])
                    kills += 1
                    die = [str(rng.randint(1, 4))] if kills % 3 == 0 else []
                    if die:
                        dying.add(victim)
                    workers[victim] = spawn(url, tmp_path, "work", *die)
            time.sleep(rng.uniform(0.02, 0.12))  # pacing only: the workers get to act
    finally:
        for proc in workers:
            if proc.poll() is None:
                kill(proc)
            else:
                proc.communicate()
    client.store.close()
    # Everything still armed comes due: the last worker finishes it all.
    now += 10 * 24 * 60 * MINUTE
    set_clock(clock_file, now)
    final = spawn(url, tmp_path, "idle")
    out, _ = final.communicate(timeout=120)
    assert final.returncode == 0, "the last worker failed: see its log"
    assert json.loads(out)["ok"], out
    check(url, tmp_path, kills=kills, started=started, final_clock=now)


def check(url: str, work: Path, *, kills: int, started: int, final_clock: int) -> None:
    import wfdsl

    spec = wfdsl.loads(TICKET)
    runs = (work / "hooks.log").read_text().splitlines()
    effects = Counter(runs)
    mgr = manager(url, work)
    try:
        records = mgr.store.instances("ticket")
        assert len(records) == started > 20
        histories = {r.instance_id: mgr.history(r.instance_id) for r in records}
        timers = sum(t.kind is TransitionKind.TIMER for h in histories.values() for t in h)
        print(f"{kills} kills, {started} tickets, {timers} timers fired")
        assert kills >= ROUNDS // 4 and timers > started // 2
        for iid, hist in histories.items():
            check_history(spec, iid, hist, final_clock)
            for t in hist:
                for hook in expected_hooks(spec, t):
                    assert effects[f"ticket/{iid}/{t.seq}/{hook}"] >= 1, (iid, t.seq, hook)
            seqs = [int(k.split("/")[2]) for k in runs if k.split("/")[1] == iid]
            assert seqs == sorted(seqs), f"{iid}: hooks ran out of seq order: {seqs}"
            rec = mgr.store.load("ticket", iid)
            assert rec is not None and (rec.pending, rec.dead, rec.next_due) == (0, 0, None)
        assert any(n > 1 for n in effects.values()), "no kill landed between a hook and its marker"
    finally:
        mgr.store.close()


def expected_hooks(spec: Spec, t: Transition) -> list[str]:
    exits = list(spec.state(t.source).exit) if t.source else []
    return exits + list(spec.state(t.target).enter)


def check_history(spec: Spec, iid: str, hist: list[Transition], final_clock: int) -> None:
    assert [t.seq for t in hist] == list(range(1, len(hist) + 1)), iid
    assert hist[0].kind is TransitionKind.START
    for entered, nxt in zip(hist, [*hist[1:], None], strict=True):
        state = entered.target
        visit_at = epoch_ms(entered.at)
        # The timer that should fire in this visit, if no event comes first:
        # due order, then written order, the first whose guard holds.
        armed = sorted(
            ((visit_at + e.after.ms, e.index, e) for e in spec.timed_from(state)),
            key=lambda x: (x[0], x[1]),
        )
        firing = next(((due, e) for due, _, e in armed if e.guard is None or urgent(iid)), None)
        where = f"{iid} seq {entered.seq} ({state})"
        if nxt is None:
            assert firing is None or firing[0] > final_clock, f"{where}: a due timer never fired"
            assert spec.state(state).final, f"{where}: left in a non-final state"
            continue
        assert nxt.source == state, f"{where}: the next transition leaves {nxt.source}"
        if nxt.kind is TransitionKind.TIMER:
            assert firing is not None, f"{where}: a timer fired though every guard was false"
            due, edge = firing
            assert nxt.key == f"wfdsl-timer:{entered.seq}:{edge.index}", (where, nxt.key)
            assert (nxt.target, epoch_ms(nxt.at)) == (edge.target.value, due), where
        else:
            assert nxt.kind is TransitionKind.EVENT, where
            targets = {e.target.value for e in spec.candidates(state, nxt.event or "")}
            assert nxt.target in targets, f"{where}: {nxt.event} -> {nxt.target} is not in the spec"
            if firing is not None:
                assert epoch_ms(nxt.at) < firing[0], (
                    f"{where}: event {nxt.event} applied after the clock left the state"
                )
