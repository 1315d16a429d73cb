"""The review picture of a change: old and new versions of a workflow in one
diagram (``wfdsl breaking --render``).

:func:`extract_diff` turns a :class:`~wfdsl.compare.diff.SpecDiff` into a
:class:`~wfdsl.render.model.Diagram` whose boxes and arrows carry a
:class:`~wfdsl.compare.diff.Mark`; the DOT renderer draws it like any other
diagram, with added parts green and bold, removed ones red and dashed (names
struck through), and changed ones orange with the old and the new text side
by side (see :mod:`wfdsl.render.dot`).
"""

from __future__ import annotations

from dataclasses import replace

from wfdsl.compare.diff import ArrowDiff, Mark, SpecDiff, StateDiff, diff_specs, guard_text
from wfdsl.ir import Spec
from wfdsl.render.dot import to_dot
from wfdsl.render.model import Arrow, Detail, Diagram, Node, Review, arrow_of, node_of


def _node(st: StateDiff) -> Node:
    node = replace(node_of(st.current), mark=st.mark)
    if st.mark is Mark.CHANGED and st.old is not None:
        node = replace(node, was=node_of(st.old))
    return node


def _arrows(d: SpecDiff, a: ArrowDiff) -> list[Arrow]:
    """The arrows of one move. A move whose one transition changed its guard is
    one changed arrow; otherwise each transition is an arrow of its own,
    marked by whether its guard is in the other version too."""
    if a.mark is Mark.CHANGED and len(a.old) == len(a.new) == 1:
        arrow = arrow_of(d.new, a.new[0], a.source)
        return [replace(arrow, mark=Mark.CHANGED, was_guard=guard_text(a.old[0]) or None)]
    old_guards = {guard_text(e) for e in a.old}
    new_guards = {guard_text(e) for e in a.new}
    out = [
        replace(
            arrow_of(d.new, e, a.source),
            mark=Mark.SAME if guard_text(e) in old_guards else Mark.ADDED,
        )
        for e in a.new
    ]
    out += [
        replace(arrow_of(d.old, e, a.source), mark=Mark.REMOVED)
        for e in a.old
        if guard_text(e) not in new_guards
    ]
    return out


def extract_diff(d: SpecDiff, old_label: str, new_label: str) -> Diagram:
    """The review picture of ``d``: every state and move of either version once,
    in the new version's order, then the removed ones in the old one's."""
    return Diagram(
        name=d.new.name,
        description=None,
        nodes=tuple(_node(st) for st in d.states),
        arrows=tuple(arrow for a in d.arrows for arrow in _arrows(d, a)),
        detail=Detail.HOOKS,
        review=Review(old_label, new_label, d.old.initial.name),
    )


def render_diff(old: Spec, new: Spec, old_label: str, new_label: str) -> str:
    """DOT text of the review picture from ``old`` to ``new``."""
    return to_dot(extract_diff(diff_specs(old, new), old_label, new_label))
