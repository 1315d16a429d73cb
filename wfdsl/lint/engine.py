"""The lint driver: parse, validate, run the selected rules, apply ``noqa``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from wfdsl.diagnostics import Diagnostic, Severity
from wfdsl.errors import SpecError
from wfdsl.frontend.source import Source, analyze_lenient, decode, gc_paused
from wfdsl.ir import Gap, Spec
from wfdsl.lint import rules as _rules  # noqa: F401  (registers every rule)
from wfdsl.lint.base import REGISTRY, LintRule, resolve
from wfdsl.lint.config import Selection
from wfdsl.lint.noqa import Directive, covers, parse_directives

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


# -- what noqa comments do, for wfdsl fmt -------------------------------------------


@dataclass(frozen=True, slots=True)
class NoqaOutcome:
    """What the ``noqa`` comments of a valid file do, in terms that do not
    depend on where lines are: two layouts of one spec lint alike exactly
    when their outcomes are :meth:`equivalent`."""

    #: Every finding before ``noqa``, in :func:`check_spec`'s fixed order
    #: (which depends on the spec only, not on its layout).
    findings: tuple[Diagnostic, ...]
    #: Whether each finding is reported (not suppressed).
    reported: tuple[bool, ...]
    #: WF303 findings as (comment text, message), sorted.
    unused: tuple[tuple[str, str], ...]

    def difference(self, other: NoqaOutcome) -> str | None:
        """How ``other`` lints differently from this outcome, in words; None
        if it lints the same."""
        if [d.code for d in self.findings] != [d.code for d in other.findings]:
            return "it finds other problems"  # the specs differ: a formatter bug
        for before, after, was, now in zip(
            self.findings, other.findings, self.reported, other.reported, strict=True
        ):
            if was and not now:
                return (
                    f"{after.code} at line {after.line} ({after.message}) would be suppressed"
                    " by a noqa comment that would end up on its line"
                )
            if now and not was:
                return (
                    f"{before.code} at line {before.line} ({before.message}) would no longer"
                    " be suppressed: its noqa comment would end up on another line"
                )
        if self.unused != other.unused:
            gone = Counter(self.unused) - Counter(other.unused)
            new = Counter(other.unused) - Counter(self.unused)
            text, message = next(iter(new or gone))
            change = "would become" if new else "would no longer be"
            return f"the comment '{text}' {change} reported as {message}"
        return None


def noqa_outcome(source: Source, selection: Selection | None = None) -> NoqaOutcome:
    """The :class:`NoqaOutcome` of a valid file under ``selection``."""
    selection = selection or Selection()
    enabled = selection.enabled(source.spec.path)
    found = list(check_spec(source.spec, enabled))
    directives = parse_directives(source.comments, source.text)
    kept = {id(d) for d in _apply_noqa(found, directives)}
    unused: list[tuple[str, str]] = []
    if directives and UNUSED_NOQA in enabled:
        texts = {(c.line, c.column): str(c).rstrip() for c in source.comments}
        unused = [
            (texts[(d.line, d.column)], d.message) for d in _unused(directives, source.spec.path)
        ]
    return NoqaOutcome(tuple(found), tuple(id(d) in kept for d in found), tuple(sorted(unused)))
