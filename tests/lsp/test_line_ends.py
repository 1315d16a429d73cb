"""Files with ``\\r\\n`` or ``\\r`` line ends, and non-ASCII text before a position.

The oracle is the same file with ``\\n`` line ends: LSP counts the same lines
and the same UTF-16 columns in all three, so every answer must be the same,
and an edit applied to the file as written must keep its line ends.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from wfdsl.fmt import format_source

from .helpers import ORDER, apply_edits, at, change_document, open_document

pytestmark = pytest.mark.asyncio

# Non-ASCII before names on their lines (an emoji is two UTF-16 units), a
# typo'd state (WF101 with a did-you-mean), and a line that needs formatting.
LF = (
    ORDER.read_text(encoding="utf-8")
    .replace('"Handed to the carrier"', '"Übergeben 🚚 an den Träger"')
    .replace("    paid -> packed on pack if in_stock", "    paid  ->  pakced on pack if in_stock")
    .replace('"Carrier collects the parcel"\n    event deliver', '"Carrier 🚀 collects", deliver')
)
# "deliver" is declared after the emoji on its line: UTF-16 columns count it as two.
NAMES = ["shipped", "pakced", "ship", "deliver", "in_stock", "paid", "book_courier"]


def _doc(uri: str) -> types.TextDocumentIdentifier:
    return types.TextDocumentIdentifier(uri)


def _edits(uri: str, edit: types.WorkspaceEdit | None) -> list[types.TextEdit]:
    assert edit is not None
    if edit.changes is not None:
        return list(edit.changes[uri])
    assert edit.document_changes is not None
    return [
        e
        for change in edit.document_changes
        if isinstance(change, types.TextDocumentEdit)
        for e in change.edits
        if isinstance(e, types.TextEdit)
    ]


async def _answers(client: LanguageClient, uri: str, text: str) -> list[object]:
    """What the server says about every use of NAMES, and the outline."""
    out: list[object] = []
    for name in NAMES:
        for nth in range(text.count(name)):
            pos = at(text, name, nth, delta=1)
            hover = await client.text_document_hover_async(types.HoverParams(_doc(uri), pos))
            definition = await client.text_document_definition_async(
                types.DefinitionParams(_doc(uri), pos)
            )
            refs = await client.text_document_references_async(
                types.ReferenceParams(
                    text_document=_doc(uri),
                    position=pos,
                    context=types.ReferenceContext(include_declaration=True),
                )
            )
            out.append((name, nth, hover and hover.range, hover and hover.contents))
            out.append(getattr(definition, "range", definition))
            out.append(sorted((r.range.start.line, r.range.start.character) for r in refs or []))
    symbols = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(_doc(uri))
    )
    out.append(repr(symbols))
    return out


@pytest.mark.parametrize("nl", ["\r\n", "\r"], ids=["crlf", "cr"])
async def test_every_answer_is_the_same_as_for_lf_line_ends(
    client: LanguageClient, tmp_path: Path, nl: str
) -> None:
    raw = LF.replace("\n", nl)
    lf_uri, lf_diags = await open_document(client, tmp_path / "lf.wf", LF)
    uri, diags = await open_document(client, tmp_path / "other.wf", raw)
    assert lf_diags and [d.code for d in lf_diags] == [d.code for d in diags]
    assert [(d.range, d.message) for d in diags] == [(d.range, d.message) for d in lf_diags]
    # The WF101 is at the typo, found by position in the text as written.
    (wf101,) = [d for d in diags if d.code == "WF101"]
    assert wf101.range.start == at(raw, "pakced")
    # The declaration of "deliver", after an emoji on its line, where the
    # helper (which counts UTF-16 units on its own) puts it.
    found = await client.text_document_definition_async(
        types.DefinitionParams(_doc(uri), at(raw, "on deliver", delta=5))
    )
    assert isinstance(found, types.Location)
    declared = ', deliver "'
    assert found.range == types.Range(at(raw, declared, delta=2), at(raw, declared, delta=9))
    assert found.range.start.character == len('    event ship "Carrier 🚀 collects", ') + 1
    assert await _answers(client, uri, raw) == await _answers(client, lf_uri, LF)


@pytest.mark.parametrize("nl", ["\r\n", "\r"], ids=["crlf", "cr"])
async def test_edits_keep_the_file_s_line_ends(
    client: LanguageClient, tmp_path: Path, nl: str
) -> None:
    raw = LF.replace("\n", nl)
    uri, _ = await open_document(client, tmp_path / "other.wf", raw)
    where = at(raw, "pakced", delta=2)
    # The did-you-mean quick fix edits the name where it is.
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            _doc(uri), types.Range(where, where), types.CodeActionContext(diagnostics=[])
        )
    )
    fix = next(a for a in actions or [] if isinstance(a, types.CodeAction) and a.is_preferred)
    fixed = apply_edits(raw, _edits(uri, fix.edit))
    assert fixed == raw.replace("pakced", "packed")
    # Declaring the unknown state adds a line with the file's line end.
    declare = next(
        a for a in actions or [] if isinstance(a, types.CodeAction) and "Declare" in a.title
    )
    declared = apply_edits(raw, _edits(uri, declare.edit))
    assert "\n" not in declared.replace("\r\n", "") if nl == "\r\n" else "\n" not in declared
    assert f"{nl}    state pakced" in declared
    # Rename through a use.
    rename = await client.text_document_rename_async(
        types.RenameParams(
            text_document=_doc(uri), position=at(raw, "shipped", 2, delta=3), new_name="sent"
        )
    )
    assert apply_edits(raw, _edits(uri, rename)) == raw.replace("shipped", "sent")
    # Formatting gives `wfdsl fmt`'s output, line ends as the file has them.
    diags = await change_document(
        client,
        uri,
        [types.TextDocumentContentChangeWholeDocument(text=fixed)],
    )
    assert not [d for d in diags if d.severity == types.DiagnosticSeverity.Error]
    edits = await client.text_document_formatting_async(
        types.DocumentFormattingParams(_doc(uri), types.FormattingOptions(4, True))
    )
    assert edits
    assert (
        apply_edits(fixed, edits)
        == format_source(fixed)
        == ORDER.read_text(encoding="utf-8")
        .replace('"Handed to the carrier"', '"Übergeben 🚚 an den Träger"')
        .replace('"Carrier collects the parcel"', '"Carrier 🚀 collects"')
        .replace("\n", nl)
    )


@pytest.mark.parametrize("nl", ["\r\n", "\r"], ids=["crlf", "cr"])
async def test_incremental_changes_land_where_the_editor_put_them(
    client: LanguageClient, tmp_path: Path, nl: str
) -> None:
    raw = LF.replace("\n", nl)
    uri, _ = await open_document(client, tmp_path / "other.wf", raw)
    lf_uri, _ = await open_document(client, tmp_path / "lf.wf", LF)
    # Fix the typo after the emoji line, then join two lines: the same edits in both.
    for text, u in ((raw, uri), (LF, lf_uri)):
        start = at(text, "pakced")
        end = types.Position(start.line, start.character + len("pakced"))
        join_start = at(text, 'confirms delivery"', delta=18)
        join_end = types.Position(join_start.line + 1, 0)
        diags = await change_document(
            client,
            u,
            [
                types.TextDocumentContentChangePartial(types.Range(start, end), "packed"),
                types.TextDocumentContentChangePartial(types.Range(join_start, join_end), " "),
            ],
        )
        assert not diags
    after = await client.text_document_hover_async(
        types.HoverParams(_doc(uri), at(raw.replace("pakced", "packed"), "book_courier"))
    )
    assert after is None or after.range is not None
    state = await client.text_document_hover_async(
        types.HoverParams(_doc(uri), types.Position(0, 0))
    )
    assert state is None
