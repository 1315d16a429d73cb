"""Loading hooks named as ``MODULE:OBJECT`` (what ``wfdsl ... --hooks`` takes).

The module's file is read as a ``.wf`` file is
(:func:`~wfdsl.frontend.source.read_limited`): a FIFO, device, socket or
directory is refused before it is opened (reading one would block or never
end), and so is a file over :data:`~wfdsl.frontend.source.MAX_SOURCE_BYTES`.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import stat
import sys
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from wfdsl.errors import HooksNotLoaded
from wfdsl.frontend.source import MAX_SOURCE_BYTES, FileRefused, NotRegularFile, read_limited

__all__ = ["load_hooks"]

#: What the size limit is for, in :class:`~wfdsl.frontend.source.FileTooLarge`'s message.
_WHAT = "a hooks module"


def load_hooks(ref: str) -> object:
    """The object ``ref`` names: ``MODULE:OBJECT``, where ``MODULE`` is a dotted
    module name (found from the current directory too) or a ``.py`` file, and
    ``OBJECT`` a dotted attribute path in it. A class (other than a mapping
    type) is instantiated without arguments.

    :raises HooksNotLoaded: the reference is malformed; the module's file does
        not exist, is not a regular file (a FIFO, device, socket or directory)
        or is larger than 8 MiB; the module cannot be imported (whatever its
        code raised); the attribute does not exist; or the class cannot be
        instantiated. The message is one line.
    """
    module_name, sep, attr = ref.partition(":")
    if not sep or not module_name or not attr:
        raise HooksNotLoaded(ref, "expected MODULE:OBJECT (e.g. myapp.hooks:OrderHooks)")
    try:
        if module_name.endswith(".py") or os.sep in module_name or "/" in module_name:
            module = _load_file(ref, module_name)
        else:
            module = _import(ref, module_name)
    except HooksNotLoaded:
        raise
    except Exception as exc:  # whatever user code raises on import is the user's to fix
        text = " ".join(str(exc).split())  # one line, whatever the exception says
        raise HooksNotLoaded(
            ref, f"cannot import {module_name!r}: {type(exc).__name__}: {text}"
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


def _read(ref: str, path: str) -> bytes:
    """The source at ``path``, read by the policy of this module.

    :raises HooksNotLoaded: missing, refused or unreadable, saying which."""
    try:
        return read_limited(path, MAX_SOURCE_BYTES, what=_WHAT)
    except FileNotFoundError:
        raise HooksNotLoaded(ref, f"no such file {path!r}") from None
    except FileRefused as exc:
        raise HooksNotLoaded(ref, f"{path!r} {exc.strerror}") from None
    except OSError as exc:
        raise HooksNotLoaded(ref, f"cannot read {path!r}: {exc.strerror or exc}") from None


def _regular(ref: str, path: str) -> None:
    """:raises HooksNotLoaded: ``path`` is not a regular file (or is missing)."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise HooksNotLoaded(ref, f"cannot read {path!r}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        raise HooksNotLoaded(ref, f"{path!r} {NotRegularFile(path, mode).strerror}")


def _load_file(ref: str, path: str) -> ModuleType:
    """The module in the ``.py`` file at ``path``, run from the bytes read once
    (so the file checked is the file run)."""
    source = _read(ref, path)
    name = "_wfdsl_hooks_" + os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None:
        raise HooksNotLoaded(ref, f"cannot import {path!r}")
    module = importlib.util.module_from_spec(spec)
    code = compile(source, path, "exec", dont_inherit=True)
    sys.modules[name] = module
    try:
        exec(code, module.__dict__)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _import(ref: str, name: str) -> ModuleType:
    """The module named ``name`` (dotted), imported the usual way once its
    file, if it has one, passes the read policy (its packages are imported
    first, to find it)."""
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    if name not in sys.modules:
        spec = importlib.util.find_spec(name)
        if spec is None:
            _refuse_special(ref, name)
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        if spec.has_location and spec.origin:
            if spec.origin.endswith(".py"):
                _read(ref, spec.origin)  # source: as a spec is read, size limit too
            else:
                _regular(ref, spec.origin)  # compiled: no limit on its size
    return importlib.import_module(name)


def _refuse_special(ref: str, name: str) -> None:
    """Python's import system passes over a FIFO, device or directory where a
    module's file would be, and says only that there is no such module; say
    what is there instead.

    :raises HooksNotLoaded: a file the module would be read from is not a
        regular file."""
    parent, _, last = name.rpartition(".")
    if parent:
        dirs = [str(d) for d in getattr(sys.modules.get(parent), "__path__", [])]
    else:
        dirs = [d or os.getcwd() for d in sys.path if isinstance(d, str)]
    for directory in dirs:
        for candidate in (
            os.path.join(directory, f"{last}.py"),
            os.path.join(directory, last, "__init__.py"),
        ):
            if os.path.lexists(candidate) and not os.path.isfile(candidate):
                _read(ref, candidate)
