"""``wfdsl docs``: a Markdown review page per workflow, for pull requests."""

from __future__ import annotations

import os
import sys

import click

from wfdsl.cli.common import EXIT_FINDINGS, UserError, load_spec, write_output


def _link(path: str, out_dir: str) -> str:
    """``path`` relative to ``out_dir``, so that the page links to its source
    wherever the command was run from."""
    return os.path.relpath(os.path.abspath(path), os.path.abspath(out_dir)).replace(os.sep, "/")


def _replaceable(target: str) -> bool:
    """``target`` is missing or is a page that ``wfdsl docs`` wrote (a workflow
    called ``README`` must not replace the README of the output directory)."""
    from wfdsl.render.markdown import GENERATED_MARK

    try:
        with open(target, encoding="utf-8", errors="replace") as fh:
            return GENERATED_MARK in fh.read(4096)
    except FileNotFoundError:
        return True
    except OSError as exc:
        raise UserError(f"{target}: cannot read: {exc.strerror or exc}") from None


@click.command()
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.option(
    "-o",
    "--output-dir",
    "out_dir",
    required=True,
    metavar="DIR",
    help="Directory for the pages, one WORKFLOW.md per workflow (created if missing).",
)
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing; exit 1 if a page in DIR is missing or out of date.",
)
def docs(files: tuple[str, ...], out_dir: str, check: bool) -> None:
    """Write a review page per workflow: its description, a Mermaid diagram
    (GitHub draws it), and tables of states, events, transitions and hooks."""
    from wfdsl.render.markdown import review_page

    pages: dict[str, tuple[str, str]] = {}
    for file in files:
        spec = load_spec(file)
        target = os.path.join(out_dir, f"{spec.name}.md")
        if target in pages:
            raise UserError(
                f"{file} and {pages[target][0]} both define workflow {spec.name!r}; "
                "their pages would overwrite each other"
            )
        pages[target] = (file, review_page(spec, source=_link(file, out_dir)))

    if check:
        stale = []
        for target, (file, text) in pages.items():
            try:
                with open(target, encoding="utf-8") as fh:
                    same = fh.read() == text
                problem = f"out of date with {file}"
            except FileNotFoundError:
                same, problem = False, "missing"
            except (OSError, UnicodeDecodeError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
                raise UserError(f"{target}: cannot read: {reason or exc}") from None
            if not same:
                stale.append(target)
                click.echo(f"{target}: {problem}", err=True)
        if stale:
            click.echo(f"run: wfdsl docs {' '.join(files)} -o {out_dir}", err=True)
            sys.exit(EXIT_FINDINGS)
        return

    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise UserError(f"{out_dir}: not a directory")
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{out_dir}: cannot create: {exc.strerror or exc}") from None
    for target, (file, _) in pages.items():
        if not _replaceable(target):
            raise UserError(
                f"{target}: exists and was not written by wfdsl docs; "
                f"not replacing it with the page of {file} (move it, or choose another -o)"
            )
    for target, (_, text) in pages.items():
        write_output(target, text)
        click.echo(f"wrote {target}", err=True)
