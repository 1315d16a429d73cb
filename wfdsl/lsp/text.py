"""Positions: the one place where LSP's and wfdsl's ways of counting meet.

Inside the server every position is an offset into the text the front end
reads: the document's text with its line ends normalised to ``\\n``
(:class:`wfdsl.frontend.lines.Lines`; a count of code points, as Python
indexes a ``str``). The protocol counts differently, and this module converts
at the edge, once:

* LSP lines end at ``\\n``, ``\\r\\n`` or ``\\r`` (and nothing else: not a form
  feed, not U+2028, whatever ``str.splitlines`` thinks), as the front end's
  lines do, so an LSP line is a front-end line; a column counts code units of
  the negotiated position encoding, UTF-16 unless the client offered another
  (LSP 3.17 ``general.positionEncodings``).
* The front end's (line, column) are 1-based and count code points; a
  diagnostic's ``end_column`` is exclusive.

A position past the end of a line or of the file is clamped to it, and one in
the middle of a surrogate pair (or a UTF-8 sequence) to the start of its
character, so no position a client sends can raise.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from lsprotocol import types

from wfdsl.lsp.frontend import Lines


class Encoding(StrEnum):
    """LSP position encodings (``PositionEncodingKind``)."""

    UTF8 = "utf-8"
    UTF16 = "utf-16"
    UTF32 = "utf-32"

    @classmethod
    def of(cls, name: str | None) -> Encoding:
        """The negotiated encoding; UTF-16, the protocol's default, for anything else."""
        try:
            return cls(str(name))
        except ValueError:
            return cls.UTF16


def units(text: str, encoding: Encoding) -> int:
    """How many code units ``text`` takes in ``encoding``."""
    if encoding is Encoding.UTF32 or text.isascii():
        return len(text)
    # surrogatepass: JSON may carry a lone surrogate, and it still counts as one unit.
    if encoding is Encoding.UTF16:
        return len(text.encode("utf-16-le", "surrogatepass")) // 2
    return len(text.encode("utf-8", "surrogatepass"))


def _chars_within(text: str, limit: int, encoding: Encoding) -> int:
    """The number of code points of ``text`` that fit in ``limit`` code units
    (a character that would straddle the limit is left out)."""
    if encoding is Encoding.UTF32 or text.isascii():
        return min(limit, len(text))
    used = 0
    for i, ch in enumerate(text):
        used += units(ch, encoding)
        if used > limit:
            return i
    return len(text)


@dataclass(frozen=True, slots=True)
class Edit:
    """A replacement of ``text[start:end]`` by ``new_text`` (offsets)."""

    start: int
    end: int
    new_text: str


class TextIndex:
    """Offsets into the front end's text of one document to and from LSP
    positions and front-end (line, column)."""

    __slots__ = ("encoding", "lines", "text")

    def __init__(self, lines: Lines, encoding: Encoding = Encoding.UTF16) -> None:
        self.lines = lines
        #: The text that offsets index: line ends normalised to ``\\n``.
        self.text = lines.text
        self.encoding = encoding

    @classmethod
    def of(cls, text: str, encoding: Encoding = Encoding.UTF16) -> TextIndex:
        """The index of a document's text as written."""
        return cls(Lines(text), encoding)

    # -- LSP ------------------------------------------------------------------------

    def offset(self, position: types.Position) -> int:
        """The offset of an LSP position (clamped into the text)."""
        line = position.line
        if line < 0:
            return 0
        if line >= len(self.lines):
            return len(self.text)
        start, end = self.lines.span(line)
        content = self.text[start:end]
        return start + _chars_within(content, max(position.character, 0), self.encoding)

    def position(self, offset: int) -> types.Position:
        """The LSP position of an offset (clamped into the text)."""
        offset = min(max(offset, 0), len(self.text))
        line = self.lines.line_of(offset)
        start = self.lines.starts[line]
        return types.Position(line, units(self.text[start:offset], self.encoding))

    def range(self, start: int, end: int) -> types.Range:
        return types.Range(self.position(start), self.position(end))

    def line_of(self, offset: int) -> int:
        """The 0-based line that holds ``offset``."""
        return self.lines.line_of(offset)

    def line_span(self, line: int) -> tuple[int, int]:
        """Offsets of the start of 0-based ``line`` and of its end, before its line end."""
        return self.lines.span(line)

    def fe_offset(self, line: int, column: int) -> int:
        """The offset of a front-end position (1-based line and column)."""
        return self.lines.offset(line, column)


def apply_changes(
    text: str,
    changes: list[types.TextDocumentContentChangeEvent],
    encoding: Encoding,
) -> str:
    """The text after the client's ``didChange`` content changes, in order
    (each range refers to the text as left by the changes before it)."""
    for change in changes:
        if isinstance(change, types.TextDocumentContentChangePartial):
            index = TextIndex.of(text, encoding)
            lines = index.lines
            start = index.offset(change.range.start)
            end = max(start, index.offset(change.range.end))
            # The offsets index the normalised text; the edit applies to the text as written.
            raw_start, raw_end = lines.raw_offset(start), lines.raw_offset(end)
            text = text[:raw_start] + change.text + text[raw_end:]
        else:
            text = change.text
    return text
