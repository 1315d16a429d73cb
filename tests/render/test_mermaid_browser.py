"""The Mermaid output parses and draws in Mermaid itself (the library GitHub
uses), run in a real headless Chromium.

Needs ``mermaid.min.js`` from the npm package ``mermaid`` (11.x): set
``WFDSL_MERMAID_JS`` to its path, or ``npm install mermaid@11`` at the
repository root. Skipped, saying so, when either it or Chromium is missing.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import wfdsl
from wfdsl.render import Detail, Overlay, Step, extract
from wfdsl.render.markdown import review_page
from wfdsl.render.mermaid import to_mermaid

from .cdp import Browser, chromium_path
from .helpers import BIG, EXAMPLES, HOSTILE, ROOT, TIMERS, review_block, spec_of


def _mermaid_js() -> Path | None:
    env = os.environ.get("WFDSL_MERMAID_JS")
    candidates = [Path(env)] if env else []
    candidates.append(ROOT / "node_modules" / "mermaid" / "dist" / "mermaid.min.js")
    return next((p for p in candidates if p.is_file()), None)


MERMAID_JS = _mermaid_js()

pytestmark = [
    pytest.mark.skipif(
        chromium_path() is None,
        reason="needs Debian's chromium (apt-get install -y chromium)",
    ),
    pytest.mark.skipif(
        MERMAID_JS is None,
        reason="needs mermaid.min.js: npm install mermaid@11 at the repo root, "
        "or set WFDSL_MERMAID_JS",
    ),
]


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    assert MERMAID_JS is not None
    page = tmp_path_factory.mktemp("mermaid") / "index.html"
    page.write_text(
        f'<!DOCTYPE html><html><body><script src="{MERMAID_JS.as_uri()}"></script>'
        "<script>mermaid.initialize({startOnLoad: false, securityLevel: 'strict'});</script>"
        "</body></html>"
    )
    b = Browser(page.as_uri())
    b.wait_for("typeof mermaid !== 'undefined'")
    try:
        yield b
    finally:
        b.close()


_counter = iter(range(1_000_000))


def draw(browser: Browser, text: str) -> str:
    """Mermaid's SVG for ``text``; fails the test with Mermaid's error message."""
    ident = f"d{next(_counter)}"
    script = (
        f"mermaid.render({json.dumps(ident)}, {json.dumps(text)})"
        ".then(r => ({ok: true, svg: r.svg}), e => ({ok: false, error: String(e)}))"
    )
    result = browser.evaluate(script, await_promise=True)
    assert result["ok"], f"{result['error']}\n{text}"
    svg: str = result["svg"]
    return svg


CASES = [*EXAMPLES, BIG, HOSTILE, TIMERS]


@pytest.mark.parametrize("source", CASES, ids=[p.stem for p in CASES])
def test_mermaid_draws_every_workflow_with_all_its_states(browser: Browser, source: Path) -> None:
    spec = spec_of(source)
    svg = draw(browser, to_mermaid(extract(spec), descriptions=True))
    for state in spec.states:
        assert f">{state.name}<" in svg, state.name


def test_mermaid_draws_overlays(browser: Browser) -> None:
    spec = spec_of(ROOT / "examples" / "order.wf")
    path = [Step(None, "created"), Step("created", "paid", "pay")]
    draw(browser, to_mermaid(extract(spec, Detail.HOOKS, Overlay(path=path))))
    draw(browser, to_mermaid(extract(spec, Detail.HOOKS, Overlay(counts={"paid": 3}))))


def test_hostile_descriptions_show_as_text_in_mermaid(browser: Browser) -> None:
    svg = draw(browser, to_mermaid(extract(spec_of(HOSTILE)), descriptions=True))
    assert "<script" not in svg.lower() and "onerror" not in svg.lower()
    assert "<b>bold" not in svg  # drawn as text, not as markup
    assert "--\u203a  [*] : , # %% classDef x fill:red {}" in svg  # described, not obeyed
    assert 'quote " backslash \\ newline   tab   end\\' in svg


def test_timed_transitions_draw_with_their_clock_labels(browser: Browser) -> None:
    from wfdsl.render.model import CLOCK

    spec = spec_of(TIMERS)
    for text in (to_mermaid(extract(spec), descriptions=True), review_block(spec)):
        svg = draw(browser, text)
        for label in ("after 30d", "after 2d [not decided]", "after 3650d"):
            assert f"{CLOCK} {label}" in svg, label


@pytest.mark.parametrize("source", CASES, ids=[p.stem for p in CASES])
def test_the_review_pages_diagram_draws(browser: Browser, source: Path) -> None:
    """The block GitHub draws on a ``wfdsl docs`` page, exactly as written there."""
    spec = spec_of(source)
    page = review_page(spec)
    block = page.split("```mermaid\n", 1)[1].split("\n```", 1)[0]
    svg = draw(browser, block)
    for state in spec.states:
        assert f">{state.name}<" in svg, state.name


def test_states_named_like_mermaid_words_or_javascript_builtins_draw(browser: Browser) -> None:
    """A state may be called ``end``, ``root``, ``constructor`` or ``toString``."""
    names = [
        *("end", "note", "direction", "classDef", "style", "click", "hide", "fork", "choice"),
        *("href", "root", "constructor", "toString", "valueOf", "hasOwnProperty"),
        *("isPrototypeOf", "propertyIsEnumerable", "toLocaleString", "default", "as"),
    ]
    chain = " ".join(f"{a} -> {b} on go" for a, b in itertools.pairwise(names))
    states = " ".join(f"state {n}" for n in names[1:])
    spec = wfdsl.loads(
        f"workflow w {{ initial state {names[0]} {states} final state zz event go "
        f"{chain} {names[-1]} -> zz on go }}"
    )
    svg = draw(browser, to_mermaid(extract(spec)))
    for name in names:
        assert f">{name}<" in svg, name
