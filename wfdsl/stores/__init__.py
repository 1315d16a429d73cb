"""Stores: where the runtime keeps instances, transitions and hook work.

:func:`open_store` turns a ``--db`` URL into a store; backends are imported on
first use so that a SQLite user never imports a PostgreSQL driver.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from wfdsl.errors import StoreError
from wfdsl.stores import urls

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
        return None if urls.is_keyword_dsn(url) else url
    if scheme == "sqlite":
        return rest[1:] if rest.startswith("/") else rest
    return None


def open_store(url: str, *, readonly: bool = False, **options: Any) -> Store:
    """Open the store that ``url`` names.

    * ``:memory:`` or ``memory://``: a fresh :class:`~wfdsl.stores.memory.MemoryStore`;
    * ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db``, or a plain
      file path: a :class:`~wfdsl.stores.sqlite.SQLiteStore`;
    * ``postgresql://...`` (or ``postgres://``), or a libpq keyword string
      (``host=db dbname=orders user=app``): a ``PostgresStore``.

    With ``readonly``, the store is opened for reading only: it never creates
    a file, a schema or a table, nor migrates one (commands that only read use
    it). ``options`` go to the store's constructor. Messages never hold a
    password (:func:`wfdsl.stores.urls.redact`).

    :raises SchemaNotFound: ``readonly``, and there is no wfdsl schema there.
    :raises StoreError: the URL is empty, malformed or of an unknown scheme, the
        backend is not available, or the store cannot be opened.
    """
    if not url or not url.strip():
        raise StoreError(
            "no database given (expected a SQLite path, sqlite:///path or postgresql://...)"
        )
    if url in _MEMORY_URLS:
        from wfdsl.stores.memory import MemoryStore

        return MemoryStore()
    if urls.is_postgres(url):
        try:
            module = importlib.import_module("wfdsl.stores.postgres")
        except ImportError as exc:
            raise StoreError(
                f"the PostgreSQL store is not available ({exc}); "
                "install it with: pip install 'wfdsl[postgres]'"
            ) from None
        store: Store = module.PostgresStore(url, readonly=readonly, **options)
        return store
    path = sqlite_path(url)
    scheme = url.partition("://")[0]
    if path is None:
        raise StoreError(
            urls.redact(
                f"unknown database scheme {scheme!r} in {url!r} "
                "(expected a SQLite path, sqlite:///path or postgresql://...)",
                url,
            )
        )
    if not path:
        raise StoreError(f"no file in {url!r} (expected sqlite:///path/to/file.db)")
    from wfdsl.stores.sqlite import SQLiteStore

    return SQLiteStore(path, readonly=readonly, **options)
