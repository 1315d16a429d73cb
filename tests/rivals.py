"""Other workers, for tests of who may take hook work: real ones, alive or gone.
A pytest plugin (loaded by tests/conftest.py): the ``rivals`` fixture.

On a store whose worker is a process (memory, SQLite) another worker is another
process: a live one waits on its stdin, a dead one has exited and been reaped.
On PostgreSQL a worker is a session: another store object opens its own, and
closing it ends that session.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest

from wfdsl.stores.base import Store
from wfdsl.stores.process import ProcessIdentity

_PRINT_PROOF = (
    "import sys\n"
    "from wfdsl.stores import process\n"
    "print(process.proof(), flush=True)\n"
    "sys.stdin.read()\n"
)


class Rivals:
    """Makes other workers of ``store``'s kind; ends them all afterwards."""

    def __init__(self, store: Store, reopen: Callable[[], Store]) -> None:
        self._by_process = ProcessIdentity.parse(store.identity()) is not None
        self._reopen = reopen
        self._procs: list[subprocess.Popen[str]] = []
        self._stores: list[Store] = []

    def live(self) -> str:
        """The identity of a worker that stays alive until the test ends."""
        if self._by_process:
            proc = subprocess.Popen(
                [sys.executable, "-c", _PRINT_PROOF],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            self._procs.append(proc)
            assert proc.stdout is not None
            return proc.stdout.readline().strip()
        other = self._reopen()
        self._stores.append(other)
        return other.identity()

    def dead(self) -> str:
        """The identity of a worker that has ended (its process exited, or its
        PostgreSQL session closed)."""
        if self._by_process:
            proc = subprocess.run(
                [sys.executable, "-c", _PRINT_PROOF],
                input="",
                capture_output=True,
                text=True,
                check=True,
            )
            return proc.stdout.strip()
        other = self._reopen()
        proof = other.identity()
        other.close()
        return proof

    def close(self) -> None:
        for proc in self._procs:
            proc.kill()
            proc.communicate()
        for store in self._stores:
            store.close()


@pytest.fixture
def rivals(store: Store, store_factory: Callable[[], Store]) -> Iterator[Rivals]:
    """Other workers of the store under test, alive or gone."""
    made = Rivals(store, store_factory)
    try:
        yield made
    finally:
        made.close()
