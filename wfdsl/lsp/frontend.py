"""The language server's one door into the rest of wfdsl.

Everything the server knows about the language comes through this module: the
parser and its AST, validation, the lint engine and its configuration, the
formatter, the rule registry. The server has no parser of its own; it runs
the same stages as ``wfdsl lint`` and ``wfdsl fmt`` on the editor's text.
When the front end's modules move, only the imports here change.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache

from lark import Token, Tree
from lark.exceptions import UnexpectedInput

from wfdsl.diagnostics import Diagnostic, Severity
from wfdsl.errors import FormatError, SpecError
from wfdsl.fmt import format_guard_node, format_source, transition_text
from wfdsl.frontend.durations import DurationProblem, read_duration, read_duration_text
from wfdsl.frontend.lines import Lines
from wfdsl.frontend.naming import upper_snake
from wfdsl.frontend.parser import KEYWORDS, lark_parser, line_end_of, parse
from wfdsl.frontend.source import Source, gc_paused
from wfdsl.frontend.syntax import (
    AndNode,
    EventNode,
    EventsNode,
    GroupNode,
    GuardNode,
    MemberNode,
    NotNode,
    OrNode,
    RefNode,
    StateItemNode,
    StateNode,
    TimedTransitionNode,
    TransitionNode,
    WorkflowNode,
    guard_tokens,
)
from wfdsl.frontend.validate import check_tree, closest_name
from wfdsl.ir import Spec
from wfdsl.lint.base import REGISTRY, Rule
from wfdsl.lint.config import ConfigError, ConfigFinder, Selection
from wfdsl.lint.docs import render as render_rules_page
from wfdsl.lint.docs import rule_anchor
from wfdsl.lint.engine import lint_source
from wfdsl.lint.noqa import LINE_DIRECTIVE as NOQA_LINE_DIRECTIVE

__all__ = [
    "KEYWORDS",
    "NOQA_LINE_DIRECTIVE",
    "REGISTRY",
    "AndNode",
    "Checked",
    "ConfigError",
    "ConfigFinder",
    "Diagnostic",
    "DurationProblem",
    "EventNode",
    "EventsNode",
    "FormatError",
    "GroupNode",
    "GuardNode",
    "Lines",
    "MemberNode",
    "NotNode",
    "OrNode",
    "RefNode",
    "Rule",
    "Selection",
    "Severity",
    "SpecError",
    "StateItemNode",
    "StateNode",
    "TimedTransitionNode",
    "Token",
    "TransitionNode",
    "Tree",
    "UnexpectedInput",
    "WorkflowNode",
    "check",
    "check_parsed",
    "closest_name",
    "editor_text",
    "format_guard_node",
    "format_source",
    "gc_paused",
    "guard_names",
    "is_name",
    "iter_line_tokens",
    "keyword_terminals",
    "line_end_of",
    "not_parsed",
    "parse",
    "parser_at",
    "read_duration",
    "read_duration_text",
    "render_rules_page",
    "rule_anchor",
    "transition_text",
    "upper_snake",
]


@dataclass(frozen=True, slots=True)
class Checked:
    """One version of a file through the front end and the linter.

    ``tree`` is None when the file does not parse; ``spec`` is None when it
    does not validate. ``diagnostics`` are exactly what ``wfdsl lint`` reports
    for the same text and configuration, sorted by position.
    """

    tree: WorkflowNode | None
    comments: tuple[Token, ...]
    spec: Spec | None
    diagnostics: tuple[Diagnostic, ...]


def editor_text(text: str) -> str:
    """``text`` (line ends normalised, as :attr:`Lines.text`) as the front end
    reads it: ``wfdsl lint`` drops a BOM when it decodes a file; a space in its
    place keeps every offset where the editor has it."""
    return " " + text[1:] if text.startswith("\ufeff") else text


def check(text: str, path: str, selection: Selection) -> Checked:
    """Parse, validate and lint ``text`` (see :func:`editor_text`) as ``wfdsl
    lint`` does (same stages, same rules, same ``noqa``), keeping the AST for
    the editor features."""
    with gc_paused():
        try:
            tree, comments = parse(text, path)
        except SpecError as exc:
            return not_parsed(exc)
        return check_parsed(tree, comments, text, path, selection)


def not_parsed(exc: SpecError) -> Checked:
    """What a syntax error leaves: its diagnostic."""
    return Checked(None, (), None, _sorted(exc.diagnostics))


def check_parsed(
    tree: WorkflowNode, comments: Sequence[Token], text: str, path: str, selection: Selection
) -> Checked:
    """Validate and lint a parse of ``text`` as ``wfdsl lint`` does: errors
    with every warning they leave meaningful."""
    checked = check_tree(tree, path)
    source = Source(checked.spec, text, tuple(comments), checked.errors, checked.gaps)
    found = lint_source(source, selection)
    spec = None if checked.errors else checked.spec
    return Checked(tree, tuple(comments), spec, tuple(found))


def _sorted(diags: Iterable[Diagnostic]) -> tuple[Diagnostic, ...]:
    return tuple(sorted(diags, key=Diagnostic.sort_key))


def parser_at(text: str, offset: int) -> tuple[set[str] | None, list[object], Token | None]:
    """Where the grammar's own LALR parser stands at ``offset``: the terminals
    it would accept next, its value stack (tokens and AST nodes), and the last
    token before ``offset`` (None at the start of the text).

    On a syntax error before ``offset`` the accepted terminals are None, the
    stack is the parser's at the error (the members parsed until then) and
    the last token is None.
    """
    ip = lark_parser().parse_interactive(text)
    last: Token | None = None
    try:
        # iter_parse yields each token, then feeds it when asked for the next
        # one: the token that ends past ``offset`` is never fed.
        for tok in ip.iter_parse():
            if tok.end_pos is None or tok.end_pos > offset:
                break
            last = tok
    except UnexpectedInput as exc:
        state = getattr(exc, "state", None)
        return None, list(getattr(state, "value_stack", ())), None
    accepts: set[str] = ip.accepts()  # type: ignore[no-untyped-call]
    return accepts, list(ip.parser_state.value_stack), last


def iter_line_tokens(line: str) -> Iterator[Token]:
    """The tokens of one line, comments included (strings and comments never
    span lines). :raises UnexpectedInput: at a character no token starts with."""
    yield from lark_parser().lex(line, dont_ignore=True)


@cache
def keyword_terminals() -> dict[str, str]:
    """Terminal name -> keyword, for every keyword of the grammar."""
    out: dict[str, str] = {}
    for term in lark_parser().terminals:
        if term.pattern.type == "str" and term.pattern.value in KEYWORDS:
            out[term.name] = term.pattern.value
    return out


@cache
def _name_regexp() -> re.Pattern[str]:
    return re.compile(lark_parser().get_terminal("NAME").pattern.to_regexp())


def is_name(text: str) -> bool:
    """Whether ``text`` is a valid NAME of the grammar and not a keyword."""
    return _name_regexp().fullmatch(text) is not None and text not in KEYWORDS


def guard_names(node: GuardNode | None) -> list[Token]:
    """The guard's names, left to right."""
    return [] if node is None else guard_tokens(node)
