"""The canonical layout of a ``.wf`` file, comments kept (``wfdsl fmt``).

The formatter is the one stage that reads concrete syntax: it works from the
AST (whose names and strings are Lark tokens with positions) and the comment
tokens, because the Spec IR has no comments. It never reorders anything whose
order means something:

* the header comments, then ``workflow NAME "description" {`` and a blank line;
* every state, in the order written (hooks indented inside braces);
* every event, one per line, in the order written;
* every transition, event-triggered or timed, one per line, in the order
  written (the order in which they are tried);
* ``}``.

Groups are separated by one blank line; inside a group, a blank line the
author left between two members is kept (several become one). Nothing is
aligned, so that adding a member never rewrites its neighbours. Descriptions
are copied byte for byte, escapes untouched; durations are kept as written
(``90m`` stays ``90m``); guards keep their meaning and lose only parentheses
that precedence makes redundant.

Comments stay where they were: a comment on a line of its own belongs to the
member below it and moves with it; a comment after code stays at the end of
its member's line, also when the member was written over several lines; a
comment before a closing brace stays before it. A line has room for one
comment at its end: a ``noqa`` comment goes to the member whose findings it
suppresses, and wins the place over other comments, which go above the
member. A comment on a line of its own in the middle of a member goes above
that member. Trailing spaces after a comment are dropped; its text is
otherwise kept.

Before returning, the result is parsed again and compared with the input: the
same Spec IR, the same comments and the same lint results (``noqa`` is the one
thing whose effect depends on where lines are), or
:class:`~wfdsl.errors.FormatError` (:class:`LintWouldChange` for lint).
"""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass, field

from lark import Token

from wfdsl.diagnostics import Diagnostic
from wfdsl.errors import FormatError, WorkflowError
from wfdsl.frontend.parser import line_end_of, normalize_line_ends, parse
from wfdsl.frontend.source import Source, analyze, gc_paused
from wfdsl.frontend.syntax import (
    AndNode,
    EventsNode,
    GroupNode,
    GuardNode,
    NotNode,
    OrNode,
    RefNode,
    StateNode,
    TimedTransitionNode,
    TransitionNode,
    WorkflowNode,
    guard_tokens,
)
from wfdsl.frontend.validate import build_spec
from wfdsl.lint.config import Selection
from wfdsl.lint.engine import check_spec, noqa_outcome
from wfdsl.lint.noqa import Directive, is_file_level_form, parse_directives

INDENT = "    "
#: Between code and an end-of-line comment.
COMMENT_GAP = "  "


@dataclass(slots=True)
class _Comment:
    text: str
    blank_before: bool


@dataclass(slots=True)
class _Unit:
    """One output line and the comments that travel with it."""

    text: str
    depth: int
    #: Positioned tokens of this line in the source, for placing comments.
    tokens: list[Token]
    #: Depth of this unit's own-line comments (inside the block for a ``}``).
    comment_depth: int = -1
    opens: bool = False
    closes: bool = False
    leading: list[_Comment] = field(default_factory=list)
    eol: str | None = None
    blank_before: bool = False

    def __post_init__(self) -> None:
        if self.comment_depth < 0:
            self.comment_depth = self.depth


@dataclass(frozen=True, slots=True)
class _Noqa:
    """What the formatter needs to keep ``noqa`` comments working."""

    #: The directive of each noqa comment, by its index among the comments.
    directives: dict[int, Directive]
    #: Every lint finding (before noqa) of the rules lint would run.
    findings: list[Diagnostic]


@dataclass(slots=True)
class _StateUnits:
    head: _Unit
    items: list[_Unit]
    close: _Unit | None


# -- guards -------------------------------------------------------------------------

_PRECEDENCE: dict[type, int] = {OrNode: 1, AndNode: 2, NotNode: 3, GroupNode: 4, RefNode: 4}


def format_guard_node(node: GuardNode) -> str:
    """A guard in source syntax, keeping the parentheses the author wrote.

    Parentheses that group something are kept even when precedence makes them
    redundant (``(a and b) or c`` reads better than ``a and b or c``, and
    ``a or (b or c)`` stays as written); doubled ones, ones around a single
    name and ones around the whole guard are dropped. Recursion follows the
    nesting only: a chain of any length is a loop."""

    def fmt(g: GuardNode, outer: int) -> str:
        prec = _PRECEDENCE[type(g)]
        if isinstance(g, GroupNode):
            inner = g.inner
            while isinstance(inner, GroupNode):
                inner = inner.inner
            if isinstance(inner, RefNode | NotNode):
                return fmt(inner, outer)
            return f"({fmt(inner, 0)})"
        if isinstance(g, RefNode):
            text = str(g.name)
        elif isinstance(g, NotNode):
            text = "not " + fmt(g.operand, prec)
        else:  # a chain: a loop, however long
            word = " and " if isinstance(g, AndNode) else " or "
            text = word.join(fmt(o, prec) for o in g.operands)
        return f"({text})" if prec < outer else text

    while isinstance(node, GroupNode):  # around the whole guard they group nothing
        node = node.inner
    return fmt(node, 0)


