"""A Markdown review page per workflow, for pull requests.

The page holds the description, a Mermaid diagram (GitHub draws it), and tables
of states, events, transitions and hooks. A diagram too large for Mermaid is
drawn with less detail, or as an SVG beside the page (:func:`plan_review_page`). Texts from the ``.wf`` file go through
:func:`md_text` (table cells and prose) or :func:`code` (names), so no
description can open a link, close a table cell or end the Mermaid block.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from urllib.parse import quote

from wfdsl.ir import HookKind, Spec, format_guard
from wfdsl.render.dot import to_dot
from wfdsl.render.mermaid import DEFAULT_LIMITS, MermaidLimits, over_limits, to_mermaid
from wfdsl.render.model import Detail, extract

# Characters Markdown (GitHub's flavour) may read as markup; written as entities.
_ENTITIES = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    "|": "&#124;",
    "\\": "&#92;",
    "`": "&#96;",
    "*": "&#42;",
    "_": "&#95;",
    "[": "&#91;",
    "]": "&#93;",
    "#": "&#35;",
    "~": "&#126;",
    "!": "&#33;",
    "$": "&#36;",
}


def md_text(text: str | None) -> str:
    """``text`` shown literally in Markdown prose or a table cell, on one line."""
    if not text:
        return ""
    out: list[str] = []
    for ch in text:
        if ch in _ENTITIES:
            out.append(_ENTITIES[ch])
        elif ord(ch) < 32 or ord(ch) == 127:
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def md_paragraph(text: str) -> str:
    """``text`` as a paragraph of its own: as :func:`md_text`, and nothing at
    its start may open a block (an indented code block, a list item, a
    heading underline)."""
    shown = md_text(text.strip())
    if shown[:1] in ("-", "+", "="):
        return f"&#{ord(shown[0])};{shown[1:]}"
    digits = len(shown) - len(shown.lstrip("0123456789"))
    if 0 < digits < len(shown) and shown[digits] in ".)":
        return f"{shown[:digits]}&#{ord(shown[digits])};{shown[digits + 1 :]}"
    return shown


def code(name: str) -> str:
    """A name in a code span. Names from a valid spec are identifiers; anything
    else is still kept from breaking out."""
    if name.isidentifier():
        return f"`{name}`"
    return md_text(name)


def _codes(names: tuple[str, ...] | list[str]) -> str:
    return ", ".join(code(n) for n in names)


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines.extend("| " + " | ".join(cell or " " for cell in row) + " |" for row in rows)
    return lines


#: Every review page says this; ``wfdsl docs`` replaces only files that do.
GENERATED_MARK = "by `wfdsl docs`; do not edit"


@dataclass(frozen=True, slots=True)
class ReviewPage:
    """A review page and how its diagram is drawn."""

    #: The page, Markdown.
    text: str
    #: Detail of the page's Mermaid diagram; None when it shows an SVG or none.
    detail: Detail | None
    #: File name of the SVG the page shows, beside the page: the caller draws
    #: it from :attr:`svg_dot` (with Graphviz, whose layout time it bounds).
    #: None for a Mermaid diagram.
    svg: str | None = None
    svg_dot: str | None = None
    #: Why the diagram is not Mermaid at full detail, one sentence each (for
    #: the user: ``wfdsl docs`` prints them on stderr). Empty when it is.
    notes: tuple[str, ...] = ()
    #: With :attr:`svg`: why Mermaid cannot draw the diagram at any detail
    #: ("at full detail the diagram is 164,367 characters, ...").
    too_large: str = ""


#: What each smaller detail leaves out, and which table still lists it.
_LEFT_OUT = {
    Detail.GUARDS: ("hooks", "the [Hooks](#hooks) table lists them"),
    Detail.EVENTS: (
        "hooks and guards",
        "the [Transitions](#transitions) and [Hooks](#hooks) tables list them",
    ),
}


def plan_review_page(
    spec: Spec, *, source: str | None = None, limits: MermaidLimits = DEFAULT_LIMITS
) -> ReviewPage:
    """The review page of ``spec``, its diagram within Mermaid's ``limits``.

    Past :data:`MAX_DRAWN_ARROWS` arrows there is no diagram at all. Else the
    diagram is Mermaid at full detail if it fits; else without hooks, then
    without hooks and guards (the tables still list them); else, when even
    that is too large, an SVG drawn by Graphviz beside the page
    (``WORKFLOW.svg``), which :attr:`ReviewPage.svg_dot` describes (if
    Graphviz cannot draw it, :func:`undrawn_review_page` is the page to
    write instead). What decides is the Mermaid text itself, as the page's
    fenced block hands it to Mermaid (:func:`~wfdsl.render.mermaid.over_limits`):
    its length in Mermaid's count, and its arrows only for the diagram types
    Mermaid limits (not state diagrams). ``source``, a ``/``-separated path
    relative to the page, links the page to its ``.wf`` file.
    """
    arrows = len(extract(spec, Detail.EVENTS).arrows)
    if arrows > MAX_DRAWN_ARROWS:
        note = (
            f"with {arrows:,} arrows (more than {MAX_DRAWN_ARROWS:,}) the diagram is not"
            " drawn at all, and the page lists the transitions only"
        )
        return ReviewPage(_page(spec, source, limits, arrows=arrows), None, notes=(note,))
    tried: list[str] = []
    for detail in (Detail.HOOKS, Detail.GUARDS, Detail.EVENTS):
        block = to_mermaid(extract(spec, detail)).rstrip("\n")
        # A fenced block's content ends with the line end before the closing
        # fence: that is the text Mermaid gets, and measures.
        problems = over_limits(block + "\n", limits)
        if not problems:
            notes: tuple[str, ...] = ()
            if tried:
                left_out = _LEFT_OUT[detail][0]
                notes = (f"{'; '.join(tried)}; the page draws it without {left_out}",)
            page = _page(spec, source, limits, block, detail)
            return ReviewPage(page, detail, notes=notes)
        if detail is Detail.HOOKS:
            tried.append(f"at full detail the diagram is {' and '.join(problems)}")
        else:
            tried.append(f"without {_LEFT_OUT[detail][0]} it is {' and '.join(problems)}")
    svg = f"{spec.name}.svg"
    too_large = "; ".join(tried)
    note = f"{too_large}; the page shows it drawn by Graphviz in {svg}"
    dot = _bounded_layout(to_dot(extract(spec, Detail.HOOKS)))
    return ReviewPage(_page(spec, source, limits, svg=svg), None, svg, dot, (note,), too_large)


def undrawn_review_page(spec: Spec, *, source: str | None = None) -> ReviewPage:
    """The review page of ``spec`` without a diagram, for when its diagram is
    too large for Mermaid and Graphviz could not draw it (not installed,
    failed, killed, out of time): every table is there, and the page says
    the diagram is missing and how to get it. The caller says why, to the
    user; the page does not (it must not depend on the machine)."""
    page = _page(spec, source, DEFAULT_LIMITS, undrawn=True)
    return ReviewPage(page, None)


#: Past this many arrows (transitions drawn, a transition from several states
#: counting once per state) a review page shows no diagram: none would read,
#: and both renderers take longer and longer (for 1,000 arrows of the pipeline
#: in tests/render/pipeline.py, Graphviz about 35 s, Mermaid 11 in headless
#: Chromium about 40 s; Graphviz runs out of memory on a 6,000-arrow fan-in),
#: so neither is given it. Deterministic, unlike a timeout, so that
#: ``wfdsl docs --check`` agrees on every machine.
MAX_DRAWN_ARROWS = 1_000


#: Graphviz's default positioning runs network simplex to the end, which on
#: a long pipeline (every stage with an edge to one 'abandoned' state) takes
#: minutes: the 100-stage pipeline of tests/render/pipeline.py took about 4
#: minutes in dot 2.43, and 2 s bounded to 10 iterations per node, with the
#: same ranks and order and node positions a few points apart.
_NSLIMIT = "  graph [nslimit=10, nslimit1=10];\n"


def _bounded_layout(dot: str) -> str:
    """``dot`` with Graphviz's positioning bounded (:data:`_NSLIMIT`)."""
    start = dot.index("{\n") + 2  # the graph's opening line
    return dot[:start] + _NSLIMIT + dot[start:]


