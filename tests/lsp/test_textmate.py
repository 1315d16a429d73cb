"""The TextMate grammar (``editors/vscode/syntaxes/wf.tmLanguage.json``) tokenised as VS Code
does, by ``vscode-textmate`` with ``vscode-oniguruma`` from npm.

Needs Node.js and the two npm packages::

    npm install --prefix /tmp/wfdsl-textmate vscode-textmate@9 vscode-oniguruma@2
    export WFDSL_TEXTMATE_NODE_MODULES=/tmp/wfdsl-textmate/node_modules

(or ``npm install --prefix editors ...`` to put them in ``editors/node_modules``).
Skipped, saying so, without them, unless ``WFDSL_REQUIRE_TEXTMATE=1`` (CI sets
it), which makes their absence a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest

from wfdsl.lsp.documents import Document
from wfdsl.lsp.symbols import Kind

from .helpers import EXAMPLES, ROOT

GRAMMAR = ROOT / "editors" / "vscode" / "syntaxes" / "wf.tmLanguage.json"
SCRIPT = ROOT / "editors" / "test" / "tokenize.js"
SAMPLES = ROOT / "editors" / "test" / "samples"
TIMERS = SAMPLES / "timers.wf"
MULTILINE = SAMPLES / "multiline.wf"
UNTERMINATED = SAMPLES / "unterminated.wf"
HOW = (
    "npm install --prefix /tmp/wfdsl-textmate vscode-textmate@9 vscode-oniguruma@2 and set "
    "WFDSL_TEXTMATE_NODE_MODULES=/tmp/wfdsl-textmate/node_modules"
)


def _node_modules() -> tuple[Path | None, str]:
    node = shutil.which("node")
    if node is None:
        return None, "needs Node.js (apt-get install nodejs npm)"
    env = os.environ.get("WFDSL_TEXTMATE_NODE_MODULES")
    for candidate in [Path(env)] if env else [ROOT / "editors" / "node_modules"]:
        if (candidate / "vscode-textmate").is_dir() and (candidate / "vscode-oniguruma").is_dir():
            return candidate, ""
    return None, "needs vscode-textmate and vscode-oniguruma from npm"


NODE_MODULES, MISSING = _node_modules()
if NODE_MODULES is None:
    if os.environ.get("WFDSL_REQUIRE_TEXTMATE") == "1":
        pytest.fail(
            f"WFDSL_REQUIRE_TEXTMATE=1 but the grammar test {MISSING}: {HOW}", pytrace=False
        )
    pytest.skip(f"the TextMate grammar test {MISSING}: {HOW}", allow_module_level=True)

Token = tuple[int, int, int, str, list[str]]


@cache
def tokens() -> dict[str, list[Token]]:
    """Every example and sample, tokenised in one node run."""
    files = [*EXAMPLES, TIMERS, MULTILINE, UNTERMINATED]
    done = subprocess.run(
        ["node", str(SCRIPT), str(GRAMMAR), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NODE_PATH": str(NODE_MODULES)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    raw: dict[str, list[Token]] = json.loads(done.stdout)
    return {Path(k).name: [tuple(t) for t in v] for k, v in raw.items()}  # type: ignore[misc]


def scopes_of(file: str, line: int, text: str, nth: int = 0) -> list[str]:
    found = [t for t in tokens()[file] if t[0] == line and t[3] == text]
    assert len(found) > nth, f"no token {text!r} on line {line} of {file}"
    return found[nth][4]


def test_every_token_of_every_example_is_coloured() -> None:
    for name, toks in tokens().items():
        bare = [t for t in toks if t[4] == ["source.wf"]]
        assert not bare, f"{name}: tokens no rule matched: {bare[:5]}"


ROLE = {
    Kind.STATE: "entity.name.type.state.wf",
    Kind.EVENT: "variable.other.constant.event.wf",
    Kind.GUARD: "entity.name.function.guard.wf",
    Kind.HOOK: "entity.name.function.hook.wf",
    Kind.WORKFLOW: "entity.name.namespace.workflow.wf",
}


@pytest.mark.parametrize("example", [*EXAMPLES, TIMERS, MULTILINE], ids=lambda p: p.name)
def test_every_name_is_scoped_by_the_role_the_parser_gives_it(example: Path) -> None:
    """The grammar reads lines, the parser the whole file: they must agree on
    what every name in the examples is, members over several lines included."""
    text = example.read_text(encoding="utf-8")
    symbols = Document(example.as_uri(), text, 1).analysis().symbols
    assert symbols is not None
    by_place = {(t[0], t[1]): t for t in tokens()[example.name]}
    lines = text.split("\n")
    for occ in symbols.occurrences:
        line = text.count("\n", 0, occ.start)
        column = occ.start - (text.rfind("\n", 0, occ.start) + 1)
        column = len(lines[line][:column].encode("utf-16-le")) // 2
        tok = by_place.get((line, column))
        assert tok is not None and tok[3] == occ.name, (occ, tok)
        assert ROLE[occ.kind] in tok[4], (occ, tok)


@pytest.mark.parametrize(
    ("line", "text", "scope"),
    [
        (3, "workflow", "keyword.declaration.workflow.wf"),
        (5, "initial", "storage.modifier.initial.wf"),
        (5, "state", "keyword.declaration.state.wf"),
        (7, "enter", "keyword.other.hook.enter.wf"),
        (8, "compensate", "keyword.other.hook.compensate.wf"),
        (18, "final", "storage.modifier.final.wf"),
        (21, "event", "keyword.declaration.event.wf"),
        (27, "->", "keyword.operator.arrow.wf"),
        (27, "on", "keyword.control.on.wf"),
        (27, "if", "keyword.control.if.wf"),
        (27, "and", "keyword.operator.logical.wf"),
        (27, "not", "keyword.operator.logical.wf"),
        (0, "#", "punctuation.definition.comment.wf"),
        (3, "Order fulfilment from checkout to the customer's door", "string.quoted.double.wf"),
        (3, "{", "punctuation.section.block.begin.wf"),
    ],
)
def test_keywords_punctuation_strings_and_comments(line: int, text: str, scope: str) -> None:
    assert scope in scopes_of("order.wf", line, text)


@pytest.mark.parametrize(
    ("line", "text", "scope"),
    [
        (8, "after", "keyword.control.after.wf"),
        (8, "1h30m", "constant.numeric.duration.wf"),
        (9, "500ms", "constant.numeric.duration.wf"),
        (10, "90x", "invalid.illegal.duration.wf"),
        (10, "*", "keyword.operator.wildcard.wf"),
        (8, "retryable", "entity.name.function.guard.wf"),
        (8, "held", "entity.name.type.state.wf"),
        (7, "fraud", "entity.name.function.guard.wf"),
        (7, "(", "punctuation.section.parens.begin.wf"),
        (1, '\\"', "constant.character.escape.wf"),
        (1, "\\t", "constant.character.escape.wf"),
        (1, "\\n", "constant.character.escape.wf"),
        (3, "\\q", "invalid.illegal.escape.wf"),
        (2, "request_auth", "entity.name.function.hook.wf"),
    ],
)
def test_durations_wildcards_guards_and_escapes(line: int, text: str, scope: str) -> None:
    assert scope in scopes_of("timers.wf", line, text)


def test_a_comment_ends_a_transition_and_a_string_keeps_its_hash() -> None:
    assert "comment.line.number-sign.wf" in scopes_of("timers.wf", 0, "#")
    description = scopes_of("timers.wf", 8, "wait, then give up")
    assert "string.quoted.double.wf" in description


@pytest.mark.parametrize(
    ("line", "text", "scope"),
    [
        (1, "workflow", "keyword.declaration.workflow.wf"),
        (2, "stretched", "entity.name.namespace.workflow.wf"),  # the name on the next line
        (3, "initial", "storage.modifier.initial.wf"),
        (6, "waiting", "entity.name.type.state.wf"),  # after 'state' on the line above
        (8, "log_it", "entity.name.function.hook.wf"),  # a hook list after a comma
        (10, "stop_timer", "entity.name.function.hook.wf"),
        (15, "halt", "variable.other.constant.event.wf"),  # an event list after a comma
        (16, "start", "entity.name.type.state.wf"),  # sources over lines, not events
        (17, "waiting", "entity.name.type.state.wf"),
        (18, "->", "keyword.operator.arrow.wf"),
        (18, "done", "entity.name.type.state.wf"),
        (19, "on", "keyword.control.on.wf"),
        (19, "go", "variable.other.constant.event.wf"),
        (20, "ready", "entity.name.function.guard.wf"),
        (21, "and", "keyword.operator.logical.wf"),
        (21, "blocked", "entity.name.function.guard.wf"),  # a guard over three lines
        (22, "paused", "entity.name.function.guard.wf"),
        (22, ")", "punctuation.section.parens.end.wf"),
        (23, "All clear", "string.quoted.double.wf"),  # the description on its own line
        (25, "after", "keyword.control.after.wf"),
        (26, "1h30m", "constant.numeric.duration.wf"),  # the duration on the next line
        (27, "still_waiting", "entity.name.function.guard.wf"),
        (28, "1h", "constant.numeric.duration.wf"),
        (28, "30m", "invalid.illegal.duration.wf"),  # a space inside a duration (WF114)
        (30, "#", "punctuation.definition.comment.wf"),
        (31, "halt", "variable.other.constant.event.wf"),  # the event after a comment line
        (33, "*", "keyword.operator.wildcard.wf"),
        (34, "timed_out", "entity.name.type.state.wf"),  # the target after '->' above
        (34, "7d", "constant.numeric.duration.wf"),
    ],
)
def test_members_over_several_lines(line: int, text: str, scope: str) -> None:
    assert scope in scopes_of("multiline.wf", line, text)


def test_two_transitions_on_one_line_are_two() -> None:
    names = [(t[3], t[4][-1]) for t in tokens()["multiline.wf"] if t[0] == 32]
    assert names == [
        ("waiting", "entity.name.type.state.wf"),
        ("->", "keyword.operator.arrow.wf"),
        ("start", "entity.name.type.state.wf"),
        ("on", "keyword.control.on.wf"),
        ("go", "variable.other.constant.event.wf"),
        ("start", "entity.name.type.state.wf"),
        ("->", "keyword.operator.arrow.wf"),
        ("done", "entity.name.type.state.wf"),
        ("on", "keyword.control.on.wf"),
        ("halt", "variable.other.constant.event.wf"),
    ]


def test_an_unterminated_description_ends_at_the_end_of_its_line() -> None:
    assert "string.quoted.double.wf" in scopes_of("unterminated.wf", 2, "never closed")
    for line, text, scope in [
        (3, "state", "keyword.declaration.state.wf"),
        (3, "b", "entity.name.type.state.wf"),
        (4, "->", "keyword.operator.arrow.wf"),
        (5, "event", "keyword.declaration.event.wf"),
        (6, "}", "punctuation.section.block.end.wf"),
    ]:
        found = scopes_of("unterminated.wf", line, text)
        assert scope in found and "string.quoted.double.wf" not in found, (line, text)
