"""Mermaid ``stateDiagram-v2`` text from a :class:`~wfdsl.render.model.Diagram`.

GitHub renders it inside a fenced ``mermaid`` block. Texts from the ``.wf``
file go through :func:`mermaid_text`: one line, no statement separator, no HTML
tags. Every line is indented, so nothing can close the Markdown fence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from wfdsl.render.model import CLOCK, Detail, Diagram, Node

#: Words Mermaid's state-diagram lexer treats specially, and names that break
#: Mermaid 11 as state ids (it keeps states in plain JavaScript objects, so
#: ``constructor`` or ``toString`` collide with built-ins; ``root`` is its own
#: node); a state with one of these names gets another id (its label keeps the
#: name). ``tests/render/test_mermaid_browser.py`` draws a state of each.
RESERVED = frozenset(
    {
        "href",
        "root",
        "constructor",
        "hasownproperty",
        "isprototypeof",
        "propertyisenumerable",
        "tolocalestring",
        "tostring",
        "valueof",
        "state",
        "note",
        "end",
        "as",
        "direction",
        "class",
        "classdef",
        "style",
        "click",
        "hide",
        "scale",
        "fork",
        "join",
        "choice",
        "left",
        "right",
        "of",
        "accdescr",
        "acctitle",
        "default",
        "graph",
        "flowchart",
        "statediagram",
        "subgraph",
    }
)

#: Characters Mermaid would read as syntax or markup, and what is drawn instead.
#: Mermaid 11 (checked in a browser by ``tests/render/test_mermaid_browser.py``)
#: ends a statement at ``;``, reads ``<b>`` as HTML, and leaves its own entity
#: codes (``#35;``) undecoded in labels, so look-alikes are the safe choice.
_REPLACE = {";": ",", "<": "\u2039", ">": "\u203a"}


def mermaid_text(text: str) -> str:
    """``text`` safe for a Mermaid label on one line (after ``:``)."""
    out: list[str] = []
    for ch in text:
        if ch in _REPLACE:
            out.append(_REPLACE[ch])
        elif ord(ch) < 32 or ord(ch) == 127:
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out).strip()


def mermaid_quoted(text: str) -> str:
    """``text`` for inside ``state "..." as id`` (no double quotes there)."""
    return mermaid_text(text).replace('"', "'")


def state_ids(diagram: Diagram) -> dict[str, str]:
    """A Mermaid id per state: the name itself unless Mermaid reserves it."""
    taken = {n.name for n in diagram.nodes}
    ids: dict[str, str] = {}
    for node in diagram.nodes:
        ident = node.name
        if ident.lower() in RESERVED or ident.lower().startswith("wf_any"):
            ident = f"s_{node.name}"
            while ident in taken:
                ident = "s_" + ident
            taken.add(ident)
        ids[node.name] = ident
    return ids


def _any_id(diagram: Diagram) -> str:
    ident = "wf_any"
    names = {n.name for n in diagram.nodes}
    while ident in names:
        ident += "_"
    return ident


def _node_lines(node: Node, ident: str, show_desc: bool) -> list[str]:
    lines: list[str] = []
    description = mermaid_text(node.description or "") if show_desc else ""
    if description:
        lines.append(f"    {ident} : {description}")
    if node.count is not None:
        lines.append(f"    {ident} : {node.count_label}")
    if node.armed is not None:
        lines.append(f"    {ident} : {mermaid_text(node.armed.label)}")
    for kind, names in node.hook_lines:
        lines.append(f"    {ident} : {kind} / {mermaid_text(names)}")
    if lines or ident != node.name:
        # Mermaid titles a state with its first description line (or its id when
        # it has none), so the name goes first; the rest go under a divider.
        lines.insert(0, f'    state "{mermaid_quoted(node.name)}" as {ident}')
    return lines


def to_mermaid(diagram: Diagram, *, descriptions: bool = False) -> str:
    """The diagram as a ``stateDiagram-v2``; deterministic.

    ``descriptions`` adds each state's description inside its box (review
    pages list them in a table instead, which keeps big diagrams small).
    """
    ids = state_ids(diagram)
    out = ["stateDiagram-v2", "    direction LR"]
    for node in diagram.nodes:
        out.extend(_node_lines(node, ids[node.name], descriptions))
    any_id = _any_id(diagram)
    if diagram.has_wildcard:
        out.append(f'    state "any state" as {any_id}')
    initial = diagram.initial
    if initial is not None:
        out.append(f"    [*] --> {ids[initial.name]}")
    for arrow in diagram.arrows:
        source = any_id if arrow.source is None else ids[arrow.source]
        # stateDiagram-v2 cannot dash one transition: a clock marks a timed one.
        label = f"{CLOCK} {arrow.label}" if arrow.timed else arrow.label
        out.append(f"    {source} --> {ids[arrow.target]} : {mermaid_text(label)}")
    for node in diagram.nodes:
        if node.final:
            out.append(f"    {ids[node.name]} --> [*]")
    classes: list[tuple[str, str, list[str]]] = []
    if diagram.has_wildcard:
        classes.append(("wfany", "stroke-dasharray: 4 4,fill:#ffffff", [any_id]))
    if diagram.overlay.path:
        current = [ids[n.name] for n in diagram.nodes if n.current]
        visited = [ids[n.name] for n in diagram.nodes if n.visited and not n.current]
        classes.append(("wfcurrent", "fill:#fefcbf,stroke:#d69e2e,stroke-width:3px", current))
        classes.append(("wfvisited", "stroke:#1a202c,stroke-width:2px", visited))
    elif diagram.has_counts and diagram.max_count:
        busy = [ids[n.name] for n in diagram.nodes if n.count and not n.final]
        classes.append(("wfbusy", "fill:#bee3f8,stroke:#2b6cb0", busy))
    for name, css, members in classes:
        if members:
            out.append(f"    classDef {name} {css}")
            out.append(f"    class {','.join(members)} {name}")
    return "\n".join(out) + "\n"


# -- Mermaid's limits ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MermaidLimits:
    """What Mermaid refuses to draw, by its defaults (Mermaid 11's
    ``defaultConfig``: ``maxTextSize: 50000``, ``maxEdges: 500``; GitHub and
    most sites do not change them, and a diagram cannot raise them itself:
    both are "secure" settings only ``mermaid.initialize`` may change).

    Past ``max_text_size`` characters (UTF-16 code units, counted after
    Mermaid's own clean-up of the text) Mermaid draws only "Maximum text size
    in diagram exceeded", whatever the diagram. ``max_edges`` is enforced by
    flowcharts alone ("Edge limit exceeded"): Mermaid 11 draws a
    ``stateDiagram-v2``, which is all wfdsl writes, with any number of
    arrows, so :func:`over_limits` applies it to flowcharts only.
    ``tests/render/test_mermaid_browser.py`` pins both in Mermaid itself, so
    an upgrade that changes either fails there.
    """

    max_text_size: int = 50_000
    max_edges: int = 500


#: Mermaid's own defaults.
DEFAULT_LIMITS = MermaidLimits()

#: Diagram types whose parser counts edges against ``maxEdges`` (Mermaid 11:
#: the flowchart's, which ``graph`` also names).
EDGE_LIMITED = frozenset({"flowchart", "flowchart-v2", "graph"})


def mermaid_size(text: str) -> tuple[int, int]:
    """(characters as Mermaid counts them, edges) of a Mermaid diagram.

    Mermaid measures JavaScript string length, after turning ``\\r\\n`` and
    ``\\r`` into ``\\n`` and dropping leading white space and ``%%`` comment
    lines: UTF-16 code units, so a character outside the Basic Multilingual
    Plane counts twice. Every edge is one ``-->`` line, the ``[*]`` start and
    end markers included.
    """
    cleaned = _cleaned(text)
    length = len(cleaned.encode("utf-16-le")) // 2
    edges = sum(1 for line in cleaned.split("\n") if _is_edge(line))
    return length, edges


def _cleaned(text: str) -> str:
    """``text`` as Mermaid 11 measures it (``preprocessDiagram``: line ends,
    then comment lines, then leading white space)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"^\s*%%(?!\{)[^\n]+\n?", "", text, flags=re.MULTILINE)
    return text.lstrip()


