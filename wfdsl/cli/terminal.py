"""Standard output and error of every command.

Two guarantees, kept here for all commands at once (:func:`guarded_streams`,
entered by :func:`wfdsl.cli.main`):

* nothing written to standard error can act on the terminal: messages quote
  paths, names and file content, and every control character in them is shown
  escaped (:func:`wfdsl.diagnostics.visible`, the one escaping function; what
  a command prints on standard output it escapes itself, since stdout also
  carries exact formats such as JSON, DOT or a formatted file);
* a stream that cannot be written (a full disk, ``> /dev/full``, a closed
  pipe) ends the command with one line and exit status 2, not a traceback,
  and without Python's ``Exception ignored`` noise when the interpreter exits.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import sys
from collections.abc import Iterable, Iterator
from typing import Any

from wfdsl.diagnostics import visible


class OutputError(Exception):
    """Writing to standard output or standard error failed.

    Not an :class:`OSError`, so that a command's own handling of file errors
    never mistakes it for one of its files.
    """

    def __init__(self, stream: str, error: OSError) -> None:
        self.stream = stream
        self.error = error
        super().__init__(f"cannot write to {stream}: {error.strerror or error}")


class _Guarded:
    """A stream whose write errors raise :class:`OutputError`, and whose text,
    with ``escape``, is made safe for a terminal. Everything else is the
    wrapped stream's."""

    def __init__(self, stream: Any, name: str, *, escape: bool, binary: bool = False) -> None:
        self._stream = stream
        self._name = name
        self._escape = escape
        self._binary = binary
        self._buffer: _Guarded | None = None

    def write(self, data: Any) -> int:
        shown = data
        if self._escape and isinstance(data, str):
            shown = visible(data, keep="\n\t")
        elif self._escape and self._binary and isinstance(data, bytes | bytearray):
            text = visible(bytes(data).decode("utf-8", "surrogateescape"), keep="\n\t")
            shown = text.encode("utf-8", "surrogateescape")
        try:
            self._stream.write(shown)
        except OSError as exc:
            raise OutputError(self._name, exc) from None
        return len(data)

    def writelines(self, lines: Iterable[Any]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as exc:
            raise OutputError(self._name, exc) from None

    @property
    def buffer(self) -> _Guarded:
        if self._buffer is None:
            self._buffer = _Guarded(
                self._stream.buffer, self._name, escape=self._escape, binary=True
            )
        return self._buffer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextlib.contextmanager
def guarded_streams() -> Iterator[None]:
    """``sys.stdout`` and ``sys.stderr`` guarded (see the module's
    docstring) for the block; the real streams are put back after it."""
    out, err = sys.stdout, sys.stderr
    buffered = _buffered(out)
    sys.stdout = _Guarded(buffered or out, "standard output", escape=False)
    sys.stderr = _Guarded(err, "standard error", escape=True)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = out, err
        if buffered is not None:
            # Empty unless a write failed: then the stream points at the null
            # device (report_output_error) and what is left goes there.
            with contextlib.suppress(OSError, ValueError):
                buffered.flush()
                buffered.detach()


def _buffered(stream: Any) -> io.TextIOWrapper | None:
    """A buffered text stream on ``stream``'s file descriptor when ``stream``
    writes straight to it (``PYTHONUNBUFFERED``, ``python -u``), else None.

    Such a stream passes a partial write (a full disk, a pipe whose reader
    left) as if it were whole: the rest of the output would be lost without a
    word. A buffered writer retries the rest, and reports the error. Every
    ``click.echo`` flushes, so output is as prompt as before.
    """
    if not isinstance(getattr(stream, "buffer", None), io.RawIOBase):
        return None
    try:
        raw = io.FileIO(stream.fileno(), "w", closefd=False)
    except (OSError, ValueError):
        return None
    return io.TextIOWrapper(io.BufferedWriter(raw), encoding=stream.encoding, errors=stream.errors)


def report_output_error(exc: OutputError) -> None:
    """Say in one line that a stream could not be written (not when the
    reader of a pipe left, which is the reader's choice, nor when standard
    error itself failed), and point the stream at the null device, so that
    what is still buffered for it is dropped quietly at exit."""
    broken = sys.stdout if exc.stream == "standard output" else sys.stderr
    _silence(broken)
    if exc.stream == "standard output" and exc.error.errno != errno.EPIPE:
        with contextlib.suppress(OSError, OutputError):
            sys.stderr.write(f"wfdsl: error: {exc}\n")
            sys.stderr.flush()


def _silence(stream: Any) -> None:
    try:
        fd = stream.fileno()
    except (OSError, ValueError, AttributeError):
        return  # not a file descriptor (a test's captured stream): nothing buffered at exit
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, fd)
    finally:
        os.close(null)
