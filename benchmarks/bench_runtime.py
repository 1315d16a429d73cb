"""Runtime speed, measured side by side in one run.

    python benchmarks/bench_runtime.py [--sends 400] [--rounds 7] [--sync FULL,NORMAL]
        [--memory-sends 20000] [--instances 1000] [--skip durable,memory,resume]

On one three-state machine (green -> yellow -> red -> green on ``next``):

* durable ``send`` on a SQLite file (WAL, ``synchronous=FULL`` and ``NORMAL``)
  against the raw ``sqlite3`` transaction doing the same work with the same
  PRAGMAs (read the state; ``BEGIN IMMEDIATE``; update the instance, checking
  the version read; insert the transition with its time; ``COMMIT``) --
  without hooks, and with one ``enter`` hook per state (targets: >= 0.9x raw
  at FULL and >= 1.0x at NORMAL, >= 0.8x raw with hooks). The headline is the
  steady state of a long-running process: warm, its write-ahead log filled,
  checkpointed and being reused; the figure on fresh files (a WAL still
  growing, each flush also recording the file's size) is printed beside it;
* in-memory ``send`` (``MemoryStore``, recording history) against
  python-statemachine and transitions driving the same machine
  (target: >= 2.5x transitions);
* ``resume()`` of many instances with pending hook work, on SQLite.

Every figure is the median over interleaved rounds (the variants take turns,
and the turn order flips every round), never the best round; ratios are the
median of the per-round ratios, with their range.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime

import wfdsl
from wfdsl import Manager
from wfdsl.errors import HookFailed
from wfdsl.stores.memory import MemoryStore
from wfdsl.stores.sqlite import SQLiteStore

PLAIN = """workflow light {
    initial state green
    state yellow
    state red
    event next
    green -> yellow on next
    yellow -> red on next
    red -> green on next
}"""
HOOKED = """workflow light {
    initial state green { enter on_green }
    state yellow { enter on_yellow }
    state red { enter on_red }
    event next
    green -> yellow on next
    yellow -> red on next
    red -> green on next
}"""
NEXT = {"green": "yellow", "yellow": "red", "red": "green"}


def noop(ctx: object) -> None:
    pass


HOOKS = {"on_green": noop, "on_yellow": noop, "on_red": noop}


def utcnow() -> datetime:
    return datetime.now(UTC)


# -- durable --------------------------------------------------------------------------


def raw_setup(path: str, sync: str) -> Callable[[], None]:
    """The ceiling: the same transaction, hand-written, nothing else but what a
    correct one needs. The state is read outside the transaction, so the update
    checks the version it read (another writer may have moved the instance);
    the transition records when it happened."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {sync}")
    conn.execute(
        "CREATE TABLE instances (workflow TEXT, id TEXT, state TEXT, version INTEGER, "
        "PRIMARY KEY (workflow, id)) WITHOUT ROWID"
    )
    conn.execute(
        "CREATE TABLE transitions (workflow TEXT, id TEXT, seq INTEGER, source TEXT, target TEXT, "
        "event TEXT, data TEXT, at TEXT, PRIMARY KEY (workflow, id, seq)) WITHOUT ROWID"
    )
    conn.execute("INSERT INTO instances VALUES ('light', 'a', 'green', 1)")

    def step() -> None:
        state, version = conn.execute(
            "SELECT state, version FROM instances WHERE workflow = ? AND id = ?", ("light", "a")
        ).fetchone()
        target = NEXT[state]
        conn.execute("BEGIN IMMEDIATE")
        moved = conn.execute(
            "UPDATE instances SET state = ?, version = ? "
            "WHERE workflow = ? AND id = ? AND version = ?",
            (target, version + 1, "light", "a", version),
        ).rowcount
        if moved != 1:
            raise RuntimeError("lost a race")
        conn.execute(
            "INSERT INTO transitions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            ("light", "a", version + 1, state, target, "next", "{}", utcnow().isoformat()),
        )
        conn.execute("COMMIT")

    return step


def wfdsl_setup(path: str, sync: str, spec_text: str) -> Callable[[], None]:
    store = SQLiteStore(path, synchronous=sync)
    mgr = Manager(wfdsl.loads(spec_text), store, hooks=HOOKS if "enter" in spec_text else None)
    mgr.start("a")

    def step() -> None:
        mgr.send("a", "next")

    return step


#: The durable variants; the first is the raw ceiling the others are compared with.
DURABLE: dict[str, Callable[[str, str], Callable[[], None]]] = {
    "raw sqlite3 transaction": raw_setup,
    "wfdsl send": lambda path, sync: wfdsl_setup(path, sync, PLAIN),
    "wfdsl send, 1 enter hook": lambda path, sync: wfdsl_setup(path, sync, HOOKED),
}


