"""Changes between two versions of a workflow that break in-flight instances
(``wfdsl breaking``), as diagnostics with stable codes WF501–WF507.

An instance is stored under the workflow's name with the name of its current
state; it advances by the events its state accepts and by the timers its
state armed when the instance entered it. A new version breaks it when it can
no longer find its workflow or its state, when an event it may still receive,
a move it may still make or a timer it has armed is gone or changed, or when
its state has become a dead end. Additions never break anything and are not
reported.

Each finding names the states of the *old* spec whose instances it affects
(:attr:`Change.states`), so that a caller who knows where live instances are
can keep only the findings that matter (``wfdsl breaking --db``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace

from wfdsl.compare.diff import Mark, Move, SpecDiff, diff_specs, guard_text
from wfdsl.diagnostics import Diagnostic, Rule, Severity
from wfdsl.ir import Edge, Span, Spec, TimedEdge, format_guard


class BreakingRule(Rule):
    """A kind of breaking change. Documented like a lint rule, but not a lint
    rule: ``wfdsl breaking`` reports them, ``wfdsl lint`` does not."""

    severity = Severity.ERROR


#: Every breaking-change rule, by code.
BREAKING_RULES: dict[str, type[BreakingRule]] = {}


def _register(rule: type[BreakingRule]) -> type[BreakingRule]:
    assert rule.code not in BREAKING_RULES, rule.code
    BREAKING_RULES[rule.code] = rule
    return rule


@_register
class StateRemoved(BreakingRule):
    """## What it does
    Reports a state of the old version that the new version does not declare
    (including a renamed state: the hint names the likely new name).

    ## Why is this bad?
    Instances sitting in that state are stored under its name; the new spec
    cannot say what they may do next, so every event sent to them fails.

    ## Example
    ```
    state packed          # removed, or renamed to 'boxed'
    ```

    ## Use instead
    Keep the state until no instance is in it (`wfdsl breaking --db URL`
    shows whether any is), or move those instances first.
    """

    code = "WF501"
    name = "state-removed"


@_register
class EventRemoved(BreakingRule):
    """## What it does
    Reports an event of the old version that the new version does not declare.
    An event that no transition used is not reported: every instance refused
    it already.

    ## Why is this bad?
    Callers of running instances still send it; it is now an unknown event and
    is refused.

    ## Example
    ```
    event cancel          # removed
    ```

    ## Use instead
    Keep the event (with its transitions) until no caller sends it.
    """

    code = "WF502"
    name = "event-removed"


@_register
class TransitionRemoved(BreakingRule):
    """## What it does
    Reports a move (state, event, target) that the old version allowed and the
    new one does not, for states and events that still exist: a transition
    deleted, a source dropped from its list, or its target changed.

    ## Why is this bad?
    An instance waiting in that state for that event gets `IllegalTransition`
    (or lands somewhere else) instead of the step it was started for.

    ## Example
    ```
    created, paid -> cancelled on cancel   # old
    created -> cancelled on cancel         # new: 'paid' lost it
    ```

    ## Use instead
    Keep the move while instances may wait for it.
    """

    code = "WF503"
    name = "transition-removed"


@_register
class StateMadeFinal(BreakingRule):
    """## What it does
    Reports a state that was not final and now is.

    ## Why is this bad?
    Instances in it were on their way somewhere; now nothing leaves that state
    and they are stuck as if they had finished.

    ## Example
    ```
    state shipped         # old
    final state shipped   # new
    ```

    ## Use instead
    Add a new final state and a transition into it.
    """

    code = "WF504"
    name = "state-made-final"


@_register
class InitialChanged(BreakingRule):
    """## What it does
    Reports that the initial state is a different one.

    ## Why is this bad?
    Instances already started began somewhere the new version does not start;
    compensating them back to the beginning and reading their history against
    the new spec no longer agree.

    ## Example
    ```
    initial state created   # old
    initial state draft     # new
    ```

    ## Use instead
    Keep the old initial state and add the new step after it.
    """

    code = "WF505"
    name = "initial-changed"


@_register
class WorkflowRenamed(BreakingRule):
    """## What it does
    Reports that the workflow's name changed.

    ## Why is this bad?
    Stores keep instances under the workflow's name; a manager for the new
    name finds none of the instances started under the old one.

    ## Example
    ```
    workflow order        # old
    workflow purchase     # new
    ```

    ## Use instead
    Keep the name; put the new wording in the description.
    """

    code = "WF506"
    name = "workflow-renamed"


@_register
class TimerChanged(BreakingRule):
    """## What it does
    Reports a timed transition that the old version arms in a state and the
    new version does not arm there as it was: removed, a source dropped, or
    its duration, target or guard changed (the description and how the
    duration is written, `90m` or `1h30m`, do not count). States and targets
    that are gone, and states made final, are reported as such instead.

    ## Why is this bad?
    An instance armed its state's timers when it entered the state, due at
    that moment plus the old duration. Under the new version an armed timer
    that is gone never fires, so the instance waits for a deadline that
    never comes; one that changed fires at the old time into the old target
    under the old condition, or not at all, and either way not as either
    version says.

    ## Example
    ```
    created -> expired after 30m   # old
    created -> expired after 1h    # new
    ```

    ## Use instead
    Add the new timed transition from a new state and move instances there,
    or change it once no instance waits in the state (`wfdsl breaking --db
    URL` counts them).
    """

    code = "WF507"
    name = "timer-changed"


@dataclass(frozen=True, slots=True)
class Change:
    """One breaking change."""

    diagnostic: Diagnostic
    #: States of the old spec whose instances it breaks (for ``--db``).
    states: tuple[str, ...]


def _edge_text(edge: Edge, sources: Iterable[str] | None = None) -> str:
    src = (
        ", ".join(sources)
        if sources is not None
        else ("*" if edge.wildcard else ", ".join(edge.source_names))
    )
    text = f"{src} -> {edge.target.value} on {edge.event.value}"
    return text + (f" if {format_guard(edge.guard)}" if edge.guard is not None else "")


def _timer_text(timer: TimedEdge) -> str:
    src = "*" if timer.wildcard else ", ".join(timer.source_names)
    text = f"{src} -> {timer.target.value} after {timer.after.text}"
    return text + (f" if {format_guard(timer.guard)}" if timer.guard is not None else "")


def _same_timer(a: TimedEdge, b: TimedEdge) -> bool:
    """Whether two timed transitions behave alike once armed."""
    return (a.after.ms, a.target.value, guard_text(a)) == (
        b.after.ms,
        b.target.value,
        guard_text(b),
    )


_SELF = "\0self"

#: How alike a removed and an added state (or event) must be to guess a rename.
RENAME_SIMILARITY = 0.5


def _state_shape(spec: Spec, moves: Iterable[Move], name: str) -> frozenset[tuple[str, ...]]:
    """What a state does, without its name (its moves in and out, its hooks,
    its flags): for guessing renames."""
    shape: set[tuple[str, ...]] = set()
    for s, e, t in moves:
        if s == name:
            shape.add(("out", e, _SELF if t == name else t))
        elif t == name:
            shape.add(("in", s, e))
    st = spec.state(name)
    for item in st.items:
        shape.update((item.kind.value, n.value) for n in item.names)
    shape.update((flag,) for flag in ("initial", "final") if getattr(st, flag))
    return frozenset(shape)


def _event_shape(moves: Iterable[Move], name: str) -> frozenset[tuple[str, ...]]:
    return frozenset((s, t) for (s, e, t) in moves if e == name)


def _rename_hint(
    old_shape: frozenset[tuple[str, ...]], candidates: Mapping[str, frozenset[tuple[str, ...]]]
) -> str | None:
    """The added name most like the removed one, if it is alike enough and
    no other is as alike."""
    scored = sorted(
        (len(old_shape & shape) / len(old_shape | shape), name)
        for name, shape in candidates.items()
        if old_shape | shape
    )
    if not scored:
        return None
    best, name = scored[-1]
    if best < RENAME_SIMILARITY or (len(scored) > 1 and scored[-2][0] == best):
        return None
    return f"renamed to '{name}'? running instances still use the old name"


def _head(decl: Span, name: Span) -> Span:
    """From the start of a declaration to the end of its name."""
    return Span(decl.line, decl.column, name.end_line, name.end_column) if decl.line else name


def compare(old: Spec, new: Spec) -> list[Change]:
    """The changes from ``old`` to ``new`` that break in-flight instances.

    Locations point into ``new`` when the thing still exists there, else into
    ``old``; ``Diagnostic.path`` is the spec's ``path``."""
    return list(_compare(diff_specs(old, new)))


