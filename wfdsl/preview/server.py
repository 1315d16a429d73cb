"""``wfdsl preview``: a local web page that redraws a ``.wf`` file as it is saved.

A :class:`Previewer` turns the file's current bytes into a :class:`Snapshot`
(SVG diagram, lint findings), re-reading the file only when its size or
modification time changed. :func:`serve` puts it behind a small HTTP server on
127.0.0.1: ``/`` is the page (:mod:`wfdsl.preview.page`), ``/state`` the latest
snapshot as JSON, which the page polls.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from wfdsl.diagnostics import Diagnostic
from wfdsl.errors import RenderError, SpecError
from wfdsl.frontend.source import analyze, decode
from wfdsl.lint.config import ConfigError, ConfigFinder, Selection
from wfdsl.lint.engine import lint_source
from wfdsl.preview.page import preview_page
from wfdsl.render import Detail, extract
from wfdsl.render.dot import run_dot, to_dot

HOST = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the page shows for one version of the file."""

    #: Changes whenever anything shown changes.
    version: str
    #: The diagram, or the last good one while the file is invalid, or ``None``.
    svg: str | None
    findings: tuple[Diagnostic, ...]
    #: One line for the status bar.
    message: str
    #: ``svg`` is from an earlier version of the file (the current one is invalid).
    stale: bool = False

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
        }
        return json.dumps(data)


#: Seconds Graphviz may take to lay out one version of the file. Past it the
#: page says so, instead of every request queueing behind a layout that may
#: take minutes (hundreds of states joined by long edges).
DOT_TIMEOUT = 30.0


class Previewer:
    """Snapshots of one ``.wf`` file, recomputed only when the file changed."""

    def __init__(
        self, path: str, detail: Detail = Detail.HOOKS, *, dot_timeout: float = DOT_TIMEOUT
    ) -> None:
        self.path = path
        self.detail = detail
        self.dot_timeout = dot_timeout
        self._lock = threading.Lock()
        self._stat: tuple[int, ...] | None = None
        self._digest: str | None = None
        self._snapshot: Snapshot | None = None
        self._last_svg: str | None = None

    def snapshot(self) -> Snapshot:
        """The snapshot of the file as it is now on disk."""
        with self._lock:
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
                with open(self.path, "rb") as fh:
                    data = fh.read()
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
        try:
            text = decode(data, self.path)
        except SpecError as exc:
            return self._invalid(version, exc.diagnostics)
        try:
            selection = ConfigFinder().for_file(self.path)
        except ConfigError:
            selection = Selection()
        try:
            source = analyze(text, self.path)
        except SpecError as exc:
            return self._invalid(version, exc.diagnostics)
        spec = source.spec
        findings = tuple(lint_source(source, selection))
        try:
            dot = to_dot(extract(spec, self.detail))
            svg = run_dot(dot, "svg", timeout=self.dot_timeout).decode()
        except RenderError as exc:
            return Snapshot(version, None, findings, str(exc), stale=True)
        self._last_svg = svg
        count = len(findings)
        noun = "finding" if count == 1 else "findings"
        message = f"{spec.name}: {len(spec.states)} states, {count} lint {noun}"
        return Snapshot(version, svg, findings, message)

    def _invalid(self, version: str, diagnostics: tuple[Diagnostic, ...]) -> Snapshot:
        errors = len(diagnostics)
        return Snapshot(
            version,
            self._last_svg,
            diagnostics,
            f"invalid: {errors} error{'s' if errors != 1 else ''}; showing the last good diagram",
            stale=True,
        )


class _Handler(BaseHTTPRequestHandler):
    server: PreviewServer

    def do_GET(self) -> None:
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

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}/"
