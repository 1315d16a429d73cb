"""``--db`` across every command: commands that only read never create or
migrate a store; no message shows a password, in either form of connection
string; malformed DSNs, guards that raise, hooks that exit and Ctrl-C each get
one clear line and the right exit code (SPEC §4)."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner, Result

from wfdsl.cli import cli
from wfdsl.stores.sqlite import MIGRATIONS

if TYPE_CHECKING:
    from pgtest import Postgres  # the ``postgres`` fixture (tests/pgtest.py)

ROOT = Path(__file__).resolve().parents[2]
SPEC = str(ROOT / "examples" / "order.wf")
SECRET = "hunter2-S3cret"

#: Every command that only reads a store, as arguments before ``--db URL``.
READERS = {
    "instances": ["instances"],
    "history": ["history", "o-1"],
    "render": ["render", SPEC, "--format", "dot"],
    "render-instance": ["render", SPEC, "--format", "dot", "--instance", "o-1"],
    "breaking": ["breaking", SPEC, SPEC],
}

#: Commands that write, as arguments before ``--db URL``.
WRITERS = {
    "start": ["start", "o-1", "--spec", SPEC],
    "send": ["send", "o-1", "pay", "--spec", SPEC],
    "compensate": ["compensate", "o-1", "created", "--spec", SPEC],
    "resume": ["resume", "--spec", SPEC],
    "retry": ["retry", "o-1", "--spec", SPEC],
}

EVERY_COMMAND = {**READERS, **WRITERS}


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def one_line_error(result: Result, code: int) -> str:
    assert result.exit_code == code, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("wfdsl: error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def snapshot(directory: Path) -> dict[str, tuple[str, int]]:
    """Every file of ``directory``: its hash and modification time."""
    return {
        p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(directory.iterdir())
    }


# -- commands that read never create or migrate -------------------------------------


def _plain(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner TEXT)")
    conn.commit()
    conn.close()


def _wal(path: Path) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner TEXT)")
    conn.execute("PRAGMA user_version = 0")
    conn.close()


def _versioned(version: int) -> object:
    def make(path: Path) -> None:
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY)")
        conn.execute(f"PRAGMA user_version = {version}")
        conn.commit()
        conn.close()

    return make


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _older_wfdsl(path: Path) -> None:
    conn = sqlite3.connect(path)
    for statement in MIGRATIONS[0]:
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()


#: Someone else's file -> what a reading command says about it.
FOREIGN = {
    "an application's database": (_plain, "no wfdsl schema in"),
    "a database in WAL mode": (_wal, "no wfdsl schema in"),
    "an empty file": (_empty, "no wfdsl schema in"),
    "a user_version of its own": (_versioned(12), "not a wfdsl database"),
    "a negative user_version": (_versioned(-1), "schema version -1 is not a wfdsl schema"),
    "a very negative user_version": (_versioned(-70000), "is not a wfdsl schema version"),
    "an older wfdsl schema": (_older_wfdsl, "older than this wfdsl's"),
}


@pytest.mark.parametrize("command", sorted(READERS))
@pytest.mark.parametrize("case", sorted(FOREIGN))
def test_a_reading_command_leaves_a_foreign_sqlite_file_byte_for_byte(
    tmp_path: Path, command: str, case: str
) -> None:
    make, says = FOREIGN[case]
    db = tmp_path / "other.db"
    make(db)  # type: ignore[operator]
    before = snapshot(tmp_path)
    line = one_line_error(run(*READERS[command], "--db", str(db)), 2)
    assert says in line and str(db) in line
    if case == "an older wfdsl schema":
        assert line.count(str(db)) == 1  # not "--db X: X: schema version ..."
    assert snapshot(tmp_path) == before  # no table, no user_version, no WAL, no -wal/-shm


def test_a_reading_command_reads_a_wfdsl_file_without_changing_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stores = tmp_path / "stores"
    stores.mkdir()
    db = stores / "orders.db"
    hooks = f"{ROOT / 'examples' / 'order_hooks.py'}:OrderHooks"
    monkeypatch.setenv("ORDER_LEDGER", str(tmp_path / "ledger.db"))
    assert run("start", "o-1", "--spec", SPEC, "--hooks", hooks, "--db", str(db)).exit_code == 0
    before = snapshot(stores)
    for args in READERS.values():
        assert run(*args, "--db", str(db)).exit_code == 0, args
    assert snapshot(stores) == before


def test_a_writing_command_still_creates_and_migrates(tmp_path: Path) -> None:
    db = tmp_path / "orders.db"
    _older_wfdsl(db)
    assert "still owes" not in run("resume", "--spec", SPEC, "--db", str(db)).output
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


@pytest.mark.parametrize("command", sorted(WRITERS))
def test_a_writing_command_refuses_a_negative_user_version(tmp_path: Path, command: str) -> None:
    db = tmp_path / "other.db"
    _versioned(-3)(db)  # type: ignore[operator]
    before = snapshot(tmp_path)
    line = one_line_error(run(*WRITERS[command], "--db", str(db)), 2)
    assert "schema version -3 is not a wfdsl schema version" in line
    assert snapshot(tmp_path) == before


@pytest.mark.postgres
@pytest.mark.parametrize("command", sorted(READERS))
def test_a_reading_command_never_creates_a_postgresql_schema(
    postgres: Postgres, command: str
) -> None:
    schema = postgres.new_schema()
    url = f"{postgres.dsn}?schema={schema}"
    line = one_line_error(run(*READERS[command], "--db", url), 2)
    assert "no wfdsl schema in PostgreSQL at" in line and f"(schema '{schema}')" in line
    assert postgres.query("SELECT 1 FROM pg_namespace WHERE nspname = %s", schema) == []


# -- passwords are never shown --------------------------------------------------------


def _pg_urls(dsn: str) -> dict[str, str]:
    """Connection strings that carry SECRET, each failing in its own way."""
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(dsn)
    host, port, db = params.get("host", "localhost"), params.get("port", "5432"), params["dbname"]
    user = params.get("user", "postgres")
    return {
        "URL, no such schema": f"postgresql://{user}:{SECRET}@{host}:{port}/{db}?schema={{schema}}",
        "URL, nothing listening": f"postgresql://{user}:{SECRET}@{host}:1/{db}",
        "URL, bad percent-escape": f"postgresql://{user}:{SECRET}%zz@{host}/{db}",
        "URL, bad IPv6 host": f"postgresql://{user}:{SECRET}@[::1",
        "URL, unknown parameter": f"postgresql://{user}@{host}/{db}?bogus=1&password={SECRET}",
        "URL, schema name too long": f"postgresql://{user}:{SECRET}@{host}/{db}?schema={'s' * 64}",
        "keywords, nothing listening": f"host={host} port=1 dbname={db} password={SECRET}",
        "keywords, a space in the password": f"host={host} password=my {SECRET} dbname={db}",
        "keywords, quoted password": f"host={host} port=1 password='my {SECRET}' dbname={db}",
        "keywords, unknown keyword": f"host={host} pasword={SECRET}",
        "unknown scheme": f"mysql://{user}:{SECRET}@{host}/{db}",
        "scheme with a driver": f"postgresql+psycopg://{user}:{SECRET}@{host}/{db}",
    }


@pytest.fixture(scope="module")
def secret_urls() -> dict[str, str]:
    dsn = os.environ.get("WFDSL_PG_DSN") or "postgresql://postgres@localhost:5432/test"
    return _pg_urls(dsn)


CASES = sorted(_pg_urls("postgresql://postgres@localhost:5432/test"))


@pytest.mark.parametrize("command", sorted(EVERY_COMMAND))
@pytest.mark.parametrize("case", CASES)
def test_no_db_error_shows_the_password(
    secret_urls: dict[str, str],
    command: str,
    case: str,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    monkeypatch.setenv("PGPASSWORD", "env-" + SECRET)
    monkeypatch.setenv("PGCONNECT_TIMEOUT", "2")
    url = secret_urls[case]
    if "{schema}" in url:  # a schema of this test's own (writing commands create it)
        url = url.format(schema=request.getfixturevalue("pg_schema"))
    result = run(*EVERY_COMMAND[command], "--db", url)
    assert result.exit_code != 0
    assert SECRET not in result.output and "Traceback" not in result.output
    if command in READERS or "no such schema" not in case:
        one_line_error(result, 2)


def test_a_store_never_shows_its_password(postgres: Postgres, pg_schema: str) -> None:
    from wfdsl.stores.postgres import PostgresStore

    url = postgres.dsn.replace("://", f"://{postgres_user(postgres)}:{SECRET}@", 1)
    url = url.replace("@" + postgres_user(postgres) + "@", "@")
    with PostgresStore(url, schema=pg_schema) as store:
        assert SECRET not in repr(store) and SECRET not in store.scope


def postgres_user(postgres: Postgres) -> str:
    from psycopg.conninfo import conninfo_to_dict

    return str(conninfo_to_dict(postgres.dsn).get("user", "postgres"))


@pytest.mark.parametrize(
    ("dsn", "fragment"),
    [
        ("postgresql://u@h:notaport/db", "cannot connect"),
        ("postgresql://[::1", "invalid PostgreSQL connection string"),
        ("postgresql://u@127.0.0.1/db?sslmode=sometimes", "invalid sslmode value"),
        ("host=h dbname", "invalid PostgreSQL connection string"),
        ("host='unterminated", "invalid PostgreSQL connection string"),
        ("postgresql://h/db?schema=a%25b", "contains '%'"),
        ("postgresql://h/db?schema=pg_catalog", "reserves"),
        ("postgresql://h/db?application_name=caf%C3%A9", "printable ASCII"),
    ],
)
def test_a_malformed_dsn_is_one_line_and_exit_2(
    dsn: str, fragment: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGCONNECT_TIMEOUT", "2")
    for args in (READERS["instances"], WRITERS["send"]):
        assert fragment in one_line_error(run(*args, "--db", dsn), 2)


# -- guards that raise, hooks that exit, Ctrl-C ---------------------------------------

WF = textwrap.dedent(
    """\
    workflow pay {
        initial state created
        state paid { enter charge, notify }
        final state done
        event pay, finish
        created -> paid on pay if enough
        paid -> done on finish
    }
    """
)

HOOKS = textwrap.dedent(
    """\
    import os, sys

    class Hooks:
        def enough(self, ctx):
            return ctx.data["amount"] > 10

        def charge(self, ctx):
            how = os.environ.get("CHARGE")
            if how == "exit":
                sys.exit(0)
            if how == "ctrl-c":
                raise KeyboardInterrupt

        def notify(self, ctx):
            pass
    """
)


@pytest.fixture
def app(tmp_path: Path) -> tuple[list[str], str]:
    """``wfdsl`` as a real process, with the arguments that name the spec,
    hooks and database of a fresh app; and the database."""
    (tmp_path / "pay.wf").write_text(WF)
    (tmp_path / "pay_hooks.py").write_text(HOOKS)
    db = str(tmp_path / "pay.db")
    tail = ["--spec", str(tmp_path / "pay.wf"), "--hooks", f"{tmp_path}/pay_hooks.py:Hooks"]
    return [*tail, "--db", db], db


def wfdsl(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wfdsl", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def owed(db: str) -> list[int]:
    rows = json.loads(wfdsl("instances", "--db", db, "--format", "json").stdout)
    return [r["pending"] for r in rows]


def test_a_guard_that_raises_is_one_line_and_exit_1(app: tuple[list[str], str]) -> None:
    tail, db = app
    assert wfdsl("start", "o-1", *tail).returncode == 0
    done = wfdsl("send", "o-1", "pay", *tail)  # no data: ctx.data["amount"] is missing
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines() == [
        "wfdsl: error: pay: guard 'enough' raised KeyError: 'amount' for instance 'o-1' "
        "(in state 'created', event 'pay'); nothing was applied"
    ]
    rows = json.loads(wfdsl("history", "o-1", "--db", db, "--format", "json").stdout)
    assert [r["target"] for r in rows] == ["created"]


def test_a_hook_that_calls_sys_exit_0_does_not_pass_for_success(
    app: tuple[list[str], str],
) -> None:
    tail, db = app
    wfdsl("start", "o-1", *tail)
    done = wfdsl("send", "o-1", "pay", "--data", '{"amount": 50}', *tail, env={"CHARGE": "exit"})
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "wfdsl: error: a hook or guard called sys.exit(0) while the workflow ran; "
        "o-1 owes charge, o-1 owes notify (wfdsl resume runs it)"
    ]
    assert owed(db) == [2]
    resumed = wfdsl("resume", *tail)
    assert resumed.returncode == 0 and owed(db) == [0]


def test_ctrl_c_in_a_hook_exits_130_and_says_what_is_owed(app: tuple[list[str], str]) -> None:
    tail, db = app
    wfdsl("start", "o-1", *tail)
    done = wfdsl("send", "o-1", "pay", "--data", '{"amount": 50}', *tail, env={"CHARGE": "ctrl-c"})
    assert done.returncode == 130
    assert done.stderr.splitlines() == [
        "wfdsl: error: interrupted; o-1 owes charge, o-1 owes notify (wfdsl resume runs it)"
    ]
    assert owed(db) == [2]


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ('{"a": ' * 100_000 + "1" + "}" * 100_000, "--data nests too deep"),
        ('{"a": ' * 65 + "1" + "}" * 65, "nests more than 64 levels"),
        ('{"n": 1' + "0" * 80 + "}", "more than 64 digits"),
        ('{"n": 1' + "0" * 5000 + "}", "--data cannot be read: Exceeds the limit"),
    ],
    ids=["deeper-than-json-reads", "deeper-than-the-limit", "too-many-digits", "past-int-max"],
)
def test_data_beyond_the_limits_is_one_line_and_exit_2(
    app: tuple[list[str], str], data: str, fragment: str
) -> None:
    tail, _ = app
    wfdsl("start", "o-1", *tail)
    for command in (["send", "o-1", "pay"], ["start", "o-2"]):
        result = run(*command, "--data", data, *tail)
        assert fragment in one_line_error(result, 2)


# -- arguments that are not UTF-8 -----------------------------------------------------


def test_arguments_that_are_not_utf8_are_unknown_not_internal_errors(
    app: tuple[list[str], str],
) -> None:
    tail, db = app
    wfdsl("start", "o-1", *tail)
    raw = os.fsdecode(b"o-\xff")  # how Python receives undecodable bytes from argv
    for args, code, says in [
        (["send", raw, "pay", *tail], 2, "unknown instance 'o-\\udcff'"),
        (["history", raw, "--db", db], 2, "no instance 'o-\\udcff'"),
        (["send", "o-1", "pay", "--key", raw, *tail], 2, "lone surrogate"),
        (["start", raw, *tail], 2, "lone surrogate"),
    ]:
        done = subprocess.run(
            [sys.executable, "-m", "wfdsl", *map(os.fsencode, args)],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=120,
        )
        assert done.returncode == code, (args, done.stderr)
        [line] = done.stderr.splitlines()
        assert line.startswith("wfdsl: error: ") and says in line, line
    listed = wfdsl("instances", "--db", db, "--workflow", raw, "--state", raw)
    assert listed.returncode == 0 and listed.stderr == "no instances\n"
