"""Quick fixes: take a did-you-mean hint, declare what is missing, write a
bad duration as its hint says, add a ``noqa``."""

from __future__ import annotations

from dataclasses import dataclass

from wfdsl.lsp.documents import Analysis
from wfdsl.lsp.frontend import (
    NOQA_LINE_DIRECTIVE,
    Diagnostic,
    DurationProblem,
    Severity,
    StateNode,
    TimedTransitionNode,
    Token,
    closest_name,
    read_duration,
    read_duration_text,
)
from wfdsl.lsp.symbols import Kind, SymbolIndex
from wfdsl.lsp.text import Edit

#: Undefined-name errors and the kind of name each is about.
_UNDEFINED = {"WF101": Kind.STATE, "WF102": Kind.EVENT}
#: Suppressing an unused suppression would only hide it twice.
_NO_NOQA = frozenset({"WF303"})


@dataclass(frozen=True, slots=True)
class Fix:
    """A quick fix for one diagnostic."""

    title: str
    diagnostic: Diagnostic
    edits: tuple[Edit, ...]
    preferred: bool = False


def diagnostic_offsets(analysis: Analysis, d: Diagnostic) -> tuple[int, int]:
    """Offsets of a diagnostic's span in the analysed text."""
    start = analysis.index.fe_offset(d.line, d.column)
    return start, max(start, analysis.index.fe_offset(d.end_line, d.end_column))


def fixes(analysis: Analysis, start: int, end: int) -> list[Fix]:
    """Quick fixes for the diagnostics that touch ``text[start:end]``."""
    out: list[Fix] = []
    for d in analysis.checked.diagnostics:
        d_start, d_end = diagnostic_offsets(analysis, d)
        if d_end < start or d_start > end:
            continue
        kind = _UNDEFINED.get(d.code)
        if kind is not None and analysis.symbols is not None:
            out += _undefined(analysis, analysis.symbols, d, kind, d_start, d_end)
        elif d.code == "WF114" and analysis.symbols is not None:
            out += _duration(analysis.symbols, d, d_start)
        elif d.severity is Severity.WARNING and d.code not in _NO_NOQA:
            out.append(Fix(f"Suppress {d.code} on this line (# noqa)", d, (_noqa(analysis, d),)))
    return out


def _undefined(
    analysis: Analysis, symbols: SymbolIndex, d: Diagnostic, kind: Kind, start: int, end: int
) -> list[Fix]:
    name = analysis.text[start:end]
    out: list[Fix] = []
    match = closest_name(name, symbols.names(kind))
    if match is not None:
        out.append(Fix(f"Change to '{match}'", d, (Edit(start, end, match),), preferred=True))
    out.append(Fix(f"Declare {kind.value} '{name}'", d, (_declare(analysis, symbols, kind, name),)))
    return out


#: A rewrite may leave another problem (``1H30M`` -> ``1h30M``): fix at most this many.
_MAX_REWRITES = 8


def _duration(symbols: SymbolIndex, d: Diagnostic, start: int) -> list[Fix]:
    """The duration at a WF114 written as its hint says (``30m1h`` -> ``1h30m``),
    if the front end can work out one that is valid."""
    for node in symbols.transitions:
        if not isinstance(node, TimedTransitionNode):
            continue
        first, last = node.duration[0], node.duration[-1]
        lo, hi = first.start_pos or 0, last.end_pos or 0
        if not lo <= start <= hi:
            continue
        problem = read_duration(node.duration)
        for _ in range(_MAX_REWRITES):
            if not isinstance(problem, DurationProblem) or problem.rewrite is None:
                break
            text = problem.rewrite
            problem = read_duration_text(text, problem.span)
            if not isinstance(problem, DurationProblem):
                return [Fix(f"Write '{text}'", d, (Edit(lo, hi, text),), preferred=True)]
        return []
    return []


def _declare(analysis: Analysis, symbols: SymbolIndex, kind: Kind, name: str) -> Edit:
    """A declaration on a line of its own after the last one of its kind
    (events go after the states if there are none yet)."""
    tree = symbols.tree
    states = [m for m in tree.members if isinstance(m, StateNode)]
    events = [e for e in symbols.events.values()]
    anchor: Token
    if kind is Kind.EVENT and events:
        last = events[-1]
        anchor = last.description or last.name
    elif states:
        last_state = states[-1]
        anchor = last_state.close or last_state.description or last_state.name
    else:
        anchor = tree.close
        at = analysis.text.rfind("\n", 0, anchor.start_pos or 0) + 1
        return Edit(at, at, f"    {kind.value} {name}\n")
    at = anchor.end_pos or 0
    line_start = analysis.text.rfind("\n", 0, at) + 1
    line = analysis.text[line_start:at]
    indent = line[: len(line) - len(line.lstrip(" \t"))]
    if isinstance(anchor, Token) and anchor.type == "RBRACE":
        indent = indent or "    "
    return Edit(at, at, f"\n{indent}{kind.value} {name}")


def _noqa(analysis: Analysis, d: Diagnostic) -> Edit:
    """``# noqa: CODE`` at the end of the finding's line, or the code added to
    the ``noqa`` already there."""
    comment = next((c for c in analysis.checked.comments if c.line == d.line), None)
    if comment is not None:
        start = comment.start_pos or 0
        directive = NOQA_LINE_DIRECTIVE.search(comment.value)
        if directive is not None:
            at = start + directive.end("codes")
            return Edit(at, at, f", {d.code}")
        return Edit(start, start, f"# noqa: {d.code} ")
    text = analysis.text
    line_start = analysis.index.fe_offset(d.line, 1)
    line_end = text.find("\n", line_start)
    line_end = len(text) if line_end < 0 else line_end
    at = line_start + len(text[line_start:line_end].rstrip())
    return Edit(at, at, f"  # noqa: {d.code}")
