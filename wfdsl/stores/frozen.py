"""Transition data as callers see it: read-only JSON containers.

Stored history must not change because a caller changed what it was given: a
hook that edits ``ctx.data`` would otherwise rewrite the history kept by a
:class:`~wfdsl.stores.memory.MemoryStore` (which keeps records by reference),
and a later idempotent replay of the same key would no longer match it. So
every store hands out data as :class:`FrozenDict` and :class:`FrozenList`:
subclasses of ``dict`` and ``list`` (they compare equal to plain ones, pass
``isinstance(x, dict)`` and serialise with :mod:`json` unchanged) whose
mutating methods raise ``TypeError``.

A mutable copy is one call away: ``copy.deepcopy(ctx.data)`` returns plain
``dict`` and ``list`` objects, and ``dict(ctx.data)`` a shallow plain copy.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, NoReturn

__all__ = ["EMPTY", "FrozenDict", "FrozenList", "loads", "thaw"]

_READ_ONLY = "transition data is read-only (copy.deepcopy(ctx.data) gives a mutable copy)"


def _refuse(*args: object, **kwargs: object) -> NoReturn:
    raise TypeError(_READ_ONLY)


class FrozenDict(dict[str, Any]):
    """A JSON object that cannot be changed in place; see the module docstring."""

    __slots__ = ()

    __setitem__ = __delitem__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse

    def __ior__(self, other: object) -> NoReturn:  # type: ignore[misc]
        _refuse()

    def __reduce__(self) -> tuple[type[FrozenDict], tuple[dict[str, Any]]]:
        # The default reduction of a dict subclass refills it with __setitem__.
        return (FrozenDict, (dict(self),))

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        thawed: dict[str, Any] = thaw(self)
        return thawed

    def __repr__(self) -> str:
        return f"FrozenDict({dict.__repr__(self)})"


class FrozenList(list[Any]):
    """A JSON array that cannot be changed in place; see the module docstring."""

    __slots__ = ()

    __setitem__ = __delitem__ = _refuse
    append = clear = extend = insert = pop = remove = reverse = sort = _refuse

    def __iadd__(self, other: object) -> NoReturn:  # type: ignore[misc]
        _refuse()

    def __imul__(self, other: object) -> NoReturn:
        _refuse()

    def __reduce__(self) -> tuple[type[FrozenList], tuple[list[Any]]]:
        return (FrozenList, (list(self),))

    def __deepcopy__(self, memo: dict[int, Any]) -> list[Any]:
        thawed: list[Any] = thaw(self)
        return thawed

    def __repr__(self) -> str:
        return f"FrozenList({list.__repr__(self)})"


#: The data of a transition that carries none: shared, read-only.
EMPTY = FrozenDict()


def thaw(value: Any) -> Any:
    """A plain, mutable deep copy of a JSON value."""
    if isinstance(value, dict):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, list):
        return [thaw(v) for v in value]
    return value


def _frozen_list(items: list[Any]) -> FrozenList:
    return FrozenList(_frozen_list(v) if type(v) is list else v for v in items)


def _frozen_object(pairs: Iterable[tuple[str, Any]]) -> FrozenDict:
    # The decoder builds inner objects first (through this hook), so only the
    # arrays found here are left to freeze.
    return FrozenDict((k, _frozen_list(v) if type(v) is list else v) for k, v in pairs)


def loads(text: str) -> FrozenDict:
    """Decode stored data (a JSON object) into read-only containers.

    :raises ValueError: ``text`` is not a JSON object.
    :raises RecursionError: it nests deeper than this interpreter can decode
        (only data written before wfdsl bounded nesting can).
    """
    if text == "{}":
        return EMPTY
    value = json.loads(text, object_pairs_hook=_frozen_object)
    if type(value) is not FrozenDict:
        raise ValueError("stored data is not a JSON object")
    return value
