"""A Markdown review page per workflow, for pull requests.

The page holds the description, a Mermaid diagram (GitHub draws it), and tables
of states, events, transitions and hooks. Texts from the ``.wf`` file go through
:func:`md_text` (table cells and prose) or :func:`code` (names), so no
description can open a link, close a table cell or end the Mermaid block.
"""

from __future__ import annotations

import posixpath
from urllib.parse import quote

from wfdsl.ir import HookKind, Spec, format_guard
from wfdsl.render.mermaid import to_mermaid
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


def review_page(spec: Spec, *, source: str | None = None) -> str:
    """The review page of ``spec`` as Markdown. ``source``, a ``/``-separated
    path relative to the page, links the page to its ``.wf`` file."""
    diagram = extract(spec, Detail.HOOKS)
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

    out += ["## Diagram", "", "```mermaid", to_mermaid(diagram).rstrip("\n"), "```", ""]

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
