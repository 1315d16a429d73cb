"""``wfdsl preview``: a local web page that redraws a ``.wf`` file as it is saved.

A :class:`Previewer` turns the file's current bytes into a :class:`Snapshot`
(lint findings, SVG diagram), re-reading the file only when its size or
modification time changed. The findings are those of ``wfdsl lint`` and come
at once; the diagram is drawn by Graphviz in the background, so that no
request waits behind a large layout (the page shows the last diagram, marked
stale, meanwhile). :class:`PreviewServer` puts it behind a small HTTP server
on 127.0.0.1: ``/`` is the page (:mod:`wfdsl.preview.page`), ``/state`` the
latest snapshot as JSON, which the page polls.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from wfdsl.diagnostics import Diagnostic
from wfdsl.errors import RenderError, SpecError
from wfdsl.frontend.source import analyze_lenient, decode, gc_paused, read_limited
from wfdsl.lint.config import ConfigError, ConfigFinder, Selection
from wfdsl.lint.engine import lint_source
from wfdsl.preview.page import preview_page
from wfdsl.render import Detail, extract
from wfdsl.render.dot import run_dot, to_dot
from wfdsl.render.markdown import MAX_DRAWN_ARROWS

HOST = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the page shows for one version of the file."""

    #: Changes whenever anything shown changes.
    version: str
    #: The diagram, or the last good one while the file is invalid or its
    #: diagram is being drawn, or ``None``.
    svg: str | None
    findings: tuple[Diagnostic, ...]
    #: One line for the status bar.
    message: str
    #: ``svg`` is not this version's diagram.
    stale: bool = False
    #: This version's diagram is being drawn; a later snapshot will have it.
    drawing: bool = False

    def to_json(self) -> str:
        findings = [
            {
                "code": d.code,
                "severity": str(d.severity),
                "message": d.message,
                "hint": d.hint,
                "line": d.line,
                "column": d.column,
            }
            for d in self.findings
        ]
        data: dict[str, Any] = {
            "version": self.version,
            "svg": self.svg,
            "findings": findings,
            "message": self.message,
            "stale": self.stale,
            "drawing": self.drawing,
        }
        return json.dumps(data)


#: Seconds Graphviz may take to lay out one version of the file. It runs in
#: the background and with its positioning bounded (see
#: :data:`wfdsl.render.dot.LAYOUT_BOUNDS`), so this only stops a layout that
#: would never end; past :data:`MAX_DRAWN_ARROWS` arrows nothing is drawn.
DOT_TIMEOUT = 300.0

#: Seconds a request waits for a new version's diagram before it answers
#: without it (small diagrams are drawn within it: no flicker).
DRAW_WAIT = 1.0


@dataclass(frozen=True, slots=True)
class _Drawing:
    """A diagram to draw for the version of the file it belongs to."""

    version: str
    dot: str
    findings: tuple[Diagnostic, ...]
    message: str