def diagram_type(text: str) -> str:
    """The diagram's type, the first word of its first line (``stateDiagram-v2``)."""
    words = _cleaned(text).split(None, 1)
    return words[0].rstrip(";") if words else ""


def _is_edge(line: str) -> bool:
    # ``a --> b : label``; a label or a description (``a : text``) may itself
    # hold "-->", but only after the " : " that starts it.
    arrow = line.find(" --> ")
    colon = line.find(" : ")
    return arrow >= 0 and (colon < 0 or arrow < colon)


def over_limits(text: str, limits: MermaidLimits = DEFAULT_LIMITS) -> list[str]:
    """Why Mermaid would not draw ``text``, exactly as given (a review page
    passes its fenced block with the line end that ends it), one phrase per
    limit exceeded; empty when Mermaid draws it. The edge limit counts only
    for the diagrams Mermaid enforces it on (:data:`EDGE_LIMITED`)."""
    length, edges = mermaid_size(text)
    problems = []
    if length > limits.max_text_size:
        problems.append(
            f"{length:,} characters, over Mermaid's limit of {limits.max_text_size:,} (maxTextSize)"
        )
    if edges > limits.max_edges and diagram_type(text).lower() in EDGE_LIMITED:
        problems.append(
            f"{edges:,} arrows, over Mermaid's limit of {limits.max_edges:,} (maxEdges)"
        )
    return problems


def limits_warning(text: str, detail: Detail, limits: MermaidLimits = DEFAULT_LIMITS) -> str | None:
    """One line for the user when Mermaid would not draw ``text`` (drawn at
    ``detail``), saying why and what to do instead; None when it would."""
    problems = over_limits(text, limits)
    if not problems:
        return None
    fixes = []
    if detail > Detail.EVENTS:
        fixes.append(f"--detail {int(detail) - 1} leaves out {_DETAIL_WORDS[detail]}")
    fixes.append("--format svg draws it with Graphviz")
    return (
        f"Mermaid will draw only an error for this diagram: it is {' and '.join(problems)};"
        f" {', or '.join(fixes)}"
    )


#: What going one detail level down from each leaves out.
_DETAIL_WORDS = {Detail.HOOKS: "hooks", Detail.GUARDS: "guards"}
