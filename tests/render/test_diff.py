"""The review picture of a change (``wfdsl breaking --render``): every kind of
change marked, every label escaped, and Graphviz accepts it without a word."""

from __future__ import annotations

import subprocess

import pytest

from wfdsl import loads
from wfdsl.compare.diff import Mark, diff_specs
from wfdsl.render.diff import extract_diff, render_diff
from wfdsl.render.dot import quoted, to_dot
from wfdsl.render.model import Arrow, Diagram, Node, Review

from .helpers import EXAMPLES, ROOT, needs_dot

#: Version 1 of an order workflow (the one the breaking-change tests change).
OLD = (ROOT / "tests" / "compare" / "order.wf").read_text(encoding="utf-8")

TRICKY = OLD.replace(
    "workflow order {", 'workflow order "a \\"quoted\\" <b>&amp; \\\\ x" {'
).replace("    state packed\n", '    state packed "<i>&\\"\\\\</i> \\n ]; }"\n')


def pairs() -> list[tuple[str, str, str]]:
    """(id, old, new): the change kinds above, and every example against a changed self."""
    out = [
        ("same", OLD, OLD),
        ("renamed", OLD, OLD.replace("packed", "boxed")),
        (
            "final",
            OLD,
            OLD.replace("    state packed", "    final state packed").replace(
                "    packed -> delivered on deliver\n", ""
            ),
        ),
        (
            "guards-hooks",
            OLD,
            OLD.replace("if card_ok", "if card_ok or (vip and not x)").replace(
                "enter charge", "enter charge, mail\n        exit log"
            ),
        ),
        (
            "tricky",
            TRICKY,
            TRICKY.replace("initial state created", "state created").replace(
                "state paid", "initial state paid"
            ),
        ),
        ("wildcard", OLD.replace("created, paid -> cancelled", "* -> cancelled"), OLD),
    ]
    for path in EXAMPLES:
        text = path.read_text(encoding="utf-8")
        out.append((path.name, text, text))
        spec = loads(text)
        last = spec.edges[-1].span.line if spec.edges else 0
        lines = text.split("\n")
        if last:
            del lines[last - 1]
            out.append((path.name + "-minus-one", text, "\n".join(lines)))
    return out


@needs_dot
@pytest.mark.parametrize(("name", "old", "new"), pairs(), ids=[p[0] for p in pairs()])
def test_dot_accepts_the_review_diagram(name: str, old: str, new: str) -> None:
    dot_text = render_diff(loads(old), loads(new), "old.wf", "new.wf")
    done = subprocess.run(
        ["dot", "-Tsvg"], input=dot_text.encode(), capture_output=True, check=False
    )
    assert done.returncode == 0, done.stderr.decode()
    assert done.stderr == b"", done.stderr.decode()


def test_review_diagram_marks_added_removed_and_changed_parts() -> None:
    new = (
        OLD.replace("packed", "boxed")
        .replace("if card_ok", "if card_ok and kyc")
        .replace("enter charge", "enter charge, mail")
    )
    dot_text = render_diff(loads(OLD), loads(new), "old.wf", "new.wf")
    # removed: red and dashed, name struck through
    assert '"packed" [label=<<TABLE' in dot_text
    assert "<S><B>packed</B></S>" in dot_text
    assert '"paid" -> "packed" [label=<<FONT COLOR="#c53030"><S>pack</S></FONT>>' in dot_text
    # added: green and bold
    assert '"paid" -> "boxed" [label=<<FONT COLOR="#2f855a"><B>pack</B></FONT>>' in dot_text
    # changed guard and hooks: orange, old and new text
    assert "was [card_ok]" in dot_text and "now [card_ok and kyc]" in dot_text
    assert "enter was / charge<" in dot_text and "enter now / charge, mail<" in dot_text


def test_review_diagram_escapes_every_label() -> None:
    spec = loads(TRICKY)
    dot_text = render_diff(spec, spec, "<old>", 'new "x".wf')
    assert (
        f"tooltip={quoted('packed (same): ' + str(spec.state('packed').description))}" in dot_text
    )
    assert "&lt;old&gt;" in dot_text and "new &quot;x&quot;.wf" in dot_text


# -- the picture is a Diagram: built from the diff, or by hand ---------------------------


def test_each_transition_of_a_shared_move_is_its_own_marked_arrow() -> None:
    old = OLD.replace(
        "    created -> paid on pay if card_ok\n",
        "    created -> paid on pay if card_ok\n    created -> paid on pay if vip\n",
    )
    new = old.replace("if card_ok", "if card_ok and kyc")
    diagram = extract_diff(diff_specs(loads(old), loads(new)), "old.wf", "new.wf")
    pay = [(a.guard, a.mark) for a in diagram.arrows if a.event == "pay"]
    assert pay == [
        ("card_ok and kyc", Mark.ADDED),
        ("vip", Mark.SAME),
        ("card_ok", Mark.REMOVED),
    ]


def test_a_changed_guard_keeps_the_old_one_beside_the_new() -> None:
    new = OLD.replace("if card_ok", "")
    diagram = extract_diff(diff_specs(loads(OLD), loads(new)), "old.wf", "new.wf")
    [pay] = [a for a in diagram.arrows if a.event == "pay"]
    assert (pay.mark, pay.was_guard, pay.guard) == (Mark.CHANGED, "card_ok", None)
    assert "now (no guard)" in to_dot(diagram)


def test_the_review_starts_where_the_new_version_starts_and_shows_the_old_start() -> None:
    new = OLD.replace("initial state created", "state created").replace(
        "    state paid {", "    initial state paid {"
    )
    diagram = extract_diff(diff_specs(loads(OLD), loads(new)), "old.wf", "new.wf")
    assert diagram.initial is not None and diagram.initial.name == "paid"
    assert diagram.review is not None and diagram.review.old_initial == "created"
    dot_text = to_dot(diagram)
    assert 'tooltip="started in created"' in dot_text
    assert 'tooltip="starts in paid"' in dot_text


def test_a_removed_initial_state_is_not_where_the_picture_starts() -> None:
    nodes = (
        Node("draft", initial=True, mark=Mark.REMOVED),
        Node("open", initial=True, mark=Mark.ADDED),
    )
    diagram = Diagram("w", None, nodes, (), review=Review("v1", "v2", "draft"))
    assert diagram.initial == nodes[1]


def test_a_hand_built_review_diagram_is_drawn_with_its_marks() -> None:
    diagram = Diagram(
        "w",
        None,
        (
            Node("a", initial=True, mark=Mark.SAME),
            Node("b", mark=Mark.REMOVED, enter=("log",)),
            Node("c", final=True, mark=Mark.CHANGED, exit=("x",), was=Node("c", exit=("y",))),
        ),
        (
            Arrow("a", "b", "go", mark=Mark.REMOVED),
            Arrow("a", "c", "stop", mark=Mark.ADDED),
        ),
        review=Review("v1", "v2", "a"),
    )
    dot_text = to_dot(diagram)
    assert dot_text.startswith("// Generated by wfdsl breaking --render; do not edit.")
    assert "<S><B>b</B></S>" in dot_text and "enter / log</FONT>" in dot_text
    assert "exit was / y</FONT>" in dot_text and "exit now / x</FONT>" in dot_text
    assert "now final" in dot_text
    assert '"a" -> "b" [label=<<FONT COLOR="#c53030"><S>go</S></FONT>>' in dot_text
    assert 'tooltip="a -> c on stop (added)"' in dot_text
    assert "v1 \u2192 v2" in dot_text
