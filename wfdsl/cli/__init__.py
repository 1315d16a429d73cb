"""The ``wfdsl`` command line. Only this package imports click.

Commands live one per module and are imported when invoked, so that
``wfdsl lint`` never pays for jinja2, graphviz or a database driver.
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from typing import Any

import click

#: command name -> "module:attribute"
COMMANDS: dict[str, str] = {
    "lint": "wfdsl.cli.lint:lint",
    "compile": "wfdsl.cli.compile:compile_command",
    "render": "wfdsl.cli.render:render_command",
    "docs": "wfdsl.cli.docs:docs",
    "preview": "wfdsl.cli.preview:preview",
    "fmt": "wfdsl.cli.fmt:fmt",
    "lsp": "wfdsl.cli.lsp:lsp",
    "breaking": "wfdsl.cli.breaking:breaking",
    "instances": "wfdsl.cli.runtime:instances",
    "history": "wfdsl.cli.runtime:history",
    "timers": "wfdsl.cli.runtime:timers",
    "worker": "wfdsl.cli.worker:worker",
    "start": "wfdsl.cli.runtime:start",
    "send": "wfdsl.cli.runtime:send",
    "resume": "wfdsl.cli.runtime:resume",
    "compensate": "wfdsl.cli.runtime:compensate",
    "retry": "wfdsl.cli.runtime:retry",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, attr = target.partition(":")
        command: click.Command = getattr(importlib.import_module(module), attr)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="wfdsl", prog_name="wfdsl")
def cli() -> None:
    """Workflows as state machines: lint, format, compile, render and run `.wf` files."""


def main(argv: list[str] | None = None) -> Any:
    """Console entry point. Exit codes: 0 ok, 1 findings, 2 usage/file/internal error.

    Standard error is made safe for a terminal and a stream that cannot be
    written is one line and exit 2 (:mod:`wfdsl.cli.terminal`).
    """
    from wfdsl.cli.terminal import OutputError, guarded_streams, report_output_error

    with guarded_streams():
        try:
            status = _run(argv)
            sys.stdout.flush()  # what is still buffered fails here, not at exit
        except OutputError as exc:
            report_output_error(exc)
            status = 2
    sys.exit(status)


def _run(argv: list[str] | None) -> int:
    """Run the command line; the exit status.

    :raises OutputError: standard output or error could not be written.
    """
    from wfdsl.cli.terminal import OutputError

    # Not click's standalone mode: it turns Ctrl-C into "Aborted!" and exit 1,
    # which here means "findings" and would pass for a lint result in CI.
    try:
        status = cli.main(args=argv, prog_name="wfdsl", standalone_mode=False)
    except SystemExit as exc:
        return _status(exc.code)
    except (KeyboardInterrupt, click.exceptions.Abort):
        click.echo("wfdsl: interrupted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except OutputError:
        raise
    except Exception as exc:  # a bug, not a user mistake: say so, traceback on request
        return _internal(exc)
    return status if type(status) is int else 0


def _status(code: object) -> int:
    """The exit status ``sys.exit(code)`` asks for, as the interpreter reads it."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    click.echo(str(code), err=True)
    return 1


def _internal(exc: BaseException) -> int:
    if os.environ.get("WFDSL_DEBUG"):
        traceback.print_exc()
    click.echo(f"wfdsl: internal error: {type(exc).__name__}: {exc}", err=True)
    click.echo("  (set WFDSL_DEBUG=1 for the traceback, and please report it)", err=True)
    return 2
