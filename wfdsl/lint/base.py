"""What a rule is, and the registry of every rule by code and by name."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import TYPE_CHECKING, ClassVar, TypeVar

from wfdsl.diagnostics import Diagnostic, Severity
from wfdsl.ir import Gap, Span

if TYPE_CHECKING:
    from wfdsl.ir import Spec

#: Every rule, by code, in registration order.
REGISTRY: dict[str, type[Rule]] = {}
#: Code by kebab-case name.
BY_NAME: dict[str, str] = {}


class Rule:
    """A rule: a stable code, a kebab-case name, a default severity and its documentation.

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


class LintRule(Rule):
    """A rule that inspects a :class:`~wfdsl.ir.Spec`.

    In a file with errors, lint still runs the rules that the errors leave
    meaningful: those whose ``needs`` the errors do not take away (see
    :class:`~wfdsl.ir.Gap`). A rule that declares nothing runs only on
    valid files.
    """

    #: What the spec must have for this rule to run on a file with errors.
    needs: ClassVar[frozenset[Gap]] = frozenset(Gap)

    def check(self, spec: Spec) -> Iterator[Diagnostic]:
        raise NotImplementedError


R = TypeVar("R", bound=type[Rule])


def register(rule: R) -> R:
    """Class decorator: add a rule to the registry; codes and names are unique."""
    if rule.code in REGISTRY:
        raise ValueError(f"duplicate rule code {rule.code}")
    if rule.name in BY_NAME:
        raise ValueError(f"duplicate rule name {rule.name}")
    REGISTRY[rule.code] = rule
    BY_NAME[rule.name] = rule.code
    return rule


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


def resolve(code_or_name: str) -> str | None:
    """``WF201`` or ``unreachable-state`` (any case) to the code; a prefix such as
    ``WF2`` stays a prefix. None if it names nothing."""
    token = code_or_name.strip()
    upper = token.upper()
    if upper in REGISTRY:
        return upper
    if token.lower() in BY_NAME:
        return BY_NAME[token.lower()]
    if upper == "ALL" or (upper.startswith("WF") and any(c.startswith(upper) for c in REGISTRY)):
        return upper
    return None


def iter_rules() -> Iterator[type[Rule]]:
    yield from sorted(REGISTRY.values(), key=lambda r: r.code)
