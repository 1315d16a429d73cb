"""Loading hooks named as ``MODULE:OBJECT`` (what ``wfdsl ... --hooks`` takes)."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
from collections.abc import Mapping
from typing import Any

from wfdsl.errors import HooksNotLoaded

__all__ = ["load_hooks"]


def load_hooks(ref: str) -> object:
    """The object ``ref`` names: ``MODULE:OBJECT``, where ``MODULE`` is a dotted
    module name (found from the current directory too) or a ``.py`` file, and
    ``OBJECT`` a dotted attribute path in it. A class (other than a mapping
    type) is instantiated without arguments.

    :raises HooksNotLoaded: the reference is malformed, the module cannot be
        imported (whatever its code raised), the attribute does not exist, or
        the class cannot be instantiated.
    """
    module_name, sep, attr = ref.partition(":")
    if not sep or not module_name or not attr:
        raise HooksNotLoaded(ref, "expected MODULE:OBJECT (e.g. myapp.hooks:OrderHooks)")
    try:
        if module_name.endswith(".py") or os.sep in module_name:
            if not os.path.isfile(module_name):
                raise HooksNotLoaded(ref, f"no such file {module_name!r}")
            name = "_wfdsl_hooks_" + os.path.splitext(os.path.basename(module_name))[0]
            spec = importlib.util.spec_from_file_location(name, module_name)
            if spec is None or spec.loader is None:
                raise HooksNotLoaded(ref, f"cannot import {module_name!r}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
        else:
            if "" not in sys.path and os.getcwd() not in sys.path:
                sys.path.insert(0, os.getcwd())
            module = importlib.import_module(module_name)
    except HooksNotLoaded:
        raise
    except Exception as exc:  # whatever user code raises on import is the user's to fix
        raise HooksNotLoaded(
            ref, f"cannot import {module_name!r}: {type(exc).__name__}: {exc}"
        ) from None
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise HooksNotLoaded(ref, f"{module_name!r} has no attribute {attr!r}") from None
    if inspect.isclass(obj) and not issubclass(obj, Mapping):
        try:
            obj = obj()
        except Exception as exc:
            raise HooksNotLoaded(
                ref, f"cannot create {attr}(): {type(exc).__name__}: {exc}"
            ) from None
    hooks: object = obj
    return hooks
