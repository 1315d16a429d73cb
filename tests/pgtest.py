"""A pytest plugin (loaded by tests/conftest.py): the PostgreSQL server the tests
use, as fixtures.

* ``postgres``: the server (:class:`Postgres`), from ``WFDSL_PG_DSN``. When it is
  unset or unreachable, a test that asks for it skips with a message saying
  how to run it, unless ``WFDSL_REQUIRE_PG=1`` (CI sets it), which makes it fail.
* ``pg_schema``: a schema of the test's own (``wfdsl_test_<pid>_<hex>``),
  dropped when the test ends. Every store a test opens lives in one, so tests
  never see each other's data.
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

#: Schemas made and not yet dropped: dropped when the test process exits.
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
        return f"cannot connect to {_for_humans(dsn)}: {str(exc).strip()}"
    return None


def _for_humans(dsn: str) -> str:
    """The DSN without its password."""
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(dsn)
    return "postgresql://{}@{}:{}/{}".format(
        params.get("user", ""),
        params.get("host", "localhost"),
        params.get("port", "5432"),
        params.get("dbname", ""),
    )


class Postgres:
    """The test server, and what tests do with it beside opening stores."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn

    def new_schema(self) -> str:
        """A schema name no other test, worker or user has (dropped at exit at
        the latest)."""
        name = f"wfdsl_test_{os.getpid()}_{secrets.token_hex(4)}"
        _made.add(name)
        return name

    def drop_schema(self, schema: str) -> None:
        from psycopg import sql

        with self.connect() as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
        _made.discard(schema)

    def connect(self) -> Any:
        """A separate autocommit connection (the caller closes it)."""
        import psycopg

        return psycopg.connect(self.dsn, autocommit=True)

    def query(self, text: str, *args: Any) -> list[tuple[Any, ...]]:
        """Run one statement on a connection of its own; its rows, if any."""
        with self.connect() as conn:
            cur = conn.execute(text, args)
            return cur.fetchall() if cur.description else []

    def terminate(self, application_name: str) -> int:
        """Kill every server backend whose ``application_name`` starts with this
        one (a store's pool and its worker session); how many died."""
        rows = self.query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE starts_with(application_name, %s) AND pid <> pg_backend_pid()",
            application_name,
        )
        return sum(1 for (ok,) in rows if ok)

    def store(self, schema: str, **options: Any) -> Any:
        """A ``PostgresStore`` on ``schema``."""
        from wfdsl.stores.postgres import PostgresStore

        return PostgresStore(self.dsn, schema=schema, **options)


@pytest.fixture(scope="session")
def postgres() -> Postgres:
    """The test server; skips (or, with ``WFDSL_REQUIRE_PG=1``, fails) the test
    when there is none."""
    dsn = os.environ.get(DSN_ENV, "").strip()
    problem = _probe(dsn) if dsn else f"{DSN_ENV} is not set"
    if problem is None:
        return Postgres(dsn)
    message = f"PostgreSQL tests need a server: {problem}; {HOW_TO_RUN}"
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but {message}", pytrace=False)
    pytest.skip(message)


@pytest.fixture
def pg_schema(postgres: Postgres) -> Iterator[str]:
    """A schema of this test's own, dropped when it ends."""
    schema = postgres.new_schema()
    try:
        yield schema
    finally:
        postgres.drop_schema(schema)


@atexit.register
def _drop_leftovers() -> None:
    dsn = os.environ.get(DSN_ENV, "").strip()
    if not dsn or not _made:
        return
    for schema in sorted(_made):
        with contextlib.suppress(Exception):
            Postgres(dsn).drop_schema(schema)
