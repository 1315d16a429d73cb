"""Diagnostics: what the front end and the linter report, and how it is shown;
and :class:`Rule`, the documented kind of finding each code names."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from enum import StrEnum
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
        """``path:line:col: CODE message``."""
        return f"{self.path}:{self.line}:{self.column}: {self.code} {self.message}"

    def render(self, source: str | None) -> str:
        """The headline, then the source line with a caret under the span, then the hint."""
        out = [self.headline()]
        line_text = source_line(source, self.line) if source is not None else None
        if line_text is not None:
            shown = line_text.expandtabs(4)
            # Columns count characters; re-measure the prefix after tab expansion.
            start = len(line_text[: self.column - 1].expandtabs(4))
            if self.end_line == self.line and self.end_column > self.column:
                width = len(line_text[: self.end_column - 1].expandtabs(4)) - start
            else:
                width = 1
            gutter = f"{self.line:>4} | "
            out.append(gutter + shown)
            out.append(" " * (len(gutter) + start) + "^" * max(width, 1))
        if self.hint:
            out.append(f"     = help: {self.hint}")
        return "\n".join(out)


def source_line(source: str, line: int) -> str | None:
    """Line ``line`` (1-based) of ``source`` without its newline, or None past the end.

    Only a line feed ends a line, as the parser counts them: a form feed, a
    lone carriage return or U+2028 inside a line does not start a new one.
    """
    if line < 1:
        return None
    lines = source.split("\n")
    if lines[-1] == "":
        lines.pop()  # a final newline ends the last line; it does not start another
    if line > len(lines):
        return None
    return lines[line - 1].removesuffix("\r")


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
