"""Pieces every command shares: exit codes, user-facing errors, specs, stores.

Output files are written through :func:`wfdsl.cli.fileio.write_output`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from wfdsl.ir import Spec
    from wfdsl.stores.base import Store

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2


class UserError(click.ClickException):
    """A mistake the user can fix (missing file, bad URL): message to stderr, exit 2."""

    exit_code = EXIT_ERROR

    def format_message(self) -> str:
        return self.message

    def show(self, file: object = None) -> None:
        click.echo(f"wfdsl: error: {self.format_message()}", err=True)


def load_spec(path: str) -> Spec:
    """The spec in ``path``, or a :class:`UserError` saying what is wrong with it."""
    from wfdsl.errors import SpecError
    from wfdsl.frontend.source import load

    try:
        return load(path)
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except SpecError as exc:
        shown = "\n".join(d.headline() for d in exc.diagnostics[:10])
        more = len(exc.diagnostics) - 10
        if more > 0:
            shown += f"\n... and {more} more (run wfdsl lint {path})"
        raise UserError(f"{path} is not a valid workflow:\n{shown}") from None


def db_error(db: str, exc: BaseException | str) -> UserError:
    """The one-line error for ``--db DB``: ``exc`` said, no password shown
    (:func:`wfdsl.stores.urls.redact`, which every ``--db`` message goes through)."""
    from wfdsl.stores.urls import redact

    text = " ".join(str(exc).split())
    # A store's message may start with the path the user just gave: say it once.
    text = text.removeprefix(f"{db}: ")
    return UserError(redact(f"--db {db}: {text}", db))


@contextmanager
def opened_store(db: str, *, readonly: bool = True, must_exist: bool = True) -> Iterator[Store]:
    """The store ``--db`` names, closed afterwards.

    ``readonly`` (the default, for commands that only read): the store is never
    created nor migrated, and a file or PostgreSQL schema without wfdsl's
    schema is a :class:`UserError` ("no wfdsl schema in ..."), left untouched.
    Commands that write pass ``readonly=False``; with ``must_exist`` (the
    default), a SQLite file that does not exist is still an error, so a typo
    never creates an empty database (``start`` passes ``must_exist=False``).
    Every message is one line without a password.
    """
    from wfdsl.errors import StoreError
    from wfdsl.stores import open_store, sqlite_path

    path = sqlite_path(db)
    if (readonly or must_exist) and path and path != ":memory:" and not os.path.exists(path):
        raise db_error(db, "no such database file")
    try:
        store = open_store(db, readonly=readonly)
    except StoreError as exc:
        raise db_error(db, exc) from None
    try:
        yield store
    finally:
        store.close()
