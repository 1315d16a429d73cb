"""PostgresStore against hostile or careless input: names the server would
alter (tenants must never merge), psycopg's placeholder syntax, errors that no
retry can fix, and the read-only mode of the commands that only read."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from wfdsl.errors import SchemaNotFound, StoreError
from wfdsl.stores import open_store
from wfdsl.stores.postgres import (
    MAX_NAME_BYTES,
    SCHEMA_VERSION,
    PostgresStore,
    _split_schema,
    name_problem,
    transient,
)
from wfdsl.stores.records import InstanceRecord, Transition, TransitionKind

if TYPE_CHECKING:
    from pgtest import Postgres  # the ``postgres`` fixture (tests/pgtest.py)

AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def start(store: PostgresStore, iid: str, wf: str = "w") -> None:
    store.create(
        InstanceRecord(wf, iid, "a", 1, "fp", created_at=AT, updated_at=AT),
        Transition(1, TransitionKind.START, None, "a", None, None, {}, AT),
        (),
    )


@pytest.fixture
def schemas(postgres: Postgres) -> Iterator[list[str]]:
    """Schema names a test makes up; each dropped afterwards."""
    made: list[str] = []
    yield made
    for name in made:
        postgres.drop_schema(name)


# -- names ---------------------------------------------------------------------------

REFUSED = {
    "64 bytes": ("s" * 64, "64 bytes long"),
    "63 bytes and a 2-byte character": ("s" * 62 + "é", "64 bytes long"),
    "a percent sign": ("tenant%acme", "placeholder"),
    "a placeholder": ("x%(wf)s", "placeholder"),
    "the pg_ prefix": ("pg_tenant", "reserves"),
    "a newline": ("a\nb", "control characters"),
    "an escape": ("a\x1b[2Jb", "control characters"),
    "NUL": ("a\x00b", "NUL"),
    "empty": ("", "empty"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_schema_name_the_server_or_driver_would_alter_is_refused(case: str) -> None:
    name, reason = REFUSED[case]
    problem = name_problem(name)
    assert problem is not None and reason in problem
    with pytest.raises(StoreError, match=reason):
        # Refused before any connection: this server does not exist.
        PostgresStore("postgresql://nobody@192.0.2.1:1/none", schema=name)


def test_tenants_whose_names_differ_past_63_bytes_are_refused_not_merged(
    postgres: Postgres,
) -> None:
    prefix = "tenant_" + "x" * (MAX_NAME_BYTES - len("tenant_"))
    for name in (prefix + "_acme", prefix + "_globex"):
        with pytest.raises(StoreError, match="keeps only the first 63 bytes"):
            PostgresStore(postgres.dsn, schema=name)
        with pytest.raises(StoreError, match="keeps only the first 63 bytes"):
            open_store(f"{postgres.dsn}?schema={name}")
    assert postgres.query("SELECT 1 FROM pg_namespace WHERE nspname = %s", prefix[:63]) == []


ACCEPTED = {
    "63 ASCII bytes": "t" * 62 + "a",
    "63 bytes with 3-byte characters": "t" * 60 + "€",
    "upper case": "Tenant_ACME",
    "a space and a double quote": 'acme "prod" 1',
    "braces": "{s}{wf}",
    "a dash and a dot": "acme-prod.v2",
}


@pytest.mark.parametrize("case", sorted(ACCEPTED))
def test_a_schema_name_reaches_the_server_exactly_as_given(
    postgres: Postgres, schemas: list[str], case: str
) -> None:
    name = ACCEPTED[case]
    assert name_problem(name) is None
    schemas.append(name)
    with PostgresStore(postgres.dsn, schema=name) as store:
        start(store, "o-1")
    assert postgres.query("SELECT 1 FROM pg_namespace WHERE nspname = %s", name) == [(1,)]
    sibling = name[:-1] + ("b" if name[-1] != "b" else "c")
    schemas.append(sibling)
    with PostgresStore(postgres.dsn, schema=sibling) as other:
        assert other.instances() == []  # a tenant of its own
    with PostgresStore(postgres.dsn, schema=name, readonly=True) as again:
        assert [r.instance_id for r in again.instances()] == ["o-1"]


@pytest.mark.parametrize(
    ("name", "reason"),
    [("a" * 64, "64 bytes long"), ("café", "printable ASCII"), ("app\tname", "printable ASCII")],
)
def test_an_application_name_the_server_would_rewrite_is_refused(name: str, reason: str) -> None:
    with pytest.raises(StoreError, match=reason):
        PostgresStore("postgresql://nobody@192.0.2.1:1/none", application_name=name)
    with pytest.raises(StoreError, match=reason):
        PostgresStore(f"postgresql://nobody@192.0.2.1:1/none?application_name={name}")


def test_the_worker_session_name_stays_within_the_servers_limit(
    postgres: Postgres, pg_schema: str
) -> None:
    name = "n" * MAX_NAME_BYTES
    with PostgresStore(postgres.dsn, schema=pg_schema, application_name=name) as store:
        proof = store.identity()
        [(shown,)] = postgres.query(
            "SELECT a.application_name FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid "
            "WHERE l.locktype = 'advisory' AND l.objid::text = %s",
            proof,
        )
    assert shown == "n" * (MAX_NAME_BYTES - len(":worker")) + ":worker"


def test_the_schema_parameter_is_taken_out_without_re_encoding_the_rest() -> None:
    url = "postgresql://u:p%2Bw+d@h/db?application_name=a+b&schema=t%20x&sslmode=disable"
    assert _split_schema(url) == (
        "postgresql://u:p%2Bw+d@h/db?application_name=a+b&sslmode=disable",
        "t x",
    )
    assert _split_schema("host=h schema='t x' dbname=d") == ("host=h dbname=d", "t x")
    assert _split_schema("postgresql://[::1") == ("postgresql://[::1", None)


def test_a_keyword_connection_string_opens_a_store(postgres: Postgres, pg_schema: str) -> None:
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    keywords = make_conninfo(**conninfo_to_dict(postgres.dsn))  # host=... dbname=...
    with open_store(f"{keywords} schema={pg_schema}") as store:
        assert isinstance(store, PostgresStore) and store.schema == pg_schema
        start(store, "o-1")


# -- permanent errors fail at once ----------------------------------------------------


def test_errors_are_classified_transient_or_permanent() -> None:
    import psycopg
    from psycopg import errors

    transient_ones = [
        psycopg.OperationalError("server closed the connection unexpectedly"),
        errors.SerializationFailure(),
        errors.DeadlockDetected(),
        errors.AdminShutdown(),
        errors.CannotConnectNow(),
        errors.ConnectionFailure(),
        errors.TooManyConnections(),
        errors.LockNotAvailable(),
    ]
    permanent_ones = [
        errors.ProgramLimitExceeded(),  # an index row over 2,704 bytes
        errors.CheckViolation(),
        errors.UniqueViolation(),
        errors.StringDataRightTruncation(),
        errors.UntranslatableCharacter(),
        errors.InvalidTextRepresentation(),
        errors.UndefinedTable(),
        errors.ReadOnlySqlTransaction(),
        errors.DiskFull(),
        errors.QueryCanceled(),
    ]
    assert [transient(e) for e in transient_ones] == [True] * len(transient_ones)
    assert [transient(e) for e in permanent_ones] == [False] * len(permanent_ones)


def test_a_permanent_error_fails_at_once_without_advice_to_repeat(
    postgres: Postgres, pg_schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import wfdsl.stores.postgres as module

    slept: list[float] = []
    monkeypatch.setattr(module.time, "sleep", slept.append)
    long_id = "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(1200))
    # Past the runtime's limits, straight to the store: the btree row limit.
    with (
        PostgresStore(postgres.dsn, schema=pg_schema, retry_for=30) as store,
        pytest.raises(StoreError) as info,
    ):
        start(store, long_id)
    message = str(info.value)
    assert slept == []  # not retried
    assert "SQLSTATE 54000" in message and "index row size" in message
    assert "repeat" not in message and "\n" not in message


# -- read-only --------------------------------------------------------------------------


def test_a_read_only_store_never_creates_a_schema(postgres: Postgres) -> None:
    name = postgres.new_schema()
    with pytest.raises(SchemaNotFound) as info:
        PostgresStore(postgres.dsn, schema=name, readonly=True)
    assert info.value.where.endswith(f"(schema '{name}')")
    assert postgres.query("SELECT 1 FROM pg_namespace WHERE nspname = %s", name) == []


def test_a_read_only_store_refuses_an_older_schema_and_writes(
    postgres: Postgres, pg_schema: str
) -> None:
    with PostgresStore(postgres.dsn, schema=pg_schema) as store:
        start(store, "o-1")
    with PostgresStore(postgres.dsn, schema=pg_schema, readonly=True) as reader:
        assert reader.load("w", "o-1") is not None
        with pytest.raises(StoreError, match="read-only transaction"):
            start(reader, "o-2")  # refused by the server itself
        with pytest.raises(StoreError, match="read-only"):
            reader.identity()
    postgres.query(f'UPDATE "{pg_schema}".wf_meta SET version = %s', SCHEMA_VERSION - 1)
    with pytest.raises(StoreError, match="older than this wfdsl's"):
        PostgresStore(postgres.dsn, schema=pg_schema, readonly=True)
    postgres.query(f'UPDATE "{pg_schema}".wf_meta SET version = -1')
    with pytest.raises(StoreError, match="not a wfdsl schema version"):
        PostgresStore(postgres.dsn, schema=pg_schema)
