"""Source strings reach generated code only as escaped ASCII literals."""

from __future__ import annotations

import ast
import io
import tokenize

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from wfdsl.codegen import WIDTH, py_docstring, py_str

HOSTILE = [
    "",
    '"',
    "'",
    '"""',
    "'''",
    "\\",
    "ends with a backslash \\",
    'ends with a quote"',
    "line one\nline two\r\nthree",
    "\x00 \x1b[31m \x7f",
    "\u202e bidi override \u2028 line separator \ufeff",
    "café 中文 🚀",
    "{{ 7 * 7 }} {% for x in y %}{% endfor %} {# c #}",
    '" + __import__("os").system("id") + "',
    "\\N{BULLET} \\x41 \\u0041",
]


def _tokens(source: str) -> list[tokenize.TokenInfo]:
    skip = {tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER}
    return [t for t in tokenize.generate_tokens(io.StringIO(source).readline) if t.type not in skip]


@given(st.sampled_from(HOSTILE) | st.text())
def test_string_literal_evaluates_to_exactly_the_text(text: str) -> None:
    assert ast.literal_eval(py_str(text)) == text


@given(st.sampled_from(HOSTILE) | st.text())
def test_string_literal_is_one_token_of_printable_ascii(text: str) -> None:
    literal = py_str(text)
    assert literal.isascii() and literal.isprintable()
    tokens = _tokens(literal)
    assert [t.type for t in tokens] == [tokenize.STRING]


def test_string_literal_uses_the_quotes_ruff_prefers() -> None:
    assert py_str("plain") == '"plain"'
    assert py_str('say "hi"') == "'say \"hi\"'"
    assert py_str("it's") == '"it\'s"'
    assert py_str('it\'s "x"') == "'it\\'s \"x\"'"


def test_non_ascii_is_escaped_in_lower_case_hex() -> None:
    assert py_str("é\u202e🚀") == '"\\xe9\\u202e\\U0001f680"'


@given(st.sampled_from(HOSTILE) | st.text())
def test_docstring_is_one_string_token_holding_the_words_of_the_text(text: str) -> None:
    assume(text.strip())
    doc = py_docstring(text, 4)
    assert doc.isascii()
    tokens = _tokens(doc)
    assert [t.type for t in tokens] == [tokenize.STRING]
    # Wrapping turns spaces into line breaks; the words are kept exactly.
    assert " ".join(ast.literal_eval(doc).split()) == " ".join(
        ast.literal_eval(py_str(text.strip())).split()
    )


def test_a_docstring_without_text_is_refused() -> None:
    with pytest.raises(ValueError, match="needs some text"):
        py_docstring(["  ", None], 4)


def test_docstring_with_template_syntax_and_quotes_stays_literal() -> None:
    text = '{{ SPEC }} """ {% raw %} \\'
    assert py_docstring(text, 4) == '"""{{ SPEC }} \\"\\"\\" {% raw %} \\\\"""'


def test_long_docstring_is_wrapped_within_the_line_length() -> None:
    text = " ".join(["word"] * 60)
    doc = py_docstring(text, 4)
    lines = doc.splitlines()
    assert len(lines) > 2 and lines[-1] == '    """'
    assert 4 + len(lines[0]) <= WIDTH
    assert all(len(line) <= WIDTH for line in lines[1:])
    assert ast.literal_eval(doc).split() == text.split()


def test_docstring_paragraphs_are_escaped_wrapped_and_separated() -> None:
    doc = py_docstring(["Summary.", 'a "quoted" ' + "x" * 100, None, "  "], 4)
    assert doc == '"""Summary.\n\n    a \\"quoted\\"\n    ' + "x" * 100 + '\n    """'


def test_one_long_word_stays_a_one_line_docstring_as_ruff_keeps_it() -> None:
    assert py_docstring("x" * 100, 8) == '"""' + "x" * 100 + '"""'
