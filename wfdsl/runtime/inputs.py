"""Checking what callers pass before anything is read or written: ids, keys,
events and data."""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from wfdsl.errors import InvalidInput
from wfdsl.stores.records import dump_data

__all__ = ["NO_DATA", "check_id", "check_key", "encode", "same_data"]

#: The data of a transition sent without data: shared, read-only.
NO_DATA: Mapping[str, Any] = MappingProxyType({})


def check_id(workflow: str, instance_id: object) -> None:
    """:raises InvalidInput: not a non-empty string."""
    if not isinstance(instance_id, str) or not instance_id:
        raise InvalidInput(workflow, "an instance id must be a non-empty string")


def check_key(workflow: str, key: object) -> None:
    """:raises InvalidInput: neither ``None`` nor a non-empty string."""
    if key is not None and (type(key) is not str or not key):
        raise InvalidInput(workflow, "an idempotency key must be a non-empty string")


def encode(workflow: str, data: object) -> tuple[Mapping[str, Any], str]:
    """A private JSON copy of ``data`` and its canonical text.

    :raises InvalidInput: not a mapping of JSON values with string keys.
    """
    if not data:
        if data is not None and not isinstance(data, Mapping):
            raise InvalidInput(workflow, "data must be a mapping of JSON values")
        return NO_DATA, "{}"
    if not isinstance(data, Mapping):
        raise InvalidInput(workflow, "data must be a mapping of JSON values")
    if any(not isinstance(k, str) for k in data):
        raise InvalidInput(workflow, "data keys must be strings")
    try:
        text = dump_data(data)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(workflow, f"data is not JSON: {exc}") from None
    copy: Mapping[str, Any] = json.loads(text)
    return copy, text


def same_data(data: Mapping[str, Any], text: str) -> bool:
    """Whether stored ``data`` is what canonical ``text`` says."""
    return dump_data(data) == text
