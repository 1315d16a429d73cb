"""Output that is safe on a terminal, and streams that cannot be written.

Text from files and stores reaches a terminal with every control character
made visible (one function does it: ``wfdsl.diagnostics.visible``); machine
formats keep the exact text; a full disk or a closed pipe on standard output
is one line and exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from click.testing import CliRunner

from wfdsl.cli import cli, main
from wfdsl.diagnostics import Diagnostic, Severity, visible

from .helpers import ORDER

#: What a hostile file carries: OSC 52 (write the clipboard), a window title,
#: clear screen, a one-character C1 CSI, a form feed, a backspace that hides
#: what came before, DEL, and a right-to-left override. (A carriage return
#: would end the line: the front end reads it as a line end.)
HOSTILE = "\x1b]52;c;aGk=\x07\x1b]0;pwned\x07\x1b[2J\x9b31m\x0chidden\x08\x7f\u202eevil"

#: The event 'never' comes after the hostile description, on its line.
FLOW = (
    "workflow w {{\n"
    "    initial state a\n"
    "    final state b\n"
    '    event go "{desc}", never\n'
    "    a -> b on go\n"
    "}}\n"
)


def unsafe(text: str) -> list[str]:
    """The characters in ``text`` a terminal would act on."""
    return [
        ch
        for ch in text
        if ch not in "\n\t"
        and (unicodedata.category(ch) in ("Cc", "Cs") or ch in "\u202a\u202b\u202c\u202d\u202e")
    ]


def invoke(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def via_main(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    """The console entry point, as the installed ``wfdsl`` runs it."""
    with pytest.raises(SystemExit) as exited:
        main([str(a) for a in args])
    captured = capsys.readouterr()
    code = exited.value.code
    return code if isinstance(code, int) else 0, captured.out, captured.err


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    path = tmp_path / "flow.wf"
    path.write_text(FLOW.format(desc=HOSTILE), encoding="utf-8")
    return path


# -- the one escaping function ---------------------------------------------------


def test_visible_escapes_what_a_terminal_acts_on_and_nothing_else() -> None:
    assert visible(HOSTILE) == (
        "\\x1b]52;c;aGk=\\x07\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\x0chidden\\x08\\x7f\\u202eevil"
    )
    plain = "Überweisung → done 👨\u200d👩\u200d👧 a\\b «ok»"
    assert visible(plain) == plain
    assert visible("a\tb\nc\rd") == "a\\tb\\nc\\rd"
    assert visible("a\tb\nc", keep="\n\t") == "a\tb\nc"
    assert visible("name-\udcff.wf") == "name-\\xff.wf"  # a file name's non-UTF-8 byte


def test_a_diagnostic_escapes_its_line_and_keeps_the_caret_under_the_span() -> None:
    line = f'    event go "{HOSTILE}", never'
    column = line.index("never") + 1
    d = Diagnostic("WF205", "unused-event", Severity.WARNING, "m", "f.wf", 1, column, 1, column + 5)
    shown, caret = d.render(line + "\n").splitlines()[1:3]
    assert not unsafe(shown)
    assert caret.index("^") == shown.index("never") and caret.count("^") == 5


# -- lint in every format --------------------------------------------------------


def test_lint_text_shows_control_characters_escaped(hostile: Path) -> None:
    code, out, _ = invoke("lint", hostile)
    assert code == 1
    assert not unsafe(out)
    assert visible(HOSTILE) in out
    source, caret = [line for line in out.splitlines() if "never" in line or "^" in line][1:3]
    assert caret.index("^") == source.index("never")


def test_lint_json_and_sarif_keep_the_exact_text(hostile: Path, tmp_path: Path) -> None:
    hostile.rename(tmp_path / f"x{HOSTILE[:4]}.wf")
    path = tmp_path / f"x{HOSTILE[:4]}.wf"
    for fmt in ("json", "sarif"):
        code, out, _ = invoke("lint", "--format", fmt, path)
        assert code == 1
        assert not unsafe(out) and "\u202e" not in out
        data = json.loads(out)
        if fmt == "json":
            assert data[0]["path"] == str(path)
        else:
            uri = data["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
            assert uri["artifactLocation"]["uri"].endswith("x%1B%5D52.wf")


def test_lint_github_escapes_by_githubs_rules_and_shows_control_characters(
    tmp_path: Path,
) -> None:
    path = tmp_path / "a,b:c%d\x1b.wf"
    path.write_text(FLOW.format(desc="x"), encoding="utf-8")
    code, out, _ = invoke("lint", "--format", "github", path)
    assert code == 1 and not unsafe(out)
    assert "file=" + str(tmp_path).replace(":", "%3A") + "/a%2Cb%3Ac%25d\\x1b.wf," in out


def test_a_file_name_with_escapes_is_shown_escaped(tmp_path: Path) -> None:
    (tmp_path / "evil\x1b[2J.wf").write_text(FLOW.format(desc="x"), encoding="utf-8")
    code, out, err = invoke("lint", tmp_path)
    assert code == 1 and not unsafe(out + err)
    assert "evil\\x1b[2J.wf:4:" in out


# -- the other commands that echo files ------------------------------------------


def test_fmt_diff_shows_control_characters_escaped(tmp_path: Path) -> None:
    path = tmp_path / "flow.wf"
    path.write_text(FLOW.format(desc=HOSTILE).replace("    final", "  final"), encoding="utf-8")
    code, out, _ = invoke("fmt", "--diff", path)
    assert code == 1 and not unsafe(out)
    assert visible(HOSTILE) in out


def test_breaking_text_shows_control_characters_escaped(tmp_path: Path) -> None:
    old = tmp_path / "old.wf"
    old.write_text(
        FLOW.format(desc="x").replace("final state b", f'final state b "{HOSTILE}"'),
        encoding="utf-8",
    )
    new = tmp_path / "new.wf"
    new.write_text(
        FLOW.format(desc="x").replace("final state b", "final state c"), encoding="utf-8"
    )
    new.write_text(new.read_text().replace("a -> b", "a -> c"), encoding="utf-8")
    code, out, _ = invoke("breaking", old, new)
    assert code == 1 and "WF501" in out
    assert not unsafe(out) and visible(HOSTILE) in out


def test_compile_messages_show_paths_escaped(tmp_path: Path) -> None:
    source = tmp_path / "o\x1b]0;t\x07.wf"
    source.write_text(ORDER.read_text(), encoding="utf-8")
    code, out, _ = invoke("compile", source, "--out-dir", tmp_path / "gen")
    assert code == 0 and not unsafe(out) and "o\\x1b]0;t\\x07.wf" in out


def test_every_message_on_standard_error_is_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Messages quote names from files (here an unknown rule from the
    config); standard error shows them escaped, whichever command it is."""
    (tmp_path / "pyproject.toml").write_text(
        '[tool.wfdsl.lint]\nselect = ["\\u001b]0;pwned\\u0007"]\n', encoding="utf-8"
    )
    (tmp_path / "flow.wf").write_text(FLOW.format(desc="x"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    for command in (["lint", "flow.wf"], ["fmt", "flow.wf"]):
        code, _, err = via_main(capsys, *command)
        assert code == 2 and not unsafe(err)
        assert "unknown rule '\\x1b]0;pwned\\x07'" in err


# -- runtime commands print stored data escaped ----------------------------------


HOOKS = """
class Hooks:
    def card_valid(self, ctx):
        return True
    def flagged_for_fraud(self, ctx):
        return False
    def charge_card(self, ctx):
        raise RuntimeError("card declined \\x1b]0;pwned\\x07\\u202e")
    def __getattr__(self, name):
        return lambda ctx: None
"""


def test_runtime_commands_escape_ids_data_and_hook_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "order_hooks.py").write_text(HOOKS, encoding="utf-8")
    db = tmp_path / "o.db"
    common = ["--spec", str(ORDER), "--hooks", f"{tmp_path / 'order_hooks.py'}:Hooks"]
    ident = "o\u202e1\x9b2J"
    data = json.dumps({"note": HOSTILE})
    assert via_main(capsys, "start", ident, *common, "--db", db, "--data", data)[0] == 0
    code, out, err = via_main(capsys, "send", ident, "pay", *common, "--db", db)
    assert code == 1 and not unsafe(out + err) and "card declined \\x1b]0;pwned" in err
    code, out, err = via_main(capsys, "instances", "--db", db)
    assert code == 0 and not unsafe(out + err) and "o\\u202e1\\x9b2J" in out
    code, out, err = via_main(capsys, "history", ident, "--db", db)
    assert code == 0 and not unsafe(out + err)
    code, out, _ = via_main(capsys, "history", ident, "--db", db, "--format", "json")
    assert json.loads(out)[0]["data"] == {"note": HOSTILE}


# -- standard output that cannot be written --------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["lint", str(ORDER)],
        ["lint", "--format", "json", str(ORDER)],
        ["lint", "--format", "sarif", str(ORDER)],
        ["render", "--format", "dot", str(ORDER)],
        ["render", "--format", "mermaid", str(ORDER)],
        ["fmt", "-"],
        ["compile", str(ORDER), "-o", "-"],
        ["breaking", str(ORDER), str(ORDER)],
    ],
    ids=lambda a: " ".join(a[:3]),
)
def test_a_full_disk_on_standard_output_is_one_line_and_exit_2(args: list[str]) -> None:
    with open("/dev/full", "wb") as full, open(ORDER, "rb") as stdin:
        done = subprocess.run(
            [sys.executable, "-m", "wfdsl", *args],
            stdin=stdin,
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 2
    assert done.stderr == (
        "wfdsl: error: cannot write to standard output: No space left on device\n"
    )


def test_a_closed_pipe_on_standard_output_ends_quietly_with_exit_2(tmp_path: Path) -> None:
    many = "".join(f"    state s{i}\n" for i in range(3000))
    text = ORDER.read_text()
    end = text.rindex("}")
    (tmp_path / "many.wf").write_text(text[:end] + many + text[end:], encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "wfdsl", "lint", str(tmp_path / "many.wf")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.read(100)  # the reader takes a little, then goes (like `| head`)
    proc.stdout.close()
    err = proc.stderr.read()
    proc.stderr.close()
    assert proc.wait(timeout=60) == 2
    assert err == b""
