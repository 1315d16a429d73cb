"""No input kills the server: the front end's fuzz corpus replayed through ``didChange``.

The texts come from the strategies of ``tests/frontend/test_fuzz.py`` (random text,
token soups, mutated examples, generated workflows). Each one reaches the
server as one incremental edit from the text before it (as an editor sends a
keystroke or a paste), or now and then as a whole-document change. After
every change the published diagnostics must be ``wfdsl lint``'s for that text
(so the server's copy of the text never drifts from the editor's), and every
request the editor makes while typing must get an answer, not an error.
``WFDSL_FUZZ_EXAMPLES`` scales it as it scales the front end's fuzzing.
"""

from __future__ import annotations

import asyncio
import os
import random
from pathlib import Path

import pytest
from frontend import test_fuzz  # type: ignore[import-not-found]  # tests/ is on sys.path
from hypothesis import given, settings
from hypothesis import strategies as st
from lsprotocol import types
from pytest_lsp import LanguageClient

from wfdsl.frontend.parser import normalize_line_ends
from wfdsl.lint.engine import lint_bytes

from .helpers import change_document, open_document, position

pytestmark = pytest.mark.asyncio

PER_STRATEGY = max(int(os.environ.get("WFDSL_FUZZ_EXAMPLES", "300")) // 5, 10)


def corpus() -> list[str]:
    texts: list[str] = []
    strategies = [
        st.text(max_size=300),
        test_fuzz.token_soup,
        test_fuzz.workflow_soup,
        test_fuzz.mutated_example(),
        test_fuzz.generated_workflow(),
    ]
    for strategy in strategies:

        @settings(max_examples=PER_STRATEGY, deadline=None, database=None, derandomize=True)
        @given(strategy)
        def collect(text: str) -> None:
            texts.append(text)

        collect()
    return texts


def one_edit(old: str, new: str) -> tuple[int, int, str]:
    """The single replacement of ``old[start:end]`` that gives ``new``, never
    splitting a CRLF (no LSP position lies between its two characters)."""
    start = 0
    limit = min(len(old), len(new))
    while start < limit and old[start] == new[start]:
        start += 1
    end_old, end_new = len(old), len(new)
    while end_old > start and end_new > start and old[end_old - 1] == new[end_new - 1]:
        end_old -= 1
        end_new -= 1
    if start > 0 and old[start - 1 : start + 1] == "\r\n":
        start -= 1
    if 0 < end_old < len(old) and old[end_old - 1 : end_old + 1] == "\r\n":
        end_old += 1
        end_new += 1
    return start, end_old, new[start:end_new]


def expected(text: str) -> list[tuple[object, ...]]:
    result = lint_bytes(text.encode("utf-8", "surrogatepass"), "fuzz.wf")
    return sorted(
        (d.code, d.message + (f" ({d.hint})" if d.hint else ""), d.line, d.column)
        for d in result.diagnostics
    )


def got(text: str, diags: list[types.Diagnostic]) -> list[tuple[object, ...]]:
    """Published diagnostics as (code, message, line, column) in ``wfdsl lint``'s
    counting (1-based, code points; lines end at ``\\r\\n``, ``\\r`` or ``\\n``)."""
    out = []
    for d in diags:
        for offset in range(len(text) + 1):
            if position(text, offset) == d.range.start:
                before = normalize_line_ends(text[:offset])
                line = before.count("\n") + 1
                out.append((d.code, d.message, line, len(before) - before.rfind("\n")))
                break
        else:
            raise AssertionError(f"no offset at {d.range.start}: {d}")
    return sorted(out)


async def test_the_fuzz_corpus_through_did_change(client: LanguageClient, tmp_path: Path) -> None:
    texts = corpus()
    rng = random.Random(16)
    path = tmp_path / "fuzz.wf"
    path.write_text("", encoding="utf-8")
    uri, _ = await open_document(client, path, "")
    doc = types.TextDocumentIdentifier(uri)
    current = ""
    for text in texts:
        if rng.random() < 0.2:
            change: types.TextDocumentContentChangeEvent = (
                types.TextDocumentContentChangeWholeDocument(text=text)
            )
        else:
            start, end, new = one_edit(current, text)
            change = types.TextDocumentContentChangePartial(
                range=types.Range(position(current, start), position(current, end)), text=new
            )
        diags = await change_document(client, uri, [change])
        current = text
        if "\ufeff" not in text:
            # (A BOM is dropped by `wfdsl lint` but counted by the editor.)
            assert got(text, diags) == expected(text), text
        # Whatever the editor asks while the user types must be answered.
        where = position(text, rng.randrange(len(text) + 1))
        params = (doc, where)
        answers = await asyncio.gather(
            client.text_document_hover_async(types.HoverParams(*params)),
            client.text_document_definition_async(types.DefinitionParams(*params)),
            client.text_document_completion_async(types.CompletionParams(*params)),
            client.text_document_document_symbol_async(types.DocumentSymbolParams(doc)),
            client.text_document_formatting_async(
                types.DocumentFormattingParams(doc, types.FormattingOptions(4, True))
            ),
            client.text_document_code_action_async(
                types.CodeActionParams(
                    doc, types.Range(where, where), types.CodeActionContext(diagnostics=diags)
                )
            ),
            return_exceptions=True,
        )
        failures = [a for a in answers if isinstance(a, BaseException)]
        assert not failures, (text, failures)
    assert not [m for m in client.log_messages if m.type == types.MessageType.Error]
