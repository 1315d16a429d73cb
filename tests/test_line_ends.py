"""``\\r\\n``, ``\\r`` and ``\\n`` all end a line, everywhere (issue 12: a file
with old Mac line ends was read as one line, and its first ``#`` comment hid
the rest). Every test here runs once per style and expects the same lines,
columns, findings, snippets and suppressions; ``fmt`` keeps a file's style.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import wfdsl
from wfdsl.cli import cli
from wfdsl.errors import SpecError
from wfdsl.fmt import format_source
from wfdsl.frontend.source import decode
from wfdsl.lint.engine import lint_text

STYLES = {"lf": "\n", "crlf": "\r\n", "cr": "\r"}

#: A comment on the first line: read as one line, it would hide everything.
LINTED = """workflow order {  # the order flow
    initial state created
    state paid
    final state shipped
    state legacy  # noqa: WF201
    state orphan
    event pay, ship, refund
    created -> paid on pay
    paid -> shipped on ship
    legacy -> shipped on ship
}
"""


def styled(text: str, end: str) -> str:
    return text.replace("\n", end)


@pytest.fixture(params=sorted(STYLES))
def end(request: pytest.FixtureRequest) -> str:
    return STYLES[request.param]


def positions(text: str) -> list[tuple[str, int, int, int, int]]:
    return [(d.code, d.line, d.column, d.end_line, d.end_column) for d in lint_text(text, "f.wf")]


def test_a_comment_ends_at_the_line_end(end: str) -> None:
    spec = wfdsl.loads(styled(LINTED, end))
    assert [s.name for s in spec.states] == ["created", "paid", "shipped", "legacy", "orphan"]
    assert [(s.span.line, s.span.column) for s in spec.states] == [
        (2, 19),
        (3, 11),
        (4, 17),
        (5, 11),
        (6, 11),
    ]


def test_findings_and_suppressions_are_the_same_in_every_style(end: str) -> None:
    expected = positions(LINTED)
    assert ("WF201", 6, 11, 6, 17) in expected  # orphan; legacy's is suppressed by its noqa
    assert all(line != 5 for _, line, *_ in expected)
    assert positions(styled(LINTED, end)) == expected


def test_file_level_noqa_applies_in_every_style(end: str) -> None:
    text = styled("# wfdsl: noqa: WF201, WF205\n" + LINTED, end)
    assert {code for code, *_ in positions(text)} == {"WF202"}


@pytest.mark.parametrize(
    ("text", "at"),
    [
        ("workflow w {\n  initial state a\n  state b;\n}\n", (3, 10)),  # stray character
        ('workflow w {\n  initial state a "open\n  state b\n}\n', (2, 19)),  # unterminated
        ("workflow w {\n  initial state a\n  state\n", (3, 8)),  # the end of the file
        ("workflow w {\n  initial state a\n  a -> b on e\n}\n", (3, 8)),  # undefined state
    ],
)
def test_error_positions_are_the_same_in_every_style(
    text: str, at: tuple[int, int], end: str
) -> None:
    with pytest.raises(SpecError) as info:
        wfdsl.loads(styled(text, end))
    first = info.value.diagnostics[0]
    assert (first.line, first.column) == at


def test_invalid_utf8_is_reported_at_its_line(end: str) -> None:
    data = styled("workflow w {\n  initial state a\n  state b \xe9\n}\n", end).encode("latin-1")
    with pytest.raises(SpecError) as info:
        decode(data, "f.wf")
    (diag,) = info.value.diagnostics
    assert (diag.line, diag.column) == (3, 11)


def test_snippets_and_carets_show_the_line_the_finding_names(
    end: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("f.wf").write_bytes(styled(LINTED, end).encode())
    result = CliRunner().invoke(cli, ["lint", "--no-config", "f.wf"])
    assert result.exit_code == 1
    assert (
        "f.wf:6:11: WF201 state 'orphan' is unreachable from initial state 'created'\n"
        "   6 |     state orphan\n"
        "                 ^^^^^^\n"
    ) in result.output
    assert "\r" not in result.output


@pytest.mark.parametrize("fmt", ["json", "github", "sarif"])
def test_machine_formats_give_the_same_positions(
    fmt: str, end: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outputs = []
    for name, text in (("lf", LINTED), ("styled", styled(LINTED, end))):
        (tmp_path / name).mkdir()
        (tmp_path / name / "f.wf").write_bytes(text.encode())
        monkeypatch.chdir(tmp_path / name)
        result = CliRunner().invoke(cli, ["lint", "--no-config", "--format", fmt, "f.wf"])
        assert result.exit_code == 1
        outputs.append(result.output)
    if fmt == "sarif":  # the same line text gives the same fingerprints too
        runs = [json.loads(out)["runs"][0]["results"] for out in outputs]
        assert runs[0] == runs[1]
    else:
        assert outputs[0] == outputs[1]


def test_fmt_keeps_the_files_line_ends(end: str) -> None:
    out = format_source(styled("workflow w {\n  initial state a # c\n}\n", end))
    assert out == styled("workflow w {\n\n    initial state a  # c\n}\n", end)
    assert format_source(out) == out


def test_fmt_leaves_a_canonical_file_in_any_style_untouched(end: str, tmp_path: Path) -> None:
    path = tmp_path / "f.wf"
    data = styled("workflow w {\n\n    initial state a\n}\n", end).encode()
    path.write_bytes(data)
    result = CliRunner().invoke(cli, ["fmt", "--check", str(path)])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(cli, ["fmt", str(path)])
    assert result.exit_code == 0 and path.read_bytes() == data


def test_fmt_gives_a_file_with_mixed_line_ends_those_of_its_first_line() -> None:
    out = format_source("workflow w {\r\n  initial state a\n  state b\r}\n")
    assert out == "workflow w {\r\n\r\n    initial state a\r\n    state b\r\n}\r\n"


def test_fmt_ends_lines_with_lf_in_a_file_without_line_ends() -> None:
    assert format_source("workflow w { initial state a }") == (
        "workflow w {\n\n    initial state a\n}\n"
    )


def test_fmt_diff_shows_the_layout_and_says_when_line_ends_change(tmp_path: Path) -> None:
    path = tmp_path / "f.wf"
    path.write_bytes(b"workflow w {\r\n\r\n    initial state a\n}\r\n")
    result = CliRunner().invoke(cli, ["fmt", "--diff", str(path)])
    assert result.exit_code == 1
    assert "\r" not in result.stdout  # the diff reads on a terminal
    assert result.stdout.count("\n+") == 0 and result.stdout.count("\n-") == 0
    assert f"{path}: every line would end in \\r\\n" in result.stderr
