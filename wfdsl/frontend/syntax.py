"""The AST: the parse of one ``.wf`` file, close to what was written.

Built by :mod:`wfdsl.frontend.parser` while Lark parses, read by :mod:`wfdsl.frontend.validate`
to build the Spec IR. Names and strings stay Lark tokens (``str`` subclasses
that carry ``line``/``column``/``end_line``/``end_column``) so building the
AST costs no copies; nothing after validation sees these classes.
"""

from __future__ import annotations

from dataclasses import dataclass

from lark import Token


@dataclass(slots=True)
class StateItemNode:
    kind: Token
    names: list[Token]


@dataclass(slots=True)
class StateNode:
    initial: Token | None
    final: Token | None
    keyword: Token
    name: Token
    description: Token | None
    items: list[StateItemNode]
    #: Closing brace of the body, if any: the end of the declaration.
    close: Token | None


@dataclass(slots=True)
class EventNode:
    name: Token
    description: Token | None


@dataclass(slots=True)
class EventsNode:
    keyword: Token
    items: list[EventNode]


@dataclass(slots=True)
class RefNode:
    name: Token


@dataclass(slots=True)
class NotNode:
    operand: GuardNode
    #: The ``not`` keyword.
    keyword: Token


@dataclass(slots=True)
class GroupNode:
    """Parentheses as written: meaningless to the IR, kept for the formatter."""

    inner: GuardNode
    #: The parentheses.
    open: Token
    close: Token


@dataclass(slots=True)
class AndNode:
    """``a and b and c``: one node for the whole chain, operands in order."""

    operands: list[GuardNode]


@dataclass(slots=True)
class OrNode:
    """``a or b or c``: one node for the whole chain, operands in order."""

    operands: list[GuardNode]


GuardNode = RefNode | NotNode | GroupNode | AndNode | OrNode


def guard_tokens(node: GuardNode) -> list[Token]:
    """The ``NAME`` tokens of a guard, left to right (a loop, so a guard
    nested however deep does not reach the recursion limit)."""
    out: list[Token] = []
    stack = [node]
    while stack:
        g = stack.pop()
        if isinstance(g, RefNode):
            out.append(g.name)
        elif isinstance(g, NotNode):
            stack.append(g.operand)
        elif isinstance(g, GroupNode):
            stack.append(g.inner)
        else:
            stack.extend(reversed(g.operands))
    return out


@dataclass(slots=True)
class TransitionNode:
    #: Source names, or a single ``*`` token.
    sources: list[Token]
    arrow: Token
    target: Token
    event: Token
    guard: GuardNode | None
    description: Token | None


@dataclass(slots=True)
class TimedTransitionNode:
    """``SOURCES -> target after DURATION [if guard] ["description"]``."""

    #: Source names, or a single ``*`` token.
    sources: list[Token]
    arrow: Token
    target: Token
    #: The ``after`` keyword.
    after: Token
    #: The duration's ``DURATION`` tokens: one, unless spaces split it (an error).
    duration: list[Token]
    guard: GuardNode | None
    description: Token | None


MemberNode = StateNode | EventsNode | TransitionNode | TimedTransitionNode


@dataclass(slots=True)
class WorkflowNode:
    keyword: Token
    name: Token
    description: Token | None
    members: list[MemberNode]
    close: Token
