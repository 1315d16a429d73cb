"""wfdsl: durable workflows as state machines.

``load``/``loads`` turn ``.wf`` source into a validated :class:`Spec`; the
runtime (``Manager`` and the stores) is imported on first use so that tools
that only read specs, such as ``wfdsl lint``, start fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from wfdsl.errors import SpecError, WorkflowError
from wfdsl.frontend.source import load, loads
from wfdsl.ir import Spec

if TYPE_CHECKING:
    from wfdsl.runtime.aio import AsyncManager
    from wfdsl.runtime.batch import Send
    from wfdsl.runtime.context import Context
    from wfdsl.runtime.manager import Manager
    from wfdsl.stores.base import Store
    from wfdsl.stores.memory import MemoryStore
    from wfdsl.stores.postgres import PostgresStore
    from wfdsl.stores.records import Transition
    from wfdsl.stores.sqlite import SQLiteStore

__version__ = "0.1.0"

_LAZY = {
    "AsyncManager": "wfdsl.runtime.aio",
    "Send": "wfdsl.runtime.batch",
    "Manager": "wfdsl.runtime.manager",
    "Context": "wfdsl.runtime.context",
    "Transition": "wfdsl.stores.records",
    "Store": "wfdsl.stores.base",
    "MemoryStore": "wfdsl.stores.memory",
    "SQLiteStore": "wfdsl.stores.sqlite",
    "PostgresStore": "wfdsl.stores.postgres",
}

__all__ = [
    "AsyncManager",
    "Context",
    "Manager",
    "MemoryStore",
    "PostgresStore",
    "SQLiteStore",
    "Send",
    "Spec",
    "SpecError",
    "Store",
    "Transition",
    "WorkflowError",
    "load",
    "loads",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'wfdsl' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
