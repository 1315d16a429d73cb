"""Runtime commands: ``instances``, ``history``, ``timers``, ``start``, ``send``,
``resume``, ``compensate``, ``retry`` (``worker`` has a module of its own). Thin: the library loads hooks
(:func:`wfdsl.runtime.hook_loader.load_hooks`), finds instances
(:func:`wfdsl.stores.lookup.find_instance`) and does the rest.

Exit codes: 0 done; 1 the workflow refused (illegal transition, guard rejected,
idempotency conflict, already started, compensation in progress, dead work, work
held by another worker, a state or hook the spec no longer declares) or a
hook failed (the transition stands and the work is pending), or ``resume`` left
something owed; 2 the command itself is wrong (missing or invalid spec,
bad ``--db`` URL, unknown instance or event, bad JSON, hooks not importable).
Every error is one line on stderr: ``wfdsl: error: ...``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import click

from wfdsl.cli.common import EXIT_FINDINGS, UserError, db_error, load_spec, opened_store
from wfdsl.diagnostics import visible
from wfdsl.errors import (
    AlreadyStarted,
    BindError,
    CompensationInProgress,
    GuardFailed,
    HookFailed,
    HooksNotLoaded,
    IdempotencyConflict,
    IllegalTransition,
    StoreError,
    UnknownHook,
    UnknownState,
    WorkDead,
    WorkflowError,
    WorkInProgress,
)
from wfdsl.ir import format_duration
from wfdsl.stores.records import InstanceRecord, Timer, Transition, epoch_ms

if TYPE_CHECKING:
    from wfdsl.runtime.manager import Manager

F = TypeVar("F", bound=Callable[..., Any])

#: Refusals by the workflow itself, and hooks or guards that failed: exit 1.
_REFUSALS = (
    GuardFailed,
    IllegalTransition,
    IdempotencyConflict,
    AlreadyStarted,
    CompensationInProgress,
    WorkDead,
    WorkInProgress,
    UnknownState,
    UnknownHook,
    HookFailed,
)


class Rejected(UserError):
    """The workflow refused the request, or a hook failed: exit 1, one line."""

    exit_code = EXIT_FINDINGS


# -- shared pieces -----------------------------------------------------------------


def _db_option(f: F) -> F:
    return click.option(
        "--db",
        "db",
        required=True,
        metavar="URL",
        help="The store: a SQLite file, sqlite:///path or postgresql://...",
    )(f)


def _run_options(f: F) -> F:
    f = click.option(
        "--hooks",
        "hooks_ref",
        metavar="MODULE:OBJECT",
        help="Guards and hooks: an object (or class, instantiated) or a mapping; "
        "MODULE may be a dotted name or a .py file.",
    )(f)
    f = click.option(
        "--spec",
        "spec_path",
        required=True,
        type=click.Path(dir_okay=False),
        help="The .wf file.",
    )(f)
    return _db_option(f)


def _parse_data(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"--data is not valid JSON: {exc}") from None
    except RecursionError:
        raise UserError("--data nests too deep to read (data may nest 64 levels)") from None
    except ValueError as exc:  # an integer past sys.get_int_max_str_digits()
        raise UserError(f"--data cannot be read: {exc}") from None
    if not isinstance(data, dict):
        raise UserError("--data must be a JSON object, e.g. '{\"amount\": 1200}'")
    return data


@contextmanager
def _manager(
    spec_path: str, hooks_ref: str | None, db: str, *, create: bool = False
) -> Iterator[Manager[str, str]]:
    """A manager on ``db``; only ``start`` (``create``) may create a new SQLite file,
    so that a mistyped path is an error rather than a stray empty database."""
    from wfdsl.runtime.hook_loader import load_hooks
    from wfdsl.runtime.manager import Manager

    spec = load_spec(spec_path)
    try:
        hooks = None if hooks_ref is None else load_hooks(hooks_ref)
    except HooksNotLoaded as exc:
        raise UserError(f"--hooks {exc}") from None
    with opened_store(db, readonly=False, must_exist=not create) as store:
        try:
            mgr = Manager(spec, store, hooks=hooks)
        except BindError as exc:
            hint = "" if hooks_ref else " (pass --hooks MODULE:OBJECT)"
            raise UserError(f"{exc}{hint}") from None
        with _errors(db), _interrupted(mgr):
            yield mgr


@contextmanager
def _errors(db: str) -> Iterator[None]:
    try:
        yield
    except _REFUSALS as exc:
        raise Rejected(str(exc)) from None
    except StoreError as exc:
        raise db_error(db, exc) from None
    except WorkflowError as exc:
        raise UserError(str(exc)) from None


class Interrupted(UserError):
    """Ctrl-C while the workflow ran: what it left owed, exit 130 as any interrupt."""

    exit_code = 130


@contextmanager
def _interrupted(mgr: Manager[str, str]) -> Iterator[None]:
    """A hook (or guard) that calls ``sys.exit`` must not pass for success, and
    neither may Ctrl-C go unexplained: say what the instances owe now (their
    work stays owed, for ``wfdsl resume``) and exit non-zero."""
    try:
        yield
    except (SystemExit, KeyboardInterrupt) as exc:
        owed = _owed(mgr)
        if isinstance(exc, KeyboardInterrupt):
            raise Interrupted(f"interrupted{owed}") from None
        raise Rejected(
            f"a hook or guard called sys.exit({exc.code!r}) while the workflow ran{owed}"
        ) from None


def _owed(mgr: Manager[str, str]) -> str:
    """``"; ID still owes HOOK, ... (wfdsl resume runs it)"``, or what nothing owed means."""
    try:
        owed = [
            (r.instance_id, w.hook)
            for r in mgr.store.instances(mgr.workflow, pending_only=True)
            for w in mgr.store.pending_work(mgr.workflow, r.instance_id)
        ]
    except WorkflowError:
        return "; what it left owed could not be read"
    if not owed:
        return "; no hook work is owed"
    listed = ", ".join(f"{_cell(iid)} owes {hook}" for iid, hook in owed[:5])
    more = f" and {len(owed) - 5} more" if len(owed) > 5 else ""
    return f"; {listed}{more} (wfdsl resume runs it)"


def _describe(t: Transition) -> str:
    if t.kind == "start":
        text = f"started in {t.target}"
    elif t.kind == "compensate":
        text = f"{t.source} -> {t.target} (compensate)"
    elif t.kind == "timer":
        text = f"{t.source} -> {t.target} (timer)"
    else:
        text = f"{t.source} -> {t.target} on {t.event}"
    return text


def _transition_json(t: Transition) -> dict[str, Any]:
    return {
        "seq": t.seq,
        "kind": str(t.kind),
        "source": t.source,
        "target": t.target,
        "event": t.event,
        "key": t.key,
        "data": dict(t.data),
        "at": t.at.isoformat(),
    }


def _instance_json(r: InstanceRecord) -> dict[str, Any]:
    return {
        "workflow": r.workflow,
        "instance": r.instance_id,
        "state": r.state,
        "seq": r.version,
        "pending": r.pending,
        "dead": r.dead,
        "compensating": r.compensating,
        "fingerprint": r.fingerprint,
        "updated_at": r.updated_at.isoformat() if r.updated_at else None,
        "next_due": _utc(r.next_due_at) if r.next_due_at else None,
    }


def _utc(at: datetime) -> str:
    """An instant in UTC, ISO 8601, to the millisecond: ``2026-03-01T12:30:00.000Z``."""
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _timer_json(t: Timer, now: datetime) -> dict[str, Any]:
    return {
        "workflow": t.workflow,
        "instance": t.instance_id,
        "state": t.state,
        "target": t.target,
        "after": format_duration(t.after_ms),
        "after_ms": t.after_ms,
        "due": _utc(t.due_at),
        "overdue": t.due_at <= now,
        "armed_by_seq": t.seq,
    }


def _when(due: datetime, now: datetime) -> str:
    """How far ``due`` is from ``now``, to the second: ``in 29m59s``, ``1h2m overdue``."""
    seconds = int(abs((due - now).total_seconds()))
    span = format_duration(seconds * 1000) if seconds else "0s"
    return f"{span} overdue" if due <= now else f"in {span}"


def _cell(text: str) -> str:
    """``text`` with control characters escaped (:func:`~wfdsl.diagnostics.visible`),
    so that no id or data from the store can break a table line or send escape
    sequences to the terminal."""
    return visible(text)


def _table(rows: list[list[str]]) -> str:
    rows = [[_cell(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


_format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)


# -- commands ------------------------------------------------------------------------


@click.command()
@_db_option
@click.option("--workflow", "workflow", metavar="W", help="Only instances of this workflow.")
@click.option("--state", "state", metavar="S", help="Only instances in this state.")
@_format_option
def instances(db: str, workflow: str | None, state: str | None, fmt: str) -> None:
    """List instances and their states."""
    with opened_store(db) as store, _errors(db):
        records = store.instances(workflow, state=state)
    if fmt == "json":
        click.echo(json.dumps([_instance_json(r) for r in records], indent=2))
        return
    if not records:
        click.echo("no instances", err=True)
        return
    rows = [["WORKFLOW", "INSTANCE", "STATE", "SEQ", "PENDING", "DEAD", "NEXT DUE", "NOTE"]]
    for r in records:
        note = f"compensating to {r.compensating}" if r.compensating else ""
        due = _utc(r.next_due_at) if r.next_due_at else ""
        rows.append(
            [
                r.workflow,
                r.instance_id,
                r.state,
                str(r.version),
                str(r.pending),
                str(r.dead),
                due,
                note,
            ]
        )
    click.echo(_table(rows))


@click.command()
@_db_option
@click.option("--workflow", "workflow", metavar="W", help="Only timers of this workflow.")
@click.option("--due", "due_only", is_flag=True, help="Only timers due now (overdue).")
@_format_option
def timers(db: str, workflow: str | None, due_only: bool, fmt: str) -> None:
    """List armed timers: instance, state, target, due time (UTC), overdue or not."""
    now = datetime.now(UTC)
    due_by = epoch_ms(now) if due_only else None
    with opened_store(db) as store, _errors(db):
        armed = store.timers(workflow, due_by=due_by)
    if fmt == "json":
        click.echo(json.dumps([_timer_json(t, now) for t in armed], indent=2))
        return
    if not armed:
        click.echo("no timers due" if due_only else "no armed timers", err=True)
        return
    rows = [["WORKFLOW", "INSTANCE", "STATE", "TARGET", "AFTER", "DUE (UTC)", "WHEN"]]
    for t in armed:
        rows.append(
            [
                t.workflow,
                t.instance_id,
                t.state,
                t.target,
                format_duration(t.after_ms),
                _utc(t.due_at),
                _when(t.due_at, now),
            ]
        )
    click.echo(_table(rows))


@click.command()
@_db_option
@click.argument("instance_id", metavar="ID")
@click.option(
    "--workflow", "workflow", metavar="W", help="The instance's workflow (needed if ambiguous)."
)
@_format_option
def history(db: str, instance_id: str, workflow: str | None, fmt: str) -> None:
    """Show one instance's transitions."""
    from wfdsl.errors import AmbiguousInstance
    from wfdsl.stores.lookup import find_instance

    with opened_store(db) as store, _errors(db):
        try:
            workflow = find_instance(store, instance_id, workflow).workflow
        except AmbiguousInstance as exc:
            raise UserError(f"{exc} with --workflow") from None
        transitions = store.history(workflow, instance_id)
    if fmt == "json":
        click.echo(json.dumps([_transition_json(t) for t in transitions], indent=2))
        return
    rows = [["SEQ", "KIND", "TRANSITION", "KEY", "DATA", "AT"]]
    for t in transitions:
        data = json.dumps(dict(t.data), sort_keys=True) if t.data else ""
        rows.append(
            [
                str(t.seq),
                str(t.kind),
                _describe(t),
                t.key or "",
                data,
                t.at.isoformat(timespec="seconds"),
            ]
        )
    click.echo(_cell(f"{workflow}/{instance_id}"))
    click.echo(_table(rows))