def _compare(diff: SpecDiff) -> Iterator[Change]:
    old, new = diff.old, diff.new
    all_old = tuple(s.name for s in old.states)
    if diff.renamed:
        yield Change(
            WorkflowRenamed.at(
                new.path,
                new.span,
                f"workflow renamed from '{old.name}' to '{new.name}'",
                f"stores keep instances under '{old.name}'; the new name finds none of them",
            ),
            all_old,
        )

    old_moves, new_moves = diff.old_moves, diff.new_moves
    added_shapes = {
        s.name: _state_shape(new, new_moves, s.name) for s in diff.states if s.mark is Mark.ADDED
    }
    for sd in diff.states:
        if sd.mark is Mark.REMOVED:
            st = sd.current
            hint = _rename_hint(_state_shape(old, old_moves, st.name), added_shapes)
            # Instances in it, and those in surviving states whose moves (or
            # armed timers) into it are gone with it (they are not reported as
            # removed transitions).
            feeding = [s for (s, _e, t) in old_moves if t == st.name and new.has_state(s)]
            feeding += (
                s
                for timer in old.timed_edges
                if timer.target.value == st.name
                for s in old.sources_of(timer)
                if new.has_state(s)
            )
            yield Change(
                StateRemoved.at(old.path, st.span, f"state '{st.name}' was removed", hint),
                tuple(dict.fromkeys((st.name, *feeding))),
            )

    event_shapes = {
        e.name: _event_shape(new_moves, e.name) for e in diff.events if e.mark is Mark.ADDED
    }
    for ed in diff.events:
        if ed.old is not None and ed.mark is Mark.REMOVED:
            ev = ed.old
            hint = _rename_hint(_event_shape(old_moves, ev.name), event_shapes)
            waiting = tuple(dict.fromkeys(s for (s, e, _t) in old_moves if e == ev.name))
            if not waiting:
                continue  # it moved no instance anywhere: every send was refused already
            yield Change(
                EventRemoved.at(old.path, ev.span, f"event '{ev.name}' was removed", hint),
                waiting,
            )

    lost: dict[int, list[str]] = {}
    for (src, event, target), edge in old_moves.items():
        if not (new.has_state(src) and new.has_state(target) and new.has_event(event)):
            continue  # reported as a removed state or event
        if (src, event, target) not in new_moves:
            lost.setdefault(edge.index, []).append(src)
    for index, sources in sorted(lost.items()):
        edge = old.edges[index]
        all_sources = old.sources_of(edge)
        if tuple(sources) == all_sources:
            message = f"transition '{_edge_text(edge)}' was removed"
        else:
            froms = ", ".join(f"'{s}'" for s in sources)
            message = f"transition '{_edge_text(edge)}' no longer fires from {froms}"
        elsewhere = sorted({t for (s, e, t) in new_moves if s in sources and e == edge.event.value})
        hint = (
            f"'{edge.event.value}' now leads to " + ", ".join(f"'{t}'" for t in elsewhere)
            if elsewhere
            else None
        )
        yield Change(TransitionRemoved.at(old.path, edge.span, message, hint), tuple(sources))

    yield from _timer_changes(old, new)

    for sd in diff.states:
        if sd.made_final:
            st = sd.current
            yield Change(
                StateMadeFinal.at(
                    new.path,
                    _head(st.decl_span, st.span),
                    f"state '{st.name}' is now final",
                    "instances in it can no longer move on",
                ),
                (st.name,),
            )

    if diff.initial_changed:
        init = new.initial
        yield Change(
            InitialChanged.at(
                new.path,
                _head(init.decl_span, init.span),
                f"initial state changed from '{old.initial.name}' to '{init.name}'",
            ),
            (old.initial.name,),
        )


