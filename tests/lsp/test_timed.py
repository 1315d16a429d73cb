"""Timed transitions (``a -> b after 30m [if guard]``, SPEC §2) in every feature."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from wfdsl.lint.engine import lint_text

from .helpers import apply_edits, as_lsp, at, lint_json, open_document, published

pytestmark = pytest.mark.asyncio

TEXT = """\
workflow payment "Payments" {
    initial state pending "Awaiting payment"
    state reminded
    final state expired
    final state paid
    event pay
    pending -> paid on pay
    pending -> reminded after 1h if not vip "Nudge the customer"
    reminded -> expired after 2d
    reminded -> pending after 3d
}
"""


def _doc(uri: str) -> types.TextDocumentIdentifier:
    return types.TextDocumentIdentifier(uri)


async def _open(
    client: LanguageClient, folder: Path, text: str
) -> tuple[str, list[types.Diagnostic]]:
    path = folder / "payment.wf"
    path.write_text(text, encoding="utf-8")
    return await open_document(client, path, text)


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


async def test_hover_lists_timed_transitions_in_and_out(
    client: LanguageClient, tmp_path: Path
) -> None:
    uri, _ = await _open(client, tmp_path, TEXT)
    hover = await client.text_document_hover_async(
        types.HoverParams(_doc(uri), at(TEXT, "-> reminded", delta=4))
    )
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    value = hover.contents.value
    into, out = value.split("\n\nin:\n")[1].split("\n\nout:\n")
    assert "pending -> reminded after 1h if not vip" in into
    assert "reminded -> expired after 2d" in out and "reminded -> pending after 3d" in out
    assert hover.range == types.Range(at(TEXT, "reminded", 1), at(TEXT, "reminded", 1, 8))
    guard = await client.text_document_hover_async(
        types.HoverParams(_doc(uri), at(TEXT, "vip", delta=1))
    )
    assert guard is not None and isinstance(guard.contents, types.MarkupContent)
    assert "pending -> reminded after 1h if not vip" in guard.contents.value


async def test_definition_and_references_through_timed_transitions(
    client: LanguageClient, tmp_path: Path
) -> None:
    uri, _ = await _open(client, tmp_path, TEXT)
    found = await client.text_document_definition_async(
        types.DefinitionParams(_doc(uri), at(TEXT, "-> expired", delta=5))
    )
    assert isinstance(found, types.Location)
    assert found.range.start == at(TEXT, "expired")
    refs = await client.text_document_references_async(
        types.ReferenceParams(
            text_document=_doc(uri),
            position=at(TEXT, "reminded", 2),
            context=types.ReferenceContext(include_declaration=True),
        )
    )
    assert refs is not None
    assert sorted((r.range.start.line, r.range.start.character) for r in refs) == [
        (2, 10),  # state reminded
        (7, 15),  # pending -> reminded after 1h
        (8, 4),  # reminded -> expired after 2d
        (9, 4),  # reminded -> pending after 3d
    ]


async def test_rename_reaches_timed_transitions(client: LanguageClient, tmp_path: Path) -> None:
    uri, _ = await _open(client, tmp_path, TEXT)
    edit = await client.text_document_rename_async(
        types.RenameParams(text_document=_doc(uri), position=at(TEXT, "pending", 3), new_name="due")
    )
    renamed = apply_edits(TEXT, _edits(uri, edit))
    assert renamed == TEXT.replace("pending", "due")
    assert [d.code for d in lint_text(renamed, "payment.wf")] == ["WF210"]


async def test_the_outline_lists_timed_transitions(client: LanguageClient, tmp_path: Path) -> None:
    uri, _ = await _open(client, tmp_path, TEXT)
    symbols = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(_doc(uri))
    )
    assert symbols is not None
    (root,) = symbols
    assert isinstance(root, types.DocumentSymbol) and root.children is not None
    transitions = {c.name: c for c in root.children if c.kind == types.SymbolKind.Operator}
    nudge = transitions['pending -> reminded after 1h if not vip "Nudge the customer"']
    assert nudge.range.start == at(TEXT, "pending -> reminded")
    assert nudge.range.end == at(TEXT, '"Nudge the customer"', delta=20)
    assert nudge.selection_range == types.Range(
        at(TEXT, "pending -> reminded"), at(TEXT, "pending -> reminded", delta=19)
    )
    after = transitions["reminded -> expired after 2d"]
    assert after.range.end == at(TEXT, "after 2d", delta=8)


async def test_timer_diagnostics_are_wfdsl_lint_s(client: LanguageClient, tmp_path: Path) -> None:
    text = TEXT.replace("after 2d", "after 30m1h").replace("after 1h if", "after 1.5h if")
    _, diags = await _open(client, tmp_path, text)
    path = tmp_path / "payment.wf"
    assert published(diags) == [as_lsp(text, f) for f in lint_json(path)]
    assert [d.code for d in diags] == ["WF114", "WF114"]
    _uri, diags = await _open(client, tmp_path, TEXT)
    (shadowed,) = diags
    assert shadowed.code == "WF210"
    assert shadowed.range.start == at(TEXT, "reminded -> pending")
    assert list(shadowed.tags or ()) == [types.DiagnosticTag.Unnecessary]


@pytest.mark.parametrize(
    ("written", "fixed"),
    [
        ("30m1h", "1h30m"),  # larger units first
        ("1h 30m", "1h30m"),  # no spaces
        ("1.5h", "1h30m"),  # whole units
        ("2hours", "2h"),
        ("1H30M", "1h30m"),  # two problems, one fix
        ("1_000ms", "1000ms"),
    ],
)
async def test_a_bad_duration_has_a_quick_fix_writing_it_as_the_hint_says(
    client: LanguageClient, tmp_path: Path, written: str, fixed: str
) -> None:
    text = TEXT.replace("after 2d", f"after {written}")
    uri, diags = await _open(client, tmp_path, text)
    (problem,) = [d for d in diags if d.code == "WF114"]
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=_doc(uri),
            range=problem.range,
            context=types.CodeActionContext(diagnostics=[problem]),
        )
    )
    assert actions is not None
    (action,) = [a for a in actions if isinstance(a, types.CodeAction)]
    assert action.is_preferred and action.kind == types.CodeActionKind.QuickFix
    result = apply_edits(text, _edits(uri, action.edit))
    assert f"after {fixed}\n" in result
    assert "WF114" not in [d.code for d in lint_text(result, "payment.wf")]


@pytest.mark.parametrize("written", ["0m", "5000d", "3w"])
async def test_no_quick_fix_when_the_hint_gives_no_duration(
    client: LanguageClient, tmp_path: Path, written: str
) -> None:
    text = TEXT.replace("after 2d", f"after {written}")
    uri, diags = await _open(client, tmp_path, text)
    (problem,) = [d for d in diags if d.code == "WF114"]
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=_doc(uri),
            range=problem.range,
            context=types.CodeActionContext(diagnostics=[problem]),
        )
    )
    assert not actions
