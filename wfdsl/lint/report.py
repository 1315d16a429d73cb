"""Lint results as text, JSON, GitHub workflow commands or SARIF 2.1.0."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Generic, TypeVar
from urllib.parse import quote

from wfdsl.diagnostics import (
    UNICODE_CONTROLS,
    Diagnostic,
    Severity,
    SourceLines,
    doc_sections,
    visible,
)
from wfdsl.lint.base import iter_rules

FORMATS = ("text", "json", "github", "sarif")

T = TypeVar("T")

#: path -> source text (None when the file could not be decoded)
Sources = dict[str, str | None]


def _below_cwd(path: str) -> str | None:
    """``path`` relative to the working directory, or None when it is not below it."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return None
    if rel == os.pardir or rel.startswith(os.pardir + os.sep):
        return None
    return rel


def display_path(path: str) -> str:
    """Paths relative to the working directory when below it, with ``/`` separators."""
    rel = _below_cwd(path)
    return Path(path if rel is None else rel).as_posix()


def artifact_location(path: str) -> dict[str, str]:
    """A SARIF ``artifactLocation``: a percent-encoded URI relative to
    ``%SRCROOT%`` (the working directory) for files below it, else an
    absolute ``file:`` URI."""
    rel = _below_cwd(path)
    if rel is None:
        return {"uri": Path(os.path.abspath(path)).as_uri()}
    # A name's bytes that are not UTF-8 (surrogate-escaped) are encoded as they are.
    uri = quote(Path(rel).as_posix(), safe="/", errors="surrogateescape")
    return {"uri": uri, "uriBaseId": "%SRCROOT%"}


class _PerPath(Generic[T]):
    """``function(path)``, computed once per path: the findings of a file share
    it (computing it per finding made output quadratic in their number)."""

    def __init__(self, function: Callable[[str], T]) -> None:
        self._function = function
        self._done: dict[str, T] = {}

    def __call__(self, path: str) -> T:
        if path not in self._done:
            self._done[path] = self._function(path)
        return self._done[path]


def _source_lines(sources: Sources) -> _PerPath[SourceLines | None]:
    """Each file's text cut into lines once, however many findings it has."""

    def cut(path: str) -> SourceLines | None:
        text = sources.get(path)
        return None if text is None else SourceLines(text)

    return _PerPath(cut)


def format_text(diags: Sequence[Diagnostic], sources: Sources, files: int, color: bool) -> str:
    """Each finding as ``path:line:col: CODE message``, its source line with a
    caret and its hint, then a summary line. Text from the files is made safe
    for a terminal (:func:`~wfdsl.diagnostics.visible`)."""
    lines = _source_lines(sources)
    out: list[str] = []
    for d in diags:
        block = d.render(lines(d.path))
        if color:
            head, _, rest = block.partition("\n")
            code_colour = "red" if d.severity is Severity.ERROR else "yellow"
            head = head.replace(f" {d.code} ", f" {_ansi(d.code, code_colour)} ", 1)
            block = _ansi(head, None, bold=True) + ("\n" + rest if rest else "")
        out.append(block)
    errors = sum(1 for d in diags if d.severity is Severity.ERROR)
    warnings = len(diags) - errors
    noun = "file" if files == 1 else "files"
    if diags:
        summary = f"Found {_count(len(diags), 'problem')} ({_count(errors, 'error')}, {_count(warnings, 'warning')}) in {files} {noun}."
    else:
        summary = f"All checks passed ({files} {noun})."
    return "\n\n".join(out) + ("\n\n" if out else "") + summary + "\n"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


_CODES = {"red": 31, "yellow": 33}


def _ansi(text: str, colour: str | None, bold: bool = False) -> str:
    parts = []
    if bold:
        parts.append("1")
    if colour:
        parts.append(str(_CODES[colour]))
    return f"\x1b[{';'.join(parts)}m{text}\x1b[0m"


#: Characters that JSON (``ensure_ascii`` off) would write as they are and a
#: terminal acts on: DEL, the C1 controls, :data:`UNICODE_CONTROLS`, and lone
#: surrogates (a file name's bytes that are not UTF-8, which cannot be written
#: as UTF-8 at all). Written as ``\\uNNNN``, so the JSON keeps the exact text.
_JSON_ESCAPES = {
    code: f"\\u{code:04x}"
    for code in (*range(0x7F, 0xA0), *UNICODE_CONTROLS, *range(0xD800, 0xE000))
}


def json_text(value: object, *, indent: int | None = 2) -> str:
    """``value`` as JSON with non-ASCII text kept readable (``ensure_ascii``
    off) except for what :data:`_JSON_ESCAPES` lists; control characters
    below U+0020 are always escaped by JSON itself. The data is exact."""
    return json.dumps(value, indent=indent, ensure_ascii=False).translate(_JSON_ESCAPES)