# -- building the lines ----------------------------------------------------------------


def _present(*toks: Token | None) -> list[Token]:
    return [t for t in toks if t is not None]


def _described(text: str, description: Token | None) -> str:
    return text if description is None else f"{text} {description.value}"


def _state_units(node: StateNode) -> _StateUnits:
    words = [t.value for t in _present(node.initial, node.final, node.keyword)]
    head_text = _described(" ".join([*words, node.name.value]), node.description)
    head = _Unit(
        head_text,
        1,
        _present(node.initial, node.final, node.keyword, node.name, node.description),
        opens=True,
    )
    items = [
        _Unit(
            f"{item.kind.value} " + ", ".join(t.value for t in item.names),
            2,
            [item.kind, *item.names],
        )
        for item in node.items
    ]
    close = None
    if node.close is not None:
        close = _Unit("}", 1, [node.close], comment_depth=2, closes=True)
    return _StateUnits(head, items, close)


def _event_units(node: EventsNode) -> list[_Unit]:
    units = []
    for i, item in enumerate(node.items):
        toks = _present(node.keyword if i == 0 else None, item.name, item.description)
        units.append(_Unit(_described(f"event {item.name.value}", item.description), 1, toks))
    return units


def _transition_unit(node: TransitionNode | TimedTransitionNode) -> _Unit:
    text = ", ".join(t.value for t in node.sources) + f" -> {node.target.value}"
    toks = [*node.sources, node.arrow, node.target]
    if isinstance(node, TimedTransitionNode):
        # A valid spec has one DURATION token: the duration exactly as written.
        text += " after " + "".join(t.value for t in node.duration)
        toks += [node.after, *node.duration]
    else:
        text += f" on {node.event.value}"
        toks.append(node.event)
    if node.guard is not None:
        text += " if " + format_guard_node(node.guard)
        toks += guard_tokens(node.guard)
    if node.description is not None:
        toks.append(node.description)
    return _Unit(_described(text, node.description), 1, toks)


def transition_text(node: TransitionNode | TimedTransitionNode) -> str:
    """A transition as ``wfdsl fmt`` writes it, on one line (without comments)."""
    return _transition_unit(node).text


def _is_blank_between(lines: list[str], after_line: int, before_line: int) -> bool:
    """Whether a line strictly between two 1-based line numbers holds only whitespace."""
    return any(not lines[i].strip() for i in range(max(after_line, 0), before_line - 1))


