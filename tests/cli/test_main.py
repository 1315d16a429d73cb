"""The console entry point: exit statuses for what click itself handles."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import click
import pytest

from wfdsl.cli import COMMANDS, main


def status(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    code = exited.value.code
    return code if isinstance(code, int) else 0


@pytest.fixture
def interrupted(monkeypatch: pytest.MonkeyPatch) -> None:
    """A command, `interrupted`, that the user stops with Ctrl-C."""

    @click.command()
    def command() -> None:
        raise KeyboardInterrupt

    module = types.ModuleType("wfdsl_test_interrupted")
    module.command = command  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setitem(COMMANDS, "interrupted", f"{module.__name__}:command")


def test_ctrl_c_exits_130_not_1_which_means_findings(
    interrupted: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert status(["interrupted"]) == 130
    assert "wfdsl: interrupted" in capsys.readouterr().err


def test_usage_error_exits_2_with_click_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert status(["lint", "--format", "xml", "x.wf"]) == 2
    assert "Usage: wfdsl lint" in capsys.readouterr().err


def test_user_error_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert status(["compile", str(tmp_path / "a.wf"), "-o", str(tmp_path / "a.wf")]) == 2
    assert capsys.readouterr().err.startswith("wfdsl: error: ")


def test_findings_exit_1_and_success_exits_0(tmp_path: Path) -> None:
    bad = tmp_path / "bad.wf"
    bad.write_text("workflow w {\n    initial state a\n    state b\n}\n", encoding="utf-8")
    assert status(["lint", str(bad)]) == 1
    assert status(["--help"]) == 0
    assert status(["--version"]) == 0
