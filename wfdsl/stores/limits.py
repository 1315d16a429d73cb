"""What the stores accept: the limits on instance ids, idempotency keys,
workflow names and transition data, the same on every store.

Each limit keeps a value that one store takes from failing in another, or
from failing later, when it is read back:

* **Ids and keys** are indexed. PostgreSQL refuses an index entry over 2,704
  bytes (a third of its 8 KiB page), and its largest entry here is
  ``(workflow, instance_id, key)``: 255 + 1,024 + 1,024 bytes of UTF-8 fit,
  with room for the row's headers. Neither may hold a NUL (PostgreSQL text
  cannot) or a lone surrogate (it is not UTF-8, so no store can write it).
* **Data** is a JSON object. Nesting is bounded so that every reader (the
  stores' decoders, ``copy.deepcopy``, a hook walking it) stays far from
  Python's recursion limit, whatever the depth of the stack it is read from;
  integers are bounded well below the digits Python will convert
  (``sys.set_int_max_str_digits`` may lower that to 640 in any process that
  reads the data); the whole, as stored (canonical JSON, ASCII), is bounded so
  that one transition cannot fill memory or the disk.

:func:`freeze_data` checks data and returns the read-only copy that is
recorded (:mod:`wfdsl.stores.frozen`) with its canonical text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from wfdsl.errors import a_type
from wfdsl.stores.frozen import EMPTY, FrozenDict, FrozenList
from wfdsl.stores.records import dump_data

__all__ = [
    "MAX_DATA_BYTES",
    "MAX_DATA_KEY_CHARS",
    "MAX_DEPTH",
    "MAX_ID_BYTES",
    "MAX_INT_DIGITS",
    "MAX_KEY_BYTES",
    "MAX_WORKFLOW_BYTES",
    "DataRefused",
    "freeze_data",
    "storable",
    "text_problem",
]

#: An instance id: 1 to 1,024 bytes of UTF-8.
MAX_ID_BYTES = 1024
#: An idempotency key: 1 to 1,024 bytes of UTF-8.
MAX_KEY_BYTES = 1024
#: A workflow name (the instance namespace).
MAX_WORKFLOW_BYTES = 255
#: Objects and arrays nested in data, the data object itself counting as 1.
MAX_DEPTH = 64
#: The canonical JSON text of one transition's data (1 MiB).
MAX_DATA_BYTES = 1024 * 1024
#: Digits of an integer in data (enough for any 128-bit number, and twice that).
MAX_INT_DIGITS = 64
#: Characters of an object key in data.
MAX_DATA_KEY_CHARS = 1024

_INT_BOUND = 10**MAX_INT_DIGITS


def storable(*texts: str | None) -> bool:
    """Whether every store can hold each of ``texts`` (UTF-8 without NUL):
    an id, key or name that is not can never have been stored, so a store
    looking one up answers "none" rather than failing in its driver."""
    for text in texts:
        if text is None:
            continue
        if "\x00" in text:
            return False
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                return False
    return True


def text_problem(value: str, limit: int) -> str | None:
    """Why ``value`` cannot be an id, key or name of at most ``limit`` bytes, or
    ``None`` if it can. It must be non-empty UTF-8 text without NUL."""
    if not value:
        return "is empty"
    if "\x00" in value:
        return "contains a NUL character"
    if value.isascii():
        size = len(value)
    else:
        try:
            size = len(value.encode("utf-8"))
        except UnicodeEncodeError:
            return "contains a lone surrogate (it is not UTF-8 text)"
    if size > limit:
        return f"is {size:,} bytes long (at most {limit:,} bytes of UTF-8)"
    return None


class DataRefused(ValueError):
    """Data that is not JSON or exceeds a limit. ``path`` leads to the first
    offending value (``("['items']", "[3]")``, empty for the data itself)."""

    def __init__(self, problem: str, path: tuple[str, ...] = ()) -> None:
        self.problem = problem
        self.path = path
        shown = path if len(path) <= 6 else (*path[:3], "...", *path[-2:])
        super().__init__(f"data{''.join(shown)} {problem}")


class _Walk:
    """One pass over data: checks every value and builds the frozen copy."""

    __slots__ = ("size",)

    def __init__(self) -> None:
        #: A lower bound of the JSON text's size so far, to stop early.
        self.size = 0

    def grow(self, n: int) -> None:
        self.size += n
        if self.size > MAX_DATA_BYTES:
            raise DataRefused(f"is larger than {MAX_DATA_BYTES:,} bytes as JSON")

    def string(self, value: str) -> str:
        if type(value) is not str:
            value = str.__str__(value)  # a str subclass (an enum member): its text, as JSON has it
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise DataRefused(
                    "holds a string with a lone surrogate (it is not UTF-8 text)"
                ) from None
        self.grow(len(value) + 2)
        return value

    def value(self, value: Any, depth: int) -> Any:
        kind = type(value)
        # Exact types first: they are nearly all there is, and cheap to test.
        if kind is str:
            return self.string(value)
        if kind is int:
            return self.integer(value)
        if kind is dict or kind is FrozenDict:
            return self.mapping(value, depth + 1)
        if kind is list or kind is FrozenList or kind is tuple:
            return self.array(value, depth + 1)
        if kind is float:
            return self.real(value)
        if kind is bool or value is None:
            self.grow(4)
            return value
        # Subclasses (enum members, named tuples) count as JSON has them.
        if isinstance(value, str):
            return self.string(value)
        if isinstance(value, int):
            return self.integer(int(value))
        if isinstance(value, float):
            return self.real(float(value))
        if isinstance(value, Mapping):
            return self.mapping(value, depth + 1)
        if isinstance(value, (list, tuple)):
            return self.array(value, depth + 1)
        raise DataRefused(f"holds {a_type(kind)}, which is not a JSON value")

    def integer(self, value: int) -> int:
        if not -_INT_BOUND < value < _INT_BOUND:
            raise DataRefused(f"holds an integer of more than {MAX_INT_DIGITS} digits")
        self.grow(1)
        return value

    def real(self, value: float) -> float:
        if not math.isfinite(value):
            raise DataRefused(f"holds {value!r}, which JSON cannot represent")
        self.grow(1)
        return value

    def mapping(self, value: Mapping[Any, Any], depth: int) -> FrozenDict:
        if depth > MAX_DEPTH:
            raise DataRefused(f"nests more than {MAX_DEPTH} levels deep")
        self.grow(2)
        items: list[tuple[str, Any]] = []
        for key, item in value.items():
            if not isinstance(key, str):
                raise DataRefused(f"has a key that is not a string: {key!r:.40}")
            if len(key) > MAX_DATA_KEY_CHARS:
                raise DataRefused(
                    f"has a key of {len(key):,} characters (at most {MAX_DATA_KEY_CHARS:,})"
                )
            key = self.string(key)
            try:
                items.append((key, self.value(item, depth)))
            except DataRefused as exc:
                raise DataRefused(exc.problem, (f"[{key!r:.60}]", *exc.path)) from None
        items.sort()  # as the canonical text has them, and as every store reads them back
        return FrozenDict(items)

    def array(self, value: list[Any] | tuple[Any, ...], depth: int) -> FrozenList:
        if depth > MAX_DEPTH:
            raise DataRefused(f"nests more than {MAX_DEPTH} levels deep")
        self.grow(2)
        out: list[Any] = []
        for i, item in enumerate(value):
            try:
                out.append(self.value(item, depth))
            except DataRefused as exc:
                raise DataRefused(exc.problem, (f"[{i}]", *exc.path)) from None
        return FrozenList(out)


def freeze_data(data: object) -> tuple[FrozenDict, str]:
    """Check ``data`` and return its read-only copy and canonical JSON text,
    as a store records them (see the module docstring for the limits).
    ``None`` and empty mappings are no data.

    :raises DataRefused: ``data`` is not a mapping of JSON values with string
        keys, or exceeds a limit (nothing is half-checked: the copy is only
        returned whole).
    """
    if data is None:
        return EMPTY, "{}"
    if not isinstance(data, Mapping):
        raise DataRefused(f"must be a mapping of JSON values, not {a_type(data)}")
    if not data:
        return EMPTY, "{}"
    frozen = _Walk().mapping(data, 1)
    text = dump_data(frozen)
    if len(text) > MAX_DATA_BYTES:  # ASCII: characters are bytes
        raise DataRefused(f"is larger than {MAX_DATA_BYTES:,} bytes as JSON ({len(text):,})")
    return frozen, text
