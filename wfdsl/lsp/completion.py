"""Completion by context, read from the grammar's own parser.

The text before the cursor goes through the LALR parser that ``wfdsl lint``
uses; the terminals it would accept next say what may come (keywords, or a
name), and the token before the cursor says which kind of name: after ``->``
a state, after ``on`` an event, after ``if``/``and``/``or``/``not``/``(`` a
guard, after ``enter``/``exit``/``compensate`` a hook, at the start of a
member a source state. Names come from the current parse or, while the file
has a syntax error after the cursor, from the last version that parsed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from wfdsl.lsp.documents import Analysis
from wfdsl.lsp.frontend import (
    EventNode,
    EventsNode,
    StateNode,
    Token,
    Tree,
    UnexpectedInput,
    iter_line_tokens,
    keyword_terminals,
    parser_at,
)
from wfdsl.lsp.symbols import Kind, SymbolIndex, description_text


class Role(StrEnum):
    """What a completion item is."""

    KEYWORD = "keyword"
    STATE = "state"
    EVENT = "event"
    GUARD = "guard"
    HOOK = "hook"


@dataclass(frozen=True, slots=True)
class Item:
    label: str
    role: Role
    detail: str | None = None


#: Token before the cursor -> the kind of name that follows it.
_NAME_AFTER = {
    "ARROW": Kind.STATE,
    "ON": Kind.EVENT,
    "IF": Kind.GUARD,
    "NOT": Kind.GUARD,
    "AND": Kind.GUARD,
    "OR": Kind.GUARD,
    "LPAR": Kind.GUARD,
    "ENTER": Kind.HOOK,
    "EXIT": Kind.HOOK,
    "COMPENSATE": Kind.HOOK,
}
#: After these a new name is being declared: offer the ones used but not declared.
_DECLARING = {"STATE": Kind.STATE, "EVENT": Kind.EVENT}
_ROLE = {Kind.STATE: Role.STATE, Kind.EVENT: Role.EVENT}


def _word_start(text: str, offset: int) -> int:
    """Start of the name being typed at ``offset`` (``offset`` if none)."""
    i = offset
    while i > 0 and (text[i - 1].isascii() and (text[i - 1].isalnum() or text[i - 1] == "_")):
        i -= 1
    return i


def _in_comment_or_string(analysis: Analysis, offset: int) -> bool:
    start, _ = analysis.index.line_span(analysis.index.line_of(offset))
    try:
        toks = list(iter_line_tokens(analysis.text[start:offset]))
    except UnexpectedInput as exc:
        # An unterminated string runs to the cursor: that is being typed inside it.
        return analysis.text[start + (getattr(exc, "pos_in_stream", 0) or 0)] == '"'
    return bool(toks) and toks[-1].type == "COMMENT"


@dataclass(frozen=True, slots=True)
class _Context:
    #: The kind of name that may come next, if a name may.
    kind: Kind | None
    #: A new state or event is being declared (``state |``, ``event a, |``).
    declaring: bool = False
    #: Transition sources: a final state may not be one (WF107).
    sources: bool = False


def _context(last: Token | None, accepts: set[str] | None, stack: list[object]) -> _Context:
    if last is None:
        return _Context(Kind.STATE if accepts is None else None, sources=True)
    if last.type in _NAME_AFTER:
        return _Context(_NAME_AFTER[last.type])
    if last.type in _DECLARING:
        return _Context(_DECLARING[last.type], declaring=True)
    if last.type == "COMMA":
        # A list: its keyword says what it lists; none means transition sources.
        for item in reversed(stack[:-1]):
            if isinstance(item, EventNode) or _is_token(item, "EVENT"):
                return _Context(Kind.EVENT, declaring=True)
            if isinstance(item, Token) and item.type in ("ENTER", "EXIT", "COMPENSATE"):
                return _Context(Kind.HOOK)
            if not (isinstance(item, Token) and item.type in ("NAME", "COMMA", "STRING")):
                break
        return _Context(Kind.STATE, sources=True)
    if accepts is None or "NAME" in accepts:
        # After a complete member, a name starts the next transition.
        return _Context(Kind.STATE, sources=True)
    return _Context(None)


def complete(analysis: Analysis, offset: int, fallback: SymbolIndex | None) -> list[Item]:
    """Completion items at ``offset``: names of the kind the grammar expects
    there, then the keywords it accepts."""
    text = analysis.text
    if _in_comment_or_string(analysis, offset):
        return []
    start = _word_start(text, offset)
    accepts, stack, last = parser_at(text, start)
    if accepts is None:
        # A syntax error before the cursor: the token just before it (on
        # this line or one above) still says what kind of name comes next.
        toks = _tokens_before(analysis, start)
        last = toks[-1] if toks else None
        recent: list[object] = list(toks)
    else:
        recent = stack
    ctx = _context(last, accepts, recent)
    symbols = analysis.symbols or fallback
    items = _names(ctx, symbols, stack) if ctx.kind is not None else []
    words = keyword_terminals()
    if accepts is not None:
        items += [Item(words[t], Role.KEYWORD) for t in sorted(accepts) if t in words]
    elif ctx.kind is Kind.GUARD:
        items.append(Item("not", Role.KEYWORD))
    elif ctx.sources:
        # A member may start here: the keywords that start one.
        items += [Item(w, Role.KEYWORD) for w in _MEMBER_KEYWORDS]
    return _unique(items)


_MEMBER_KEYWORDS = ("state", "initial", "final", "event")
#: How far up :func:`_last_token_before` looks past blank and comment lines.
_LOOKBACK_LINES = 50


def _tokens_before(analysis: Analysis, offset: int) -> list[Token]:
    """The tokens just before ``offset``, lexed line by line upwards (strings
    and comments never span lines, so a line lexes on its own) until one that
    does not continue a list: ``->`` at the end of the line above still means
    a state comes next, and ``enter a,`` a hook."""
    index = analysis.index
    line = index.line_of(offset)
    found: list[Token] = []
    for n in range(line, max(line - _LOOKBACK_LINES, -1), -1):
        start, end = index.line_span(n)
        try:
            text = analysis.text[start : min(end, offset)]
            toks = [t for t in iter_line_tokens(text) if t.type not in ("COMMENT", "WS")]
        except UnexpectedInput:
            break
        found[:0] = toks
        if found and found[0].type not in ("NAME", "COMMA", "STRING"):
            break
    return found


def _is_token(item: object, type_: str) -> bool:
    return isinstance(item, Token) and item.type == type_


def _declared_in(stack: list[object]) -> tuple[dict[str, StateNode], dict[str, EventNode]]:
    """States and events declared before the cursor, from the parser's stack:
    they count even when the rest of the file does not parse yet."""
    states: dict[str, StateNode] = {}
    events: dict[str, EventNode] = {}
    todo = list(stack)
    while todo:
        item = todo.pop(0)
        if isinstance(item, StateNode):
            states.setdefault(item.name.value, item)
        elif isinstance(item, EventsNode):
            for ev in item.items:
                events.setdefault(ev.name.value, ev)
        elif isinstance(item, Tree | list):
            todo[:0] = list(item.children if isinstance(item, Tree) else item)
    return states, events


def _names(ctx: _Context, symbols: SymbolIndex | None, stack: list[object]) -> list[Item]:
    kind = ctx.kind
    assert kind is not None
    if ctx.declaring:
        if symbols is None:
            return []
        return [Item(n, _ROLE[kind], "used but not declared") for n in symbols.undeclared(kind)]
    if kind in (Kind.STATE, Kind.EVENT):
        states, events = _declared_in(stack)
        if symbols is not None:
            states = {**symbols.states, **states}
            events = {**symbols.events, **events}
        if kind is Kind.EVENT:
            return [Item(n, Role.EVENT, description_text(e.description)) for n, e in events.items()]
        return [
            Item(name, Role.STATE, description_text(node.description))
            for name, node in states.items()
            # nothing may leave a final state (WF107)
            if not (ctx.sources and node.final is not None)
        ]
    if symbols is None:
        return []
    role = Role.GUARD if kind is Kind.GUARD else Role.HOOK
    return [Item(n, role, kind.value) for n in symbols.names(kind)]


def _unique(items: list[Item]) -> list[Item]:
    seen: set[tuple[str, Role]] = set()
    out = []
    for item in items:
        key = (item.label, item.role)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out
