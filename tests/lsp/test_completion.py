"""Completion by context: the grammar decides what may come next."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from .helpers import ORDER, change_document, full, open_document, position

pytestmark = pytest.mark.asyncio

TEXT = ORDER.read_text(encoding="utf-8")
#: Where the test types: just before the closing brace of order.wf.
END = TEXT.rindex("}")


async def _complete(
    client: LanguageClient, tmp_path: Path, typed: str, text: str = TEXT, at: int = END
) -> dict[str, types.CompletionItemKind | None]:
    """Labels and kinds offered after typing ``typed`` at ``at``."""
    path = tmp_path / "order.wf"
    path.write_text(text, encoding="utf-8")
    uri, _ = await open_document(client, path)
    edited = text[:at] + typed + text[at:]
    await change_document(client, uri, full(edited))
    result = await client.text_document_completion_async(
        types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri),
            position=position(edited, at + len(typed)),
        )
    )
    assert isinstance(result, types.CompletionList)
    return {item.label: item.kind for item in result.items}


STATES = {"created", "paid", "packed", "shipped", "delivered", "cancelled"}
EVENTS = {"pay", "pack", "ship", "deliver", "cancel"}
GUARDS = {"card_valid", "flagged_for_fraud", "in_stock"}


async def test_after_an_arrow_the_declared_states(client: LanguageClient, tmp_path: Path) -> None:
    offered = await _complete(client, tmp_path, "    shipped -> ")
    assert set(offered) == STATES
    assert offered["paid"] == types.CompletionItemKind.EnumMember


async def test_after_on_the_declared_events(client: LanguageClient, tmp_path: Path) -> None:
    offered = await _complete(client, tmp_path, "    shipped -> paid on ")
    assert set(offered) == EVENTS
    assert offered["ship"] == types.CompletionItemKind.Event


@pytest.mark.parametrize("typed", ["if ", "if card_valid and ", "if not ", "if (in_stock or "])
async def test_in_a_guard_the_known_guards_and_the_guard_keywords(
    client: LanguageClient, tmp_path: Path, typed: str
) -> None:
    offered = await _complete(client, tmp_path, "    shipped -> paid on pay " + typed)
    assert {k for k, v in offered.items() if v == types.CompletionItemKind.Function} == GUARDS
    assert "not" in offered
    assert not set(offered) & STATES


async def test_after_a_hook_keyword_the_known_hooks(client: LanguageClient, tmp_path: Path) -> None:
    at = TEXT.index("        enter book_courier")
    offered = await _complete(client, tmp_path, "        exit ", at=at)
    hooks = {k for k, v in offered.items() if v == types.CompletionItemKind.Method}
    assert {"charge_card", "refund_card", "book_courier", "recall_shipment"} <= hooks
    assert not set(offered) & STATES


async def test_at_the_start_of_a_member_keywords_and_source_states(
    client: LanguageClient, tmp_path: Path
) -> None:
    offered = await _complete(client, tmp_path, "    ")
    keywords = {k for k, v in offered.items() if v == types.CompletionItemKind.Keyword}
    # ('if' too: whitespace means nothing, the transition above may go on.)
    assert keywords == {"state", "initial", "final", "event", "if"}
    # Final states cannot be a transition's source (WF107).
    assert STATES - {"delivered", "cancelled"} <= set(offered)
    assert "delivered" not in offered


async def test_inside_a_state_body_the_state_items(client: LanguageClient, tmp_path: Path) -> None:
    at = TEXT.index("        enter book_courier")
    offered = await _complete(client, tmp_path, "        ", at=at)
    assert set(offered) == {"enter", "exit", "compensate"}


async def test_a_word_being_typed_is_completed_from_its_start(
    client: LanguageClient, tmp_path: Path
) -> None:
    offered = await _complete(client, tmp_path, "    shipped -> pa")
    assert set(offered) == STATES  # the client filters by the typed prefix


async def test_after_state_the_states_used_but_not_declared(
    client: LanguageClient, tmp_path: Path
) -> None:
    text = TEXT.replace("shipped -> delivered on deliver", "shipped -> lost on deliver")
    offered = await _complete(client, tmp_path, "    state ", text=text, at=text.rindex("}"))
    assert set(offered) == {"lost"}


async def test_nothing_inside_comments_and_descriptions(
    client: LanguageClient, tmp_path: Path
) -> None:
    assert await _complete(client, tmp_path, "    # a -> ") == {}
    assert await _complete(client, tmp_path, '    a -> b on c "going -> ') == {}


async def test_with_a_syntax_error_after_the_cursor(client: LanguageClient, tmp_path: Path) -> None:
    broken = TEXT[:END] + "    paid -> \n    oops -> -> {\n" + TEXT[END:]
    offered = await _complete(client, tmp_path, "", text=broken, at=broken.index("paid -> \n") + 8)
    assert set(offered) == STATES


async def test_with_a_syntax_error_before_the_cursor(
    client: LanguageClient, tmp_path: Path
) -> None:
    broken = TEXT[:END] + "    oops -> -> {\n" + TEXT[END:]
    offered = await _complete(
        client, tmp_path, "    created -> paid on ", text=broken, at=broken.rindex("}")
    )
    assert set(offered) >= EVENTS


async def test_a_new_file_gets_names_declared_above_the_cursor(
    client: LanguageClient, tmp_path: Path
) -> None:
    text = "workflow w {\n    initial state draft\n    state review\n    event submit\n"
    offered = await _complete(client, tmp_path, "    draft -> ", text=text, at=len(text))
    assert set(offered) == {"draft", "review"}


# An error above every declaration: the parser's stack holds none of them,
# so the names come from the last version that parsed (the one opened).
BROKEN_ABOVE = TEXT.replace("    initial state created", "    -> -> @\n    initial state created")
END2 = BROKEN_ABOVE.rindex("}")
MEMBER = {"state", "initial", "final", "event"}
HOOKS = {
    "charge_card",
    "send_receipt",
    "refund_card",
    "reserve_stock",
    "release_stock",
    "book_courier",
    "recall_shipment",
}


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("    paid -> ", STATES),
        ("    paid ->\n        ", STATES),  # the arrow on the line above
        ("    paid -> shipped on ", EVENTS),
        ("    paid -> shipped\n    # why\n    on ", EVENTS),
        ("    paid -> shipped on ship if ", GUARDS | {"not"}),
        ("    paid -> shipped on ship if in_stock and ", GUARDS | {"not"}),
        ("    paid -> cancelled after 30m if ", GUARDS | {"not"}),
        ("    paid -> cancelled after 30m if not ", GUARDS | {"not"}),
        ("    state held {\n        enter ", HOOKS),
        ("    state held {\n        enter x,\n  ", HOOKS),
        # A member may start: source states (a final one may not be one, WF107) and keywords.
        ("    paid -> shipped on ship\n    ", (STATES - {"delivered", "cancelled"}) | MEMBER),
    ],
)
async def test_while_the_text_does_not_parse_names_come_from_the_last_parse(
    client: LanguageClient, tmp_path: Path, typed: str, expected: set[str]
) -> None:
    path = tmp_path / "order.wf"
    path.write_text(TEXT, encoding="utf-8")
    uri, _ = await open_document(client, path)
    edited = BROKEN_ABOVE[:END2] + typed + BROKEN_ABOVE[END2:]
    diags = await change_document(client, uri, full(edited))
    assert [d.code for d in diags] == ["WF100"]
    result = await client.text_document_completion_async(
        types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri),
            position=position(edited, END2 + len(typed)),
        )
    )
    assert isinstance(result, types.CompletionList)
    assert {item.label for item in result.items} == expected
