"""Mermaid ``stateDiagram-v2`` text from a :class:`~wfdsl.render.model.Diagram`.

GitHub renders it inside a fenced ``mermaid`` block. Texts from the ``.wf``
file go through :func:`mermaid_text`, which writes every character that means
something to Mermaid (or to Markdown around the block) as a Mermaid entity
code (``#35;`` for ``#``), so no description can end a label or the block.
"""

from __future__ import annotations

from wfdsl.render.model import Diagram, Node

#: Words Mermaid's state-diagram lexer treats specially; a state with one of
#: these names gets another id (its label keeps the name).
_RESERVED = frozenset(
    {
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

#: Characters shown as themselves; everything else ASCII becomes ``#NN;``.
_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _.,'()/-")


def mermaid_text(text: str) -> str:
    """``text`` safe for a Mermaid label on one line."""
    out: list[str] = []
    for ch in text:
        if ch in _SAFE:
            out.append(ch)
        elif ord(ch) < 32 or ord(ch) == 127:
            out.append(" ")
        elif ord(ch) < 128:
            out.append(f"#{ord(ch)};")
        else:
            out.append(ch)
    return "".join(out)


def state_ids(diagram: Diagram) -> dict[str, str]:
    """A Mermaid id per state: the name itself unless Mermaid reserves it."""
    taken = {n.name for n in diagram.nodes}
    ids: dict[str, str] = {}
    for node in diagram.nodes:
        ident = node.name
        if ident.lower() in _RESERVED or ident.lower().startswith("wf_any"):
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
    if ident != node.name:
        lines.append(f'    state "{mermaid_text(node.name)}" as {ident}')
    if show_desc and node.description:
        lines.append(f"    {ident} : {mermaid_text(node.description)}")
    if node.count is not None:
        noun = "instance" if node.count == 1 else "instances"
        lines.append(f"    {ident} : {node.count} {noun}")
    for kind, names in node.hook_lines:
        lines.append(f"    {ident} : {kind} / {mermaid_text(names)}")
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
        out.append(f"    {source} --> {ids[arrow.target]} : {mermaid_text(arrow.label)}")
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
        busy = [ids[n.name] for n in diagram.nodes if n.count]
        classes.append(("wfbusy", "fill:#bee3f8,stroke:#2b6cb0", busy))
    for name, css, members in classes:
        if members:
            out.append(f"    classDef {name} {css}")
            out.append(f"    class {','.join(members)} {name}")
    return "\n".join(out) + "\n"
