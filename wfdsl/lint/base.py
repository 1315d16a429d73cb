"""What a lint rule is, and the registry of every rule by code and by name.

The registry holds the front end's error codes (WF1xx, :mod:`wfdsl.frontend.codes`)
beside the lint rules (WF2xx, WF3xx), so that every code can be named in
``--select``, ``noqa`` and ``docs/rules.md``; the front end itself knows
nothing of the linter.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, ClassVar, TypeVar

from wfdsl.diagnostics import SECTIONS, Diagnostic, Rule, doc_sections
from wfdsl.frontend.codes import ERRORS
from wfdsl.ir import Gap

if TYPE_CHECKING:
    from wfdsl.ir import Spec

__all__ = [
    "BY_NAME",
    "REGISTRY",
    "SECTIONS",
    "LintRule",
    "Rule",
    "doc_sections",
    "iter_rules",
    "register",
    "resolve",
]

#: Every rule, by code, in registration order.
REGISTRY: dict[str, type[Rule]] = {}
#: Code by kebab-case name.
BY_NAME: dict[str, str] = {}


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


# The front end's error codes are rules too (named in noqa and --select, listed
# in docs/rules.md); they come first, before any lint rule registers.
for _error in ERRORS:
    register(_error)
