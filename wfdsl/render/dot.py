"""Graphviz DOT text from a :class:`~wfdsl.render.model.Diagram`, and the ``dot`` program.

The DOT is written by this module (no Graphviz needed); :func:`run_dot` turns it
into SVG, PNG or PDF with the ``dot`` program. Every text from a ``.wf`` file
reaches DOT through :func:`html_text` (HTML-like labels) or :func:`quoted`
(quoted attribute strings), so no name or description can break the output.

A review picture (a diagram with :attr:`~wfdsl.render.model.Diagram.review`) is
drawn the same way, with its marks: added parts green and bold, removed ones
red and dashed (names struck through), changed ones orange with the old and
the new text side by side, and a legend under the title.
"""

from __future__ import annotations

import hashlib
import itertools
import shutil
import signal
import subprocess
from dataclasses import dataclass

from wfdsl.compare.diff import Mark
from wfdsl.errors import GraphvizNotFound, RenderError
from wfdsl.render.model import CLOCK, Arrow, Diagram, Node

#: Formats the ``dot`` program renders for us.
GRAPHVIZ_FORMATS = ("svg", "png", "pdf")

#: Resolution of PNG output (Graphviz's default of 96 looks blurry on most screens).
PNG_DPI = 144


@dataclass(frozen=True, slots=True)
class Style:
    """Colours and fonts; one place to change the look of every diagram."""

    font: str = "Helvetica,Arial,sans-serif"
    font_size: int = 12
    small_size: int = 9
    ink: str = "#2d3748"
    line: str = "#4a5568"
    muted: str = "#718096"
    guard: str = "#6b46c1"
    #: Timed transitions (``after``): their dashed arrows and labels.
    timer: str = "#2c7a7b"
    fill: str = "#f7fafc"
    final_fill: str = "#edf2f7"
    faded: str = "#cbd5e0"
    current_fill: str = "#fefcbf"
    current_line: str = "#d69e2e"
    path_line: str = "#1a202c"
    #: Counts overlay: fill runs from ``fill`` (no instances) to this (the most).
    hot_fill: str = "#90cdf4"
    #: Wrap hook lists after about this many characters.
    wrap: int = 38
    #: Review pictures: lines and text of added, removed and changed parts...
    added: str = "#2f855a"
    removed: str = "#c53030"
    changed: str = "#dd6b20"
    #: ... and the fills of their boxes.
    added_fill: str = "#f0fff4"
    removed_fill: str = "#fff5f5"
    changed_fill: str = "#fffaf0"


DEFAULT_STYLE = Style()

# Pseudo-node ids: state names start with a letter, so these cannot collide.
_INITIAL = "__initial"
_ANY = "__any"


# -- escaping -------------------------------------------------------------------

#: Graphviz's lexer reads a quoted or HTML-like string in pieces of at most
#: 16,384 characters (flex's buffer): a longer run of text between two quotes,
#: backslashes, ``<`` or ``>`` is a syntax error, and ``dot`` fails on the
#: whole diagram. So every text is cut well below that, escapes included (at
#: most 6 characters each): text drawn in a label to :data:`LABEL_LIMIT`
#: characters, which is already far wider than a diagram can show, and
#: tooltips and identifiers to :data:`QUOTED_LIMIT`.
LABEL_LIMIT = 500
QUOTED_LIMIT = 2_500


def elided(text: str, limit: int, *, unique: bool = False) -> str:
    """``text`` if it has at most ``limit`` characters; else its start and its
    end around ``…``, ``limit`` characters in all. With ``unique``, a digest
    of the whole text sits in the middle (``…3f2a9c1b07…``), so that two long
    names that differ only in what is left out stay two names (for ids)."""
    if len(text) <= limit:
        return text
    middle = " \u2026 "
    if unique:
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:10]
        middle = f" \u2026{digest}\u2026 "
    keep = max(limit - len(middle), 0)
    head = (keep + 1) // 2
    return text[:head] + middle + text[len(text) - (keep - head) :]


