"""Stores: where the runtime keeps instances, transitions and hook work.

:func:`open_store` turns a ``--db`` URL into a store; backends are imported on
first use so that a SQLite user never imports a PostgreSQL driver.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from wfdsl.errors import StoreError

if TYPE_CHECKING:
    from wfdsl.stores.base import Store

__all__ = ["open_store", "sqlite_path"]

_MEMORY_URLS = (":memory:", "memory://", "memory:")


def sqlite_path(url: str) -> str | None:
    """The SQLite file ``url`` names (``sqlite:///path`` or a plain path), or
    ``None`` if it names another kind of store. An empty result means the URL
    names no file."""
    if url in _MEMORY_URLS:
        return None
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    if scheme == "sqlite":
        return rest[1:] if rest.startswith("/") else rest
    return None


def open_store(url: str, **options: Any) -> Store:
    """Open the store that ``url`` names.

    * ``:memory:`` or ``memory://``: a fresh :class:`~wfdsl.stores.memory.MemoryStore`;
    * ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db``, or a plain
      file path: a :class:`~wfdsl.stores.sqlite.SQLiteStore`;
    * ``postgresql://...`` (or ``postgres://``): a ``PostgresStore``.

    ``options`` go to the store's constructor.

    :raises StoreError: the URL is empty or its scheme unknown, or the backend
        is not available.
    """
    if not url or not url.strip():
        raise StoreError(
            "no database given (expected a SQLite path, sqlite:///path or postgresql://...)"
        )
    if url in _MEMORY_URLS:
        from wfdsl.stores.memory import MemoryStore

        return MemoryStore()
    scheme, sep, _ = url.partition("://")
    if sep and scheme in ("postgresql", "postgres"):
        try:
            module = importlib.import_module("wfdsl.stores.postgres")
        except ImportError as exc:
            raise StoreError(
                f"the PostgreSQL store is not available ({exc}); "
                "install it with: pip install 'wfdsl[postgres]'"
            ) from None
        store: Store = module.PostgresStore(url, **options)
        return store
    path = sqlite_path(url)
    if path is None:
        raise StoreError(
            f"unknown database scheme {scheme!r} in {url!r} "
            "(expected a SQLite path, sqlite:///path or postgresql://...)"
        )
    if not path:
        raise StoreError(f"no file in {url!r} (expected sqlite:///path/to/file.db)")
    from wfdsl.stores.sqlite import SQLiteStore

    return SQLiteStore(path, **options)
