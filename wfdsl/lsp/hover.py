"""Hover: what a name stands for, from the file itself.

A state shows its modifiers, description, hooks and the transitions into and
out of it; an event its description and the transitions it triggers; a guard
or hook the transitions or states that use it, and the method the hooks
object must have for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from wfdsl.lsp.documents import Analysis
from wfdsl.lsp.frontend import (
    TimedTransitionNode,
    TransitionNode,
    guard_names,
    transition_text,
)
from wfdsl.lsp.symbols import Kind, Occurrence, SymbolIndex, description_text, is_wildcard

#: Longer lists end with "... and N more": a hover is a glance, not a report.
MAX_LISTED = 12


@dataclass(frozen=True, slots=True)
class HoverText:
    """Hover content for ``text[start:end]``, in Markdown or plain text."""

    value: str
    start: int
    end: int


class _Writer:
    def __init__(self, markdown: bool) -> None:
        self.markdown = markdown
        self.parts: list[str] = []

    def code(self, text: str) -> str:
        return f"`{text}`" if self.markdown else text

    def para(self, text: str) -> None:
        self.parts.append(text)

    def listing(self, title: str, lines: list[str]) -> None:
        if not lines:
            return
        shown = lines[:MAX_LISTED]
        if len(lines) > MAX_LISTED:
            shown.append(f"... and {len(lines) - MAX_LISTED} more")
        if self.markdown:
            self.parts.append(f"{title}:\n```wf\n" + "\n".join(shown) + "\n```")
        else:
            self.parts.append(f"{title}:\n" + "\n".join("  " + s for s in shown))

    def text(self) -> str:
        return "\n\n".join(self.parts)


def hover(analysis: Analysis, offset: int, markdown: bool) -> HoverText | None:
    """Hover content for the name at ``offset``, or None."""
    symbols = analysis.symbols
    if symbols is None:
        return None
    occ = symbols.at(offset)
    if occ is None:
        return None
    w = _Writer(markdown)
    if occ.kind is Kind.STATE:
        _state(w, symbols, occ)
    elif occ.kind is Kind.EVENT:
        _event(w, symbols, occ)
    elif occ.kind is Kind.GUARD:
        _guard(w, symbols, occ)
    elif occ.kind is Kind.HOOK:
        _hook(w, symbols, occ)
    else:
        _workflow(w, symbols)
    return HoverText(w.text(), occ.start, occ.end)


def _lines(transitions: Sequence[TransitionNode | TimedTransitionNode]) -> list[str]:
    return [transition_text(t) for t in transitions]


def _state(w: _Writer, symbols: SymbolIndex, occ: Occurrence) -> None:
    name = occ.name
    node = symbols.states.get(name)
    if node is None:
        w.para(f"state {w.code(name)} (not declared)")
    else:
        words = [t.value for t in (node.initial, node.final) if t is not None]
        w.para(" ".join([*words, "state", w.code(name)]))
        desc = description_text(node.description)
        if desc:
            w.para(desc)
        for item in node.items:
            w.para(f"{item.kind.value}: " + ", ".join(w.code(t.value) for t in item.names))
    final = node is not None and node.final is not None
    into = [t for t in symbols.transitions if t.target.value == name]
    out = [
        t
        for t in symbols.transitions
        if (is_wildcard(t) and not final) or any(s.value == name for s in t.sources)
    ]
    w.listing("in", _lines(into))
    w.listing("out", _lines(out))


def _event(w: _Writer, symbols: SymbolIndex, occ: Occurrence) -> None:
    node = symbols.events.get(occ.name)
    w.para(f"event {w.code(occ.name)}" + ("" if node is not None else " (not declared)"))
    desc = description_text(node.description) if node is not None else None
    if desc:
        w.para(desc)
    triggers = [
        t
        for t in symbols.transitions
        if isinstance(t, TransitionNode) and t.event.value == occ.name
    ]
    if triggers:
        w.listing("triggers", _lines(triggers))
    else:
        w.para("triggers no transition")


def _guard(w: _Writer, symbols: SymbolIndex, occ: Occurrence) -> None:
    w.para(
        f"guard {w.code(occ.name)}: the hooks object's "
        f"{w.code(occ.name + '(ctx: Context) -> bool')}"
    )
    users = [
        t for t in symbols.transitions if any(n.value == occ.name for n in guard_names(t.guard))
    ]
    w.listing("checked by", _lines(users))


def _hook(w: _Writer, symbols: SymbolIndex, occ: Occurrence) -> None:
    w.para(
        f"hook {w.code(occ.name)}: the hooks object's {w.code(occ.name + '(ctx: Context) -> None')}"
    )
    runs = [
        f"{item.kind.value} of {name}"
        for name, node in symbols.states.items()
        for item in node.items
        if any(t.value == occ.name for t in item.names)
    ]
    w.listing("runs as", runs)


def _workflow(w: _Writer, symbols: SymbolIndex) -> None:
    tree = symbols.tree
    w.para(f"workflow {w.code(tree.name.value)}")
    desc = description_text(tree.description)
    if desc:
        w.para(desc)
    w.para(
        f"{len(symbols.states)} states, {len(symbols.events)} events, "
        f"{len(symbols.transitions)} transitions"
    )