def _timer_changes(old: Spec, new: Spec) -> Iterator[Change]:
    """WF507: per timed transition of ``old``, the states that no longer arm it
    as it was; with the new version's counterpart when exactly one property
    changed."""
    lost: dict[int, list[str]] = {}
    for st in old.states:
        if not new.has_state(st.name) or new.state(st.name).final:
            continue  # reported as a removed state, or a state made final
        armed = new.timed_from(st.name)
        for timer in old.timed_from(st.name):
            if not new.has_state(timer.target.value):
                continue  # reported with the removed state
            if not any(_same_timer(timer, t) for t in armed):
                lost.setdefault(timer.index, []).append(st.name)
    for index, sources in sorted(lost.items()):
        timer = old.timed_edges[index]
        still = [s for s in old.sources_of(timer) if new.has_state(s) and not new.state(s).final]
        successor = _successor(timer, [new.timed_from(s) for s in sources])
        if successor is not None:
            message = (
                f"timed transition '{_timer_text(timer)}' changed to '{_timer_text(successor)}'"
            )
        elif sources == still:
            message = f"timed transition '{_timer_text(timer)}' was removed"
        else:
            froms = ", ".join(f"'{s}'" for s in sources)
            message = f"timed transition '{_timer_text(timer)}' no longer fires from {froms}"
        where = ", ".join(f"'{s}'" for s in sources[:3]) + (" and others" if sources[3:] else "")
        hint = f"instances already waiting in {where} have it armed as it was"
        yield Change(TimerChanged.at(old.path, timer.span, message, hint), tuple(sources))


