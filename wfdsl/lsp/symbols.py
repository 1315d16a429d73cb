"""Every name in a file, by what it names: the index behind hover, go to
definition, references, rename, completion and the outline.

Built from the parser's AST, whose names are tokens that carry their offsets,
so it also serves files that parse but do not validate (a state used before
it is declared, a typo in an event): that is when an editor needs it most.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from enum import StrEnum

from wfdsl.lsp.frontend import (
    EventNode,
    EventsNode,
    StateNode,
    TimedTransitionNode,
    Token,
    TransitionNode,
    WorkflowNode,
    guard_names,
)


class Kind(StrEnum):
    """What a name names."""

    WORKFLOW = "workflow"
    STATE = "state"
    EVENT = "event"
    GUARD = "guard"
    HOOK = "hook"


#: Kinds that a ``.wf`` file declares; guards and hooks are declared by their
#: use (their definitions are methods of the Python hooks object).
DECLARED = frozenset({Kind.STATE, Kind.EVENT})


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One name at one place: ``text[start:end]``."""

    kind: Kind
    name: str
    start: int
    end: int
    #: The name's declaration (``state x``, ``event x``, the workflow's name).
    declaration: bool


def _occurrence(kind: Kind, tok: Token, declaration: bool = False) -> Occurrence:
    start = tok.start_pos or 0
    return Occurrence(kind, tok.value, start, tok.end_pos or start + len(tok), declaration)


class SymbolIndex:
    """The names of one parsed file."""

    def __init__(self, tree: WorkflowNode) -> None:
        self.tree = tree
        #: First declaration of each state and event, in source order.
        self.states: dict[str, StateNode] = {}
        self.events: dict[str, EventNode] = {}
        self.transitions: list[TransitionNode | TimedTransitionNode] = []
        found = [_occurrence(Kind.WORKFLOW, tree.name, True)]
        for member in tree.members:
            if isinstance(member, StateNode):
                self.states.setdefault(member.name.value, member)
                found.append(_occurrence(Kind.STATE, member.name, True))
                for item in member.items:
                    found += (_occurrence(Kind.HOOK, t) for t in item.names)
            elif isinstance(member, EventsNode):
                for ev in member.items:
                    self.events.setdefault(ev.name.value, ev)
                    found.append(_occurrence(Kind.EVENT, ev.name, True))
            else:
                self.transitions.append(member)
                if not is_wildcard(member):
                    found += (_occurrence(Kind.STATE, t) for t in member.sources)
                found.append(_occurrence(Kind.STATE, member.target))
                if isinstance(member, TransitionNode):  # a timed one has no event
                    found.append(_occurrence(Kind.EVENT, member.event))
                found += (_occurrence(Kind.GUARD, t) for t in guard_names(member.guard))
        found.sort(key=lambda o: o.start)
        self.occurrences = found
        self._starts = [o.start for o in found]
        self._by_symbol: dict[tuple[Kind, str], list[Occurrence]] = {}
        for o in found:
            self._by_symbol.setdefault((o.kind, o.name), []).append(o)

    def at(self, offset: int) -> Occurrence | None:
        """The name under the cursor: one that contains ``offset`` or ends
        right at it (a cursor just after a word is on that word)."""
        i = bisect.bisect_right(self._starts, offset) - 1
        if i >= 0 and self.occurrences[i].start <= offset <= self.occurrences[i].end:
            return self.occurrences[i]
        return None

    def occurrences_of(self, kind: Kind, name: str) -> list[Occurrence]:
        """Every occurrence of one symbol, in source order."""
        return list(self._by_symbol.get((kind, name), ()))

    def definition(self, kind: Kind, name: str) -> Occurrence | None:
        """Where a symbol is defined: its first declaration for a state or an
        event (None if it is not declared); its first use for a guard or hook."""
        found = self._by_symbol.get((kind, name), ())
        if kind in DECLARED:
            return next((o for o in found if o.declaration), None)
        return found[0] if found else None

    def names(self, kind: Kind) -> list[str]:
        """Names of one kind in order of first appearance (declared ones only,
        for states and events)."""
        if kind is Kind.STATE:
            return list(self.states)
        if kind is Kind.EVENT:
            return list(self.events)
        return list(dict.fromkeys(o.name for o in self.occurrences if o.kind is kind))

    def undeclared(self, kind: Kind) -> list[str]:
        """States or events used in transitions but never declared (WF101/WF102)."""
        declared = self.states if kind is Kind.STATE else self.events
        return list(
            dict.fromkeys(
                o.name
                for o in self.occurrences
                if o.kind is kind and not o.declaration and o.name not in declared
            )
        )


def is_wildcard(node: TransitionNode | TimedTransitionNode) -> bool:
    """``* -> target on event``: the transition leaves every non-final state."""
    return len(node.sources) == 1 and node.sources[0].type == "STAR"


def description_text(tok: Token | None) -> str | None:
    """A description as written, without its quotes; escapes are shown as
    typed, like the source line they come from."""
    return None if tok is None else tok.value[1:-1]
