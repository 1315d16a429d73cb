"""Every exception wfdsl raises. All are :class:`WorkflowError`s and carry data,
not only text: callers branch on the type and its fields, never on messages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wfdsl.diagnostics import Diagnostic


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
    """No instance with this id exists in this workflow."""

    def __init__(self, workflow: str, instance_id: str) -> None:
        self.workflow = workflow
        self.instance_id = instance_id
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
    """Hooks given to a Manager lack guards or hooks the spec names."""

    def __init__(self, workflow: str, missing: Sequence[str]) -> None:
        self.workflow = workflow
        self.missing = tuple(missing)
        super().__init__(f"{workflow}: hooks object lacks " + ", ".join(self.missing))


class StoreError(WorkflowError):
    """The store failed in a way the runtime cannot safely retry."""


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

    def __init__(self, workflow: str, instance_id: str, target: str) -> None:
        self.workflow = workflow
        self.instance_id = instance_id
        self.target = target
        super().__init__(
            f"{workflow}: instance {instance_id!r} is being compensated back to {target!r}; "
            "call compensate again to finish"
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
    """``compensate`` found hook work it may not run yet: another worker holds its
    lease (running it, or dead until the lease expires). Undoing a state before
    its hooks have run would apply the compensation ahead of the effect."""

    def __init__(self, workflow: str, instance_id: str, hooks: Sequence[str]) -> None:
        self.workflow = workflow
        self.instance_id = instance_id
        self.hooks = tuple(hooks)
        super().__init__(
            f"{workflow}: instance {instance_id!r} has hook work that another worker "
            f"holds ({', '.join(self.hooks)}); try again once it has run or its lease "
            "has expired"
        )


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
