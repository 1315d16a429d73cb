"""The language server: pygls speaks the protocol, the feature modules answer.

Handlers convert LSP positions to offsets on the way in and offsets to LSP
ranges on the way out (:mod:`wfdsl.lsp.text`); everything between works on the
front end's own results. Diagnostics are published after every change, a few
milliseconds later so that a burst of changes is analysed once; requests
analyse the current text on demand, once per version.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import re
import sys
import traceback
from collections.abc import Callable, Generator, Iterable
from typing import Any, Protocol, TypeVar, cast

import cattrs
from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol, default_converter
from pygls.protocol.language_server import lsp_method

from wfdsl import __version__
from wfdsl.lsp import actions, completion, diagnostics, formatting, hover, navigation, outline
from wfdsl.lsp.documents import Analysis, Document, Documents
from wfdsl.lsp.frontend import gc_paused
from wfdsl.lsp.symbols import Occurrence
from wfdsl.lsp.text import Edit, Encoding

logger = logging.getLogger("wfdsl.lsp")

#: Changes that arrive within this many seconds of each other are analysed once.
DEBOUNCE_SECONDS = 0.005
#: LSP's RequestFailed: the request was valid but the server refuses it.
REQUEST_FAILED = -32803


class Refused(JsonRpcException):
    """A request the server answers with a reason instead of a result."""

    CODE = REQUEST_FAILED


def _strict_str(value: object, _type: object) -> str:
    if not isinstance(value, str):
        raise TypeError(
            f"expected a string, got {'null' if value is None else type(value).__name__}"
        )
    return value


def converter() -> cattrs.Converter:
    """pygls's converter, except that a string must be a string: cattrs would
    make ``"None"`` of a null ``newName`` and rename every use to it."""
    conv: cattrs.Converter = default_converter()  # type: ignore[no-untyped-call]
    conv.register_structure_hook(str, _strict_str)
    return conv


#: A message that could not be read and has been dealt with (answered or logged).
_HANDLED = object()


_CAMEL = re.compile(r"(?<=[a-z])_([a-z])")


def _what_is_wrong(exc: BaseException) -> str:
    cause = exc.__cause__
    if isinstance(cause, cattrs.ClassValidationError):
        # Paths start at the message ("@ .params.new_name"): say them as the
        # client wrote them ("@ params.newName").
        return "; ".join(
            _CAMEL.sub(lambda m: m.group(1).upper(), e.replace("@ .", "@ "))
            for e in cattrs.transform_error(cause, path="")
        )
    return str(cause or exc)


class WfdslProtocol(LanguageServerProtocol):
    """pygls's protocol, with the open documents kept by :class:`Documents`
    instead of pygls's workspace (see :mod:`wfdsl.lsp.documents` for why),
    and an answer for every request, however malformed."""

    def structure_message(self, data: dict[str, Any]) -> Any:
        """pygls drops a message whose params do not fit the method's types,
        leaving the client waiting forever: a request gets InvalidParams
        instead, saying what is wrong; a notification is logged and ignored."""
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            if not isinstance(data, dict) or "jsonrpc" not in data:
                raise
            method = data.get("method", "")
            detail = f"{method}: invalid params: {_what_is_wrong(exc)}"
            if "id" in data and method:
                error = JsonRpcInvalidParams(detail).to_response_error()
                self._send_response(data["id"], None, error)
            logger.warning(detail)
            return _HANDLED

    def handle_message(self, message: Any) -> None:
        if message is not _HANDLED:
            super().handle_message(message)

    def _user(self, method: str, params: Any) -> Generator[Any, Any, None]:
        handler = self.fm.features.get(method)
        if handler is not None:
            yield handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(
        self, params: types.DidOpenTextDocumentParams
    ) -> Generator[Any, Any, None]:
        yield from self._user(types.TEXT_DOCUMENT_DID_OPEN, params)

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(
        self, params: types.DidChangeTextDocumentParams
    ) -> Generator[Any, Any, None]:
        yield from self._user(types.TEXT_DOCUMENT_DID_CHANGE, params)

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(
        self, params: types.DidCloseTextDocumentParams
    ) -> Generator[Any, Any, None]:
        yield from self._user(types.TEXT_DOCUMENT_DID_CLOSE, params)


class WfdslServer(LanguageServer):
    """``wfdsl lsp``: a language server for ``.wf`` files."""

    def __init__(self) -> None:
        super().__init__(
            "wfdsl",
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            protocol_cls=WfdslProtocol,
            converter_factory=converter,
        )
        self.documents = Documents()
        #: Base URL of the rules page that diagnostics link to, if any.
        self.rules_base: str | None = None
        self.markdown = True
        self.document_changes = False
        self.hierarchical_symbols = True
        self._dirty: set[str] = set()
        self._timer: asyncio.TimerHandle | None = None

    # -- documents and diagnostics ---------------------------------------------------

    def document(self, uri: str) -> Document | None:
        return self.documents.get(uri)

    def schedule(self, uri: str) -> None:
        """Publish ``uri``'s diagnostics once the current burst of changes is over."""
        self._dirty.add(uri)
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_later(DEBOUNCE_SECONDS, self.flush)

    def flush(self) -> None:
        """Publish the diagnostics of every document changed since the last flush."""
        self._timer = None
        dirty, self._dirty = self._dirty, set()
        for uri in sorted(dirty):
            doc = self.documents.get(uri)
            if doc is not None:
                self.publish(doc)

    def publish(self, doc: Document) -> None:
        try:
            with gc_paused():
                analysis = doc.analysis()
                found = diagnostics.publishable(analysis, self.rules_base)
        except Exception:  # a bug: say so in the client's log, keep serving
            self.log_error(f"cannot lint {doc.uri}")
            return
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=doc.uri, diagnostics=found, version=doc.version)
        )

    def log_error(self, what: str) -> None:
        message = f"wfdsl: internal error: {what}\n{traceback.format_exc()}"
        logger.error(message)
        self.window_log_message(types.LogMessageParams(types.MessageType.Error, message))

    # -- conversions at the edge -----------------------------------------------------

    def location(self, uri: str, analysis: Analysis, occ: Occurrence) -> types.Location:
        return types.Location(uri=uri, range=analysis.index.range(occ.start, occ.end))

    @staticmethod
    def text_edits(analysis: Analysis, edits: Iterable[Edit]) -> list[types.TextEdit]:
        """LSP edits of the document as written: a new line in an edit gets the
        file's own line end, so a CRLF file stays CRLF."""
        nl = analysis.line_end
        return [
            types.TextEdit(
                range=analysis.index.range(e.start, e.end),
                new_text=e.new_text if nl == "\n" else e.new_text.replace("\n", nl),
            )
            for e in edits
        ]

    def workspace_edit(self, doc: Document, edits: list[types.TextEdit]) -> types.WorkspaceEdit:
        if self.document_changes:
            return types.WorkspaceEdit(
                document_changes=[
                    types.TextDocumentEdit(
                        text_document=types.OptionalVersionedTextDocumentIdentifier(
                            uri=doc.uri, version=doc.version
                        ),
                        edits=list(edits),
                    )
                ]
            )
        return types.WorkspaceEdit(changes={doc.uri: edits})