def review_page(spec: Spec, *, source: str | None = None) -> str:
    """The review page of ``spec`` as Markdown (see :func:`plan_review_page`,
    whose SVG, when the diagram needs one, the caller must draw). ``source``,
    a ``/``-separated path relative to the page, links the page to its
    ``.wf`` file."""
    return plan_review_page(spec, source=source).text


def _diagram_section(
    block: str | None,
    detail: Detail | None,
    svg: str | None,
    limits: MermaidLimits,
    arrows: int | None,
    undrawn: bool = False,
) -> list[str]:
    out = ["## Diagram", ""]
    if undrawn:
        return [
            *out,
            "The diagram is too large for Mermaid, which draws at most"
            f" {limits.max_text_size:,} characters, and Graphviz could not draw it"
            " when this page was written; run `wfdsl docs` again where Graphviz's"
            " `dot` works to add it. The [Transitions](#transitions) table lists"
            " every transition.",
            "",
        ]
    if arrows is not None:
        return [
            *out,
            f"The workflow has {arrows:,} arrows, too many to draw legibly; the"
            " [Transitions](#transitions) table lists them all.",
            "",
        ]
    if svg is not None:
        link = quote(svg)
        out += [
            "The diagram is too large for Mermaid, which draws at most"
            f" {limits.max_text_size:,} characters,"
            f" so it is drawn by Graphviz: [{md_text(svg)}]({link}).",
            "",
            f"![Diagram of the workflow]({link})",
            "",
        ]
        return out
    assert block is not None and detail is not None
    if detail in _LEFT_OUT:
        left_out, where = _LEFT_OUT[detail]
        out += [
            f"Drawn without {left_out} to stay within Mermaid's size limits; {where}.",
            "",
        ]
    return [*out, "```mermaid", block, "```", ""]


