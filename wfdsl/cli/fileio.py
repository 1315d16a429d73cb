"""Writing files so that a reader, or a crash, never sees half of one."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile


def _default_mode() -> int:
    # os.umask can only be read by setting it; put it straight back.
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def write_atomic(path: str | os.PathLike[str], data: str | bytes) -> None:
    """Replace the file at ``path`` with ``data`` (text is written as UTF-8 with
    ``\\n`` line ends) through a temporary file in the same directory, flushed
    to disk and renamed over the target.

    An existing file keeps its permission bits; a new one gets the umask's
    default (``mkstemp`` alone would make it private to the owner).

    A symbolic link is written through: the file it points to is replaced,
    and the link stays a link.

    :raises OSError: nothing was changed at ``path``.
    """
    target = os.path.realpath(path)
    directory = os.path.dirname(os.path.abspath(target))
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
