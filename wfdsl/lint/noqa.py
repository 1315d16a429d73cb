"""``# noqa: CODE[,CODE]`` at the end of a line and ``# wfdsl: noqa: CODE`` for a file."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from lark import Token

from wfdsl.ir import Span
from wfdsl.lint.base import resolve

# A directive with codes may follow free prose in the comment; a bare ``noqa``
# (every code) must open the comment, so that prose which merely mentions the
# word ("# see the noqa docs") silences nothing.
#: A line-level ``noqa: CODE, ...`` directive inside a comment; group ``codes``
#: is its list of codes (the language server appends to it).
LINE_DIRECTIVE = re.compile(r"(?<![\w-])noqa:\s*(?P<codes>[\w-]+(?:\s*,\s*[\w-]+)*)", re.IGNORECASE)
_BARE = re.compile(r"^#\s*(?:wfdsl:\s*)?noqa(?![\w-])", re.IGNORECASE)
# A reason may follow the codes, as after a line-level directive.
_FILE = re.compile(r"^#\s*wfdsl:\s*noqa:\s*(?P<codes>[\w-]+(?:\s*,\s*[\w-]+)*)", re.IGNORECASE)


@dataclass(slots=True)
class Directive:
    """One noqa comment. ``codes`` is None for a bare ``# noqa`` (every code)."""

    span: Span
    codes: tuple[str, ...] | None
    #: The entries exactly as written, for messages.
    written: tuple[str, ...]
    file_level: bool
    used: set[str]

    def matching(self, code: str) -> str | None:
        """The entry of this directive that covers ``code`` (codes, prefixes, ``ALL``)."""
        if self.codes is None:
            return "*"
        for entry in self.codes:
            if covers(entry, code):
                return entry
        return None


def covers(entry: str, code: str) -> bool:
    """Whether a resolved entry (code, prefix or ``ALL``) covers ``code``.
    Unknown entries (kept for WF303) cover nothing: not even the stray "W"
    of which every code is an extension."""
    return entry == "ALL" or (entry.startswith("WF") and code.startswith(entry))


def _split(raw: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",")) if raw else ()


def parse_directives(comments: Iterable[Token], text: str) -> list[Directive]:
    """Directives in the file's comments. File-level ones must stand on their own line."""
    out: list[Directive] = []
    for tok in comments:
        body = str(tok)
        span = Span(tok.line or 0, tok.column or 0, tok.end_line or 0, tok.end_column or 0)
        file_match = _FILE.match(body)
        if file_match:
            start = tok.start_pos or 0
            line_start = text.rfind("\n", 0, start) + 1
            if text[line_start:start].strip() == "":
                written = _split(file_match["codes"])
                out.append(Directive(span, _resolve_all(written), written, True, set()))
                continue
        m = LINE_DIRECTIVE.search(body)
        if m:
            written = _split(m["codes"])
            out.append(Directive(span, _resolve_all(written), written, False, set()))
        elif _BARE.match(body):
            out.append(Directive(span, None, (), False, set()))
    return out


def is_file_level_form(comment: str) -> bool:
    """Whether ``comment`` is a ``# wfdsl: noqa: CODE`` directive, which
    applies to the whole file when it stands on a line of its own and to its
    line when it follows code."""
    return _FILE.match(comment) is not None


def _resolve_all(written: tuple[str, ...]) -> tuple[str, ...]:
    # Unknown entries are kept verbatim so that WF303 can name them.
    return tuple(resolve(w) or w for w in written)
