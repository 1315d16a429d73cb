"""The durable runtime: :class:`Manager` (and :class:`AsyncManager`),
:class:`Context`, and the records stores keep.

Names are imported on first use, so that a store importing
``wfdsl.runtime.records`` does not pull in the manager or asyncio.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wfdsl.runtime.aio import AsyncManager
    from wfdsl.runtime.context import Context
    from wfdsl.runtime.manager import Manager
    from wfdsl.runtime.records import (
        InstanceRecord,
        ResumeReport,
        Transition,
        TransitionKind,
        WorkItem,
        WorkStatus,
    )

_LAZY = {
    "AsyncManager": "wfdsl.runtime.aio",
    "Context": "wfdsl.runtime.context",
    "Manager": "wfdsl.runtime.manager",
    "InstanceRecord": "wfdsl.runtime.records",
    "ResumeReport": "wfdsl.runtime.records",
    "Transition": "wfdsl.runtime.records",
    "TransitionKind": "wfdsl.runtime.records",
    "WorkItem": "wfdsl.runtime.records",
    "WorkStatus": "wfdsl.runtime.records",
}

__all__ = [
    "AsyncManager",
    "Context",
    "InstanceRecord",
    "Manager",
    "ResumeReport",
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
