"""How a diagnostic is shown: the source line it points at, whatever ends the
file's lines, and a caret under its span."""

from __future__ import annotations

import pytest

import wfdsl
from wfdsl.diagnostics import Diagnostic, Severity, SourceLines, source_line
from wfdsl.errors import SpecError


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"])
def test_every_line_end_ends_a_line(end: str) -> None:
    text = end.join(["first", "second", "third"]) + end
    assert [source_line(text, n) for n in (1, 2, 3, 4)] == ["first", "second", "third", None]


def test_mixed_line_ends_count_as_the_front_end_counts_them() -> None:
    text = "a\r\nb\rc\nd"
    assert [source_line(text, n) for n in range(1, 6)] == ["a", "b", "c", "d", None]
    assert len(SourceLines(text)) == 4


def test_a_form_feed_or_a_unicode_line_separator_does_not_end_a_line() -> None:
    text = "a\x0cb\u2028c\x85d\nsecond\n"
    assert source_line(text, 1) == "a\x0cb\u2028c\x85d"
    assert source_line(text, 2) == "second"


def test_lines_outside_the_text_are_none() -> None:
    assert source_line("only\n", 0) is None and source_line("only\n", 2) is None
    assert source_line("", 1) is None


@pytest.mark.parametrize("end", ["\r\n", "\r"])
def test_a_diagnostic_in_a_file_with_other_line_ends_shows_its_own_line(end: str) -> None:
    text = end.join(["workflow w {", "    initial state a", "    state shiped", "}"]) + end
    text = text.replace("    state shiped", "    initial state b")
    with pytest.raises(SpecError) as error:
        wfdsl.loads(text, "w.wf")
    d = error.value.diagnostics[0]
    rendered = d.render(text).splitlines()
    assert rendered[1] == f"{d.line:>4} | " + source_line(text, d.line)  # type: ignore[operator]
    assert "\r" not in "".join(rendered)


def test_the_caret_is_measured_on_the_line_as_shown() -> None:
    line = "\tstate \x1b[2J x"
    column = line.index("x") + 1
    d = Diagnostic("WF301", "naming", Severity.WARNING, "m", "f.wf", 1, column, 1, column + 1)
    _, shown, caret = d.render(line).splitlines()
    assert shown == "   1 |     state \\x1b[2J x"
    assert caret.index("^") == shown.index(" x") + 1
