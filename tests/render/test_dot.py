"""The DOT diagram follows SPEC §6's conventions, and Graphviz accepts it."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

import wfdsl
from wfdsl.errors import GraphvizNotFound
from wfdsl.render import Detail, Overlay, Step, extract, render
from wfdsl.render.dot import run_dot, to_dot

from .helpers import BIG, EXAMPLES, dot_to, needs_dot, spec_of

SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}"

ORDER = """
workflow order "Orders" {
    initial state created "Order placed"
    state paid "Paid" { enter charge_card, send_receipt exit release_hold compensate refund_card }
    final state delivered "Signed for"
    final state cancelled
    event pay "Customer pays", deliver, cancel, abort
    created -> paid on pay if card_valid and not flagged
    paid -> delivered on deliver
    created, paid -> cancelled on cancel
    * -> cancelled on abort
}
"""


def layout(text: str) -> dict[str, Any]:
    """Graphviz's own reading of the DOT: objects and edges as JSON."""
    data: dict[str, Any] = json.loads(dot_to(text, "json"))
    return data


def nodes(graph: dict[str, Any]) -> list[dict[str, Any]]:
    """The node objects (Graphviz lists subgraphs, such as rank groups, among them)."""
    return [o for o in graph["objects"] if "nodes" not in o]


def node_names(graph: dict[str, Any]) -> list[str]:
    return [o["name"] for o in nodes(graph)]


def edges_between(graph: dict[str, Any]) -> list[tuple[str, str, str]]:
    names = {o["_gvid"]: o["name"] for o in nodes(graph)}
    return [(names[e["tail"]], names[e["head"]], e.get("label", "")) for e in graph["edges"]]


def dot_of(text: str, detail: Detail = Detail.HOOKS, overlay: Overlay | None = None) -> str:
    return to_dot(extract(wfdsl.loads(text), detail, overlay))


@needs_dot
def test_a_filled_dot_points_to_the_initial_state() -> None:
    graph = layout(dot_of(ORDER))
    starts = [o for o in nodes(graph) if o.get("shape") == "point"]
    assert len(starts) == 1
    assert (starts[0]["name"], "created") in [(t, h) for t, h, _ in edges_between(graph)]


@needs_dot
def test_final_states_are_double_circles() -> None:
    graph = layout(dot_of(ORDER))
    shapes = {o["name"]: o.get("shape") for o in nodes(graph)}
    assert shapes["delivered"] == shapes["cancelled"] == "doublecircle"
    assert shapes["created"] == shapes["paid"] == "box"


def test_edge_labels_read_event_then_guard_in_brackets() -> None:
    text = dot_of(ORDER)
    assert '"created" -> "paid" [label=<pay <FONT COLOR="#6b46c1">[card_valid and not flagged]' in (
        text
    )
    assert "label=<deliver>" in text


def test_hooks_and_compensators_are_listed_in_the_state_box() -> None:
    text = dot_of(ORDER)
    paid = next(line for line in text.splitlines() if line.startswith('  "paid" ['))
    assert "enter / charge_card, send_receipt" in paid
    assert "exit / release_hold" in paid
    assert "compensate / refund_card" in paid


def test_detail_levels_drop_hooks_then_guards() -> None:
    one, zero = dot_of(ORDER, Detail.GUARDS), dot_of(ORDER, Detail.EVENTS)
    assert "charge_card" not in one and "card_valid" in one
    assert "charge_card" not in zero and "card_valid" not in zero
    assert "label=<pay>" in zero


@needs_dot
def test_a_transition_with_several_sources_is_one_edge_per_source() -> None:
    cancels = [(t, h) for t, h, lab in edges_between(layout(dot_of(ORDER))) if "cancel" in lab]
    assert sorted(cancels) == [("created", "cancelled"), ("paid", "cancelled")]


@needs_dot
def test_a_star_transition_is_drawn_once_from_an_any_state_node() -> None:
    graph = layout(dot_of(ORDER))
    aborts = [(t, h) for t, h, lab in edges_between(graph) if "abort" in lab]
    assert aborts == [("__any", "cancelled")]
    any_node = next(o for o in nodes(graph) if o["name"] == "__any")
    assert any_node["label"] == "any state"


