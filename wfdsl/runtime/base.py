"""What :class:`~wfdsl.runtime.manager.Manager` and
:class:`~wfdsl.runtime.aio.AsyncManager` share: one constructor, and the
options it checks."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Generic

from wfdsl.ir import Spec

if TYPE_CHECKING:
    # PEP 696 defaults (in ``typing`` from Python 3.13): a manager of a spec
    # without types (``load``/``loads``) is a ``Manager[str, str]``.
    from typing_extensions import TypeVar

    from wfdsl.stores.base import Store

    S = TypeVar("S", bound=str, default=str)
    E = TypeVar("E", bound=str, default=str)
else:
    from typing import TypeVar

    S = TypeVar("S", bound=str)
    E = TypeVar("E", bound=str)

__all__ = ["BaseManager", "E", "Hooks", "Options", "S"]

#: What ``hooks=`` takes: an object with one method per name, or a mapping.
Hooks = object | Mapping[str, Callable[..., Any]] | None

#: The default clock: aware UTC datetimes.
utcnow: Callable[[], datetime] = functools.partial(datetime.now, UTC)


@dataclass(frozen=True, slots=True)
class Options:
    """A manager's settings, checked.

    :raises ValueError: a setting out of range.
    """

    #: Where transitions get their ``at``.
    clock: Callable[[], datetime]
    #: This worker's name, shown with the work it holds (``None``: ``host:pid``).
    worker_id: str | None
    #: Seconds a worker holds hook work it runs before others presume it hung.
    lease: float
    #: Failures after which hook work is dead.
    max_attempts: int
    #: Seconds a call waits for another worker's hooks of the same instance.
    wait: float

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not self.lease > 0:
            raise ValueError("lease must be positive")
        if not self.wait >= 0:
            raise ValueError("wait must be zero or more seconds")
        if self.worker_id is not None and (type(self.worker_id) is not str or not self.worker_id):
            raise ValueError("worker_id must be a non-empty string")


class BaseManager(Generic[S, E]):
    """Runs instances of one workflow spec on one store; see
    :class:`~wfdsl.runtime.manager.Manager`.

    :param spec: the workflow: a generated module's ``SPEC``, a
        ``Spec[State, Event]``, makes a ``Manager[State, Event]`` whose
        ``state()`` returns ``State`` members; ``load``/``loads`` give a
        ``Spec[str, str]``, so a ``Manager[str, str]``. The types travel with
        the spec (:attr:`~wfdsl.ir.Spec.state_type`).
    :param store: where instances live (:mod:`wfdsl.stores`).
    :param hooks: an object with one method per guard, hook and compensator
        name, or a mapping of name to callable; all checked here.
    :param state_type: what ``state()`` returns instead of the spec's
        :attr:`~wfdsl.ir.Spec.state_type` (the manager runs on
        ``spec.with_types(...)``). Typed for mypy only through the spec:
        prefer ``Manager(spec.with_types(State, Event), store)``.
    :param event_type: likewise, what ``send()`` takes.
    :param clock: gives the ``at`` of each transition (aware UTC datetimes by default).
    :param worker_id: a name for this worker, shown with the work it holds
        (``ResumeReport.in_progress``, ``WorkInProgress``); ``host:pid`` by
        default. Only a name: who holds work is proven by the process (SQLite,
        memory) or database session (PostgreSQL), so two processes given the
        same name never run each other's work.
    :param lease: seconds (default 60) a worker holds hook work it runs. A dead
        worker's work is free at once; the lease only frees the work of one that
        is alive but hung (a process, or a thread of this one: the next call
        takes its work over), so set it above your slowest hook.
    :param max_attempts: failures (default 5) after which hook work is dead.
    :param wait: seconds (default 5) a call waits for another worker that is
        running hooks of the same instance before it raises ``WorkInProgress``.
    :raises BindError: ``hooks`` lacks a name or has one that cannot be called.
    :raises ValueError: an option out of range, or a ``state_type``/``event_type``
        lacking a member for a name of the spec (``TypeError`` if not a ``str`` type).
    """

    spec: Spec[S, E]
    store: Store
    workflow: str
    options: Options

    def __init__(
        self,
        spec: Spec[S, E],
        store: Store,
        *,
        hooks: Hooks = None,
        state_type: type[S] | None = None,
        event_type: type[E] | None = None,
        clock: Callable[[], datetime] | None = None,
        worker_id: str | None = None,
        lease: float = 60.0,
        max_attempts: int = 5,
        wait: float = 5.0,
    ) -> None:
        if state_type is not None or event_type is not None:
            spec = spec.with_types(state_type or spec.state_type, event_type or spec.event_type)
        self.spec = spec
        self.store = store
        self.workflow = spec.name
        self.options = Options(clock or utcnow, worker_id, lease, max_attempts, wait)
        self._setup(hooks)

    def _setup(self, hooks: Hooks) -> None:
        """Bind ``hooks`` and build what the manager runs on."""
        raise NotImplementedError
