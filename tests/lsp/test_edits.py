"""Formatting, quick fixes and the outline, through the client."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from wfdsl.fmt import format_source
from wfdsl.lint.engine import lint_text

from .helpers import ORDER, apply_edits, at, open_document, open_text

pytestmark = pytest.mark.asyncio

TEXT = ORDER.read_text(encoding="utf-8")

MESSY = """# header comment
workflow   w "Überblick 🚀"{
  initial state   a "Début"    state b{enter   x,y}
  final state done   # the end
    event go ,  stop
  a->b on go if (ok)and not bad   a , b->done on stop
}
"""


def _doc(uri: str) -> types.TextDocumentIdentifier:
    return types.TextDocumentIdentifier(uri)


async def _format(client: LanguageClient, uri: str) -> list[types.TextEdit] | None:
    return await client.text_document_formatting_async(
        types.DocumentFormattingParams(
            _doc(uri), types.FormattingOptions(tab_size=4, insert_spaces=True)
        )
    )


async def test_formatting_gives_wfdsl_fmt_s_output(client: LanguageClient, tmp_path: Path) -> None:
    uri = await open_text(client, tmp_path, MESSY)
    edits = await _format(client, uri)
    assert edits
    assert apply_edits(MESSY, edits) == format_source(MESSY)


async def test_formatting_edits_only_the_lines_that_change(
    client: LanguageClient, tmp_path: Path
) -> None:
    text = TEXT.replace(
        "    paid -> packed on pack if in_stock", "    paid  ->  packed on pack if in_stock"
    )
    uri = await open_text(client, tmp_path, text)
    edits = await _format(client, uri)
    assert edits is not None and len(edits) == 1
    assert edits[0].range.start == at(text, "    paid  ->")
    assert apply_edits(text, edits) == TEXT


async def test_a_formatted_file_needs_no_edits(client: LanguageClient, tmp_path: Path) -> None:
    uri = await open_text(client, tmp_path, TEXT)
    edits = await _format(client, uri)
    assert edits is not None and list(edits) == []


async def test_a_file_with_errors_is_refused_not_mangled(
    client: LanguageClient, tmp_path: Path
) -> None:
    broken = MESSY.replace("on stop", "on stpo")
    uri = await open_text(client, tmp_path, broken)
    assert await _format(client, uri) is None
    (message,) = client.messages
    assert message.type == types.MessageType.Warning
    assert "not formatted" in message.message and "WF102" in message.message
    assert "order.wf" in message.message


async def _actions(
    client: LanguageClient, uri: str, start: types.Position, end: types.Position | None = None
) -> list[types.CodeAction]:
    found = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=_doc(uri),
            range=types.Range(start, end or start),
            context=types.CodeActionContext(diagnostics=[]),
        )
    )
    assert found is not None
    return [a for a in found if isinstance(a, types.CodeAction)]


def _apply(text: str, uri: str, action: types.CodeAction) -> str:
    assert action.edit is not None and action.edit.document_changes is not None
    (change,) = action.edit.document_changes
    assert isinstance(change, types.TextDocumentEdit) and change.text_document.uri == uri
    return apply_edits(text, [e for e in change.edits if isinstance(e, types.TextEdit)])


async def test_did_you_mean_quick_fix_for_an_undefined_state(
    client: LanguageClient, tmp_path: Path
) -> None:
    text = TEXT.replace("packed -> shipped on ship", "packed -> shiped on ship")
    uri = await open_text(client, tmp_path, text)
    actions = await _actions(client, uri, at(text, "shiped", delta=2))
    fix = next(a for a in actions if a.is_preferred)
    assert fix.title == "Change to 'shipped'"
    assert fix.kind == types.CodeActionKind.QuickFix
    assert fix.diagnostics and fix.diagnostics[0].code == "WF101"
    assert _apply(text, uri, fix) == TEXT


async def test_did_you_mean_and_declare_for_an_undefined_event(
    client: LanguageClient, tmp_path: Path
) -> None:
    text = TEXT.replace("shipped -> delivered on deliver", "shipped -> delivered on delivr")
    uri = await open_text(client, tmp_path, text)
    titles = {a.title: a for a in await _actions(client, uri, at(text, "delivr"))}
    assert _apply(text, uri, titles["Change to 'deliver'"]) == TEXT
    declared = _apply(text, uri, titles["Declare event 'delivr'"])
    assert 'event cancel "Customer or operator cancels"\n    event delivr\n' in declared
    # Now 'deliver' is the event nothing uses.
    assert [d.code for d in lint_text(declared, "w.wf")] == ["WF205"]


async def test_add_noqa_silences_a_lint_warning(client: LanguageClient, tmp_path: Path) -> None:
    text = TEXT.replace(
        '    event cancel "Customer or operator cancels"', "    event cancel, refund"
    )
    uri = await open_text(client, tmp_path, text)
    (action,) = await _actions(client, uri, at(text, ", refund", delta=2))
    assert action.title == "Suppress WF205 on this line (# noqa)"
    fixed = _apply(text, uri, action)
    assert "    event cancel, refund  # noqa: WF205\n" in fixed
    assert lint_text(fixed, "w.wf") == []


async def test_add_noqa_extends_the_noqa_already_on_the_line(
    client: LanguageClient, tmp_path: Path
) -> None:
    text = TEXT.replace(
        '    event cancel "Customer or operator cancels"',
        "    event cancel, refund, Bad_Name  # noqa: WF301 (legacy name)",
    )
    uri = await open_text(client, tmp_path, text)
    (action,) = await _actions(client, uri, at(text, ", refund", delta=2))
    fixed = _apply(text, uri, action)
    assert "# noqa: WF301, WF205 (legacy name)\n" in fixed
    assert lint_text(fixed, "w.wf") == []


async def test_only_other_kinds_of_action_gets_no_quick_fix(
    client: LanguageClient, tmp_path: Path
) -> None:
    text = TEXT.replace("packed -> shipped on ship", "packed -> shiped on ship")
    uri = await open_text(client, tmp_path, text)
    found = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=_doc(uri),
            range=types.Range(at(text, "shiped"), at(text, "shiped")),
            context=types.CodeActionContext(
                diagnostics=[], only=[types.CodeActionKind.SourceOrganizeImports]
            ),
        )
    )
    assert not found


async def test_document_symbols_outline_the_workflow(
    client: LanguageClient, tmp_path: Path
) -> None:
    uri = await open_text(client, tmp_path, TEXT)
    result = await client.text_document_document_symbol_async(types.DocumentSymbolParams(_doc(uri)))
    assert result is not None
    (root,) = result
    assert isinstance(root, types.DocumentSymbol)
    assert root.name == "order" and root.kind == types.SymbolKind.Module
    children = root.children or []
    by_kind: dict[types.SymbolKind, list[str]] = {}
    for child in children:
        by_kind.setdefault(child.kind, []).append(child.name)
    assert by_kind[types.SymbolKind.EnumMember] == [
        "created",
        "paid",
        "packed",
        "shipped",
        "delivered",
        "cancelled",
    ]
    assert by_kind[types.SymbolKind.Event] == ["pay", "pack", "ship", "deliver", "cancel"]
    assert "paid -> packed on pack if in_stock" in by_kind[types.SymbolKind.Operator]
    paid = next(c for c in children if c.name == "paid")
    assert paid.selection_range.start == at(TEXT, "state paid", delta=6)
    assert [h.name for h in paid.children or []] == [
        "enter charge_card, send_receipt",
        "compensate refund_card",
    ]


async def test_flat_symbols_for_a_client_without_hierarchy(
    plain_client: LanguageClient, tmp_path: Path
) -> None:
    uri = await open_text(plain_client, tmp_path, TEXT)
    result = await plain_client.text_document_document_symbol_async(
        types.DocumentSymbolParams(_doc(uri))
    )
    assert result is not None
    flat = {s.name: s for s in result if isinstance(s, types.SymbolInformation)}
    assert flat["paid"].container_name == "order"
    assert flat["compensate refund_card"].container_name == "paid"


@pytest.mark.parametrize(
    ("broken", "code"),
    [
        (TEXT.replace("paid -> packed", "paid -> -> packed"), "WF100"),
        (TEXT.replace("on pack ", "on pakc ").replace("-> shipped", "-> shiped"), "WF102"),
        (TEXT.replace("after 30m", "after 30m1h"), "WF114"),
        (TEXT.replace("after 30m", "after 1h 30m").replace("\n", "\r\n"), "WF114"),
        ("", "WF100"),
    ],
    ids=["syntax", "two-errors", "duration", "crlf", "empty"],
)
async def test_formatting_a_file_with_errors_gives_one_message_and_no_edit(
    client: LanguageClient, tmp_path: Path, broken: str, code: str
) -> None:
    path = tmp_path / "order.wf"
    uri, diags = await open_document(client, path, broken)
    assert code in [d.code for d in diags]
    assert await _format(client, uri) is None
    (message,) = client.messages  # one, however many errors
    assert message.type == types.MessageType.Warning
    assert "\n" not in message.message
    assert message.message.startswith("wfdsl: order.wf: not formatted: line ")
    assert code in message.message and message.message.endswith("fix the errors first")
    if len([d for d in diags if d.code.startswith("WF1")]) > 1:
        assert "(and 1 more)" in message.message
