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
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import wfdsl
from wfdsl.render import Detail, Overlay, Step, extract
from wfdsl.render.markdown import plan_review_page, review_page
from wfdsl.render.mermaid import DEFAULT_LIMITS, mermaid_size, over_limits, to_mermaid

from .cdp import Browser, chromium_path
from .helpers import BIG, EXAMPLES, HOSTILE, ROOT, TIMERS, dot_to, needs_dot, review_block, spec_of
from .pipeline import release_pipeline


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


# -- Mermaid's limits (issue 12) -------------------------------------------------------

TOO_LARGE = "Maximum text size in diagram exceeded"


def render_result(browser: Browser, text: str) -> dict[str, Any]:
    """Mermaid's answer for ``text``: ``{"ok": True, "svg": ...}`` or its error."""
    ident = f"d{next(_counter)}"
    script = (
        f"mermaid.render({json.dumps(ident)}, {json.dumps(text)})"
        ".then(r => ({ok: true, svg: r.svg}), e => ({ok: false, error: String(e)}))"
    )
    result: dict[str, Any] = browser.evaluate(script, await_promise=True)
    return result


def test_mermaid_refuses_the_issues_full_diagram(browser: Browser) -> None:
    """The 100-stage pipeline at full detail draws only Mermaid's error, as
    the issue found; the page draws it without hooks, and that draws."""
    spec = wfdsl.loads(release_pipeline(100))
    full = to_mermaid(extract(spec, Detail.HOOKS))
    assert over_limits(full)
    assert TOO_LARGE in draw(browser, full)
    plan = plan_review_page(spec)
    assert plan.detail is Detail.GUARDS


@pytest.mark.parametrize(
    ("stages", "guard_terms", "detail"),
    [(5, 1, Detail.HOOKS), (100, 1, Detail.GUARDS), (100, 3, Detail.EVENTS)],
    ids=["full", "without-hooks", "without-hooks-and-guards"],
)
def test_every_mermaid_fallback_level_draws(
    browser: Browser, stages: int, guard_terms: int, detail: Detail
) -> None:
    spec = wfdsl.loads(release_pipeline(stages, guard_terms))
    plan = plan_review_page(spec)
    assert plan.detail is detail
    svg = draw(browser, plan.text.split("```mermaid\n", 1)[1].split("\n```", 1)[0])
    assert TOO_LARGE not in svg
    for state in spec.states:
        assert f">{state.name}<" in svg, state.name


@needs_dot
def test_the_svg_fallback_draws_in_a_browser(browser: Browser) -> None:
    """Past Mermaid's text limit at every detail the page shows Graphviz's
    SVG; it parses and shows every state, in Chromium."""
    spec = wfdsl.loads(release_pipeline(30, prefix="r" * 300))
    plan = plan_review_page(spec)
    assert plan.svg == "release.svg" and plan.svg_dot is not None
    svg = dot_to(plan.svg_dot, "svg")
    script = (
        "(() => { const doc = new DOMParser().parseFromString("
        f"{json.dumps(svg.decode())}, 'image/svg+xml');"
        " if (doc.querySelector('parsererror')) return null;"
        " return Array.from(doc.querySelectorAll('g.node title'), t => t.textContent); })()"
    )
    titles = browser.evaluate(script)
    assert titles is not None
    assert {s.name for s in spec.states} <= set(titles)


def test_mermaid_counts_text_size_as_we_do(browser: Browser) -> None:
    """A diagram of exactly 50,000 UTF-16 code units draws; one more does not.
    The label holds a character outside the BMP, which counts twice."""
    head = "stateDiagram-v2\n    a --> b : \U0001f680 "
    size = mermaid_size(head)[0]
    text = head + "x" * (DEFAULT_LIMITS.max_text_size - size)
    assert mermaid_size(text)[0] == DEFAULT_LIMITS.max_text_size and not over_limits(text)
    assert TOO_LARGE not in draw(browser, text)
    assert over_limits(text + "x")
    assert TOO_LARGE in draw(browser, text + "x")


def test_mermaid_11_enforces_max_edges_in_flowcharts_only(browser: Browser) -> None:
    """What MermaidLimits says of maxEdges, and why review pages ignore it: a
    flowchart of 501 arrows is refused, as over_limits says; a state diagram
    of many more still draws. If a Mermaid upgrade starts enforcing it for
    state diagrams, this fails, and review pages must count arrows again."""
    arrows = [f"    s{i % 40} --> s{(i * 7 + 1) % 40}" for i in range(DEFAULT_LIMITS.max_edges + 1)]
    flowchart = "flowchart LR\n" + "\n".join(arrows) + "\n"
    assert any("maxEdges" in p for p in over_limits(flowchart))
    flow = render_result(browser, flowchart)
    assert not flow["ok"] and "Edge limit exceeded" in flow["error"]
    state = render_result(browser, "stateDiagram-v2\n" + "\n".join(arrows) + "\n")
    assert state["ok"], state


def test_a_review_pages_state_diagram_of_over_500_arrows_draws(browser: Browser) -> None:
    """A wfdsl workflow of 502 arrows, as its review page gives it to Mermaid:
    no edge limit applies (over_limits says so), and Mermaid draws every
    state and every arrow."""
    spec = wfdsl.loads(release_pipeline(125, prefix="s"))
    plan = plan_review_page(spec)
    assert plan.svg is None and plan.detail is Detail.GUARDS
    block = plan.text.split("```mermaid\n", 1)[1].split("\n```", 1)[0] + "\n"
    edges = mermaid_size(block)[1]
    assert edges > DEFAULT_LIMITS.max_edges and not over_limits(block)
    svg = draw(browser, block)
    assert TOO_LARGE not in svg
    for state in spec.states:
        assert f">{state.name}<" in svg, state.name
    # One drawn line per arrow: 499 transitions, the start and the two ends.
    assert len(re.findall(r'class="[^"]*\btransition\b', svg)) == edges == 502
