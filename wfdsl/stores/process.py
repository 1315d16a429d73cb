"""This process as a worker: who it is, whether another worker process still
lives, and whether this one has forked.

A store leases hook work to the worker that runs it. To take over the work of
a worker that is gone *at once*, rather than when its lease expires, a store
must tell a live worker from a dead one. On one machine a worker is a process,
and a process id alone cannot say (ids are reused), so a worker's identity is
its host, boot, pid namespace, process id and start time, and liveness is
asked of the operating system:

* Linux: ``/proc/<pid>/stat`` (field 22, the start time in clock ticks since
  boot, exact; a zombie counts as dead), the boot id from
  ``/proc/sys/kernel/random/boot_id`` and the pid namespace from
  ``/proc/self/ns/pid`` (a process in another namespace, e.g. another
  container, cannot be seen, so its liveness is unknown);
* elsewhere: psutil's ``create_time`` when psutil is installed, else
  ``kill(pid, 0)`` on POSIX (a reused pid then looks alive: the work waits for
  its lease, which is safe), else unknown.

An unknown answer is treated as alive: the work is left to its lease. Only a
certain death frees work early.

The identity is computed once per process, lazily, and again in a child after
``os.fork()``; :data:`GENERATION` counts forks so that stores can notice one
without a system call per operation.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import socket
import sys
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "GENERATION",
    "ProcessIdentity",
    "alive",
    "current",
    "identity_of",
    "label",
    "proof",
]

#: Incremented in the child after every ``os.fork()``: a store that remembers
#: the value it was opened under knows when it runs in a forked child.
GENERATION = 0

_SEP: Final = "|"
_LINUX = sys.platform.startswith("linux")


@dataclass(frozen=True, slots=True)
class ProcessIdentity:
    """One process, told apart from every other that ever ran on its host."""

    host: str
    #: The boot it runs in ("" if the system does not say).
    boot: str
    #: Its pid namespace ("" if the system does not say).
    namespace: str
    pid: int
    #: When it started, in the system's own unit ("" if unknown).
    start: str

    def __str__(self) -> str:
        # The host goes last: it is the only part that could hold the separator.
        return _SEP.join((str(self.pid), self.start, self.boot, self.namespace, self.host))

    @classmethod
    def parse(cls, text: str) -> ProcessIdentity | None:
        """The identity ``str()`` wrote, or ``None`` for any other text."""
        parts = text.split(_SEP, 4)
        if len(parts) != 5 or not parts[0].isdigit():
            return None
        pid, start, boot, namespace, host = parts
        return cls(host, boot, namespace, int(pid), start)


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return ""


def _linux_start(pid: int) -> str | None:
    """Field 22 of ``/proc/<pid>/stat``, or ``None`` if the process is gone
    (or a zombie: killed, not yet reaped, never to run again)."""
    text = _read(f"/proc/{pid}/stat")
    if not text:
        return None
    # The command name (field 2) is in parentheses and may hold spaces or ")".
    fields = text.rsplit(")", 1)[-1].split()
    if len(fields) < 20 or fields[0] in ("Z", "X", "x"):
        return None
    return fields[19]


def _psutil() -> Any:
    """psutil, where it is installed (it is optional)."""
    try:
        return importlib.import_module("psutil")
    except ImportError:
        return None


def _psutil_start(psutil: Any, pid: int) -> str | None:
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        return f"{proc.create_time():.6f}"
    except psutil.NoSuchProcess:
        return None


def _describe(pid: int) -> ProcessIdentity | None:
    host = socket.gethostname()
    if _LINUX:
        start = _linux_start(pid)
        if start is None:
            return None
        boot = _read("/proc/sys/kernel/random/boot_id")
        namespace = ""
        with contextlib.suppress(OSError):
            namespace = os.readlink("/proc/self/ns/pid")
        return ProcessIdentity(host, boot, namespace, pid, start)
    psutil = _psutil()
    if psutil is not None:
        started = _psutil_start(psutil, pid)
        if started is None:
            return None
        return ProcessIdentity(host, f"{psutil.boot_time():.0f}", "", pid, started)
    return ProcessIdentity(host, "", "", pid, "")


_current: ProcessIdentity | None = None
_proof: str | None = None


def current() -> ProcessIdentity:
    """This process's identity (computed once per process)."""
    global _current
    if _current is None:
        me = _describe(os.getpid())
        if me is None:  # pragma: no cover - /proc unreadable for ourselves
            me = ProcessIdentity(socket.gethostname(), "", "", os.getpid(), "")
        _current = me
    return _current


def proof() -> str:
    """``str(current())``, kept: what a store hands out as this worker's identity."""
    global _proof
    if _proof is None:
        _proof = str(current())
    return _proof


def identity_of(pid: int) -> ProcessIdentity | None:
    """The identity of another process on this machine, or ``None`` if it is gone."""
    return _describe(pid)


def label() -> str:
    """A short name for this process, for people: ``host:pid``."""
    me = current()
    return f"{me.host}:{me.pid}"


def alive(proof: str) -> bool | None:
    """Whether the process that ``proof`` (a :class:`ProcessIdentity` as text)
    names still runs: ``True``, ``False``, or ``None`` when this machine cannot
    tell (another host, another pid namespace, a proof in another format)."""
    other = ProcessIdentity.parse(proof)
    if other is None:
        return None
    me = current()
    if other.host != me.host:
        return None
    if other.boot and me.boot and other.boot != me.boot:
        return False  # the machine rebooted since: every process of that boot is gone
    if other.namespace != me.namespace:
        return None
    if other.pid == me.pid:
        return other.start == me.start
    if _LINUX:
        return _linux_start(other.pid) == other.start
    psutil = _psutil()
    if psutil is not None:
        return _psutil_start(psutil, other.pid) == other.start
    if os.name == "posix":
        try:
            os.kill(other.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return None


def _after_fork_in_child() -> None:
    global GENERATION, _current, _proof
    GENERATION += 1
    _current = _proof = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