def _page(
    spec: Spec,
    source: str | None,
    limits: MermaidLimits,
    block: str | None = None,
    detail: Detail | None = None,
    svg: str | None = None,
    arrows: int | None = None,
    undrawn: bool = False,
) -> str:
    out = [f"# Workflow `{spec.name}`", ""]
    if spec.description:
        out += [md_paragraph(spec.description), ""]
    if source:
        name = md_text(posixpath.basename(source))
        out += [f"Source: [{name}]({quote(source)}) (generated {GENERATED_MARK}).", ""]
    else:
        out += [f"Generated {GENERATED_MARK}.", ""]
    initial = spec.initial.name if any(s.initial for s in spec.states) else None
    finals = [s.name for s in spec.finals]
    timed = len(spec.timed_edges)
    summary = (
        f"{len(spec.states)} states, {len(spec.events)} events, "
        f"{len(spec.edges) + timed} transitions{f' ({timed} timed)' if timed else ''}."
        f" Starts in {code(initial) if initial else 'nothing'}"
    )
    summary += f"; ends in {_codes(finals)}." if finals else "; never ends."
    out += [summary, ""]

    out += _diagram_section(block, detail, svg, limits, arrows, undrawn)

    out += ["## States", ""]
    rows = []
    for s in spec.states:
        kind = ", ".join(k for k, on in (("initial", s.initial), ("final", s.final)) if on)
        rows.append([code(s.name), kind, md_text(s.description)])
    out += [*_table(["State", "Kind", "Description"], rows), ""]

    out += ["## Events", ""]
    used: dict[str, list[str]] = {e.name: [] for e in spec.events}
    for edge in spec.edges:
        sources = "*" if edge.wildcard else ", ".join(edge.source_names)
        used.setdefault(edge.event.value, []).append(f"{sources} → {edge.target.value}")
    rows = [
        [code(e.name), md_text(e.description), str(len(used.get(e.name, [])))] for e in spec.events
    ]
    out += [*_table(["Event", "Description", "Transitions"], rows), ""]

    out += ["## Transitions", ""]
    out += ["Tried in this order for each state and event; `*` transitions come last.", ""]
    rows = []
    for edge in spec.edges:
        sources = "`*` (any non-final state)" if edge.wildcard else _codes(list(edge.source_names))
        guard = code_guard(format_guard(edge.guard)) if edge.guard else ""
        rows.append(
            [
                str(edge.index + 1),
                sources,
                code(edge.event.value),
                guard,
                code(edge.target.value),
                md_text(edge.description),
            ]
        )
    out += [*_table(["#", "From", "Event", "Guard", "To", "Description"], rows), ""]
    out += _timed_table(spec)

    out += ["## Hooks", ""]
    hooked = [s for s in spec.states if s.items]
    if hooked:
        rows = [
            [code(s.name), _codes(s.enter), _codes(s.exit), _codes(s.compensate)] for s in hooked
        ]
        out += [*_table(["State", "Enter", "Exit", "Compensate"], rows), ""]
    else:
        out += ["No state has hooks.", ""]
    guards = spec.guard_names
    out += ["Guard functions: " + (_codes(list(guards)) if guards else "none") + ".", ""]
    hooks = spec.hook_names(HookKind.ENTER, HookKind.EXIT)
    comps = spec.hook_names(HookKind.COMPENSATE)
    out += ["Hook functions: " + (_codes(list(hooks)) if hooks else "none") + ".", ""]
    out += ["Compensators: " + (_codes(list(comps)) if comps else "none") + "."]
    return "\n".join(out) + "\n"


