"""The durable runtime: :class:`Manager` (and :class:`AsyncManager`) over a
store, with :class:`Context` for hooks and :class:`ResumeReport`.

The records a store keeps (``Transition``, ``TransitionKind``, ``WorkItem``,
``WorkStatus``, ``InstanceRecord``) live with the store protocol in
:mod:`wfdsl.stores.records`, and are importable from here too. Names are
imported on first use, so that importing this package loads neither the
manager nor asyncio.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wfdsl.runtime.aio import AsyncManager
    from wfdsl.runtime.batch import Send
    from wfdsl.runtime.context import Context
    from wfdsl.runtime.manager import Manager
    from wfdsl.runtime.report import ResumeReport
    from wfdsl.stores.records import (
        InstanceRecord,
        Transition,
        TransitionKind,
        WorkItem,
        WorkStatus,
    )

_LAZY = {
    "AsyncManager": "wfdsl.runtime.aio",
    "Send": "wfdsl.runtime.batch",
    "Context": "wfdsl.runtime.context",
    "Manager": "wfdsl.runtime.manager",
    "ResumeReport": "wfdsl.runtime.report",
    "InstanceRecord": "wfdsl.stores.records",
    "Transition": "wfdsl.stores.records",
    "TransitionKind": "wfdsl.stores.records",
    "WorkItem": "wfdsl.stores.records",
    "WorkStatus": "wfdsl.stores.records",
}

__all__ = [
    "AsyncManager",
    "Context",
    "InstanceRecord",
    "Manager",
    "ResumeReport",
    "Send",
    "Transition",
    "TransitionKind",
    "WorkItem",
    "WorkStatus",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'wfdsl.runtime' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
