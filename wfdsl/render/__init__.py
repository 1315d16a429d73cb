"""Diagrams and review pages: extract a :class:`Diagram` from a Spec once, then
render it as DOT (and, through Graphviz, SVG/PNG/PDF), Mermaid or Markdown.

Importing this package does not import the Graphviz bindings or run any program;
only :func:`render` with a Graphviz format runs ``dot``.
"""

from __future__ import annotations

from wfdsl.ir import Spec
from wfdsl.render.model import Detail, Diagram, Overlay, Step, extract

#: Every output format of ``wfdsl render``.
FORMATS = ("svg", "png", "pdf", "dot", "mermaid")

#: Suffix of an output file -> format.
SUFFIXES = {
    ".svg": "svg",
    ".png": "png",
    ".pdf": "pdf",
    ".dot": "dot",
    ".gv": "dot",
    ".mmd": "mermaid",
    ".mermaid": "mermaid",
}

__all__ = [
    "FORMATS",
    "SUFFIXES",
    "Detail",
    "Diagram",
    "Overlay",
    "Step",
    "extract",
    "render",
]


def render(
    spec: Spec,
    format: str,
    *,
    detail: Detail = Detail.HOOKS,
    overlay: Overlay | None = None,
) -> bytes:
    """``spec`` drawn in ``format`` (one of :data:`FORMATS`), as bytes.

    :raises GraphvizNotFound: for svg/png/pdf when Graphviz is not installed.
    :raises RenderError: when Graphviz fails.
    :raises ValueError: for an unknown format.
    """
    diagram = extract(spec, detail, overlay)
    if format == "mermaid":
        from wfdsl.render.mermaid import to_mermaid

        return to_mermaid(diagram).encode()
    from wfdsl.render.dot import GRAPHVIZ_FORMATS, run_dot, to_dot

    text = to_dot(diagram)
    if format == "dot":
        return text.encode()
    if format in GRAPHVIZ_FORMATS:
        return run_dot(text, format)
    raise ValueError(f"unknown diagram format {format!r}; expected one of {', '.join(FORMATS)}")