F = TypeVar("F", bound=Callable[..., Any])


def _paused(handler: F) -> F:
    """Run a handler with the cyclic GC paused, as the front end parses: the
    objects a request makes die by reference counting, and a collection
    pass over the open documents' trees would only add a pause to the answer."""

    @functools.wraps(handler)
    def run(*args: Any, **kwargs: Any) -> Any:
        with gc_paused():
            return handler(*args, **kwargs)

    return cast(F, run)


class _Located(Protocol):
    text_document: types.TextDocumentIdentifier
    position: types.Position


P = TypeVar("P", bound=_Located)
R = TypeVar("R")


def _located(
    handler: Callable[[WfdslServer, P, Document, Analysis, int], R | None],
) -> Callable[[WfdslServer, P], R | None]:
    """A request about a position: the handler gets the open document, its
    analysis and the offset of the position (None answers for a closed one)."""

    @functools.wraps(handler)
    def run(ls: WfdslServer, params: P) -> R | None:
        doc = ls.documents.get(params.text_document.uri)
        if doc is None:
            return None
        with gc_paused():
            analysis = doc.analysis()
            return handler(ls, params, doc, analysis, analysis.index.offset(params.position))

    return run


def make_server() -> WfdslServer:
    """A server with every feature registered; ``serve()`` runs one on stdio."""
    server = WfdslServer()

    @server.feature(types.INITIALIZE)
    def initialize(ls: WfdslServer, params: types.InitializeParams) -> None:
        ls.documents.encoding = Encoding.of(ls.workspace.position_encoding)
        caps = params.capabilities
        text_caps = caps.text_document
        hover_caps = text_caps.hover if text_caps else None
        formats = hover_caps.content_format if hover_caps else None
        ls.markdown = formats is None or types.MarkupKind.Markdown in formats
        symbol_caps = text_caps.document_symbol if text_caps else None
        ls.hierarchical_symbols = bool(
            symbol_caps and symbol_caps.hierarchical_document_symbol_support
        )
        edit_caps = caps.workspace.workspace_edit if caps.workspace else None
        ls.document_changes = bool(edit_caps and edit_caps.document_changes)
        options = params.initialization_options
        url = options.get("rulesUrl") if isinstance(options, dict) else None
        ls.rules_base = url if isinstance(url, str) and url else diagnostics.rules_page(__version__)

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: WfdslServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.documents.open(params.text_document)
        ls.schedule(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: WfdslServer, params: types.DidChangeTextDocumentParams) -> None:
        doc = ls.documents.get(params.text_document.uri)
        if doc is None:
            return
        doc.change(list(params.content_changes), params.text_document.version)
        ls.schedule(doc.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=False))
    def did_save(ls: WfdslServer, params: types.DidSaveTextDocumentParams) -> None:
        doc = ls.documents.get(params.text_document.uri)
        if doc is not None:
            doc.invalidate()  # pyproject.toml may have changed meanwhile
            ls.schedule(doc.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: WfdslServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.documents.close(params.text_document.uri)
        ls._dirty.discard(params.text_document.uri)
        ls.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[])
        )

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    @_located
    def on_hover(
        ls: WfdslServer, params: types.HoverParams, doc: Document, analysis: Analysis, offset: int
    ) -> types.Hover | None:
        result = hover.hover(analysis, offset, ls.markdown)
        if result is None:
            return None
        kind = types.MarkupKind.Markdown if ls.markdown else types.MarkupKind.PlainText
        return types.Hover(
            contents=types.MarkupContent(kind=kind, value=result.value),
            range=analysis.index.range(result.start, result.end),
        )

    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    @_located
    def on_definition(
        ls: WfdslServer,
        params: types.DefinitionParams,
        doc: Document,
        analysis: Analysis,
        offset: int,
    ) -> types.Location | None:
        occ = navigation.definition(analysis, offset)
        return None if occ is None else ls.location(params.text_document.uri, analysis, occ)

    @server.feature(types.TEXT_DOCUMENT_REFERENCES)
    @_located
    def on_references(
        ls: WfdslServer,
        params: types.ReferenceParams,
        doc: Document,
        analysis: Analysis,
        offset: int,
    ) -> list[types.Location] | None:
        every = navigation.references(analysis, offset, params.context.include_declaration)
        return [ls.location(params.text_document.uri, analysis, o) for o in every]

    @server.feature(types.TEXT_DOCUMENT_DOCUMENT_HIGHLIGHT)
    @_located
    def on_highlight(
        ls: WfdslServer,
        params: types.DocumentHighlightParams,
        doc: Document,
        analysis: Analysis,
        offset: int,
    ) -> list[types.DocumentHighlight] | None:
        return [
            types.DocumentHighlight(
                range=analysis.index.range(o.start, o.end),
                kind=types.DocumentHighlightKind.Write
                if o.declaration
                else types.DocumentHighlightKind.Read,
            )
            for o in navigation.references(analysis, offset, include_declaration=True)
        ]

    @server.feature(types.TEXT_DOCUMENT_PREPARE_RENAME)
    @_located
    def on_prepare_rename(
        ls: WfdslServer,
        params: types.PrepareRenameParams,
        doc: Document,
        analysis: Analysis,
        offset: int,
    ) -> types.PrepareRenamePlaceholder | None:
        try:
            occ = navigation.prepare_rename(analysis, offset)
        except navigation.RenameRefused as exc:
            raise Refused(exc.message) from None
        return types.PrepareRenamePlaceholder(
            range=analysis.index.range(occ.start, occ.end), placeholder=occ.name
        )

    @server.feature(types.TEXT_DOCUMENT_RENAME, types.RenameOptions(prepare_provider=True))
    @_located
    def on_rename(
        ls: WfdslServer, params: types.RenameParams, doc: Document, analysis: Analysis, offset: int
    ) -> types.WorkspaceEdit | None:
        try:
            edits = navigation.rename(analysis, offset, params.new_name)
        except navigation.RenameRefused as exc:
            raise Refused(exc.message) from None
        return ls.workspace_edit(doc, ls.text_edits(analysis, edits))

    @server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    @_paused
    def on_symbols(
        ls: WfdslServer, params: types.DocumentSymbolParams
    ) -> list[types.DocumentSymbol] | list[types.SymbolInformation] | None:
        doc = ls.documents.get(params.text_document.uri)
        if doc is None:
            return None
        analysis = doc.analysis()
        if analysis.symbols is None:
            return None
        root = outline.outline(analysis.symbols)
        if ls.hierarchical_symbols:
            return [_document_symbol(analysis, root)]
        return list(_flat_symbols(doc.uri, analysis, root, None))

    @server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(resolve_provider=False))
    @_located
    def on_completion(
        ls: WfdslServer,
        params: types.CompletionParams,
        doc: Document,
        analysis: Analysis,
        offset: int,
    ) -> types.CompletionList | None:
        items = completion.complete(analysis, offset, doc.last_parsed)
        return types.CompletionList(
            is_incomplete=False,
            items=[
                types.CompletionItem(
                    label=item.label,
                    kind=_COMPLETION_KIND[item.role],
                    detail=item.detail,
                    sort_text=f"{_COMPLETION_ORDER[item.role]}{i:05d}",
                )
                for i, item in enumerate(items)
            ],
        )

    @server.feature(types.TEXT_DOCUMENT_FORMATTING)
    @_paused
    def on_formatting(
        ls: WfdslServer, params: types.DocumentFormattingParams
    ) -> list[types.TextEdit] | None:
        doc = ls.documents.get(params.text_document.uri)
        if doc is None:
            return None
        analysis = doc.analysis()
        try:
            edits = formatting.format_edits(analysis, doc.path or doc.uri)
        except formatting.FormatRefused as exc:
            ls.window_show_message(
                types.ShowMessageParams(
                    types.MessageType.Warning, f"wfdsl: {doc.display_name}: {exc.message}"
                )
            )
            return None
        return ls.text_edits(analysis, edits)

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]),
    )
    @_paused
    def on_code_action(
        ls: WfdslServer, params: types.CodeActionParams
    ) -> list[types.CodeAction] | None:
        doc = ls.documents.get(params.text_document.uri)
        if doc is None:
            return None
        only = params.context.only
        quickfix = types.CodeActionKind.QuickFix.value
        if only is not None and not any(
            quickfix.startswith(str(getattr(k, "value", k))) for k in only
        ):
            return None
        analysis = doc.analysis()
        start = analysis.index.offset(params.range.start)
        end = analysis.index.offset(params.range.end)
        return [
            types.CodeAction(
                title=fix.title,
                kind=types.CodeActionKind.QuickFix,
                diagnostics=[diagnostics.to_lsp(analysis, fix.diagnostic, ls.rules_base)],
                is_preferred=fix.preferred or None,
                edit=ls.workspace_edit(doc, ls.text_edits(analysis, fix.edits)),
            )
            for fix in actions.fixes(analysis, start, end)
        ]

    return server


