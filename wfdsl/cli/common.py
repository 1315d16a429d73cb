"""Pieces every command shares: exit codes, user-facing errors, output files, stores."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
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


def write_output(path: str, data: str | bytes) -> None:
    """Write a command's output file atomically; a failure is a user-facing error."""
    from wfdsl.fileio import write_atomic

    try:
        write_atomic(path, data)
    except OSError as exc:
        raise UserError(f"{path}: cannot write: {exc.strerror or exc}") from None


def _is_file_url(db: str) -> str | None:
    """The SQLite file ``db`` names, if it names one."""
    if db in (":memory:", "memory://", "memory:"):
        return None
    scheme, sep, rest = db.partition("://")
    if not sep:
        return db
    if scheme == "sqlite":
        return rest[1:] if rest.startswith("/") else rest
    return None


@contextmanager
def opened_store(db: str, *, must_exist: bool) -> Iterator[Store]:
    """The store ``--db`` names, closed afterwards; a bad URL or (with
    ``must_exist``) a SQLite file that does not exist is a :class:`UserError`,
    so a typo never creates an empty database."""
    from wfdsl.errors import StoreError
    from wfdsl.stores import open_store

    path = _is_file_url(db)
    if must_exist and path and not os.path.exists(path):
        raise UserError(f"--db {db}: no such database file")
    try:
        store = open_store(db)
    except StoreError as exc:
        raise UserError(f"--db {db}: {exc}") from None
    try:
        yield store
    finally:
        store.close()
