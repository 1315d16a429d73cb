"""Open documents as the editor has them, and what the front end makes of each version.

The server keeps the text itself instead of pygls's workspace copy, because
pygls splits lines with ``str.splitlines``, which also breaks at form feeds,
U+2028 and other characters that are no line break to LSP or to the editor:
an incremental edit after one of them would land in the wrong place.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property

from lsprotocol import types
from pygls.uris import to_fs_path

from wfdsl.lsp.frontend import (
    Checked,
    ConfigError,
    ConfigFinder,
    Lines,
    Selection,
    SpecError,
    check_parsed,
    editor_text,
    gc_paused,
    line_end_of,
    not_parsed,
)
from wfdsl.lsp.incremental import Parsed, reparse
from wfdsl.lsp.symbols import SymbolIndex
from wfdsl.lsp.text import Encoding, TextIndex, apply_changes


class Analysis:
    """One version of a document through the front end and the linter.

    ``text`` is the document's text as the front end reads it (line ends
    normalised to ``\\n``); every offset in the server indexes it, and
    ``index`` converts them to LSP positions in the document as written.
    """

    def __init__(
        self,
        text: str,
        version: int | None,
        index: TextIndex,
        checked: Checked,
        config_problem: str | None,
        line_end: str = "\n",
    ) -> None:
        self.text = text
        #: The text as written (line ends as the editor has them).
        self.raw = index.lines.raw
        self.version = version
        #: The document's line end (``\\r\\n`` ...): new lines in edits use it.
        self.line_end = line_end
        self.index = index
        self.checked = checked
        #: Why ``[tool.wfdsl.lint]`` could not be used (the defaults were), if so.
        self.config_problem = config_problem

    @cached_property
    def symbols(self) -> SymbolIndex | None:
        """The names of the file (None when it does not parse), indexed on first
        use: publishing diagnostics after a keystroke does not need them."""
        tree = self.checked.tree
        return SymbolIndex(tree) if tree is not None else None


def selection_for(path: str | None) -> tuple[Selection, str | None]:
    """The rules ``wfdsl lint`` would run on ``path``: the nearest
    ``pyproject.toml`` with ``[tool.wfdsl.lint]``, read afresh each time so
    that an edited configuration applies at once. A broken one gives the
    defaults and the reason."""
    if path is None:
        return Selection(), None
    try:
        return ConfigFinder().for_file(path), None
    except ConfigError as exc:
        return Selection(), str(exc)


@dataclass(slots=True)
class Document:
    """An open ``.wf`` document."""

    uri: str
    text: str
    version: int | None
    encoding: Encoding = Encoding.UTF16
    #: File-system path for ``file:`` URIs (configuration and per-file-ignores).
    path: str | None = None
    _analysis: Analysis | None = field(default=None, repr=False)
    #: The last version that parsed, for completion while the current one
    #: has a syntax error.
    _last_parsed: Analysis | None = field(default=None, repr=False)
    #: The parse of the last version that parsed, which the next parse
    #: reuses where an edit left it alone (:mod:`wfdsl.lsp.incremental`).
    _parsed: Parsed | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.path is None and self.uri.startswith("file:"):
            self.path = to_fs_path(self.uri)

    def change(
        self, changes: list[types.TextDocumentContentChangeEvent], version: int | None
    ) -> None:
        self.text = apply_changes(self.text, changes, self.encoding)
        self.version = version
        self._analysis = None

    def invalidate(self) -> None:
        """Forget the analysis (the configuration may have changed)."""
        self._analysis = None

    def analysis(self) -> Analysis:
        """The analysis of the current text, computed once per version."""
        current = self._analysis
        if current is not None and current.raw is self.text:
            return current
        selection, problem = selection_for(self.path)
        path = self.path or self.uri
        lines = Lines(self.text)
        text = editor_text(lines.text)
        with gc_paused():
            try:
                parsed = reparse(self._parsed, text, path)
            except SpecError as exc:
                checked = not_parsed(exc)
            else:
                self._parsed = parsed
                checked = check_parsed(parsed.tree, parsed.comments, text, path, selection)
        current = Analysis(
            lines.text,
            self.version,
            TextIndex(lines, self.encoding),
            checked,
            problem,
            line_end_of(self.text),
        )
        if checked.tree is not None:
            self._last_parsed = current
        self._analysis = current
        return current

    @property
    def last_parsed(self) -> SymbolIndex | None:
        """Names of the last version that parsed."""
        return self._last_parsed.symbols if self._last_parsed is not None else None

    @property
    def display_name(self) -> str:
        return os.path.basename(self.path) if self.path else self.uri


class Documents:
    """The open documents, by URI."""

    def __init__(self) -> None:
        self._docs: dict[str, Document] = {}
        self.encoding = Encoding.UTF16

    def open(self, item: types.TextDocumentItem) -> Document:
        doc = Document(item.uri, item.text, item.version, self.encoding)
        self._docs[item.uri] = doc
        return doc

    def get(self, uri: str) -> Document | None:
        return self._docs.get(uri)

    def close(self, uri: str) -> None:
        self._docs.pop(uri, None)

    def __iter__(self) -> Iterator[Document]:
        return iter(list(self._docs.values()))
