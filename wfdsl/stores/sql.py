"""What the SQL stores share: the queries both dialects agree on, row decoders,
instance filters, the migration runner, and the reads built on them.

:class:`SQLStore` is the base of :class:`~wfdsl.stores.sqlite.SQLiteStore` and
:class:`~wfdsl.stores.postgres.PostgresStore` (as huey's ``BaseSqlStorage`` is
of its SQLite and PostgreSQL storages). Each backend supplies how a statement
runs (:meth:`SQLStore._fetch`, :meth:`SQLStore._execute`), its writes, and its
:class:`Dialect`: how it writes a named parameter and where its tables live.
Statement templates use ``{s}`` for the schema and ``{name}`` for the
parameter ``name``; literal braces are doubled, as in :meth:`str.format`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from wfdsl.errors import SchemaNotFound, StoreError
from wfdsl.stores import frozen
from wfdsl.stores.frozen import FrozenDict
from wfdsl.stores.limits import MAX_DEPTH, DataRefused, freeze_data, storable
from wfdsl.stores.records import (
    HookKind,
    InstanceRecord,
    Timer,
    Transition,
    TransitionKind,
    WorkItem,
    WorkStatus,
    dump_data,
)

__all__ = [
    "TIMER_COLUMNS",
    "WORK_COLUMNS",
    "Dialect",
    "Migrations",
    "SQLStore",
    "check_schema",
    "data_text",
    "instance_from_row",
    "migrate",
    "timer_from_row",
    "transition_from_row",
    "work_from_row",
]

#: Transitions read by ``seq`` per statement, at most (SQLite allows 32,766
#: parameters in a statement; PostgreSQL 65,535).
SEQS_PER_READ = 500

#: ``MIGRATIONS[n]`` takes a schema from version ``n`` to ``n + 1``.
Migrations = tuple[tuple[str, ...], ...]

#: The columns of a work row, in :class:`WorkItem` field order.
WORK_COLUMNS = """workflow, instance_id, seq, idx, hook, kind, status, attempts,
    last_error, lease_owner, lease_until, lease_proof"""

#: The columns of a timer row, in :class:`Timer` field order.
TIMER_COLUMNS = """workflow, instance_id, seq, idx, state, target, after_ms, due,
    lease_owner, lease_until, lease_proof"""

#: The columns of a transition row, in :class:`Transition` field order. Data is
#: read as text, so that every store decodes it the same way (read-only, and
#: never raising anything but :class:`StoreError`).
TRANSITION_COLUMNS = "seq, kind, source, target, event, key, CAST(data AS TEXT), at"

#: Statements both dialects run as they are. ``{by_key}``, ``{by_open}``,
#: ``{by_fingerprint}`` and ``{by_compensating}`` name the index a statement
#: must read where the dialect can say so (SQLite's ``INDEXED BY``): with
#: statistics that count every instance's rows, SQLite prefers the primary
#: key, whose range holds an instance's whole history (or the workflow's
#: every instance), over the index holding the few rows the statement wants.
#: Each is read along an index, whatever the store holds
#: (``tests/stores/test_explain.py`` checks every plan).
SHARED = {
    "find_key": f"SELECT {TRANSITION_COLUMNS} FROM {{s}}.wf_transitions {{by_key}} "
    "WHERE workflow = {wf} AND instance_id = {id} AND key = {key}",
    "history": f"SELECT {TRANSITION_COLUMNS} FROM {{s}}.wf_transitions "
    "WHERE workflow = {wf} AND instance_id = {id} ORDER BY seq",
    "pending_work": f"SELECT {WORK_COLUMNS} FROM {{s}}.wf_work {{by_open}} "
    "WHERE workflow = {wf} AND instance_id = {id} AND status <> 'done' ORDER BY seq, idx",
    # Two ranges of the fingerprint index rather than ``<>``, which no index serves.
    "other_fingerprints": "SELECT instance_id FROM (SELECT instance_id "
    "FROM {s}.wf_instances {by_fingerprint} WHERE workflow = {wf} AND fingerprint < {fp} "
    "UNION ALL SELECT instance_id FROM {s}.wf_instances {by_fingerprint} "
    "WHERE workflow = {wf} AND fingerprint > {fp}) o ORDER BY instance_id",
    # What ``resume()`` asks first: two probes of partial indexes, which hold
    # only open work and instances in a compensation.
    "anything_owed": "SELECT EXISTS (SELECT 1 FROM {s}.wf_work {by_open} "
    "WHERE workflow = {wf} AND status <> 'done') OR EXISTS (SELECT 1 "
    "FROM {s}.wf_instances {by_compensating} WHERE workflow = {wf} "
    "AND compensating IS NOT NULL)",
    "release": "UPDATE {s}.wf_work SET lease_owner = NULL, lease_until = NULL, "
    "lease_proof = NULL WHERE workflow = {wf} AND instance_id = {id} AND seq = {seq} "
    "AND idx = {idx} AND status = 'pending' AND lease_proof = {proof}",
}


class Dialect(dict[str, str]):
    """Formats statement templates for one backend: ``{s}`` becomes the schema,
    any other ``{name}`` the backend's placeholder for the parameter ``name``."""

    def __init__(self, schema: str, placeholder: Callable[[str], str], **names: str) -> None:
        super().__init__(s=schema, **names)
        self._placeholder = placeholder

    def __missing__(self, name: str) -> str:
        return self._placeholder(name)

    def render(self, template: str) -> str:
        return template.format_map(self)


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _data(value: str) -> Mapping[str, Any]:
    """Transition data as read: JSON text, decoded into read-only containers.

    :raises StoreError: it cannot be decoded (data written before wfdsl bounded
        nesting may nest deeper than the interpreter can read at this depth).
    """
    try:
        return frozen.loads(value)
    except RecursionError:
        raise StoreError(
            f"stored transition data nests too deep to read ({len(value):,} bytes of JSON; "
            f"data is limited to {MAX_DEPTH} levels now)"
        ) from None
    except ValueError as exc:  # not an object, or an integer past int_max_str_digits
        raise StoreError(f"stored transition data cannot be read: {exc}") from None


