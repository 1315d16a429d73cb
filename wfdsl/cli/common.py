"""Pieces every command shares: exit codes and user-facing errors."""

from __future__ import annotations

import click

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
