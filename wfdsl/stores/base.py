"""The ``Store`` protocol: what every backend must do, and how it may fail.

A store keeps three things per workflow-namespaced instance: the instance row
(current state, version, spec fingerprint, flags), its transitions, and the
hook work each transition owes. The :class:`~wfdsl.runtime.manager.Manager`
is the only caller; stores know nothing about specs, guards or hooks.

Concurrency contract, for every backend:

* :meth:`Store.append` is atomic: the instance update (guarded by the expected
  version), the transition row and its work rows are written in one
  transaction, or not at all.
* Reads (:meth:`load`, :meth:`find_key`, :meth:`history`, :meth:`pending_work`)
  need not be in a transaction with the following write; the version check in
  :meth:`append` makes the read-evaluate-write cycle safe, and the manager
  retries from the read on :class:`~wfdsl.errors.VersionConflict`.
* Work rows carry a lease (owner, expiry in epoch seconds). :meth:`claim` only
  hands out pending work that is unleased, leased by the caller, or whose lease
  expired, so two workers never run the same work at the same time while their
  leases hold. A server-backed store implements it with row locks
  (``SELECT ... FOR UPDATE SKIP LOCKED``).
* A store may defer :meth:`complete` markers to its next write (saving a disk
  flush); until then it must still report that work as done to its own caller,
  and other workers see it pending but leased. A lost marker only means the
  hook runs again: hooks are at-least-once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from wfdsl.runtime.records import HookKind, InstanceRecord, Transition, WorkItem, WorkStatus

#: The columns of a work row in the SQL stores, in :class:`WorkItem` field order.
WORK_COLUMNS = """workflow, instance_id, seq, idx, hook, kind, status, attempts,
    last_error, lease_owner, lease_until"""


def work_from_row(row: Sequence[Any]) -> WorkItem:
    """The :class:`WorkItem` in a row of :data:`WORK_COLUMNS`."""
    return WorkItem(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        HookKind(row[5]),
        WorkStatus(row[6]),
        row[7],
        row[8],
        row[9],
        row[10],
    )


@runtime_checkable
class Store(Protocol):
    """Durable storage for workflow instances. See the module docstring."""

    def load(self, workflow: str, instance_id: str) -> InstanceRecord | None:
        """The instance, or ``None`` if it was never started.

        :raises StoreError: the backend failed.
        """
        ...

    def find_key(self, workflow: str, instance_id: str, key: str) -> Transition | None:
        """The transition recorded with idempotency ``key`` for this instance, if any.

        :raises StoreError: the backend failed.
        """
        ...

    def history(self, workflow: str, instance_id: str) -> list[Transition]:
        """Every transition of the instance in ``seq`` order (empty if unknown).

        :raises StoreError: the backend failed.
        """
        ...

    def create(
        self,
        instance: InstanceRecord,
        first: Transition,
        work: Sequence[WorkItem],
    ) -> None:
        """Create the instance with its ``start`` transition and its work, atomically.

        :raises AlreadyStarted: an instance with this workflow and id exists.
        :raises StoreError: the backend failed; nothing was written.
        """
        ...

    def append(
        self,
        workflow: str,
        instance_id: str,
        transition: Transition,
        work: Sequence[WorkItem],
        *,
        compensating: str | None,
    ) -> None:
        """Record ``transition`` (whose ``seq`` must be the instance's version + 1),
        move the instance to ``transition.target``, set its compensation target to
        ``compensating`` and insert ``work``, in one transaction.

        :raises VersionConflict: the instance's version is no longer ``seq - 1``,
            or ``transition.key`` is already used; nothing was written.
        :raises UnknownInstance: the instance does not exist.
        :raises StoreError: the backend failed; nothing was written.
        """
        ...

    def pending_work(self, workflow: str, instance_id: str) -> list[WorkItem]:
        """The instance's work that is not done (pending and dead), in ``(seq, idx)`` order.

        :raises StoreError: the backend failed.
        """
        ...

    def claim(
        self,
        workflow: str,
        instance_id: str | None,
        *,
        owner: str,
        now: float,
        until: float,
        limit: int = 1000,
    ) -> list[WorkItem]:
        """Lease pending work of one instance (or, with ``instance_id=None``, of any
        instance of ``workflow``) to ``owner`` until ``until``, and return it in
        ``(instance_id, seq, idx)`` order. Work leased by another owner whose lease
        has not expired at ``now`` is skipped; dead work is never claimed.

        :raises StoreError: the backend failed.
        """
        ...

    def complete(self, items: Sequence[WorkItem]) -> None:
        """Mark work done (possibly deferred to the next write, see the module docstring).

        :raises StoreError: the backend failed.
        """
        ...

    def fail(self, item: WorkItem, error: str, *, dead: bool) -> None:
        """Record a failed run of ``item``: one more attempt, the error text, and,
        with ``dead``, status dead. Releases every lease ``item.lease_owner`` holds
        on the instance's pending work, so the work can be retried in order.

        :raises StoreError: the backend failed.
        """
        ...

    def revive(self, workflow: str, instance_id: str) -> int:
        """Make the instance's dead work pending again with zero attempts; return how
        many items were revived.

        :raises StoreError: the backend failed.
        """
        ...

    def instances(
        self,
        workflow: str | None = None,
        *,
        state: str | None = None,
        pending_only: bool = False,
        compensating_only: bool = False,
    ) -> list[InstanceRecord]:
        """Instances, filtered, ordered by ``(workflow, instance_id)``.

        :raises StoreError: the backend failed.
        """
        ...

    def other_fingerprints(self, workflow: str, fingerprint: str) -> list[str]:
        """Ids of ``workflow``'s instances started under a spec whose fingerprint
        is not ``fingerprint``.

        :raises StoreError: the backend failed.
        """
        ...

    def flush(self) -> None:
        """Write any deferred completion markers now.

        :raises StoreError: the backend failed.
        """
        ...

    def close(self) -> None:
        """Flush and release connections. Further calls are errors."""
        ...
