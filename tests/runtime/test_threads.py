"""One manager shared by several threads (a threaded web server): every send is
applied once, and every hook runs once, not once per thread that sees it pending."""

from __future__ import annotations

import threading
import time
from collections import Counter

import wfdsl
from wfdsl import Manager
from wfdsl.runtime.context import Context
from wfdsl.stores.base import Store

COUNTER = "workflow counter { initial state counting { enter tick } event bump counting -> counting on bump }"


def test_threads_sharing_a_manager_apply_each_send_once_and_run_each_hook_once(
    store: Store,
) -> None:
    runs: Counter[str] = Counter()
    lock = threading.Lock()

    def tick(ctx: Context) -> None:
        time.sleep(0.001)  # long enough for the other threads to see the work pending
        with lock:
            runs[ctx.effect_key] += 1

    mgr = Manager(wfdsl.loads(COUNTER), store, hooks={"tick": tick})
    mgr.start("shared")
    errors: list[BaseException] = []

    def sender(n: int) -> None:
        try:
            for i in range(25):
                mgr.send("shared", "bump", key=f"{n}-{i}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    history = mgr.history("shared")
    assert [t.seq for t in history] == list(range(1, 102))
    assert runs == Counter({f"counter/shared/{seq}/tick": 1 for seq in range(1, 102)})
    assert mgr.instance("shared").pending == 0
