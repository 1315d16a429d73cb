"""Reading ``.wf`` sources: bytes to text, text to a validated Spec."""

from __future__ import annotations

import contextlib
import errno
import gc
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

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


#: The largest file wfdsl reads as a ``.wf`` source (or a ``pyproject.toml``):
#: 8 MiB, six times the 10,000-state spec of ``benchmarks/`` (1.3 MB, about
#: 1.5 s to lint). A larger file is refused rather than read without bound.
MAX_SOURCE_BYTES = 8 * 1024 * 1024


class FileRefused(OSError):
    """A file wfdsl will not read; ``strerror`` says why, in words."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(errno.EINVAL, reason, path)


class NotRegularFile(FileRefused):
    """A FIFO, device, socket or directory where a file was to be read:
    reading it would block or never end."""

    def __init__(self, path: str, mode: int) -> None:
        self.kind = file_kind(mode)
        super().__init__(path, f"is {self.kind}; wfdsl reads only regular files")


class FileTooLarge(FileRefused):
    """A file longer than ``limit`` bytes, the limit for ``what`` it is."""

    def __init__(self, path: str, limit: int, what: str) -> None:
        self.limit = limit
        super().__init__(path, f"is larger than {_mebibytes(limit)}, the limit for {what}")


def file_kind(mode: int) -> str:
    """What a file that is not a regular file is, in words (``a FIFO``)."""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _mebibytes(limit: int) -> str:
    return f"{limit / (1024 * 1024):g} MiB" if limit >= 1024 * 1024 else f"{limit:,} bytes"


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """The regular file at ``path`` (a symbolic link is followed), open for
    reading in binary mode.

    A FIFO, device or socket is refused before it is opened (opening a FIFO
    blocks until a writer comes; a device may act on being opened), and the
    open file is checked again, in case the path changed in between.

    :raises NotRegularFile: not a regular file.
    :raises OSError: it cannot be opened.
    """
    name = os.fspath(path)
    if not stat.S_ISREG(mode := os.stat(name).st_mode):
        raise NotRegularFile(name, mode)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    fh = open(os.open(name, flags), "rb")  # noqa: SIM115 (returned to the caller)
    if not stat.S_ISREG(mode := os.fstat(fh.fileno()).st_mode):
        fh.close()
        raise NotRegularFile(name, mode)
    return fh


def read_limited(
    path: str | os.PathLike[str], limit: int = MAX_SOURCE_BYTES, *, what: str = "a .wf file"
) -> bytes:
    """The bytes of the regular file at ``path`` (see :func:`open_regular`), if
    at most ``limit``: files wfdsl reads are never read without bound
    (``/dev/zero`` never ends).

    :raises NotRegularFile: not a regular file.
    :raises FileTooLarge: larger than ``limit`` bytes (the message names
        ``what`` the limit is for).
    :raises OSError: the file cannot be read.
    """
    with open_regular(path) as fh:
        return read_stream(fh, os.fspath(path), limit, what=what)


def read_stream(
    stream: BinaryIO, name: str, limit: int = MAX_SOURCE_BYTES, *, what: str = "a .wf file"
) -> bytes:
    """What is left in ``stream`` (standard input, say), if at most ``limit`` bytes.

    :raises FileTooLarge: there is more (the message names ``what`` the limit is for).
    """
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise FileTooLarge(name, limit, what)
    return data


def read_file(path: str | os.PathLike[str]) -> tuple[bytes, str]:
    """The bytes of the ``.wf`` file at ``path`` and their text (for callers
    that also fingerprint the bytes), read by :func:`read_limited`.

    :raises OSError: (:class:`FileRefused` included) / :raises SpecError:."""
    data = read_limited(path)
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

    :raises OSError: if the file cannot be read; :class:`NotRegularFile` for
        a FIFO, device or socket, :class:`FileTooLarge` past
        :data:`MAX_SOURCE_BYTES` (see :func:`read_limited`).
    :raises SpecError: carrying every diagnostic found.
    """
    return loads(read(path), os.fspath(path))