class Previewer:
    """Snapshots of one ``.wf`` file, recomputed only when the file changed.

    ``draw_wait`` is how long :meth:`snapshot` waits for a diagram being
    drawn (None: until it is drawn or fails); ``dot_timeout`` bounds Graphviz.
    """

    def __init__(
        self,
        path: str,
        detail: Detail = Detail.HOOKS,
        *,
        dot_timeout: float = DOT_TIMEOUT,
        draw_wait: float | None = DRAW_WAIT,
    ) -> None:
        self.path = path
        self.detail = detail
        self.dot_timeout = dot_timeout
        self.draw_wait = draw_wait
        self._changed = threading.Condition()
        self._stat: tuple[int, ...] | None = None
        self._digest: str | None = None
        self._snapshot: Snapshot | None = None
        self._last_svg: str | None = None
        #: The last DOT drawn and its outcome (SVG, or why none).
        self._drawn: tuple[str, str | None, str | None] | None = None
        self._wanted: _Drawing | None = None
        self._drawing = False

    def snapshot(self) -> Snapshot:
        """The snapshot of the file as it is now on disk. Never raises: what
        goes wrong is the snapshot's message."""
        with self._changed:
            try:
                snap = self._current()
            except Exception as exc:  # a bug: shown on the page, never a traceback
                self._stat = self._digest = self._snapshot = None
                message = f"internal error: {type(exc).__name__}: {exc} (please report it)"
                return Snapshot("error", self._last_svg, (), message, stale=True)
            if snap.drawing:
                version = snap.version
                self._changed.wait_for(
                    lambda: self._snapshot is None or self._snapshot.version != version,
                    timeout=self.draw_wait,
                )
                snap = self._snapshot or snap
            return snap

    def _current(self) -> Snapshot:
        try:
            st = os.stat(self.path)
            # The inode and ctime change when an editor saves by renaming a
            # new file over the old one, even if size and mtime do not.
            stat = (st.st_ino, st.st_ctime_ns, st.st_mtime_ns, st.st_size)
        except OSError as exc:
            return self._missing(exc)
        if self._snapshot is not None and stat == self._stat:
            return self._snapshot
        try:
            data = read_limited(self.path)  # a regular file, of bounded size
        except OSError as exc:
            return self._missing(exc)
        self._stat = stat
        digest = hashlib.sha256(data).hexdigest()
        if self._snapshot is not None and digest == self._digest:
            return self._snapshot
        self._digest = digest
        self._snapshot = self._build(data, digest[:16])
        return self._snapshot

    def _missing(self, exc: OSError) -> Snapshot:
        self._stat = self._digest = None
        self._snapshot = None
        return Snapshot(
            version=f"missing:{exc.errno}",
            svg=self._last_svg,
            findings=(),
            message=f"cannot read {self.path}: {exc.strerror or exc}",
            stale=True,
        )

    def _build(self, data: bytes, version: str) -> Snapshot:
        """The findings of ``wfdsl lint`` for ``data`` at once, and its
        diagram: drawn before, too large to draw, or drawn in the background."""
        note = ""
        try:
            selection = ConfigFinder().for_file(self.path)
        except ConfigError as exc:
            selection = Selection()
            note = f" ({exc}; linted with the default rules)"
        try:
            text = decode(data, self.path)
            with gc_paused():
                source = analyze_lenient(text, self.path)
                findings = tuple(lint_source(source, selection))
        except SpecError as exc:  # not UTF-8, or a syntax error: nothing else to check
            return self._invalid(version, exc.diagnostics, note)
        if source.errors:
            return self._invalid(version, findings, note)
        spec = source.spec
        count = len(findings)
        noun = "finding" if count == 1 else "findings"
        message = f"{spec.name}: {len(spec.states)} states, {count} lint {noun}{note}"
        diagram = extract(spec, self.detail)
        if len(diagram.arrows) > MAX_DRAWN_ARROWS:
            return Snapshot(
                version,
                None,
                findings,
                f"{message}; {len(diagram.arrows):,} arrows are more than"
                f" {MAX_DRAWN_ARROWS:,}, too many to draw",
                stale=True,
            )
        job = _Drawing(version, to_dot(diagram), findings, message)
        if self._drawn is not None and self._drawn[0] == job.dot:
            return self._drawn_snapshot(job, *self._drawn[1:])
        self._wanted = job
        if not self._drawing:
            self._drawing = True
            threading.Thread(target=self._draw, name="wfdsl-preview-dot", daemon=True).start()
        return Snapshot(
            f"{version}:drawing",
            self._last_svg,
            findings,
            f"{message}; drawing the diagram\u2026",
            stale=True,
            drawing=True,
        )

    def _draw(self) -> None:
        """Draw what is wanted, the latest version only, until nothing is."""
        while True:
            with self._changed:
                job, self._wanted = self._wanted, None
                if job is None:
                    self._drawing = False
                    return
            svg: str | None = None
            error: str | None = None
            try:
                svg = run_dot(job.dot, "svg", timeout=self.dot_timeout).decode()
            except RenderError as exc:
                error = str(exc)
            except Exception as exc:  # a bug: shown on the page, and the next save draws
                error = f"internal error: {type(exc).__name__}: {exc} (please report it)"
            with self._changed:
                self._drawn = (job.dot, svg, error)
                current = self._snapshot
                if current is not None and current.version == f"{job.version}:drawing":
                    self._snapshot = self._drawn_snapshot(job, svg, error)
                self._changed.notify_all()

    def _drawn_snapshot(self, job: _Drawing, svg: str | None, error: str | None) -> Snapshot:
        if svg is None:
            message = f"{job.message}; {error}"
            return Snapshot(job.version, self._last_svg, job.findings, message, stale=True)
        self._last_svg = svg
        return Snapshot(job.version, svg, job.findings, job.message)

    def _invalid(self, version: str, diagnostics: tuple[Diagnostic, ...], note: str) -> Snapshot:
        errors = sum(1 for d in diagnostics if d.severity == "error")
        return Snapshot(
            version,
            self._last_svg,
            diagnostics,
            f"invalid: {errors} error{'s' if errors != 1 else ''};"
            f" showing the last good diagram{note}",
            stale=True,
        )


class _Handler(BaseHTTPRequestHandler):
    server: PreviewServer

    def do_GET(self) -> None:
        try:
            self._get()
        except (ConnectionError, TimeoutError):
            pass  # the browser went away
        except Exception as exc:  # a bug: one line on the console, never a traceback
            print(f"wfdsl preview: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)

    def _get(self) -> None:
        route = self.path.split("?", 1)[0]
        if not self._local_host():
            self._send(403, "text/plain; charset=utf-8", b"forbidden: not a local address\n")
        elif route == "/":
            name = os.path.basename(self.server.previewer.path)
            body = preview_page(name, self.server.previewer.path).encode()
            self._send(200, "text/html; charset=utf-8", body)
        elif route == "/state":
            body = self.server.previewer.snapshot().to_json().encode()
            self._send(200, "application/json", body)
        else:
            self._send(404, "text/plain; charset=utf-8", b"not found\n")

    def _local_host(self) -> bool:
        """The request names this machine in its ``Host`` header. A web page
        elsewhere can point a DNS name at 127.0.0.1 (DNS rebinding) to read the
        preview; its requests carry that name, and are refused."""
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0].lower()
        return host in ("127.0.0.1", "localhost", "[::1]")

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header(
            "Content-Security-Policy",
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
            "connect-src 'self'; img-src 'self' data:",
        )
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the page polls several times a second."""


class PreviewServer(ThreadingHTTPServer):
    """The HTTP server behind ``wfdsl preview``; ``server_address`` has the real port."""

    daemon_threads = True

    def __init__(self, previewer: Previewer, port: int = 0) -> None:
        self.previewer = previewer
        super().__init__((HOST, port), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: a browser that closes a connection early is no error, and
        the handler reports its own (the default prints a traceback)."""

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}/"
