"""What :meth:`~wfdsl.runtime.manager.Manager.resume` reports."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["ResumeReport"]


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
    #: ``owner``) was still running when ``resume`` had waited ``wait`` seconds.
    in_progress: list[tuple[str, str, str]] = field(default_factory=list)
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
            or self.errors
            or self.pending
        )