def _successor(timer: TimedEdge, armed: list[tuple[TimedEdge, ...]]) -> TimedEdge | None:
    """The one timed transition that every state in question arms in the new
    version in place of ``timer``, differing in exactly one of duration,
    target and guard."""

    def close(t: TimedEdge) -> bool:
        same = (
            t.after.ms == timer.after.ms,
            t.target.value == timer.target.value,
            guard_text(t) == guard_text(timer),
        )
        return sum(same) == 2

    found = {t.index: t for t in armed[0] if close(t)} if armed else {}
    for others in armed[1:]:
        found = {i: t for i, t in found.items() if any(o is t for o in others)}
    return next(iter(found.values())) if len(found) == 1 else None


def live_states(records: Iterable[tuple[str, bool]], old: Spec) -> dict[str, int]:
    """Count instances per state, given ``(state, busy)`` per instance; an
    instance in a final state counts only when ``busy`` (hook work pending or
    dead, or a compensation in progress): the others have finished."""
    counts: dict[str, int] = {}
    for state, busy in records:
        finished = old.has_state(state) and old.state(state).final and not busy
        if not finished:
            counts[state] = counts.get(state, 0) + 1
    return counts


def narrow(changes: Iterable[Change], live: Mapping[str, int]) -> list[Change]:
    """Keep the changes that break at least one live instance, each with how
    many in its message."""
    out = []
    for ch in changes:
        hits = {s: live[s] for s in ch.states if live.get(s)}
        if not hits:
            continue
        total = sum(hits.values())
        where = ", ".join(f"'{s}'" for s in hits)
        noun = "instance" if total == 1 else "instances"
        d = ch.diagnostic
        out.append(
            replace(
                ch, diagnostic=replace(d, message=f"{d.message} ({total} live {noun} in {where})")
            )
        )
    return out
