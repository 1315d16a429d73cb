"""wfdsl's diagnostics as LSP diagnostics, each linking its rule's documentation."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from lsprotocol import types

from wfdsl.lsp.actions import diagnostic_offsets
from wfdsl.lsp.documents import Analysis
from wfdsl.lsp.frontend import REGISTRY, Diagnostic, Severity, render_rules_page, rule_anchor

SOURCE = "wfdsl"
_SEVERITY = {
    Severity.ERROR: types.DiagnosticSeverity.Error,
    Severity.WARNING: types.DiagnosticSeverity.Warning,
}
#: Findings about code that never has an effect: editors fade it out.
UNNECESSARY = frozenset({"WF201", "WF204", "WF205", "WF210", "WF303"})


def rules_page(version: str) -> str | None:
    """A ``file:`` URI of ``docs/rules.md`` as this version of wfdsl generates
    it (from the rules' own docstrings), written once per version under the
    user's cache directory; None if it cannot be written.

    A local page matches the installed rules exactly and works offline; set
    the ``rulesUrl`` initialization option to link a hosted copy instead."""
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = Path(cache) / "wfdsl" / version / "rules.md"
    try:
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".rules-", suffix=".md")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(render_rules_page())
            os.replace(tmp, path)
    except OSError:
        return None
    return path.as_uri()


def rule_href(base: str, code: str) -> str:
    """The URL of a rule's section of the rules page at ``base``."""
    return f"{base}#{rule_anchor(REGISTRY[code])}"


def to_lsp(analysis: Analysis, d: Diagnostic, rules_base: str | None) -> types.Diagnostic:
    """One diagnostic, with the same code, span, severity and text as ``wfdsl lint``."""
    start, end = diagnostic_offsets(analysis, d)
    message = d.message + (f" ({d.hint})" if d.hint else "")
    return types.Diagnostic(
        range=analysis.index.range(start, end),
        message=message,
        severity=_SEVERITY[d.severity],
        code=d.code,
        code_description=(
            types.CodeDescription(href=rule_href(rules_base, d.code))
            if rules_base is not None and d.code in REGISTRY
            else None
        ),
        source=SOURCE,
        tags=[types.DiagnosticTag.Unnecessary] if d.code in UNNECESSARY else None,
    )


def publishable(analysis: Analysis, rules_base: str | None) -> list[types.Diagnostic]:
    """Every diagnostic of the analysis, and a warning at the top when the
    configuration could not be read (the default rules ran instead)."""
    out = [to_lsp(analysis, d, rules_base) for d in analysis.checked.diagnostics]
    if analysis.config_problem is not None:
        out.insert(
            0,
            types.Diagnostic(
                range=analysis.index.range(0, 0),
                message=f"{analysis.config_problem}; linting with the default rules",
                severity=types.DiagnosticSeverity.Warning,
                source=SOURCE,
            ),
        )
    return out
