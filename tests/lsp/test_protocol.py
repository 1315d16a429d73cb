"""Every request gets an answer: malformed params, unknown documents and
positions past the end get an LSP error or a null result, never silence.

The requests are written as raw JSON (a typed client cannot send them
malformed) and sent over the same connection as the typed ones.
"""

from __future__ import annotations

import asyncio
import itertools
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pytest_lsp import LanguageClient

from .helpers import ORDER, at, change_document, open_text

pytestmark = pytest.mark.asyncio

TEXT = ORDER.read_text(encoding="utf-8")
_ids = itertools.count(10_000)
#: LSP's RequestFailed: the server refuses, saying why.
REQUEST_FAILED = -32803


async def raw(client: LanguageClient, method: str, params: Any) -> Any:
    """Send a request with ``params`` exactly as given; its result, or the
    error it was answered with (raised)."""
    msg_id = next(_ids)
    future: Future[Any] = Future()
    client.protocol._request_futures[msg_id] = future
    client.protocol._send_data({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
    return await asyncio.wait_for(asyncio.wrap_future(future), 30)


async def _invalid(client: LanguageClient, method: str, params: Any) -> str:
    with pytest.raises(JsonRpcInvalidParams) as caught:
        await raw(client, method, params)
    return str(caught.value)


async def test_malformed_params_are_answered_with_invalid_params(
    client: LanguageClient, tmp_path: Path
) -> None:
    uri = await open_text(client, tmp_path, TEXT)
    doc = {"uri": uri}
    assert "position" in await _invalid(client, "textDocument/hover", {"textDocument": doc})
    bad_char = {"textDocument": doc, "position": {"line": 1, "character": "x"}}
    assert "character" in await _invalid(client, "textDocument/definition", bad_char)
    await _invalid(client, "textDocument/hover", None)
    # Past what a uinteger holds.
    huge = {"textDocument": doc, "position": {"line": 2**40, "character": 0}}
    await _invalid(client, "textDocument/completion", huge)
    no_context = {"textDocument": doc, "position": {"line": 5, "character": 20}}
    assert "context" in await _invalid(client, "textDocument/references", no_context)
    await _invalid(client, "textDocument/formatting", {"textDocument": doc})
    await _invalid(
        client,
        "textDocument/codeAction",
        {"textDocument": doc, "range": None, "context": {"diagnostics": []}},
    )
    await _invalid(client, "textDocument/documentSymbol", {"textDocument": {}})
    # ... and the server goes on answering.
    hover = await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(uri), at(TEXT, "created", 1))
    )
    assert hover is not None


async def test_a_rename_to_null_or_nothing_is_refused_with_a_message(
    client: LanguageClient, tmp_path: Path
) -> None:
    uri = await open_text(client, tmp_path, TEXT)
    where = at(TEXT, "created", 1)
    params = {"textDocument": {"uri": uri}, "position": {"line": where.line, "character": 5}}
    # cattrs would have made the string "None" of null and renamed every use to it.
    message = await _invalid(client, "textDocument/rename", {**params, "newName": None})
    assert "expected str @ params.newName" in message
    assert "newName" in await _invalid(client, "textDocument/rename", params)
    with pytest.raises(JsonRpcException) as caught:
        await raw(client, "textDocument/rename", {**params, "newName": ""})
    assert caught.value.code == REQUEST_FAILED
    assert "not a valid name" in str(caught.value)


async def test_unknown_documents_and_positions_past_the_end_get_null(
    client: LanguageClient, tmp_path: Path
) -> None:
    uri = await open_text(client, tmp_path, TEXT)
    far = {"line": 9999, "character": 9999}
    unknown = {"uri": (tmp_path / "closed.wf").as_uri()}
    for doc in ({"uri": uri}, unknown):
        at_far = {"textDocument": doc, "position": far}
        assert await raw(client, "textDocument/hover", at_far) is None
        assert await raw(client, "textDocument/definition", at_far) is None
        refs = {**at_far, "context": {"includeDeclaration": True}}
        assert await raw(client, "textDocument/references", refs) in (None, [])
        completion = await raw(client, "textDocument/completion", at_far)
        assert completion is None or completion.isIncomplete is False
        actions = {
            "textDocument": doc,
            "range": {"start": far, "end": {"line": 0, "character": 0}},
            "context": {"diagnostics": []},
        }
        assert await raw(client, "textDocument/codeAction", actions) in (None, [])
    assert await raw(client, "textDocument/documentSymbol", {"textDocument": unknown}) is None
    options = {"tabSize": 4, "insertSpaces": True}
    formatting = {"textDocument": unknown, "options": options}
    assert await raw(client, "textDocument/formatting", formatting) is None
    with pytest.raises(JsonRpcException) as caught:
        await raw(
            client, "textDocument/prepareRename", {"textDocument": {"uri": uri}, "position": far}
        )
    assert caught.value.code == REQUEST_FAILED
    with pytest.raises(JsonRpcException):  # MethodNotFound
        await raw(client, "textDocument/noSuchThing", {})


async def test_a_malformed_change_is_ignored_and_the_document_kept(
    client: LanguageClient, tmp_path: Path
) -> None:
    uri = await open_text(client, tmp_path, TEXT)
    client.protocol._send_data(
        {
            "jsonrpc": "2.0",
            "method": "textDocument/didChange",
            "params": {"textDocument": {"uri": uri, "version": 99}, "contentChanges": [{"x": 1}]},
        }
    )
    # The next good change applies to the text as it was.
    start = at(TEXT, "created", 1)
    end = types.Position(start.line, start.character + len("created"))
    diags = await change_document(
        client, uri, [types.TextDocumentContentChangePartial(types.Range(start, end), "made")]
    )
    assert [d.code for d in diags] == ["WF101"]
