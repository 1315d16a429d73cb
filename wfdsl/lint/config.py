"""Which rules run for a file: defaults, ``[tool.wfdsl.lint]`` and flags.

Follows ruff's conventions: ``select`` replaces the default set,
``extend-select`` adds to it, ``ignore`` removes from it, and
``per-file-ignores`` maps glob patterns (relative to the ``pyproject.toml``)
to codes. Command-line flags are a layer on top (:class:`Flags`). Entries are codes, code prefixes (``WF2``), ``ALL``, or rule names.
Errors (WF1xx) always run: they cannot be deselected.
"""

from __future__ import annotations

import fnmatch
import os
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from wfdsl.diagnostics import Severity
from wfdsl.lint import rules as _rules  # noqa: F401  (selections name every rule)
from wfdsl.lint.base import REGISTRY, resolve


class ConfigError(Exception):
    """A configuration value names no rule or has the wrong type."""

    def __init__(self, source: str, message: str) -> None:
        self.source = source
        super().__init__(f"{source}: {message}")


def _expand(entries: Iterable[str], source: str) -> set[str]:
    codes: set[str] = set()
    for entry in entries:
        resolved = resolve(entry)
        if resolved is None:
            raise ConfigError(source, f"unknown rule '{entry}'")
        if resolved == "ALL":
            codes.update(REGISTRY)
        else:
            codes.update(c for c in REGISTRY if c.startswith(resolved))
    return codes


@dataclass(frozen=True, slots=True)
class Flags:
    """Command-line selection: a layer applied on top of the file's, as in ruff.

    ``--select`` starts again from exactly the codes given (the file's
    ``select``, ``extend-select`` and ``ignore`` no longer matter);
    ``--extend-select`` and ``--ignore`` add to and remove from what the file
    left enabled."""

    select: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Selection:
    """Rule selection from ``[tool.wfdsl.lint]`` (``None`` means "not set"),
    with the command line's :class:`Flags` on top."""

    select: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] | None = None
    per_file_ignores: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: Directory that ``per_file_ignores`` patterns are relative to.
    root: str = "."
    #: Where the settings came from, for error messages.
    source: str = "defaults"
    flags: Flags = Flags()

    def override(
        self,
        select: Sequence[str] | None,
        extend_select: Sequence[str] | None,
        ignore: Sequence[str] | None,
    ) -> Selection:
        """This selection with command-line flags on top (see :class:`Flags`)."""
        flags = Flags(
            tuple(select) if select is not None else None,
            tuple(extend_select or ()),
            tuple(ignore or ()),
        )
        return replace(self, flags=flags)

    def validate(self) -> None:
        """:raises ConfigError: if any entry names no rule."""
        _expand(self.select or (), self.source)
        _expand(self.extend_select, self.source)
        _expand(self.ignore or (), self.source)
        for codes in self.per_file_ignores.values():
            _expand(codes, self.source)
        _expand(self.flags.select or (), "command line")
        _expand(self.flags.extend_select, "command line")
        _expand(self.flags.ignore, "command line")

    def enabled(self, path: str) -> frozenset[str]:
        """The lint-rule codes (WF2xx/WF3xx) that run on ``path``."""
        flags = self.flags
        if flags.select is not None:
            codes = _expand(flags.select, "command line")
        else:
            if self.select is None:
                codes = {c for c, r in REGISTRY.items() if r.default_enabled}
            else:
                codes = _expand(self.select, self.source)
            codes |= _expand(self.extend_select, self.source)
            codes -= _expand(self.ignore or (), self.source)
        codes |= _expand(flags.extend_select, "command line")
        codes -= _expand(flags.ignore, "command line")
        if self.per_file_ignores:
            rel = _relative(path, self.root)
            for written, ignored in self.per_file_ignores.items():
                pattern = written.removeprefix("./")
                if fnmatch.fnmatch(rel, pattern) or fnmatch.fnmatch(os.path.basename(rel), pattern):
                    codes -= _expand(ignored, self.source)
        return frozenset(c for c in codes if REGISTRY[c].severity is not Severity.ERROR)