_COMPLETION_KIND = {
    completion.Role.KEYWORD: types.CompletionItemKind.Keyword,
    completion.Role.STATE: types.CompletionItemKind.EnumMember,
    completion.Role.EVENT: types.CompletionItemKind.Event,
    completion.Role.GUARD: types.CompletionItemKind.Function,
    completion.Role.HOOK: types.CompletionItemKind.Method,
}
#: Names before keywords: after ``->`` the states are what the user wants.
_COMPLETION_ORDER = {
    completion.Role.STATE: "a",
    completion.Role.EVENT: "a",
    completion.Role.GUARD: "a",
    completion.Role.HOOK: "a",
    completion.Role.KEYWORD: "b",
}
_SYMBOL_KIND = {
    outline.Role.WORKFLOW: types.SymbolKind.Module,
    outline.Role.STATE: types.SymbolKind.EnumMember,
    outline.Role.HOOKS: types.SymbolKind.Method,
    outline.Role.EVENT: types.SymbolKind.Event,
    outline.Role.TRANSITION: types.SymbolKind.Operator,
}


def _document_symbol(analysis: Analysis, sym: outline.Symbol) -> types.DocumentSymbol:
    return types.DocumentSymbol(
        name=sym.name,
        kind=_SYMBOL_KIND[sym.role],
        range=analysis.index.range(sym.start, sym.end),
        selection_range=analysis.index.range(sym.name_start, sym.name_end),
        detail=sym.detail,
        children=[_document_symbol(analysis, c) for c in sym.children] or None,
    )