@click.command()
@click.argument("instance_id", metavar="ID")
@_run_options
@click.option("--data", "data", metavar="JSON", help="A JSON object recorded with the transition.")
def start(
    instance_id: str, spec_path: str, hooks_ref: str | None, db: str, data: str | None
) -> None:
    """Start an instance in the initial state."""
    payload = _parse_data(data)
    with _manager(spec_path, hooks_ref, db, create=True) as mgr:
        t = mgr.start(instance_id, data=payload)
    click.echo(f"{_cell(instance_id)}: {_cell(_describe(t))} (seq {t.seq})")


@click.command()
@click.argument("instance_id", metavar="ID")
@click.argument("event")
@_run_options
@click.option(
    "--key", "key", metavar="KEY", help="Idempotency key: a repeat returns the first outcome."
)
@click.option("--data", "data", metavar="JSON", help="A JSON object passed to guards and hooks.")
def send(
    instance_id: str,
    event: str,
    spec_path: str,
    hooks_ref: str | None,
    db: str,
    key: str | None,
    data: str | None,
) -> None:
    """Send EVENT to an instance."""
    payload = _parse_data(data)
    with _manager(spec_path, hooks_ref, db) as mgr:
        t = mgr.send(instance_id, event, key=key, data=payload)
    click.echo(f"{_cell(instance_id)}: {_cell(_describe(t))} (seq {t.seq})")


