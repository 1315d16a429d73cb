"""The ``wfdsl lsp`` command: starts the server, or says what to install."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONWARNINGS": "error"},
        stdin=subprocess.DEVNULL,
    )


def test_without_pygls_it_says_what_to_install_in_one_line() -> None:
    done = _run(
        """
        import sys
        sys.modules["pygls"] = None  # as if the lsp extra were not installed
        from wfdsl.cli import main
        main(["lsp"])
        """
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        "wfdsl: error: wfdsl lsp needs pygls (pygls is missing): pip install 'wfdsl[lsp]'\n"
    )


def test_lint_does_not_import_the_language_server() -> None:
    done = _run(
        """
        import sys
        from wfdsl.cli import main
        try:
            main(["lint", "examples/order.wf"])
        except SystemExit:
            pass
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("pygls", "lsprotocol", "cattrs")))
        print("wfdsl.lsp" in sys.modules)
        """
    )
    assert done.stdout.splitlines()[-2:] == ["[]", "False"], done.stderr


def test_the_server_exits_when_the_client_closes_its_input() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "wfdsl", "lsp", "--stdio"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode in (0, 1)
    assert "Traceback" not in done.stderr
