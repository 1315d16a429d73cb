"""No name or string from a ``.wf`` file can break the DOT, the Mermaid, the
Markdown or the HTML: ``hostile.wf`` tries quotes, backslashes, Graphviz escapes,
HTML, Markdown fences, table pipes and Mermaid syntax in every description."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

import wfdsl
from wfdsl.render import Detail, Overlay, extract
from wfdsl.render.dot import to_dot
from wfdsl.render.markdown import md_text, review_page
from wfdsl.render.mermaid import mermaid_text, to_mermaid

from .helpers import HOSTILE, dot_to, needs_dot, spec_of

SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}"


def shown(text: str) -> str:
    """What a tooltip shows: backslashes become a look-alike, whitespace runs one space."""
    return " ".join(text.replace("\\", "\u29f5").split())


@needs_dot
def test_hostile_descriptions_stay_text_in_graphviz_svg() -> None:
    spec = spec_of(HOSTILE)
    svg = ET.fromstring(dot_to(to_dot(extract(spec)), "svg"))
    groups = [g for g in svg.iter(f"{SVG}g") if g.get("class") == "node"]
    # Exactly the states plus the start dot and the "any state" node: nothing injected.
    assert len(groups) == len(spec.states) + 2
    titles = {shown(a.get(f"{XLINK}title") or "") for a in svg.iter(f"{SVG}a")}
    for state in spec.states:
        assert shown(state.description or state.name) in titles
    assert not list(svg.iter(f"{SVG}script"))
    heading = " ".join(t.text or "" for t in svg.iter(f"{SVG}text"))
    assert spec.description is not None and spec.description.split("\\")[0].strip() in heading


@needs_dot
def test_characters_xml_cannot_hold_do_not_break_graphviz_or_the_svg() -> None:
    """U+FFFE and U+FFFF are valid UTF-8 in a ``.wf`` string, but Graphviz
    parses labels as XML and SVG is XML: they are drawn as U+FFFD."""
    spec = wfdsl.loads(
        'workflow w "title \uffff end" { initial state a "tip \ufffe" final state b '
        "event go a -> b on go }"
    )
    svg = ET.fromstring(dot_to(to_dot(extract(spec)), "svg"))
    heading = " ".join(t.text or "" for t in svg.iter(f"{SVG}text"))
    assert "title \ufffd end" in heading
    titles = {a.get(f"{XLINK}title") for a in svg.iter(f"{SVG}a")}
    assert "tip \ufffd" in titles


@needs_dot
@pytest.mark.parametrize("detail", list(Detail))
def test_hostile_dot_parses_with_one_edge_per_transition(detail: Detail) -> None:
    spec = spec_of(HOSTILE)
    diagram = extract(spec, detail)
    plain = dot_to(to_dot(diagram), "plain").decode()
    edges = [line for line in plain.splitlines() if line.startswith("edge ")]
    assert len(edges) == len(diagram.arrows) + 1  # and the start arrow


def test_mermaid_lines_keep_their_shape_with_hostile_text() -> None:
    spec = spec_of(HOSTILE)
    counts = {s.name: 1 for s in spec.states}
    text = to_mermaid(extract(spec, Detail.HOOKS, Overlay(counts=counts)), descriptions=True)
    label = r"[^;<>\n]*\S"  # one line: no statement separator, no tag
    shapes = [
        r"stateDiagram-v2",
        r"    direction LR",
        r'    state "[^";<>]+" as \w+',
        r"    \w+ : " + label,
        r"    (\w+|\[\*\]) --> (\w+|\[\*\])( : " + label + ")?",
        r"    classDef \w+ [^\n]+",
        r"    class [\w,]+ \w+",
    ]
    for line in text.splitlines():
        assert any(re.fullmatch(p, line) for p in shapes), line


def test_mermaid_gives_reserved_state_names_other_ids() -> None:
    text = to_mermaid(extract(spec_of(HOSTILE)))
    assert 'state "end" as s_end' in text and "start --> s_end" in text
    assert not re.search(r"^\s+end\b", text, re.MULTILINE)


def test_mermaid_text_defuses_separators_tags_and_newlines() -> None:
    assert mermaid_text("a; <b>x</b> --> c\nd") == "a, \u2039b\u203ax\u2039/b\u203a --\u203a c d"
    assert mermaid_text('keeps [guard] "quotes" # % & : {}') == 'keeps [guard] "quotes" # % & : {}'


def test_markdown_tables_keep_their_columns_with_hostile_text() -> None:
    page = review_page(spec_of(HOSTILE), source="tests/render/hostile.wf")
    in_fence = False
    fences = 0
    for line in page.splitlines():
        if line.startswith("```"):
            fences += 1
            in_fence = not in_fence
            continue
        if line.startswith("|") and not in_fence:
            cells = line.count("|") - 1
            assert cells in (3, 4, 5, 6), line  # states/events, hooks, timed, transitions
        assert "<script" not in line.lower() and "<img" not in line.lower()
    assert fences == 2 and not in_fence


def test_markdown_text_shows_markup_literally() -> None:
    assert md_text("*a* _b_ [c](d) `e` <f> | \\ # ~ ! $") == (
        "&#42;a&#42; &#95;b&#95; &#91;c&#93;(d) &#96;e&#96; &lt;f&gt; &#124; &#92; "
        "&#35; &#126; &#33; &#36;"
    )


@pytest.mark.parametrize(
    ("description", "shown"),
    [
        ("    - indented", "&#45; indented"),  # neither a code block nor a list
        ("+ plus", "&#43; plus"),
        ("1. first", "1&#46; first"),
        ("2) second", "2&#41; second"),
        ("===", "&#61;=="),  # not a heading underline
        ("2024 was fine", "2024 was fine"),
    ],
)
def test_a_workflow_description_is_one_plain_paragraph(description: str, shown: str) -> None:
    spec = wfdsl.loads(
        f'workflow w "{description}" {{ initial state a final state b event go a -> b on go }}'
    )
    page = review_page(spec).splitlines()
    assert page[2] == shown and page[3] == ""
