"""The worker's retry backoff (``wfdsl worker``, ``run_worker``), on every
store: failing hook work is tried again 1 s, 2 s, 4 s ... (up to 5 minutes)
after each failure, on the manager's clock, never in a hot loop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import wfdsl
from wfdsl.errors import HookFailed
from wfdsl.runtime.context import Context
from wfdsl.runtime.manager import Manager
from wfdsl.runtime.worker import RETRY_FIRST, RETRY_LONGEST, retry_delay
from wfdsl.stores.base import Store

SPEC = wfdsl.loads(
    """workflow job {
        initial state queued { enter launch }
        final state done
        event finish
        queued -> done on finish
    }"""
)
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_the_schedule_doubles_from_one_second_up_to_five_minutes() -> None:
    assert (RETRY_FIRST, RETRY_LONGEST) == (1.0, 300.0)
    assert [retry_delay(n) for n in range(1, 11)] == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300]
    assert retry_delay(1000) == 300


def test_failing_work_is_retried_on_the_backoff_schedule_not_at_every_pass(
    store: Store,
) -> None:
    now = [T0]
    attempts: list[int] = []

    def launch(ctx: Context) -> None:
        attempts.append(ctx.attempt)
        raise RuntimeError("no capacity")

    mgr = Manager(SPEC, store, hooks={"launch": launch}, clock=lambda: now[0], max_attempts=20)
    with pytest.raises(HookFailed):
        mgr.start("j-1")
    # (stop check at which the clock moves on, by how much)
    moves = {100: 0.5, 200: 0.5, 300: 1.0, 400: 0.999, 500: 0.001}
    checks = [0]

    def stop() -> bool:
        checks[0] += 1
        step = moves.get(checks[0])
        if step is not None:
            now[0] += timedelta(seconds=step)
        return checks[0] > 600

    stats = mgr.run_worker(stop, poll=0.001)
    # The worker's first try at once (attempt 2) fails: next try 1 s later, at
    # +1.0 (attempt 3); then 2 s later, at +3.0 (attempt 4). Hundreds of passes
    # in between tried nothing.
    assert attempts == [1, 2, 3, 4]
    assert stats.failed == 3 and stats.passes > 10
    assert store.pending_work("job", "j-1")[0].attempts == 4


def test_a_success_clears_the_backoff(store: Store) -> None:
    now = [T0]
    fail = {"left": 2}
    attempts: list[int] = []

    def launch(ctx: Context) -> None:
        attempts.append(ctx.attempt)
        if fail["left"]:
            fail["left"] -= 1
            raise RuntimeError("no capacity")

    mgr = Manager(SPEC, store, hooks={"launch": launch}, clock=lambda: now[0])
    with pytest.raises(HookFailed):
        mgr.start("j-1")
    checks = [0]

    def stop() -> bool:
        checks[0] += 1
        if checks[0] == 50:
            now[0] += timedelta(seconds=1)
        return checks[0] > 100

    stats = mgr.run_worker(stop, poll=0.001)
    assert attempts == [1, 2, 3] and stats.ran == 1
    assert store.pending_work("job", "j-1") == []
