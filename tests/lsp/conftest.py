"""A real LSP client (pytest-lsp) driving ``wfdsl lsp`` over stdio.

Each test gets a fresh server process started as an editor starts it
(``python -m wfdsl lsp``), initialised with the capabilities a real editor
sends (VS Code's unless a test asks for another client's).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

# pytest-lsp and pygls come with the dev extra; say how to get them otherwise.
pytest.importorskip("pygls", reason="needs pygls: pip install -e '.[dev]' (or '.[lsp]')")

#: The server writes its generated rules page under the cache directory.
_CACHE = tempfile.TemporaryDirectory(prefix="wfdsl-lsp-cache-")
SERVER_ENV = {**os.environ, "XDG_CACHE_HOME": _CACHE.name}
SERVER = ClientServerConfig(
    server_command=[sys.executable, "-m", "wfdsl", "lsp"], server_env=SERVER_ENV
)
CACHE_DIR = Path(_CACHE.name)


async def start(
    lsp_client: LanguageClient,
    editor: str,
    root: Path | None = None,
    capabilities: types.ClientCapabilities | None = None,
) -> None:
    result = await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities or client_capabilities(editor),
            root_uri=root.as_uri() if root else None,
            workspace_folders=[types.WorkspaceFolder(root.as_uri(), root.name)] if root else None,
        )
    )
    # The position encoding the server chose (helpers.encoding_of reads it).
    lsp_client.wfdsl_encoding = str(result.capabilities.position_encoding or "utf-16")  # type: ignore[attr-defined]


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient, tmp_path: Path) -> AsyncIterator[None]:
    """A server as VS Code talks to it (UTF-16 positions, Markdown hovers)."""
    await start(lsp_client, "visual-studio-code", tmp_path)
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(
    config=SERVER, params=["visual-studio-code", "neovim", "emacs"], ids=lambda e: e
)
async def any_client(
    lsp_client: LanguageClient, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[None]:
    """VS Code (UTF-16), Neovim 0.11 (prefers UTF-8) and Emacs 29 (prefers UTF-32)."""
    await start(lsp_client, request.param, tmp_path)
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=SERVER)
async def plain_client(lsp_client: LanguageClient, tmp_path: Path) -> AsyncIterator[None]:
    """A client without Markdown hovers, hierarchical symbols or versioned edits."""
    caps = client_capabilities("visual-studio-code")
    assert caps.text_document and caps.text_document.hover and caps.workspace
    assert caps.text_document.document_symbol and caps.workspace.workspace_edit
    caps.text_document.hover.content_format = [types.MarkupKind.PlainText]
    caps.text_document.document_symbol.hierarchical_document_symbol_support = False
    caps.workspace.workspace_edit.document_changes = False
    await start(lsp_client, "visual-studio-code", tmp_path, caps)
    yield
    await lsp_client.shutdown_session()
