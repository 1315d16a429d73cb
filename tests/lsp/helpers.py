"""Opening documents, waiting for diagnostics and finding positions, as a client does."""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Callable
from pathlib import Path

from lsprotocol import types
from pytest_lsp import LanguageClient

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.wf"))
ORDER = ROOT / "examples" / "order.wf"
_versions = itertools.count(1)


def encoding_of(client: LanguageClient) -> str:
    """The position encoding the server chose in its initialize reply."""
    return str(getattr(client, "wfdsl_encoding", "utf-16"))


def position(text: str, offset: int, encoding: str = "utf-16") -> types.Position:
    """The LSP position of ``text[offset]``, counted independently of the server."""
    before = text[:offset].replace("\r\n", "\n").replace("\r", "\n")
    line = before.count("\n")
    col_text = before[before.rfind("\n") + 1 :]
    if encoding == "utf-32":
        col = len(col_text)
    elif encoding == "utf-8":
        col = len(col_text.encode("utf-8"))
    else:
        col = len(col_text.encode("utf-16-le")) // 2
    return types.Position(line=line, character=col)


def at(
    text: str, needle: str, nth: int = 0, delta: int = 0, encoding: str = "utf-16"
) -> types.Position:
    """Position ``delta`` characters into the ``nth`` occurrence of ``needle``."""
    offset = -1
    for _ in range(nth + 1):
        offset = text.index(needle, offset + 1)
    return position(text, offset + delta, encoding)


def offset_of(text: str, pos: types.Position, encoding: str = "utf-16") -> int:
    """Inverse of :func:`position` (used to apply edits): an offset into
    ``text`` as written, whatever its line ends."""
    breaks = list(re.finditer(r"\r\n|\r|\n", text))
    if pos.line > len(breaks):
        return len(text)
    start = breaks[pos.line - 1].end() if pos.line else 0
    end = breaks[pos.line].start() if pos.line < len(breaks) else len(text)
    line = text[start:end]
    if encoding == "utf-32":
        return start + min(pos.character, len(line))
    units = 0
    for i, ch in enumerate(line):
        if units >= pos.character:
            return start + i
        units += (
            len(ch.encode("utf-8")) if encoding == "utf-8" else len(ch.encode("utf-16-le")) // 2
        )
    return start + len(line)


def apply_edits(text: str, edits: list[types.TextEdit], encoding: str = "utf-16") -> str:
    """Apply LSP text edits as a client does (all ranges refer to the original)."""
    spans = sorted(
        (
            (
                offset_of(text, e.range.start, encoding),
                offset_of(text, e.range.end, encoding),
                e.new_text,
            )
            for e in edits
        ),
        reverse=True,
    )
    for start, end, new in spans:
        text = text[:start] + new + text[end:]
    return text


#: ``version`` for :func:`diagnostics_for`: whichever comes next.
ANY_VERSION = -1


async def diagnostics_for(
    client: LanguageClient, uri: str, version: int | None = ANY_VERSION, timeout: float = 60
) -> list[types.Diagnostic]:
    """Wait for the diagnostics the server publishes for ``uri`` at ``version``."""

    async def wait() -> list[types.Diagnostic]:
        while True:
            params = await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
            if params.uri == uri and version in (ANY_VERSION, params.version):
                return list(params.diagnostics)

    return await asyncio.wait_for(wait(), timeout)


async def notify_and_wait(
    client: LanguageClient, uri: str, send: Callable[[], None]
) -> list[types.Diagnostic]:
    """Send a notification with ``send`` and return the next diagnostics for ``uri``."""
    waiter = asyncio.ensure_future(diagnostics_for(client, uri))
    await asyncio.sleep(0)
    send()
    return await waiter


async def open_document(
    client: LanguageClient, path: Path, text: str | None = None
) -> tuple[str, list[types.Diagnostic]]:
    """Open ``path`` (with ``text``, or the file's own) and return its URI and
    first diagnostics."""
    if text is None:
        text = path.read_text(encoding="utf-8")
    uri = path.as_uri()
    version = next(_versions)
    waiter = asyncio.ensure_future(diagnostics_for(client, uri, version))
    await asyncio.sleep(0)
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=uri, language_id="wf", version=version, text=text)
        )
    )
    return uri, await waiter


async def change_document(
    client: LanguageClient,
    uri: str,
    changes: list[types.TextDocumentContentChangeEvent],
) -> list[types.Diagnostic]:
    """Send one ``didChange`` and return the diagnostics published for it."""
    version = next(_versions)
    waiter = asyncio.ensure_future(diagnostics_for(client, uri, version))
    await asyncio.sleep(0)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=changes,
        )
    )
    return await waiter


def full(text: str) -> list[types.TextDocumentContentChangeEvent]:
    return [types.TextDocumentContentChangeWholeDocument(text=text)]


def lint_json(path: Path) -> list[dict[str, object]]:
    """What ``wfdsl lint --format json`` reports for ``path`` (in-process)."""
    import json

    from click.testing import CliRunner

    from wfdsl.cli import cli

    result = CliRunner().invoke(cli, ["lint", "--format", "json", "--exit-zero", str(path)])
    assert result.exit_code == 0, result.output
    found: list[dict[str, object]] = json.loads(result.stdout)
    return found


def fe_offset(text: str, line: int, column: int) -> int:
    """Offset of a 1-based (line, column) as ``wfdsl lint`` counts them."""
    lines = text.split("\n")
    return sum(len(x) + 1 for x in lines[: line - 1]) + column - 1


def as_lsp(text: str, finding: dict[str, object], encoding: str = "utf-16") -> dict[str, object]:
    """A ``wfdsl lint`` JSON finding, in the shape the server should publish it."""
    start = fe_offset(text, int(str(finding["line"])), int(str(finding["column"])))
    end = fe_offset(text, int(str(finding["end_line"])), int(str(finding["end_column"])))
    hint = finding["hint"]
    return {
        "code": finding["code"],
        "severity": "error" if finding["severity"] == "error" else "warning",
        "message": f"{finding['message']} ({hint})" if hint else finding["message"],
        "range": (position(text, start, encoding), position(text, end, encoding)),
    }


def published(diags: list[types.Diagnostic]) -> list[dict[str, object]]:
    """Published diagnostics in the shape of :func:`as_lsp`."""
    return [
        {
            "code": d.code,
            "severity": "error" if d.severity == types.DiagnosticSeverity.Error else "warning",
            "message": d.message,
            "range": (d.range.start, d.range.end),
        }
        for d in diags
    ]


async def open_text(client: LanguageClient, folder: Path, text: str, name: str = "order.wf") -> str:
    """Write ``text`` to ``folder/name``, open it, and return its URI."""
    path = folder / name
    path.write_text(text, encoding="utf-8")
    uri, _ = await open_document(client, path)
    return uri
