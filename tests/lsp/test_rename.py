"""Rename of states and events across the file, and the names it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

from wfdsl.lint.engine import lint_text

from .helpers import ORDER, apply_edits, at, open_text

pytestmark = pytest.mark.asyncio

TEXT = ORDER.read_text(encoding="utf-8")


def _edits(uri: str, result: types.WorkspaceEdit | None) -> list[types.TextEdit]:
    assert result is not None
    if result.document_changes is not None:
        (change,) = result.document_changes
        assert isinstance(change, types.TextDocumentEdit)
        assert change.text_document.uri == uri and change.text_document.version is not None
        return [e for e in change.edits if isinstance(e, types.TextEdit)]
    assert result.changes is not None
    return list(result.changes[uri])


async def _rename(
    client: LanguageClient, uri: str, pos: types.Position, new: str
) -> list[types.TextEdit]:
    result = await client.text_document_rename_async(
        types.RenameParams(
            text_document=types.TextDocumentIdentifier(uri), position=pos, new_name=new
        )
    )
    return _edits(uri, result)


async def test_renaming_a_state_gives_a_file_that_lints_clean(
    client: LanguageClient, tmp_path: Path
) -> None:
    assert lint_text(TEXT, "order.wf") == []
    uri = await open_text(client, tmp_path, TEXT)
    edits = await _rename(client, uri, at(TEXT, "paid -> packed", delta=2), "payment_taken")
    assert len(edits) == 4  # the declaration and three uses
    renamed = apply_edits(TEXT, edits)
    assert "paid" not in renamed.replace("Payment captured", "")
    assert "created, payment_taken, packed -> cancelled on cancel" in renamed
    assert lint_text(renamed, "order.wf") == []


async def test_renaming_an_event_from_its_declaration(
    plain_client: LanguageClient, tmp_path: Path
) -> None:
    client = plain_client  # a client without versioned edits gets ``changes``
    uri = await open_text(client, tmp_path, TEXT)
    edits = await _rename(client, uri, at(TEXT, "event ship", delta=7), "dispatch")
    renamed = apply_edits(TEXT, edits)
    assert 'event dispatch "Carrier collects the parcel"' in renamed
    assert "packed -> shipped on dispatch" in renamed
    assert "shipped ->" in renamed  # the state 'shipped' is another symbol
    assert lint_text(renamed, "order.wf") == []


async def test_prepare_rename_gives_the_name_s_range(
    client: LanguageClient, tmp_path: Path
) -> None:
    uri = await open_text(client, tmp_path, TEXT)
    result = await client.text_document_prepare_rename_async(
        types.PrepareRenameParams(
            types.TextDocumentIdentifier(uri), at(TEXT, "on deliver", delta=5)
        )
    )
    assert isinstance(result, types.PrepareRenamePlaceholder)
    assert result.placeholder == "deliver"
    assert result.range.start == at(TEXT, "on deliver", delta=3)


@pytest.mark.parametrize(
    ("new", "reason"),
    [
        ("final", "'final' is a keyword"),
        ("after", "'after' is a keyword"),
        ("9lives", "not a valid name"),
        ("päid", "not a valid name"),
        ("with space", "not a valid name"),
        ("shipped", "state 'shipped' already exists (line 15)"),
        ("Shipped", "would both become 'SHIPPED'"),
    ],
)
async def test_rename_refuses_keywords_invalid_names_and_clashes(
    client: LanguageClient, tmp_path: Path, new: str, reason: str
) -> None:
    uri = await open_text(client, tmp_path, TEXT)
    with pytest.raises(JsonRpcException) as refused:
        await _rename(client, uri, at(TEXT, "state paid", delta=6), new)
    assert reason in str(refused.value)


async def test_rename_refuses_guards_and_hooks_and_says_why(
    client: LanguageClient, tmp_path: Path
) -> None:
    uri = await open_text(client, tmp_path, TEXT)
    for where in (at(TEXT, "in_stock"), at(TEXT, "charge_card")):
        with pytest.raises(JsonRpcException) as refused:
            await client.text_document_prepare_rename_async(
                types.PrepareRenameParams(types.TextDocumentIdentifier(uri), where)
            )
        assert "Python hooks object" in str(refused.value)
    with pytest.raises(JsonRpcException, match="no state or event here"):
        await client.text_document_prepare_rename_async(
            types.PrepareRenameParams(types.TextDocumentIdentifier(uri), at(TEXT, "initial"))
        )
