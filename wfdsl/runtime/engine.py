"""The transition engine: which transition fires for a state, an event and its
guards, what hook work it owes, and how a compensation walks back. Pure: it
reads the spec and nothing else (guards are called through the function it is
given), and keeps only caches.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from wfdsl.errors import (
    BindError,
    GuardFailed,
    GuardRejected,
    IllegalTransition,
    ReentrantCall,
    UnknownState,
)
from wfdsl.ir import Edge, HookKind, Spec, TimedEdge, format_guard
from wfdsl.runtime.inputs import NO_DATA
from wfdsl.stores.records import (
    InstanceRecord,
    Timer,
    Transition,
    TransitionKind,
    WorkItem,
    epoch_ms,
    from_epoch_ms,
)

__all__ = ["Engine", "Lease", "Plan", "Step"]

#: ``(kind, hook)`` of each piece of work a transition owes, in running order.
Plan = tuple[tuple[HookKind, str], ...]


@dataclass(frozen=True, slots=True)
class Lease:
    """Who holds new work, and until when: the worker's name, its proof of
    identity (:meth:`~wfdsl.stores.base.Store.identity`) and the expiry in
    seconds since the epoch."""

    owner: str
    proof: str
    until: float


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a compensation: leave ``source`` back to ``target``, undoing
    ``undone`` (the transition that entered ``source``)."""

    source: str
    target: str
    undone: Transition


