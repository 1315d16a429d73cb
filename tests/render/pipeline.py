"""A generator of release pipelines as large as a test needs.

Issue 12's review page that did not draw: a 100-stage release pipeline, each
stage with two enter hooks, an exit hook, a guarded advance, a guarded
self-loop retry, a give-up edge and a guarded skip-ahead. At 100 stages its
full Mermaid diagram is about 54,000 characters, over Mermaid's 50,000.
"""

from __future__ import annotations


def release_pipeline(stages: int = 100, guard_terms: int = 1, prefix: str = "rollout") -> str:
    """The ``.wf`` text of a ``release`` workflow of ``stages`` stages.

    ``guard_terms`` names per guard (joined by ``and``) makes the diagram's
    guard labels, and nothing else, longer; a longer ``prefix`` makes every
    state name longer, so that even the smallest diagram is large.
    """

    def stage(i: int) -> str:
        return f"{prefix}_stage_{i:03d}" if i < stages else "released"

    def guard(i: int, what: str) -> str:
        extra = [f"{stage(i)}_{what}_check_{k}" for k in range(1, guard_terms)]
        return " and ".join([f"{stage(i)}_{what}", *extra])

    lines = ['workflow release "A release pipeline of many stages" {']
    for i in range(stages):
        lines += [
            f"    {'initial ' if i == 0 else ''}state {stage(i)} {{",
            f"        enter provision_{stage(i)}_environment, notify_{stage(i)}_started",
            f"        exit archive_{stage(i)}_artifacts",
            "    }",
        ]
    lines += ["    final state released", "    final state abandoned"]
    lines += ["    event advance, retry, give_up, skip_ahead"]
    for i in range(stages):
        lines += [
            f"    {stage(i)} -> {stage(i + 1)} on advance if {guard(i, 'checks_passed')}",
            f"    {stage(i)} -> {stage(i)} on retry if {guard(i, 'retry_budget_left')}",
            f"    {stage(i)} -> abandoned on give_up",
        ]
        if i + 2 <= stages:
            skip = f"if {guard(i, 'is_optional')}"
            lines.append(f"    {stage(i)} -> {stage(i + 2)} on skip_ahead {skip}")
    lines.append("}")
    return "\n".join(lines) + "\n"
