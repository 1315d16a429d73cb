"""Finding an instance when its workflow is not known (``wfdsl history ID``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wfdsl.errors import AmbiguousInstance, UnknownInstance
from wfdsl.stores.records import InstanceRecord

if TYPE_CHECKING:
    from wfdsl.stores.base import Store

__all__ = ["find_instance"]


def find_instance(store: Store, instance_id: str, workflow: str | None = None) -> InstanceRecord:
    """The instance ``instance_id`` of ``workflow``, or of whichever workflow has one.

    :raises UnknownInstance: there is none.
    :raises AmbiguousInstance: no workflow was given and several have one.
    :raises StoreError: the backend failed.
    """
    found = store.instances(workflow, instance_id=instance_id)
    if not found:
        raise UnknownInstance(workflow, instance_id)
    if len(found) > 1:
        raise AmbiguousInstance(instance_id, [r.workflow for r in found])
    return found[0]