class Engine:
    """The rules of one spec, as the runtime applies them."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.workflow = spec.name
        self.fingerprint = spec.fingerprint()
        #: How errors name the spec: where it came from and its fingerprint.
        self.label = f"{spec.path}, fingerprint {self.fingerprint[:12]}"
        self.events = frozenset(e.name for e in spec.events)
        self.states = frozenset(s.name for s in spec.states)
        self.finals = frozenset(s.name for s in spec.states if s.final)
        self.hooks = frozenset(spec.hook_names())
        self.compensators = {s.name: s.compensate for s in spec.states}
        #: ``(state, event)`` -> the transitions to try, in order (filled on demand).
        self.candidates: dict[tuple[str, str], tuple[Edge, ...]] = {}
        #: ``(source, target)`` -> the work such a transition owes (filled on demand).
        self.plans: dict[tuple[str | None, str], Plan] = {}
        #: Whether the spec has timed transitions at all (most have none: their
        #: transitions skip the timer bookkeeping).
        self.timed = bool(spec.timed_edges)
        #: ``(state, index, target, after_ms)`` of an armed timer -> the timed
        #: transition of this spec it stands for (filled on demand).
        self._matches: dict[tuple[str, int, str, int], TimedEdge | None] = {}

    # -- states and events ----------------------------------------------------------

    def unknown_state(self, instance_id: str, state: str) -> UnknownState:
        return UnknownState(self.workflow, instance_id, state, self.label)

    def check_state(self, instance_id: str, state: str) -> None:
        """:raises UnknownState: the spec does not declare ``state``."""
        if state not in self.states:
            raise self.unknown_state(instance_id, state)

    def edges(self, instance_id: str, state: str, event: str) -> tuple[Edge, ...]:
        """The transitions to try for ``event`` in ``state``, in order.

        :raises UnknownState: the spec does not declare ``state``.
        """
        found = self.candidates.get((state, event))
        if found is None:
            self.check_state(instance_id, state)
            found = self.candidates[(state, event)] = self.spec.candidates(state, event)
        return found

    def choose(
        self, instance_id: str, state: str, event: str, holds: Callable[[Edge], bool]
    ) -> Edge:
        """The transition that fires: the first of :meth:`edges` with no guard or
        whose guard ``holds``.

        :raises UnknownState: the spec does not declare ``state``.
        :raises IllegalTransition: no transition leaves ``state`` on ``event``.
        :raises GuardRejected: some do, and every guard was false.
        :raises GuardFailed: a guard raised (nothing is applied).
        """
        candidates = self.edges(instance_id, state, event)
        if not candidates:
            detail = f"state {state!r} is final" if state in self.finals else ""
            raise IllegalTransition(self.workflow, instance_id, state, event, detail)
        for edge in candidates:
            if edge.guard is None or self._holds(instance_id, state, event, edge, holds):
                return edge
        raise GuardRejected(
            self.workflow,
            instance_id,
            state,
            event,
            [format_guard(e.guard) for e in candidates if e.guard is not None],
        )

    def _holds(
        self, instance_id: str, state: str, event: str, edge: Edge, holds: Callable[[Edge], bool]
    ) -> bool:
        """``holds(edge)``, a guard that raises told as :class:`GuardFailed`. A
        call refused as such (a guard that calls its own instance, or returns a
        coroutine to the sync manager) stays what it is.

        :raises GuardFailed: a guard raised.
        """
        try:
            return holds(edge)
        except (ReentrantCall, BindError):
            raise
        except Exception as exc:
            assert edge.guard is not None
            raise GuardFailed(
                self.workflow,
                instance_id,
                state,
                event,
                format_guard(edge.guard),
                f"{type(exc).__name__}: {exc}",
            ) from exc

    # -- the work a transition owes ---------------------------------------------------

    def plan(self, source: str | None, target: str) -> Plan:
        """The exit hooks of ``source``, then the enter hooks of ``target``."""
        plan = self.plans.get((source, target))
        if plan is None:
            steps: list[tuple[HookKind, str]] = []
            if source is not None:
                steps.extend((HookKind.EXIT, h) for h in self.spec.state(source).exit)
            steps.extend((HookKind.ENTER, h) for h in self.spec.state(target).enter)
            plan = self.plans[(source, target)] = tuple(steps)
        return plan

    def work(
        self, instance_id: str, t: Transition, lease: Lease, plan: Plan | None = None
    ) -> list[WorkItem]:
        """The work transition ``t`` owes, held under ``lease``: its compensators
        for a compensation step, else :meth:`plan`. The first item's attempt
        is counted already: the worker writing it runs it at once
        (:meth:`Runner.run` with ``fresh``)."""
        if plan is None:
            if t.kind is TransitionKind.COMPENSATE:
                plan = tuple((HookKind.COMPENSATE, h) for h in self.compensators[t.source or ""])
            else:
                plan = self.plan(t.source, t.target)
        wf = self.workflow
        return [
            WorkItem(
                wf,
                instance_id,
                t.seq,
                i,
                hook,
                kind,
                attempts=1 if i == 0 else 0,
                lease_owner=lease.owner,
                lease_until=lease.until,
                lease_proof=lease.proof,
            )
            for i, (kind, hook) in enumerate(plan)
        ]

    # -- timers -----------------------------------------------------------------------

    def fire(
        self, inst: InstanceRecord, timer: Timer, edge: TimedEdge, lease: Lease
    ) -> tuple[Transition, list[WorkItem], list[Timer]]:
        """What the due ``timer`` does to ``inst`` along ``edge``: the ``timer``
        transition (timestamped with the due time, keyed by the timer), the
        work it owes, held under ``lease`` (:meth:`work`), and the timers its
        target arms (:meth:`arm`)."""
        iid, target = inst.instance_id, edge.target.value
        t = Transition(
            inst.version + 1,
            TransitionKind.TIMER,
            inst.state,
            target,
            None,
            timer.transition_key,
            NO_DATA,
            from_epoch_ms(timer.due),
        )
        plan = self.plan(inst.state, target)
        work = self.work(iid, t, lease, plan) if plan else []
        return t, work, self.arm(iid, t)

    def arm(self, instance_id: str, t: Transition) -> list[Timer]:
        """The timers that entering ``t.target`` by ``t`` arms (SPEC §2): one per
        timed transition from it, due at ``t.at`` plus its duration, in
        milliseconds since the epoch (a naive ``at`` counts as UTC)."""
        if not self.timed:
            return []
        edges = self.spec.timed_from(t.target)
        if not edges:
            return []
        at = epoch_ms(t.at)
        wf = self.workflow
        return [
            Timer(
                wf,
                instance_id,
                t.seq,
                e.index,
                t.target,
                e.target.value,
                e.after.ms,
                at + e.after.ms,
            )
            for e in edges
        ]

    def timed_edge(self, timer: Timer) -> TimedEdge | None:
        """The timed transition of this spec that ``timer`` (armed by this spec
        or an earlier version of it) stands for: one from the timer's state with
        its target and duration, the one at the same position if there are
        several; ``None`` when the spec has none (it was removed, retargeted or
        its duration changed since the timer was armed)."""
        key = (timer.state, timer.index, timer.target, timer.after_ms)
        if key in self._matches:
            return self._matches[key]
        found = [
            e
            for e in self.spec.timed_from(timer.state)
            if e.target.value == timer.target and e.after.ms == timer.after_ms
        ]
        match = next((e for e in found if e.index == timer.index), found[0] if found else None)
        self._matches[key] = match
        return match

    def effect_key(self, t: Transition, item: WorkItem) -> str:
        """``{workflow}/{id}/{seq}/{hook}``; a hook named twice in one transition's
        work (exit and enter of a self transition) gets ``#2`` on its second run."""
        key = f"{self.workflow}/{item.instance_id}/{t.seq}/{item.hook}"
        if item.idx:
            if item.kind is HookKind.COMPENSATE:
                names: Sequence[str] = self.compensators.get(t.source or "", ())
            else:
                names = [h for _, h in self.plan(t.source, t.target)]
            earlier = list(names[: item.idx]).count(item.hook)
            if earlier:
                key += f"#{earlier + 1}"
        return key

    # -- compensation -----------------------------------------------------------------

    @staticmethod
    def entries(history: Sequence[Transition]) -> list[Transition]:
        """The transitions that entered each state the instance is in after its
        compensations, oldest first: ``start`` and ``event`` push, ``compensate`` pops."""
        stack: list[Transition] = []
        for t in history:
            if t.kind is TransitionKind.COMPENSATE:
                stack.pop()
            else:
                stack.append(t)
        return stack

    def walk_back(
        self, instance_id: str, history: Sequence[Transition], to_state: str
    ) -> list[Step]:
        """The steps from the current state back to ``to_state``, newest first
        (empty when already there).

        :raises IllegalTransition: ``to_state`` is not on the path taken.
        :raises UnknownState: a state to leave or enter is not in the spec.
        """
        entries = self.entries(history)
        path = [e.target for e in entries]
        if path[-1] == to_state:
            return []
        if to_state not in path[:-1]:
            raise IllegalTransition(
                self.workflow,
                instance_id,
                path[-1],
                "compensate",
                f"state {to_state!r} is not on the path taken ({' -> '.join(path)})",
            )
        steps: list[Step] = []
        while path[-1] != to_state:
            source, back_to = path[-1], path[-2]
            self.check_state(instance_id, source)
            self.check_state(instance_id, back_to)
            steps.append(Step(source, back_to, entries[-1]))
            path.pop()
            entries.pop()
        return steps
