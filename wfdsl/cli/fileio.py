"""Writing files: never half of one, and never anywhere the user did not point at.

Every file a command writes goes through :func:`write_output` (or
:func:`write_atomic`, which it wraps), and each caller states the three
things the policy needs, with no defaults to forget: the ``root`` the file
must stay in, the ``mark`` an existing file must carry to be replaced, and
the ``writer`` named when it does not. So one policy holds for all of them
(``docs/cli.md``, "What wfdsl writes"):

* **The file stays in its directory.** Each write has a *root*: the output
  directory (``docs -o DIR``, ``compile --out-dir DIR``), the directory that
  ``fmt DIR`` searched, or else the directory holding the file (``-o FILE``,
  ``compile`` beside its source, ``fmt FILE``). A symbolic link at the path
  is followed only to an existing regular file inside that root, which is
  then replaced (the link stays a link); a dangling link, or one that leads
  out of the root, is refused.
* **Only regular files are replaced.** A directory, FIFO, device or socket
  at the path is refused (writing one would block, or reach a device).
* **Generated files only, where wfdsl names them.** Given the ``mark`` of
  what it generates, a command replaces an existing file only if the file
  carries that mark near its start: ``compile`` never replaces a
  hand-written module, ``docs`` never a hand-written page.

A refusal is a :class:`WriteRefused`, an :class:`OSError` whose ``strerror``
says why, so that every caller's "cannot write" message carries it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile

from wfdsl.cli.common import UserError
from wfdsl.frontend.source import file_kind, open_regular

#: How much of an existing file is searched for a generated file's mark.
MARK_WINDOW = 4096


class WriteRefused(OSError):
    """The policy forbids writing ``filename``; ``strerror`` says why."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(errno.EPERM, reason, path)


def _default_mode() -> int:
    # os.umask can only be read by setting it; put it straight back.
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def inside(path: str, root: str) -> bool:
    """``path`` is ``root`` or below it (both already made real and absolute)."""
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def target_of(
    path: str | os.PathLike[str],
    *,
    root: str | os.PathLike[str] | None,
    mark: bytes | None,
    writer: str,
) -> str:
    """The real path that writing ``path`` would replace, after checking the
    policy of this module: ``root`` is the directory the file must stay in,
    None for the directory holding ``path`` (a file the user named); ``mark``,
    unless None, must appear in the first :data:`MARK_WINDOW` bytes of an
    existing file; ``writer`` is the command that writes the file (named when
    an existing file does not carry ``mark``: "not written by wfdsl docs").

    Commands that write several files call this for all of them first, so
    that a refusal leaves every file as it was.

    :raises WriteRefused: the policy forbids the write (the message says why).
    :raises OSError: the path or its directory cannot be examined.
    """
    given = os.fspath(path)
    absolute = os.path.abspath(given)
    shown_root = (os.path.dirname(given) or os.curdir) if root is None else os.fspath(root)
    real_root = os.path.realpath(os.path.dirname(absolute) if root is None else shown_root)
    # Directories above the file are the user's: a link among them is followed.
    real = os.path.join(os.path.realpath(os.path.dirname(absolute)), os.path.basename(absolute))
    try:
        info = os.lstat(real)
    except FileNotFoundError:
        info = None
    if info is not None and stat.S_ISLNK(info.st_mode):
        resolved = os.path.realpath(real)
        if not os.path.lexists(resolved) or os.path.islink(resolved):
            raise WriteRefused(
                given,
                f"is a symbolic link to {os.readlink(real)!r}, which does not exist;"
                " wfdsl does not create files through links",
            )
        if not inside(resolved, real_root):
            raise WriteRefused(
                given,
                f"is a symbolic link to {resolved}, outside {shown_root};"
                " wfdsl does not write through links that leave the directory",
            )
        real = resolved
        info = os.stat(real)
    elif not inside(real, real_root):
        raise WriteRefused(given, f"is outside {shown_root}")
    if info is None:
        return real
    if not stat.S_ISREG(info.st_mode):
        raise WriteRefused(given, f"is {file_kind(info.st_mode)}; wfdsl writes only regular files")
    if mark is not None and not carries(real, mark):
        raise WriteRefused(given, f"exists and was not written by {writer}; not replacing it")
    return real


def carries(path: str, mark: bytes) -> bool:
    """The regular file at ``path`` has ``mark`` in its first :data:`MARK_WINDOW` bytes.

    :raises OSError: it cannot be read (:class:`~wfdsl.frontend.source.NotRegularFile`
        included)."""
    with open_regular(path) as fh:
        return mark in fh.read(MARK_WINDOW)


def write_atomic(
    path: str | os.PathLike[str],
    data: str | bytes,
    *,
    root: str | os.PathLike[str] | None,
    mark: bytes | None,
    writer: str,
) -> None:
    """Replace the file at ``path`` with ``data`` (text is written as UTF-8 with
    ``\\n`` line ends) through a temporary file in the same directory, flushed
    to disk and renamed over the target, if the policy of this module allows
    it (``root``, ``mark`` and ``writer`` as for :func:`target_of`).

    An existing file keeps its permission bits; a new one gets the umask's
    default (``mkstemp`` alone would make it private to the owner).

    :raises WriteRefused: the policy forbids the write; nothing was changed.
    :raises OSError: nothing was changed at ``path``.
    """
    target = target_of(path, root=root, mark=mark, writer=writer)
    directory = os.path.dirname(target)
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = _default_mode()
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".wfdsl-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_output(
    path: str,
    data: str | bytes,
    *,
    root: str | os.PathLike[str] | None,
    mark: bytes | None,
    writer: str,
) -> None:
    """A command's output file written by :func:`write_atomic` (``root``,
    ``mark`` and ``writer`` as for :func:`target_of`); a failure or a refusal
    is a one-line :class:`~wfdsl.cli.common.UserError` (``PATH: cannot write:
    why``), and nothing was changed at ``path``."""
    try:
        write_atomic(path, data, root=root, mark=mark, writer=writer)
    except OSError as exc:
        raise UserError(f"{path}: cannot write: {exc.strerror or exc}") from None
