"""Fuzzing the front end: no input makes ``wfdsl`` crash or hang.

Random text, random soups of the language's own tokens, and mutations of the
real examples go through :func:`wfdsl.loads`. The only acceptable outcomes are
a :class:`~wfdsl.ir.Spec` or a :class:`~wfdsl.errors.SpecError` whose every
diagnostic has a position in the file and renders. A smaller number of mutated
files go through ``wfdsl lint`` in-process, which must exit 0, 1 or 2.

``WFDSL_FUZZ_EXAMPLES=5000 pytest tests/frontend/test_fuzz.py`` fuzzes harder.
"""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from types import FrameType

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wfdsl
from wfdsl.diagnostics import Diagnostic, Severity, source_line
from wfdsl.errors import SpecError
from wfdsl.frontend.parser import _lark, normalize_line_ends
from wfdsl.frontend.source import analyze_lenient, decode
from wfdsl.lint.base import REGISTRY, LintRule
from wfdsl.lint.config import Selection
from wfdsl.lint.engine import lint_text

EXAMPLES = int(os.environ.get("WFDSL_FUZZ_EXAMPLES", "300"))
#: A hang is a failure, not a stuck test run.
HARD_LIMIT_SECONDS = 30

FUZZ = settings(
    max_examples=EXAMPLES,
    # Generous: catches pathological slowness (a hang, an exponential case)
    # without turning a busy machine into a failure.
    deadline=timedelta(seconds=5),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
CLI_FUZZ = settings(FUZZ, max_examples=max(EXAMPLES // 5, 10))

TERMINAL_NAMES = {t.name for t in _lark().terminals} | {"$END"}

EXAMPLE_TEXTS = sorted(
    (p.name, p.read_text(encoding="utf-8"))
    for p in (Path(__file__).resolve().parents[2] / "examples").glob("*.wf")
)


@contextmanager
def hard_time_limit(seconds: int) -> Iterator[None]:
    """Fail with TimeoutError instead of hanging (SIGALRM; main thread only)."""

    def expire(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError(f"no result after {seconds} s: the input hangs the tool")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def check_diagnostic(diag: Diagnostic, text: str) -> None:
    assert diag.code.startswith("WF1"), diag
    assert diag.line >= 1 and diag.column >= 1, diag
    assert (diag.end_line, diag.end_column) >= (diag.line, diag.column), diag
    # Never the grammar's terminal names (RBRACE, __ANON_0, $END) outside quotes.
    said = set(re.split(r"[^A-Za-z0-9_$]+", re.sub(r"'[^']*'", "", diag.message)))
    assert diag.message and not said & TERMINAL_NAMES, diag
    # Lines end at "\r\n", "\r" or "\n", for the parser and the renderer alike
    # (callers render with the text as decode() and Source.text give it).
    text = normalize_line_ends(text)
    lines = text.split("\n")
    assert diag.line <= len(lines), diag
    shown = source_line(text, diag.line)
    if shown is not None:
        assert shown == lines[diag.line - 1]
    rendered = diag.render(text)
    assert rendered.startswith(diag.headline())
    assert ("^" in rendered) == (shown is not None)


def load_or_reject(text: str) -> None:
    """The property: a Spec, or a SpecError with well-formed diagnostics."""
    with hard_time_limit(HARD_LIMIT_SECONDS):
        try:
            spec = wfdsl.loads(text, "fuzz.wf")
        except SpecError as exc:
            assert exc.diagnostics, "SpecError without diagnostics"
            for diag in exc.diagnostics:
                check_diagnostic(diag, text)
            return
    # A valid spec must be usable by everything downstream.
    spec.fingerprint()
    for state in spec.states:
        for event in spec.events:
            spec.candidates(state.name, event.name)
        for timed in spec.timed_from(state.name):
            assert 0 < timed.after.ms <= 3650 * 86_400_000


# -- strategies ---------------------------------------------------------------------

KEYWORDS = ["workflow", "state", "initial", "final", "event", "enter", "exit", "compensate"]
KEYWORDS += ["on", "if", "not", "and", "or", "after"]
PUNCTUATION = ["{", "}", "(", ")", ",", "->", "*", "-", ">", '"']
NAMES = ["a", "b", "paid", "Paid", "order", "x1", "class", "match", "stateful", "notx", "_a", "9"]
STRINGS = ['"desc"', '""', '"q\\"q"', '"tab\\t"', '"bad\\q"', '"open', '"é # not a comment"']
DURATIONS = ["30m", "1h30m", "500ms", "7d", "0s", "90x", "1.5h", "30m1h", "3651d", "1_0s", "9"]
COMMENTS = ["# c\n", "# noqa: WF201\n", "# wfdsl: noqa: WF205\n", "# noqa\n", "#"]
ODD = ["\x00", "\t", "\r\n", "\r", "\x0c", "\u2028", "\ufeff", "é", "'", "$", "\\", "🙂"]
VOCABULARY = KEYWORDS + PUNCTUATION + NAMES + DURATIONS + STRINGS + COMMENTS + ODD
SPACES = st.sampled_from([" ", "\n", "  ", "", "\n    "])

token_soup = st.lists(st.tuples(st.sampled_from(VOCABULARY), SPACES), max_size=60).map(
    lambda pairs: "".join(tok + space for tok, space in pairs)
)
#: Soups that start like a workflow get past the first token more often.
workflow_soup = token_soup.map(lambda body: "workflow w {\n" + body)


def tokens(text: str) -> list[str]:
    """Words and the whitespace between them, so that joining gives the text back."""
    return re.split(r"(\s+)", text)


@st.composite
def mutated_example(draw: st.DrawFn) -> str:
    """An example with a few characters or tokens deleted, inserted, duplicated or swapped."""
    _, text = draw(st.sampled_from(EXAMPLE_TEXTS))
    for _ in range(draw(st.integers(1, 4))):
        if draw(st.booleans()):
            units = list(text)
            insertions = st.sampled_from([*VOCABULARY, *'{}()",->*#\n'])
        else:
            units = tokens(text)
            insertions = st.sampled_from(VOCABULARY)
        if not units:
            break
        i = draw(st.integers(0, len(units) - 1))
        j = draw(st.integers(i, min(len(units), i + 8)))
        op = draw(st.sampled_from(["delete", "insert", "duplicate", "swap"]))
        if op == "delete":
            del units[i:j]
        elif op == "insert":
            units.insert(i, draw(insertions))
        elif op == "duplicate":
            units[i:i] = units[i:j]
        else:
            k = draw(st.integers(0, len(units) - 1))
            units[i], units[k] = units[k], units[i]
        text = "".join(units)
    return text


STATE_POOL = ["new", "open", "paid", "shipped", "done", "failed", "s1", "s2", "lost"]
EVENT_POOL = ["go", "pay", "ship", "fail", "retry", "cancel", "tick"]
GUARD_POOL = ["ok", "ready", "flagged", "has_retries"]
HOOK_POOL = ["notify", "charge", "refund", "log"]
#: Lines that make a generated workflow invalid, added now and then.
SEMANTIC_ERRORS = [
    "state Paid",
    "state paid",
    "event go",
    "initial state extra",
    "nowhere -> new on go",
    "new -> new on nothing",
    "new -> new on go if class",
    "state hooked { enter ok }",
    "state twice { enter a enter b }",
    "new -> new after 0s",
    "new -> new after 30m1h",
    "new -> new after 1h 30m",
    "new -> new after 30 m",
    "new -> new after 2w",
]
#: Durations of generated timed transitions: valid ones, written every way.
DURATION_TEXT = st.builds(
    lambda pieces: "".join(f"{n}{u}" for n, u in pieces) or "1ms",
    st.lists(
        st.tuples(st.integers(0, 120), st.sampled_from(["d", "h", "m", "s", "ms"])),
        min_size=1,
        max_size=5,
        unique_by=lambda p: p[1],
    ).map(lambda ps: sorted(ps, key=lambda p: ["d", "h", "m", "s", "ms"].index(p[1]))),
)

GUARD_TEXT: st.SearchStrategy[str] = st.recursive(
    st.sampled_from(GUARD_POOL),
    lambda inner: st.one_of(
        inner.map(lambda g: f"not {g}"),
        st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(" ".join),
        inner.map(lambda g: f"({g})"),
    ),
    max_leaves=6,
)


@st.composite
def generated_workflow(draw: st.DrawFn) -> str:
    """A workflow built from the grammar: usually valid, sometimes with an error."""
    states = draw(st.lists(st.sampled_from(STATE_POOL), min_size=1, max_size=8, unique=True))
    events = draw(st.lists(st.sampled_from(EVENT_POOL), min_size=1, max_size=6, unique=True))
    initial = draw(st.sampled_from(states))
    finals = {s for s in states if s != initial and draw(st.integers(0, 3)) == 0}
    lines = ["workflow fuzzed {"]
    for name in states:
        mods = ("initial " if name == initial else "") + ("final " if name in finals else "")
        items = [
            f"{kind} "
            + ", ".join(
                draw(st.lists(st.sampled_from(HOOK_POOL), min_size=1, max_size=3, unique=True))
            )
            for kind in ("enter", "exit", "compensate")
            if draw(st.integers(0, 2)) == 0
        ]
        body = " { " + " ".join(items) + " }" if items else ""
        lines.append(f"  {mods}state {name}{body}")
    lines.append("  event " + ", ".join(events))
    movable = [s for s in states if s not in finals]
    for _ in range(draw(st.integers(0, 12))):
        if draw(st.integers(0, 4)) == 0:
            sources = "*"
        else:
            picked = draw(st.lists(st.sampled_from(movable), min_size=1, max_size=3, unique=True))
            sources = ", ".join(picked)
        target = draw(st.sampled_from(states))
        if draw(st.integers(0, 3)) == 0:
            trigger = "after " + draw(DURATION_TEXT)
        else:
            trigger = "on " + draw(st.sampled_from(events))
        guard = " if " + draw(GUARD_TEXT) if draw(st.booleans()) else ""
        note = ' "why"' if draw(st.booleans()) else ""
        lines.append(f"  {sources} -> {target} {trigger}{guard}{note}")
    if draw(st.integers(0, 4)) == 0:
        lines.insert(
            draw(st.integers(1, len(lines))), "  " + draw(st.sampled_from(SEMANTIC_ERRORS))
        )
    lines.append("}")
    return "\n".join(lines)


# -- loads ------------------------------------------------------------------------------


@FUZZ
@given(st.text(max_size=300))
def test_random_text_never_crashes_the_loader(text: str) -> None:
    load_or_reject(text)


@FUZZ
@given(st.one_of(token_soup, workflow_soup))
def test_token_soup_never_crashes_the_loader(text: str) -> None:
    load_or_reject(text)


@FUZZ
@given(mutated_example())
def test_mutated_examples_never_crash_the_loader(text: str) -> None:
    load_or_reject(text)


@FUZZ
@given(generated_workflow())
def test_generated_workflows_never_crash_the_loader(text: str) -> None:
    load_or_reject(text)


@FUZZ
@given(st.text(alphabet="0123456789dhmsxH_. \t", min_size=1, max_size=24))
def test_any_duration_text_is_read_or_rejected_at_its_place(text: str) -> None:
    load_or_reject(f"workflow w {{ initial state a final state b a -> b after 1{text} }}")


UNIT_MS = {"d": 86_400_000, "h": 3_600_000, "m": 60_000, "s": 1_000, "ms": 1}


@FUZZ
@given(
    st.lists(
        st.tuples(st.integers(0, 10**6), st.sampled_from(list(UNIT_MS))),
        min_size=1,
        max_size=5,
        unique_by=lambda p: p[1],
    )
)
def test_a_well_formed_duration_is_exactly_the_sum_of_its_pieces(
    pieces: list[tuple[int, str]],
) -> None:
    pieces.sort(key=lambda p: list(UNIT_MS).index(p[1]))
    text = "".join(f"{n}{u}" for n, u in pieces)
    total = sum(n * UNIT_MS[u] for n, u in pieces)
    source = f"workflow w {{ initial state a final state b a -> b after {text} }}"
    if 0 < total <= 3650 * UNIT_MS["d"]:
        (timed,) = wfdsl.loads(source).timed_edges
        assert (timed.after.ms, timed.after.text) == (total, text)
    else:
        with pytest.raises(SpecError) as info:
            wfdsl.loads(source)
        assert [d.code for d in info.value.diagnostics] == ["WF114"]


@FUZZ
@given(st.binary(max_size=200), st.sampled_from([b"", b"workflow w {", b"\xef\xbb\xbf"]))
def test_random_bytes_decode_or_report_a_positioned_error(data: bytes, prefix: bytes) -> None:
    data = prefix + data
    try:
        text = decode(data, "fuzz.wf")
    except SpecError as exc:
        (diag,) = exc.diagnostics
        assert diag.line >= 1 and diag.column >= 1
        assert diag.line <= data.count(b"\n") + data.count(b"\r") + 1
        return
    load_or_reject(text)


def test_generated_workflows_are_often_valid() -> None:
    """Valid specs are what the lint rules see; the generator must produce them."""
    valid = 0

    @settings(max_examples=100, deadline=None, database=None, derandomize=True)
    @given(generated_workflow())
    def collect(text: str) -> None:
        nonlocal valid
        try:
            wfdsl.loads(text)
            valid += 1
        except SpecError:
            pass

    collect()
    assert valid >= 20


def test_mutations_reach_beyond_syntax_errors() -> None:
    """The mutation strategy is worth running: it produces valid specs and every
    kind of outcome, not only syntax errors at the first character."""
    codes: set[str] = set()
    valid = 0

    @settings(max_examples=400, deadline=None, database=None, derandomize=True)
    @given(mutated_example())
    def collect(text: str) -> None:
        nonlocal valid
        try:
            wfdsl.loads(text)
            valid += 1
        except SpecError as exc:
            codes.update(d.code for d in exc.diagnostics)

    collect()
    assert valid > 0
    assert "WF100" in codes
    assert codes & {"WF101", "WF102", "WF103", "WF104", "WF112"}


def test_pathological_inputs_are_rejected_cleanly() -> None:
    for text in [
        "workflow w { initial state a event e a -> a on e if " + "not " * 10_000 + "x }",
        "workflow w { initial state a event e a -> a on e if "
        + "(" * 10_000
        + "x"
        + ")" * 10_000
        + " }",
        "workflow w { initial state a event e a -> a on e if " + " or ".join(["x"] * 5_000) + " }",
        "workflow w {" + " initial state a" * 2_000 + " }",
        "workflow w { initial state a event e " + "a, " * 20_000 + "a -> a on e }",
        '"' * 10_000,
        "{" * 10_000,
        "workflow w {" + "state s {" * 1_000,
    ]:
        load_or_reject(text)


@FUZZ
@given(st.one_of(generated_workflow(), mutated_example()))
def test_lint_reports_the_errors_and_only_warnings_that_can_be_computed(text: str) -> None:
    """A file with errors gets its errors (exactly those ``loads`` raises)
    and the warnings of every rule that the errors leave meaningful."""
    with hard_time_limit(HARD_LIMIT_SECONDS):
        found = lint_text(text, "fuzz.wf", Selection().override(["ALL"], None, None))
        try:
            wfdsl.loads(text, "fuzz.wf")
            errors: tuple[Diagnostic, ...] = ()
        except SpecError as exc:
            errors = exc.diagnostics
    assert [d for d in found if d.severity is Severity.ERROR] == sorted(
        errors, key=Diagnostic.sort_key
    )
    try:
        gaps = analyze_lenient(text, "fuzz.wf").gaps
    except SpecError:
        return  # a syntax error: nothing else is reported
    for d in found:
        rule = REGISTRY[d.code]
        if isinstance(rule, type) and issubclass(rule, LintRule) and d.code != "WF303":
            assert not rule.needs & gaps, (d, gaps)


# -- wfdsl lint --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lint_target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz") / "fuzz.wf"


@CLI_FUZZ
@given(
    st.one_of(
        mutated_example().map(str.encode),
        generated_workflow().map(str.encode),
        token_soup.map(str.encode),
        st.binary(max_size=100),
    ),
    st.sampled_from(["text", "json", "github", "sarif"]),
)
def test_lint_command_exits_0_1_or_2_and_never_raises(
    lint_target: Path, data: bytes, fmt: str
) -> None:
    from wfdsl.cli import cli

    lint_target.write_bytes(data)
    with hard_time_limit(HARD_LIMIT_SECONDS):
        result = CliRunner().invoke(
            cli, ["lint", "--select", "ALL", "--format", fmt, str(lint_target)]
        )
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code in (0, 1, 2), result.output
    assert "Traceback" not in result.output
