"""Lint rules WF201-WF211: the shape of the state graph and of its transitions.

The graph rules share one :class:`Graph` per spec, built in one pass over the
transitions, timed ones included (SPEC §3: a state whose only way out is a
timer is no dead end). ``*`` transitions are kept as one shared list of targets instead
of being copied to every non-final state, so every rule here runs in time
linear in the size of the spec.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from wfdsl.diagnostics import Diagnostic
from wfdsl.ir import Edge, Gap, HookKind, Spec, State, TimedEdge
from wfdsl.lint.base import LintRule, register


@dataclass(frozen=True, slots=True)
class Graph:
    """The transition graph of one spec, states numbered in declaration order.

    Explicit transitions are adjacency lists; ``*`` transitions are one list
    of targets shared by every non-final state.
    """

    spec: Spec
    #: State number by name.
    index: dict[str, int]
    #: Whether each state is final.
    final: list[bool]
    #: Targets of explicit transitions, by source (repeats allowed).
    succ: list[list[int]]
    #: Sources of explicit transitions, by target (repeats allowed).
    pred: list[list[int]]
    #: Targets of ``*`` transitions, each once.
    wild_targets: list[int]
    #: Whether any transition (explicit or ``*``) enters each state.
    entered: list[bool]

    @property
    def states(self) -> tuple[State, ...]:
        return self.spec.states

    def has_outgoing(self, state: int) -> bool:
        """Whether any transition can leave ``state``."""
        return bool(self.succ[state]) or (bool(self.wild_targets) and not self.final[state])


def build_graph(spec: Spec) -> Graph:
    """The graph of ``spec``, in one pass over its states and transitions
    (event-triggered and timed alike: guards and events aside, each is a way
    from its sources to its target)."""
    index = {s.name: i for i, s in enumerate(spec.states)}
    n = len(spec.states)
    succ: list[list[int]] = [[] for _ in range(n)]
    pred: list[list[int]] = [[] for _ in range(n)]
    entered = [False] * n
    wild: dict[int, None] = {}
    for edge in spec.all_edges:
        target = index[edge.target.value]
        entered[target] = True
        if edge.wildcard:
            wild.setdefault(target, None)
            continue
        for src in edge.sources:
            source = index[src.value]
            succ[source].append(target)
            pred[target].append(source)
    return Graph(spec, index, [s.final for s in spec.states], succ, pred, list(wild), entered)


# One entry is enough: the rules of one lint run ask for the same spec in turn.
_cache: tuple[Spec, Graph] | None = None


def graph_of(spec: Spec) -> Graph:
    """The graph of ``spec``, built once however many rules ask for it."""
    global _cache
    cached = _cache
    if cached is not None and cached[0] is spec:
        return cached[1]
    graph = build_graph(spec)
    _cache = (spec, graph)
    return graph


def reachable_from(graph: Graph, starts: Iterable[int]) -> list[bool]:
    """Which states some path of transitions leads to from ``starts`` (included)."""
    seen = [False] * len(graph.final)
    stack: list[int] = []
    for s in starts:
        if not seen[s]:
            seen[s] = True
            stack.append(s)
    wild_done = not graph.wild_targets
    while stack:
        state = stack.pop()
        nexts: Iterable[int] = graph.succ[state]
        if not wild_done and not graph.final[state]:
            # The first non-final state reached makes every `*` target reachable.
            wild_done = True
            nexts = [*graph.succ[state], *graph.wild_targets]
        for nxt in nexts:
            if not seen[nxt]:
                seen[nxt] = True
                stack.append(nxt)
    return seen


def reverse_reachable(graph: Graph, targets: Iterable[int]) -> list[bool]:
    """Which states have a path of transitions to one of ``targets`` (included)."""
    n = len(graph.final)
    seen = [False] * n
    is_wild_target = [False] * n
    for t in graph.wild_targets:
        is_wild_target[t] = True
    stack: list[int] = []
    for t in targets:
        if not seen[t]:
            seen[t] = True
            stack.append(t)
    wild_done = False
    while stack:
        state = stack.pop()
        prevs: Iterable[int] = graph.pred[state]
        if is_wild_target[state] and not wild_done:
            # A `*` target is one step from every non-final state.
            wild_done = True
            prevs = [*graph.pred[state], *(i for i in range(n) if not graph.final[i])]
        for prev in prevs:
            if not seen[prev]:
                seen[prev] = True
                stack.append(prev)
    return seen


def _names(names: Iterable[str], limit: int = 3) -> str:
    quoted = [f"'{n}'" for n in names]
    if len(quoted) > limit:
        return ", ".join(quoted[:limit]) + f" (+{len(quoted) - limit} more)"
    return ", ".join(quoted)


@register
class UnreachableState(LintRule):
    """## What it does
    Reports a state that no sequence of transitions leads to from the initial
    state. Guards are assumed to be able to pass.

    ## Why is this bad?
    No instance can ever be in the state, so its hooks never run and any code
    written for it is dead. Usually a transition into it was forgotten or
    points at the wrong state.

    ## Example
    ```
    workflow order {
        initial state created
        state paid
        final state refunded
        final state shipped
        event pay, ship
        created -> paid on pay
        paid -> shipped on ship
    }
    ```

    ## Use instead
    ```
    workflow order {
        initial state created
        state paid
        final state refunded
        final state shipped
        event pay, ship, refund
        created -> paid on pay
        paid -> shipped on ship
        paid -> refunded on refund
    }
    ```
    """

    code = "WF201"
    name = "unreachable-state"
    needs = frozenset({Gap.STATES, Gap.INITIAL})

    def check(self, spec: Spec) -> Iterator[Diagnostic]:
        graph = graph_of(spec)
        initial = spec.initial
        seen = reachable_from(graph, [graph.index[initial.name]])
        for state, reached in zip(spec.states, seen, strict=True):
            if not reached:
                yield self.at(
                    spec.path,
                    state.span,
                    f"state '{state.name}' is unreachable from initial state '{initial.name}'",
                    f"add a transition into '{state.name}', or remove the state",
                )


@register
class DeadEnd(LintRule):
    """## What it does
    Reports a state that is not `final` but has no transition out of it.

    ## Why is this bad?
    An instance that enters the state is stuck there for good: every event is
    rejected, yet the instance never counts as finished. Either a transition
    is missing or the state should be `final`.

    ## Example
    ```
    workflow review {
        initial state submitted
        state rejected
        final state approved
        event approve, reject
        submitted -> approved on approve
        submitted -> rejected on reject
    }
    ```

    ## Use instead
    ```
    workflow review {
        initial state submitted
        final state rejected
        final state approved
        event approve, reject
        submitted -> approved on approve
        submitted -> rejected on reject
    }
    ```
    """

    code = "WF202"
    name = "dead-end"
    needs = frozenset({Gap.STATES})

    def check(self, spec: Spec) -> Iterator[Diagnostic]:
        graph = graph_of(spec)
        for i, state in enumerate(spec.states):
            if not state.final and not graph.has_outgoing(i):
                yield self.at(
                    spec.path,
                    state.span,
                    f"state '{state.name}' is not final but has no outgoing transition",
                    f"add a transition out of '{state.name}', or mark it final",
                )


@register
class NoPathToFinal(LintRule):
    """## What it does
    Reports a state from which no sequence of transitions reaches a `final`
    state, in a workflow that has one. States with no way out at all are left
    to WF202 (dead-end).

    ## Why is this bad?
    An instance that enters the state can move on but never finish: every
    way out leads into a loop of states that only lead back to each other.

    ## Example
    ```
    workflow deploy {
        initial state building
        state testing
        state retrying
        state waiting
        final state released
        event built, passed, failed, wait, retry
        building -> testing on built
        testing -> released on passed
        testing -> retrying on failed
        retrying -> waiting on wait
        waiting -> retrying on retry
    }
    ```

    ## Use instead
    ```
    workflow deploy {
        initial state building
        state testing
        state retrying
        state waiting
        final state released
        event built, passed, failed, wait, retry
        building -> testing on built
        testing -> released on passed
        testing -> retrying on failed
        retrying -> waiting on wait
        waiting -> building on retry
    }
    ```
    """

    code = "WF203"
    name = "no-path-to-final"
    needs = frozenset({Gap.STATES})

    def check(self, spec: Spec) -> Iterator[Diagnostic]:
        graph = graph_of(spec)
        finals = [i for i, is_final in enumerate(graph.final) if is_final]
        if not finals:
            return
        can_finish = reverse_reachable(graph, finals)
        final_names = _names(spec.states[i].name for i in finals)
        for i, state in enumerate(spec.states):
            if not can_finish[i] and graph.has_outgoing(i):
                yield self.at(
                    spec.path,
                    state.span,
                    f"no path from state '{state.name}' to a final state",
                    f"add a transition that leads towards {final_names}",
                )


@register
class ShadowedTransition(LintRule):
    """## What it does
    Reports a transition that can never fire because an earlier transition
    from the same state on the same event has no guard. Transitions are tried
    in the order written, and `*` transitions after the explicit ones of each
    state, so a `*` transition is reported only when it is shadowed in every
    state it applies to.

    ## Why is this bad?
    The first unguarded transition always fires, so the later one is dead
    code. Usually the order is wrong, or the earlier one lacks its guard.

    ## Example
    ```
    workflow payment {
        initial state pending
        final state captured
        final state declined
        event authorise
        pending -> captured on authorise
        pending -> declined on authorise if card_declined
    }
    ```

    ## Use instead
    ```
    workflow payment {
        initial state pending
        final state captured
        final state declined
        event authorise
        pending -> declined on authorise if card_declined
        pending -> captured on authorise
    }
    ```
    """

    code = "WF204"
    name = "shadowed-transition"
    needs = frozenset({Gap.STATES, Gap.EVENTS, Gap.GUARDS})

    def check(self, spec: Spec) -> Iterator[Diagnostic]:
        # The first unguarded explicit transition per (source, event), and the
        # (source, event) pairs in which a transition is shadowed.
        first_unguarded: dict[tuple[str, str], Edge] = {}
        shadowed: dict[int, list[tuple[int, Edge]]] = {}
        for edge in spec.edges:
            if edge.wildcard:
                continue
            event = edge.event.value
            for pos, src in enumerate(edge.sources):
                blocker = first_unguarded.get((src.value, event))
                if blocker is not None:
                    shadowed.setdefault(edge.index, []).append((pos, blocker))
                elif edge.guard is None:
                    first_unguarded[(src.value, event)] = edge
        for edge in spec.edges:
            blocked = shadowed.get(edge.index)
            if not blocked:
                continue
            event = edge.event.value
            if len(blocked) == len(edge.sources):
                blocker = blocked[0][1]
                yield self.at(
                    spec.path,
                    edge.span,
                    f"transition on '{event}' can never fire: the unguarded transition"
                    f" on line {blocker.span.line} always fires first",
                    "move it above that transition, or give that one a guard",
                )
                continue
            for pos, blocker in blocked:
                src = edge.sources[pos]
                if blocker is edge:
                    yield self.at(
                        spec.path,
                        src.span,
                        f"source '{src.value}' is listed twice in this transition",
                        f"remove the repeated '{src.value}'",
                    )
                    continue
                yield self.at(
                    spec.path,
                    src.span,
                    f"transition from '{src.value}' on '{event}' can never fire: the unguarded"
                    f" transition on line {blocker.span.line} always fires first",
                    f"remove '{src.value}' from the sources, or move the transition up",
                )
        yield from self._check_wildcards(spec, first_unguarded)

    def _check_wildcards(
        self, spec: Spec, first_unguarded: dict[tuple[str, str], Edge]
    ) -> Iterator[Diagnostic]:
        wildcards = [e for e in spec.edges if e.wildcard]
        if not wildcards:
            return
        # A `*` transition never fires if an earlier unguarded `*` transition on
        # its event exists, or if every non-final state has an unguarded
        # explicit one on that event.
        non_final = sum(1 for s in spec.states if not s.final)
        covered: dict[str, int] = {}
        last_explicit: dict[str, Edge] = {}
        for (_, event), edge in first_unguarded.items():
            covered[event] = covered.get(event, 0) + 1
            if event not in last_explicit or edge.index > last_explicit[event].index:
                last_explicit[event] = edge
        wild_unguarded: dict[str, Edge] = {}
        for edge in wildcards:
            event = edge.event.value
            blocker = wild_unguarded.get(event)
            if blocker is not None:
                yield self.at(
                    spec.path,
                    edge.span,
                    f"transition on '{event}' can never fire: the unguarded `*` transition"
                    f" on line {blocker.span.line} always fires first",
                    "move it above that transition, or give that one a guard",
                )
            elif covered.get(event, 0) == non_final:
                yield self.at(
                    spec.path,
                    edge.span,
                    f"`*` transition on '{event}' can never fire: every non-final state has"
                    f" an unguarded transition on '{event}' of its own",
                    "remove it, or guard one of the explicit transitions",
                )
            elif edge.guard is None:
                wild_unguarded[event] = edge


@register
class UnusedEvent(LintRule):
    """## What it does
    Reports an event that is declared but triggers no transition.

    ## Why is this bad?
    Events are the workflow's public interface. Sending this one is always
    rejected, which surprises callers; often a transition was forgotten or
    uses another event by mistake.

    ## Example
    ```
    workflow order {
        initial state created
        final state shipped
        event ship, expedite
        created -> shipped on ship
    }
    ```

    ## Use instead
    ```
    workflow order {
        initial state created
        final state shipped
        event ship, expedite
        created -> shipped on ship
        created -> shipped on expedite
    }
    ```
    """

    code = "WF205"
    name = "unused-event"
    needs = frozenset({Gap.EVENTS})

    def check(self, spec: Spec) -> Iterator[Diagnostic]:
        used = {edge.event.value for edge in spec.edges}
        for event in spec.events:
            if event.name not in used:
                yield self.at(
                    spec.path,
                    event.span,
                    f"event '{event.name}' is declared but triggers no transition",
                    "add a transition on it, or remove the declaration",
                )


@register
class CompensatorNeverRuns(LintRule):
    """## What it does
    Reports `compensate` on the initial state when no transition enters that
    state.

    ## Why is this bad?
    Compensation undoes the states entered *after* the state it walks back
    to, so it never undoes the start of an instance. Unless a transition
    re-enters the initial state, its compensators never run, and whatever
    they were meant to undo stays done.

    ## Example
    ```
    workflow booking {
        initial state reserved {
            enter hold_seat
            compensate release_seat
        }
        final state confirmed
        event confirm
        reserved -> confirmed on confirm
    }
    ```

    ## Use instead
    ```
    workflow booking {
        initial state requested
        state reserved {
            enter hold_seat
            compensate release_seat
        }
        final state confirmed
        event reserve, confirm
        requested -> reserved on reserve
        reserved -> confirmed on confirm
    }
    ```
    """

    code = "WF206"
    name = "compensator-never-runs"
    needs = frozenset({Gap.STATES, Gap.INITIAL})

    def check(self, spec: Spec) -> Iterator[Diagnostic]:
        initial = spec.initial
        item = next((i for i in initial.items if i.kind is HookKind.COMPENSATE), None)
        if item is None:
            return
        graph = graph_of(spec)
        if graph.entered[graph.index[initial.name]]:
            return
        yield self.at(
            spec.path,
            item.span,
            f"compensator on initial state '{initial.name}' can never run",
            "undo the work in the state entered after it, or start in an earlier state",
        )


@register
class NoFinalState(LintRule):
    """## What it does
    Reports a workflow with no `final` state.

    ## Why is this bad?
    Instances of it never finish: there is no way to tell a completed instance
    from one waiting for its next event, and stores keep every instance live.

    ## Example
    ```
    workflow job {
        initial state queued
        state running
        event run, requeue
        queued -> running on run
        running -> queued on requeue
    }
    ```

    ## Use instead
    ```
    workflow job {
        initial state queued
        state running
        final state done
        event run, requeue, finish
        queued -> running on run
        running -> queued on requeue
        running -> done on finish
    }
    ```
    """

    code = "WF207"
    name = "no-final-state"
    needs = frozenset()

    def check(self, spec: Spec) -> Iterator[Diagnostic]:
        if not any(s.final for s in spec.states):
            yield self.at(
                spec.path,
                spec.span,
                f"workflow '{spec.name}' has no final state",
                "mark the state where instances finish as `final state`",
            )


@register
class MissingCompensator(LintRule):
    """## What it does
    Reports a state with `enter` hooks but no `compensate`, in a workflow that
    uses compensation in other states. An initial state that no transition
    enters is exempt: its compensators could never run.

    ## Why is this bad?
    A workflow with compensators is meant to be walked back; a state whose
    entry does work but has nothing to undo it leaves that work in place when
    the instance is compensated past it, which is usually an oversight.

    ## Example
    ```
    workflow order {
        initial state created
        state paid {
            enter charge_card
            compensate refund_card
        }
        state packed {
            enter reserve_stock
        }
        final state shipped
        event pay, pack, ship
        created -> paid on pay
        paid -> packed on pack
        packed -> shipped on ship
    }
    ```

    ## Use instead
    ```
    workflow order {
        initial state created
        state paid {
            enter charge_card
            compensate refund_card
        }
        state packed {
            enter reserve_stock
            compensate release_stock
        }
        final state shipped
        event pay, pack, ship
        created -> paid on pay
        paid -> packed on pack
        packed -> shipped on ship
    }
    ```
    """

    code = "WF208"
    name = "missing-compensator"
    needs = frozenset({Gap.STATES})

    def check(self, spec: Spec) -> Iterator[Diagnostic]:
        if not any(s.compensate for s in spec.states):
            return
        graph = graph_of(spec)
        for i, state in enumerate(spec.states):
            if not state.enter or state.compensate:
                continue
            if state.initial and not graph.entered[i]:
                continue
            yield self.at(
                spec.path,
                state.span,
                f"state '{state.name}' has enter hooks but no compensator",
                f"add `compensate ...` undoing {_names(state.enter)}",
            )


@register
class NoFallback(LintRule):
    """## What it does
    Reports a state and event for which every transition is guarded, so the
    event is rejected (`GuardRejected`) whenever all guards are false. Off by
    default: rejecting an event is often exactly what is wanted.

    ## Why is this bad?
    Callers must be ready for the rejection; when they are not, an unguarded
    transition written last gives the event a defined outcome.

    ## Example
    ```
    workflow payment {
        initial state pending
        final state captured
        event authorise
        pending -> captured on authorise if card_valid
    }
    ```

    ## Use instead
    ```
    workflow payment {
        initial state pending
        final state captured
        final state declined
        event authorise
        pending -> captured on authorise if card_valid
        pending -> declined on authorise
    }
    ```
    """

    code = "WF209"
    name = "no-fallback"
    needs = frozenset({Gap.STATES, Gap.EVENTS, Gap.GUARDS})
    default_enabled = False

    def check(self, spec: Spec) -> Iterator[Diagnostic]:
        # `*` transitions per event: the last one, and whether one is unguarded.
        wild_last: dict[str, Edge] = {}
        wild_fallback: set[str] = set()
        for edge in spec.edges:
            if edge.wildcard:
                wild_last[edge.event.value] = edge
                if edge.guard is None:
                    wild_fallback.add(edge.event.value)
        # Explicit transitions per (source, event): the last one, and whether
        # one is unguarded.
        last: dict[tuple[str, str], Edge] = {}
        fallback: set[tuple[str, str]] = set()
        for edge in spec.edges:
            if edge.wildcard:
                continue
            for src in edge.sources:
                key = (src.value, edge.event.value)
                last[key] = edge
                if edge.guard is None:
                    fallback.add(key)
        # One finding per last transition, naming every state it leaves guarded.
        unguarded: dict[int, tuple[Edge, list[str]]] = {}
        for (source, event), edge in last.items():
            if (source, event) not in fallback and event not in wild_fallback:
                unguarded.setdefault(edge.index, (edge, []))[1].append(source)
        for edge, sources in sorted(unguarded.values(), key=lambda p: p[0].index):
            event = edge.event.value
            yield self.at(
                spec.path,
                edge.span,
                f"every transition from {_names(sources)} on '{event}' is guarded;"
                " the event is rejected when all guards are false",
                f"add an unguarded transition on '{event}' after the guarded ones",
            )
        # States with explicit transitions on an event were reported above.
        non_final = sum(1 for s in spec.states if not s.final)
        explicit_states: dict[str, int] = {}
        for _, event in last:
            explicit_states[event] = explicit_states.get(event, 0) + 1
        for event, edge in wild_last.items():
            if event not in wild_fallback and explicit_states.get(event, 0) < non_final:
                yield self.at(
                    spec.path,
                    edge.span,
                    f"every `*` transition on '{event}' is guarded;"
                    " the event is rejected when all guards are false",
                    f"add an unguarded `*` transition on '{event}' after the guarded ones",
                )


@register
class WildcardReentry(LintRule):
    """## What it does
    Reports a `*` transition whose target is not `final`. `*` stands for every
    non-final state, the target included, so the event arriving when the
    instance is already there fires the transition again: the state is left
    and re-entered. Not reported where the target has an unguarded transition
    of its own on that event (explicit transitions are tried first, so that
    one always fires instead), nor where an earlier unguarded `*` transition
    on the event always fires first. A `*` timed transition into a non-final
    state is armed again each time it enters that state, so it re-enters it
    every DURATION; it is not reported where an unguarded timed transition
    armed in the target fires first (shorter, or as long and written first).

    ## Why is this bad?
    A second `cancel` sent to a cancelled order leaves `cancelled` and enters
    it again: its exit hooks run, then its enter hooks (a second refund, a
    second email), silently. Such a target is usually meant to end the
    instance.

    ## Example
    ```
    workflow order {
        initial state created
        state cancelled {
            enter refund_payment
        }
        final state shipped
        event ship, cancel
        created -> shipped on ship
        * -> cancelled on cancel
    }
    ```

    ## Use instead
    ```
    workflow order {
        initial state created
        final state cancelled {
            enter refund_payment
        }
        final state shipped
        event ship, cancel
        created -> shipped on ship
        * -> cancelled on cancel
    }
    ```
    """

    code = "WF211"
    name = "wildcard-reentry"
    needs = frozenset({Gap.STATES, Gap.EVENTS, Gap.GUARDS, Gap.DURATIONS})

    def check(self, spec: Spec) -> Iterator[Diagnostic]:
        wildcards = [e for e in spec.edges if e.wildcard]
        # (state, event) pairs with an unguarded explicit transition: there,
        # that transition always fires and `*` never does.
        handled = {
            (src.value, edge.event.value)
            for edge in spec.edges
            if not edge.wildcard and edge.guard is None
            for src in edge.sources
        }
        unguarded_wild: set[str] = set()
        for edge in wildcards:
            event, target = edge.event.value, edge.target.value
            if (
                event not in unguarded_wild
                and not spec.state(target).final
                and (target, event) not in handled
            ):
                yield self.at(
                    spec.path,
                    edge.target.span,
                    f"`*` transition on '{event}' re-enters non-final state '{target}':"
                    f" '{event}' arriving there again leaves '{target}' and enters it anew,"
                    " re-running its hooks",
                    f"make '{target}' final, or give '{target}' a transition of its own on"
                    f" '{event}' (explicit transitions are tried first)",
                )
            if edge.guard is None:
                unguarded_wild.add(event)
        yield from self._check_timers(spec)

    def _check_timers(self, spec: Spec) -> Iterator[Diagnostic]:
        def order(t: TimedEdge) -> tuple[int, int]:
            return (t.after.ms, t.index)

        for timer in spec.timed_edges:
            target = timer.target.value
            if not timer.wildcard or spec.state(target).final:
                continue
            # Re-entered, unless another timer armed in the target always
            # comes due first and leaves it.
            first = any(
                other is not timer and other.guard is None and order(other) < order(timer)
                for other in spec.timed_from(target)
            )
            if not first:
                yield self.at(
                    spec.path,
                    timer.target.span,
                    f"`*` timed transition re-enters non-final state '{target}': armed again"
                    f" there, it leaves '{target}' and enters it anew every"
                    f" {timer.after.text}, re-running its hooks",
                    f"make '{target}' final, or list the sources instead of `*`",
                )
