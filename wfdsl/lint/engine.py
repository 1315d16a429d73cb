"""The lint driver: parse, validate, run the selected rules, apply ``noqa``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from wfdsl.diagnostics import Diagnostic, Severity
from wfdsl.errors import SpecError
from wfdsl.ir import Gap, Spec
from wfdsl.lint import rules as _rules  # noqa: F401  (registers every rule)
from wfdsl.lint.base import REGISTRY, LintRule, resolve
from wfdsl.lint.config import Selection
from wfdsl.lint.noqa import Directive, covers, parse_directives
from wfdsl.source import Source, analyze_lenient, decode, gc_paused

_RULE_INSTANCES: dict[str, LintRule] = {}
#: WF303 unused-noqa: reported by this driver rather than by a rule's check.
UNUSED_NOQA = "WF303"


def _rule(code: str) -> LintRule:
    rule = _RULE_INSTANCES.get(code)
    if rule is None:
        cls = REGISTRY[code]
        assert issubclass(cls, LintRule), code
        rule = _RULE_INSTANCES[code] = cls()
    return rule


def check_spec(
    spec: Spec, codes: frozenset[str], gaps: frozenset[Gap] = frozenset()
) -> Iterator[Diagnostic]:
    """Findings of the given lint rules, before ``noqa``, in a fixed order
    (rule by rule, each in the order of the spec). With ``gaps`` (a spec
    built from a file with errors), rules that need what is missing are
    skipped: see :func:`runnable`."""
    for code in sorted(runnable(codes, gaps)):
        yield from _rule(code).check(spec)


def runnable(codes: frozenset[str], gaps: frozenset[Gap]) -> frozenset[str]:
    """The rules among ``codes`` that can run on a spec lacking ``gaps``
    (WF303 is the driver's own, never a rule run)."""
    return frozenset(
        code for code in codes if code != UNUSED_NOQA and not (_rule(code).needs & gaps)
    )


@dataclass(frozen=True, slots=True)
class FileResult:
    path: str
    text: str | None
    diagnostics: tuple[Diagnostic, ...]


def lint_text(text: str, path: str, selection: Selection | None = None) -> list[Diagnostic]:
    """Every finding for one file's text, sorted by position."""
    # The collector stays off until the spec has been linted and dropped, so
    # it never scans the whole live graph of a large spec (see gc_paused).
    with gc_paused():
        return _lint_text(text, path, selection or Selection())


def _lint_text(text: str, path: str, selection: Selection) -> list[Diagnostic]:
    try:
        source = analyze_lenient(text, path)
    except SpecError as exc:  # a syntax error: nothing else can be checked
        return sorted(exc.diagnostics, key=Diagnostic.sort_key)
    return lint_source(source, selection)


def lint_source(source: Source, selection: Selection | None = None) -> list[Diagnostic]:
    """Every finding for a parsed file, sorted by position: for callers that
    need the spec too and should not parse twice.

    The file's errors (``source.errors``, never suppressed) come with every
    warning that can still be computed: rules that need what the errors
    take away (:attr:`~wfdsl.lint.base.LintRule.needs`) are skipped, and so
    are WF303 reports for ``noqa`` entries that could cover a skipped rule.
    """
    selection = selection or Selection()
    path = source.spec.path
    enabled = selection.enabled(path)
    ran = runnable(enabled, source.gaps)
    found = list(check_spec(source.spec, ran))
    directives = parse_directives(source.comments, source.text)
    if directives:
        found = _apply_noqa(found, directives)
        if UNUSED_NOQA in enabled:
            skipped = enabled - ran - {UNUSED_NOQA}
            found.extend(_unused(directives, path, skipped))
    found.extend(source.errors)
    found.sort(key=Diagnostic.sort_key)
    return found


def lint_bytes(data: bytes, path: str, selection: Selection | None = None) -> FileResult:
    try:
        text = decode(data, path)
    except SpecError as exc:
        return FileResult(path, None, exc.diagnostics)
    return FileResult(path, text, tuple(lint_text(text, path, selection)))


def _apply_noqa(found: list[Diagnostic], directives: list[Directive]) -> list[Diagnostic]:
    by_line: dict[int, list[Directive]] = {}
    file_level: list[Directive] = []
    for d in directives:
        (file_level if d.file_level else by_line.setdefault(d.span.line, [])).append(d)
    kept: list[Diagnostic] = []
    for diag in found:
        suppressed = False
        for d in (*file_level, *by_line.get(diag.line, ())):
            entry = d.matching(diag.code)
            if entry is not None:
                d.used.add(entry)
                suppressed = True
        if not suppressed:
            kept.append(diag)
    return kept


def _unused(
    directives: list[Directive], path: str, skipped: frozenset[str] = frozenset()
) -> list[Diagnostic]:
    """WF303 findings. They obey ``noqa`` themselves: a file-level directive
    or a line's explicit entry for WF303 (not a bare ``noqa``) suppresses
    them, and such an entry counts as used only if it suppresses one. An
    entry that covers a ``skipped`` rule might have suppressed one of its
    findings, so it is not reported."""
    rule = REGISTRY[UNUSED_NOQA]
    found: list[Diagnostic] = []
    deferred: list[tuple[Directive, str, str]] = []
    for d in directives:
        if d.codes is None:
            if not d.used and not skipped:
                found.append(
                    rule.at(path, d.span, "unused blanket 'noqa': nothing to suppress here")
                )
            continue
        for written, entry in zip(d.written, d.codes, strict=True):
            if resolve(written) is None:
                found.append(rule.at(path, d.span, f"'noqa' names unknown rule '{written}'"))
            elif entry in d.used or any(covers(entry, code) for code in skipped):
                continue
            elif covers(entry, UNUSED_NOQA):
                deferred.append((d, written, entry))
            else:
                found.append(_unused_entry(path, d, written))
    found = _apply_noqa(found, [d for d in directives if d.codes is not None])
    found.extend(_unused_entry(path, d, w) for d, w, entry in deferred if entry not in d.used)
    return found


def _unused_entry(path: str, directive: Directive, written: str) -> Diagnostic:
    code = resolve(written)
    if code in REGISTRY and REGISTRY[code].severity is Severity.ERROR:
        why, hint = "errors are never suppressed", "remove it, and fix the error"
    else:
        why, hint = "nothing to suppress", "remove it"
    return REGISTRY[UNUSED_NOQA].at(
        path, directive.span, f"unused 'noqa' for {written}: {why}", hint
    )
