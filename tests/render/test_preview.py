"""``wfdsl preview``: the page shows the diagram and the lint findings, and a
real headless Chromium sees it change when the file is saved, without a reload."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from wfdsl.preview.server import Previewer

from .cdp import Browser, chromium_path
from .helpers import BIG, HOSTILE, ROOT, needs_dot

ORDER = ROOT / "examples" / "order.wf"
LOST = (
    '    final state lost "Lost in transit"\n'
    '    event lose "Carrier reports the parcel lost"\n'
    "    shipped -> lost on lose\n"
)


def grow(text: str, members: str) -> str:
    """``text`` with ``members`` added before the workflow's closing brace."""
    end = text.rindex("}")
    return text[:end] + members + text[end:]


needs_chromium = pytest.mark.skipif(
    chromium_path() is None,
    reason="headless browser test needs Debian's chromium (apt-get install -y chromium)",
)


def save(path: Path, text: str) -> None:
    """Write like an editor does, and make sure the modification time moves."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text)
    if path.stat().st_mtime_ns == before:
        os.utime(path, ns=(before + 1_000_000, before + 1_000_000))


@pytest.fixture
def wf(tmp_path: Path) -> Path:
    path = tmp_path / "order.wf"
    shutil.copy(ORDER, path)
    return path


@needs_dot
def test_a_snapshot_has_the_diagram_and_the_lint_findings(wf: Path) -> None:
    save(wf, grow(wf.read_text(), '    event unused "never sent"\n'))
    snap = Previewer(str(wf), draw_wait=None).snapshot()
    assert snap.svg is not None and "<title>shipped</title>" in snap.svg
    assert [d.code for d in snap.findings] == ["WF205"]
    assert not snap.stale


@needs_dot
def test_saving_changes_the_version_and_an_unchanged_file_keeps_it(wf: Path) -> None:
    previewer = Previewer(str(wf), draw_wait=None)
    first = previewer.snapshot()
    assert previewer.snapshot() is first
    save(wf, grow(wf.read_text(), LOST))
    second = previewer.snapshot()
    assert second.version != first.version
    assert second.svg is not None and "<title>lost</title>" in second.svg


@needs_dot
def test_an_invalid_file_keeps_the_last_good_diagram_and_shows_the_errors(wf: Path) -> None:
    previewer = Previewer(str(wf), draw_wait=None)
    good = previewer.snapshot()
    save(wf, wf.read_text().replace("packed -> shipped on ship", "packed -> shiped on ship"))
    bad = previewer.snapshot()
    assert bad.stale and bad.svg == good.svg
    assert [d.code for d in bad.findings] == ["WF101"]
    assert json.loads(bad.to_json())["findings"][0]["hint"] == "did you mean 'shipped'?"


#: How long a stopped server may take to exit before the test calls it hung.
#: Generous on purpose: this guards against a hang, it does not time the
#: shutdown, and a loaded CI machine can take seconds to tear Python down.
STOP_WAIT = 120


@contextmanager
def running_preview(wf: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``wfdsl preview`` as a user runs it, in its own process, with its URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "wfdsl", "preview", str(wf), "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert "serving" in line, line
        url = line.split(" at ", 1)[1].split()[0]
        assert url.startswith("http://127.0.0.1:")
        yield proc, url
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.wait(timeout=STOP_WAIT)
        if proc.stderr:
            proc.stderr.close()


@pytest.fixture
def server(wf: Path) -> Iterator[str]:
    """The URL of a running ``wfdsl preview`` of ``wf``."""
    with running_preview(wf) as (_, url):
        yield url


def get_state(url: str) -> dict[str, Any]:
    """The page's state once its diagram is drawn (it is drawn in the
    background; a request waits a little for it, then answers without)."""
    deadline = time.monotonic() + 120
    while True:
        with urllib.request.urlopen(url + "state", timeout=10) as response:
            state: dict[str, Any] = json.load(response)
        if not state["drawing"] or time.monotonic() > deadline:
            return state


@needs_dot
def test_the_server_listens_on_localhost_and_serves_state(server: str) -> None:
    state = get_state(server)
    assert "<title>created</title>" in state["svg"]
    with urllib.request.urlopen(server, timeout=10) as response:
        page = response.read().decode()
    assert 'id="diagram"' in page and "order.wf" in page


NODES = (
    "JSON.stringify(Array.from(document.querySelectorAll('#diagram g.node > title'))"
    ".map(t => t.textContent))"
)
FINDINGS = (
    "JSON.stringify(Array.from(document.querySelectorAll('#findings li'))"
    ".map(li => li.textContent))"
)


@needs_dot
@needs_chromium
def test_the_page_redraws_in_the_browser_when_the_file_is_saved(wf: Path, server: str) -> None:
    browser = Browser(server)
    try:
        browser.wait_for(f"{NODES}.includes('\"shipped\"')")
        browser.evaluate("window.notReloaded = true")
        assert "lost" not in json.loads(browser.evaluate(NODES))

        save(wf, grow(wf.read_text(), LOST))
        nodes = json.loads(browser.wait_for(f"{NODES}.includes('\"lost\"') && {NODES}"))
        assert "lost" in nodes and "shipped" in nodes
        assert browser.evaluate("window.notReloaded") is True

        save(wf, wf.read_text().replace("shipped -> lost", "shipped -> lots"))
        findings = json.loads(browser.wait_for(f"{FINDINGS}.includes('WF101') && {FINDINGS}"))
        assert any("lots" in f for f in findings)
        assert "lost" in json.loads(browser.evaluate(NODES))  # last good diagram stays
        assert "invalid" in browser.evaluate("document.getElementById('status').textContent")
    finally:
        browser.close()


@needs_dot
@needs_chromium
def test_hostile_text_cannot_inject_markup_into_the_page(wf: Path, server: str) -> None:
    save(wf, HOSTILE.read_text() + "\n# noqa-free tail\n")
    browser = Browser(server)
    try:
        browser.wait_for(f"{NODES}.includes('\"direction\"')")
        time.sleep(0.5)  # a few more polls
        assert browser.evaluate("document.querySelectorAll('#diagram script').length") == 0
        assert browser.evaluate("document.querySelectorAll('img, iframe').length") == 0
        assert browser.evaluate("document.scripts.length") == 1  # the page's own
    finally:
        browser.close()


def test_preview_of_a_missing_file_is_exit_2(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from wfdsl.cli import cli

    result = CliRunner().invoke(cli, ["preview", str(tmp_path / "nope.wf")])
    assert result.exit_code == 2 and "no such file" in result.stderr


def test_preview_of_a_directory_says_so(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from wfdsl.cli import cli

    result = CliRunner().invoke(cli, ["preview", str(tmp_path)])
    assert result.exit_code == 2 and "is a directory" in result.stderr


def test_preview_on_a_busy_port_is_exit_2(wf: Path) -> None:
    import socket

    from click.testing import CliRunner

    from wfdsl.cli import cli

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(cli, ["preview", str(wf), "--port", str(port)])
    assert result.exit_code == 2 and "cannot listen on 127.0.0.1" in result.stderr


@needs_dot
def test_the_server_outlives_a_deleted_renamed_or_invalid_file(wf: Path, server: str) -> None:
    good = get_state(server)
    wf.unlink()
    gone = get_state(server)
    assert gone["stale"] and gone["svg"] == good["svg"] and "cannot read" in gone["message"]
    wf.mkdir()
    assert get_state(server)["stale"]
    wf.rmdir()
    wf.write_text("workflow broken {")
    invalid = get_state(server)
    assert invalid["stale"] and invalid["findings"][0]["code"] == "WF100"
    saved = wf.with_suffix(".tmp")  # an editor's save: write aside, rename over
    saved.write_text(grow(ORDER.read_text(), LOST))
    os.replace(saved, wf)
    fresh = get_state(server)
    assert not fresh["stale"] and "<title>lost</title>" in fresh["svg"]


@needs_dot
def test_a_save_by_rename_is_seen_even_when_size_and_mtime_match(wf: Path) -> None:
    previewer = Previewer(str(wf), draw_wait=None)
    assert "<title>shipped</title>" in (previewer.snapshot().svg or "")
    st = wf.stat()
    saved = wf.with_suffix(".tmp")
    saved.write_text(wf.read_text().replace("shipped", "shipper"))  # same size
    os.utime(saved, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(saved, wf)
    assert "<title>shipper</title>" in (previewer.snapshot().svg or "")


@needs_dot
def test_requests_naming_another_host_are_refused(server: str) -> None:
    """A page on another site that points its DNS name at 127.0.0.1 (DNS
    rebinding) must not read the workflow."""
    port = server.rsplit(":", 1)[1].strip("/")
    request = urllib.request.Request(server + "state", headers={"Host": f"evil.example:{port}"})
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=10)
    info.value.close()
    assert info.value.code == 403
    local = urllib.request.Request(server + "state", headers={"Host": f"localhost:{port}"})
    with urllib.request.urlopen(local, timeout=10) as response:
        assert response.status == 200


@needs_dot
def test_ctrl_c_stops_the_server_cleanly(wf: Path) -> None:
    with running_preview(wf) as (proc, url):
        assert get_state(url)["svg"]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=STOP_WAIT) == 0
        assert proc.stderr is not None
        err = proc.stderr.read()
    assert err == "wfdsl preview: stopped\n"


@needs_dot
@needs_chromium
def test_a_wide_diagram_is_shown_at_full_size_until_fit_is_asked_for(wf: Path, server: str) -> None:
    """Shrinking a wide workflow into the window makes its text unreadable: a
    small one is fitted, a wide one is drawn at its own size (the pane
    scrolls), and "Fit to window" shrinks it anyway."""
    browser = Browser(server)
    width = "document.querySelector('#diagram svg').getBoundingClientRect().width"
    pane = "document.querySelector('main').clientWidth"
    try:
        browser.wait_for(f"{NODES}.includes('\"shipped\"')")
        save(wf, (ROOT / "tests" / "render" / "release.wf").read_text())
        browser.wait_for(f"{NODES}.length > 20")
        assert browser.evaluate(f"{width} > {pane}")
        browser.evaluate("document.getElementById('fit').click()")
        assert browser.evaluate(f"{width} <= {pane}")
    finally:
        browser.close()


@needs_dot
def test_a_layout_that_takes_too_long_is_reported_not_waited_for(wf: Path) -> None:
    """Graphviz can take minutes on hundreds of long edges; the page must not
    hang behind it. (A limit no real layout meets stands in for a slow one.)"""
    shutil.copy(BIG, wf)
    snap = Previewer(str(wf), dot_timeout=1e-6, draw_wait=None).snapshot()
    assert snap.stale and snap.svg is None
    assert "Graphviz took more than" in snap.message


# -- the same findings as `wfdsl lint`, and no request ever fails ----------------


def lint_findings(wf: Path) -> list[tuple[str, int, int]]:
    from wfdsl.lint.config import ConfigFinder
    from wfdsl.lint.engine import lint_bytes

    result = lint_bytes(wf.read_bytes(), str(wf), ConfigFinder().for_file(str(wf)))
    return [(d.code, d.line, d.column) for d in result.diagnostics]


@pytest.mark.parametrize(
    "change",
    [
        ("packed -> shipped on ship", "packed -> shiped on ship"),  # an error and warnings
        ("workflow order", "workflow Order"),  # warnings only
        ("}", "} }"),  # a syntax error
    ],
    ids=["invalid", "valid", "syntax"],
)
def test_the_page_lists_exactly_what_wfdsl_lint_reports(wf: Path, change: tuple[str, str]) -> None:
    save(wf, grow(wf.read_text(), '    event unused "never sent"\n').replace(*change, 1))
    snap = Previewer(str(wf), draw_wait=None).snapshot()
    assert [(d.code, d.line, d.column) for d in snap.findings] == lint_findings(wf)
    assert len(snap.findings) >= 2 or change[0] == "}"


def test_a_broken_pyproject_is_said_and_the_defaults_apply(wf: Path) -> None:
    (wf.parent / "pyproject.toml").write_bytes(b"[tool.wfdsl.lint]\nselect = ['caf\xe9']\n")
    save(wf, grow(wf.read_text(), '    event unused "never sent"\n'))
    snap = Previewer(str(wf), draw_wait=0).snapshot()
    assert "pyproject.toml: not valid UTF-8" in snap.message
    assert "linted with the default rules" in snap.message
    assert [d.code for d in snap.findings] == ["WF205"]


def test_a_fifo_or_an_oversized_file_is_said_on_the_page(tmp_path: Path) -> None:
    from wfdsl.frontend.source import MAX_SOURCE_BYTES

    pipe = tmp_path / "pipe.wf"
    os.mkfifo(pipe)
    snap = Previewer(str(pipe)).snapshot()
    assert snap.stale and "is a FIFO" in snap.message
    huge = tmp_path / "huge.wf"
    with huge.open("wb") as fh:
        fh.truncate(MAX_SOURCE_BYTES + 1)
    snap = Previewer(str(huge)).snapshot()
    assert snap.stale and "larger than 8 MiB" in snap.message


def test_the_findings_come_at_once_and_the_diagram_after(wf: Path) -> None:
    """Graphviz draws in the background: a request never waits behind it."""
    save(wf, grow(wf.read_text(), '    event unused "never sent"\n'))
    previewer = Previewer(str(wf), draw_wait=0)
    first = previewer.snapshot()
    assert [d.code for d in first.findings] == ["WF205"]
    if first.drawing:  # not drawn yet (it may be, on a fast machine)
        assert first.svg is None and first.stale and "drawing" in first.message
    previewer.draw_wait = None
    drawn = previewer.snapshot()
    assert not drawn.drawing and drawn.svg is not None and drawn.version != first.version


def test_a_workflow_with_too_many_arrows_is_listed_not_drawn(tmp_path: Path) -> None:
    from wfdsl.render.markdown import MAX_DRAWN_ARROWS

    from .pipeline import release_pipeline

    wf = tmp_path / "release.wf"
    wf.write_text(release_pipeline(MAX_DRAWN_ARROWS // 4 + 1))
    snap = Previewer(str(wf), draw_wait=None).snapshot()
    assert snap.svg is None and not snap.drawing
    assert f"are more than {MAX_DRAWN_ARROWS:,}, too many to draw" in snap.message


@needs_dot
def test_no_request_prints_a_traceback(wf: Path) -> None:
    """A broken config, an unreadable file, a file deleted while previewing:
    each request answers, and the console shows nothing but its own lines."""
    with running_preview(wf) as (proc, url):
        (wf.parent / "pyproject.toml").write_bytes(b"[tool.wfdsl.lint]\nselect = [[[\xff")
        save(wf, wf.read_text() + "\n")
        assert "pyproject.toml: not valid UTF-8" in get_state(url)["message"]
        wf.unlink()
        assert "cannot read" in get_state(url)["message"]
        os.mkfifo(wf)
        assert "is a FIFO" in get_state(url)["message"]
        wf.unlink()
        wf.write_bytes(b"\xff\xfe broken")
        assert get_state(url)["findings"][0]["code"] == "WF100"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=STOP_WAIT) == 0
        assert proc.stderr is not None
        assert proc.stderr.read() == "wfdsl preview: stopped\n"