def _not_xml(ch: str) -> bool:
    """``ch`` is a character XML 1.0 cannot hold at all (the noncharacters
    U+FFFE and U+FFFF, surrogates); control characters are handled apart."""
    return ch in "\ufffe\uffff" or "\ud800" <= ch <= "\udfff"


def quoted(text: str) -> str:
    """``text`` as a DOT quoted string that Graphviz shows literally.

    Graphviz reads backslash escapes (``\\N`` is the node's name, ``\\l`` a line
    break) differently from version to version, even behind a doubled backslash
    or an entity, so no backslash reaches it: a backslash is shown as the
    look-alike U+29F5 (these strings are only tooltips and ids; visible text is
    in HTML-like labels, where backslashes are plain). Newlines become ``&#10;``;
    ``&`` becomes ``&amp;`` so that text that looks like an entity stays text;
    quotes are escaped; tabs become spaces; other control characters go, and
    characters XML cannot hold (SVG is XML) become U+FFFD. Text longer than
    :data:`QUOTED_LIMIT` is :func:`elided`, uniquely (these strings are ids).
    """
    out: list[str] = []
    for ch in elided(text, QUOTED_LIMIT, unique=True):
        if _not_xml(ch):
            out.append("\ufffd")
        elif ch == "\\":
            out.append("\u29f5")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("&#10;")
        elif ch == "&":
            out.append("&amp;")
        elif ch == "\t":
            out.append(" ")
        elif ord(ch) < 32 or ord(ch) == 127:
            continue
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def html_text(text: str) -> str:
    """``text`` for the inside of an HTML-like label: entities for markup
    characters, control characters (newlines included) as spaces, and
    characters XML cannot hold (Graphviz parses these labels as XML) as U+FFFD;
    text longer than :data:`LABEL_LIMIT` is :func:`elided`."""
    out: list[str] = []
    for ch in elided(text, LABEL_LIMIT):
        if _not_xml(ch):
            out.append("\ufffd")
        elif ch == "&":
            out.append("&amp;")
        elif ch == "<":
            out.append("&lt;")
        elif ch == ">":
            out.append("&gt;")
        elif ch == '"':
            out.append("&quot;")
        elif ord(ch) < 32 or ord(ch) == 127:
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


# -- rendering ------------------------------------------------------------------


def attrs_list(**attrs: str) -> str:
    """``[a=..., b=...]``; values are already DOT (quoted strings or ``<...>``)."""
    return "[" + ", ".join(f"{k}={v}" for k, v in attrs.items()) + "]"


