"""Parsing a changed document again without parsing all of it.

An edit in an editor changes one member or two of a workflow; the rest of the
file parses to the same AST, only further down (the members after the change
move by the characters and lines the edit added). So the server parses only
the members on the lines the edit touched: the rest of the text between the
workflow's braces is blanked out (every character but ``\\n`` made a space),
which keeps every line, column and offset where it is, and the grammar's own
parser reads the result; the members before the change are reused as they
are, those after it with their positions moved.

Whatever is not plainly a change inside the member list (the header, the
closing brace, a syntax error, text that might join a neighbouring member)
is parsed whole: the result is always what :func:`wfdsl.frontend.parser.parse`
gives for the new text (the LSP tests compare it with ``wfdsl lint``'s).
"""

from __future__ import annotations

import bisect
import dataclasses
from dataclasses import dataclass

from wfdsl.lsp.frontend import MemberNode, SpecError, Token, WorkflowNode, parse


@dataclass(slots=True)
class Parsed:
    """One parse of a text (line ends normalised): its AST and comments, and
    per member its tokens (to move them) and span."""

    text: str
    tree: WorkflowNode
    comments: list[Token]
    #: Tokens of each member, parallel to ``tree.members``.
    tokens: list[list[Token]]
    #: First and last line (1-based) of each member.
    lines: list[tuple[int, int]]


def _tokens(node: object, out: list[Token]) -> list[Token]:
    """Every token of an AST node, in no particular order."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, Token):
            out.append(item)
        elif isinstance(item, list):
            stack.extend(item)
        elif item is not None and dataclasses.is_dataclass(item):
            stack.extend(getattr(item, f.name) for f in dataclasses.fields(item))
    return out


def _index(text: str, tree: WorkflowNode, comments: list[Token]) -> Parsed:
    tokens = [_tokens(m, []) for m in tree.members]
    lines = [
        (min(t.line or 0 for t in toks), max(t.end_line or 0 for t in toks)) for toks in tokens
    ]
    return Parsed(text, tree, comments, tokens, lines)


def parse_full(text: str, path: str) -> Parsed:
    """Parse all of ``text``. :raises SpecError: on a syntax error."""
    tree, comments = parse(text, path)
    return _index(text, tree, comments)


def _common_prefix(a: str, b: str) -> int:
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:  # comparing slices runs in C; a bisection needs few of them
        mid = (lo + hi + 1) // 2
        if a[lo:mid] == b[lo:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _common_suffix(a: str, b: str, limit: int) -> int:
    lo, hi = 0, limit
    la, lb = len(a), len(b)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[la - mid : la - lo] == b[lb - mid : lb - lo]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _blank(text: str) -> str:
    """``text`` with every character but ``\\n`` made a space."""
    return "\n".join(" " * len(line) for line in text.split("\n"))


def reparse(prev: Parsed | None, text: str, path: str) -> Parsed:
    """The parse of ``text``, reusing ``prev`` (the parse of the text before
    an edit) where the edit left it alone. ``prev`` is consumed: the tokens
    it shares with the result move with the text.

    :raises SpecError: on a syntax error, exactly as :func:`parse` does.
    """
    if prev is None or not prev.tree.members or prev.text == text:
        return parse_full(text, path)
    old = prev.text
    start = _common_prefix(old, text)
    same_end = _common_suffix(old, text, min(len(old), len(text)) - start)
    old_end, new_end = len(old) - same_end, len(text) - same_end
    tree = prev.tree
    open_end = _open_brace_end(prev)
    close_start = tree.close.start_pos or 0
    if open_end < 0 or start < open_end or old_end > close_start:
        return parse_full(text, path)  # the header or the closing brace changed
    # The lines the edit touched, in the old text; members on them are parsed again.
    first_line = old.count("\n", 0, start) + 1
    last_line = first_line + old.count("\n", start, old_end)
    ends = [end for _, end in prev.lines]
    starts = [begin for begin, _ in prev.lines]
    i = bisect.bisect_left(ends, first_line)  # first member ending on or after first_line
    j = bisect.bisect_right(starts, last_line)  # first member starting after last_line
    # The old text [lo, hi) is parsed again: from the end of the member
    # before (or the opening brace) to the start of the member after (or the
    # closing brace).
    lo = _end(prev.tokens[i - 1]) if i > 0 else open_end
    hi = _start(prev.tokens[j]) if j < len(tree.members) else close_start
    delta = len(text) - len(old)
    lines_added = text.count("\n", start, new_end) - old.count("\n", start, old_end)
    region = text[lo : hi + delta]
    new_close = close_start + delta
    blanked = (
        text[:open_end]
        + _blank(text[open_end:lo])
        + region
        + _blank(text[hi + delta : new_close])
        + text[new_close:]
    )
    try:
        part, part_comments = parse(blanked, path)
    except SpecError:
        return parse_full(text, path)  # the error as a full parse words it
    fresh = _index(text, part, part_comments)
    # Move what follows the edit. Those members start on lines after the
    # ones it touched, so their columns stay.
    if delta or lines_added:
        for toks in prev.tokens[j:]:
            for t in toks:
                t.start_pos = (t.start_pos or 0) + delta
                t.end_pos = (t.end_pos or 0) + delta
                if lines_added:
                    t.line = (t.line or 0) + lines_added
                    t.end_line = (t.end_line or 0) + lines_added
    after = [(a + lines_added, b + lines_added) for a, b in prev.lines[j:]]
    comments = [c for c in prev.comments if (c.end_pos or 0) <= lo]
    comments += [c for c in part_comments if lo <= (c.start_pos or 0) < hi + delta]
    moved = [c for c in prev.comments if (c.start_pos or 0) >= hi]
    if delta or lines_added:
        for c in moved:
            c.start_pos = (c.start_pos or 0) + delta
            c.end_pos = (c.end_pos or 0) + delta
            c.line = (c.line or 0) + lines_added
            c.end_line = (c.end_line or 0) + lines_added
    comments += moved
    members: list[MemberNode] = [*tree.members[:i], *part.members, *tree.members[j:]]
    new_tree = WorkflowNode(part.keyword, part.name, part.description, members, part.close)
    return Parsed(
        text,
        new_tree,
        comments,
        [*prev.tokens[:i], *fresh.tokens, *prev.tokens[j:]],
        [*prev.lines[:i], *fresh.lines, *after],
    )


def _open_brace_end(prev: Parsed) -> int:
    """Offset just after the workflow's ``{``, or -1 if a comment comes
    between it and the name or description (then it is not worth finding)."""
    head = prev.tree.description or prev.tree.name
    after = head.end_pos or 0
    brace = prev.text.find("{", after)
    if brace < 0 or "#" in prev.text[after:brace]:
        return -1
    return brace + 1


def _start(tokens: list[Token]) -> int:
    return min(t.start_pos or 0 for t in tokens)


def _end(tokens: list[Token]) -> int:
    return max(t.end_pos or 0 for t in tokens)
