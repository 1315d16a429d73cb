"""``wfdsl lint``: check files and directories, report in four formats."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import click

from wfdsl.cli.common import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, UserError
from wfdsl.cli.fileio import inside, write_output
from wfdsl.diagnostics import Diagnostic
from wfdsl.frontend.source import read_limited
from wfdsl.lint.config import ConfigError, ConfigFinder, Selection
from wfdsl.lint.engine import lint_bytes
from wfdsl.lint.report import FORMATS, Sources, render

_SKIP_DIRS = {"node_modules", "__pycache__", "venv"}


def _split_codes(values: Sequence[str]) -> list[str]:
    return [part.strip() for v in values for part in v.split(",") if part.strip()]


@dataclass(frozen=True, slots=True)
class Target:
    """A file that ``lint`` or ``fmt`` works on."""

    path: str
    #: The directory searched to find it: ``fmt`` writes only inside it. None
    #: for a file named on the command line.
    root: str | None = None
    #: Why it is not read: an error, or, with ``skipped``, a warning.
    problem: str | None = None
    #: Left out on purpose (a symbolic link out of the directory searched).
    skipped: bool = False

    def report(self) -> int:
        """Say on stderr why the file is not read: 1 for an error, 0 for a
        warning (a file skipped on purpose)."""
        kind = "warning" if self.skipped else "error"
        click.echo(f"wfdsl: {kind}: {self.path}: {self.problem}", err=True)
        return 0 if self.skipped else 1


def iter_wf_files(paths: Sequence[str]) -> Iterator[Target]:
    """Every file to lint: given files as they are, directories searched for
    ``*.wf`` (hidden directories and virtualenvs skipped), sorted; a file
    reached twice (``flows flows/a.wf``) comes once.

    A search stays inside its directory: symbolic links to directories are
    not followed, and a ``*.wf`` link to a file outside is skipped (a
    warning names it), so that no snippet shows a file the user did not ask
    for. Special files are refused when read (:func:`read_limited`).
    """
    seen: set[str] = set()

    def first(path: str) -> bool:
        key = os.path.normcase(os.path.realpath(path))
        new = key not in seen
        seen.add(key)
        return new

    for path in paths:
        if os.path.isdir(path):
            real_root = os.path.realpath(path)
            found: list[str] = []
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIP_DIRS)
                found.extend(os.path.join(root, f) for f in files if f.endswith(".wf"))
            for f in sorted(found):
                real = os.path.realpath(f)
                if os.path.islink(f) and not inside(real, real_root):
                    why = f"skipped: a symbolic link to {real}, outside {path}"
                    yield Target(f, path, why, skipped=True)
                elif first(f):
                    yield Target(f, path)
        elif os.path.lexists(path):
            if first(path):
                yield Target(path)
        else:
            yield Target(path, problem="no such file or directory")


@click.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--select",
    multiple=True,
    metavar="CODES",
    help="Exactly the rules to run (replaces the defaults and the config's selection).",
)
@click.option("--extend-select", multiple=True, metavar="CODES", help="Rules to run in addition.")
@click.option("--ignore", multiple=True, metavar="CODES", help="Rules not to run.")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the report to FILE instead of standard output.",
)
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option("--no-config", is_flag=True, help="Ignore [tool.wfdsl.lint] in pyproject.toml.")
def lint(
    paths: tuple[str, ...],
    fmt: str,
    select: tuple[str, ...],
    extend_select: tuple[str, ...],
    ignore: tuple[str, ...],
    output: str | None,
    exit_zero: bool,
    no_config: bool,
) -> None:
    """Lint `.wf` files; directories are searched for `*.wf`.

    CODES are comma-separated rule codes (WF201), prefixes (WF2), names
    (unreachable-state) or ALL. Flags apply on top of `[tool.wfdsl.lint]` in
    the nearest pyproject.toml. Exit status: 0 clean, 1 findings, 2 error.
    """
    from wfdsl import __version__

    flags = (
        _split_codes(select) if select else None,
        _split_codes(extend_select) if extend_select else None,
        _split_codes(ignore) if ignore else None,
    )
    try:
        Selection(source="command line").override(*flags).validate()
    except ConfigError as exc:
        raise click.UsageError(str(exc).removeprefix("command line: ")) from None

    finder = ConfigFinder()
    diags: list[Diagnostic] = []
    sources: Sources = {}
    problems = 0
    files = 0
    if output is not None:
        _refuse_input_as_output(output, paths)
    for target in iter_wf_files(paths):
        path = target.path
        if target.problem is not None:
            problems += target.report()
            continue
        try:
            base = Selection() if no_config else finder.for_file(path)
            selection = base.override(*flags)
            data = read_limited(path)
        except ConfigError as exc:
            raise UserError(str(exc)) from None
        except OSError as exc:
            click.echo(f"wfdsl: error: {path}: {exc.strerror or exc}", err=True)
            problems += 1
            continue
        files += 1
        result = lint_bytes(data, path, selection)
        sources[path] = result.text
        diags.extend(result.diagnostics)

    color = (
        fmt == "text" and output is None and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    )
    report = render(fmt, diags, sources, files, color, __version__)
    if files == 0 and not problems:
        click.echo("wfdsl: warning: no .wf files found in " + ", ".join(paths), err=True)
    if fmt == "text" and files == 0:
        report = ""  # nothing was linted; the messages above say why
    if output is not None:
        write_output(output, report, root=None, mark=None, writer="wfdsl lint")
    else:
        click.echo(report, nl=False)
    if problems:
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_FINDINGS if diags and not exit_zero else EXIT_OK)


def _refuse_input_as_output(output: str, paths: Sequence[str]) -> None:
    """:raises UserError: ``--output`` names a file being linted (the report
    would replace it)."""
    out = os.path.normcase(os.path.realpath(output))
    for path in paths:
        real = os.path.normcase(os.path.realpath(path))
        if out == real or (os.path.isdir(path) and inside(out, real) and out.endswith(".wf")):
            raise UserError(f"{output}: is a file being linted; the report would replace it")
