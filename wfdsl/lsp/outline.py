"""Document symbols: the workflow, its states (with their hooks), events and transitions."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from wfdsl.lsp.frontend import (
    EventsNode,
    StateNode,
    Token,
    TransitionNode,
    guard_names,
    transition_text,
)
from wfdsl.lsp.symbols import SymbolIndex, description_text


class Role(StrEnum):
    WORKFLOW = "workflow"
    STATE = "state"
    HOOKS = "hooks"
    EVENT = "event"
    TRANSITION = "transition"


@dataclass(slots=True)
class Symbol:
    """One outline entry: ``text[start:end]`` is all of it, ``text[name_start:name_end]`` its name."""

    name: str
    role: Role
    start: int
    end: int
    name_start: int
    name_end: int
    detail: str | None = None
    children: list[Symbol] = field(default_factory=list)


def _span(first: Token, last: Token) -> tuple[int, int]:
    return first.start_pos or 0, last.end_pos or 0


def outline(symbols: SymbolIndex) -> Symbol:
    """The file's outline, rooted at the workflow."""
    tree = symbols.tree
    root = Symbol(
        tree.name.value,
        Role.WORKFLOW,
        *_span(tree.keyword, tree.close),
        *_span(tree.name, tree.name),
        description_text(tree.description),
    )
    for member in tree.members:
        if isinstance(member, StateNode):
            first = member.initial or member.final or member.keyword
            last = member.close or member.description or member.name
            words = [t.value for t in (member.initial, member.final) if t is not None]
            state = Symbol(
                member.name.value,
                Role.STATE,
                *_span(first, last),
                *_span(member.name, member.name),
                " ".join([*words, "state"]),
            )
            for item in member.items:
                state.children.append(
                    Symbol(
                        item.kind.value + " " + ", ".join(t.value for t in item.names),
                        Role.HOOKS,
                        *_span(item.kind, item.names[-1]),
                        *_span(item.kind, item.kind),
                    )
                )
            root.children.append(state)
        elif isinstance(member, EventsNode):
            for ev in member.items:
                root.children.append(
                    Symbol(
                        ev.name.value,
                        Role.EVENT,
                        *_span(ev.name, ev.description or ev.name),
                        *_span(ev.name, ev.name),
                        description_text(ev.description),
                    )
                )
        else:
            node = member
            trigger = node.event if isinstance(node, TransitionNode) else node.duration[-1]
            end = node.description or trigger
            last_guard = guard_names(node.guard)
            if node.description is None and last_guard:
                end = last_guard[-1]
            root.children.append(
                Symbol(
                    transition_text(node),
                    Role.TRANSITION,
                    *_span(node.sources[0], end),
                    *_span(node.sources[0], node.target),
                )
            )
    return root