@click.command()
@click.argument("instance_id", metavar="ID")
@click.argument("to_state", metavar="STATE")
@_run_options
def compensate(
    instance_id: str, to_state: str, spec_path: str, hooks_ref: str | None, db: str
) -> None:
    """Walk an instance back to STATE, running compensators."""
    with _manager(spec_path, hooks_ref, db) as mgr:
        steps = mgr.compensate(instance_id, to_state)
    if not steps:
        click.echo(f"{_cell(instance_id)}: already in {_cell(to_state)}, nothing to compensate")
    for t in steps:
        click.echo(f"{_cell(instance_id)}: {_cell(_describe(t))} (seq {t.seq})")


@click.command()
@_run_options
def resume(spec_path: str, hooks_ref: str | None, db: str) -> None:
    """Run hook work and compensations that crashes or failures left unfinished."""
    with _manager(spec_path, hooks_ref, db) as mgr:
        report = mgr.resume()
    for iid, hook in report.completed:
        click.echo(f"{_cell(iid)}: ran {hook}")
    for iid in report.compensated:
        click.echo(f"{_cell(iid)}: finished compensating")
    for iid, hook, error in report.failed:
        click.echo(f"wfdsl: {_cell(iid)}: {hook} failed again: {_cell(error)}", err=True)
    for iid in report.dead:
        click.echo(
            f"wfdsl: {_cell(iid)}: work is dead after too many failures (fix it, then retry)",
            err=True,
        )
    for iid in report.spec_changed:
        click.echo(
            f"wfdsl: {_cell(iid)}: started under another version of the spec; left alone", err=True
        )
    for iid, hook, owner in report.in_progress:
        click.echo(
            f"wfdsl: {_cell(iid)}: {hook} is still running in worker {_cell(owner)}", err=True
        )
    for iid, hook in report.queued:
        click.echo(
            f"wfdsl: {_cell(iid)}: {hook} is queued behind the hook in progress (not started)",
            err=True,
        )
    for iid, error in report.errors:
        click.echo(f"wfdsl: {_cell(iid)}: {_cell(error)}", err=True)
    for iid in report.pending:
        click.echo(f"wfdsl: {_cell(iid)}: still owes hook work", err=True)
    if report.ok and not (report.completed or report.compensated):
        click.echo("nothing to resume")
    if not report.ok:
        sys.exit(EXIT_FINDINGS)


@click.command()
@click.argument("instance_id", metavar="ID")
@_run_options
def retry(instance_id: str, spec_path: str, hooks_ref: str | None, db: str) -> None:
    """Re-drive an instance's dead hook work (after fixing what made it fail)."""
    with _manager(spec_path, hooks_ref, db) as mgr:
        revived = mgr.retry(instance_id)
    click.echo(f"{_cell(instance_id)}: revived {revived} dead hook(s); pending work ran")
