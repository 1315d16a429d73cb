"""Binding a spec's guard and hook names to callables, all checked up front.

A guard or hook that cannot work fails here, when the manager is made, not
later inside a transition: a name that is missing, a value that is not
callable, a class given where an instance (or function) was meant, a
signature that cannot take the context, a generator function (calling it runs
nothing), and, for the sync :class:`~wfdsl.runtime.manager.Manager`, an
``async def`` (its coroutine would be a guard that is always true and a hook
that never runs).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from wfdsl.errors import BindError, a_type
from wfdsl.ir import Spec

__all__ = ["Call", "bind", "is_async", "returned_coroutine"]

Call = Callable[..., Any]

_MISSING = object()

_USE_ASYNC = "is an async function: the sync Manager cannot await it (use wfdsl.AsyncManager, or a plain def)"


def is_async(fn: object) -> bool:
    """Whether calling ``fn`` returns a coroutine by its declaration: an ``async
    def`` (also bound, or in a ``functools.partial``) or an object whose
    ``__call__`` is one."""
    if inspect.iscoroutinefunction(fn):
        return True
    dunder_call = inspect.getattr_static(type(fn), "__call__", None)  # a callable object's
    return dunder_call is not None and inspect.iscoroutinefunction(dunder_call)


def _unfit(fn: object, *, allow_async: bool) -> str | None:
    """Why ``fn`` cannot serve as a guard or hook, or ``None``."""
    if not callable(fn):
        return f"is not callable (it is {a_type(fn)})"
    if inspect.isclass(fn):
        return f"is the class {fn.__qualname__}: give an instance or a function"
    if inspect.isasyncgenfunction(fn) or inspect.isgeneratorfunction(fn):
        return "is a generator function: calling it would run nothing"
    if not allow_async and is_async(fn):
        return _USE_ASYNC
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return None  # a builtin without a signature: it will tell at the call
    try:
        signature.bind(None)
    except TypeError:
        return f"cannot be called with the context: its signature is {signature}"
    return None


def bind(
    spec: Spec, hooks: object | Mapping[str, Call] | None, *, allow_async: bool = False
) -> dict[str, Call]:
    """Every guard, hook and compensator name of ``spec`` mapped to its callable.

    ``hooks`` is an object with one method per name, or a mapping of name to
    callable (``None`` is an empty mapping). With ``allow_async`` (what
    :class:`~wfdsl.runtime.aio.AsyncManager` passes), ``async def`` is accepted.

    :raises BindError: naming every name that is missing or unfit, or saying why
        ``hooks`` as a whole cannot work.
    """
    names = spec.guard_names + spec.hook_names()
    given: str | None = None
    plain: list[str] = []
    if inspect.isclass(hooks) and not issubclass(hooks, Mapping):
        # Static and class methods are callable on the class itself; a plain
        # method needs an instance.
        plain = [n for n in names if inspect.isfunction(inspect.getattr_static(hooks, n, None))]
        if plain:
            q = hooks.__qualname__
            which = "is a plain method" if len(plain) == 1 else "are plain methods"
            given = (
                f"hooks is the class {q}, not an instance, and {', '.join(plain)} {which} "
                f"(not @staticmethod): give {q}() (or a mapping of name to callable)"
            )
    elif inspect.isclass(hooks):
        raise BindError(
            spec.name,
            given=f"hooks is the class {hooks.__qualname__}: give a mapping of name to callable",
        )
    bound: dict[str, Call] = {}
    missing: list[str] = []
    unfit: list[tuple[str, str]] = []
    for name in names:
        if hooks is None:
            fn: Any = _MISSING
        elif isinstance(hooks, Mapping):
            fn = hooks.get(name, _MISSING)
        else:
            fn = getattr(hooks, name, _MISSING)
        if fn is _MISSING or fn is None:
            missing.append(name)
            continue
        if name in plain:
            continue  # told in ``given``
        why = _unfit(fn, allow_async=allow_async)
        if why is not None:
            unfit.append((name, why))
        else:
            bound[name] = fn
    if missing and given is None and inspect.isclass(hooks):
        q = hooks.__qualname__
        given = f"hooks is the class {q}, not an instance: give {q}() if it sets them"
    if missing or unfit or given:
        raise BindError(spec.name, missing, unfit, given)
    return bound


def returned_coroutine(workflow: str, name: str, result: object) -> BindError:
    """The error for a guard or hook that, called by the sync manager, returned
    an awaitable (a plain callable around an ``async def``): ``result`` is
    closed so that Python does not warn that it was never awaited."""
    close = getattr(result, "close", None)
    if callable(close):
        close()
    return BindError(
        workflow,
        unfit=[
            (name, "returned a coroutine: " + _USE_ASYNC.removeprefix("is an async function: "))
        ],
    )
