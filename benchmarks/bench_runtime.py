"""Runtime speed, measured side by side in one run.

    python benchmarks/bench_runtime.py [--sends 400] [--rounds 7] [--instances 1000]

On one three-state machine (green -> yellow -> red -> green on ``next``):

* durable ``send`` on a SQLite file (WAL, ``synchronous=FULL``) against the raw
  ``sqlite3`` transaction doing the same work with the same PRAGMAs (read the
  state; ``BEGIN IMMEDIATE``; insert the transition; update the instance;
  ``COMMIT``) -- without hooks, and with one ``enter`` hook per state
  (targets: >= 0.9x raw, >= 0.8x raw with hooks);
* in-memory ``send`` (``MemoryStore``, recording history) against
  python-statemachine and transitions driving the same machine
  (target: >= 2x transitions);
* ``resume()`` of many instances with pending hook work, on SQLite.

Durable variants run in lockstep (one send of each in turn, every call timed)
on fresh files in the same directory, and the table shows each one's median
round, so that disk noise hits every variant alike.
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

# -- durable --------------------------------------------------------------------------


def raw_setup(path: str) -> Callable[[], None]:
    """The ceiling: the same transaction, hand-written, nothing else."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
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
        conn.execute(
            "INSERT INTO transitions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            ("light", "a", version + 1, state, target, "next", "{}", "2026-01-01T00:00:00+00:00"),
        )
        conn.execute(
            "UPDATE instances SET state = ?, version = ? WHERE workflow = ? AND id = ?",
            (target, version + 1, "light", "a"),
        )
        conn.execute("COMMIT")

    return step


def wfdsl_setup(path: str, spec_text: str) -> Callable[[], None]:
    store = SQLiteStore(path)
    mgr = Manager(wfdsl.loads(spec_text), store, hooks=HOOKS if "enter" in spec_text else None)
    mgr.start("a")

    def step() -> None:
        mgr.send("a", "next")

    return step


def durable(sends: int, rounds: int) -> dict[str, float]:
    """Each round makes fresh files and then runs the variants in lockstep, one
    send each in turn, timing every call: disk hiccups hit all variants alike."""
    results: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="wfdsl-bench-", dir=os.getcwd()) as tmp:
        for r in range(rounds):
            steps: dict[str, Callable[[], None]] = {
                "raw sqlite3 transaction": raw_setup(os.path.join(tmp, f"{r}-raw.db")),
                "wfdsl send": wfdsl_setup(os.path.join(tmp, f"{r}-plain.db"), PLAIN),
                "wfdsl send, 1 enter hook": wfdsl_setup(os.path.join(tmp, f"{r}-hook.db"), HOOKED),
            }
            spent = dict.fromkeys(steps, 0.0)
            clock = time.perf_counter
            for _ in range(sends):
                for name, step in steps.items():
                    t0 = clock()
                    step()
                    spent[name] += clock() - t0
            for name, seconds in spent.items():
                results.setdefault(name, []).append(sends / seconds)
    return {name: statistics.median(v) for name, v in results.items()}


# -- in memory ----------------------------------------------------------------------


def per_second(variants: dict[str, Callable[[], object]], n: int, rounds: int) -> dict[str, float]:
    """Best rate of each variant over ``rounds`` rounds of ``n`` calls. Rounds
    go round-robin over the variants, so a noisy spell on the machine hits
    them all rather than one."""
    best = dict.fromkeys(variants, 0.0)
    for _ in range(rounds):
        for name, fn in variants.items():
            start = time.perf_counter()
            for _ in range(n):
                fn()
            best[name] = max(best[name], n / (time.perf_counter() - start))
    return best


def in_memory(n: int, rounds: int) -> dict[str, float]:
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
            "wfdsl send (MemoryStore, history kept)": wf_send,
            "python-statemachine": lambda: psm.send("next"),
            "transitions": model.next,  # type: ignore[attr-defined]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=400, help="durable sends per round")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--memory-sends", type=int, default=20000)
    parser.add_argument("--instances", type=int, default=1000, help="instances for resume()")
    args = parser.parse_args()

    print(f"Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}\n")
    d = durable(args.sends, args.rounds)
    raw = d["raw sqlite3 transaction"]
    print(
        f"Durable send on SQLite (WAL, synchronous=FULL), median of {args.rounds} rounds x {args.sends}"
    )
    print(f"{'variant':<40} {'sends/s':>10} {'µs/send':>9} {'vs raw':>8}")
    for name, rate in d.items():
        print(f"{name:<40} {rate:>10,.0f} {1e6 / rate:>9.1f} {rate / raw:>7.2f}x")

    m = in_memory(args.memory_sends, args.rounds)
    base = m["transitions"]
    print(f"\nIn-memory send, best of {args.rounds} rounds x {args.memory_sends}")
    print(f"{'variant':<40} {'sends/s':>10} {'µs/send':>9} {'vs transitions':>15}")
    for name, rate in m.items():
        print(f"{name:<40} {rate:>10,.0f} {1e6 / rate:>9.2f} {rate / base:>14.2f}x")

    elapsed, done = resume(args.instances)
    print(f"\nresume() of {args.instances} instances with pending hook work on SQLite")
    print(f"{'ran':<40} {done:>10} hooks in {elapsed:.2f} s ({done / elapsed:,.0f} hooks/s)")


if __name__ == "__main__":
    main()
