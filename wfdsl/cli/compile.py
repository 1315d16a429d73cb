"""``wfdsl compile``: generate typed Python modules from ``.wf`` files; ``--check`` for CI."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import click

from wfdsl.cli.common import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, UserError, write_output

if TYPE_CHECKING:
    from wfdsl.errors import SpecError


@dataclass(frozen=True, slots=True)
class _Failure:
    """A file that could not be compiled, and the exit status it calls for."""

    message: str
    status: int


def _identity(path: str) -> str:
    """One key per file however it is named (relative, ``..``, symlinks, case)."""
    return os.path.normcase(os.path.realpath(path))


def _read_text(path: str) -> str | None:
    """The file's text, or None if it does not exist."""
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            return fh.read()
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        return ""  # not a module we wrote: stale
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _spec_failure(path: str, exc: SpecError) -> _Failure:
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as fh:
            text: str | None = fh.read()
    except OSError:
        text = None
    blocks = [d.render(text) for d in exc.diagnostics]
    return _Failure("\n\n".join(blocks), EXIT_FINDINGS)


@click.command(name="compile")
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.option(
    "-o",
    "--output",
    metavar="OUT",
    help="Write the module to OUT (only with a single FILE); missing directories are made.",
)
@click.option(
    "--out-dir",
    metavar="DIR",
    help="Write each module to DIR/<workflow>_wf.py (created if missing).",
)
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing; exit 1 and name every module that is missing or out of date.",
)
def compile_command(
    files: tuple[str, ...], output: str | None, out_dir: str | None, check: bool
) -> None:
    """Generate a typed Python module from each `.wf` FILE.

    The module defines `State` and `Event` (StrEnum), a `Hooks` Protocol, the
    spec as data (`SPEC`) and `manager(store, hooks)`, which returns a
    `Manager[State, Event]`. Without -o or --out-dir each module is written
    beside its source as <workflow>_wf.py. Exit status: 0 ok, 1 invalid
    source or (with --check) stale modules, 2 error.
    """
    from wfdsl.codegen import GeneratedModule, generate_module, module_filename, read_source
    from wfdsl.errors import CodegenError, SpecError

    if output is not None and out_dir is not None:
        raise click.UsageError("give -o/--output or --out-dir, not both")
    if output is not None and len(files) > 1:
        raise click.UsageError("-o/--output takes one FILE; use --out-dir for several")

    modules: list[GeneratedModule] = []
    failures: list[_Failure] = []
    for path in files:
        if os.path.isdir(path):
            failures.append(
                _Failure(f"wfdsl: error: {path}: is a directory, not a .wf file", EXIT_ERROR)
            )
            continue
        try:
            source = read_source(path)
            target = output
            if out_dir is not None:
                target = os.path.join(out_dir, module_filename(source.spec))
            modules.append(generate_module(source, target))
        except OSError as exc:
            failures.append(
                _Failure(f"wfdsl: error: {path}: cannot read: {exc.strerror or exc}", EXIT_ERROR)
            )
        except SpecError as exc:
            failures.append(_spec_failure(path, exc))
        except CodegenError as exc:
            failures.append(_Failure(f"{path}: {exc}", EXIT_FINDINGS))

    seen: dict[str, str] = {}
    sources = {_identity(path) for path in files}
    for m in modules:
        key = _identity(m.output)
        if key in sources:
            raise UserError(f"{m.output}: is a source file; generating would overwrite it")
        if key in seen:
            raise UserError(f"{seen[key]} and {m.source} would both be written to {m.output}")
        seen[key] = m.source

    stale = 0
    if check:
        for m in modules:
            on_disk = _read_text(m.output)
            if on_disk is None:
                click.echo(f"{m.output}: missing (generated from {m.source})")
                stale += 1
            elif on_disk != m.text:
                click.echo(f"{m.output}: stale, does not match {m.source}")
                stale += 1
        if stale:
            click.echo(
                f"{stale} generated module{'s' if stale != 1 else ''} out of date; "
                "run `wfdsl compile` without --check to regenerate",
                err=True,
            )
        elif modules:
            click.echo(f"{len(modules)} module{'s' if len(modules) != 1 else ''} up to date")
    else:
        for m in modules:
            if _read_text(m.output) == m.text:
                click.echo(f"{m.output}: up to date")
                continue
            # --out-dir DIR and -o app/x_wf.py alike: missing directories are made.
            parent = os.path.dirname(m.output)
            try:
                os.makedirs(parent or os.curdir, exist_ok=True)
            except OSError as exc:
                raise UserError(f"{parent}: cannot create: {exc.strerror or exc}") from None
            write_output(m.output, m.text)
            click.echo(f"{m.output}: written from {m.source}")

    for failure in failures:
        click.echo(failure.message, err=True)
    status = max([EXIT_OK, *(f.status for f in failures)])
    if stale:
        status = max(status, EXIT_FINDINGS)
    click.get_current_context().exit(status)
