"""Lint rules WF301-WF303: names, descriptions and suppression comments."""

from __future__ import annotations

from collections.abc import Iterator

from wfdsl.diagnostics import Diagnostic
from wfdsl.frontend.naming import is_snake_case, to_snake_case
from wfdsl.ir import HookKind, Span, Spec, guard_refs
from wfdsl.lint.base import LintRule, register

_HOOK_KIND_WORD = {
    HookKind.ENTER: "hook",
    HookKind.EXIT: "hook",
    HookKind.COMPENSATE: "compensator",
}


def _named_things(spec: Spec) -> Iterator[tuple[str, str, Span]]:
    """(kind, name, span) for the workflow, every state and event, and the first
    use of every guard and hook name, in that order."""
    yield "workflow", spec.name, spec.span
    for state in spec.states:
        yield "state", state.name, state.span
    for event in spec.events:
        yield "event", event.name, event.span
    seen: set[str] = set()
    for edge in spec.all_edges:
        for ref in guard_refs(edge.guard):
            if ref.name not in seen:
                seen.add(ref.name)
                yield "guard", ref.name, ref.span
    for state in spec.states:
        for item in state.items:
            for name in item.names:
                if name.value not in seen:
                    seen.add(name.value)
                    yield _HOOK_KIND_WORD[item.kind], name.value, name.span


@register
class Naming(LintRule):
    """## What it does
    Reports a workflow, state, event, guard or hook name that is not
    snake_case (lower-case words joined by single underscores), and suggests
    the snake_case form. Guard and hook names are reported where first used.

    ## Why is this bad?
    Names become Python identifiers in generated code (`State.ORDER_PLACED`,
    `Hooks.charge_card`) and keys in stores and logs. One convention keeps
    them predictable, and avoids near-duplicates such as `orderPlaced` and
    `order_placed` that generate the same enum member.

    ## Example
    ```
    workflow order {
        initial state orderPlaced
        final state Shipped {
            enter notifyCustomer
        }
        event ship
        orderPlaced -> Shipped on ship
    }
    ```

    ## Use instead
    ```
    workflow order {
        initial state order_placed
        final state shipped {
            enter notify_customer
        }
        event ship
        order_placed -> shipped on ship
    }
    ```
    """

    code = "WF301"
    name = "naming"
    needs = frozenset()

    def check(self, spec: Spec) -> Iterator[Diagnostic]:
        for kind, name, span in _named_things(spec):
            if not is_snake_case(name):
                yield self.at(
                    spec.path,
                    span,
                    f"{kind} name '{name}' is not snake_case",
                    f"rename it to '{to_snake_case(name)}'",
                )


@register
class MissingDescription(LintRule):
    """## What it does
    Reports a state or event declared without a description. Off by default.

    ## Why is this bad?
    Descriptions are shown in diagrams, review pages and generated
    docstrings; they tell a reviewer what a state means for the business, or
    who sends an event, which a name alone rarely does.

    ## Example
    ```
    workflow order {
        initial state created
        final state shipped
        event ship
        created -> shipped on ship
    }
    ```

    ## Use instead
    ```
    workflow order {
        initial state created "Order placed, awaiting shipment"
        final state shipped "Handed to the carrier"
        event ship "Carrier collects the parcel"
        created -> shipped on ship
    }
    ```
    """

    code = "WF302"
    name = "missing-description"
    needs = frozenset()
    default_enabled = False

    def check(self, spec: Spec) -> Iterator[Diagnostic]:
        for state in spec.states:
            if not state.description:
                yield self.at(
                    spec.path,
                    state.span,
                    f"state '{state.name}' has no description",
                    f'describe it: `state {state.name} "..."`',
                )
        for event in spec.events:
            if not event.description:
                yield self.at(
                    spec.path,
                    event.span,
                    f"event '{event.name}' has no description",
                    f'describe it: `event {event.name} "..."`',
                )


@register
class UnusedNoqa(LintRule):
    """## What it does
    Reports a `# noqa` comment that suppresses nothing: no finding it names
    points at its line (or, for `# wfdsl: noqa: ...` on a line of its own,
    at the file), or names no rule. Reported by the lint driver, which knows
    what each comment suppressed. Like any finding it can be suppressed: by
    `WF303` in the same comment or in a file-level `# wfdsl: noqa: WF303`
    (a bare `# noqa` does not silence it).

    ## Why is this bad?
    A stale suppression hides the next real finding on that line and tells
    readers about a problem that no longer exists.

    ## Example
    ```
    workflow order {
        initial state created
        final state shipped  # noqa: WF201
        event ship
        created -> shipped on ship
    }
    ```

    ## Use instead
    ```
    workflow order {
        initial state created
        final state shipped
        event ship
        created -> shipped on ship
    }
    ```
    """

    code = "WF303"
    name = "unused-noqa"
    needs = frozenset()

    def check(self, spec: Spec) -> Iterator[Diagnostic]:
        # The driver reports unused suppressions; a spec alone cannot show them.
        return iter(())
