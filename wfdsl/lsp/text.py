"""Positions: the one place where LSP's and wfdsl's ways of counting meet.

Inside the server every position is an offset into the document's text (a
count of code points, as Python indexes a ``str``). The protocol counts
differently, and this module converts at the edge, once:

* LSP lines end at ``\\n``, ``\\r\\n`` or ``\\r`` (and nothing else: not a form
  feed, not U+2028, whatever ``str.splitlines`` thinks); a column counts code
  units of the negotiated position encoding, UTF-16 unless the client offered
  another (LSP 3.17 ``general.positionEncodings``).
* wfdsl's front end (Lark) ends lines at ``\\n`` alone and counts columns in
  code points, 1-based; a diagnostic's ``end_column`` is exclusive.

A position past the end of a line or of the file is clamped to it, and one in
the middle of a surrogate pair (or a UTF-8 sequence) to the start of its
character, so no position a client sends can raise.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from enum import StrEnum

from lsprotocol import types


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


def _lsp_line_starts(text: str) -> list[int]:
    starts = [0]
    if "\r" not in text:
        find = text.find
        at = find("\n")
        while at >= 0:
            starts.append(at + 1)
            at = find("\n", at + 1)
        return starts
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\r":
            i += 2 if text.startswith("\n", i + 1) else 1
            starts.append(i)
        elif ch == "\n":
            i += 1
            starts.append(i)
        else:
            i += 1
    return starts


@dataclass(frozen=True, slots=True)
class Edit:
    """A replacement of ``text[start:end]`` by ``new_text`` (offsets)."""

    start: int
    end: int
    new_text: str


class TextIndex:
    """Offsets of one text to and from LSP positions and front-end (line, column)."""

    __slots__ = ("_fe_starts", "_starts", "encoding", "text")

    def __init__(self, text: str, encoding: Encoding = Encoding.UTF16) -> None:
        self.text = text
        self.encoding = encoding
        self._starts = _lsp_line_starts(text)
        self._fe_starts: list[int] | None = None

    # -- LSP ------------------------------------------------------------------------

    def _line_end(self, line: int) -> int:
        """Offset just before line ``line``'s line break."""
        if line + 1 < len(self._starts):
            end = self._starts[line + 1] - 1
            if self.text[end] == "\n" and end > 0 and self.text[end - 1] == "\r":
                end -= 1
            return end
        return len(self.text)

    def offset(self, position: types.Position) -> int:
        """The offset of an LSP position (clamped into the text)."""
        line = position.line
        if line < 0:
            return 0
        if line >= len(self._starts):
            return len(self.text)
        start = self._starts[line]
        content = self.text[start : self._line_end(line)]
        return start + _chars_within(content, max(position.character, 0), self.encoding)

    def position(self, offset: int) -> types.Position:
        """The LSP position of an offset (clamped into the text)."""
        offset = min(max(offset, 0), len(self.text))
        line = bisect.bisect_right(self._starts, offset) - 1
        start = self._starts[line]
        end = self._line_end(line)
        # An offset between "\r" and "\n" is the end of its line.
        offset = min(offset, end)
        return types.Position(line, units(self.text[start:offset], self.encoding))

    def range(self, start: int, end: int) -> types.Range:
        return types.Range(self.position(start), self.position(end))

    def line_of(self, offset: int) -> int:
        """The 0-based LSP line that holds ``offset``."""
        return bisect.bisect_right(self._starts, min(max(offset, 0), len(self.text))) - 1

    def line_span(self, line: int) -> tuple[int, int]:
        """Offsets of the start of LSP line ``line`` and of its end, before its line break."""
        line = min(max(line, 0), len(self._starts) - 1)
        return self._starts[line], self._line_end(line)

    # -- the front end ------------------------------------------------------------------

    def fe_offset(self, line: int, column: int) -> int:
        """The offset of a front-end position (1-based, lines end at ``\\n``)."""
        if self._fe_starts is None:
            text = self.text
            self._fe_starts = (
                _lsp_line_starts(text.replace("\r", " ")) if "\r" in text else self._starts
            )
        starts = self._fe_starts
        if line < 1:
            return 0
        if line > len(starts):
            return len(self.text)
        return min(starts[line - 1] + max(column, 1) - 1, len(self.text))


def apply_changes(
    text: str,
    changes: list[types.TextDocumentContentChangeEvent],
    encoding: Encoding,
) -> str:
    """The text after the client's ``didChange`` content changes, in order
    (each range refers to the text as left by the changes before it)."""
    for change in changes:
        if isinstance(change, types.TextDocumentContentChangePartial):
            index = TextIndex(text, encoding)
            start = index.offset(change.range.start)
            end = max(start, index.offset(change.range.end))
            text = text[:start] + change.text + text[end:]
        else:
            text = change.text
    return text