def instance_from_row(row: Sequence[Any]) -> InstanceRecord:
    """The record in a row of ``workflow, instance_id, state, version, fingerprint,
    compensating, pending, dead, created_at, updated_at[, next_due]``."""
    return InstanceRecord(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        row[5],
        row[6],
        row[7],
        _time(row[8]),
        _time(row[9]),
        row[10] if len(row) > 10 else None,
    )


def timer_from_row(row: Sequence[Any]) -> Timer:
    """The :class:`Timer` in a row of :data:`TIMER_COLUMNS`."""
    return Timer(
        row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], row[9], row[10]
    )


def transition_from_row(row: Sequence[Any]) -> Transition:
    """The :class:`Transition` in a row of :data:`TRANSITION_COLUMNS`."""
    return Transition(
        row[0],
        TransitionKind(row[1]),
        row[2],
        row[3],
        row[4],
        row[5],
        _data(row[6]),
        datetime.fromisoformat(row[7]),
    )


def data_text(t: Transition) -> str:
    """The canonical text ``t.data`` is stored as. Data the runtime checked is
    read-only already; anything else is checked against the same limits here.

    :raises StoreError: the data is not JSON or exceeds a limit.
    """
    if type(t.data) is FrozenDict:
        return dump_data(t.data)
    try:
        return freeze_data(t.data)[1]
    except DataRefused as exc:
        raise StoreError(f"cannot store transition {t.seq}: {exc}") from None


def _transitions(workflow: str, instance_id: str, rows: Sequence[Any]) -> list[Transition]:
    """The transitions in ``rows`` of one instance.

    :raises StoreError: one cannot be decoded (naming the instance).
    """
    try:
        return [transition_from_row(r) for r in rows]
    except StoreError as exc:
        raise StoreError(f"{workflow}: instance {instance_id!r}: {exc}") from None


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
        row[11],
    )


