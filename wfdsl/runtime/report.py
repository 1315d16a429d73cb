"""What :meth:`~wfdsl.runtime.manager.Manager.resume` and
:meth:`~wfdsl.runtime.manager.Manager.fire_due` report."""

from __future__ import annotations

from dataclasses import dataclass, field

from wfdsl.ir import fast_init
from wfdsl.stores.records import Timer, Transition

__all__ = ["Fired", "ResumeReport", "TimerReport"]


@dataclass(frozen=True, slots=True)
class ResumeReport:
    """What ``Manager.resume`` did, and what it left owed. Each list is in the
    order things happened; ids of instances are listed once per list."""

    #: ``(instance_id, hook)`` of every piece of work that ran and succeeded.
    completed: list[tuple[str, str]] = field(default_factory=list)
    #: ``(instance_id, hook, error)`` of every piece of work that failed again
    #: (each instance is tried once per ``resume``).
    failed: list[tuple[str, str, str]] = field(default_factory=list)
    #: Instances with dead work (failed ``max_attempts`` times): ``Manager.retry``
    #: re-drives it once the cause is fixed.
    dead: list[str] = field(default_factory=list)
    #: Interrupted compensations that were carried on to their target.
    compensated: list[str] = field(default_factory=list)
    #: Instances with work owed or an unfinished compensation that were started
    #: under another version of the spec (their fingerprint differs): left as
    #: they are. Finished instances of an older spec are not listed.
    spec_changed: list[str] = field(default_factory=list)
    #: ``(instance_id, hook, owner)`` of work that another live worker (named
    #: ``owner``) was still running when ``resume`` had waited ``wait`` seconds:
    #: one per instance, the hook in hand.
    in_progress: list[tuple[str, str, str]] = field(default_factory=list)
    #: ``(instance_id, hook)`` of work queued behind the work in progress of
    #: its instance (not started yet; it runs after it, in order).
    queued: list[tuple[str, str]] = field(default_factory=list)
    #: ``(instance_id, error)`` of instances whose work could not be run at all
    #: (a state or hook the loaded spec does not declare, unreadable data...):
    #: one instance's fault never stops the others'.
    errors: list[tuple[str, str]] = field(default_factory=list)
    #: Instances that still owe work when ``resume`` returned for no reason
    #: listed above (work written by another worker while it ran).
    pending: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True only when nothing is owed: nothing failed, dead, left for a
        changed spec, in progress, in error or still pending."""
        return not (
            self.failed
            or self.dead
            or self.spec_changed
            or self.in_progress
            or self.queued
            or self.errors
            or self.pending
        )


@fast_init
@dataclass(frozen=True, slots=True)
class Fired:
    """A timer that fired: the ``timer`` transition it became."""

    instance_id: str
    #: Kind ``timer``; its ``at`` is the timer's due time.
    transition: Transition
    #: The armed timer, as it was when it fired.
    timer: Timer


@dataclass(frozen=True, slots=True)
class TimerReport:
    """What ``Manager.fire_due`` did, and what it left. Each list is in the
    order things happened."""

    #: Timers that fired, each a ``timer`` transition now in its instance's history.
    fired: list[Fired] = field(default_factory=list)
    #: Timers that came due with their guard false: removed, never to re-arm.
    spent: list[Timer] = field(default_factory=list)
    #: ``(instance_id, hook, error)`` of hooks that failed: of a fired timer's
    #: transition (which stands, its work pending) or of owed work run first.
    failed: list[tuple[str, str, str]] = field(default_factory=list)
    #: Due timers left armed because the loaded spec no longer has their timed
    #: transition (removed, retargeted or given another duration), or because
    #: their instance owes hook work and was started under another spec: for
    #: workers running the spec that armed them.
    spec_changed: list[Timer] = field(default_factory=list)
    #: ``(instance_id, state)`` of instances with due timers in a state the
    #: loaded spec does not declare (SPEC §7.1): left as they are.
    unknown_state: list[tuple[str, str]] = field(default_factory=list)
    #: ``(instance_id, hook, owner)`` of hook work a live worker (or another
    #: thread) was running (one per instance, the hook in hand): the
    #: instance's due timers wait for it, and are tried again on the next call.
    in_progress: list[tuple[str, str, str]] = field(default_factory=list)
    #: Instances with due timers that wait for their dead work (``Manager.retry``).
    dead: list[str] = field(default_factory=list)
    #: Instances with due timers that wait for their compensation to finish.
    compensating: list[str] = field(default_factory=list)
    #: ``(instance_id, error)`` of instances whose timers could not be tried at
    #: all (one instance's fault never stops the others).
    errors: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every due timer it took was fired or spent and every hook
        it ran succeeded."""
        return not (
            self.failed
            or self.spec_changed
            or self.unknown_state
            or self.in_progress
            or self.dead
            or self.compensating
            or self.errors
        )
