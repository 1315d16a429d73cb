"""The review page: what a reviewer reads in a pull request."""

from __future__ import annotations

import wfdsl
from wfdsl.render.markdown import review_page

SPEC = """
workflow order "Orders, start to finish" {
    initial state created "Order placed"
    state paid { enter charge_card compensate refund_card }
    final state done
    event pay "Customer pays", finish, abort
    created -> paid on pay if card_valid and not flagged "Payment goes through"
    paid -> done on finish
    * -> done on abort
}
"""


def page() -> str:
    return review_page(wfdsl.loads(SPEC), source="../order.wf")


def section(text: str, heading: str) -> list[str]:
    lines = text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return [ln for ln in lines.splitlines() if ln.startswith("| ")]


def test_the_page_opens_with_the_description_and_a_summary() -> None:
    text = page()
    assert text.startswith("# Workflow `order`\n\nOrders, start to finish\n")
    assert "3 states, 3 events, 3 transitions. Starts in `created`; ends in `done`." in text


def test_transitions_are_listed_in_the_order_they_are_tried() -> None:
    rows = section(page(), "Transitions")
    assert rows[1:] == [
        "| 1 | `created` | `pay` | `card_valid and not flagged` | `paid` | Payment goes through |",
        "| 2 | `paid` | `finish` |   | `done` |   |",
        "| 3 | `*` (any non-final state) | `abort` |   | `done` |   |",
    ]


def test_states_events_and_hooks_have_their_tables() -> None:
    text = page()
    assert "| `created` | initial | Order placed |" in section(text, "States")
    assert "| `pay` | Customer pays | 1 |" in section(text, "Events")
    assert "| `paid` | `charge_card` |   | `refund_card` |" in section(text, "Hooks")
    assert "Guard functions: `card_valid`, `flagged`." in text


def test_the_diagram_is_a_mermaid_block() -> None:
    text = page()
    block = text.split("```mermaid\n", 1)[1].split("\n```\n", 1)[0]
    assert block.startswith("stateDiagram-v2\n")
    assert "created --> paid : pay [card_valid and not flagged]" in block