def format_json(diags: Sequence[Diagnostic]) -> str:
    return (
        json_text(
            [
                {
                    "path": d.path,
                    "line": d.line,
                    "column": d.column,
                    "end_line": d.end_line,
                    "end_column": d.end_column,
                    "code": d.code,
                    "severity": d.severity.value,
                    "message": d.message,
                    "hint": d.hint,
                }
                for d in diags
            ],
        )
        + "\n"
    )


def _gh_data(text: str) -> str:
    """``text`` as the message of a GitHub workflow command: ``%``, ``\\r`` and
    ``\\n`` percent-encoded as GitHub's rules say (it decodes them back), and
    other characters a terminal or log viewer would act on made visible (the
    log shows them; GitHub decodes no other escape)."""
    text = visible(text, keep="\r\n")
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_prop(text: str) -> str:
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


def format_github(diags: Sequence[Diagnostic]) -> str:
    lines = []
    shown = _PerPath(lambda path: _gh_prop(display_path(path)))
    for d in diags:
        kind = "error" if d.severity is Severity.ERROR else "warning"
        message = d.message + (f" ({d.hint})" if d.hint else "")
        lines.append(
            f"::{kind} file={shown(d.path)},line={d.line},col={d.column},"
            f"endLine={d.end_line},endColumn={d.end_column},"
            f"title={_gh_prop(d.code + ' ' + d.name)}::{_gh_data(message)}"
        )
    return "".join(line + "\n" for line in lines)


def _level(severity: Severity) -> str:
    return "error" if severity is Severity.ERROR else "warning"


def sarif_rules() -> list[dict[str, Any]]:
    """Every rule, described for ``tool.driver.rules``."""
    rules = []
    for rule in iter_rules():
        sections = doc_sections(rule)
        full = " ".join(sections.get("What it does", "").split())
        why = " ".join(sections.get("Why is this bad?", "").split())
        help_md = "\n\n".join(
            f"**{title}**\n\n{sections[title]}" for title in sections if sections[title]
        )
        rules.append(
            {
                "id": rule.code,
                "name": rule.name,
                "shortDescription": {"text": rule.summary() or rule.name},
                "fullDescription": {"text": full or rule.name},
                "help": {"text": f"{full}\n\n{why}".strip(), "markdown": help_md},
                "defaultConfiguration": {
                    "level": _level(rule.severity),
                    "enabled": rule.default_enabled,
                },
                "properties": {"tags": ["error" if rule.code < "WF200" else "lint"]},
            }
        )
    return rules


def _directory_uri(directory: Path) -> str:
    uri = directory.as_uri()
    return uri if uri.endswith("/") else uri + "/"


def _line_hash(d: Diagnostic, uri: str, line_text: str) -> str:
    # Stable when lines move: the rule, the file and the offending line's text,
    # not its number. An occurrence count is appended to separate equal lines.
    key = f"{d.code}\0{uri}\0{' '.join(line_text.split())}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def format_sarif(diags: Sequence[Diagnostic], sources: Sources, version: str) -> str:
    rules = sarif_rules()
    index = {r["id"]: i for i, r in enumerate(rules)}
    lines = _source_lines(sources)
    displayed = _PerPath(display_path)
    located = _PerPath(artifact_location)
    seen: dict[str, int] = {}
    results = []
    for d in diags:
        shown = displayed(d.path)
        cut = lines(d.path)
        line_text = (cut.line(d.line) or "") if cut is not None else ""
        base = _line_hash(d, shown, line_text)
        seen[base] = seen.get(base, 0) + 1
        results.append(
            {
                "ruleId": d.code,
                "ruleIndex": index[d.code],
                "level": _level(d.severity),
                "message": {"text": d.message + (f" ({d.hint})" if d.hint else "")},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": located(d.path),
                            "region": {
                                "startLine": max(d.line, 1),
                                "startColumn": max(d.column, 1),
                                "endLine": max(d.end_line, d.line, 1),
                                "endColumn": max(d.end_column, 1),
                            },
                        }
                    }
                ],
                "partialFingerprints": {"primaryLocationLineHash": f"{base}:{seen[base]}"},
            }
        )
    log = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "wfdsl",
                        "version": version,
                        "semanticVersion": version,
                        "informationUri": "https://pypi.org/project/wfdsl/",
                        "rules": rules,
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": _directory_uri(Path.cwd())}},
                "results": results,
                "columnKind": "unicodeCodePoints",
            }
        ],
    }
    return json_text(log) + "\n"


def render(
    fmt: str, diags: Sequence[Diagnostic], sources: Sources, files: int, color: bool, version: str
) -> str:
    """Render findings in one of :data:`FORMATS`."""
    if fmt == "json":
        return format_json(diags)
    if fmt == "github":
        return format_github(diags)
    if fmt == "sarif":
        return format_sarif(diags, sources, version)
    return format_text(diags, sources, files, color)
