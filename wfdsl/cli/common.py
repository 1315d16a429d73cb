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


def write_output(path: str, text: str) -> None:
    """Write ``text`` to ``path`` atomically (a temporary file renamed over it)."""
    import os
    import tempfile

    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".wfdsl-", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        raise UserError(f"{path}: cannot write: {exc.strerror or exc}") from None
