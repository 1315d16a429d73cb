"""Where PostgreSQL tests find their server, and how they stay out of each other's way.

* The server comes from ``WFDSL_PG_DSN``. When it is unset or unreachable, the
  tests skip with a message saying how to run them, unless ``WFDSL_REQUIRE_PG=1``
  (CI sets it), in which case they fail.
* Every store a test opens lives in a schema of its own (``wfdsl_test_<pid>_<hex>``),
  dropped when the test ends (or, for schemas made by the shared ``store``
  fixture, when the test process exits).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import secrets
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest

DSN_ENV = "WFDSL_PG_DSN"
REQUIRE_ENV = "WFDSL_REQUIRE_PG"
HOW_TO_RUN = (
    f"set {DSN_ENV}=postgresql://user@host:5432/db (a database the tests may create "
    "schemas in) to run the PostgreSQL tests"
)

_made: set[str] = set()


@cache
def _probe(dsn: str) -> str | None:
    """``None`` when the server answers, else why not."""
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - the dev extra installs it
        return f"psycopg is not installed ({exc})"
    try:
        with psycopg.connect(dsn, connect_timeout=3, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"cannot connect to {dsn_for_humans(dsn)}: {str(exc).strip()}"
    return None


def dsn_for_humans(dsn: str) -> str:
    """The DSN without its password."""
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(dsn)
    return "postgresql://{}@{}:{}/{}".format(
        params.get("user", ""),
        params.get("host", "localhost"),
        params.get("port", "5432"),
        params.get("dbname", ""),
    )


def pg_dsn() -> str:
    """The test server's DSN; skips (or, with ``WFDSL_REQUIRE_PG=1``, fails) the
    calling test when there is none."""
    dsn = os.environ.get(DSN_ENV, "").strip()
    problem = _probe(dsn) if dsn else f"{DSN_ENV} is not set"
    if problem is None:
        return dsn
    message = f"PostgreSQL tests need a server: {problem}; {HOW_TO_RUN}"
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but {message}", pytrace=False)
    pytest.skip(message)


def new_schema() -> str:
    """A schema name no other test, worker or user has."""
    name = f"wfdsl_test_{os.getpid()}_{secrets.token_hex(4)}"
    _made.add(name)
    return name


def drop_schema(dsn: str, schema: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
    _made.discard(schema)


def admin() -> Any:
    """A separate autocommit connection to the test server (caller closes it)."""
    import psycopg

    return psycopg.connect(pg_dsn(), autocommit=True)


def terminate_backends(application_name: str) -> int:
    """Kill every server backend whose ``application_name`` is this one; how many died."""
    with admin() as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = %s AND pid <> pg_backend_pid()",
            (application_name,),
        ).fetchall()
    return sum(1 for (ok,) in rows if ok)


@contextlib.contextmanager
def schema_scope() -> Iterator[tuple[str, str]]:
    """``(dsn, schema)`` for one test; the schema is dropped afterwards."""
    dsn = pg_dsn()
    schema = new_schema()
    try:
        yield dsn, schema
    finally:
        drop_schema(dsn, schema)


@atexit.register
def _drop_leftovers() -> None:
    dsn = os.environ.get(DSN_ENV, "").strip()
    if not dsn or not _made:
        return
    for schema in sorted(_made):
        with contextlib.suppress(Exception):
            drop_schema(dsn, schema)


_by_key: dict[str, str] = {}


def store_for(key: object, **options: Any) -> Any:
    """A ``PostgresStore`` on the schema of ``key`` (the same schema every time it
    is asked for that key, so a test can open the same database again)."""
    from wfdsl.stores.postgres import PostgresStore

    dsn = pg_dsn()
    schema = _by_key.get(str(key))
    if schema is None:
        schema = _by_key[str(key)] = new_schema()
    return PostgresStore(dsn, schema=schema, **options)
