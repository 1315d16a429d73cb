"""Live data for a diagram, read from a :class:`~wfdsl.stores.base.Store`
(``wfdsl render --db``): how many instances each state holds, or the path
one instance took."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from wfdsl.errors import UnknownInstance
from wfdsl.ir import Spec
from wfdsl.render.model import Overlay, Step
from wfdsl.runtime.records import TransitionKind

if TYPE_CHECKING:
    from wfdsl.stores.base import Store


def overlay_from_store(store: Store, spec: Spec, instance: str | None = None) -> Overlay:
    """The overlay of ``spec``'s workflow as ``store`` holds it now.

    Without ``instance``: the number of instances per state (finished ones
    included; the renderers label those apart). With ``instance``: its
    recorded transitions in order, as :class:`Step` s; only steps an event
    caused carry the event, so starts and compensations highlight states but
    no edge.

    :raises UnknownInstance: ``store`` has no instance ``instance`` of the workflow.
    :raises StoreError: the store cannot be read.
    """
    if instance is None:
        counts = Counter(rec.state for rec in store.instances(spec.name))
        return Overlay(counts=dict(counts))
    if store.load(spec.name, instance) is None:
        raise UnknownInstance(spec.name, instance)
    steps = [
        Step(t.source, t.target, t.event if t.kind is TransitionKind.EVENT else None)
        for t in store.history(spec.name, instance)
    ]
    return Overlay(path=steps, instance=instance)
