"""``wfdsl docs``: a Markdown review page per workflow, for pull requests."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import click

from wfdsl.cli.common import EXIT_ERROR, EXIT_FINDINGS, UserError, load_spec
from wfdsl.cli.fileio import WriteRefused, carries, target_of, write_output
from wfdsl.errors import RenderError
from wfdsl.frontend.source import FileTooLarge, read_limited

if TYPE_CHECKING:
    from wfdsl.ir import Spec
    from wfdsl.render.markdown import ReviewPage


def _link(path: str, out_dir: str) -> str:
    """``path`` relative to ``out_dir``, so that the page links to its source
    wherever the command was run from."""
    return os.path.relpath(os.path.abspath(path), os.path.abspath(out_dir)).replace(os.sep, "/")


_WRITER = "wfdsl docs"

#: Seconds Graphviz may take to draw one page's diagram. Its positioning is
#: bounded (:data:`wfdsl.render.markdown.MAX_DRAWN_ARROWS` arrows at most, 10
#: network-simplex iterations per node), so the largest diagram a page draws
#: takes well under a minute; this stops only a layout that would never end.
DOT_TIMEOUT = 300.0


def _mark() -> bytes:
    """What every file ``wfdsl docs`` writes carries (pages and SVGs alike)."""
    from wfdsl.render.markdown import GENERATED_MARK

    return GENERATED_MARK.encode()


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
@click.option(
    "--dot-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=DOT_TIMEOUT,
    show_default=True,
    metavar="SECONDS",
    help="How long Graphviz may take to draw a diagram too large for Mermaid.",
)
def docs(files: tuple[str, ...], out_dir: str, check: bool, dot_timeout: float) -> None:
    """Write a review page per workflow: its description, a Mermaid diagram
    (GitHub draws it), and tables of states, events, transitions and hooks.

    A diagram too large for Mermaid (over its 50,000 characters) is drawn
    without hooks, then without guards too, and past that as an SVG by
    Graphviz beside the page (WORKFLOW.svg); a warning on stderr says which.
    If Graphviz is missing or fails, the page is written without the diagram,
    an error says why, and the exit status is 2.
    """
    from wfdsl.render.markdown import plan_review_page, undrawn_review_page

    pages: dict[str, str] = {}  # page -> the .wf file it shows
    spec_of: dict[str, Spec] = {}  # page -> the workflow it shows
    # Every file the pages need, and its content: SVGs before the pages that show them.
    outputs: dict[str, tuple[str, str | bytes]] = {}
    planned: list[tuple[str, str, ReviewPage]] = []
    for file in files:
        spec = load_spec(file)
        target = os.path.join(out_dir, f"{spec.name}.md")
        if target in pages:
            raise UserError(
                f"{file} and {pages[target]} both define workflow {spec.name!r}; "
                "their pages would overwrite each other"
            )
        page = plan_review_page(spec, source=_link(file, out_dir))
        pages[target] = file
        spec_of[target] = spec
        planned.append((target, file, page))
    if not check:  # refuse before drawing anything (Graphviz may take a while)
        if os.path.exists(out_dir) and not os.path.isdir(out_dir):
            raise UserError(f"{out_dir}: not a directory")
        _refuse_foreign(out_dir, planned)
    # Graphviz failing is an error, but the pages are still written: without
    # the diagrams it could not draw, every table kept (exit 2 at the end).
    undrawn: list[str] = []  # one error line each
    unchecked: set[str] = set()  # SVGs --check could not draw to compare
    for target, file, page in planned:
        text, notes = page.text, page.notes
        if page.svg is not None and page.svg_dot is not None:
            svg_path = os.path.join(out_dir, page.svg)
            try:
                outputs[svg_path] = (file, _draw_svg(page.svg_dot, timeout=dot_timeout))
            except RenderError as exc:
                notes = ()
                why = f"Graphviz could not draw {svg_path}: {_graphviz_failure(exc)}"
                if check:
                    unchecked.add(svg_path)
                    undrawn.append(f"{svg_path}: cannot check it: {why}")
                else:
                    text = undrawn_review_page(spec_of[target], source=_link(file, out_dir)).text
                    undrawn.append(
                        f"{target}: written without a diagram, which Mermaid cannot draw"
                        f" ({page.too_large}) and {why}"
                    )
        for note in notes:
            click.echo(f"wfdsl: warning: {target}: {note}", err=True)
        outputs[target] = (file, text)
    # SVGs an earlier run drew for pages that no longer show one.
    leftovers = [svg for svg in _drawn_svgs(pages) if svg not in outputs]

    if check:
        stale = []
        for target, (file, content) in outputs.items():
            problem = _compare(target, content, file)
            if problem is not None:
                stale.append(target)
                click.echo(f"{target}: {problem}", err=True)
        for svg in leftovers:
            if svg in unchecked:
                continue  # still shown by its page, just not drawn here: said below
            stale.append(svg)
            click.echo(f"{svg}: no longer needed by its page", err=True)
        if stale:
            click.echo(f"run: wfdsl docs {' '.join(files)} -o {out_dir}", err=True)
        for message in undrawn:
            click.echo(f"wfdsl: error: {message}", err=True)
        if undrawn:
            sys.exit(EXIT_ERROR)  # the check is incomplete: not a pass, nor only findings
        if stale:
            sys.exit(EXIT_FINDINGS)
        return

    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{out_dir}: cannot create: {exc.strerror or exc}") from None
    for target, (_, content) in outputs.items():
        write_output(target, content, root=out_dir, mark=_mark(), writer=_WRITER)
        click.echo(f"wrote {target}", err=True)
    for svg in leftovers:
        try:
            os.remove(svg)
        except OSError as exc:
            raise UserError(f"{svg}: cannot remove: {exc.strerror or exc}") from None
        click.echo(f"removed {svg} (its page no longer shows it)", err=True)
    for message in undrawn:
        click.echo(f"wfdsl: error: {message}", err=True)
    if undrawn:
        sys.exit(EXIT_ERROR)


def _refuse_foreign(out_dir: str, planned: list[tuple[str, str, ReviewPage]]) -> None:
    """:raises UserError: if a page or SVG to write may not be replaced (see
    :mod:`wfdsl.cli.fileio`: not written by ``wfdsl docs``, a link out of
    DIR, not a regular file), before anything is drawn or written."""
    for target, file, page in planned:
        for path in [target] + ([os.path.join(out_dir, page.svg)] if page.svg else []):
            try:
                target_of(path, root=out_dir, mark=_mark(), writer=_WRITER)
            except WriteRefused as exc:
                raise UserError(
                    f"{path}: {exc.strerror} (the page of {file} goes there:"
                    " move it, or choose another -o)"
                ) from None
            except FileNotFoundError:
                continue  # DIR does not exist yet: it is made
            except OSError as exc:
                raise UserError(f"{path}: cannot write: {exc.strerror or exc}") from None


def _draw_svg(dot: str, *, timeout: float) -> bytes:
    """The SVG of a page too large for Mermaid, marked as written by ``wfdsl docs``.

    :raises RenderError: Graphviz missing, failing, killed or out of time
        (``timeout`` seconds), or writing no SVG; the message says which.
    """
    from wfdsl.errors import RenderError
    from wfdsl.render.dot import run_dot
    from wfdsl.render.markdown import GENERATED_MARK

    svg = run_dot(dot, "svg", timeout=timeout)
    if b"<svg" not in svg or not svg.rstrip().endswith(b"</svg>"):
        raise RenderError("svg", "Graphviz dot wrote no complete SVG")
    # After the XML declaration, which must come first.
    head, sep, rest = svg.partition(b"?>\n")
    mark = f"<!-- Generated {GENERATED_MARK}. -->\n".encode()
    return head + sep + mark + rest if sep else mark + svg


def _graphviz_failure(exc: RenderError) -> str:
    """What went wrong with Graphviz, and for a missing ``dot`` the fix."""
    from wfdsl.errors import GraphvizNotFound

    if isinstance(exc, GraphvizNotFound):
        return (
            f"its '{exc.program}' program was not found; install Graphviz (apt-get install"
            " graphviz, brew install graphviz, https://graphviz.org/download/)"
        )
    return exc.message


def _drawn_svgs(pages: dict[str, str]) -> list[str]:
    """SVGs beside the pages that ``wfdsl docs`` drew (for pages that may no
    longer need them)."""
    found = []
    for target in pages:
        svg = target.removesuffix(".md") + ".svg"
        if os.path.isfile(svg) and not os.path.islink(svg) and _written_by_us(svg):
            found.append(svg)
    return found


def _written_by_us(path: str) -> bool:
    try:
        return carries(path, _mark())
    except OSError:
        return False


def _compare(target: str, content: str | bytes, file: str) -> str | None:
    """Why ``target`` does not hold ``content``, or None if it does."""
    expected = content.encode() if isinstance(content, str) else content
    try:
        # Line ends may have grown from \n to \r\n (and not more): enough to compare.
        data = read_limited(target, 2 * len(expected), what="the page it should be")
        data.decode("utf-8")
        # Line ends as git may check them out (core.autocrlf) do not count.
        same = data.replace(b"\r\n", b"\n") == expected
    except FileNotFoundError:
        return "missing"
    except FileTooLarge:
        return f"out of date with {file}"
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise UserError(f"{target}: cannot read: {reason or exc}") from None
    return None if same else f"out of date with {file}"