class _Layout:
    """The units of one file in source order, with every comment attached."""

    def __init__(
        self,
        tree: WorkflowNode,
        comments: list[Token],
        text: str,
        noqa: _Noqa | None = None,
    ) -> None:
        self.header = _Unit(
            _described(f"workflow {tree.name.value}", tree.description) + " {",
            0,
            _present(tree.keyword, tree.name, tree.description),
        )
        self.close = _Unit("}", 0, [tree.close], comment_depth=1, closes=True)
        self.states: list[_StateUnits] = []
        self.events: list[_Unit] = []
        self.transitions: list[_Unit] = []
        #: Comments after the workflow's closing brace, on lines of their own.
        self.trailer: list[_Comment] = []

        source_order = [self.header]
        for member in tree.members:
            if isinstance(member, StateNode):
                su = _state_units(member)
                self.states.append(su)
                source_order += [su.head, *su.items]
                if su.close is not None:
                    source_order.append(su.close)
            elif isinstance(member, EventsNode):
                units = _event_units(member)
                self.events += units
                source_order += units
            else:
                unit = _transition_unit(member)
                self.transitions.append(unit)
                source_order.append(unit)
        source_order.append(self.close)
        self._attach(source_order, comments, text, noqa or _Noqa({}, []))
        for su in self.states:
            self._settle_braces(su)

    def _attach(self, units: list[_Unit], comments: list[Token], text: str, noqa: _Noqa) -> None:
        lines = text.split("\n")
        # (line, column, end_line, unit index or -1 for a comment)
        things: list[tuple[int, int, int, int]] = [
            (t.line or 0, t.column or 0, t.end_line or 0, i)
            for i, u in enumerate(units)
            for t in u.tokens
        ]
        tokens_only = sorted(things)
        keys = [(line, col) for line, col, _, _ in tokens_only]
        things += [(c.line or 0, c.column or 0, c.line or 0, -1) for c in comments]
        things.sort()
        prev_end: dict[tuple[int, int], int] = {}
        last_end = 0
        for line, col, end_line, _ in things:
            prev_end[(line, col)] = last_end
            last_end = end_line
        for u in units:
            first = min(u.tokens, key=lambda t: (t.line or 0, t.column or 0))
            where = (first.line or 0, first.column or 0)
            u.blank_before = _is_blank_between(lines, prev_end[where], where[0])

        # Lint findings by the unit (output line) whose token they point at.
        unit_at = {(line, col): i for line, col, _, i in tokens_only}
        findings: list[list[Diagnostic]] = [[] for _ in units]
        for f in noqa.findings:
            unit = unit_at.get((f.line, f.column))
            if unit is not None:
                findings[unit].append(f)

        # A comment after code stays at the end of the line its member is
        # printed on; a unit has one such place, so comments compete for it
        # (see _settle_eol). Comments on lines of their own lead the member
        # below them. A noqa comment goes where it suppresses what it did.
        leading: list[list[tuple[int, _Comment]]] = [[] for _ in units]
        trailing: list[list[tuple[tuple[int, int], int, _Comment]]] = [[] for _ in units]
        for order, c in enumerate(comments):
            where = (c.line or 0, c.column or 0)
            comment = _Comment(
                c.value.rstrip(), _is_blank_between(lines, prev_end[where], where[0])
            )
            k = bisect.bisect_left(keys, where)
            prev = tokens_only[k - 1] if k > 0 else None
            nxt = tokens_only[k] if k < len(tokens_only) else None
            after_code = prev is not None and prev[2] == where[0]
            directive = noqa.directives.get(order)
            if directive is not None and not directive.file_level:
                owner = self._owner(directive, findings)
                if owner is not None:  # the member whose findings it suppresses
                    trailing[owner].append(((0, 0), order, comment))
                    continue
                if after_code and prev is not None:
                    unit = prev[3]
                    # At the end of its member's line it must suppress nothing
                    # new; on a line of its own it suppresses nothing at all,
                    # unless it would become a file-wide directive there.
                    quiet = all(directive.matching(f.code) is None for f in findings[unit])
                    file_wide = is_file_level_form(comment.text)
                    if quiet or file_wide:
                        trailing[unit].append(((1, 0 if file_wide else 1), order, comment))
                    else:
                        leading[unit].append((order, comment))
                    continue
            if after_code and prev is not None:
                # Also in the middle of a member that goes on below: the member
                # is printed on one line.
                trailing[prev[3]].append(((2, 0), order, comment))
            elif nxt is not None:
                leading[nxt[3]].append((order, comment))  # also inside a member: above it
            else:
                self.trailer.append(comment)
        for u, own, after in zip(units, leading, trailing, strict=True):
            self._settle_eol(u, own, after)

    @staticmethod
    def _owner(directive: Directive, findings: list[list[Diagnostic]]) -> int | None:
        """The unit with the most findings that ``directive`` suppresses on its
        line, or None if it suppresses none."""
        counts: Counter[int] = Counter()
        for unit, found in enumerate(findings):
            for f in found:
                if f.line == directive.span.line and directive.matching(f.code) is not None:
                    counts[unit] += 1
        return counts.most_common(1)[0][0] if counts else None

    @staticmethod
    def _settle_eol(
        unit: _Unit,
        own: list[tuple[int, _Comment]],
        after: list[tuple[tuple[int, int], int, _Comment]],
    ) -> None:
        """The end of the unit's line goes to the comment that must be there
        most: a noqa comment that suppresses a finding of this member, then a
        ``# wfdsl: noqa`` one (above the member it would apply to the whole
        file), then any noqa comment, then the first comment. The others go
        above the member, in the order written."""
        if after:
            after.sort()
            unit.eol = after[0][2].text
            own += [(order, c) for _, order, c in after[1:]]
        own.sort(key=lambda oc: oc[0])
        unit.leading = [c for _, c in own]

    @staticmethod
    def _settle_braces(su: _StateUnits) -> None:
        """Empty braces go, unless comments live inside or on both brace lines."""
        close = su.close
        if not su.items and (
            close is None or (not close.leading and (close.eol is None or su.head.eol is None))
        ):
            su.head.opens = False
            if close is not None:
                su.head.eol = su.head.eol or close.eol
            su.close = None
        else:  # hooks imply braces, so ``close`` is set
            su.head.text += " {"


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []
        #: Just after a ``{`` (or at the top of the file): no blank line here.
        self.fresh = True

    def blank(self) -> None:
        if not self.fresh and self.lines and self.lines[-1] != "":
            self.lines.append("")

    def line(self, depth: int, text: str) -> None:
        self.lines.append(INDENT * depth + text)
        self.fresh = False

    def comments(self, comments: list[_Comment], depth: int) -> None:
        for c in comments:
            if c.blank_before:
                self.blank()
            self.line(depth, c.text)

    def unit(self, u: _Unit) -> None:
        self.comments(u.leading, u.comment_depth)
        if u.blank_before and not u.closes:
            self.blank()
        self.line(u.depth, u.text + (COMMENT_GAP + u.eol if u.eol is not None else ""))
        if u.opens:
            self.fresh = True