def migrate(
    current: int,
    migrations: Migrations,
    execute: Callable[[str], object],
    where: str,
) -> int:
    """Run the statements that take a schema from version ``current`` to the
    latest, inside the caller's transaction; return the latest version.

    :raises StoreError: ``current`` is newer than this code knows (the schema
        was written by a newer wfdsl) or negative; nothing is run.
    """
    latest = len(migrations)
    if current < 0:
        raise StoreError(f"{where}: schema version {current} is not a wfdsl schema version")
    if current > latest:
        raise StoreError(
            f"{where}: schema version {current} was written by a newer wfdsl "
            f"(this one knows {latest})"
        )
    for version in range(current, latest):
        for statement in migrations[version]:
            execute(statement)
    return latest


def check_schema(current: int, found: bool, latest: int, where: str, *, readonly: bool) -> None:
    """Whether a store may be opened on a schema at version ``current`` (``0``
    when none is recorded) whose tables were ``found`` or not: a store opened
    ``readonly`` needs the latest schema there already, and nothing else may
    be there instead of wfdsl's.

    :raises SchemaNotFound: ``readonly``, and there is no wfdsl schema.
    :raises StoreError: the version is negative, newer than ``latest``, older
        (``readonly`` only), or recorded without wfdsl's tables (another
        application's database).
    """
    if current < 0:
        raise StoreError(f"{where}: schema version {current} is not a wfdsl schema version")
    if not found:
        if current:
            raise StoreError(
                f"{where}: not a wfdsl database (its schema version {current} was set "
                "by something else, and wfdsl's tables are missing)"
            )
        if readonly:
            raise SchemaNotFound(where)
        return
    if current > latest:
        raise StoreError(
            f"{where}: schema version {current} was written by a newer wfdsl "
            f"(this one knows {latest})"
        )
    if readonly and current < latest:
        raise StoreError(
            f"{where}: schema version {current} is older than this wfdsl's ({latest}); "
            "a command that writes (wfdsl resume, for one) migrates it"
        )


