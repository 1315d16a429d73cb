"""Every exception wfdsl raises. All are :class:`WorkflowError`s and carry data,
not only text: callers branch on the type and its fields, never on messages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wfdsl.diagnostics import Diagnostic


def a_type(value: object) -> str:
    """How messages name the type of ``value`` (or ``value`` itself, if it is a
    type), with its article: ``'an int'``, ``'a str'``, ``'None'``."""
    kind = value if isinstance(value, type) else type(value)
    if kind is type(None):
        return "None"
    name = kind.__name__
    return ("an " if name[:1].lower() in "aeiou" else "a ") + name


class WorkflowError(Exception):
    """Base class of every wfdsl error."""


class SpecError(WorkflowError):
    """A ``.wf`` source is invalid. ``diagnostics`` holds every problem found."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics: tuple[Diagnostic, ...] = tuple(diagnostics)
        first = self.diagnostics[0] if self.diagnostics else None
        summary = first.headline() if first else "invalid workflow spec"
        more = len(self.diagnostics) - 1
        if more > 0:
            summary += f" (and {more} more)"
        super().__init__(summary)


class UnknownInstance(WorkflowError, LookupError):
    """No instance with this id exists in this workflow (``workflow=None``: in
    any workflow of the store)."""

    def __init__(self, workflow: str | None, instance_id: str) -> None:
        self.workflow = workflow
        self.instance_id = instance_id
        if workflow is None:
            super().__init__(f"no instance {instance_id!r} in the store")
        else:
            super().__init__(f"{workflow}: unknown instance {instance_id!r}")


class AlreadyStarted(WorkflowError):
    """``start`` was called for an instance id that already exists."""

    def __init__(self, workflow: str, instance_id: str) -> None:
        self.workflow = workflow
        self.instance_id = instance_id
        super().__init__(f"{workflow}: instance {instance_id!r} already started")


class IllegalTransition(WorkflowError):
    """The event is not accepted in the instance's current state."""

    def __init__(
        self, workflow: str, instance_id: str, state: str, event: str, detail: str = ""
    ) -> None:
        self.workflow = workflow
        self.instance_id = instance_id
        self.state = state
        self.event = event
        msg = f"{workflow}: instance {instance_id!r} in state {state!r} does not accept {event!r}"
        super().__init__(msg + (f": {detail}" if detail else ""))


class GuardRejected(IllegalTransition):
    """Transitions matched the state and event, but every guard was false."""

    def __init__(
        self, workflow: str, instance_id: str, state: str, event: str, guards: Sequence[str]
    ) -> None:
        self.guards = tuple(guards)
        super().__init__(
            workflow,
            instance_id,
            state,
            event,
            "every guard was false (" + "; ".join(self.guards) + ")",
        )


class GuardFailed(WorkflowError):
    """A guard raised instead of answering (``ctx.data['amount']`` missing, a
    service it asked was down...). Nothing was applied; the instance is as it
    was, and the same send may be tried again once the guard is fixed."""

    def __init__(
        self,
        workflow: str,
        instance_id: str,
        state: str,
        event: str,
        guard: str,
        error: str,
    ) -> None:
        self.workflow = workflow
        self.instance_id = instance_id
        self.state = state
        self.event = event
        #: The guard expression of the transition tried (``card_valid and not flagged``).
        self.guard = guard
        #: What it raised: ``"KeyError: 'amount'"``.
        self.error = error
        super().__init__(
            f"{workflow}: guard {guard!r} raised {error} for instance {instance_id!r} "
            f"(in state {state!r}, event {event!r}); nothing was applied"
        )


class IdempotencyConflict(WorkflowError):
    """An idempotency key was reused with a different event or data."""

    def __init__(self, workflow: str, instance_id: str, key: str) -> None:
        self.workflow = workflow
        self.instance_id = instance_id
        self.key = key
        super().__init__(
            f"{workflow}: key {key!r} of instance {instance_id!r} was used before with another event or data"
        )


class HookFailed(WorkflowError):
    """A hook or compensator raised; its work stays pending and is retried."""

    def __init__(
        self, workflow: str, instance_id: str, seq: int, hook: str, attempt: int, error: str
    ) -> None:
        self.workflow = workflow
        self.instance_id = instance_id
        self.seq = seq
        self.hook = hook
        self.attempt = attempt
        self.error = error
        super().__init__(
            f"{workflow}: hook {hook!r} failed for instance {instance_id!r} "
            f"(transition {seq}, attempt {attempt}): {error}"
        )


