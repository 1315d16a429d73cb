"""Checking what callers pass before anything is read or written: ids, keys,
events and data, against the limits every store shares
(:mod:`wfdsl.stores.limits`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wfdsl.errors import InvalidInput
from wfdsl.stores.frozen import EMPTY
from wfdsl.stores.limits import (
    MAX_ID_BYTES,
    MAX_KEY_BYTES,
    MAX_WORKFLOW_BYTES,
    DataRefused,
    freeze_data,
    text_problem,
)
from wfdsl.stores.records import dump_data

__all__ = ["NO_DATA", "check_id", "check_key", "encode", "same_data"]

#: The data of a transition sent without data: shared, read-only.
NO_DATA: Mapping[str, Any] = EMPTY


def check_id(workflow: str, instance_id: object) -> None:
    """:raises InvalidInput: not a non-empty string within the id limits, or
    the workflow's name is too long to be stored."""
    if not isinstance(instance_id, str) or not instance_id:
        raise InvalidInput(workflow, "an instance id must be a non-empty string")
    problem = text_problem(instance_id, MAX_ID_BYTES)
    if problem is not None:
        raise InvalidInput(workflow, f"instance id {instance_id!r:.80} {problem}")
    if len(workflow) > MAX_WORKFLOW_BYTES:
        problem = text_problem(workflow, MAX_WORKFLOW_BYTES)
        if problem is not None:
            raise InvalidInput(workflow[:40] + "...", f"the workflow name {problem}")


def check_key(workflow: str, key: object) -> None:
    """:raises InvalidInput: neither ``None`` nor a non-empty string within the
    key limits."""
    if key is None:
        return
    if type(key) is not str or not key:
        raise InvalidInput(workflow, "an idempotency key must be a non-empty string")
    problem = text_problem(key, MAX_KEY_BYTES)
    if problem is not None:
        raise InvalidInput(workflow, f"idempotency key {key!r:.80} {problem}")


def encode(workflow: str, data: object) -> tuple[Mapping[str, Any], str]:
    """A private, read-only copy of ``data`` and its canonical text.

    :raises InvalidInput: not a mapping of JSON values with string keys, or
        beyond the limits of :mod:`wfdsl.stores.limits` (too deep, too large,
        an integer of too many digits, a key too long, text that is not UTF-8).
    """
    try:
        return freeze_data(data)
    except DataRefused as exc:
        raise InvalidInput(workflow, str(exc)) from None


def same_data(data: Mapping[str, Any], text: str) -> bool:
    """Whether stored ``data`` is what canonical ``text`` says. Data stored
    before the limits existed may nest too deep to encode again: it differs
    from any data accepted now."""
    try:
        return dump_data(data) == text
    except (RecursionError, ValueError, TypeError):
        return False
