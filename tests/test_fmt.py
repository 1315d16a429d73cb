"""``wfdsl fmt``: the canonical layout, comments kept, meaning unchanged."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wfdsl import loads
from wfdsl.errors import FormatError, SpecError
from wfdsl.fmt import LintWouldChange, format_source
from wfdsl.frontend.parser import parse
from wfdsl.lint.config import Selection
from wfdsl.lint.engine import lint_text

ROOT = Path(__file__).resolve().parent.parent
CASES = Path(__file__).resolve().parent / "fmt_cases"
IDENTITY = sorted((CASES / "identity").glob("*.wf"))
FIXTURES = sorted((CASES / "fixtures").glob("*.in.wf"))
EXAMPLES = sorted((ROOT / "examples").rglob("*.wf"))


def comments_of(text: str) -> Counter[str]:
    return Counter(c.value.rstrip() for c in parse(text)[1])


def assert_formats_safely(text: str) -> str:
    out = format_source(text)
    assert loads(out).to_data() == loads(text).to_data()
    assert format_source(out) == out
    assert comments_of(out) == comments_of(text)
    return out


# -- golden files --------------------------------------------------------------------


@pytest.mark.parametrize("path", IDENTITY, ids=lambda p: p.name)
def test_canonical_file_comes_out_byte_identical(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert format_source(text, str(path)) == text


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_messy_file_formats_to_its_fixture(path: Path) -> None:
    expected = path.with_name(path.name.replace(".in.wf", ".out.wf")).read_text(encoding="utf-8")
    assert assert_formats_safely(path.read_text(encoding="utf-8")) == expected


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_keeps_its_meaning_and_comments(path: Path) -> None:
    assert_formats_safely(path.read_text(encoding="utf-8"))


# -- layout rules --------------------------------------------------------------------


def test_members_are_grouped_states_events_transitions_in_written_order() -> None:
    text = (
        "workflow w { a -> b on go  event go  initial state a  b -> a on back"
        "  event back  state b }"
    )
    assert format_source(text) == (
        "workflow w {\n"
        "\n"
        "    initial state a\n"
        "    state b\n"
        "\n"
        "    event go\n"
        "    event back\n"
        "\n"
        "    a -> b on go\n"
        "    b -> a on back\n"
        "}\n"
    )


def test_each_event_gets_its_own_line_with_its_description() -> None:
    out = format_source('workflow w { initial state a event go "Go", stop, back "Back" }')
    assert '    event go "Go"\n    event stop\n    event back "Back"\n' in out


def test_transitions_are_not_aligned() -> None:
    out = format_source(
        "workflow w { initial state a state a_long_name event e a -> a_long_name on e "
        "a_long_name -> a on e }"
    )
    assert "    a -> a_long_name on e\n    a_long_name -> a on e\n" in out


def test_descriptions_and_escapes_are_copied_as_written() -> None:
    raw = r'"tab\there \"q\" back\\slash\nnewline # not a comment é"'
    out = format_source(f"workflow w {raw} {{ initial state a {raw} }}")
    assert out.count(raw) == 2


def test_guard_keeps_grouping_parentheses_and_drops_noise() -> None:
    out = format_source(
        "workflow w { initial state a final state b event e "
        "a -> b on e if ((x) and (y or z)) or (not (w)) }"
    )
    # The author's grouping of the 'and' stays, though precedence implies it;
    # doubled parentheses and those around one name or a 'not' go.
    assert "a -> b on e if (x and (y or z)) or not w\n" in out


def test_guard_parentheses_around_the_whole_guard_are_dropped() -> None:
    out = format_source(
        "workflow w { initial state a final state b event e a -> b on e if ((x or y)) }"
    )
    assert "a -> b on e if x or y\n" in out


def test_blank_lines_between_members_are_kept_but_collapsed() -> None:
    text = "workflow w {\n  initial state a\n\n\n\n  state b\n  final state c\n  event e\n}\n"
    out = format_source(text)
    assert "    initial state a\n\n    state b\n    final state c\n" in out


def test_empty_state_braces_are_dropped() -> None:
    out = format_source("workflow w { initial state a { } }")
    assert "    initial state a\n}" in out


def test_output_keeps_the_files_line_ends() -> None:
    """More in tests/test_line_ends.py."""
    out = format_source("# c\r\nworkflow w {\r\n  initial state a\r\n}\r\n")
    assert out == "# c\r\nworkflow w {\r\n\r\n    initial state a\r\n}\r\n"


# -- comments --------------------------------------------------------------------


def test_own_line_comment_moves_with_the_member_below_it() -> None:
    text = (
        "workflow w {\n  a -> b on e\n  # about b\n  final state b\n  initial state a\n  event e\n}"
    )
    out = format_source(text)
    assert "    # about b\n    final state b\n" in out


def test_end_of_line_comment_stays_on_its_members_line() -> None:
    text = "workflow w {\n  event e # the event\n  initial state a # start\n}"
    out = format_source(text)
    assert "    initial state a  # start\n" in out
    assert "    event e  # the event\n" in out


def test_comment_inside_state_body_and_before_closing_brace_stays_inside() -> None:
    text = "workflow w { initial state a {\n # before\n enter h # on enter\n # last\n } }"
    out = format_source(text)
    assert (
        "    initial state a {\n"
        "        # before\n"
        "        enter h  # on enter\n"
        "        # last\n"
        "    }\n"
    ) in out


def test_comment_after_code_in_the_middle_of_a_member_ends_its_line() -> None:
    text = "workflow w { initial state a final state b event e\n a -> # why\n b on e }"
    out = format_source(text)
    assert "    a -> b on e  # why\n" in out


def test_comment_on_its_own_line_in_the_middle_of_a_member_goes_above_it() -> None:
    text = "workflow w { initial state a final state b event e\n a ->\n # why\n b on e }"
    out = format_source(text)
    assert "    # why\n    a -> b on e\n" in out


def test_when_two_comments_compete_for_a_line_end_the_second_goes_above() -> None:
    text = "workflow w { initial state a final state b event e\n a -> # one\n b on e # two\n}"
    out = format_source(text)
    assert "    # two\n    a -> b on e  # one\n" in out


def test_comments_before_and_after_the_workflow_stay_there() -> None:
    text = "# top\n\n# more\nworkflow w { initial state a } # end\n# tail\n"
    assert format_source(text) == (
        "# top\n\n# more\nworkflow w {\n\n    initial state a\n}  # end\n# tail\n"
    )


def test_hash_inside_a_description_is_not_a_comment() -> None:
    out = format_source('workflow w { initial state a "issue #12" }')
    assert '    initial state a "issue #12"\n' in out


# -- errors --------------------------------------------------------------------


def test_syntax_error_raises_instead_of_formatting() -> None:
    with pytest.raises(SpecError) as exc:
        format_source("workflow w { initial state a a b }")
    assert exc.value.diagnostics[0].code == "WF100"


def test_validation_error_raises_instead_of_formatting() -> None:
    with pytest.raises(SpecError) as exc:
        format_source("workflow w { state a }")
    assert exc.value.diagnostics[0].code == "WF105"


# -- property: fuzzed valid specs with random layout ----------------------------------

_DESC_PIECES = ["a", "Z", " ", "#", "é", "{", "}", "->", '\\"', "\\\\", "\\n", "\\t"]
_COMMENT_CHARS = st.text(
    alphabet=st.sampled_from(list("abc #\"'{}\\-> é\t")), min_size=0, max_size=12
)


@st.composite
def descriptions(draw: st.DrawFn) -> str | None:
    if not draw(st.booleans()):
        return None
    return '"' + "".join(draw(st.lists(st.sampled_from(_DESC_PIECES), max_size=6))) + '"'


@st.composite
def guards(draw: st.DrawFn, depth: int = 0) -> list[str]:
    kind = draw(st.sampled_from(["ref", "ref", "not", "and", "or"] if depth < 3 else ["ref"]))
    if kind == "ref":
        name = f"g{draw(st.integers(0, 4))}"
        return ["(", name, ")"] if draw(st.booleans()) else [name]
    if kind == "not":
        return ["not", "(", *draw(guards(depth + 1)), ")"]
    left, right = draw(guards(depth + 1)), draw(guards(depth + 1))
    return ["(", *left, ")", kind, "(", *right, ")"]


#: Durations of generated timed transitions, each a different length (two
#: spellings of one length would make a duplicate transition).
_DURATIONS = ["30m", "1h30m", "90s", "500ms", "7d", "2d12h", "007s"]


@st.composite
def specs(draw: st.DrawFn, comments: st.SearchStrategy[str] | None = None) -> str:
    n_states = draw(st.integers(1, 5))
    initial = draw(st.integers(0, n_states - 1))
    finals = {i for i in range(n_states) if i != initial and draw(st.booleans())}
    states = [f"s{i}" for i in range(n_states)]
    members: list[list[str]] = []
    for i, name in enumerate(states):
        toks = (["initial"] if i == initial else []) + (["final"] if i in finals else [])
        toks += ["state", name]
        desc = draw(descriptions())
        if desc:
            toks.append(desc)
        if draw(st.booleans()):
            toks.append("{")
            kinds = draw(st.permutations(["enter", "exit", "compensate"]))
            for kind in kinds[: draw(st.integers(0, 3))]:
                hooks = [f"h{i}_{kind}{j}" for j in range(draw(st.integers(1, 3)))]
                toks += [kind, *_commas(hooks)]
            toks.append("}")
        members.append(toks)
    n_events = draw(st.integers(1, 4))
    events = [f"e{i}" for i in range(n_events)]
    split = sorted(set(draw(st.lists(st.integers(1, n_events), max_size=3))) | {n_events})
    start = 0
    for end in split:
        items: list[list[str]] = []
        for ev in events[start:end]:
            desc = draw(descriptions())
            items.append([ev, desc] if desc else [ev])
        toks = ["event"]
        for k, item in enumerate(items):
            toks += ([","] if k else []) + item
        members.append(toks)
        start = end
    live = [s for i, s in enumerate(states) if i not in finals]
    seen: set[str] = set()
    for _ in range(draw(st.integers(0, 6))):
        if draw(st.integers(0, 4)) == 0:
            sources = ["*"]
        else:
            sources = _commas(draw(st.lists(st.sampled_from(live), min_size=1, unique=True)))
        toks = [*sources, "->", draw(st.sampled_from(states))]
        if draw(st.integers(0, 3)) == 0:
            toks += ["after", draw(st.sampled_from(_DURATIONS))]
        else:
            toks += ["on", draw(st.sampled_from(events))]
        if draw(st.booleans()):
            toks += ["if", *draw(guards())]
        key = " ".join(t for t in toks if t not in "()")  # same guard, other parentheses
        if key in seen:
            continue
        seen.add(key)
        desc = draw(descriptions())
        if desc:
            toks.append(desc)
        members.append(toks)
    members = draw(st.permutations(members))
    tokens = ["workflow", "w", *([d] if (d := draw(descriptions())) else []), "{"]
    tokens += [t for m in members for t in m] + ["}"]
    plain = _COMMENT_CHARS.map(lambda t: "#" + t)
    return _layout(draw, tokens, plain if comments is None else comments)


def _commas(names: list[str]) -> list[str]:
    out: list[str] = []
    for i, n in enumerate(names):
        out += ([","] if i else []) + [n]
    return out


def _layout(draw: st.DrawFn, tokens: list[str], comments: st.SearchStrategy[str]) -> str:
    def sep() -> str:
        kind = draw(st.integers(0, 9))
        if kind < 4:
            return draw(st.sampled_from([" ", "  ", "\t", "\n", "\n    ", "\n\n", " \n \n  "]))
        if kind < 6:
            return draw(st.sampled_from([" ", "  "])) + draw(comments) + "\n"
        if kind < 8:
            return "\n" + draw(st.sampled_from(["", "\n"])) + draw(comments) + "\n"
        return " "

    out = [sep() if draw(st.booleans()) else ""]
    for tok in tokens:
        out += [tok, sep()]
    return "".join(out)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs())
def test_fuzzed_specs_keep_meaning_and_comments_and_format_idempotently(text: str) -> None:
    assert_formats_safely(text)


# -- noqa comments: fmt never changes what lint reports ------------------------------

#: The issue's input: the comment was moved above the state, and lint went from
#: exit 0 to WF201, WF202 and two WF303.
ISSUE = """\
workflow migration {
    initial state started
    final state done
    state legacy  # noqa: WF201, WF202
        "kept for the migration"
    event finish
    started -> done on finish
}
"""


def lint_signature(text: str, selection: Selection | None = None) -> Counter[tuple[str, ...]]:
    """What lint reports, wherever the lines are: each finding's code, message
    (line numbers in it blanked), hint and the word it points at."""
    lines = text.split("\n")
    for c in parse(text)[1]:  # blanked, so that a span across lines shows code only
        line = lines[c.line - 1]
        lines[c.line - 1] = line[: c.column - 1] + " " * len(c.value)
    out: Counter[tuple[str, ...]] = Counter()
    for d in lint_text(text, "w.wf", selection):
        # The token the finding starts at (layout may change what follows it).
        found = re.match(r"[A-Za-z]\w*|\S", lines[d.line - 1][d.column - 1 :])
        anchor = found.group() if found else ""
        message = re.sub(r"line \d+", "line N", d.message)
        out[(d.code, message, d.hint or "", anchor)] += 1
    return out


def test_the_issues_noqa_stays_on_the_line_it_suppresses() -> None:
    assert lint_signature(ISSUE) == Counter()
    out = format_source(ISSUE)
    assert '    state legacy "kept for the migration"  # noqa: WF201, WF202\n' in out
    assert lint_signature(out) == Counter()


def test_noqa_in_a_member_over_several_lines_ends_the_members_line() -> None:
    text = """workflow w {
    initial state a
    final state b
    event go, stop
    state c
    a -> b on stop
    a -> c  # noqa: WF204
        on stop
}"""
    out = format_source(text)
    assert "    a -> c on stop  # noqa: WF204\n" in out
    assert lint_signature(out) == lint_signature(text) != Counter()


def test_noqa_goes_with_the_member_whose_findings_it_suppresses() -> None:
    text = """workflow w {
    initial state a
    final state b
    state orphan state other  # noqa: WF201
    event go
    a -> b on go
    a -> other on go
}"""
    out = format_source(text)
    assert "    state orphan  # noqa: WF201\n    state other\n" in out
    assert lint_signature(out) == lint_signature(text)


def test_noqa_after_an_event_list_goes_to_the_event_it_is_for() -> None:
    text = "workflow w {\n initial state a final state b\n event go, spare  # noqa: WF205\n a -> b on go\n}"
    out = format_source(text)
    assert "    event go\n    event spare  # noqa: WF205\n" in out
    assert lint_signature(out) == lint_signature(text) == Counter()


def test_fmt_refuses_when_a_noqa_cannot_stay_with_all_it_suppresses() -> None:
    text = "workflow w {\n initial state a final state b\n event go, x, y  # noqa: WF205\n a -> b on go\n}"
    with pytest.raises(LintWouldChange) as info:
        format_source(text)
    assert str(info.value) == (
        "<string>: not formatted: it would change what 'wfdsl lint' reports: WF205 at line 3"
        " (event 'y' is declared but triggers no transition) would no longer be suppressed:"
        " its noqa comment would end up on another line; give each member its noqa comment"
        " at the end of its own line"
    )
    assert isinstance(info.value, FormatError)


def test_fmt_refuses_to_put_two_noqa_comments_on_one_line() -> None:
    text = """workflow w {
    initial state a
    final state b
    state c
    event go
    a -> b on go
    a -> c  # noqa: WF204
        on go if isReady  # noqa: WF301
}"""
    with pytest.raises(LintWouldChange) as info:
        format_source(text)
    assert info.value.reason == (
        "WF301 at line 8 (guard name 'isReady' is not snake_case) would no longer be"
        " suppressed: its noqa comment would end up on another line"
    )


NOQA_COMMENTS = st.sampled_from(
    [
        "# noqa: WF201",
        "# noqa: WF202, WF205",
        "# noqa: WF205",
        "# noqa: dead-end",
        "# noqa",
        "# noqa: WF204,WF211",
        "# noqa: WF2",
        "# noqa: WF999",
        "# wfdsl: noqa: WF205",
        "# see the runbook",
        "#",
    ]
)
#: A comment after most words: many comments inside members, competing for
#: the end of one line.
NOQA_SPECS = specs(comments=NOQA_COMMENTS)
#: Line breaks without a comment as often as with one, nearer real files.
SPARSE_NOQA_SPECS = specs(comments=st.one_of(st.just(""), NOQA_COMMENTS))


def without_comments(text: str) -> str:
    _, comments = parse(text)
    for c in reversed(comments):
        text = text[: c.start_pos] + text[c.end_pos :]
    return text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(NOQA_SPECS, SPARSE_NOQA_SPECS))
def test_fmt_never_changes_what_lint_reports(text: str) -> None:
    """Specs with noqa comments in random places: formatted, they lint exactly
    as before, or fmt refuses (and says what would change)."""
    try:
        out = format_source(text)
    except LintWouldChange:
        return
    assert lint_signature(out) == lint_signature(text)
    assert format_source(out) == out
    assert comments_of(out) == comments_of(text)


def test_fmt_rarely_refuses_and_the_noqa_comments_matter() -> None:
    """The property above is worth running: most generated files format, and in
    most of them the noqa comments change what lint reports (so keeping that
    unchanged is a real constraint). Refusals are files where one comment
    would have to be on two lines, or two on one."""
    formatted = refused = mattered = 0

    @settings(max_examples=300, deadline=None, database=None, derandomize=True)
    @given(SPARSE_NOQA_SPECS)
    def collect(text: str) -> None:
        nonlocal formatted, refused, mattered
        try:
            format_source(text)
        except LintWouldChange:
            refused += 1
            return
        formatted += 1
        if lint_signature(without_comments(text)) != lint_signature(text):
            mattered += 1

    collect()
    assert refused * 10 < formatted + refused, (refused, formatted)
    assert mattered * 2 > formatted, (mattered, formatted)


def test_the_layout_example_in_the_docs_is_canonical() -> None:
    doc = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    section = doc.split("### The canonical layout", 1)[1]
    example = section.split("```\n", 2)[1]
    assert format_source(example) == example


_FRAGMENTS = [
    "workflow", "w", "state", "initial", "final", "event", "enter", "exit", "compensate",
    "a", "b", "e", "->", ",", "on", "if", "not", "and", "or", "(", ")", "{", "}", "*",
    '"d"', '"\\q"', "# c\n", "\n", " ", "after", "9", "'", "30m", "1h 30m", "0s",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=40).map(" ".join))
def test_any_input_is_formatted_or_refused_with_diagnostics(text: str) -> None:
    try:
        out = format_source(text)
    except SpecError as exc:
        assert exc.diagnostics
    else:
        assert format_source(out) == out