def lockstep(steps: dict[str, Callable[[], None]], sends: int, flip: bool) -> dict[str, float]:
    """Sends per second of each variant over ``sends`` sends each, taken in
    turns (one send of each, every call timed), so that disk hiccups hit every
    variant alike; ``flip`` reverses the turn order (alternate it by round)."""
    order = list(steps.items())
    if flip:
        order.reverse()
    spent = dict.fromkeys(steps, 0.0)
    clock = time.perf_counter
    for _ in range(sends):
        for name, step in order:
            t0 = clock()
            step()
            spent[name] += clock() - t0
    return {name: sends / spent[name] for name in steps}


def wal_size(path: str) -> int:
    """Bytes in the write-ahead log beside the SQLite file ``path`` (0 without one)."""
    try:
        return os.path.getsize(path + "-wal")
    except OSError:
        return 0


def warm_up(steps: dict[str, Callable[[], None]], paths: dict[str, str], limit: int) -> int:
    """Send until every variant's write-ahead log has stopped growing for a
    whole block of sends: it has filled, been checkpointed into the database,
    and is being written again from its start, as in a long-running process
    (a WAL that is still growing makes every flush record the file's new size
    as well). Returns how many sends each variant made."""
    block, done, steady = 100, 0, 0
    sizes = {name: -1 for name in steps}
    while done < limit:
        lockstep(steps, block, flip=False)
        done += block
        now = {name: wal_size(path) for name, path in paths.items()}
        steady = steady + 1 if now == sizes and all(now.values()) else 0
        sizes = now
        if steady >= 2:
            return done
    raise RuntimeError(f"the WAL still grew after {limit} sends: raise --warm-limit")


class Rounds:
    """Per-round rates of each variant, and per-round ratios to the first."""

    def __init__(self) -> None:
        self.rates: dict[str, list[float]] = {}

    def add(self, rates: dict[str, float]) -> None:
        for name, rate in rates.items():
            self.rates.setdefault(name, []).append(rate)

    def median(self, name: str) -> float:
        return statistics.median(self.rates[name])

    def ratios(self, name: str) -> list[float]:
        raw = next(iter(self.rates.values()))
        return [a / b for a, b in zip(self.rates[name], raw, strict=True)]


def durable(
    sync: str, sends: int, steady_sends: int, rounds: int, warm_limit: int
) -> tuple[Rounds, Rounds, int]:
    """``(steady, fresh, warm-up sends)`` for one ``synchronous`` setting.

    Steady state: one file per variant, warmed up (:func:`warm_up`), then
    ``rounds`` rounds of ``steady_sends`` on the same files, the turn order
    flipping every round (enough sends that every round has its share of
    checkpoints, which without a flush per commit are most of the disk's cost). Fresh files: every round on new files, ``sends`` each (the
    WAL never fills), as a short-lived process would see.
    """
    steady, fresh = Rounds(), Rounds()
    with tempfile.TemporaryDirectory(prefix="wfdsl-bench-", dir=os.getcwd()) as tmp:
        paths = {name: os.path.join(tmp, f"steady-{i}.db") for i, name in enumerate(DURABLE)}
        steps = {name: make(paths[name], sync) for name, make in DURABLE.items()}
        warmed = warm_up(steps, paths, warm_limit)
        for r in range(rounds):
            steady.add(lockstep(steps, steady_sends, flip=r % 2 == 1))
            made = {
                name: make(os.path.join(tmp, f"fresh-{r}-{i}.db"), sync)
                for i, (name, make) in enumerate(DURABLE.items())
            }
            fresh.add(lockstep(made, sends, flip=r % 2 == 1))
    return steady, fresh, warmed


# -- in memory ----------------------------------------------------------------------


def per_second(variants: dict[str, Callable[[], object]], n: int, rounds: int) -> Rounds:
    """Rates of each variant in each of ``rounds`` rounds of ``n`` calls. Rounds
    go round-robin over the variants (the order flipping every round), so that
    a noisy spell on the machine hits them all rather than one; the table shows
    the medians, which count the rounds where the garbage collector ran."""
    out = Rounds()
    for r in range(rounds):
        order = list(variants.items())
        if r % 2:
            order.reverse()
        rates: dict[str, float] = {}
        for name, fn in order:
            start = time.perf_counter()
            for _ in range(n):
                fn()
            rates[name] = n / (time.perf_counter() - start)
        out.add({name: rates[name] for name in variants})
    return out


