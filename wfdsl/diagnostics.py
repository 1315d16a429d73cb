"""Diagnostics: what the front end and the linter report, and how it is shown;
and :class:`Rule`, the documented kind of finding each code names."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import ClassVar

from wfdsl.ir import Span


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding at one place in one file.

    Lines and columns are 1-based; ``end_column`` is exclusive (the column
    after the last character), as in SARIF.
    """

    code: str
    name: str
    severity: Severity
    message: str
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    hint: str | None = None

    @property
    def span(self) -> Span:
        return Span(self.line, self.column, self.end_line, self.end_column)

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.line, self.column, self.code)

    def headline(self) -> str:
        """``path:line:col: CODE message``, safe to print (see :func:`visible`)."""
        return visible(f"{self.path}:{self.line}:{self.column}: {self.code} {self.message}")

    def render(self, source: str | SourceLines | None) -> str:
        """The headline, then the source line with a caret under the span, then
        the hint; safe to print on a terminal (see :func:`visible`).

        ``source`` is the file's text, or its :class:`SourceLines` when many
        diagnostics of one file are shown (so that the text is cut into lines
        once, not once per diagnostic).
        """
        out = [self.headline()]
        if isinstance(source, str):
            source = SourceLines(source)
        line_text = source.line(self.line) if source is not None else None
        if line_text is not None:
            # Columns count characters; the caret is measured on the line as
            # shown: escapes made visible, then tabs expanded.
            def width_of(text: str) -> int:
                return len(visible(text, keep="\t").expandtabs(4))

            shown = visible(line_text, keep="\t").expandtabs(4)
            start = width_of(line_text[: self.column - 1])
            if self.end_line == self.line and self.end_column > self.column:
                width = width_of(line_text[: self.end_column - 1]) - start
            else:
                width = 1
            gutter = f"{self.line:>4} | "
            out.append(gutter + shown)
            out.append(" " * (len(gutter) + start) + "^" * max(width, 1))
        if self.hint:
            out.append(f"     = help: {visible(self.hint)}")
        return "\n".join(out)


class SourceLines:
    """A file's text cut into lines once, to show many diagnostics of it.

    ``\r\n``, a lone ``\r`` and ``\n`` each end a line, as in the front end
    (:func:`wfdsl.frontend.parser.normalize_line_ends`), so that line numbers
    agree with the diagnostics'; a form feed or U+2028 inside a line does not
    start a new one (as it would for ``str.splitlines``).
    """

    __slots__ = ("_lines",)

    def __init__(self, source: str) -> None:
        if "\r" in source:
            source = source.replace("\r\n", "\n").replace("\r", "\n")
        lines = source.split("\n")
        if lines[-1] == "":
            lines.pop()  # a final line end ends the last line; it does not start another
        self._lines: Sequence[str] = lines

    def __len__(self) -> int:
        return len(self._lines)

    def line(self, number: int) -> str | None:
        """Line ``number`` (1-based) without its line end, or None outside the text."""
        if 1 <= number <= len(self._lines):
            return self._lines[number - 1]
        return None


def source_line(source: str, line: int) -> str | None:
    """Line ``line`` (1-based) of ``source`` without its line end, or None past
    the end; lines end as for :class:`SourceLines` (build one instead to look
    up many lines of one text)."""
    return SourceLines(source).line(line)


