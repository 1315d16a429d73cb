"""Reading ``.wf`` sources: bytes to text, text to a validated Spec."""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Iterator
from dataclasses import dataclass

from lark import Token

from wfdsl.diagnostics import Diagnostic
from wfdsl.errors import SpecError
from wfdsl.frontend.codes import SyntaxError_
from wfdsl.frontend.parser import normalize_line_ends, parse
from wfdsl.frontend.validate import build_spec, check_tree
from wfdsl.ir import Gap, Spec


@dataclass(frozen=True, slots=True)
class Source:
    """A parsed and validated file, with what the linter needs beside the IR.

    From :func:`analyze_lenient` it may have ``errors``: then ``spec`` holds
    what could be built, for the lint rules that do not need ``gaps``.
    """

    spec: Spec
    #: The source, line ends normalised to ``\n`` (positions index into it).
    text: str
    #: Comment tokens, in source order (for ``noqa``).
    comments: tuple[Token, ...]
    #: Validation errors (WF1xx), sorted; empty for a valid file.
    errors: tuple[Diagnostic, ...] = ()
    #: What the errors leave ``spec`` without.
    gaps: frozenset[Gap] = frozenset()


def decode(data: bytes, path: str, *, keep_line_ends: bool = False) -> str:
    """UTF-8 (a BOM is allowed) to text, every line end (``\r\n``, ``\r``,
    ``\n``) made ``\n`` (see :func:`~wfdsl.frontend.parser.normalize_line_ends`), so that
    the text shows diagnostics at the lines they name. ``keep_line_ends``
    leaves them as they are (for ``wfdsl fmt``, which keeps a file's style).

    :raises SpecError: WF100 at the first byte that is not UTF-8.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = data[: exc.start].replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        line = before.count(b"\n") + 1
        column = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", "replace")) + 1
        raise SpecError(
            [
                SyntaxError_.diagnostic(
                    path,
                    line,
                    column,
                    line,
                    column + 1,
                    f"the file is not valid UTF-8 (byte 0x{data[exc.start]:02x})",
                    "save the file as UTF-8",
                )
            ]
        ) from None
    return text if keep_line_ends else normalize_line_ends(text)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off for the block.

    Parsing allocates one object per token and node and almost no reference
    cycles; the collector would rescan the growing graph again and again (a
    third of the time on a large spec), so it pauses meanwhile.
    """
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def analyze(text: str, path: str = "<string>") -> Source:
    """Parse and validate ``text``. :raises SpecError: on any error.

    ``Source.text`` is ``text`` with its line ends normalised, so that
    positions index into it.
    """
    text = normalize_line_ends(text)
    with gc_paused():
        tree, comments = parse(text, path)
        return Source(build_spec(tree, path), text, tuple(comments))


def analyze_lenient(text: str, path: str = "<string>") -> Source:
    """Parse and validate ``text``, returning validation errors in
    ``Source.errors`` instead of raising them, so that the linter can still
    report every finding that the errors leave meaningful.

    :raises SpecError: on a syntax error (there is nothing to check then).
    """
    text = normalize_line_ends(text)
    with gc_paused():
        tree, comments = parse(text, path)
        checked = check_tree(tree, path)
        return Source(checked.spec, text, tuple(comments), checked.errors, checked.gaps)


def read_file(path: str | os.PathLike[str]) -> tuple[bytes, str]:
    """The bytes of the ``.wf`` file at ``path`` and their text (for callers
    that also fingerprint the bytes). :raises OSError: / :raises SpecError:."""
    with open(path, "rb") as fh:
        data = fh.read()
    return data, decode(data, os.fspath(path))


def read(path: str | os.PathLike[str]) -> str:
    """Read and decode a ``.wf`` file. :raises OSError: / :raises SpecError:."""
    return read_file(path)[1]


def loads(text: str, path: str = "<string>") -> Spec:
    """Parse and validate a workflow from text.

    :raises SpecError: carrying every diagnostic found.
    """
    return analyze(text, path).spec


def load(path: str | os.PathLike[str]) -> Spec:
    """Parse and validate the workflow in the file at ``path``.

    :raises OSError: if the file cannot be read.
    :raises SpecError: carrying every diagnostic found.
    """
    return loads(read(path), os.fspath(path))