def _flat_symbols(
    uri: str, analysis: Analysis, sym: outline.Symbol, container: str | None
) -> Iterable[types.SymbolInformation]:
    yield types.SymbolInformation(
        name=sym.name,
        kind=_SYMBOL_KIND[sym.role],
        location=types.Location(uri=uri, range=analysis.index.range(sym.start, sym.end)),
        container_name=container,
    )
    for child in sym.children:
        yield from _flat_symbols(uri, analysis, child, sym.name)


def _not_a_refusal(record: logging.LogRecord) -> bool:
    """pygls logs every error reply with a traceback; a refusal is an answer,
    not a fault, and so are invalid params (logged in one line instead)."""
    if record.exc_info and isinstance(record.exc_info[1], Refused):
        return False
    return not str(record.msg).startswith("Unable to deserialize message")


def serve() -> None:
    """Run the language server on stdin/stdout until the client says exit."""
    logging.basicConfig(level=logging.WARNING, format="wfdsl lsp: %(levelname)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(_not_a_refusal)
    # pygls closes the stream it writes to when the client says exit; a
    # duplicate of stdout's descriptor leaves sys.stdout open for the CLI's
    # final flush (which would otherwise fail with a traceback at every exit).
    with os.fdopen(os.dup(sys.stdout.fileno()), "wb") as out:
        make_server().start_io(sys.stdin.buffer, out)


__all__ = ["WfdslServer", "make_server", "serve"]
