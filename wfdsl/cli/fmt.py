"""``wfdsl fmt``: rewrite `.wf` files in the canonical layout, comments kept."""

from __future__ import annotations

import difflib
import os
import sys

import click

from wfdsl.cli.common import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK
from wfdsl.cli.fileio import write_atomic
from wfdsl.cli.lint import Target, iter_wf_files
from wfdsl.diagnostics import visible
from wfdsl.errors import FormatError, SpecError
from wfdsl.fmt import format_source
from wfdsl.frontend.parser import line_end_of, normalize_line_ends
from wfdsl.frontend.source import decode, read_limited, read_stream
from wfdsl.lint.config import ConfigError, ConfigFinder

STDIN = "-"


_LINE_END_NAMES = {"\n": "\\n", "\r\n": "\\r\\n", "\r": "\\r"}


def _lines(text: str) -> list[str]:
    """``text`` (line ends normalised) cut after each ``\n`` and nowhere else:
    ``str.splitlines`` would also cut at a form feed or U+2028."""
    lines = [line + "\n" for line in text.split("\n")]
    lines[-1] = lines[-1][:-1]
    return lines if lines[-1] else lines[:-1]


def _unified(before: str, after: str, path: str) -> str:
    """A unified diff of the layout, line ends shown as ``\n`` (a diff of
    ``\r`` line ends would not read on a terminal); see :func:`_line_end_note`.
    Control characters in the file are shown escaped
    (:func:`~wfdsl.diagnostics.visible`), so that the diff is safe to view."""
    lines = difflib.unified_diff(
        _lines(normalize_line_ends(before)),
        _lines(normalize_line_ends(after)),
        fromfile=f"a/{path}",
        tofile=f"b/{path}",
    )
    return "".join(
        visible(line.removesuffix("\n"), keep="\t")
        + ("\n" if line.endswith("\n") else "\n\\ No newline at end of file\n")
        for line in lines
    )


def _line_end_note(before: str, after: str, path: str) -> str | None:
    """What the diff does not show: line ends that change. A file with mixed
    line ends gets those of its first line everywhere."""
    crlf = before.count("\r\n")
    kinds = {
        end
        for end, count in (
            ("\r\n", crlf),
            ("\r", before.count("\r") - crlf),
            ("\n", before.count("\n") - crlf),
        )
        if count
    }
    style = line_end_of(after)
    if kinds <= {style}:
        return None
    return f"{path}: every line would end in {_LINE_END_NAMES[style]}"


def _format(data: bytes, path: str, finder: ConfigFinder) -> tuple[str, str] | None:
    """(original text, formatted text), or None after reporting why not."""
    text: str | None = None
    try:
        # fmt checks that lint reports the same afterwards, with the rules
        # `wfdsl lint` would run on this file (standard input: the working
        # directory's configuration).
        selection = finder.for_file(path if os.path.exists(path) else "stdin.wf")
        text = decode(data, path, keep_line_ends=True)  # fmt keeps the file's style
        return text, format_source(text, path, selection)
    except ConfigError as exc:
        click.echo(f"wfdsl: error: {exc}", err=True)
    except SpecError as exc:
        shown = None if text is None else normalize_line_ends(text)
        for d in exc.diagnostics:
            click.echo(d.render(shown), err=True)
        click.echo(f"wfdsl: error: {path}: not formatted: fix the error above first", err=True)
    except FormatError as exc:
        click.echo(f"wfdsl: error: {exc}", err=True)
    return None


@click.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option(
    "--check", is_flag=True, help="Write nothing; exit 1 listing files that would change."
)
@click.option(
    "--diff",
    "show_diff",
    is_flag=True,
    help="Write nothing; print a unified diff of the changes (exit 1 if any).",
)
def fmt(paths: tuple[str, ...], check: bool, show_diff: bool) -> None:
    """Rewrite `.wf` files in the canonical layout; directories are searched
    for `*.wf`, and `-` reads standard input and writes standard output.

    A file with any error (syntax or validation) is never touched. Exit
    status: 0 done (or nothing to change), 1 files would change (with
    --check or --diff), 2 a file could not be read or has an error.
    """
    dry = check or show_diff
    errors = changed = unchanged = 0
    finder = ConfigFinder()
    for target in _targets(paths):
        path = target.path
        if target.problem is not None:
            errors += target.report()
            continue
        try:
            data = _read_stdin() if path == STDIN else read_limited(path)
        except OSError as exc:
            click.echo(f"wfdsl: error: {path}: {exc.strerror or exc}", err=True)
            errors += 1
            continue
        result = _format(data, "<stdin>" if path == STDIN else path, finder)
        if result is None:
            errors += 1
            continue
        before, after = result
        if path == STDIN and not dry:
            click.echo(after, nl=False)
            continue
        if before == after:
            unchanged += 1
            continue
        changed += 1
        if show_diff:
            click.echo(_unified(before, after, path), nl=False)
            note = _line_end_note(before, after, path)
            if note is not None:
                click.echo(note, err=True)
        if check:
            click.echo(f"would reformat {visible(path)}", err=show_diff)
        if not dry:
            try:
                write_atomic(path, after, root=target.root, mark=None, writer="wfdsl fmt")
            except OSError as exc:
                click.echo(f"wfdsl: error: {path}: cannot write: {exc.strerror or exc}", err=True)
                errors += 1
                changed -= 1
                continue
            click.echo(f"reformatted {path}", err=True)
    if paths != (STDIN,):
        click.echo(_summary(changed, unchanged, errors, dry), err=True)
    if errors:
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_FINDINGS if dry and changed else EXIT_OK)


def _targets(paths: tuple[str, ...]) -> list[Target]:
    """Standard input for each ``-``, then the files :func:`iter_wf_files` finds
    for the other paths (a file reached twice comes once, as in ``lint``)."""
    stdin = [Target(STDIN)] * paths.count(STDIN)
    return stdin + list(iter_wf_files([p for p in paths if p != STDIN]))


def _read_stdin() -> bytes:
    """Standard input, up to the limit of a ``.wf`` file (``< /dev/zero``
    never ends). :raises FileRefused: it is longer."""
    return read_stream(sys.stdin.buffer, "<stdin>")


def _files(n: int) -> str:
    return f"{n} file{'' if n == 1 else 's'}"


def _summary(changed: int, unchanged: int, errors: int, dry: bool) -> str:
    parts = []
    if changed:
        parts.append(f"{_files(changed)} {'would be reformatted' if dry else 'reformatted'}")
    if unchanged:
        parts.append(f"{_files(unchanged)} {'would be left' if dry else 'left'} unchanged")
    if errors:
        parts.append(f"{_files(errors)} with errors (not formatted)")
    return ", ".join(parts) + "." if parts else "No .wf files found."