class BindError(WorkflowError):
    """Hooks given to a manager do not fit the spec: names they lack, callables
    that cannot be called as a guard or hook (an ``async def`` given to the sync
    ``Manager``, a class, a value that is not callable, a signature that takes
    no context), or a hooks object that cannot work at all (a class instead of
    an instance). Every problem is named at once."""

    def __init__(
        self,
        workflow: str,
        missing: Sequence[str] = (),
        unfit: Sequence[tuple[str, str]] = (),
        given: str | None = None,
    ) -> None:
        self.workflow = workflow
        #: Guard and hook names the hooks do not have.
        self.missing = tuple(missing)
        #: ``(name, why)`` of every callable that cannot be called as bound.
        self.unfit = tuple(unfit)
        #: What is wrong with the hooks object as a whole, if anything.
        self.given = given
        parts: list[str] = []
        if given:
            parts.append(given)
        if self.missing:
            parts.append("hooks object lacks " + ", ".join(self.missing))
        parts.extend(f"{name} {why}" for name, why in self.unfit)
        super().__init__(f"{workflow}: " + "; ".join(parts))


class StoreError(WorkflowError):
    """The store failed in a way the runtime cannot safely retry."""


class SchemaNotFound(StoreError):
    """A store opened read-only (``wfdsl instances``, ``history``, ``render
    --db``...) found no wfdsl schema where it looked: such a store never
    creates one, so a mistyped path or schema name is not taken for an empty
    store, and someone else's database is left as it was."""

    def __init__(self, where: str) -> None:
        #: The file, or the server and schema, that was looked at (no password).
        self.where = where
        super().__init__(f"no wfdsl schema in {where}")


class InvalidInput(WorkflowError, ValueError):
    """Input the runtime refuses before writing anything: an empty instance id,
    an event the workflow does not declare, data that is not JSON."""

    def __init__(self, workflow: str, what: str) -> None:
        self.workflow = workflow
        self.what = what
        super().__init__(f"{workflow}: {what}")


class CompensationInProgress(WorkflowError):
    """The instance is being compensated; ``send`` waits until the walk is finished,
    and ``compensate`` to another state waits too."""

    def __init__(
        self, workflow: str, instance_id: str, target: str, refused: str | None = None
    ) -> None:
        self.workflow = workflow
        self.instance_id = instance_id
        #: The state the unfinished walk goes back to.
        self.target = target
        #: The call refused (``compensate('paid')``), when it was not a ``send``.
        self.refused = refused
        what = f"{refused} is refused: " if refused else ""
        super().__init__(
            f"{workflow}: {what}instance {instance_id!r} is being compensated back to "
            f"{target!r}; call compensate({instance_id!r}, {target!r}) again to finish"
        )


class WorkDead(WorkflowError):
    """The instance has hook work that failed too many times; ``Manager.retry`` re-drives it."""

    def __init__(self, workflow: str, instance_id: str, hooks: Sequence[str]) -> None:
        self.workflow = workflow
        self.instance_id = instance_id
        self.hooks = tuple(hooks)
        super().__init__(
            f"{workflow}: instance {instance_id!r} has dead hook work ("
            + ", ".join(self.hooks)
            + "); fix the cause, then retry it"
        )


class WorkInProgress(WorkflowError):
    """The instance owes hook work that another live worker is running (or, if it
    hangs, holds until its lease expires), and the call waited ``wait`` seconds
    for it in vain. Nothing was applied: the instance runs one step at a time,
    so its next transition waits until the hooks of the last one have run."""

    def __init__(
        self,
        workflow: str,
        instance_id: str,
        hooks: Sequence[str],
        owners: Sequence[str] = (),
        waited: float = 0.0,
    ) -> None:
        self.workflow = workflow
        self.instance_id = instance_id
        self.hooks = tuple(hooks)
        #: The names of the workers holding it (``Manager(worker_id=...)``).
        self.owners = tuple(dict.fromkeys(owners))
        #: Seconds the call waited.
        self.waited = waited
        held = f", held by {', '.join(self.owners)}" if self.owners else ""
        then = f"; then {', '.join(self.hooks[1:])}, queued after it" if len(self.hooks) > 1 else ""
        super().__init__(
            f"{workflow}: instance {instance_id!r} owes hook work that another worker is "
            f"running ({', '.join(self.hooks[:1])}{held}{then}); waited {waited:g}s: try "
            "again once it has run"
        )


class ReentrantCall(WorkflowError):
    """A ``send`` (or ``compensate``, ``retry``) to an instance from inside one of
    that instance's own guards or hooks. It is refused at once: the instance
    runs one step at a time (run to completion), so the hooks running now must
    all finish before its next transition is applied, and waiting for them from
    inside one of them would never end. Send the event after the hook returns."""

    def __init__(self, workflow: str, instance_id: str, call: str) -> None:
        self.workflow = workflow
        self.instance_id = instance_id
        self.call = call
        super().__init__(
            f"{workflow}: {call} to instance {instance_id!r} from inside one of its own "
            "hooks is refused: the instance runs one step at a time, so its running hooks "
            "must finish before its next transition (send it after the hook returns)"
        )


