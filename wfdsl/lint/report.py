"""Lint results as text, JSON, GitHub workflow commands or SARIF 2.1.0."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from wfdsl.diagnostics import Diagnostic, Severity, doc_sections, source_line
from wfdsl.lint.base import iter_rules

FORMATS = ("text", "json", "github", "sarif")

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
    return {"uri": quote(Path(rel).as_posix(), safe="/"), "uriBaseId": "%SRCROOT%"}


def format_text(diags: Sequence[Diagnostic], sources: Sources, files: int, color: bool) -> str:
    out: list[str] = []
    for d in diags:
        block = d.render(sources.get(d.path))
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


def format_json(diags: Sequence[Diagnostic]) -> str:
    return (
        json.dumps(
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
            indent=2,
            ensure_ascii=False,
        )
        + "\n"
    )


def _gh_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_prop(text: str) -> str:
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


def format_github(diags: Sequence[Diagnostic]) -> str:
    lines = []
    for d in diags:
        kind = "error" if d.severity is Severity.ERROR else "warning"
        message = d.message + (f" ({d.hint})" if d.hint else "")
        lines.append(
            f"::{kind} file={_gh_prop(display_path(d.path))},line={d.line},col={d.column},"
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
    seen: dict[str, int] = {}
    results = []
    for d in diags:
        shown = display_path(d.path)
        text = sources.get(d.path)
        line_text = (source_line(text, d.line) or "") if text is not None else ""
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
                            "artifactLocation": artifact_location(d.path),
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
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


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
