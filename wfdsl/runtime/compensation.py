"""Compensation: walk an instance back along the path it took, one recorded
step per state, running the compensators of each state it leaves.

Each step is a ``compensate`` transition, written with its compensator work
(and the compensation's target, so that ``send`` waits) before the
compensators run: a crash or a failing compensator leaves the walk where it
stopped, and calling again (or ``resume``) goes on from there. Nothing is
undone before the hooks the instance owes have run.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from wfdsl.errors import CompensationInProgress, UnknownInstance, VersionConflict
from wfdsl.runtime.engine import Engine
from wfdsl.runtime.work import Runner
from wfdsl.stores.records import Transition, TransitionKind

if TYPE_CHECKING:
    from wfdsl.stores.base import Store

__all__ = ["MAX_RACES", "compensate"]

#: How often a write that lost an optimistic race is retried before giving up.
MAX_RACES = 200


def compensate(
    engine: Engine,
    store: Store,
    runner: Runner,
    clock: Callable[[], datetime],
    instance_id: str,
    to_state: str,
    deadline: float,
) -> list[Transition]:
    """Walk ``instance_id`` back to ``to_state``; return the steps taken. The
    caller holds the instance's turn; ``deadline`` bounds the wait for work
    another worker holds.

    :raises UnknownInstance, UnknownState, CompensationInProgress, WorkDead,
        WorkInProgress, IllegalTransition, HookFailed: see ``Manager.compensate``.
    """
    wf = engine.workflow
    taken: list[Transition] = []
    for _ in range(MAX_RACES):
        inst = store.load(wf, instance_id)
        if inst is None:
            raise UnknownInstance(wf, instance_id)
        engine.check_state(instance_id, inst.state)
        if inst.compensating is not None and inst.compensating != to_state:
            raise CompensationInProgress(
                wf, instance_id, inst.compensating, f"compensate({instance_id!r}, {to_state!r})"
            )
        if inst.pending or inst.dead:
            # Undoing a state before its hooks (or the compensators of the
            # states entered after it) have run would undo an effect not yet made.
            runner.drain(instance_id, deadline)
            continue
        steps = engine.walk_back(instance_id, store.history(wf, instance_id), to_state)
        version = inst.version
        try:
            for step in steps:
                version += 1
                t = Transition(
                    version,
                    TransitionKind.COMPENSATE,
                    step.source,
                    step.target,
                    None,
                    None,
                    # The data of the transition undone: refund_card knows the amount.
                    step.undone.data,
                    clock(),
                )
                work = engine.work(instance_id, t, runner.new_lease())
                still = to_state if step.target != to_state else None
                # Stepping back re-enters ``step.target``: its timers arm anew.
                store.append(
                    wf,
                    instance_id,
                    t,
                    work,
                    compensating=still,
                    timers=engine.arm(instance_id, t),
                )
                taken.append(t)
                if work:
                    runner.run(t, work, fresh=True)
            return taken
        except VersionConflict:
            continue
    raise VersionConflict(wf, instance_id, -1)
