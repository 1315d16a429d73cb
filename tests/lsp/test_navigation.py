"""Hover, go to definition, references and highlights for states, events, guards and hooks."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from .helpers import ORDER, at, encoding_of, open_text, position

pytestmark = pytest.mark.asyncio

TEXT = ORDER.read_text(encoding="utf-8")


def _doc(uri: str) -> types.TextDocumentIdentifier:
    return types.TextDocumentIdentifier(uri)


async def _hover(client: LanguageClient, uri: str, pos: types.Position) -> str:
    result = await client.text_document_hover_async(types.HoverParams(_doc(uri), pos))
    assert result is not None
    assert isinstance(result.contents, types.MarkupContent)
    return result.contents.value


async def test_hover_on_a_state_shows_description_hooks_and_transitions(
    client: LanguageClient, tmp_path: Path
) -> None:
    uri = await open_text(client, tmp_path, TEXT)
    # On a use of 'paid' (the target of the pay transition), not its declaration.
    value = await _hover(client, uri, at(TEXT, "-> paid", delta=4))
    assert value.startswith("state `paid`")
    assert "Payment captured, waiting for the warehouse" in value
    assert "enter: `charge_card`, `send_receipt`" in value
    assert "compensate: `refund_card`" in value
    into, out = value.split("\n\nin:\n")[1].split("\n\nout:\n")
    assert "created -> paid on pay if card_valid and not flagged_for_fraud" in into
    assert "paid -> packed on pack if in_stock" in out
    assert "created, paid, packed -> cancelled on cancel" in out


async def test_hover_on_an_event_shows_what_it_triggers(
    client: LanguageClient, tmp_path: Path
) -> None:
    uri = await open_text(client, tmp_path, TEXT)
    value = await _hover(client, uri, at(TEXT, "on cancel", delta=3))
    assert value.startswith("event `cancel`")
    assert "Customer or operator cancels" in value
    assert "created, paid, packed -> cancelled on cancel" in value


async def test_hover_on_a_guard_and_a_hook_names_the_method_to_write(
    client: LanguageClient, tmp_path: Path
) -> None:
    uri = await open_text(client, tmp_path, TEXT)
    guard = await _hover(client, uri, at(TEXT, "in_stock"))
    assert "guard `in_stock`" in guard and "in_stock(ctx: Context) -> bool" in guard
    assert "paid -> packed on pack if in_stock" in guard
    hook = await _hover(client, uri, at(TEXT, "refund_card"))
    assert "refund_card(ctx: Context) -> None" in hook
    assert "compensate of paid" in hook


async def test_hover_covers_the_name_in_every_encoding(
    any_client: LanguageClient, tmp_path: Path
) -> None:
    client = any_client
    uri = await open_text(client, tmp_path, TEXT)
    result = await client.text_document_hover_async(
        types.HoverParams(_doc(uri), at(TEXT, "pack if", encoding=encoding_of(client)))
    )
    assert result is not None and isinstance(result.contents, types.MarkupContent)
    assert result.contents.value.startswith("event ")
    assert result.range == types.Range(
        at(TEXT, "pack if", encoding=encoding_of(client)),
        at(TEXT, "pack if", delta=4, encoding=encoding_of(client)),
    )


async def test_hover_is_plain_text_for_a_client_without_markdown(
    plain_client: LanguageClient, tmp_path: Path
) -> None:
    client = plain_client
    uri = await open_text(client, tmp_path, TEXT)
    result = await client.text_document_hover_async(
        types.HoverParams(_doc(uri), at(TEXT, "-> paid", delta=4))
    )
    assert result is not None and isinstance(result.contents, types.MarkupContent)
    assert result.contents.kind == types.MarkupKind.PlainText
    assert result.contents.value.startswith("state paid")
    assert "`" not in result.contents.value


async def test_no_hover_on_keywords_whitespace_or_comments(
    client: LanguageClient, tmp_path: Path
) -> None:
    uri = await open_text(client, tmp_path, TEXT)
    for pos in (at(TEXT, "initial"), at(TEXT, "Order fulfilment"), types.Position(200, 0)):
        assert await client.text_document_hover_async(types.HoverParams(_doc(uri), pos)) is None


@pytest.mark.parametrize(
    ("use", "declaration"),
    [
        ("packed -> shipped", "state packed"),  # a state, from a transition's source
        ("on deliver", "event deliver"),  # an event
    ],
)
async def test_definition_of_states_and_events_is_their_declaration(
    client: LanguageClient, tmp_path: Path, use: str, declaration: str
) -> None:
    uri = await open_text(client, tmp_path, TEXT)
    word = declaration.split()[1]
    where = at(TEXT, use, delta=use.index(word))
    result = await client.text_document_definition_async(types.DefinitionParams(_doc(uri), where))
    assert isinstance(result, types.Location)
    start = at(TEXT, declaration, delta=len(declaration) - len(word))
    assert result.range == types.Range(
        start, types.Position(start.line, start.character + len(word))
    )


async def test_definition_of_guards_and_hooks_is_their_first_use(
    client: LanguageClient, tmp_path: Path
) -> None:
    text = TEXT.replace(
        "paid -> packed on pack if in_stock", "paid -> packed on pack if card_valid"
    )
    uri = await open_text(client, tmp_path, text)
    second = at(text, "card_valid", nth=1)
    result = await client.text_document_definition_async(types.DefinitionParams(_doc(uri), second))
    assert isinstance(result, types.Location)
    assert result.range.start == at(text, "card_valid", nth=0)


async def test_references_find_every_use_of_a_state(client: LanguageClient, tmp_path: Path) -> None:
    uri = await open_text(client, tmp_path, TEXT)
    refs = await client.text_document_references_async(
        types.ReferenceParams(
            text_document=_doc(uri),
            position=at(TEXT, "state paid", delta=6),
            context=types.ReferenceContext(include_declaration=True),
        )
    )
    assert refs is not None
    starts = [r.range.start for r in refs]
    assert starts == [
        at(TEXT, "state paid", delta=6),
        at(TEXT, "-> paid", delta=3),
        at(TEXT, "paid -> packed"),
        at(TEXT, "created, paid", delta=9),
    ]
    without = await client.text_document_references_async(
        types.ReferenceParams(
            text_document=_doc(uri),
            position=at(TEXT, "state paid", delta=6),
            context=types.ReferenceContext(include_declaration=False),
        )
    )
    assert without is not None and [r.range.start for r in without] == starts[1:]


async def test_references_of_hooks_and_events(client: LanguageClient, tmp_path: Path) -> None:
    text = TEXT.replace("enter book_courier", "enter book_courier, send_receipt")
    uri = await open_text(client, tmp_path, text)
    refs = await client.text_document_references_async(
        types.ReferenceParams(
            text_document=_doc(uri),
            position=at(text, "send_receipt"),
            context=types.ReferenceContext(include_declaration=True),
        )
    )
    assert refs is not None and [r.range.start for r in refs] == [
        at(text, "send_receipt", nth=0),
        at(text, "send_receipt", nth=1),
    ]


async def test_highlight_marks_the_declaration_as_written(
    client: LanguageClient, tmp_path: Path
) -> None:
    uri = await open_text(client, tmp_path, TEXT)
    marks = await client.text_document_document_highlight_async(
        types.DocumentHighlightParams(_doc(uri), at(TEXT, "on ship", delta=3))
    )
    assert marks is not None
    kinds = [m.kind for m in marks]
    assert kinds == [types.DocumentHighlightKind.Write, types.DocumentHighlightKind.Read]


async def test_navigation_works_in_a_file_that_parses_but_does_not_validate(
    client: LanguageClient, tmp_path: Path
) -> None:
    text = TEXT.replace("shipped -> delivered on deliver", "shiped -> delivered on delivr")
    uri = await open_text(client, tmp_path, text)
    value = await _hover(client, uri, at(text, "shiped"))
    assert value.startswith("state `shiped` (not declared)")
    result = await client.text_document_definition_async(
        types.DefinitionParams(_doc(uri), at(text, "-> delivered", delta=4))
    )
    assert isinstance(result, types.Location)


async def test_positions_after_non_ascii_text_in_every_encoding(
    any_client: LanguageClient, tmp_path: Path
) -> None:
    client = any_client
    enc = encoding_of(client)
    text = 'workflow w {\n    initial state a "🙂 ünï" state b "𝄞" event go "→"  a -> b on go\n    b -> b on go\n}\n'
    uri = await open_text(client, tmp_path, text)
    use = text.index("-> b on go") + 3
    result = await client.text_document_definition_async(
        types.DefinitionParams(_doc(uri), position(text, use, enc))
    )
    assert isinstance(result, types.Location)
    decl = text.index("state b") + 6
    assert result.range == types.Range(position(text, decl, enc), position(text, decl + 1, enc))
    hover = await client.text_document_hover_async(
        types.HoverParams(_doc(uri), position(text, text.index('go "→"'), enc))
    )
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert "→" in hover.contents.value