class UnknownState(WorkflowError):
    """An instance is stored in a state that the loaded spec does not declare:
    the spec changed under a live instance. Nothing is done to it."""

    def __init__(self, workflow: str, instance_id: str, state: str, spec: str) -> None:
        self.workflow = workflow
        self.instance_id = instance_id
        self.state = state
        #: The loaded spec: where it came from, and its fingerprint.
        self.spec = spec
        super().__init__(
            f"{workflow}: instance {instance_id!r} is in state {state!r}, which the loaded "
            f"spec ({spec}) does not declare; drive it with the spec it was started under"
        )


class SpecChanged(WorkflowError):
    """The instance owes hook work written under another version of the spec
    (its fingerprint differs from the loaded spec's). Nothing is done to it:
    ``send``, ``compensate``, timers and ``resume()`` leave such work (resume
    reports it in ``spec_changed``); ``Manager.retry`` runs it under the loaded
    spec, or a worker running the spec it was written under does."""

    def __init__(
        self, workflow: str, instance_id: str, hooks: Sequence[str], fingerprint: str, spec: str
    ) -> None:
        self.workflow = workflow
        self.instance_id = instance_id
        self.hooks = tuple(hooks)
        #: The fingerprint of the spec the instance was started under.
        self.fingerprint = fingerprint
        #: The loaded spec: where it came from, and its fingerprint.
        self.spec = spec
        super().__init__(
            f"{workflow}: instance {instance_id!r} owes hook work ({', '.join(self.hooks)}) "
            f"from another version of the spec (fingerprint {fingerprint[:12]}, not the "
            f"loaded {spec}); nothing was applied: run it with retry({instance_id!r}) "
            "(wfdsl retry), or with a worker of that version"
        )


class UnknownHook(WorkflowError):
    """An instance owes work for a hook that the loaded spec does not name: the
    spec changed under it. The work is left as it is."""

    def __init__(self, workflow: str, instance_id: str, seq: int, hook: str, spec: str) -> None:
        self.workflow = workflow
        self.instance_id = instance_id
        self.seq = seq
        self.hook = hook
        self.spec = spec
        super().__init__(
            f"{workflow}: instance {instance_id!r} owes hook {hook!r} (transition {seq}), "
            f"which the loaded spec ({spec}) does not name; run it with the spec it was "
            "written under"
        )


class AmbiguousInstance(WorkflowError, LookupError):
    """An instance id exists in more than one workflow, and none was named."""

    def __init__(self, instance_id: str, workflows: Sequence[str]) -> None:
        self.instance_id = instance_id
        self.workflows = tuple(workflows)
        super().__init__(
            f"instance {instance_id!r} exists in workflows {', '.join(self.workflows)}; choose one"
        )


class HooksNotLoaded(WorkflowError):
    """A ``MODULE:OBJECT`` reference to hooks could not be loaded."""

    def __init__(self, ref: str, reason: str) -> None:
        self.ref = ref
        self.reason = reason
        super().__init__(f"{ref}: {reason}")


class VersionConflict(StoreError):
    """An optimistic write lost a race: the instance changed since it was read.
    The manager retries from the read; users see it only under extreme contention."""

    def __init__(self, workflow: str, instance_id: str, expected: int) -> None:
        self.workflow = workflow
        self.instance_id = instance_id
        self.expected = expected
        super().__init__(
            f"{workflow}: instance {instance_id!r} moved past version {expected} while being updated"
        )


class RenderError(WorkflowError):
    """The Graphviz ``dot`` program could not turn a diagram into ``format``."""

    def __init__(self, format: str, message: str) -> None:
        self.format = format
        self.message = message
        super().__init__(message)


class GraphvizNotFound(RenderError):
    """Rendering SVG/PNG/PDF needs the Graphviz ``dot`` program, which is not installed."""

    def __init__(self, format: str, program: str = "dot") -> None:
        self.program = program
        super().__init__(
            format,
            f"rendering {format} needs the Graphviz '{program}' program, which was not found; "
            "install Graphviz (apt-get install graphviz, brew install graphviz, "
            "https://graphviz.org/download/) or use --format dot or mermaid",
        )


class FormatError(WorkflowError):
    """The formatter's output would not mean the same as its input (a formatter
    bug). The file is left untouched."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: not formatted: {reason} (please report this)")


class CodegenError(WorkflowError):
    """A spec cannot be turned into a Python module (a name that is not a safe
    Python identifier, or one that would hide a name the module needs)."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)
