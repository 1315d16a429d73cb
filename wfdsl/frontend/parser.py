"""Source text to AST with Lark's LALR(1) parser, and syntax errors (WF100)
that say what was found and what was expected in words a user knows."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, cast

from lark import Lark, Token, Transformer, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from wfdsl.diagnostics import Diagnostic
from wfdsl.errors import SpecError
from wfdsl.frontend.codes import InvalidDuration, SyntaxError_
from wfdsl.frontend.durations import DurationProblem, read_duration
from wfdsl.frontend.syntax import (
    AndNode,
    EventNode,
    EventsNode,
    GroupNode,
    GuardNode,
    NotNode,
    OrNode,
    RefNode,
    StateItemNode,
    StateNode,
    TimedTransitionNode,
    TransitionNode,
    WorkflowNode,
)

KEYWORDS = frozenset(
    [
        "workflow",
        "state",
        "initial",
        "final",
        "event",
        "enter",
        "exit",
        "compensate",
        "on",
        "if",
        "not",
        "and",
        "or",
        "after",
    ]
)


class _AstBuilder(Transformer[Token, Any]):
    """Runs inside the LALR parser (no parse tree is built); purely structural."""

    def start(self, c: list[Any]) -> WorkflowNode:
        node: WorkflowNode = c[0]
        return node

    def workflow(self, c: list[Any]) -> WorkflowNode:
        return WorkflowNode(c[0], c[1], c[2], c[4:-1], c[-1])

    def state(self, c: list[Any]) -> StateNode:
        body = c[5]
        items, close = body if body is not None else ([], None)
        return StateNode(c[0], c[1], c[2], c[3], c[4], items, close)

    def state_body(self, c: list[Any]) -> tuple[list[StateItemNode], Token]:
        return c[1:-1], c[-1]

    def state_item(self, c: list[Any]) -> StateItemNode:
        return StateItemNode(c[0], c[1:])

    def events(self, c: list[Any]) -> EventsNode:
        return EventsNode(c[0], c[1:])

    def event_item(self, c: list[Any]) -> EventNode:
        return EventNode(c[0], c[1])

    def transition(self, c: list[Any]) -> TransitionNode:
        return TransitionNode(c[0], c[1], c[2], c[4], c[6], c[7])

    def timed_transition(self, c: list[Any]) -> TimedTransitionNode:
        return TimedTransitionNode(c[0], c[1], c[2], c[3], c[4], c[6], c[7])

    def duration(self, c: list[Token]) -> list[Token]:
        return c

    def sources(self, c: list[Token]) -> list[Token]:
        return c

    def ref(self, c: list[Token]) -> RefNode:
        return RefNode(c[0])

    def not_(self, c: list[Any]) -> NotNode:
        return NotNode(c[1], c[0])

    def group(self, c: list[Any]) -> GroupNode:
        return GroupNode(c[1], c[0], c[2])

    # The grammar's chains are left-recursive (``a or b or c`` reduces as
    # ``(a or b) or c``); each reduction extends the chain on its left instead
    # of nesting it, so a chain is one node whatever its length. Parentheses
    # make a GroupNode, so a chain written inside them stays apart.

    def and_(self, c: list[GuardNode]) -> AndNode:
        left, right = c
        if isinstance(left, AndNode):
            left.operands.append(right)
            return left
        return AndNode([left, right])

    def or_(self, c: list[GuardNode]) -> OrNode:
        left, right = c
        if isinstance(left, OrNode):
            left.operands.append(right)
            return left
        return OrNode([left, right])


# Comments are %ignore'd by the grammar but the linter needs them (noqa) and
# so does the formatter; the lexer hands them to this per-thread sink.
_sink = threading.local()


def _collect_comment(tok: Token) -> Token:
    sink: list[Token] | None = getattr(_sink, "comments", None)
    if sink is not None:
        sink.append(tok)
    return tok


@cache
def grammar_text() -> str:
    """The ``.wf`` grammar: package data ``wfdsl.grammar`` in an installed wheel,
    or ``grammar/`` beside the package when run from a source checkout."""
    try:
        return resources.files("wfdsl.grammar").joinpath("wf.lark").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        checkout = Path(__file__).resolve().parents[2] / "grammar" / "wf.lark"
        return checkout.read_text(encoding="utf-8")


@cache
def _lark() -> Lark:
    return Lark(
        grammar_text(),
        parser="lalr",
        lexer="basic",  # keywords are never names, whatever the parser state
        # Every AST node keeps its Lark tokens, which carry line/column/end
        # positions; Lark's propagate_positions would only add per-rule cost.
        propagate_positions=False,
        maybe_placeholders=True,
        transformer=_AstBuilder(),
        lexer_callbacks={"COMMENT": _collect_comment},
        cache=True,
    )


def lark_parser() -> Lark:
    """The grammar's Lark LALR parser (one per process), for tools that need
    more than :func:`parse`: its lexer, or an interactive parse (the language
    server's completion asks what may come next). Its ``parse`` returns the
    AST of :mod:`~wfdsl.frontend.syntax`; comments reach it only through :func:`parse`."""
    return _lark()


def normalize_line_ends(text: str) -> str:
    """``text`` with every line end (``\r\n``, ``\r`` or ``\n``) as ``\n``.

    The front end counts lines by ``\n`` alone (so does Lark's lexer), so the
    text it reads goes through this first: a file saved with old Mac line ends
    (``\r``) is many lines, not one whose first ``#`` hides the rest. Line and
    column numbers are the same in ``text`` and in the result; offsets are not.
    """
    if "\r" not in text:
        return text
    return text.replace("\r\n", "\n").replace("\r", "\n")


def line_end_of(text: str) -> str:
    """The first line end in ``text`` (``"\r\n"``, ``"\r"`` or ``"\n"``), or
    ``"\n"`` when it has none: the style ``wfdsl fmt`` writes the file in."""
    lf, cr = text.find("\n"), text.find("\r")
    if cr < 0 or (0 <= lf < cr):
        return "\n"
    return "\r\n" if text.startswith("\r\n", cr) else "\r"


def parse(text: str, path: str = "<string>") -> tuple[WorkflowNode, list[Token]]:
    """Parse ``text`` into an AST and its comment tokens.

    Positions (line, column and offsets) are those of
    :func:`normalize_line_ends` applied to ``text``; lines and columns are
    also those of ``text`` itself.

    :raises SpecError: with one WF100 diagnostic on a syntax error.
    """
    text = normalize_line_ends(text)
    parser = _lark()
    comments: list[Token] = []
    _sink.comments = comments
    try:
        # The inline transformer makes parse() return our AST, not a Tree.
        tree = cast(WorkflowNode, parser.parse(text))
    except UnexpectedInput as exc:
        raise SpecError([_syntax_diagnostic(exc, text, path)]) from None
    finally:
        _sink.comments = None
    return tree, comments


# -- syntax error messages --------------------------------------------------------

_NAME_KIND = {
    "WORKFLOW": "a workflow name",
    "STATE": "a state name",
    "ARROW": "a state name",
    "EVENT": "an event name",
    "ON": "an event name",
    "IF": "a guard name",
    "NOT": "a guard name",
    "AND": "a guard name",
    "OR": "a guard name",
    "LPAR": "a guard name",
    "ENTER": "a hook name",
    "EXIT": "a hook name",
    "COMPENSATE": "a hook name",
}
_MEMBER_START = {"INITIAL", "FINAL", "STATE", "EVENT", "NAME", "STAR"}


@cache
def _terminal_words() -> dict[str, str]:
    """Terminal name -> how a person would say it (``'->'``, ``a description string``)."""
    words = {"NAME": "a name", "STRING": "a description string", "$END": "the end of the file"}
    words["DURATION"] = "a duration such as '30m'"
    for term in _lark().terminals:
        if term.name not in words and term.pattern.type == "str":
            words[term.name] = f"'{term.pattern.value}'"
    return words


def _name_kind(value_stack: Sequence[Any]) -> str:
    """What kind of name the parser wants, from the tokens just before the error."""
    for item in reversed(value_stack):
        if isinstance(item, EventNode):  # `event a "..", ` reduces each item
            return "an event name"
        if not isinstance(item, Token):
            break
        if item.type in _NAME_KIND:
            return _NAME_KIND[item.type]
        if item.type not in ("NAME", "COMMA", "STRING"):
            break
    # A name list with no keyword before it is a transition's sources.
    return "a state name"


def _join(words: Iterable[str]) -> str:
    items = list(dict.fromkeys(words))
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]


def _describe(tok: Token) -> str:
    if tok.type == "$END":
        return "the end of the file"
    if tok.type == "NAME":
        return f"name '{tok.value}'"
    if tok.type == "STRING":
        return "a description string"
    if tok.value in KEYWORDS:
        return f"keyword '{tok.value}'"
    return f"'{tok.value}'"


def _expected_phrase(expected: set[str], value_stack: Sequence[Any]) -> str:
    words = _terminal_words()
    if expected >= _MEMBER_START:
        rest = sorted(expected - _MEMBER_START)
        return _join(
            ["a declaration ('state', 'event' or a transition)", *(words.get(t, t) for t in rest)]
        )
    order = sorted(expected, key=lambda t: (t != "NAME", t == "$END", words.get(t, t)))
    return _join(_name_kind(value_stack) if t == "NAME" else words.get(t, t.lower()) for t in order)


#: Operator characters from other languages -> the guard keyword meant.
_OPERATOR_WORDS = {"&": "'and'", "|": "'or'", "!": "'not'"}


def _syntax_diagnostic(exc: UnexpectedInput, text: str, path: str) -> Diagnostic:
    line, column = exc.line, exc.column
    hint: str | None = None
    if isinstance(exc, UnexpectedCharacters):
        pos: int = exc.pos_in_stream or 0
        char = text[pos]
        line_end = text.find("\n", pos)
        line_end = len(text) if line_end < 0 else line_end
        if char == '"':
            message = "unterminated string: a description must close with '\"' on the same line"
            end_column = column + (line_end - pos)
        else:
            shown = char if char.isprintable() else repr(char)[1:-1]
            message = f"unexpected character '{shown}'"
            end_column = column + 1
            if char == "_" or char.isdigit():
                hint = "names start with an ASCII letter"
            elif char.isalpha():
                hint = "names use ASCII letters, digits and '_'"
            elif char == "'":
                hint = "descriptions use double quotes"
            elif char in _OPERATOR_WORDS:
                hint = f"guards are combined with {_OPERATOR_WORDS[char]}"
        return SyntaxError_.diagnostic(path, line, column, line, end_column, message, hint)
    assert isinstance(exc, UnexpectedToken)
    tok = exc.token
    stack: Sequence[Any] = ()
    ip = getattr(exc, "interactive_parser", None)
    if ip is not None:
        stack = ip.parser_state.value_stack
    spaced = _spaced_duration(stack, path)
    if spaced is not None:
        return spaced
    expected = _expected_phrase(_expected_here(exc.expected, stack), stack)
    found = _describe(tok)
    if tok.type == "$END":
        # Point just past the last character rather than at a line that does not exist.
        lines = text.split("\n")  # line ends are normalised to "\n" by now
        if len(lines) > 1 and lines[-1] == "":
            lines.pop()
        line, column = len(lines), len(lines[-1]) + 1
        end_line, end_column = line, column + 1
    else:
        end_line = tok.end_line if tok.end_line is not None else line
        end_column = tok.end_column if tok.end_column is not None else column + 1
        if tok.value in KEYWORDS and "NAME" in exc.expected:
            hint = f"'{tok.value}' is a keyword and cannot be used as a name"
        hint = _timed_hint(tok, stack, exc.expected) or hint
    return SyntaxError_.diagnostic(
        path, line, column, end_line, end_column, f"expected {expected}, found {found}", hint
    )


# -- timed transitions ---------------------------------------------------------------

_ONE_TRIGGER = "a transition fires on an event or after a duration, not both"
_MEMBERS = (StateNode, EventsNode, TransitionNode, TimedTransitionNode)


def _expected_here(expected: Iterable[str], stack: Sequence[Any]) -> set[str]:
    """The parser's expected terminals, less a second DURATION right after one:
    the grammar takes it only to report the space between them (WF114)."""
    out = set(expected)
    if stack and isinstance(stack[-1], Token) and stack[-1].type == "DURATION":
        out.discard("DURATION")
    return out


def _trigger_before(stack: Sequence[Any]) -> bool:
    """Whether the member being parsed could end here and already has ``on``
    or ``after``."""
    top = stack[-1] if stack else None
    if isinstance(top, Token) and top.type not in ("NAME", "DURATION", "STRING"):
        return False  # `if after`: a name is missing, not a second trigger
    for item in reversed(stack):
        if isinstance(item, Token):
            if item.type in ("ON", "AFTER"):
                return True
            if item.type in ("LBRACE", "RBRACE"):
                return False
        elif isinstance(item, _MEMBERS):
            return False
    return False


def _timed_hint(tok: Token, stack: Sequence[Any], expected: Iterable[str]) -> str | None:
    """Hints for the mistakes around ``after``: both ``on`` and ``after`` in
    one transition, and a digit at the start of a name."""
    if tok.type in ("ON", "AFTER", "DURATION") and _trigger_before(stack):
        return _ONE_TRIGGER
    if tok.type == "DURATION" and "NAME" in expected:
        return "names start with an ASCII letter"
    return None


def _spaced_duration(stack: Sequence[Any], path: str) -> Diagnostic | None:
    """``after 30 m``: the unit, apart from its number, lexes as a name that
    starts the next transition, and the parser trips only a token later. Say
    what happened instead (WF114 at the duration and the stray unit)."""
    if len(stack) < 2:
        return None
    node, unit = stack[-2], stack[-1]
    if isinstance(node, Tree) and node.children:  # the members so far, in Lark's list of them
        node = node.children[-1]
    if not (
        isinstance(node, TimedTransitionNode)
        and isinstance(unit, Token)
        and unit.type == "NAME"
        and node.guard is None
        and node.description is None
    ):
        return None
    number = node.duration[-1]
    if not number.value.isdigit() or unit.line != number.end_line:
        return None
    problem = read_duration([*node.duration, unit])
    assert isinstance(problem, DurationProblem)  # two tokens are always a problem
    return InvalidDuration.at(path, problem.span, problem.message, problem.hint)