@needs_dot
def test_descriptions_are_svg_tooltips() -> None:
    svg = ET.fromstring(render(wfdsl.loads(ORDER), "svg"))
    titles = {a.get(f"{XLINK}title") for a in svg.iter(f"{SVG}a")}
    assert {"Order placed", "Paid", "Signed for"} <= titles
    assert "pay [card_valid and not flagged]: Customer pays" in titles


@needs_dot
@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_graphviz_accepts_every_example_at_every_detail(example: Path) -> None:
    spec = spec_of(example)
    for detail in Detail:
        graph = layout(to_dot(extract(spec, detail)))
        assert set(node_names(graph)) >= {s.name for s in spec.states}


@needs_dot
def test_a_big_workflow_renders_as_one_left_to_right_graph() -> None:
    spec = spec_of(BIG)
    assert len(spec.states) >= 40
    graph = layout(to_dot(extract(spec)))
    assert graph["rankdir"] == "LR"
    pos = {o["name"]: tuple(map(float, o["pos"].split(","))) for o in nodes(graph)}
    # The happy path runs as one straight line, left to right.
    happy = ["queued", "fetching", "building", "unit_tests", "packaging", "done"]
    assert len({round(pos[n][1]) for n in happy}) == 1
    assert [pos[n][0] for n in happy] == sorted(pos[n][0] for n in happy)


def test_counts_overlay_labels_and_shades_each_state() -> None:
    text = dot_of(ORDER, overlay=Overlay(counts={"created": 4, "paid": 1}))
    lines = {ln.split(" [")[0].strip(): ln for ln in text.splitlines() if ln.startswith('  "')}
    assert "4 instances" in lines['"created"'] and "1 instance<" in lines['"paid"']
    assert "0 finished" in lines['"delivered"']
    assert 'fillcolor="#90cdf4"' in lines['"created"']  # the busiest state is darkest
    assert "fillcolor" in lines['"paid"'] and 'fillcolor="#90cdf4"' not in lines['"paid"']
    assert "fillcolor" not in lines['"delivered"']


def test_finished_instances_are_counted_but_do_not_wash_out_the_shading() -> None:
    """Final states collect every instance that ever finished; the shading
    shows where the live ones are."""
    text = dot_of(ORDER, overlay=Overlay(counts={"delivered": 90_000, "paid": 3, "created": 1}))
    lines = {ln.split(" [")[0].strip(): ln for ln in text.splitlines() if ln.startswith('  "')}
    assert "90000 finished" in lines['"delivered"']
    assert 'fillcolor="#90cdf4"' in lines['"paid"']
    assert "fillcolor" not in lines['"delivered"']
    assert "live instances per state (4 in all; 90000 finished)" in text


def test_instance_overlay_bolds_the_path_and_highlights_the_current_state() -> None:
    path = [Step(None, "created"), Step("created", "paid", "pay")]
    text = dot_of(ORDER, overlay=Overlay(path=path, instance="o-1"))
    edge = next(ln for ln in text.splitlines() if ln.startswith('  "created" -> "paid"'))
    other = next(ln for ln in text.splitlines() if ln.startswith('  "paid" -> "delivered"'))
    paid = next(ln for ln in text.splitlines() if ln.startswith('  "paid" ['))
    assert "penwidth=2.6" in edge and "penwidth" not in other
    assert 'fillcolor="#fefcbf"' in paid and "penwidth=3" in paid
    assert "instance o-1: path in bold, now in paid" in text


def test_overlay_names_missing_from_the_spec_are_ignored() -> None:
    path = [Step(None, "gone"), Step("gone", "created", "old_event")]
    text = dot_of(ORDER, overlay=Overlay(counts={"gone": 3}, path=path))
    assert "gone" not in text


def test_missing_graphviz_is_a_one_line_error_naming_the_fix(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(GraphvizNotFound) as info:
        run_dot("digraph {}", "svg")
    message = str(info.value)
    assert "\n" not in message
    assert "install Graphviz" in message and "apt-get install graphviz" in message
