"""The review picture of a change: old and new versions of a workflow in one
DOT diagram (``wfdsl breaking --render``).

Every state and transition of either version is drawn once. Added ones are
green and bold, removed ones red and dashed (names struck through), and ones
whose guard, hooks or final/initial flag changed are orange with the old and
the new text side by side. Unchanged parts keep the quiet look of
``wfdsl render``. A legend under the title says which is which.

All text from the ``.wf`` files reaches DOT through
:func:`~wfdsl.render.dot.html_text` or :func:`~wfdsl.render.dot.quoted`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from wfdsl.ir import HookKind, Spec, format_guard
from wfdsl.render.dot import (
    DEFAULT_STYLE,
    Style,
    any_state,
    attrs_list,
    html_text,
    preamble,
    quoted,
    start_point,
)

ADDED = "#2f855a"
REMOVED = "#c53030"
CHANGED = "#dd6b20"

#: Pseudo-node ids; state names start with a letter, so these cannot collide.
_START = "__start"
_ANY = "__any"
_ARROW = "\u2192"


class Mark(StrEnum):
    SAME = "same"
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"


@dataclass(frozen=True, slots=True)
class HookDiff:
    kind: HookKind
    old: tuple[str, ...]
    new: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StateDiff:
    name: str
    mark: Mark
    final: bool
    #: Human notes on flag changes ("now final").
    notes: tuple[str, ...]
    hooks: tuple[HookDiff, ...]
    description: str | None


@dataclass(frozen=True, slots=True)
class ArrowDiff:
    #: A state name, or None for ``*`` (every non-final state).
    source: str | None
    target: str
    event: str
    mark: Mark
    #: Guard text of each transition giving this move ("" when unguarded).
    old_guards: tuple[str, ...]
    new_guards: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SpecDiff:
    name: str
    old_label: str
    new_label: str
    states: tuple[StateDiff, ...]
    arrows: tuple[ArrowDiff, ...]
    old_initial: str
    new_initial: str


def _moves(spec: Spec) -> dict[tuple[str | None, str, str], list[str]]:
    out: dict[tuple[str | None, str, str], list[str]] = {}
    for edge in spec.edges:
        guard = format_guard(edge.guard) if edge.guard is not None else ""
        sources: tuple[str | None, ...] = (None,) if edge.wildcard else edge.source_names
        for src in sources:
            out.setdefault((src, edge.event.value, edge.target.value), []).append(guard)
    return out


def _state_diff(name: str, old: Spec, new: Spec) -> StateDiff:
    in_old, in_new = old.has_state(name), new.has_state(name)
    o = old.state(name) if in_old else None
    n = new.state(name) if in_new else None
    cur = n or o
    assert cur is not None
    hooks = tuple(
        HookDiff(kind, o.names_of(kind) if o else (), n.names_of(kind) if n else ())
        for kind in HookKind
        if (o and o.names_of(kind)) or (n and n.names_of(kind))
    )
    notes: list[str] = []
    if o is not None and n is not None:
        for flag in ("final", "initial"):
            was, now = getattr(o, flag), getattr(n, flag)
            if was != now:
                notes.append(f"now {flag}" if now else f"no longer {flag}")
        changed = bool(notes) or any(h.old != h.new for h in hooks)
        mark = Mark.CHANGED if changed else Mark.SAME
    else:
        mark = Mark.ADDED if n is not None else Mark.REMOVED
    return StateDiff(name, mark, cur.final, tuple(notes), hooks, cur.description)


def diff_specs(old: Spec, new: Spec, old_label: str, new_label: str) -> SpecDiff:
    """Line up ``old`` and ``new``: states in the new order, removed ones after
    them in the old order; transitions likewise."""
    names = [s.name for s in new.states] + [s.name for s in old.states if not new.has_state(s.name)]
    old_moves, new_moves = _moves(old), _moves(new)
    keys = list(new_moves) + [k for k in old_moves if k not in new_moves]
    arrows = []
    for key in keys:
        og, ng = tuple(old_moves.get(key, ())), tuple(new_moves.get(key, ()))
        if not og:
            mark = Mark.ADDED
        elif not ng:
            mark = Mark.REMOVED
        else:
            mark = Mark.SAME if og == ng else Mark.CHANGED
        arrows.append(ArrowDiff(key[0], key[2], key[1], mark, og, ng))
    return SpecDiff(
        name=new.name,
        old_label=old_label,
        new_label=new_label,
        states=tuple(_state_diff(n, old, new) for n in names),
        arrows=tuple(arrows),
        old_initial=old.initial.name,
        new_initial=new.initial.name,
    )


# -- DOT ---------------------------------------------------------------------------


def _font(text: str, colour: str, size: int | None = None) -> str:
    size_attr = f' POINT-SIZE="{size}"' if size else ""
    return f'<FONT COLOR="{colour}"{size_attr}>{text}</FONT>'


def _names(names: tuple[str, ...]) -> str:
    return html_text(", ".join(names)) if names else "\u2014"


def _state_label(st: StateDiff, style: Style) -> str:
    name = f"<B>{html_text(st.name)}</B>"
    if st.mark is Mark.REMOVED:
        name = _font(f"<S>{name}</S>", REMOVED)
    elif st.mark is Mark.ADDED:
        name = _font(name, ADDED)
    rows = [f"<TR><TD>{name}</TD></TR>"]
    small = style.small_size
    for note in st.notes:
        rows.append(f"<TR><TD>{_font(html_text(note), CHANGED, small + 1)}</TD></TR>")
    hook_rows = []
    for h in st.hooks:
        if st.mark is Mark.CHANGED and h.old != h.new:
            if not h.old:  # a hook kind the state did not have
                lines = [(h.kind.value, h.new, ADDED)]
            elif not h.new:
                lines = [(h.kind.value, h.old, REMOVED)]
            else:
                lines = [
                    (f"{h.kind.value} was", h.old, REMOVED),
                    (f"{h.kind.value} now", h.new, ADDED),
                ]
        elif st.mark is Mark.REMOVED:
            lines = [(h.kind.value, h.old, REMOVED)]
        else:
            lines = [(h.kind.value, h.new, ADDED if st.mark is Mark.ADDED else style.muted)]
        for label, names, colour in lines:
            text = _font(f"{label} / {_names(names)}", colour, small)
            hook_rows.append(f'<TR><TD ALIGN="LEFT">{text}</TD></TR>')
    if hook_rows:
        rows.append("<HR/>")
        rows += hook_rows
    body = "".join(rows)
    return f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">{body}</TABLE>>'


def _state(st: StateDiff, style: Style) -> str:
    attrs: dict[str, str] = {"label": _state_label(st, style)}
    attrs["tooltip"] = quoted(
        f"{st.name} ({st.mark.value})" + (f": {st.description}" if st.description else "")
    )
    if st.final and (st.hooks or st.notes):
        # A circle around a table of hooks grows huge: a double rounded box.
        attrs["peripheries"] = "2"
    elif st.final:
        attrs["shape"] = "doublecircle"
        attrs["margin"] = '"0.04"'
    if st.mark is Mark.ADDED:
        attrs |= {"color": quoted(ADDED), "penwidth": "2.5", "fillcolor": quoted("#f0fff4")}
    elif st.mark is Mark.REMOVED:
        attrs |= {
            "color": quoted(REMOVED),
            "style": '"rounded,dashed,filled"',
            "fillcolor": quoted("#fff5f5"),
            "penwidth": "1.6",
        }
    elif st.mark is Mark.CHANGED:
        attrs |= {"color": quoted(CHANGED), "penwidth": "2.2", "fillcolor": quoted("#fffaf0")}
    return f"  {quoted(st.name)} {attrs_list(**attrs)};"


def _guard_text(guard: str) -> str:
    return f"[{guard}]" if guard else "(no guard)"


def _arrow_label(a: ArrowDiff, style: Style) -> str:
    event = html_text(a.event)
    if a.mark is Mark.CHANGED:
        was = " ".join(_guard_text(g) for g in a.old_guards)
        now = " ".join(_guard_text(g) for g in a.new_guards)
        small = style.small_size + 1
        return (
            f"<{_font(f'<B>{event}</B>', CHANGED)}<BR/>"
            f"{_font('was ' + html_text(was), REMOVED, small)}<BR/>"
            f"{_font('now ' + html_text(now), ADDED, small)}>"
        )
    guards = [g for g in (a.old_guards if a.mark is Mark.REMOVED else a.new_guards) if g]
    text = event + "".join(f" [{html_text(g)}]" for g in guards)
    if a.mark is Mark.REMOVED:
        return f"<{_font(f'<S>{text}</S>', REMOVED)}>"
    if a.mark is Mark.ADDED:
        return f"<{_font(f'<B>{text}</B>', ADDED)}>"
    if guards:
        text = html_text(a.event) + _font(
            "".join(f" [{html_text(g)}]" for g in guards), style.guard
        )
    return f"<{text}>"


def _arrow(a: ArrowDiff, style: Style) -> str:
    source = _ANY if a.source is None else a.source
    attrs: dict[str, str] = {"label": _arrow_label(a, style)}
    shown = "*" if a.source is None else a.source
    attrs["tooltip"] = quoted(f"{shown} -> {a.target} on {a.event} ({a.mark.value})")
    if a.mark is Mark.ADDED:
        attrs |= {"color": quoted(ADDED), "penwidth": "2.4"}
    elif a.mark is Mark.REMOVED:
        attrs |= {"color": quoted(REMOVED), "style": "dashed", "penwidth": "1.6"}
    elif a.mark is Mark.CHANGED:
        attrs |= {"color": quoted(CHANGED), "penwidth": "2.2"}
    elif a.source is None:
        attrs["style"] = "dashed"
    return f"  {quoted(source)} -> {quoted(a.target)} {attrs_list(**attrs)};"


def _title(d: SpecDiff, style: Style) -> str:
    small = style.small_size + 1
    legend = "   ".join(
        _font(f"\u25a0 {word}", colour, small)
        for word, colour in (("added", ADDED), ("removed", REMOVED), ("changed", CHANGED))
    )
    versions = f" \u2014 {html_text(d.old_label)} {_ARROW} {html_text(d.new_label)}"
    return (
        f"<<B>{html_text(d.name)}</B>{_font(versions, style.muted)}"
        f'<BR ALIGN="LEFT"/>{legend}<BR ALIGN="LEFT"/>>'
    )


def to_dot(d: SpecDiff, style: Style = DEFAULT_STYLE) -> str:
    """The diff as DOT text; the same input always gives the same bytes."""
    s = style
    lines = preamble(
        "Generated by wfdsl breaking --render; do not edit.",
        d.name,
        _title(d, s),
        s,
        nodesep="0.35",
        ranksep="0.5",
    )
    lines.append(start_point(_START, s))
    if any(a.source is None for a in d.arrows):
        lines.append(any_state(_ANY, s))
    lines += [_state(st, s) for st in d.states]
    lines.append("")
    if d.old_initial == d.new_initial:
        lines.append(f"  {quoted(_START)} -> {quoted(d.new_initial)};")
    else:
        lines.append(
            f"  {quoted(_START)} -> {quoted(d.old_initial)} "
            + attrs_list(color=quoted(REMOVED), style="dashed", tooltip=quoted("old start"))
            + ";"
        )
        lines.append(
            f"  {quoted(_START)} -> {quoted(d.new_initial)} "
            + attrs_list(color=quoted(ADDED), penwidth="2.4", tooltip=quoted("new start"))
            + ";"
        )
    lines += [_arrow(a, s) for a in d.arrows]
    pinned = [_START] + ([_ANY] if any(a.source is None for a in d.arrows) else [])
    lines.append("  {rank=min; " + "; ".join(quoted(p) for p in pinned) + ";}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_diff(old: Spec, new: Spec, old_label: str, new_label: str) -> str:
    """DOT text of the review picture from ``old`` to ``new``."""
    return to_dot(diff_specs(old, new, old_label, new_label))