def _timed_table(spec: Spec) -> list[str]:
    """The "Timed transitions" part of the transitions section (nothing
    without timers)."""
    if not spec.timed_edges:
        return []
    out = [
        "### Timed transitions",
        "",
        "Armed when an instance enters a source state and disarmed when it leaves;"
        " each fires once the instance has stayed for the time given. When several"
        " are due at once, the first written whose guard holds fires; one whose"
        " guard is false is spent.",
        "",
    ]
    rows = []
    for t in spec.timed_edges:
        sources = "`*` (any non-final state)" if t.wildcard else _codes(list(t.source_names))
        guard = code_guard(format_guard(t.guard)) if t.guard else ""
        # A parsed duration is digits and unit letters; one built by hand may
        # be anything, and is shown as text.
        shown = t.after.text
        shown = f"`{shown}`" if shown.isascii() and shown.isalnum() else md_text(shown)
        after = f"{shown} ({md_text(_spelled(t.after.ms))})"
        rows.append([sources, after, guard, code(t.target.value), md_text(t.description)])
    return [*out, *_table(["From", "After", "Guard", "To", "Description"], rows), ""]


_SPELLED = (("day", 86_400_000), ("hour", 3_600_000), ("minute", 60_000), ("second", 1_000))


def _spelled(ms: int) -> str:
    """``5_400_000`` as ``1 hour 30 minutes``; what a reviewer reads without
    converting units."""
    parts = []
    for word, size in _SPELLED:
        count, ms = divmod(ms, size)
        if count:
            parts.append(f"{count} {word}{'' if count == 1 else 's'}")
    if ms:
        parts.append(f"{ms} ms")
    return " ".join(parts)


def code_guard(text: str) -> str:
    """A guard expression (names and the words ``and or not``) in a code span."""
    if all(part.isidentifier() for part in text.replace("(", " ").replace(")", " ").split()):
        return f"`{text}`"
    return md_text(text)
