"""Fixtures shared by the whole test suite. Keep them small and general."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from wfdsl.stores.base import Store

#: The PostgreSQL server as fixtures (``postgres``, ``pg_schema``): tests/pgtest.py;
#: other workers of the store under test (``rivals``): tests/rivals.py.
pytest_plugins = ["pgtest", "rivals"]

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES_DIR = ROOT / "examples"


@pytest.fixture(scope="session")
def examples_dir() -> Path:
    """The repository's ``examples/`` directory."""
    return EXAMPLES_DIR


@pytest.fixture(scope="session")
def example_paths(examples_dir: Path) -> list[Path]:
    """Every ``.wf`` example, sorted by name."""
    return sorted(examples_dir.glob("*.wf"))


# -- stores -------------------------------------------------------------------------

#: Opens a store on the data of one test: ``opener(request, tmp_path)`` returns a
#: function that opens the same data again each time it is called.
Opener = Callable[[pytest.FixtureRequest, Path], Callable[[], Store]]


def _memory(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], Store]:
    from wfdsl.stores.memory import MemoryStore

    one = MemoryStore()
    return lambda: one  # its data lives in the object: "opening again" is the same one


def _sqlite(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], Store]:
    from wfdsl.stores.sqlite import SQLiteStore

    return lambda: SQLiteStore(str(tmp_path / "wf.db"))


def _postgres(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], Store]:
    schema = request.getfixturevalue("pg_schema")  # skips, or fails under WFDSL_REQUIRE_PG=1
    server = request.getfixturevalue("postgres")
    return lambda: server.store(schema, application_name=schema)  # type: ignore[no-any-return]


#: Every backend, once: each store-parametrised test runs on all of them. A new
#: backend joins by adding one ``pytest.param`` here (mark a server-backed one
#: so that ``-m 'not postgres'`` can leave it out).
STORES = [
    pytest.param(_memory, id="memory"),
    pytest.param(_sqlite, id="sqlite"),
    pytest.param(_postgres, marks=pytest.mark.postgres, id="postgres"),
]


#: The backends whose data other processes can open too (a MemoryStore lives in
#: one process): for tests with other worker processes.
SHARED_STORES = [p for p in STORES if p.id != "memory"]


@pytest.fixture(params=STORES)
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Store]]:
    """Opens the backend under test; each call opens the same data again (for
    memory, the same store). Every store opened is closed afterwards."""
    yield from _factory(request, tmp_path)


@pytest.fixture
def store(store_factory: Callable[[], Store]) -> Store:
    """The backend under test (see :data:`STORES`)."""
    return store_factory()


@pytest.fixture(params=SHARED_STORES)
def shared_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A backend of :data:`SHARED_STORES` under test."""
    for factory in _factory(request, tmp_path):
        yield factory()


def _factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Store]]:
    opener: Opener = request.param
    open_again = opener(request, tmp_path)
    opened: list[Store] = []

    def factory() -> Store:
        s = open_again()
        if s not in opened:
            opened.append(s)
        return s

    yield factory
    for s in opened:
        s.close()