def _mix(a: str, b: str, t: float) -> str:
    """The colour a fraction ``t`` of the way from ``#rrggbb`` ``a`` to ``b``."""
    ca = [int(a[i : i + 2], 16) for i in (1, 3, 5)]
    cb = [int(b[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(ca, cb, strict=True))


def _wrap(names: str, width: int) -> list[str]:
    """Split ``a, b, c`` into lines of about ``width`` characters, at commas."""
    lines: list[str] = []
    current = ""
    for name in names.split(", "):
        candidate = f"{current}, {name}" if current else name
        if current and len(candidate) > width:
            lines.append(current + ",")
            current = name
        else:
            current = candidate
    lines.append(current)
    return lines


def _font(text: str, colour: str, size: int | None = None) -> str:
    """``text`` (already HTML-like label text) in ``colour``, at ``size`` points if given."""
    size_attr = f' POINT-SIZE="{size}"' if size else ""
    return f'<FONT COLOR="{colour}"{size_attr}>{text}</FONT>'


def _notes(node: Node) -> list[str]:
    """Review pictures: the flags a changed state gained or lost ("now final")."""
    if node.was is None:
        return []
    notes = []
    for flag in ("final", "initial"):
        was, now = getattr(node.was, flag), getattr(node, flag)
        if was != now:
            notes.append(f"now {flag}" if now else f"no longer {flag}")
    return notes


def _hook_lines(node: Node, style: Style) -> list[tuple[str, str, str]]:
    """``(label, "a, b", colour)`` for each hook line of the box. In a review
    picture a hook list that changed shows what it was and what it is now."""
    if node.was is None:
        colour = {Mark.ADDED: style.added, Mark.REMOVED: style.removed}.get(
            node.mark or Mark.SAME, style.muted
        )
        return [(kind, names, colour) for kind, names in node.hook_lines]
    old, new = dict(node.was.hook_lines), dict(node.hook_lines)
    lines = []
    for kind in ("enter", "exit", "compensate"):
        was, now = old.get(kind), new.get(kind)
        if was == now:
            lines += [(kind, now, style.muted)] if now else []
        elif was is None:
            lines.append((kind, now or "", style.added))
        elif now is None:
            lines.append((kind, was, style.removed))
        else:
            lines += [(f"{kind} was", was, style.removed), (f"{kind} now", now, style.added)]
    return lines


def _state_label(
    node: Node, hooks: list[tuple[str, str, str]], notes: list[str], style: Style
) -> str:
    name = f"<B>{html_text(node.name)}</B>"
    if node.mark is Mark.REMOVED:
        name = _font(f"<S>{name}</S>", style.removed)
    elif node.mark is Mark.ADDED:
        name = _font(name, style.added)
    rows = [f"<TR><TD>{name}</TD></TR>"]
    if node.count is not None:
        rows.append(
            f'<TR><TD><FONT POINT-SIZE="{style.small_size + 1}">{node.count_label}</FONT></TD></TR>'
        )
    if node.armed is not None:
        rows.append(
            f"<TR><TD>{_font(html_text(node.armed.label), style.timer, style.small_size + 1)}</TD></TR>"
        )
    for note in notes:
        rows.append(
            f"<TR><TD>{_font(html_text(note), style.changed, style.small_size + 1)}</TD></TR>"
        )
    hook_rows: list[str] = []
    for label, names, colour in hooks:
        for i, part in enumerate(_wrap(names, style.wrap)):
            prefix = f"{label} / " if i == 0 else "\u2003" * 2
            hook_rows.append(
                f'<TR><TD ALIGN="LEFT"><FONT POINT-SIZE="{style.small_size}" '
                f'COLOR="{colour}">{html_text(prefix + part)}</FONT></TD></TR>'
            )
    if hook_rows:
        rows.append("<HR/>")
        rows.extend(hook_rows)
    body = "".join(rows)
    return f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">{body}</TABLE>>'


def spine(diagram: Diagram) -> list[str]:
    """The happy path, for layout: from the initial state, follow each state's
    first arrow (in source order) to a state not yet on the path. Drawn as one
    straight line (a Graphviz ``group``), it keeps big diagrams from zigzagging."""
    initial = diagram.initial
    if initial is None:
        return []
    first: dict[str, str] = {}
    for arrow in diagram.arrows:
        gone = arrow.mark is Mark.REMOVED
        if arrow.source is not None and arrow.source != arrow.target and not gone:
            first.setdefault(arrow.source, arrow.target)
    path = [initial.name]
    on_path = {initial.name}
    while (nxt := first.get(path[-1])) is not None and nxt not in on_path:
        path.append(nxt)
        on_path.add(nxt)
    return path


def _state(node: Node, diagram: Diagram, style: Style, main: bool) -> str:
    hooks, notes = _hook_lines(node, style), _notes(node)
    attrs: dict[str, str] = {"label": _state_label(node, hooks, notes, style)}
    if main:
        attrs["group"] = "spine"
    tooltip = node.description or node.name
    if node.mark is not None:
        tooltip = f"{node.name} ({node.mark})" + (
            f": {node.description}" if node.description else ""
        )
    attrs["tooltip"] = quoted(tooltip)
    fill = style.final_fill if node.final else style.fill
    line = style.line
    pen = "1.2"
    if node.final and (hooks or notes):
        # A circle around hook lines grows huge: a double-bordered box instead.
        attrs["peripheries"] = "2"
    elif node.final:
        attrs["shape"] = "doublecircle"
        attrs["margin"] = '"0.04"'
    if diagram.max_count > 0 and node.count and not node.final:
        fill = _mix(style.fill, style.hot_fill, node.count / diagram.max_count)
    if diagram.overlay.path:
        if node.current:
            fill, line, pen = style.current_fill, style.current_line, "3"
        elif node.visited:
            line, pen = style.path_line, "2"
        else:
            line = style.faded
    if node.mark is Mark.ADDED:
        fill, line, pen = style.added_fill, style.added, "2.5"
    elif node.mark is Mark.REMOVED:
        fill, line, pen = style.removed_fill, style.removed, "1.6"
        attrs["style"] = '"rounded,dashed,filled"'
    elif node.mark is Mark.CHANGED:
        fill, line, pen = style.changed_fill, style.changed, "2.2"
    if fill != (style.final_fill if node.final else style.fill):
        attrs["fillcolor"] = quoted(fill)
    if line != style.line:
        attrs["color"] = quoted(line)
    if pen != "1.2":
        attrs["penwidth"] = pen
    return f"  {quoted(node.name)} {attrs_list(**attrs)};"


def _edge_label(arrow: Arrow, style: Style) -> str:
    event = html_text(arrow.event)
    if arrow.timed:
        event = f"{CLOCK} {event}"
    guard = f" [{html_text(arrow.guard)}]" if arrow.guard else ""
    if arrow.mark is Mark.CHANGED:
        small = style.small_size + 1
        was = f"[{arrow.was_guard}]" if arrow.was_guard else "(no guard)"
        now = f"[{arrow.guard}]" if arrow.guard else "(no guard)"
        return (
            f"<{_font(f'<B>{event}</B>', style.changed)}<BR/>"
            f"{_font('was ' + html_text(was), style.removed, small)}<BR/>"
            f"{_font('now ' + html_text(now), style.added, small)}>"
        )
    if arrow.mark is Mark.REMOVED:
        return f"<{_font(f'<S>{event}{guard}</S>', style.removed)}>"
    if arrow.mark is Mark.ADDED:
        return f"<{_font(f'<B>{event}{guard}</B>', style.added)}>"
    if arrow.timed:
        event = _font(event, style.timer)
    if arrow.guard:
        event += " " + _font(f"[{html_text(arrow.guard)}]", style.guard)
    return f"<{event}>"


def _arrow(arrow: Arrow, diagram: Diagram, style: Style, main: bool) -> str:
    source = _ANY if arrow.source is None else arrow.source
    attrs: dict[str, str] = {"label": _edge_label(arrow, style)}
    if main:
        attrs["weight"] = "4"
    tip = arrow.description or arrow.event_description
    tip = f"{arrow.label}: {tip}" if tip else arrow.label
    if arrow.mark is not None:
        shown = "*" if arrow.source is None else arrow.source
        tip = f"{shown} -> {arrow.target} {arrow.trigger} ({arrow.mark})"
    attrs["tooltip"] = quoted(tip)
    attrs["labeltooltip"] = attrs["tooltip"]
    if arrow.source is None or arrow.mark is Mark.REMOVED or arrow.timed:
        attrs["style"] = "dashed"
    if arrow.timed and arrow.mark in (None, Mark.SAME):
        attrs["color"] = quoted(style.timer)
    if arrow.mark is Mark.ADDED:
        attrs |= {"color": quoted(style.added), "penwidth": "2.4"}
    elif arrow.mark is Mark.REMOVED:
        attrs |= {"color": quoted(style.removed), "penwidth": "1.6"}
    elif arrow.mark is Mark.CHANGED:
        attrs |= {"color": quoted(style.changed), "penwidth": "2.2"}
    if diagram.overlay.path:
        if arrow.taken:
            attrs["color"] = quoted(style.path_line)
            attrs["penwidth"] = "2.6"
            attrs["fontcolor"] = quoted(style.path_line)
        else:
            attrs["color"] = quoted(style.faded)
            attrs["fontcolor"] = quoted(style.muted)
    return f"  {quoted(source)} -> {quoted(arrow.target)} {attrs_list(**attrs)};"


def _review_title(diagram: Diagram, style: Style) -> str:
    assert diagram.review is not None
    review = diagram.review
    legend = "   ".join(
        _font(f"\u25a0 {mark}", colour, style.small_size + 1)
        for mark, colour in (
            (Mark.ADDED, style.added),
            (Mark.REMOVED, style.removed),
            (Mark.CHANGED, style.changed),
        )
    )
    versions = f" \u2014 {html_text(review.old_label)} \u2192 {html_text(review.new_label)}"
    return (
        f"<<B>{html_text(diagram.name)}</B>{_font(versions, style.muted)}"
        f'<BR ALIGN="LEFT"/>{legend}<BR ALIGN="LEFT"/>>'
    )


def _title(diagram: Diagram, style: Style) -> str:
    if diagram.review is not None:
        return _review_title(diagram, style)
    parts = [f"<B>{html_text(diagram.name)}</B>"]
    if diagram.description:
        parts.append(f'<FONT COLOR="{style.muted}"> \u2014 {html_text(diagram.description)}</FONT>')
    overlay = diagram.overlay
    if overlay.path:
        who = f"instance {overlay.instance}" if overlay.instance else "instance"
        parts.append(
            f'<BR ALIGN="LEFT"/><FONT POINT-SIZE="{style.small_size + 1}" COLOR="{style.muted}">'
            f"{html_text(who)}: path in bold, now in {html_text(overlay.current or '?')}"
            "</FONT>"
        )
    elif diagram.has_counts:
        live = sum(n.count or 0 for n in diagram.nodes if not n.final)
        done = sum(n.count or 0 for n in diagram.nodes if n.final)
        parts.append(
            f'<BR ALIGN="LEFT"/><FONT POINT-SIZE="{style.small_size + 1}" COLOR="{style.muted}">'
            f"live instances per state ({live} in all; {done} finished)</FONT>"
        )
    if overlay.armed:
        armed = sum(a.count for a in overlay.armed.values())
        parts.append(
            f'<BR ALIGN="LEFT"/>'
            f"{_font(f'{CLOCK} {armed} timer' + ('' if armed == 1 else 's') + ' armed', style.timer, style.small_size + 1)}"
        )
    return "<" + "".join(parts) + '<BR ALIGN="LEFT"/>>'


def preamble(
    comment: str,
    name: str,
    label: str,
    style: Style,
    *,
    tooltip: str | None = None,
    nodesep: str = "0.3",
    ranksep: str = "0.45",
) -> list[str]:
    """The opening lines of a diagram: ``comment``, the digraph ``name``, and
    the graph (titled by the HTML-like ``label``), node and edge defaults."""
    s = style
    font = quoted(s.font)
    graph = {
        "rankdir": "LR",
        "fontname": font,
        "fontsize": str(s.font_size + 1),
        "fontcolor": quoted(s.ink),
        "label": label,
        "labelloc": "t",
        "labeljust": "l",
    }
    if tooltip is not None:
        graph["tooltip"] = quoted(tooltip)
    graph |= {"nodesep": nodesep, "ranksep": ranksep, "pad": "0.25", "newrank": "true"}
    node = attrs_list(
        shape="box",
        style='"rounded,filled"',
        fillcolor=quoted(s.fill),
        color=quoted(s.line),
        penwidth="1.2",
        fontname=font,
        fontsize=str(s.font_size),
        fontcolor=quoted(s.ink),
        margin='"0.14,0.06"',
    )
    edge = attrs_list(
        fontname=font,
        fontsize=str(s.font_size - 2),
        fontcolor=quoted(s.ink),
        color=quoted(s.line),
        arrowsize="0.7",
    )
    return [
        f"// {comment}",
        f"digraph {quoted(name)} {{",
        f"  graph {attrs_list(**graph)};",
        f"  node {node};",
        f"  edge {edge};",
        "",
    ]


def start_point(ident: str, style: Style) -> str:
    """The filled dot that points to the initial state."""
    attrs = attrs_list(
        shape="point",
        width="0.18",
        style="filled",
        fillcolor=quoted(style.ink),
        color=quoted(style.ink),
        tooltip=quoted("start"),
    )
    return f"  {quoted(ident)} {attrs};"


def any_state(ident: str, style: Style) -> str:
    """The dashed "any state" box that ``*`` transitions leave from."""
    attrs = attrs_list(
        label=quoted("any state"),
        style='"rounded,dashed"',
        fontsize=str(style.small_size + 1),
        fontcolor=quoted(style.muted),
        color=quoted(style.muted),
        margin='"0.08,0.03"',
        tooltip=quoted("* transitions leave every non-final state"),
    )
    return f"  {quoted(ident)} {attrs};"


def to_dot(diagram: Diagram, style: Style = DEFAULT_STYLE) -> str:
    """The diagram as DOT text; the same diagram always gives the same bytes."""
    s = style
    command = "wfdsl breaking --render" if diagram.review is not None else "wfdsl render"
    lines = preamble(
        f"Generated by {command}; do not edit.",
        diagram.name,
        _title(diagram, s),
        s,
        tooltip=diagram.description or diagram.name,
    )
    initial = diagram.initial
    if initial is not None:
        lines.append(start_point(_INITIAL, s))
    if diagram.has_wildcard:
        lines.append(any_state(_ANY, s))
    main = spine(diagram)
    main_set = set(main)
    main_steps = set(itertools.pairwise(main))
    for node in diagram.nodes:
        lines.append(_state(node, diagram, s, node.name in main_set))
    lines.append("")
    old_start = diagram.review.old_initial if diagram.review is not None else None
    if old_start is not None and old_start != (initial.name if initial else None):
        attrs = attrs_list(
            color=quoted(s.removed), style="dashed", tooltip=quoted(f"started in {old_start}")
        )
        lines.append(f"  {quoted(_INITIAL)} -> {quoted(old_start)} {attrs};")
        if initial is not None:
            attrs = attrs_list(
                color=quoted(s.added), penwidth="2.4", tooltip=quoted(f"starts in {initial.name}")
            )
            lines.append(f"  {quoted(_INITIAL)} -> {quoted(initial.name)} {attrs};")
    elif initial is not None:
        tip = quoted(f"starts in {initial.name}")
        bold = ", penwidth=2.6" if diagram.overlay.path else ""
        lines.append(f"  {quoted(_INITIAL)} -> {quoted(initial.name)} [tooltip={tip}{bold}];")
    seen_steps: set[tuple[str | None, str]] = set()
    for arrow in diagram.arrows:
        step = (arrow.source, arrow.target)
        lines.append(_arrow(arrow, diagram, s, step in main_steps and step not in seen_steps))
        seen_steps.add(step)
    sources = [n.name for n in diagram.nodes if n.initial]
    if sources or diagram.has_wildcard:
        pinned = ([_INITIAL] if sources else []) + ([_ANY] if diagram.has_wildcard else [])
        lines.append("  {rank=min; " + "; ".join(quoted(p) for p in pinned) + ";}")
    lines.append("}")
    return "\n".join(lines) + "\n"


#: Graphviz's default ranking and positioning run network simplex to the
#: end, which on a long pipeline (every stage with an edge to one 'abandoned'
#: state) takes minutes: the 100-stage pipeline of tests/render/pipeline.py
#: took about 4 minutes in dot 2.43, and 2 s bounded to 10 iterations per
#: node, with the same ranks and order and node positions a few points apart
#: (small diagrams converge long before the bound and do not change). Given
#: on the command line, so the DOT that ``wfdsl render`` writes stays as it was.
LAYOUT_BOUNDS = ("-Gnslimit=10", "-Gnslimit1=10")


def dot_program() -> str | None:
    """The path of Graphviz's ``dot``, or ``None`` when it is not installed."""
    return shutil.which("dot")


def run_dot(
    dot_text: str, format: str, *, dpi: int | None = None, timeout: float | None = None
) -> bytes:
    """Render DOT text to ``format`` (``svg``, ``png``, ``pdf``) with the ``dot`` program.

    ``dpi`` defaults to :data:`PNG_DPI` for PNG and to Graphviz's own otherwise.

    Graphviz's layout time grows quickly with long edges: a few hundred states
    joined at random can take minutes. Its positioning is bounded as for
    review pages (:data:`LAYOUT_BOUNDS`), and ``timeout`` (seconds) bounds
    the rest.

    :raises GraphvizNotFound: if ``dot`` is not installed (or cannot be run).
    :raises RenderError: if ``dot`` fails (its message is kept, on one line),
        is killed (the signal is named: SIGKILL when out of memory, SIGSEGV
        when it crashes) or runs past ``timeout``.
    """
    if format not in GRAPHVIZ_FORMATS:
        raise ValueError(f"dot cannot render {format!r} for us; use one of {GRAPHVIZ_FORMATS}")
    program = dot_program()
    if program is None:
        raise GraphvizNotFound(format)
    args = [program, f"-T{format}", *LAYOUT_BOUNDS]
    if dpi is None and format == "png":
        dpi = PNG_DPI
    if dpi is not None:
        args.append(f"-Gdpi={dpi}")
    try:
        done = subprocess.run(
            args, input=dot_text.encode(), capture_output=True, check=False, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        raise RenderError(
            format,
            f"Graphviz took more than {timeout:g} s to lay out the diagram, and was stopped",
        ) from None
    except OSError as exc:
        raise GraphvizNotFound(format) from exc
    if done.returncode != 0:
        raise RenderError(format, f"Graphviz dot failed: {_failure(done)}")
    return _fixed_pdf_date(done.stdout) if format == "pdf" else done.stdout


#: How much of dot's complaint a message keeps (a failing layout can print
#: a warning per node).
_STDERR_KEPT = 1_000


def _failure(done: subprocess.CompletedProcess[bytes]) -> str:
    """Why ``dot`` failed, in one line: its message, and how it ended."""
    if done.returncode < 0:
        try:
            ended = f"killed by {signal.Signals(-done.returncode).name}"
        except ValueError:
            ended = f"killed by signal {-done.returncode}"
    else:
        ended = f"exit status {done.returncode}"
    message = " ".join(done.stderr.decode(errors="replace").split())
    if len(message) > _STDERR_KEPT:
        message = message[:_STDERR_KEPT] + " \u2026"
    return f"{message} ({ended})" if message else ended


#: Written over the creation time that Graphviz's PDF writer (cairo) stamps
#: into every file, so that the same diagram gives the same bytes.
_PDF_EPOCH = b"D:19700101000000"


def _fixed_pdf_date(pdf: bytes) -> bytes:
    """``pdf`` with its ``/CreationDate`` set to :data:`_PDF_EPOCH`.

    The date string keeps its length (a time-zone suffix such as ``+01'00``
    becomes ``+00'00``), so the byte offsets in the PDF's cross-reference table
    stay right.
    """
    key = b"/CreationDate ("
    start = pdf.find(key)
    if start < 0:
        return pdf
    start += len(key)
    end = pdf.find(b")", start)
    old = pdf[start:end] if end > start else b""
    if not old.startswith(b"D:") or len(old) < len(_PDF_EPOCH):
        return pdf
    zone = bytes(b"0"[0] if 0x30 <= c <= 0x39 else c for c in old[len(_PDF_EPOCH) :])
    return pdf[:start] + _PDF_EPOCH + zone + pdf[end:]
