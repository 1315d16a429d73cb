"""What only the in-memory store promises: a long history costs the garbage
collector nothing to walk, and reads still give the records that were written."""

from __future__ import annotations

import gc

import wfdsl
from wfdsl import Manager
from wfdsl.stores.memory import MemoryStore
from wfdsl.stores.records import TransitionKind

from .specs import LIGHT


def test_a_long_history_adds_nothing_for_the_garbage_collector_to_walk() -> None:
    mgr = Manager(wfdsl.loads(LIGHT), MemoryStore())
    mgr.start("a")
    for _ in range(100):
        mgr.send("a", "next")
    gc.collect()
    before = len(gc.get_objects())
    for i in range(5000):
        mgr.send("a", "next", key=f"k{i}" if i % 2 else None)
    gc.collect()
    # Each kept transition is a tuple of plain values the collector stops tracking.
    assert len(gc.get_objects()) - before < 50


def test_history_and_replays_give_back_what_was_sent() -> None:
    mgr = Manager(wfdsl.loads(LIGHT), MemoryStore())
    first = mgr.start("a", key="s", data={"who": "me"})
    sent = [
        mgr.send("a", "next", key=f"k{i}", data={"i": i, "l": [1, {"x": None}]} if i else None)
        for i in range(4)
    ]
    hist = mgr.history("a")
    assert hist == [first, *sent]
    assert [t.kind for t in hist] == [TransitionKind.START] + [TransitionKind.EVENT] * 4
    assert mgr.send("a", "next", key="k2", data={"i": 2, "l": [1, {"x": None}]}) == sent[2]
    assert mgr.start("a", key="s", data={"who": "me"}) == first
    assert hist[0].data == {"who": "me"} and hist[1].data == {}