def in_memory(n: int, rounds: int) -> Rounds:
    from statemachine import State, StateMachine
    from transitions import Machine

    class Light(StateMachine):  # type: ignore[misc]
        green = State(initial=True)
        yellow = State()
        red = State()
        next = green.to(yellow) | yellow.to(red) | red.to(green)

    psm = Light()

    class Model:
        pass

    model = Model()
    Machine(
        model=model,
        states=["green", "yellow", "red"],
        transitions=[{"trigger": "next", "source": s, "dest": d} for s, d in NEXT.items()],
        initial="green",
    )
    mgr = Manager(wfdsl.loads(PLAIN), MemoryStore())
    mgr.start("a")

    def wf_send() -> None:
        mgr.send("a", "next")

    return per_second(
        {
            "transitions": model.next,  # type: ignore[attr-defined]
            "wfdsl send (MemoryStore, history kept)": wf_send,
            "python-statemachine": lambda: psm.send("next"),
        },
        n,
        rounds,
    )


# -- resume -------------------------------------------------------------------------


def resume(instances: int) -> tuple[float, int]:
    fail = [True]

    def flaky(ctx: object) -> None:
        if fail[0]:
            raise RuntimeError("down")

    hooks = {"on_green": noop, "on_yellow": flaky, "on_red": noop}
    with tempfile.TemporaryDirectory(prefix="wfdsl-bench-", dir=os.getcwd()) as tmp:
        store = SQLiteStore(os.path.join(tmp, "resume.db"), synchronous="NORMAL")
        mgr = Manager(wfdsl.loads(HOOKED), store, hooks=hooks)
        for i in range(instances):
            mgr.start(f"i{i}")
            with contextlib.suppress(HookFailed):
                mgr.send(f"i{i}", "next")
        store.close()
        fail[0] = False
        store = SQLiteStore(os.path.join(tmp, "resume.db"))
        mgr = Manager(wfdsl.loads(HOOKED), store, hooks=hooks)
        start = time.perf_counter()
        report = mgr.resume()
        elapsed = time.perf_counter() - start
        store.close()
    return elapsed, len(report.completed)


def _range(values: list[float]) -> str:
    return f"{min(values):.2f}-{max(values):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=400, help="durable sends per round")
    parser.add_argument(
        "--normal-sends",
        type=int,
        default=4000,
        help="steady-state sends per round at synchronous NORMAL or OFF",
    )
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument(
        "--sync", default="FULL,NORMAL", help="synchronous settings to measure, comma-separated"
    )
    parser.add_argument(
        "--warm-limit", type=int, default=20000, help="most sends to wait for the WAL to wrap"
    )
    parser.add_argument("--memory-sends", type=int, default=20000)
    parser.add_argument("--instances", type=int, default=1000, help="instances for resume()")
    parser.add_argument("--skip", default="", help="comma-separated: durable, memory, resume")
    args = parser.parse_args()
    skip = set(args.skip.split(","))

    print(
        f"Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}, "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start\n"
    )
    for sync in () if "durable" in skip else args.sync.upper().split(","):
        many = args.normal_sends if sync in ("NORMAL", "OFF") else args.sends
        steady, fresh, warmed = durable(sync, args.sends, many, args.rounds, args.warm_limit)
        print(
            f"Durable send on SQLite (WAL, synchronous={sync}): medians of {args.rounds} "
            f"rounds x {many} (steady) and x {args.sends} (fresh), lockstep"
        )
        print(
            f"  steady: one warm process, the WAL wrapped and reused ({warmed} sends first); "
            "fresh: new files every round"
        )
        print(
            f"{'variant':<26} {'steady/s':>9} {'µs/send':>8} {'vs raw':>7} {'(range)':>11}"
            f" | {'fresh/s':>8} {'µs/send':>8} {'vs raw':>7}"
        )
        for name in steady.rates:
            s_rate, f_rate = steady.median(name), fresh.median(name)
            ratios = steady.ratios(name)
            print(
                f"{name:<26} {s_rate:>9,.0f} {1e6 / s_rate:>8.1f} "
                f"{statistics.median(ratios):>6.2f}x {_range(ratios):>11}"
                f" | {f_rate:>8,.0f} {1e6 / f_rate:>8.1f} "
                f"{statistics.median(fresh.ratios(name)):>6.2f}x"
            )
        print()

    if "memory" not in skip:
        m = in_memory(args.memory_sends, args.rounds)
        print(
            f"In-memory send, medians of {args.rounds} rounds x {args.memory_sends} (interleaved)"
        )
        print(
            f"{'variant':<40} {'sends/s':>10} {'µs/send':>9} {'vs transitions':>15} {'(range)':>11}"
        )
        for name in m.rates:
            rate = m.median(name)
            ratios = m.ratios(name)
            print(
                f"{name:<40} {rate:>10,.0f} {1e6 / rate:>9.2f} "
                f"{statistics.median(ratios):>14.2f}x {_range(ratios):>11}"
            )
        print()

    if "resume" not in skip:
        elapsed, done = resume(args.instances)
        print(f"resume() of {args.instances} instances with pending hook work on SQLite")
        print(f"{'ran':<40} {done:>10} hooks in {elapsed:.2f} s ({done / elapsed:,.0f} hooks/s)")


if __name__ == "__main__":
    main()
