"""``wfdsl render``: a workflow's diagram as DOT, SVG, PNG, PDF or Mermaid."""

from __future__ import annotations

import os
import shlex
import sys

import click

from wfdsl.cli.common import EXIT_FINDINGS, UserError, load_spec
from wfdsl.cli.fileio import write_output
from wfdsl.errors import RenderError, UnknownInstance, WorkflowError
from wfdsl.ir import Spec
from wfdsl.render import FORMATS, SUFFIXES, Detail, Overlay, render


def _overlay(db: str, spec: Spec, instance: str | None) -> Overlay:
    # Reading only: never creates or migrates a store (a mistyped path or schema is
    # an error, not a new empty database).
    from wfdsl.cli.common import db_error, opened_store
    from wfdsl.render.overlay import overlay_from_store

    with opened_store(db, readonly=True) as store:
        try:
            return overlay_from_store(store, spec, instance)
        except UnknownInstance:
            raise UserError(
                f"no instance {instance!r} of workflow {spec.name!r} in the database"
            ) from None
        except WorkflowError as exc:
            raise db_error(db, exc) from None


def _format(fmt: str | None, output: str | None) -> str:
    if fmt:
        return fmt
    if output is None or output == "-":
        return "dot"
    suffix = os.path.splitext(output)[1].lower()
    found = SUFFIXES.get(suffix)
    if found is None:
        raise UserError(
            f"cannot tell the format from {output!r}; "
            f"give --format ({', '.join(FORMATS)}) or a suffix like .svg, .png, .dot, .mmd"
        )
    return found


#: ``--detail`` when not given: everything.
DEFAULT_DETAIL = int(Detail.HOOKS)

#: The ``--detail`` option of ``render`` and ``preview``.
detail_option = click.option(
    "--detail",
    type=click.IntRange(0, 2),
    default=DEFAULT_DETAIL,
    show_default=True,
    help="0: states and events; 1: with guards; 2: with hooks and compensators.",
)


def _same_file(a: str, b: str) -> bool:
    """``a`` and ``b`` name one file (however they are spelled)."""
    return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))


def _rerun(file: str, output: str, fmt: str | None, detail: int) -> str:
    """The command that rewrites ``output`` the way ``--check`` renders it."""
    args = ["wfdsl", "render", file, "-o", output]
    if fmt is not None:
        args += ["--format", fmt]
    if detail != DEFAULT_DETAIL:
        args += ["--detail", str(detail)]
    return shlex.join(args)


def _check(file: str, output: str, data: bytes, rerun: str) -> None:
    """Exit 1 unless ``output`` holds exactly ``data``.

    ``output`` is read as every input is (:func:`~wfdsl.frontend.source.read_limited`):
    a FIFO, device or directory is an error, not a read that blocks or never
    ends, and no more than one byte past ``data``'s length is read.

    :raises UserError: ``output`` cannot be read, or is not a regular file.
    """
    from wfdsl.frontend.source import FileTooLarge, read_limited

    problem = f"out of date with {file}"
    try:
        same = read_limited(output, len(data), what="the diagram it should be") == data
    except FileNotFoundError:
        same, problem = False, "missing"
    except FileTooLarge:
        same = False
    except OSError as exc:
        raise UserError(f"{output}: cannot read: {exc.strerror or exc}") from None
    if not same:
        click.echo(f"{output}: {problem}; run: {rerun}", err=True)
        sys.exit(EXIT_FINDINGS)


@click.command()
@click.argument("file", metavar="FILE")
@click.option(
    "-o",
    "--output",
    metavar="OUT",
    help="Write the diagram to OUT (default: standard output).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    help="Output format (default: from OUT's suffix, or dot).",
)
@detail_option
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing; exit 1 if OUT is missing or differs from a fresh render.",
)
@click.option(
    "--db",
    metavar="URL",
    help="Overlay live data from this database (SQLite path, sqlite:///path, postgresql://...).",
)
@click.option(
    "--instance",
    metavar="ID",
    help="With --db: draw this instance's path in bold and highlight its current state.",
)
def render_command(
    file: str,
    output: str | None,
    fmt: str | None,
    detail: int,
    check: bool,
    db: str | None,
    instance: str | None,
) -> None:
    """Draw the workflow in FILE.

    SVG, PNG and PDF need Graphviz's `dot` program; DOT and Mermaid do not.
    Without --db, each state is drawn as in the spec; with --db, each state
    shows how many instances are in it (shaded by the count); with --db and
    --instance, the instance's path is bold and its current state highlighted.
    """
    if instance is not None and db is None:
        raise click.UsageError("--instance needs --db")
    if check and output in (None, "-"):
        raise click.UsageError("--check needs -o OUT (the committed diagram to compare)")
    if check and db is not None:
        raise click.UsageError("--check compares committed diagrams; it takes no --db")
    if output not in (None, "-") and _same_file(output, file):
        raise UserError(f"{output}: is the workflow file itself; writing would overwrite it")
    explicit_fmt = fmt
    fmt = _format(fmt, output)
    spec = load_spec(file)
    overlay = _overlay(db, spec, instance) if db is not None else None
    try:
        data = render(spec, fmt, detail=Detail(detail), overlay=overlay)
    except RenderError as exc:
        raise UserError(str(exc)) from None
    if fmt == "mermaid":
        from wfdsl.render.mermaid import limits_warning

        warning = limits_warning(data.decode(), Detail(detail))
        if warning is not None:
            click.echo(f"wfdsl: warning: {file}: {warning}", err=True)
    if check:
        _check(file, output or "", data, _rerun(file, output or "", explicit_fmt, detail))
        return
    if output is None or output == "-":
        if fmt in ("png", "pdf") and sys.stdout.isatty():
            raise UserError(f"not writing {fmt} to a terminal; give -o FILE")
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    write_output(output, data, root=None, mark=None, writer="wfdsl render")
