"""Lint rule WF210: timed transitions that can never fire.

The graph rules (:mod:`wfdsl.lint.rules.graph`) count timed transitions as
edges; this module holds what is particular to timers.
"""

from __future__ import annotations

from collections.abc import Iterator

from wfdsl.diagnostics import Diagnostic
from wfdsl.ir import Gap, Spec, TimedEdge
from wfdsl.lint.base import LintRule, register


def _order(timer: TimedEdge) -> tuple[int, int]:
    """Which of two armed timers fires first: the shorter, then the one written first."""
    return (timer.after.ms, timer.index)


def _shown(timer: TimedEdge) -> str:
    return f"line {timer.span.line} (after {timer.after.text})"


def _fix(blocker: TimedEdge, timer: TimedEdge) -> str:
    if blocker.after.ms < timer.after.ms:
        return "give that one a guard, or make this one shorter"
    return "move it above that transition, or give that one a guard"


@register
class ShadowedTimer(LintRule):
    """## What it does
    Reports a timed transition that can never fire because an unguarded timed
    transition from the same state has a shorter duration, or the same
    duration and is written earlier. A `*` timed transition is reported only
    when that holds in every state it arms in; a transition with several
    sources is reported at each source where it holds, or once when it holds
    for all of them.

    ## Why is this bad?
    Entering the state arms both timers; the unguarded one always comes due
    first and fires, and leaving the state disarms the other one. Usually a
    guard is missing on the earlier one, or the durations are the wrong way
    round.

    ## Example
    ```
    workflow payment {
        initial state pending
        final state expired
        final state reminded
        pending -> expired after 1h
        pending -> reminded after 2d
    }
    ```

    ## Use instead
    ```
    workflow payment {
        initial state pending
        state reminded
        final state expired
        pending -> reminded after 1h
        reminded -> expired after 2d
    }
    ```
    """

    code = "WF210"
    name = "shadowed-timer"
    needs = frozenset({Gap.STATES, Gap.GUARDS, Gap.DURATIONS})

    def check(self, spec: Spec) -> Iterator[Diagnostic]:
        timers = spec.timed_edges
        if not timers:
            return
        # The unguarded timer that fires first in each state (explicit
        # sources), and among the `*` ones.
        first: dict[str, TimedEdge] = {}
        wild_first: TimedEdge | None = None
        for t in timers:
            if t.guard is not None:
                continue
            if t.wildcard:
                if wild_first is None or _order(t) < _order(wild_first):
                    wild_first = t
                continue
            for state in t.source_names:
                if state not in first or _order(t) < _order(first[state]):
                    first[state] = t

        def blocker(state: str, timer: TimedEdge) -> TimedEdge | None:
            """The unguarded timer that fires before ``timer`` in ``state``, if any."""
            found = [
                b
                for b in (first.get(state), wild_first)
                if b is not None and b is not timer and _order(b) < _order(timer)
            ]
            return min(found, key=_order, default=None)

        non_final = [s.name for s in spec.states if not s.final]
        for t in timers:
            if t.wildcard:
                yield from self._check_wildcard(spec, t, wild_first, first, non_final)
                continue
            blocked = [(src, blocker(src.value, t)) for src in t.sources]
            if all(b is not None for _, b in blocked):
                b = blocked[0][1]
                assert b is not None
                yield self.at(
                    spec.path,
                    t.span,
                    f"timed transition after {t.after.text} can never fire: the unguarded"
                    f" timed transition on {_shown(b)} always fires first",
                    _fix(b, t),
                )
                continue
            for src, b in blocked:
                if b is not None:
                    yield self.at(
                        spec.path,
                        src.span,
                        f"timed transition from '{src.value}' after {t.after.text} can never"
                        f" fire: the unguarded timed transition on {_shown(b)} always fires first",
                        f"remove '{src.value}' from the sources, or give that one a guard",
                    )

    def _check_wildcard(
        self,
        spec: Spec,
        t: TimedEdge,
        wild_first: TimedEdge | None,
        first: dict[str, TimedEdge],
        non_final: list[str],
    ) -> Iterator[Diagnostic]:
        if wild_first is not None and wild_first is not t and _order(wild_first) < _order(t):
            yield self.at(
                spec.path,
                t.span,
                f"timed transition after {t.after.text} can never fire: the unguarded `*`"
                f" timed transition on {_shown(wild_first)} always fires first",
                _fix(wild_first, t),
            )
        elif non_final and all(s in first and _order(first[s]) < _order(t) for s in non_final):
            yield self.at(
                spec.path,
                t.span,
                f"`*` timed transition after {t.after.text} can never fire: every non-final"
                " state has an unguarded timed transition of its own that fires first",
                "remove it, or guard the timed transitions of some state",
            )
