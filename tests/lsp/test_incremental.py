"""Parsing only what an edit changed gives what parsing all of it gives."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

from wfdsl.lsp.documents import Document
from wfdsl.lsp.frontend import Selection, SpecError, check
from wfdsl.lsp.incremental import Parsed, parse_full, reparse
from wfdsl.lsp.text import Encoding, TextIndex

from .helpers import EXAMPLES

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from bench_lsp import dense_spec


def _shape(parsed: Parsed) -> object:
    """The AST with every token's text and position (repr shows both)."""
    return repr(parsed.tree), [
        (c.value, c.start_pos, c.line, c.column, c.end_pos, c.end_line, c.end_column)
        for c in parsed.comments
    ]


def _tokens_with_positions(parsed: Parsed) -> list[tuple[object, ...]]:
    return sorted(
        (t.start_pos, t.end_pos, t.line, t.column, t.end_line, t.end_column, t.type, str(t))
        for toks in parsed.tokens
        for t in toks
    )


EDITS = [
    "x",
    "",
    "\n",
    "\n\n    state extra\n",
    " # a comment {\n",
    '"',
    "-> ",
    "    a -> b on c\n",
    "    event late\n",
    "}",
    "{",
    "after 1h ",
    " if g and not h",
]


def _edit(rng: random.Random, text: str) -> str:
    """One edit as an editor makes them: mostly at a line's start, in a word
    or in a description, now and then anywhere."""
    lines = text.split("\n")
    n = rng.randrange(len(lines))
    start = sum(len(x) + 1 for x in lines[:n])
    line = lines[n]
    kind = rng.random()
    if kind < 0.3:
        at = start  # a new member, or a line deleted
        if rng.random() < 0.5:
            return text[:at] + rng.choice(EDITS[3:9]) + text[at:]
        return text[:at] + text[at + len(line) + 1 :]
    if kind < 0.7 and line.strip():
        at = start + rng.randrange(len(line))  # typing in a line
        return text[:at] + rng.choice(["a", "_", "1", "", " "]) + text[at + rng.choice([0, 1]) :]
    at = rng.randrange(len(text) + 1)
    cut = min(len(text), at + rng.choice([0, 0, 1, 3, 20]))
    return text[:at] + rng.choice(EDITS) + text[cut:]


@pytest.mark.parametrize("name", [p.name for p in EXAMPLES] + ["dense"])
def test_random_edits_parse_as_the_whole_text_parses(name: str) -> None:
    rng = random.Random(name)
    good = dense_spec(200) if name == "dense" else (Path(EXAMPLES[0]).parent / name).read_text()
    text = good
    prev: Parsed | None = parse_full(text, "x.wf")
    reused = 0
    for _ in range(200):
        # Mostly from the last text that parsed (a user fixes what they broke).
        text = _edit(rng, good if rng.random() < 0.7 else text)
        try:
            whole = parse_full(text, "x.wf")
        except SpecError as exc:
            with pytest.raises(SpecError) as caught:
                reparse(prev, text, "x.wf")
            assert caught.value.diagnostics == exc.diagnostics
            continue
        assert prev is not None
        before = prev.tree.members
        again = reparse(prev, text, "x.wf")
        reused += any(m is n for m, n in zip(before, again.tree.members, strict=False))
        assert _shape(again) == _shape(whole), text
        assert _tokens_with_positions(again) == _tokens_with_positions(whole)
        assert again.lines == whole.lines
        prev, good = again, text
    assert reused > 20  # the members an edit left alone were reused, not parsed again


def test_a_document_s_diagnostics_match_a_fresh_check_after_each_change() -> None:
    rng = random.Random(16)
    text = dense_spec(300)
    doc = Document("file:///tmp/dense.wf", text, 1)
    for version in range(2, 80):
        at = rng.randrange(len(text))
        new = rng.choice(["s1", "e2", "!", "", "\n", "    s3 -> s4 on e5\n", "30m1h "])
        text = text[:at] + new + text[at + rng.choice([0, 1, 2]) :]
        index = TextIndex.of(doc.text, Encoding.UTF16)
        from lsprotocol import types

        start = index.position(at)
        end = index.position(len(doc.text) - (len(text) - at - len(new)))
        doc.change([types.TextDocumentContentChangePartial(types.Range(start, end), new)], version)
        assert doc.text == text
        got = doc.analysis().checked.diagnostics
        assert got == check(text, "/tmp/dense.wf", Selection()).diagnostics
