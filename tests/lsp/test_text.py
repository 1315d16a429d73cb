"""Positions at the edge: LSP lines and code units against the front end's offsets."""

from __future__ import annotations

import pytest
from lsprotocol import types

from wfdsl.lsp.text import Encoding, TextIndex, apply_changes


def test_lines_end_at_lf_crlf_and_cr_only() -> None:
    text = "a\nb\r\nc\rd\x0ce\u2028f\x85g"
    index = TextIndex.of(text)
    offset = index.text.index  # offsets index the front end's text
    assert index.position(offset("b")) == types.Position(1, 0)
    assert index.position(offset("c")) == types.Position(2, 0)
    assert index.position(offset("d")) == types.Position(3, 0)
    # A form feed, U+2028 and NEL are no LSP line breaks (str.splitlines says they are).
    assert index.position(offset("g")) == types.Position(3, 6)


@pytest.mark.parametrize(
    ("encoding", "column"), [(Encoding.UTF16, 6), (Encoding.UTF8, 9), (Encoding.UTF32, 5)]
)
def test_columns_count_the_negotiated_code_units(encoding: Encoding, column: int) -> None:
    text = 'x "🙂é" b'  # the emoji is 2 UTF-16 units, 4 UTF-8 bytes; é is 1 and 2
    index = TextIndex.of(text, encoding)
    offset = text.index('" b')
    assert index.position(offset) == types.Position(0, column)
    assert index.offset(types.Position(0, column)) == offset


def test_a_position_inside_a_character_or_past_the_end_is_clamped() -> None:
    text = "a🙂b\nxy\n"
    index = TextIndex.of(text)
    assert index.offset(types.Position(0, 2)) == 1  # between the surrogates: before the emoji
    assert index.offset(types.Position(1, 99)) == text.index("y") + 1  # end of that line
    assert index.offset(types.Position(99, 0)) == len(text)
    assert index.position(10_000) == types.Position(2, 0)


def test_a_crlf_is_one_line_break() -> None:
    text = "ab\r\ncd"
    index = TextIndex.of(text)
    assert index.offset(types.Position(0, 5)) == 2  # end of line 0 is before the CR
    assert index.offset(types.Position(1, 1)) == index.text.index("d")
    # An edit at the end of a line leaves its CRLF whole.
    change = types.TextDocumentContentChangePartial(
        range=types.Range(types.Position(0, 2), types.Position(0, 2)), text="X"
    )
    assert apply_changes(text, [change], Encoding.UTF16) == "abX\r\ncd"


def test_front_end_positions_are_lsp_lines_whatever_the_line_ends() -> None:
    # The front end (normalize_line_ends) counts \r\n, \r and \n as line ends, as LSP does.
    text = "a\rb\r\nc\nd"
    index = TextIndex.of(text)
    for line, ch in enumerate("abcd", start=1):
        assert index.position(index.fe_offset(line, 1)) == types.Position(line - 1, 0)
        assert index.text[index.fe_offset(line, 1)] == ch


def test_edits_across_crlf_line_ends_apply_to_the_text_as_written() -> None:
    text = "x\r\ny\r\nz"
    join = types.TextDocumentContentChangePartial(
        range=types.Range(types.Position(0, 1), types.Position(1, 0)), text=""
    )
    assert apply_changes(text, [join], Encoding.UTF16) == "xy\r\nz"
    emoji = "é🙂\r\nb"
    after = types.TextDocumentContentChangePartial(
        range=types.Range(types.Position(1, 0), types.Position(1, 1)), text="c"
    )
    assert apply_changes(emoji, [after], Encoding.UTF16) == "é🙂\r\nc"
    tail = types.TextDocumentContentChangePartial(
        range=types.Range(types.Position(0, 3), types.Position(0, 3)), text="!"
    )
    assert apply_changes(emoji, [tail], Encoding.UTF16) == "é🙂!\r\nb"


def test_lone_surrogates_from_json_are_counted_not_raised() -> None:
    text = "a\ud800b"
    for encoding in Encoding:
        index = TextIndex.of(text, encoding)
        assert index.offset(index.position(2)) == 2


def test_incremental_changes_apply_in_order() -> None:
    text = "state a\nstate b\n"
    changes: list[types.TextDocumentContentChangeEvent] = [
        types.TextDocumentContentChangePartial(
            range=types.Range(types.Position(0, 6), types.Position(0, 7)), text="first"
        ),
        types.TextDocumentContentChangePartial(
            range=types.Range(types.Position(1, 0), types.Position(1, 0)), text="initial "
        ),
    ]
    assert apply_changes(text, changes, Encoding.UTF16) == "state first\ninitial state b\n"
    whole = [types.TextDocumentContentChangeWholeDocument(text="x")]
    assert apply_changes(text, whole, Encoding.UTF16) == "x"
