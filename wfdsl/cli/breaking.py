"""``wfdsl breaking``: changes between two versions of a workflow that break
instances already running, and the review picture of the change."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click

from wfdsl.cli.common import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, UserError
from wfdsl.cli.fileio import write_output
from wfdsl.compare.breaking import Change, compare, live_states, narrow
from wfdsl.errors import SpecError, StoreError, WorkflowError
from wfdsl.frontend.source import analyze, decode, read_limited
from wfdsl.ir import Spec

FORMATS = ("text", "json", "github")


def _run_git(args: list[str], cwd: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    except FileNotFoundError:
        raise UserError("--against needs git, which was not found on PATH") from None


def read_at_revision(ref: str, path: str) -> tuple[str, bytes]:
    """``(label, bytes)`` of the file at ``path`` as it was at git revision ``ref``;
    the label is ``REF:path/from/repo/root``."""
    if not ref or ref.startswith("-"):
        raise UserError(f"--against: {ref!r} is not a git revision")
    full = os.path.realpath(path)
    directory = os.path.dirname(full)
    top = _run_git(["rev-parse", "--show-toplevel"], directory)
    if top.returncode != 0:
        raise UserError(f"--against: {path} is not inside a git repository")
    root = os.path.realpath(top.stdout.decode().strip())
    rel = Path(os.path.relpath(full, root)).as_posix()
    shown = _run_git(["show", f"{ref}:{rel}"], root)
    if shown.returncode != 0:
        known = _run_git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], root)
        if known.returncode != 0:
            raise UserError(f"--against: unknown git revision {ref!r}")
        raise UserError(f"--against: {rel} did not exist at {ref}")
    return f"{ref}:{rel}", shown.stdout


def _spec(data: bytes, label: str, sources: dict[str, str | None]) -> Spec:
    text: str | None = None
    try:
        text = decode(data, label)
        sources[label] = text
        return analyze(text, label).spec
    except SpecError as exc:
        for d in exc.diagnostics:
            click.echo(d.render(text), err=True)
        raise UserError(f"{label}: cannot compare a workflow with errors") from None


def _read(path: str) -> bytes:
    try:
        return read_limited(path)  # a regular file, of bounded size
    except OSError as exc:
        raise UserError(f"{path}: {exc.strerror or exc}") from None


def _live(url: str, old: Spec) -> dict[str, int]:
    # Reading only: never creates or migrates a store (a mistyped path or schema
    # must not pass as an empty store).
    from wfdsl.cli.common import db_error, opened_store

    with opened_store(url, readonly=True) as store:
        try:
            records = store.instances(old.name)
        except StoreError as exc:
            raise db_error(url, exc) from None
    return live_states(
        ((r.state, bool(r.pending or r.dead or r.compensating)) for r in records), old
    )


def _render(out: str, old: Spec, new: Spec, old_label: str, new_label: str) -> None:
    from wfdsl.render import SUFFIXES
    from wfdsl.render.diff import render_diff

    # The change diagram is DOT, drawn by Graphviz: every diagram format but Mermaid.
    suffixes = {s: kind for s, kind in SUFFIXES.items() if kind != "mermaid"}
    kind = suffixes.get(Path(out).suffix.lower())
    if kind is None:
        raise click.UsageError(
            f"--render: cannot tell the format from {out!r}; use a name ending in "
            + ", ".join(sorted(suffixes))
        )

    dot_text = render_diff(old, new, old_label, new_label)
    if kind == "dot":
        write_output(out, dot_text, root=None, mark=None, writer="wfdsl breaking")
        return
    from wfdsl.render.dot import run_dot

    try:
        data = run_dot(dot_text, kind)
    except WorkflowError as exc:
        raise UserError(str(exc)) from None
    write_output(out, data, root=None, mark=None, writer="wfdsl breaking")


def _report(fmt: str, changes: list[Change], sources: dict[str, str | None], note: str) -> str:
    diags = [c.diagnostic for c in changes]
    if fmt == "json":
        from wfdsl.lint.report import format_json

        return format_json(diags)
    if fmt == "github":
        from wfdsl.lint.report import format_github

        return format_github(diags)
    blocks = [d.render(sources.get(d.path)) for d in diags]
    n = len(diags)
    summary = (
        f"Found {n} breaking change{'' if n == 1 else 's'}{note}."
        if n
        else f"No breaking changes{note}."
    )
    return "\n\n".join([*blocks, summary]) + "\n"


@click.command()
@click.argument("paths", nargs=-1, required=True, metavar="OLD NEW | --against REF NEW")
@click.option(
    "--against",
    metavar="GIT_REF",
    help="Compare NEW with the same file at this git revision (e.g. origin/main).",
)
@click.option(
    "--db",
    metavar="URL",
    help="Report only changes that break instances live in this store.",
)
@click.option(
    "--render",
    "render_out",
    metavar="OUT",
    help="Also draw old and new in one diagram (.dot, .svg, .png or .pdf).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when changes break instances.")
def breaking(
    paths: tuple[str, ...],
    against: str | None,
    db: str | None,
    render_out: str | None,
    fmt: str,
    exit_zero: bool,
) -> None:
    """Report changes from OLD to NEW that break instances already running:
    a state, event or transition removed (or renamed), a state made final,
    the initial state or the workflow's name changed. Additions never break.

    Exit status: 0 nothing breaks, 1 breaking changes, 2 error.
    """
    sources: dict[str, str | None] = {}
    if against is not None:
        if len(paths) != 1:
            raise click.UsageError("with --against, give one file: the new version")
        new_path = paths[0]
        new_data = _read(new_path)
        old_label, old_data = read_at_revision(against, new_path)
    else:
        if len(paths) != 2:
            raise click.UsageError("give two files, OLD and NEW (or --against REF NEW)")
        old_label, new_path = paths
        old_data, new_data = _read(old_label), _read(new_path)
    old = _spec(old_data, old_label, sources)
    new = _spec(new_data, new_path, sources)

    changes = compare(old, new)
    note = ""
    if db is not None:
        live = _live(db, old)
        changes = narrow(changes, live)
        total = sum(live.values())
        note = f" for {total} live instance{'' if total == 1 else 's'}"
    if render_out is not None:
        _render(render_out, old, new, old_label, new_path)
    click.echo(_report(fmt, changes, sources, note), nl=False)
    if changes and not exit_zero:
        sys.exit(EXIT_FINDINGS)
    sys.exit(EXIT_OK)


__all__ = ["EXIT_ERROR", "breaking", "read_at_revision"]
