"""``wfdsl worker``: a long-running worker for one or more workflows on one store
(SPEC §4, §7.2). Thin: :func:`wfdsl.runtime.worker.run_worker` does the work;
this module loads specs and hooks, logs to stderr, and turns SIGINT and
SIGTERM into a clean stop.

Exit codes: 0 stopped on request (or, with ``--until-idle``, found nothing
more to do and nothing went wrong); 1 with ``--until-idle``, a hook failed,
work is dead, or an instance was left alone (another spec, an unknown state);
2 the command is wrong (spec, hooks, ``--db``). A second SIGINT stops at once
(exit 130): hooks in flight are cut off, and run again by the next worker.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, Any

import click

from wfdsl.cli.common import EXIT_FINDINGS, UserError, load_spec, opened_store
from wfdsl.cli.runtime import _errors
from wfdsl.diagnostics import visible
from wfdsl.errors import BindError, HooksNotLoaded

if TYPE_CHECKING:
    from wfdsl.runtime.manager import Manager


def _gmtime(seconds: float | None = None) -> time.struct_time:
    return time.gmtime(seconds)


class _UTCFormatter(logging.Formatter):
    """``2026-03-01T12:30:00Z INFO    message``: times in UTC, as timers are;
    control characters (in an instance id, a hook's error) shown escaped, so no
    stored text can act on the terminal."""

    converter = staticmethod(_gmtime)

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(message)s", "%Y-%m-%dT%H:%M:%SZ")

    def format(self, record: logging.LogRecord) -> str:
        return visible(super().format(record), keep="\n")


@contextmanager
def _logging(level: str) -> Iterator[None]:
    """Log the ``wfdsl`` loggers to stderr for the command's life."""
    logger = logging.getLogger("wfdsl")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_UTCFormatter())
    before = logger.level
    logger.addHandler(handler)
    logger.setLevel(level.upper())
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(before)


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """An event set by the first SIGINT or SIGTERM; a second one interrupts at once."""
    stop = threading.Event()
    log = logging.getLogger("wfdsl.worker")

    def handle(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        log.info(
            "%s: stopping after the instance in hand (again to stop at once)",
            signal.Signals(signum).name,
        )
        stop.set()

    if threading.current_thread() is not threading.main_thread():
        yield stop  # signals reach the main thread only (e.g. under a test runner)
        return
    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _hooks(refs: tuple[str, ...], count: int) -> list[object | None]:
    """The hooks of each spec: none, one object for all, or one per ``--spec``."""
    from wfdsl.runtime.hook_loader import load_hooks

    if len(refs) not in (0, 1, count):
        raise click.UsageError(
            f"give one --hooks for all {count} specs, or one per --spec in the same order"
        )
    try:
        loaded = [load_hooks(ref) for ref in refs]
    except HooksNotLoaded as exc:
        raise UserError(f"--hooks {exc}") from None
    if not loaded:
        return [None] * count
    return loaded * count if len(loaded) == 1 else list(loaded)


@click.command()
@click.option(
    "--spec",
    "spec_paths",
    required=True,
    multiple=True,
    type=click.Path(dir_okay=False),
    help="A .wf file; repeat for several workflows in one worker.",
)
@click.option(
    "--hooks",
    "hooks_refs",
    multiple=True,
    metavar="MODULE:OBJECT",
    help="Guards and hooks: one for every --spec, or one per --spec in the same order.",
)
@click.option(
    "--db",
    "db",
    required=True,
    metavar="URL",
    help="The store: a SQLite file, sqlite:///path or postgresql://...",
)
@click.option(
    "--poll",
    type=click.FloatRange(min=0, min_open=True),
    default=5.0,
    show_default=True,
    help="Longest sleep between passes, in seconds (on PostgreSQL a sooner timer "
    "armed anywhere wakes the worker at once).",
)
@click.option(
    "--until-idle",
    is_flag=True,
    help="Stop after the first pass that finds nothing to do (scripts, cron, demos); "
    "exit 1 if a hook failed, work is dead or an instance was left alone.",
)
@click.option("--worker-id", metavar="NAME", help="This worker's name in logs (default host:pid).")
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
)
def worker(
    spec_paths: tuple[str, ...],
    hooks_refs: tuple[str, ...],
    db: str,
    poll: float,
    until_idle: bool,
    worker_id: str | None,
    log_level: str,
) -> None:
    """Run owed hook work and fire due timers until SIGINT or SIGTERM.

    Several workers may share one store: they take different instances.
    Stopping finishes the hooks in hand and releases everything else at once.
    """
    from wfdsl.runtime.manager import Manager
    from wfdsl.runtime.worker import run_worker

    specs = [load_spec(path) for path in spec_paths]
    names = [s.name for s in specs]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise UserError(f"workflow {', '.join(map(repr, twice))} given twice (one --spec each)")
    hooks = _hooks(hooks_refs, len(specs))
    with opened_store(db, readonly=False) as store, _logging(log_level):
        managers: list[Manager[Any, Any]] = []
        for spec, path, bound in zip(specs, spec_paths, hooks, strict=True):
            try:
                managers.append(Manager(spec, store, hooks=bound, worker_id=worker_id))
            except BindError as exc:
                hint = "" if hooks_refs else " (pass --hooks MODULE:OBJECT)"
                raise UserError(f"{path}: {exc}{hint}") from None
        with _stop_on_signals() as stop, _errors(db):
            stats = run_worker(managers, stop, poll=poll, until_idle=until_idle)
    if until_idle and not stats.ok:
        sys.exit(EXIT_FINDINGS)
