"""Syntax (WF100): what the parser accepts, and what it says when it cannot parse.

A syntax error names what was found and what was expected in words a user
knows, points at the right line and column, and renders with a caret.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import wfdsl
from wfdsl.diagnostics import Diagnostic, Severity
from wfdsl.errors import SpecError
from wfdsl.frontend.parser import KEYWORDS as KEYWORD_SET
from wfdsl.frontend.source import decode

HEADER = "workflow w {\n    initial state a\n    event e\n"


def only_error(text: str) -> Diagnostic:
    """The single diagnostic ``text`` produces (a syntax error stops the parse)."""
    with pytest.raises(SpecError) as info:
        wfdsl.loads(text, "w.wf")
    assert len(info.value.diagnostics) == 1, info.value.diagnostics
    return info.value.diagnostics[0]


def body(line: str) -> str:
    """A workflow whose line 4 is ``line``."""
    return HEADER + line + "\n}\n"


# -- what was found and what was expected ---------------------------------------

#: (source line 4 of a workflow, column, message)
BAD_LINES = [
    ("a b on e", 3, "expected ',' or '->', found name 'b'"),
    ("a -> on e", 6, "expected a state name, found keyword 'on'"),
    ("a -> a e", 8, "expected 'after' or 'on', found name 'e'"),
    ("a -> a on", 1, "expected an event name, found '}'"),
    ("a -> a on e if", 1, "expected a guard name, '(' or 'not', found '}'"),
    ("a -> a on e if x and", 1, "expected a guard name, '(' or 'not', found '}'"),
    ("a -> a on e if not", 1, "expected a guard name, '(' or 'not', found '}'"),
    ("a -> a on e if (x or y", 1, "expected ')' or 'or', found '}'"),
    ("* , a -> a on e", 3, "expected '->', found ','"),
    ("a, -> a on e", 4, "expected a state name, found '->'"),
    ("state { }", 7, "expected a state name, found '{'"),
    ("state b { enter }", 17, "expected a hook name, found '}'"),
    ("state b { enter x, }", 20, "expected a hook name, found '}'"),
    (
        "state b { on_enter x }",
        11,
        "expected 'compensate', 'enter', 'exit' or '}', found name 'on_enter'",
    ),
    ("event", 1, "expected an event name, found '}'"),
    ('event f "x",', 1, "expected an event name, found '}'"),
    ("initial initial state b", 9, "expected 'final' or 'state', found keyword 'initial'"),
    ("final initial state b", 7, "expected 'state', found keyword 'initial'"),
]


@pytest.mark.parametrize(("line", "column", "message"), BAD_LINES)
def test_syntax_error_says_what_was_found_and_expected(
    line: str, column: int, message: str
) -> None:
    diag = only_error(body(line))
    assert diag.message == message
    found_at_close = column == 1  # the error is the closing brace on line 5
    assert (diag.line, diag.column) == ((5, 1) if found_at_close else (4, column))


@pytest.mark.parametrize("line", [line for line, _, _ in BAD_LINES])
def test_syntax_error_never_shows_grammar_terminal_names(line: str) -> None:
    diag = only_error(body(line))
    assert not re.search(r"__ANON|\$END|\b[A-Z][A-Z_]{2,}\b", diag.message), diag.message


def test_syntax_error_is_an_error_named_syntax_error() -> None:
    diag = only_error(body("a b"))
    assert (diag.code, diag.name, diag.severity) == ("WF100", "syntax-error", Severity.ERROR)
    assert diag.path == "w.wf"


def test_syntax_error_spans_the_unexpected_token() -> None:
    diag = only_error(body("a -> state on e"))
    assert (diag.line, diag.column, diag.end_line, diag.end_column) == (4, 6, 4, 11)


def test_missing_declaration_keyword_is_explained_as_a_declaration() -> None:
    diag = only_error('workflow w { initial state a "x" "y" }')
    assert diag.message == (
        "expected a declaration ('state', 'event' or a transition), '{' or '}', "
        "found a description string"
    )


def test_missing_workflow_name() -> None:
    diag = only_error("workflow { }")
    assert diag.message == "expected a workflow name, found '{'"
    assert (diag.line, diag.column) == (1, 10)


def test_text_after_the_workflow_is_an_error() -> None:
    diag = only_error("workflow w { initial state a }\nextra")
    assert diag.message == "expected the end of the file, found name 'extra'"
    assert (diag.line, diag.column) == (2, 1)


def test_empty_file_expects_a_workflow() -> None:
    diag = only_error("")
    assert diag.message == "expected 'workflow', found the end of the file"
    assert (diag.line, diag.column) == (1, 1)


def test_file_of_only_comments_expects_a_workflow() -> None:
    diag = only_error("# nothing here\n# yet\n")
    assert diag.message == "expected 'workflow', found the end of the file"


def test_unexpected_end_of_file_points_just_past_the_last_character() -> None:
    diag = only_error("workflow w {\n    initial state a\n")
    assert "found the end of the file" in diag.message
    assert (diag.line, diag.column) == (2, 20)


def test_only_the_first_syntax_error_is_reported() -> None:
    with pytest.raises(SpecError) as info:
        wfdsl.loads("workflow w { a b\n c d\n e f }")
    assert [d.line for d in info.value.diagnostics] == [1]


# -- keywords and names ------------------------------------------------------------

KEYWORDS = ["workflow", "state", "initial", "final", "event", "enter", "exit", "compensate"]
KEYWORDS += ["on", "if", "not", "and", "or"]


@pytest.mark.parametrize("keyword", KEYWORDS)
def test_keyword_cannot_be_a_state_name(keyword: str) -> None:
    diag = only_error(f"workflow w {{ initial state {keyword} }}")
    assert diag.message == f"expected a state name, found keyword '{keyword}'"
    assert diag.hint == f"'{keyword}' is a keyword and cannot be used as a name"
    assert (diag.column, diag.end_column) == (28, 28 + len(keyword))


def test_keyword_cannot_be_an_event_name() -> None:
    diag = only_error(body("event enter"))
    assert diag.message == "expected an event name, found keyword 'enter'"
    assert diag.hint == "'enter' is a keyword and cannot be used as a name"


def test_keyword_cannot_be_a_guard_name() -> None:
    diag = only_error(body("a -> a on e if final"))
    assert diag.message == "expected a guard name, '(' or 'not', found keyword 'final'"


def test_names_may_start_with_a_keyword() -> None:
    spec = wfdsl.loads(
        "workflow workflows { initial state stateful { enter enterprise }"
        " state finals event onward, iffy"
        " stateful -> finals on onward if notable and order or android"
        " finals -> stateful on iffy }"
    )
    assert [s.name for s in spec.states] == ["stateful", "finals"]
    assert spec.guard_names == ("notable", "order", "android")


@pytest.mark.parametrize(
    "text",
    [
        "workflow after { initial state a }",
        "workflow w { initial state after }",
        "workflow w { initial state a event after }",
        "workflow w { initial state a { enter after } }",
        "workflow w { initial state a event e a -> a on e if after }",
    ],
    ids=["workflow", "state", "event", "hook", "guard"],
)
def test_after_is_a_keyword_of_timed_transitions(text: str) -> None:
    diag = only_error(text)
    assert diag.code == "WF100"
    assert diag.message.endswith("found keyword 'after'")
    assert diag.hint == "'after' is a keyword and cannot be used as a name"
    assert diag.end_column - diag.column == len("after")


def test_names_are_case_sensitive_ascii_with_digits_and_underscores() -> None:
    spec = wfdsl.loads(
        "workflow w { initial state Step_2b final state step_2B event go Step_2b -> step_2B on go }"
    )
    assert [s.name for s in spec.states] == ["Step_2b", "step_2B"]


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("_private", "names start with an ASCII letter"),
        ("café", "names use ASCII letters, digits and '_'"),
    ],
)
def test_bad_name_characters_are_reported_with_a_hint(name: str, hint: str) -> None:
    diag = only_error(f"workflow w {{ initial state {name} }}")
    bad = next(i for i, ch in enumerate(name) if not (ch.isascii() and ch.isalpha()))
    assert diag.message == f"unexpected character '{name[bad]}'"
    assert diag.hint == hint
    assert diag.column == 28 + bad


# -- strings, escapes and comments ----------------------------------------------------


def test_description_escapes_are_decoded() -> None:
    spec = wfdsl.loads(r'workflow w { initial state a "say \"hi\"\tthen\\\nbye" }')
    assert spec.state("a").description == 'say "hi"\tthen\\\nbye'


def test_description_keeps_unicode_and_hash_signs() -> None:
    spec = wfdsl.loads('workflow w { initial state a "Größe #1 — ok" }')
    assert spec.state("a").description == "Größe #1 — ok"


def test_unknown_escape_is_reported_at_the_backslash() -> None:
    diag = only_error(body(r'state b "tab\q"'))
    assert diag.message == "unknown escape '\\q' in a description"
    assert diag.hint == 'the escapes are \\" \\\\ \\n and \\t'
    assert (diag.line, diag.column, diag.end_column) == (4, 13, 15)


def test_every_unknown_escape_is_reported() -> None:
    with pytest.raises(SpecError) as info:
        wfdsl.loads(r'workflow w { initial state a "\a\b" event e "\x" }')
    assert [d.column for d in info.value.diagnostics] == [31, 33, 46]


def test_unterminated_string_is_reported_on_its_own_line() -> None:
    diag = only_error('workflow w {\n    initial state a\n    state b "half a description\n}\n')
    assert diag.message == (
        "unterminated string: a description must close with '\"' on the same line"
    )
    assert (diag.line, diag.column) == (3, 13)
    assert diag.end_column == len('    state b "half a description') + 1


def test_string_cannot_span_lines() -> None:
    diag = only_error('workflow w { initial state a "one\ntwo" }')
    assert diag.message.startswith("unterminated string")
    assert diag.line == 1


def test_single_quotes_are_not_strings() -> None:
    diag = only_error("workflow w { initial state a 'x' }")
    assert diag.message == "unexpected character '''"
    assert diag.hint == "descriptions use double quotes"


@pytest.mark.parametrize(("guard", "word"), [("x && y", "and"), ("x || y", "or"), ("!x", "not")])
def test_operators_of_other_languages_point_to_the_keyword(guard: str, word: str) -> None:
    text = f"workflow w {{ initial state a final state b event e a -> b on e if {guard} }}"
    diag = only_error(text)
    assert diag.message == f"unexpected character '{guard.strip('xy ')[0]}'"
    assert diag.hint == f"guards are combined with '{word}'"


def test_stray_character_is_reported_on_its_own_line() -> None:
    diag = only_error("workflow w {\n    initial state a\n\n      @\n}\n")
    assert diag.message == "unexpected character '@'"
    assert (diag.line, diag.column, diag.end_column) == (4, 7, 8)


def test_unprintable_character_is_shown_escaped() -> None:
    diag = only_error("workflow w { initial state a \x00 }")
    assert diag.message == "unexpected character '\\x00'"


def test_comments_run_to_the_end_of_the_line_anywhere() -> None:
    spec = wfdsl.loads(
        '# header "with a quote\n'
        "workflow w # after the name\n"
        "{ initial state a # { not a brace\n"
        "  event e a -> a on e if x # or y\n"
        "}# last"
    )
    assert spec.edges[0].guard is not None
    assert spec.guard_names == ("x",)


def test_whitespace_and_newlines_are_insignificant() -> None:
    one_line = wfdsl.loads("workflow w{initial state a{enter h}event e a->a on e if(x)}")
    tokens = "workflow w { initial state a { enter h } event e a -> a on e if ( x ) }"
    spread = wfdsl.loads("\n\t ".join(tokens.split(" ")))
    assert one_line.to_data() == spread.to_data()


def test_windows_line_endings_give_the_same_positions() -> None:
    diag = only_error("workflow w {\r\n    initial state a\r\n    a b\r\n}\r\n")
    assert (diag.line, diag.column) == (3, 7)


# -- rendering --------------------------------------------------------------------------


def test_render_shows_the_line_and_a_caret_under_the_token() -> None:
    text = body("a -> on e")
    assert only_error(text).render(text) == (
        "w.wf:4:6: WF100 expected a state name, found keyword 'on'\n"
        "   4 | a -> on e\n"
        "            ^^\n"
        "     = help: 'on' is a keyword and cannot be used as a name"
    )


def test_render_lines_the_caret_up_after_tabs() -> None:
    text = "workflow w {\n\tinitial state a\n\ta b\n}\n"
    rendered = only_error(text).render(text).splitlines()
    assert rendered[1] == "   3 |     a b"
    assert rendered[2].index("^") == rendered[1].index("b")


@pytest.mark.parametrize("odd", ["\x0c", "\u2028", "\x0b"])
def test_only_newline_ends_a_line_for_positions_and_rendering(odd: str) -> None:
    text = f'workflow w {{ # page{odd}break\n  initial state a "x{odd}y"\n  a b\n}}\n'
    diag = only_error(text)
    assert (diag.line, diag.column) == (3, 5)
    assert diag.render(text).splitlines()[1] == "   3 |   a b"


def test_render_without_source_is_the_headline() -> None:
    diag = only_error(body("a b"))
    assert diag.render(None) == "w.wf:4:3: WF100 expected ',' or '->', found name 'b'"


def test_render_at_end_of_file_points_after_the_last_character() -> None:
    text = "workflow w {"
    rendered = only_error(text).render(text).splitlines()
    assert rendered[1:] == ["   1 | workflow w {", "                   ^"]


# -- bytes ----------------------------------------------------------------------------


def test_non_utf8_byte_is_a_syntax_error_at_its_position() -> None:
    data = b'workflow w {\n    initial state a "caf' + b'\xe9"\n}\n'
    with pytest.raises(SpecError) as info:
        decode(data, "latin1.wf")
    (diag,) = info.value.diagnostics
    assert diag.code == "WF100"
    assert diag.message == "the file is not valid UTF-8 (byte 0xe9)"
    assert diag.hint == "save the file as UTF-8"
    assert (diag.path, diag.line, diag.column) == ("latin1.wf", 2, 25)


def test_columns_before_a_bad_byte_count_characters_not_bytes() -> None:
    data = 'workflow w { initial state a "ü'.encode() + b"\xff"
    with pytest.raises(SpecError) as info:
        decode(data, "x.wf")
    assert info.value.diagnostics[0].column == 32


def test_byte_order_mark_is_allowed() -> None:
    assert decode(b"\xef\xbb\xbfworkflow w {}", "bom.wf") == "workflow w {}"


def test_load_reports_bad_bytes_with_the_file_path(tmp_path: Path) -> None:
    path = tmp_path / "bad.wf"
    path.write_bytes(b"workflow w { initial state \x80 }")
    with pytest.raises(SpecError) as info:
        wfdsl.load(path)
    assert info.value.diagnostics[0].path == str(path)
    assert str(info.value).startswith(f"{path}:1:28: WF100")


# -- the language reference ---------------------------------------------------------

LANGUAGE_DOC = Path(__file__).resolve().parents[2] / "docs" / "language.md"


def doc_blocks() -> list[str]:
    """The fenced code blocks of docs/language.md."""
    parts = LANGUAGE_DOC.read_text(encoding="utf-8").split("```")
    return [block.split("\n", 1)[1] for block in parts[1::2]]


def test_language_reference_lists_exactly_the_parsers_keywords() -> None:
    listed = next(b for b in doc_blocks() if b.startswith("workflow state initial"))
    assert set(listed.split()) == KEYWORD_SET


def test_complete_workflows_in_the_language_reference_load() -> None:
    complete = [
        b
        for b in doc_blocks()
        if any(line.startswith("workflow ") for line in b.splitlines())
        and b.rstrip().endswith("}")
        and "..." not in b
        and "NAME" not in b
    ]
    assert complete
    for block in complete:
        wfdsl.loads(block)


#: The files behind the `wfdsl lint` transcripts in docs/language.md.
DOC_ERROR_FILES = {
    "missing_arrow.wf": (
        "workflow order {\n    initial state created\n    final state paid\n"
        "    event pay\n    created paid on pay\n}\n"
    ),
    "keyword.wf": "workflow order {\n    initial state created\n    final state final\n}\n",
    "eof.wf": "workflow order {\n    initial state created\n    event pay\n    created -> paid on\n",
    "guards.wf": (
        "workflow w { initial state a event e a -> a on e if ready and (paid or not flagged }\n"
    ),
    "unterminated.wf": (
        'workflow order {\n    initial state created "Order placed\n    final state paid\n}\n'
    ),
    "stray.wf": "workflow order {\n    initial state created\n    state paid;\n}\n",
    "badname.wf": "workflow order {\n    initial state 2fa_pending\n}\n",
    "duration.wf": (
        "workflow order {\n    initial state created\n    state paid\n    final state expired\n"
        "    event pay\n    created -> paid on pay\n    created -> expired after 30m1h\n"
        "    paid -> expired after 2d 12h\n}\n"
    ),
    "deep.wf": (
        "workflow w {\n    initial state a\n    final state b\n    event go\n"
        f"    a -> b on go if {'not ' * 65}ready\n}}\n"
    ),
    "escape.wf": 'workflow order {\n    initial state created "Path C:\\orders"\n}\n',
    "typo.wf": (
        "workflow order {\n    initial state created\n    state paid\n    final state shipped\n"
        "    event pay, ship\n    created -> payd on pay\n    paid -> shipped on shipp\n"
        "    shipped -> paid on pay\n}\n"
    ),
}


def doc_transcripts() -> dict[str, str]:
    """``$ wfdsl lint NAME`` -> the output shown under it in docs/language.md."""
    out: dict[str, str] = {}
    for block in doc_blocks():
        for part in block.split("$ wfdsl lint ")[1:]:
            name, _, shown = part.partition("\n")
            out[name] = shown.strip("\n")
    return out


def test_language_reference_shows_every_error_transcript() -> None:
    assert set(doc_transcripts()) == set(DOC_ERROR_FILES)


@pytest.mark.parametrize("name", sorted(DOC_ERROR_FILES))
def test_language_reference_error_transcripts_are_real(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from wfdsl.cli import cli

    monkeypatch.chdir(tmp_path)
    (tmp_path / name).write_text(DOC_ERROR_FILES[name], encoding="utf-8")
    result = CliRunner().invoke(cli, ["lint", "--no-config", name])
    assert result.exit_code == 1
    assert doc_transcripts()[name] in result.output
