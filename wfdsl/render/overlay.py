"""Live data for a diagram, read from a :class:`~wfdsl.stores.base.Store`
(``wfdsl render --db``): how many instances each state holds, or the path
one instance took; and the timers armed in each state."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from wfdsl.errors import UnknownInstance
from wfdsl.ir import Spec
from wfdsl.render.model import Armed, Overlay, Step
from wfdsl.stores.records import TIMER_KEY_PREFIX, Timer, Transition, TransitionKind

if TYPE_CHECKING:
    from wfdsl.stores.base import Store


def overlay_from_store(store: Store, spec: Spec, instance: str | None = None) -> Overlay:
    """The overlay of ``spec``'s workflow as ``store`` holds it now.

    Without ``instance``: the number of instances per state (finished ones
    included; the renderers label those apart), and the timers armed in each
    state. With ``instance``: its recorded transitions in order, as
    :class:`Step` s, and its armed timers; steps an event caused carry the
    event and steps a timer caused its timed transition, so those edges are
    drawn taken, while starts and compensations highlight states only.

    :raises UnknownInstance: ``store`` has no instance ``instance`` of the workflow.
    :raises StoreError: the store cannot be read.
    """
    if instance is None:
        counts = Counter(rec.state for rec in store.instances(spec.name))
        return Overlay(counts=dict(counts), armed=_armed(store.timers(spec.name)))
    if store.load(spec.name, instance) is None:
        raise UnknownInstance(spec.name, instance)
    steps = [_step(t) for t in store.history(spec.name, instance)]
    armed = _armed(store.timers(spec.name, instance_id=instance))
    return Overlay(path=steps, instance=instance, armed=armed)


def _step(t: Transition) -> Step:
    if t.kind is TransitionKind.EVENT:
        return Step(t.source, t.target, t.event)
    if t.kind is TransitionKind.TIMER and t.key and t.key.startswith(TIMER_KEY_PREFIX):
        # The key is ``wfdsl-timer:SEQ:INDEX``: INDEX names the timed transition.
        index = t.key.rpartition(":")[2]
        if index.isdigit():
            return Step(t.source, t.target, timer=int(index))
    return Step(t.source, t.target)


def _armed(timers: Sequence[Timer]) -> dict[str, Armed] | None:
    """Per state, how many timers are armed in it and the soonest due."""
    if not timers:
        return None
    counts = Counter(t.state for t in timers)
    soonest: dict[str, Timer] = {}
    for t in timers:  # in due order: the first of each state is its soonest
        soonest.setdefault(t.state, t)
    return {state: Armed(n, soonest[state].due_at) for state, n in counts.items()}