class SQLStore:
    """The reads and the lease release that both SQL stores run as they are.

    Subclasses set ``_dialect`` (which also names the conditions ``{has_pending}``
    and ``{has_dead}`` on an instance ``i``, ``{has_pending_in}`` and
    ``{has_dead_in}`` for an instance of the workflow ``{workflow}``, and the
    index hints of :data:`SHARED`), ``_sql`` (every template of
    :data:`SHARED` rendered with it, and their own statements),
    ``_instances`` (a template selecting the columns :func:`instance_from_row`
    decodes, from ``{s}.wf_instances i``), and implement :meth:`_fetch` and
    :meth:`_execute`.
    """

    _sql: dict[str, str]
    _dialect: Dialect
    _instances: str
    #: Rendered statements of :meth:`transitions`, by how many they read.
    _seq_queries: dict[int, str]

    def _fetch(self, what: str, query: str, params: Mapping[str, Any]) -> list[Any]:
        """Run a read and return its rows; ``what`` says what for errors."""
        raise NotImplementedError

    def _execute(self, what: str, query: str, params: Mapping[str, Any]) -> None:
        """Run one write statement in a transaction of its own."""
        raise NotImplementedError

    def _render(self, templates: Mapping[str, str]) -> dict[str, str]:
        return {name: self._dialect.render(text) for name, text in templates.items()}

    # -- reads ------------------------------------------------------------------

    def load(self, workflow: str, instance_id: str) -> InstanceRecord | None:
        raise NotImplementedError

    def load_optimistic(self, workflow: str, instance_id: str) -> InstanceRecord | None:
        """:meth:`load`, unless a subclass keeps records (see the protocol)."""
        return self.load(workflow, instance_id)

    def find_key(self, workflow: str, instance_id: str, key: str) -> Transition | None:
        if not storable(workflow, instance_id, key):
            return None
        rows = self._fetch(
            "look up an idempotency key",
            self._sql["find_key"],
            {"wf": workflow, "id": instance_id, "key": key},
        )
        return _transitions(workflow, instance_id, rows[:1])[0] if rows else None

    def history(self, workflow: str, instance_id: str) -> list[Transition]:
        if not storable(workflow, instance_id):
            return []
        rows = self._fetch(
            "read a history", self._sql["history"], {"wf": workflow, "id": instance_id}
        )
        return _transitions(workflow, instance_id, rows)

    def pending_work(self, workflow: str, instance_id: str) -> list[WorkItem]:
        if not storable(workflow, instance_id):
            return []
        rows = self._fetch(
            "read pending work", self._sql["pending_work"], {"wf": workflow, "id": instance_id}
        )
        return [work_from_row(r) for r in rows]

    def transitions(self, workflow: str, instance_id: str, seqs: Iterable[int]) -> list[Transition]:
        if not storable(workflow, instance_id):
            return []
        wanted = sorted(set(seqs))
        found: list[Transition] = []
        for start in range(0, len(wanted), SEQS_PER_READ):
            chunk = wanted[start : start + SEQS_PER_READ]
            params: dict[str, Any] = {"wf": workflow, "id": instance_id}
            params.update((f"q{n}", seq) for n, seq in enumerate(chunk))
            rows = self._fetch("read transitions", self._by_seq(len(chunk)), params)
            found.extend(_transitions(workflow, instance_id, rows))
        return found

    def _by_seq(self, count: int) -> str:
        """The statement reading ``count`` transitions of one instance by ``seq``
        (rendered once per count)."""
        query = self._seq_queries.get(count)
        if query is None:
            marks = ", ".join(f"{{q{n}}}" for n in range(count))
            query = self._dialect.render(
                f"SELECT {TRANSITION_COLUMNS} FROM {{s}}.wf_transitions "
                f"WHERE workflow = {{wf}} AND instance_id = {{id}} AND seq IN ({marks}) "
                "ORDER BY seq"
            )
            self._seq_queries[count] = query
        return query

    def anything_owed(self, workflow: str) -> bool:
        if not storable(workflow):
            return False
        rows = self._fetch("look for owed work", self._sql["anything_owed"], {"wf": workflow})
        return bool(rows[0][0])

    def other_fingerprints(self, workflow: str, fingerprint: str) -> list[str]:
        if not storable(workflow, fingerprint):
            return []
        rows = self._fetch(
            "compare spec fingerprints",
            self._sql["other_fingerprints"],
            {"wf": workflow, "fp": fingerprint},
        )
        return [r[0] for r in rows]

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
        if not storable(workflow, instance_id, state):
            return []
        where: list[str] = []
        params: dict[str, Any] = {}
        for column, value in (
            ("workflow", workflow),
            ("instance_id", instance_id),
            ("state", state),
        ):
            if value is not None:
                where.append(f"i.{column} = {{{column}}}")
                params[column] = value
        # Of one workflow: its open work only, not every workflow's.
        of = "_in" if workflow is not None else ""
        if pending_only:
            where.append(f"{{has_pending{of}}}")
        if dead_only:
            where.append(f"{{has_dead{of}}}")
        template = self._instances
        if compensating_only:
            template += " {by_compensating}"
            where.append("i.compensating IS NOT NULL")
        if where:
            template += " WHERE " + " AND ".join(where)
        template += " ORDER BY i.workflow, i.instance_id"
        rows = self._fetch("list instances", self._dialect.render(template), params)
        return [instance_from_row(r) for r in rows]

    # -- writes -------------------------------------------------------------------

    def release(self, items: Sequence[WorkItem]) -> None:
        for w in items:
            if w.lease_proof is None:
                continue
            self._execute(
                "release a lease",
                self._sql["release"],
                {
                    "wf": w.workflow,
                    "id": w.instance_id,
                    "seq": w.seq,
                    "idx": w.idx,
                    "proof": w.lease_proof,
                },
            )
