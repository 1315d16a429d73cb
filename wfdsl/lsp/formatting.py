"""Formatting through ``wfdsl fmt``'s formatter, as a few line edits.

A file with errors is refused, never half-formatted: the formatter needs a
valid spec to prove that its output means the same as its input. The result
is sent as the smallest set of whole-line edits (not one replacement of the
whole file), so that editors keep the cursor, folds and marks where they were.
"""

from __future__ import annotations

import difflib

from wfdsl.lsp.documents import Analysis
from wfdsl.lsp.frontend import FormatError, SpecError, format_source
from wfdsl.lsp.text import Edit


class FormatRefused(Exception):
    """The file was left as it is; ``message`` says why, for the user."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


def format_edits(analysis: Analysis, path: str) -> list[Edit]:
    """Edits that turn the document into ``wfdsl fmt``'s output.

    :raises FormatRefused: when the file has errors (or, for a formatter bug,
        when the result would not mean the same).
    """
    errors = [d for d in analysis.checked.diagnostics if d.code.startswith("WF1")]
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise FormatRefused(
            f"not formatted: line {first.line}:{first.column}: {first.code} "
            f"{first.message}{more}; fix the errors first"
        )
    text = analysis.text
    bom = 1 if text.startswith("\ufeff") else 0
    try:
        formatted = format_source(text[bom:], path)
    except (SpecError, FormatError) as exc:
        raise FormatRefused(f"not formatted: {exc}") from None
    return [Edit(e.start + bom, e.end + bom, e.new_text) for e in line_edits(text[bom:], formatted)]


def line_edits(old: str, new: str) -> list[Edit]:
    """Whole-line edits that turn ``old`` into ``new``."""
    a = _lines(old)
    b = _lines(new)
    starts = [0]
    for line in a:
        starts.append(starts[-1] + len(line))
    edits = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op != "equal":
            edits.append(Edit(starts[i1], starts[i2], "".join(b[j1:j2])))
    return edits


def _lines(text: str) -> list[str]:
    """Lines as the front end counts them (``\\n`` ends a line), each with its ``\\n``."""
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines
