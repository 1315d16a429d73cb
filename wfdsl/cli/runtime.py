"""Runtime commands: ``instances``, ``history``, ``start``, ``send``, ``resume``,
``compensate``, ``retry``.

Exit codes: 0 done; 1 the workflow refused (illegal transition, guard rejected,
idempotency conflict, already started, compensation in progress, dead work, work
held by another worker) or a
hook failed (the transition stands and the work is pending), or ``resume`` left
something unfinished; 2 the command itself is wrong (missing or invalid spec,
bad ``--db`` URL, unknown instance or event, bad JSON, hooks not importable).
Every error is one line on stderr: ``wfdsl: error: ...``.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import click

from wfdsl.cli.common import EXIT_FINDINGS, UserError, opened_store
from wfdsl.errors import (
    AlreadyStarted,
    BindError,
    CompensationInProgress,
    HookFailed,
    IdempotencyConflict,
    IllegalTransition,
    WorkDead,
    WorkflowError,
    WorkInProgress,
)
from wfdsl.ir import Spec
from wfdsl.runtime.records import InstanceRecord, Transition

if TYPE_CHECKING:
    from wfdsl.runtime.manager import Manager

F = TypeVar("F", bound=Callable[..., Any])

#: Refusals by the workflow itself: exit 1.
_REFUSALS = (
    IllegalTransition,
    IdempotencyConflict,
    AlreadyStarted,
    CompensationInProgress,
    WorkDead,
    WorkInProgress,
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


def _load_spec(path: str) -> Spec:
    from wfdsl.errors import SpecError
    from wfdsl.frontend.source import load

    try:
        return load(path)
    except OSError as exc:
        raise UserError(f"--spec {path}: cannot read: {exc.strerror or exc}") from None
    except SpecError as exc:
        raise UserError(
            f"--spec {path}: not a valid workflow: {exc} (run wfdsl lint {path})"
        ) from None


def _load_hooks(ref: str | None) -> object | None:
    """Import ``MODULE:OBJECT``; a class is instantiated without arguments."""
    if ref is None:
        return None
    module_name, sep, attr = ref.partition(":")
    if not sep or not module_name or not attr:
        raise UserError(f"--hooks {ref}: expected MODULE:OBJECT (e.g. myapp.hooks:OrderHooks)")
    try:
        if module_name.endswith(".py") or os.sep in module_name:
            if not os.path.isfile(module_name):
                raise UserError(f"--hooks {ref}: no such file {module_name!r}")
            name = "_wfdsl_hooks_" + os.path.splitext(os.path.basename(module_name))[0]
            spec = importlib.util.spec_from_file_location(name, module_name)
            if spec is None or spec.loader is None:
                raise UserError(f"--hooks {ref}: cannot import {module_name!r}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
        else:
            if "" not in sys.path and os.getcwd() not in sys.path:
                sys.path.insert(0, os.getcwd())
            module = importlib.import_module(module_name)
    except UserError:
        raise
    except Exception as exc:  # any failure importing user code is a user mistake
        raise UserError(
            f"--hooks {ref}: cannot import {module_name!r}: {type(exc).__name__}: {exc}"
        ) from None
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise UserError(f"--hooks {ref}: {module_name!r} has no attribute {attr!r}") from None
    if inspect.isclass(obj) and not issubclass(obj, Mapping):
        try:
            obj = obj()
        except Exception as exc:
            raise UserError(
                f"--hooks {ref}: cannot create {attr}(): {type(exc).__name__}: {exc}"
            ) from None
    hooks: object = obj
    return hooks


def _parse_data(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"--data is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise UserError("--data must be a JSON object, e.g. '{\"amount\": 1200}'")
    return data


@contextmanager
def _manager(
    spec_path: str, hooks_ref: str | None, db: str, *, create: bool = False
) -> Iterator[Manager[str, str]]:
    """A manager on ``db``; only ``start`` (``create``) may create a new SQLite file,
    so that a mistyped path is an error rather than a stray empty database."""
    from wfdsl.runtime.manager import Manager

    spec = _load_spec(spec_path)
    hooks = _load_hooks(hooks_ref)
    with opened_store(db, must_exist=not create) as store:
        try:
            mgr = Manager(spec, store, hooks=hooks)
        except BindError as exc:
            hint = "" if hooks_ref else " (pass --hooks MODULE:OBJECT)"
            raise UserError(f"{exc}{hint}") from None
        with _errors():
            yield mgr


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except _REFUSALS as exc:
        raise Rejected(str(exc)) from None
    except WorkflowError as exc:
        raise UserError(str(exc)) from None


def _describe(t: Transition) -> str:
    if t.kind == "start":
        text = f"started in {t.target}"
    elif t.kind == "compensate":
        text = f"{t.source} -> {t.target} (compensate)"
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
    }


def _cell(text: str) -> str:
    """``text`` with control characters escaped, so that no id or data from the
    store can break a table line or send escape sequences to the terminal."""
    return text if text.isprintable() else repr(text)[1:-1]


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
    with opened_store(db, must_exist=True) as store, _errors():
        records = store.instances(workflow, state=state)
    if fmt == "json":
        click.echo(json.dumps([_instance_json(r) for r in records], indent=2))
        return
    if not records:
        click.echo("no instances", err=True)
        return
    rows = [["WORKFLOW", "INSTANCE", "STATE", "SEQ", "PENDING", "DEAD", "NOTE"]]
    for r in records:
        note = f"compensating to {r.compensating}" if r.compensating else ""
        rows.append(
            [r.workflow, r.instance_id, r.state, str(r.version), str(r.pending), str(r.dead), note]
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
    with opened_store(db, must_exist=True) as store, _errors():
        if workflow is None:
            owners = sorted({r.workflow for r in store.instances() if r.instance_id == instance_id})
            if not owners:
                raise UserError(f"no instance {instance_id!r} in the database")
            if len(owners) > 1:
                raise UserError(
                    f"instance {instance_id!r} exists in workflows {', '.join(owners)}; "
                    "choose one with --workflow"
                )
            workflow = owners[0]
        transitions = store.history(workflow, instance_id)
        if not transitions:
            raise UserError(f"no instance {instance_id!r} of workflow {workflow!r} in the database")
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
    if not (
        report.completed
        or report.compensated
        or report.failed
        or report.dead
        or report.spec_changed
    ):
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
    click.echo(f"{instance_id}: revived {revived} dead hook(s); pending work ran")