#: Characters beyond the C0 and C1 controls that a terminal acts on rather
#: than shows: the bidirectional controls, which reorder what follows them on
#: screen ("Trojan Source", CVE-2021-42574), and the line and paragraph
#: separators. Machine formats escape them too (see :func:`visible`).
UNICODE_CONTROLS = (
    0x061C,
    0x200E,
    0x200F,
    0x2028,
    0x2029,
    *range(0x202A, 0x202F),
    *range(0x2066, 0x206A),
)
_NAMED = {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"}


@cache
def _escapes(keep: str) -> dict[int, str]:
    """The :meth:`str.translate` table of :func:`visible`, without ``keep``."""
    table: dict[int, str] = {}
    for code in (*range(0x00, 0x20), *range(0x7F, 0xA0)):
        table[code] = _NAMED.get(code, f"\\x{code:02x}")
    for code in UNICODE_CONTROLS:
        table[code] = f"\\u{code:04x}"
    for code in range(0xD800, 0xE000):
        # U+DC80..U+DCFF are the bytes 0x80..0xFF of a file name that is not
        # UTF-8, as Python's "surrogateescape" decodes them: show the byte.
        surrogate_byte = 0xDC80 <= code <= 0xDCFF
        table[code] = f"\\x{code - 0xDC00:02x}" if surrogate_byte else f"\\u{code:04x}"
    for ch in keep:
        table.pop(ord(ch), None)
    return table


def visible(text: str, keep: str = "") -> str:
    """``text`` safe to print on a terminal: every character a terminal would
    act on, rather than show, written as a visible escape.

    Escaped are the C0 controls (ESC starts every escape sequence: clearing
    the screen, setting the window title, OSC 52 writing the clipboard; a
    carriage return or backspace overwrites what is shown), DEL, the C1
    controls (U+009B is a one-character CSI), the Unicode bidirectional
    controls and line separators, and lone surrogates (a file name's bytes
    that are not UTF-8). Tab, line feed and carriage return appear as ``\\t``,
    ``\\n`` and ``\\r``; other characters below U+0100 as ``\\xNN`` (so ESC is
    ``\\x1b``), the rest as ``\\uNNNN``, a surrogate-escaped byte as ``\\xNN``.
    Characters in ``keep`` (``"\\n"`` for a block of lines, ``"\\t"`` for a
    line whose tabs are expanded afterwards) are left as they are; all other
    text, printable Unicode and backslashes included, is unchanged: the result
    is for reading, not for parsing back.

    The one place where wfdsl makes file content and stored data safe for a
    terminal. Machine formats (JSON, SARIF) keep the exact text instead.
    """
    if text.isprintable():  # no character of the table is (most text: fast)
        return text
    return text.translate(_escapes(keep))


class Rule:
    """A rule: a stable code, a kebab-case name, a default severity and its documentation.

    Every :class:`Diagnostic` names one by its code: the front end's errors
    (:mod:`wfdsl.frontend.codes`), the lint rules (:mod:`wfdsl.lint.rules`) and
    the breaking changes (:mod:`wfdsl.compare.breaking`) are all rules.
    The class docstring *is* the rule's documentation, in the sections
    ``What it does``, ``Why is this bad?``, ``Example`` and ``Use instead``;
    ``docs/rules.md`` is generated from it.
    """

    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity] = Severity.WARNING
    #: Off-by-default rules run only when selected.
    default_enabled: ClassVar[bool] = True

    @classmethod
    def summary(cls) -> str:
        """The first sentence of the docstring's "What it does" section, on one line."""
        paragraph = doc_sections(cls).get("What it does", "").strip().split("\n\n")[0]
        text = " ".join(paragraph.split())
        end = text.find(". ")
        return text if end < 0 else text[: end + 1]

    @classmethod
    def diagnostic(
        cls,
        path: str,
        line: int,
        column: int,
        end_line: int,
        end_column: int,
        message: str,
        hint: str | None = None,
    ) -> Diagnostic:
        return Diagnostic(
            cls.code,
            cls.name,
            cls.severity,
            message,
            path,
            line,
            column,
            end_line,
            end_column,
            hint,
        )

    @classmethod
    def at(cls, path: str, span: Span, message: str, hint: str | None = None) -> Diagnostic:
        return cls.diagnostic(
            path, span.line, span.column, span.end_line, span.end_column, message, hint
        )


SECTIONS = ("What it does", "Why is this bad?", "Example", "Use instead")


def doc_sections(rule: type[Rule]) -> dict[str, str]:
    """The rule's docstring split into its ``## Section`` parts."""
    doc = inspect.cleandoc(rule.__doc__ or "")
    sections: dict[str, str] = {}
    current: str | None = None
    lines: list[str] = []
    for line in doc.splitlines():
        if line.startswith("## "):
            if current is not None:
                sections[current] = "\n".join(lines).strip()
            current, lines = line[3:].strip(), []
        else:
            lines.append(line)
    if current is not None:
        sections[current] = "\n".join(lines).strip()
    return sections
