"""The ``Store`` protocol: what every backend must do, and how it may fail.

A store keeps three things per workflow-namespaced instance: the instance row
(current state, version, spec fingerprint, flags), its transitions, and the
hook work each transition owes (:mod:`wfdsl.stores.records`). The runtime is
its only caller; stores know nothing about specs, guards or hooks, and import
nothing of the runtime.

Concurrency contract, for every backend:

* :meth:`Store.append` is atomic: the instance update (guarded by the expected
  version), the transition row and its work rows are written in one
  transaction, or not at all. So is :meth:`Store.create`.
* Reads (:meth:`load`, :meth:`find_key`, :meth:`history`, :meth:`pending_work`)
  need not be in a transaction with the following write; the version check in
  :meth:`append` makes the read-decide-write cycle safe, and the runtime
  retries from the read on :class:`~wfdsl.errors.VersionConflict`.
* Hook work is leased: a work row names its holder (``lease_owner``, a name for
  people; ``lease_proof``, the holder's :meth:`identity`) and an expiry. Work
  is *free* when nobody holds it, when the caller itself holds it (same proof),
  when its lease has expired, or when its holder is **dead**: a worker whose
  process has exited (SQLite, memory: checked with the operating system) or
  whose session has ended (PostgreSQL: its advisory lock is gone). A dead
  worker's work is free at once; the expiry only frees the work of a worker
  that is alive but hung.
* :meth:`claim` leases free work, and for each instance only its *prefix*: the
  pending work in ``(seq, idx)`` order up to the first item that is dead or
  held by another live worker. Hooks of one instance therefore never run out
  of order, whoever runs them.
* Completion markers (:meth:`complete`) are visible to every other worker as
  soon as the call returns (a worker waiting for them must not wait on a
  finished one); they may skip the disk flush, since a lost marker only runs a
  hook again, which at-least-once hooks allow.

Timers (SPEC §2, §7.2), for every backend:

* :meth:`create` and :meth:`append` arm the timers they are given in the same
  transaction as the transition, and :meth:`append` removes every timer the
  instance had armed (each transition leaves its source state, a self
  transition included). So a timer is armed exactly while the visit of the
  state that armed it lasts (the instance's version equals the timer's
  ``seq``), and a crash never leaves a transition without its timers, nor a
  timer of a state already left.
* Timers are kept indexed by ``(workflow, due)``: :meth:`next_due` and
  :meth:`claim_timers` cost the same with ten or ten million armed, and no
  call loads them all.
* :meth:`claim_timers` leases due timers as :meth:`claim` leases work (the
  same rule for free, held and dead holders), so that workers firing timers
  at once take different instances. A claim only spreads the work: firing is
  made exactly-once by :meth:`append`'s version check, which a timer's firing
  passes only while its visit lasts, and by its deterministic idempotency key.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol, runtime_checkable

from wfdsl.stores.batch import Append, Outcome
from wfdsl.stores.records import InstanceRecord, Timer, Transition, WorkItem


class TimerListener(Protocol):
    """Wakes a sleeping worker when another one arms a timer (see
    :meth:`Store.listen`)."""

    def wait(self, timeout: float, *, sooner_than: int | None = None) -> bool:
        """Sleep up to ``timeout`` seconds; return ``True`` as soon as a timer of
        one of the listened workflows is armed (by this process, or, where the
        backend can tell, by any) that is due before ``sooner_than``
        (milliseconds since the epoch; any timer when ``None``), ``False`` when
        the time ran out. Timers armed since the last call count.

        :raises StoreError: the backend failed.
        """
        ...

    def close(self) -> None:
        """Stop listening (idempotent)."""
        ...


@runtime_checkable
class Store(Protocol):
    """Durable storage for workflow instances. See the module docstring."""

    @property
    def scope(self) -> str:
        """The data this store reads and writes (a file, a server's database and
        schema, or the store object itself for memory): equal for every store
        object on the same data in one process, so that the runtime orders work
        across them. Never holds a password."""
        ...

    def identity(self) -> str:
        """This worker's proof of identity, as :meth:`claim` compares it and other
        workers check it for liveness. One per process (SQLite, memory: the
        process; a forked child gets its own) or per database session holding
        the worker's advisory lock (PostgreSQL, opened on first call and opened
        again, under a new identity, if the session is lost).

        :raises StoreError: the backend failed.
        """
        ...

    def load(self, workflow: str, instance_id: str) -> InstanceRecord | None:
        """The instance, or ``None`` if it was never started.

        :raises StoreError: the backend failed.
        """
        ...

    def load_optimistic(self, workflow: str, instance_id: str) -> InstanceRecord | None:
        """The instance as :meth:`load` gives it, or a copy this store kept of
        it that may have been overtaken since, for a decision that only a
        version-checked write acts on (optimistic concurrency control: the
        write is refused with :class:`~wfdsl.errors.VersionConflict` if the
        instance moved, and the caller reads again with :meth:`load`).

        A kept copy is given only when it owes no work, has no dead work and
        is not compensating: then every one of its fields that can change
        changes only with its version (work is only ever added by a
        transition; timers are only armed by one), so the version check covers
        them all. ``Manager.send`` uses it for a transition whose choice needs
        no guard; anything that answers from the record alone (an illegal
        event, a guard's verdict, an idempotent replay) reads with :meth:`load`.

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

    def transitions(self, workflow: str, instance_id: str, seqs: Iterable[int]) -> list[Transition]:
        """The instance's transitions whose ``seq`` is in ``seqs``, in ``seq`` order
        (those it does not have are left out): what running owed work reads,
        along the primary key, so that it costs the same with three
        transitions of history or ten thousand.

        :raises StoreError: the backend failed.
        """
        ...

    def create(
        self,
        instance: InstanceRecord,
        first: Transition,
        work: Sequence[WorkItem],
        *,
        timers: Sequence[Timer] = (),
    ) -> None:
        """Create the instance with its ``start`` transition, its work and the
        timers entering the initial state arms, atomically.

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
        timers: Sequence[Timer] = (),
    ) -> None:
        """Record ``transition`` (whose ``seq`` must be the instance's version + 1),
        move the instance to ``transition.target``, set its compensation target to
        ``compensating``, insert ``work``, remove every timer the instance had
        armed and arm ``timers`` (those entering the target arms), in one
        transaction.

        :raises VersionConflict: the instance's version is no longer ``seq - 1``,
            or ``transition.key`` is already used; nothing was written.
        :raises UnknownInstance: the instance does not exist.
        :raises StoreError: the backend failed; nothing was written.
        """
        ...

    def load_many(self, workflow: str, instance_ids: Sequence[str]) -> dict[str, InstanceRecord]:
        """The instances of ``instance_ids`` that exist, by id, each as
        :meth:`load` gives it, read at once (one round trip on PostgreSQL):
        what a batch of sends reads first.

        :raises StoreError: the backend failed.
        """
        ...

    def append_many(
        self, appends: Sequence[Append], *, disarm: Sequence[Timer] = ()
    ) -> list[Outcome]:
        """Record many transitions in one transaction (one flush to the disk),
        each exactly as :meth:`append` records it alone, and remove the timers
        ``disarm`` names (spent timers, as :meth:`disarm` removes them).

        Appends to one instance form a chain (:mod:`wfdsl.stores.batch`),
        applied in the order given. What fails is told per append and writes
        nothing of its chain from there on; every other append is written.

        :returns: per append, in order: ``None`` (written), or the
            :class:`VersionConflict` or :class:`UnknownInstance` that
            :meth:`append` would have raised (also ``VersionConflict`` for an
            append after a failed one in its chain).
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
        proof: str,
        now: float,
        until: float,
        limit: int = 1000,
    ) -> list[WorkItem]:
        """Lease free work of one instance (or, with ``instance_id=None``, of any
        instance of ``workflow``) to the worker ``proof`` (named ``owner``) until
        ``until`` (seconds since the epoch), and return it in ``(instance_id, seq,
        idx)`` order. Per instance, only the prefix of its pending work up to the
        first item that is dead or held by another live worker is claimed (see
        the module docstring); ``now`` decides which leases have expired.

        :raises StoreError: the backend failed.
        """
        ...

    def complete(self, items: Sequence[WorkItem]) -> None:
        """Mark work done, visibly to every worker when the call returns.

        :raises StoreError: the backend failed.
        """
        ...

    def begin(self, item: WorkItem) -> None:
        """Record that a run of ``item`` starts: one more attempt, counted before
        the hook runs, so that a hook that kills its worker still uses up its
        attempts. Like :meth:`complete`, it may skip the disk flush (a lost
        count only allows one more run).

        :raises StoreError: the backend failed.
        """
        ...

    def fail(self, item: WorkItem, error: str, *, dead: bool, begun: bool = False) -> None:
        """Record a failed run of ``item``: one more attempt (none with ``begun``:
        :meth:`begin` counted it), the error text, and, with ``dead``, status dead. Releases every lease that ``item``'s holder
        (its ``lease_proof``) has on the instance's pending work, so that the work
        can be retried in order by any worker.

        :raises StoreError: the backend failed.
        """
        ...

    def release(self, items: Sequence[WorkItem]) -> None:
        """Give up the leases on ``items`` (those still held under their
        ``lease_proof``), leaving them pending and free for any worker: what a
        worker does with work it was interrupted before running.

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
        instance_id: str | None = None,
        state: str | None = None,
        pending_only: bool = False,
        dead_only: bool = False,
        compensating_only: bool = False,
    ) -> list[InstanceRecord]:
        """Instances, filtered (every filter given must hold), ordered by
        ``(workflow, instance_id)``. ``pending_only``: with pending work;
        ``dead_only``: with dead work; ``compensating_only``: in a compensation.

        :raises StoreError: the backend failed.
        """
        ...

    def anything_owed(self, workflow: str) -> bool:
        """Whether any instance of ``workflow`` owes hook work (pending or dead)
        or is in a compensation: what ``resume()`` asks first. On the SQL
        stores, two probes of partial indexes, however many instances there are.

        :raises StoreError: the backend failed.
        """
        ...

    def other_fingerprints(self, workflow: str, fingerprint: str) -> list[str]:
        """Ids of ``workflow``'s instances started under a spec whose fingerprint
        is not ``fingerprint``.

        :raises StoreError: the backend failed.
        """
        ...

    # -- timers -------------------------------------------------------------------

    def timers(
        self,
        workflow: str | None = None,
        *,
        instance_id: str | None = None,
        due_by: int | None = None,
    ) -> list[Timer]:
        """Armed timers, filtered (every filter given must hold): of ``workflow``,
        of one instance, due at or before ``due_by`` (milliseconds since the
        epoch); ordered by ``(due, workflow, instance_id, index)``.

        :raises StoreError: the backend failed.
        """
        ...

    def load_armed(
        self, workflow: str, instance_id: str
    ) -> tuple[InstanceRecord, list[Timer]] | None:
        """The instance (as :meth:`load` gives it) and its armed timers (as
        :meth:`timers` lists them), read at once (one round trip on
        PostgreSQL): what firing an instance's due timers reads. ``None`` if it
        was never started.

        :raises StoreError: the backend failed.
        """
        ...

    def next_due(self, workflow: str, *, after: int | None = None) -> int | None:
        """The soonest due time of ``workflow``'s armed timers (strictly later
        than ``after``, when given), in milliseconds since the epoch; ``None``
        when there is none. One index lookup, however many are armed.

        :raises StoreError: the backend failed.
        """
        ...

    def claim_timers(
        self,
        workflow: str,
        *,
        due_by: int,
        owner: str,
        proof: str,
        now: float,
        until: float,
        limit: int = 100,
    ) -> list[Timer]:
        """Lease up to ``limit`` of ``workflow``'s timers due at or before
        ``due_by`` (milliseconds since the epoch) that are free, by the rule of
        :meth:`claim` (``now`` and ``until`` in seconds since the epoch), to the
        worker ``proof`` (named ``owner``); earliest due first. An instance
        another live worker holds a due timer of is left to it. On PostgreSQL,
        timers being claimed by another worker are skipped (``SKIP LOCKED``),
        never waited for.

        :raises StoreError: the backend failed.
        """
        ...

    def disarm(self, timers: Sequence[Timer]) -> None:
        """Remove these timers (by :attr:`Timer.ident`) if they are still armed:
        what happens to a timer whose guard was false when it came due (it is
        spent; it never re-arms).

        :raises StoreError: the backend failed.
        """
        ...

    def release_timers(self, timers: Sequence[Timer], *, until: float | None = None) -> None:
        """Give up the claims on ``timers`` (those still held under their
        ``lease_proof``), leaving them armed and free for any worker; with
        ``until`` (seconds since the epoch), free for none, this one included,
        before then: what a worker does with due timers it cannot fire (their
        spec changed, their instance waits for a retry), so that they do not
        stand in front of the others in due order at every claim.

        :raises StoreError: the backend failed.
        """
        ...

    def listen(self, workflows: Sequence[str]) -> TimerListener:
        """A listener that wakes when a timer of one of ``workflows`` is armed:
        PostgreSQL hears every process (``LISTEN``/``NOTIFY``, notified in the
        arming transaction); memory and SQLite hear this process only, so other
        processes' timers are found by polling. Close it when done.

        :raises StoreError: the backend failed.
        """
        ...

    def close(self) -> None:
        """Release connections (and, on PostgreSQL, the worker's session: its
        leases become free at once). Further calls raise ``StoreError``;
        closing twice is harmless."""
        ...
