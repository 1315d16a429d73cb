"""The VS Code extension's manifest: valid, and wired to the grammar and ``wfdsl lsp``."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from wfdsl.cli import COMMANDS

from .helpers import ROOT

EXTENSION = ROOT / "editors" / "vscode"


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


MANIFEST = _json(EXTENSION / "package.json")


def test_the_manifest_has_what_vs_code_requires() -> None:
    for key in ("name", "publisher", "version", "engines", "main"):
        assert MANIFEST[key], key
    assert MANIFEST["engines"]["vscode"].startswith("^1.")
    assert (EXTENSION / MANIFEST["main"]).is_file()
    assert MANIFEST["activationEvents"] == ["onLanguage:wf"]
    assert "vscode-languageclient" in MANIFEST["dependencies"]


def test_the_documented_packaging_command_fits_the_manifest() -> None:
    """``vsce package`` fails on a README with relative links when the manifest
    names no repository, and asks about a missing repository and LICENSE: the
    command in docs/editors.md must say so with its flags."""
    docs = (ROOT / "docs" / "editors.md").read_text(encoding="utf-8")
    (command,) = [line for line in docs.splitlines() if "vsce package" in line]
    readme = (EXTENSION / "README.md").read_text(encoding="utf-8")
    if "repository" not in MANIFEST:
        assert "--allow-missing-repository" in command
        assert not re.search(r"\]\((?!https?://|#)", readme), "relative link in README.md"
    if not any((EXTENSION / name).is_file() for name in ("LICENSE", "LICENSE.md", "LICENSE.txt")):
        assert "--skip-license" in command
    vsix = f"{MANIFEST['name']}-{MANIFEST['version']}.vsix"
    assert vsix in command and f"code --install-extension {vsix}" in docs


def test_the_language_and_its_configuration() -> None:
    (language,) = MANIFEST["contributes"]["languages"]
    assert language["id"] == "wf" and language["extensions"] == [".wf"]
    config = _json(EXTENSION / language["configuration"])
    assert config["comments"] == {"lineComment": "#"}
    assert ["{", "}"] in config["brackets"] and ["(", ")"] in config["brackets"]


def test_the_manifest_names_the_grammar() -> None:
    (grammar,) = MANIFEST["contributes"]["grammars"]
    assert grammar["language"] == "wf"
    path = EXTENSION / grammar["path"]
    assert _json(path)["scopeName"] == grammar["scopeName"] == "source.wf"


def test_the_client_starts_wfdsl_lsp() -> None:
    setting = MANIFEST["contributes"]["configuration"]["properties"]["wfdsl.server.command"]
    command = setting["default"]
    assert command == ["wfdsl", "lsp"]
    assert command[1] in COMMANDS  # a command the CLI really has
    source = (EXTENSION / MANIFEST["main"]).read_text(encoding="utf-8")
    assert 'config.get("server.command", ["wfdsl", "lsp"])' in source
    assert 'require("vscode-languageclient/node")' in source


@pytest.mark.skipif(
    shutil.which("node") is None, reason="needs Node.js to check the client's syntax"
)
def test_the_client_is_valid_javascript() -> None:
    done = subprocess.run(
        ["node", "--check", str(EXTENSION / MANIFEST["main"])], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
