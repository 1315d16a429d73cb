"""The argument every guard, hook and compensator receives."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Context:
    """Everything a guard, hook or compensator knows about the step it serves.

    Guards are called ``guard(ctx) -> bool`` before the transition is written;
    hooks and compensators ``hook(ctx) -> None`` after it is. A hook may run more
    than once for the same transition (at-least-once delivery after a crash or a
    failure): pass :attr:`effect_key` to the systems you call so that they apply
    the effect once.
    """

    #: The workflow's name (the instance namespace).
    workflow: str
    instance_id: str
    #: The event sent; ``None`` for ``start`` and compensation steps.
    event: str | None
    #: The state left; ``None`` for ``start``.
    source: str | None
    #: The state entered.
    target: str
    #: The data given to ``send``/``start`` (``{}`` when none; for a compensator,
    #: the data of the transition being undone). Read-only all the way down
    #: (:mod:`wfdsl.stores.frozen`): changing it raises ``TypeError``;
    #: ``copy.deepcopy(ctx.data)`` gives a mutable copy.
    data: Mapping[str, Any]
    #: The transition's sequence number (for a guard: the one it would get).
    seq: int
    #: 1 on the first run of this hook for this transition, 2 on the first retry...
    attempt: int
    #: Stable across retries of this hook for this transition:
    #: ``"{workflow}/{instance_id}/{seq}/{hook}"``.
    effect_key: str
    #: The guard, hook or compensator being called.
    hook: str = ""
