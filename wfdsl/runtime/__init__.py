"""The durable runtime: :class:`Manager`, :class:`Context` and the records stores keep."""

from __future__ import annotations

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

__all__ = [
    "Context",
    "InstanceRecord",
    "Manager",
    "ResumeReport",
    "Transition",
    "TransitionKind",
    "WorkItem",
    "WorkStatus",
]
