"""Binding a spec's guard and hook names to callables, all checked up front."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from wfdsl.errors import BindError
from wfdsl.ir import Spec

Call = Callable[..., Any]


def bind(spec: Spec, hooks: object | Mapping[str, Call] | None) -> dict[str, Call]:
    """Every guard, hook and compensator name of ``spec`` mapped to its callable.

    ``hooks`` is an object with one method per name, or a mapping of name to
    callable (``None`` is an empty mapping).

    :raises BindError: naming every name that is missing or not callable.
    """
    names = spec.guard_names + spec.hook_names()
    bound: dict[str, Call] = {}
    missing: list[str] = []
    for name in names:
        if hooks is None:
            fn: Any = None
        elif isinstance(hooks, Mapping):
            fn = hooks.get(name)
        else:
            fn = getattr(hooks, name, None)
        if callable(fn):
            bound[name] = fn
        else:
            missing.append(name)
    if missing:
        raise BindError(spec.name, missing)
    return bound
