"""Asking a transition's guard, event-triggered or timed: each guard function it
names is called with the transition's :class:`~wfdsl.runtime.context.Context`
and must answer with a truth value."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wfdsl.ir import Guard, evaluate_guard
from wfdsl.runtime.binding import Call, returned_coroutine
from wfdsl.runtime.context import Context

__all__ = ["guard_holds"]


def guard_holds(
    calls: Mapping[str, Call],
    guard: Guard,
    *,
    workflow: str,
    instance_id: str,
    event: str | None,
    source: str,
    target: str,
    data: Mapping[str, Any],
    seq: int,
) -> bool:
    """Whether ``guard`` holds for the transition ``source -> target`` that would
    get ``seq``. The caller marks the call chain as the instance's own
    (:func:`wfdsl.runtime.ordering.marked`), so that a guard calling its own
    instance is refused, not waited for.

    :raises WorkflowError: a guard returned a coroutine (an ``async def`` given
        to the sync manager).
    """

    def call(name: str) -> bool:
        ctx = Context(
            workflow, instance_id, event, source, target, data, seq, 1,
            f"{workflow}/{instance_id}/{seq}/{name}", name,
        )  # fmt: skip
        result = calls[name](ctx)
        if type(result) is bool:
            return result
        if hasattr(result, "__await__"):
            raise returned_coroutine(workflow, name, result)
        return bool(result)

    return evaluate_guard(guard, call)
