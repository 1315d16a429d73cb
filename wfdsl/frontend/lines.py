"""Lines and offsets of a ``.wf`` text, counted as the front end counts them.

A line ends at ``\\r\\n``, ``\\r`` or ``\\n`` (as in the Language Server
Protocol); :func:`~wfdsl.frontend.parser.normalize_line_ends` makes each one
``\\n`` before parsing, so the offsets of tokens and the (line, column) of
diagnostics index the normalised text. :class:`Lines` maps those back to the
text as written, for a tool (the language server) that edits the original.
"""

from __future__ import annotations

import bisect

from wfdsl.frontend.parser import normalize_line_ends


class Lines:
    """One text's lines.

    ``raw`` is the text as written; ``text`` is what the front end reads (line
    ends normalised to ``\\n``: the same lines and columns, offsets shifted by
    one for each ``\\r\\n`` before them). Lines here are 0-based and columns
    count code points; :meth:`offset` takes the front end's 1-based ones.
    """

    __slots__ = ("_crlf", "raw", "starts", "text")

    def __init__(self, raw: str) -> None:
        self.raw = raw
        self.text = text = normalize_line_ends(raw)
        #: Offset in ``text`` where each line starts.
        self.starts = starts = [0]
        find = text.find
        at = find("\n")
        while at >= 0:
            starts.append(at + 1)
            at = find("\n", at + 1)
        #: Offsets in ``text`` of the ``\n`` that each ``\r\n`` became.
        self._crlf: list[int] = []
        if "\r\n" in raw:
            seen = 0
            at = raw.find("\r\n")
            while at >= 0:
                self._crlf.append(at - seen)
                seen += 1
                at = raw.find("\r\n", at + 2)

    def __len__(self) -> int:
        """The number of lines (a text ending in a line end has an empty last one)."""
        return len(self.starts)

    def line_of(self, offset: int) -> int:
        """The 0-based line holding ``text[offset]`` (clamped into the text)."""
        return bisect.bisect_right(self.starts, min(max(offset, 0), len(self.text))) - 1

    def span(self, line: int) -> tuple[int, int]:
        """Offsets in ``text`` of the start of 0-based ``line`` (clamped to an
        existing one) and of its end, before its line end."""
        line = min(max(line, 0), len(self.starts) - 1)
        end = self.starts[line + 1] - 1 if line + 1 < len(self.starts) else len(self.text)
        return self.starts[line], end

    def offset(self, line: int, column: int) -> int:
        """The offset in ``text`` of a front-end position (1-based line and
        column, as in a :class:`~wfdsl.diagnostics.Diagnostic`), clamped into the text."""
        if line < 1:
            return 0
        if line > len(self.starts):
            return len(self.text)
        return min(self.starts[line - 1] + max(column, 1) - 1, len(self.text))

    def raw_offset(self, offset: int) -> int:
        """The offset in ``raw`` of ``text[offset]``."""
        offset = min(max(offset, 0), len(self.text))
        return offset + bisect.bisect_left(self._crlf, offset)

    def text_offset(self, raw_offset: int) -> int:
        """The offset in ``text`` of ``raw[raw_offset]`` (one between a ``\\r``
        and its ``\\n`` is the end of that line)."""
        raw_offset = min(max(raw_offset, 0), len(self.raw))
        lo, hi = 0, len(self._crlf)
        # The CRs collapsed before raw_offset: crlf[i] + i is each CR's raw offset.
        while lo < hi:
            mid = (lo + hi) // 2
            if self._crlf[mid] + mid < raw_offset:
                lo = mid + 1
            else:
                hi = mid
        collapsed = lo
        if lo > 0 and self._crlf[lo - 1] + lo == raw_offset:
            # Between "\r" and "\n": that CRLF's "\n" is at crlf[lo - 1] in ``text``.
            return self._crlf[lo - 1]
        return raw_offset - collapsed
