"""Timed transitions in every picture: drawn apart from event transitions
(dashed, a clock, labelled ``after 30m [guard]``), in DOT as Graphviz reads
it, in SVG, in Mermaid text, on the review page, in the review picture of a
change and in the live preview. Mermaid 11 drawing them in Chromium is in
``test_mermaid_browser.py``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import wfdsl
from wfdsl.preview.server import Previewer
from wfdsl.render import Detail, Overlay, Step, extract
from wfdsl.render.dot import DEFAULT_STYLE, to_dot
from wfdsl.render.markdown import review_page
from wfdsl.render.mermaid import to_mermaid
from wfdsl.render.model import CLOCK

from .helpers import TIMERS, dot_to, needs_dot, spec_of

SPEC = """
workflow order {
    initial state created
    state paid
    final state shipped
    final state expired
    event pay, ship
    created -> paid on pay
    paid -> shipped on ship
    created -> expired after 30m if not vip "Unpaid orders expire"
    * -> expired after 90d
}
"""


def edges(text: str) -> list[dict[str, Any]]:
    """Graphviz's own reading of the DOT's edges, with their attributes."""
    graph: dict[str, Any] = json.loads(dot_to(text, "json"))
    names = {o["_gvid"]: o["name"] for o in graph["objects"]}
    return [{**e, "from": names[e["tail"]], "to": names[e["head"]]} for e in graph["edges"]]


# -- DOT --------------------------------------------------------------------------------------


@needs_dot
def test_timed_edges_are_dashed_in_their_own_colour_and_event_edges_are_not() -> None:
    found = {(e["from"], e["to"]): e for e in edges(to_dot(extract(wfdsl.loads(SPEC))))}
    timed = found[("created", "expired")]
    assert timed["style"] == "dashed"
    assert timed["color"] == DEFAULT_STYLE.timer
    assert f"{CLOCK} after 30m" in timed["label"] and "[not vip]" in timed["label"]
    assert timed["tooltip"] == "after 30m [not vip]: Unpaid orders expire"
    plain = found[("created", "paid")]
    assert "style" not in plain and plain["label"] == "pay"


@needs_dot
def test_a_star_timed_transition_leaves_the_any_state_box() -> None:
    found = {(e["from"], e["to"]): e for e in edges(to_dot(extract(wfdsl.loads(SPEC))))}
    assert f"{CLOCK} after 90d" in found[("__any", "expired")]["label"]


def test_the_label_reads_after_duration_and_guard_and_keeps_the_duration_as_written() -> None:
    spec = wfdsl.loads(SPEC.replace("after 30m", "after 1800s"))
    arrow = next(a for a in extract(spec).arrows if a.timed and a.source == "created")
    assert arrow.label == "after 1800s [not vip]"
    assert arrow.after == "1800s"
    assert arrow.trigger == "after 1800s"


def test_a_multi_source_timed_transition_is_one_arrow_per_source() -> None:
    arrows = [a for a in extract(spec_of(TIMERS)).arrows if a.label.startswith("after 1h30m")]
    assert [(a.source, a.target) for a in arrows] == [
        ("in_review", "rejected"),
        ("escalated", "rejected"),
    ]


def test_lower_detail_drops_timed_guards_like_event_guards() -> None:
    labels = [a.label for a in extract(wfdsl.loads(SPEC), Detail.EVENTS).arrows if a.timed]
    assert labels == ["after 30m", "after 90d"]


def test_an_instance_path_fades_timed_edges_it_did_not_take() -> None:
    overlay = Overlay(path=[Step(None, "created"), Step("created", "paid", "pay")])
    dot = to_dot(extract(wfdsl.loads(SPEC), Detail.HOOKS, overlay))
    line = next(ln for ln in dot.splitlines() if '"created" -> "expired"' in ln)
    assert f'color="{DEFAULT_STYLE.faded}"' in line and "style=dashed" in line


@needs_dot
def test_svg_shows_the_clock_label_and_graphviz_accepts_every_timed_edge() -> None:
    svg = dot_to(to_dot(extract(spec_of(TIMERS))), "svg").decode()
    for label in ("after 30d", "after 2d", "after 1h30m", "after 3650d"):
        assert f"{CLOCK} {label}" in svg, label
    assert "<b>hard</b>" not in svg  # the hostile description stays text


# -- Mermaid ----------------------------------------------------------------------------------


def test_mermaid_marks_timed_transitions_with_a_clock() -> None:
    text = to_mermaid(extract(wfdsl.loads(SPEC)))
    assert f"    created --> expired : {CLOCK} after 30m [not vip]" in text
    assert f"    wf_any --> expired : {CLOCK} after 90d" in text
    assert "    created --> paid : pay" in text


# -- the review page ----------------------------------------------------------------------------


def test_the_review_page_lists_timed_transitions_in_their_own_table() -> None:
    page = review_page(spec_of(TIMERS))
    assert "3 events, 9 transitions (4 timed)." in page
    table = page.split("### Timed transitions\n", 1)[1].split("\n## ", 1)[0]
    rows = [ln for ln in table.splitlines() if ln.startswith("| ")]
    assert rows[0] == "| From | After | Guard | To | Description |"
    assert rows[1:] == [
        "| `submitted` | `30d` (30 days) |   | `abandoned` | Customer never came back |",
        "| `in_review` | `2d` (2 days) | `not decided` | `escalated` |   |",
        "| `in_review`, `escalated` | `1h30m` (1 hour 30 minutes) |"
        " `sanctions_hit and not (manual_hold or appeal)` | `rejected` |   |",
        "| `*` (any non-final state) | `3650d` (3650 days) |   | `abandoned` |"
        ' &lt;b&gt;hard&lt;/b&gt; stop; "ten" years &#124; %% |',
    ]


def test_a_review_page_without_timers_has_no_timed_section() -> None:
    page = review_page(
        wfdsl.loads("workflow w { initial state a final state b event e a -> b on e }")
    )
    assert "Timed transitions" not in page
    assert "(0 timed)" not in page


# -- the live preview ------------------------------------------------------------------------------


@needs_dot
def test_the_preview_draws_timed_transitions_and_lints_them(tmp_path: Path) -> None:
    path = tmp_path / "order.wf"
    shutil.copy(TIMERS, path)
    text = path.read_text(encoding="utf-8")
    end = text.rindex("}")  # a second, longer timer: never fires (WF210)
    path.write_text(text[:end] + "    submitted -> abandoned after 40d\n" + text[end:])
    snap = Previewer(str(path)).snapshot()
    assert snap.svg is not None and f"{CLOCK} after 2d" in snap.svg
    assert [d.code for d in snap.findings] == ["WF210"]


# -- the review picture of a change (wfdsl breaking --render) ------------------------------------


@needs_dot
def test_the_review_picture_marks_changed_timers_and_graphviz_draws_it() -> None:
    from wfdsl.render.diff import render_diff

    old = wfdsl.loads(SPEC)
    new = wfdsl.loads(
        SPEC.replace("after 30m if not vip", "after 1h if not vip").replace(
            "* -> expired after 90d", "* -> expired after 90d if stale"
        )
    )
    found = {(e["from"], e["to"], e["label"]): e for e in edges(render_diff(old, new, "a", "b"))}
    removed = next(e for k, e in found.items() if "after 30m" in k[2])
    added = next(e for k, e in found.items() if "after 1h" in k[2])
    changed = next(e for k, e in found.items() if "after 90d" in k[2])
    assert removed["color"] == DEFAULT_STYLE.removed and removed["style"] == "dashed"
    assert added["color"] == DEFAULT_STYLE.added and added["style"] == "dashed"
    assert changed["color"] == DEFAULT_STYLE.changed and "now [stale]" in changed["label"]
    assert removed["tooltip"] == "created -> expired after 30m (removed)"


@needs_dot
def test_an_unchanged_timer_keeps_its_look_in_the_review_picture() -> None:
    from wfdsl.render.diff import render_diff

    spec = wfdsl.loads(SPEC)
    found = {(e["from"], e["to"]): e for e in edges(render_diff(spec, spec, "a", "b"))}
    assert found[("created", "expired")]["color"] == DEFAULT_STYLE.timer
    assert found[("created", "expired")]["style"] == "dashed"