def _relative(path: str, root: str) -> str:
    try:
        rel = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
    except ValueError:  # another drive on Windows
        rel = path
    return Path(rel).as_posix()


def _str_list(value: Any, key: str, source: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(source, f"'{key}' must be a list of rule codes or names")
    return tuple(value)


def from_table(table: Mapping[str, Any], root: str, source: str) -> Selection:
    """Build a Selection from a ``[tool.wfdsl.lint]`` table."""
    known = {"select", "extend-select", "ignore", "per-file-ignores"}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(source, f"unknown setting '{unknown[0]}' in [tool.wfdsl.lint]")
    pfi_raw = table.get("per-file-ignores", {})
    if not isinstance(pfi_raw, dict):
        raise ConfigError(source, "'per-file-ignores' must be a table of pattern = [codes]")
    sel = Selection(
        select=_str_list(table["select"], "select", source) if "select" in table else None,
        extend_select=_str_list(table.get("extend-select", []), "extend-select", source),
        ignore=_str_list(table["ignore"], "ignore", source) if "ignore" in table else None,
        per_file_ignores={
            str(k): _str_list(v, f"per-file-ignores.{k}", source) for k, v in pfi_raw.items()
        },
        root=root,
        source=source,
    )
    sel.validate()
    return sel


class ConfigFinder:
    """Finds the nearest ``pyproject.toml`` with a ``[tool.wfdsl]`` table above a file."""

    def __init__(self) -> None:
        self._by_dir: dict[str, Selection] = {}

    def for_file(self, path: str) -> Selection:
        directory = os.path.dirname(os.path.abspath(path))
        return self._for_dir(directory)

    def _for_dir(self, directory: str) -> Selection:
        cached = self._by_dir.get(directory)
        if cached is not None:
            return cached
        candidate = os.path.join(directory, "pyproject.toml")
        found: Selection | None = None
        if os.path.isfile(candidate):
            found = _read_pyproject(candidate)
        if found is None:
            parent = os.path.dirname(directory)
            found = Selection() if parent == directory else self._for_dir(parent)
        self._by_dir[directory] = found
        return found


#: Tables of ``[tool.wfdsl]``; any other key there is a mistake (a typo
#: such as ``[tool.wfdsl.lnit]`` would otherwise be ignored in silence).
SECTIONS = ("lint",)


def _read_pyproject(path: str) -> Selection | None:
    """The selection of the ``pyproject.toml`` at ``path``, or None when it
    has no ``[tool.wfdsl]`` table.

    :raises ConfigError: the file cannot be read, is not UTF-8 TOML, nests
        deeper than Python can parse, or its ``[tool.wfdsl]`` is malformed; one
        line, with the file's path, for every way it can be wrong.
    """
    from wfdsl.frontend.source import read_limited

    try:
        raw = read_limited(path, what="a pyproject.toml")
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            path, f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} on line {line}); TOML is UTF-8"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, f"invalid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(path, "invalid TOML: arrays or tables nested too deeply") from None
    except OSError as exc:
        raise ConfigError(path, exc.strerror or str(exc)) from None
    tool = data.get("tool", {})
    if not isinstance(tool, dict) or "wfdsl" not in tool:
        return None
    wfdsl_table = tool["wfdsl"]
    if not isinstance(wfdsl_table, dict):
        raise ConfigError(path, "[tool.wfdsl] must be a table")
    unknown = sorted(set(wfdsl_table) - set(SECTIONS))
    if unknown:
        known = ", ".join(f"[tool.wfdsl.{name}]" for name in SECTIONS)
        raise ConfigError(path, f"unknown setting '{unknown[0]}' in [tool.wfdsl] (known: {known})")
    lint_table = wfdsl_table.get("lint", {})
    if not isinstance(lint_table, dict):
        raise ConfigError(path, "[tool.wfdsl.lint] must be a table")
    return from_table(lint_table, os.path.dirname(path), path)