def _render(layout: _Layout) -> str:
    w = _Writer()
    w.unit(layout.header)
    groups: list[list[_Unit]] = [
        [
            u
            for su in layout.states
            for u in [su.head, *su.items, *([su.close] if su.close else [])]
        ],
        layout.events,
        layout.transitions,
    ]
    for group in groups:
        if group:
            w.blank()
            for u in group:
                w.unit(u)
    w.unit(layout.close)
    w.comments(layout.trailer, 0)
    return "\n".join(w.lines) + "\n"


def _comment_texts(comments: list[Token]) -> Counter[str]:
    return Counter(c.value.rstrip() for c in comments)


def _noqa(source: Source, selection: Selection) -> _Noqa:
    directives = parse_directives(source.comments, source.text)
    if not directives:
        return _Noqa({}, [])
    index = {(c.line, c.column): i for i, c in enumerate(source.comments)}
    by_comment = {index[(d.span.line, d.span.column)]: d for d in directives}
    findings = list(check_spec(source.spec, selection.enabled(source.spec.path)))
    return _Noqa(by_comment, findings)


class LintWouldChange(FormatError):
    """Formatting would change what ``wfdsl lint`` reports: a ``noqa`` comment
    cannot stay on the line of the findings it suppresses (two of them end
    up on one line, or one suppresses findings of members that go on
    separate lines). The file is left untouched; the message says what
    would change. Not a formatter bug, unlike other
    :class:`FormatError` cases."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        WorkflowError.__init__(
            self,
            f"{path}: not formatted: it would change what 'wfdsl lint' reports: {reason};"
            " give each member its noqa comment at the end of its own line",
        )


def format_source(text: str, path: str = "<string>", selection: Selection | None = None) -> str:
    """``text`` in the canonical layout.

    Every line ends as the file's first line does (``\n``, ``\r\n`` or a
    lone ``\r``; ``\n`` in a file with none), so a file keeps its style and a
    file with mixed line ends gets one.

    A ``noqa`` comment goes to the end of the line of the member whose
    findings (under ``selection``, the lint defaults if None) it suppresses.
    The result is checked before it is returned: it must parse to the same
    Spec IR, keep every comment, and lint the same (every finding reported or
    suppressed as before, and the same WF303 reports).

    :raises SpecError: if ``text`` has a syntax or validation error (nothing
        is formatted then).
    :raises LintWouldChange: if the result would lint differently.
    :raises FormatError: if the result would not mean the same as the input
        (a formatter bug; the caller must keep the original).
    """
    line_end = line_end_of(text)
    original, text = text, normalize_line_ends(text)
    selection = selection or Selection()
    with gc_paused():
        tree, comments = parse(text, path)
        spec = build_spec(tree, path)
        # Only noqa comments make lint results depend on where lines are.
        before = Source(spec, text, tuple(comments))
        noqa = _noqa(before, selection)
        has_noqa = bool(noqa.directives)
        out = _render(_Layout(tree, comments, text, noqa))
        if line_end != "\n":
            out = out.replace("\n", line_end)  # no token holds a line end
        if out == original:
            return out  # already canonical: nothing to verify
        try:
            after = analyze(out, path)
            same = after.spec.to_data() == spec.to_data()
        except Exception as exc:  # any failure to re-read our own output is our bug
            raise FormatError(path, f"the formatted text does not parse: {exc}") from exc
        if not same:
            raise FormatError(path, "the formatted text means something else")
        if _comment_texts(list(after.comments)) != _comment_texts(comments):
            raise FormatError(path, "the formatted text lost or changed a comment")
        if has_noqa:
            change = noqa_outcome(before, selection).difference(noqa_outcome(after, selection))
            if change is not None:
                raise LintWouldChange(path, change)
    return out
