"""One ``store`` fixture over every backend: each must pass the same conformance tests.

A new backend joins by adding one ``pytest.param`` to ``STORES`` (mark server-backed
ones with ``pytest.mark.postgres`` and skip when the server is unreachable).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from wfdsl.stores.base import Store
from wfdsl.stores.memory import MemoryStore
from wfdsl.stores.sqlite import SQLiteStore


def _memory(tmp_path: Path) -> Store:
    return MemoryStore()


def _sqlite(tmp_path: Path) -> Store:
    return SQLiteStore(str(tmp_path / "wf.db"))


def _sqlite_eager(tmp_path: Path) -> Store:
    return SQLiteStore(str(tmp_path / "wf.db"), defer_completions=False)


def _postgres(tmp_path: Path) -> Store:
    from pgtest import store_for  # skips (or fails under WFDSL_REQUIRE_PG=1) without a server

    store: Store = store_for(tmp_path)
    return store


STORES = [
    pytest.param(_memory, id="memory"),
    pytest.param(_sqlite, id="sqlite"),
    pytest.param(_sqlite_eager, id="sqlite-eager"),
    pytest.param(_postgres, marks=pytest.mark.postgres, id="postgres"),
]


@pytest.fixture(params=STORES)
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Store]]:
    """Opens the backend under test; every store opened is closed afterwards.
    For persistent backends, each call opens the same database again."""
    opened: list[Store] = []
    make: Callable[[Path], Store] = request.param

    def factory() -> Store:
        s = make(tmp_path)
        if isinstance(s, MemoryStore) and opened:
            return opened[0]
        opened.append(s)
        return s

    yield factory
    for s in opened:
        s.close()


@pytest.fixture
def store(store_factory: Callable[[], Store]) -> Store:
    return store_factory()
