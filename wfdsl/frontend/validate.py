"""AST to Spec IR, reporting every error (WF100–WF114) before raising once.

:func:`check_tree` returns the errors with what could be built (for lint, which
reports every finding it can); :func:`build_spec` raises them."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lark import Token

from wfdsl.diagnostics import Diagnostic
from wfdsl.errors import SpecError
from wfdsl.frontend import codes as E
from wfdsl.frontend.durations import DurationProblem, read_duration
from wfdsl.frontend.naming import is_python_keyword, upper_snake
from wfdsl.frontend.syntax import (
    AndNode,
    EventsNode,
    GroupNode,
    GuardNode,
    NotNode,
    RefNode,
    StateNode,
    TimedTransitionNode,
    TransitionNode,
    WorkflowNode,
)
from wfdsl.ir import (
    Duration,
    Edge,
    Event,
    Gap,
    Guard,
    GuardAnd,
    GuardNot,
    GuardOr,
    GuardRef,
    HookKind,
    Name,
    Span,
    Spec,
    State,
    StateItem,
    TimedEdge,
    format_guard,
    guard_refs,
)

_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}
_RESERVED = {"after": "'after' is reserved for timed transitions"}
#: How deep a guard may nest operators (:func:`wfdsl.ir.guard_depth`): every
#: stage that walks a guard recurses once per level, so a deeper one would
#: exhaust Python's recursion. Chains of any length are one level.
MAX_GUARD_DEPTH = 64


def span_of(tok: Token) -> Span:
    return Span(tok.line or 0, tok.column or 0, tok.end_line or 0, tok.end_column or 0)


def span_between(first: Token, last: Token) -> Span:
    """From the start of ``first`` to the end of ``last``, with no intermediate spans."""
    return Span(first.line or 0, first.column or 0, last.end_line or 0, last.end_column or 0)


#: The gap each error opens; errors not listed leave the rest of the spec whole.
_GAPS: dict[str, Gap] = {
    E.UndefinedState.code: Gap.STATES,
    E.DuplicateState.code: Gap.STATES,
    E.UndefinedEvent.code: Gap.EVENTS,
    E.DuplicateEvent.code: Gap.EVENTS,
    E.MissingInitial.code: Gap.INITIAL,
    E.MultipleInitial.code: Gap.INITIAL,
    E.InvalidDuration.code: Gap.DURATIONS,
}


@dataclass(frozen=True, slots=True)
class Checked:
    """The result of checking an AST: the spec and every error found.

    With errors, ``spec`` holds what could be built (the first of duplicate
    declarations, no repeated transition, no guard that failed) and is
    fit only for the lint rules that do not need what ``gaps`` names.
    """

    spec: Spec
    errors: tuple[Diagnostic, ...]
    gaps: frozenset[Gap]


class _Builder:
    def __init__(self, path: str) -> None:
        self.path = path
        self.diags: list[Diagnostic] = []
        self.gaps: set[Gap] = set()
        #: Transitions whose guard could not be built, by kind and index.
        self.unbuilt_guards: set[tuple[type, int]] = set()

    def report(
        self, rule: type[E.ErrorRule], tok_or_span: Token | Span, msg: str, hint: str | None = None
    ) -> None:
        span = tok_or_span if isinstance(tok_or_span, Span) else span_of(tok_or_span)
        self.diags.append(rule.at(self.path, span, msg, hint))
        gap = _GAPS.get(rule.code)
        if gap is not None:
            self.gaps.add(gap)

    # -- tokens ------------------------------------------------------------

    def name(self, tok: Token) -> Name:
        if tok.value in _RESERVED:
            self.report(E.SyntaxError_, tok, _RESERVED[tok.value], "choose another name")
        return Name(tok.value, span_of(tok))

    def string(self, tok: Token | None) -> str | None:
        if tok is None:
            return None
        inner: str = tok.value[1:-1]
        if "\\" not in inner:
            return inner
        out: list[str] = []
        i = 0
        while i < len(inner):
            ch = inner[i]
            if ch == "\\":
                nxt = inner[i + 1]  # the grammar guarantees a character follows
                if nxt in _ESCAPES:
                    out.append(_ESCAPES[nxt])
                else:
                    col = (tok.column or 0) + 1 + i
                    self.report(
                        E.SyntaxError_,
                        Span(tok.line or 0, col, tok.line or 0, col + 2),
                        f"unknown escape '\\{nxt}' in a description",
                        'the escapes are \\" \\\\ \\n and \\t',
                    )
                    out.append(nxt)
                i += 2
            else:
                out.append(ch)
                i += 1
        return "".join(out)

    def guard(self, node: GuardNode) -> Guard | None:
        """The IR of a guard, or None after reporting that it nests too deeply.

        Built bottom-up with an explicit stack: the AST may be arbitrarily deep
        here (ten thousand parentheses), and only the IR's depth is limited.
        """
        if isinstance(node, RefNode):  # most guards are one name
            self.name(node.name)
            return GuardRef(node.name.value, span_of(node.name))
        built: list[tuple[Guard, int]] = []  # (guard, its depth), operands in order
        # (node, expanded): a node is visited, then finished once its operands are built.
        stack: list[tuple[GuardNode, bool]] = [(node, False)]
        while stack:
            n, expanded = stack.pop()
            while isinstance(n, GroupNode):
                n = n.inner  # parentheses only group: nothing of them is left in the IR
            if isinstance(n, RefNode):
                self.name(n.name)
                built.append((GuardRef(n.name.value, span_of(n.name)), 0))
                continue
            children = [n.operand] if isinstance(n, NotNode) else n.operands
            if not expanded:
                stack.append((n, True))
                stack.extend((c, False) for c in reversed(children))
                continue
            operands = built[len(built) - len(children) :]
            del built[len(built) - len(children) :]
            guard: Guard
            if isinstance(n, NotNode):
                guard = GuardNot(operands[0][0])
            else:
                guard = (GuardAnd if isinstance(n, AndNode) else GuardOr)(*(g for g, _ in operands))
            # A parenthesised chain of the same kind is spliced into this one
            # (``a or (b or c)``): it adds no level.
            depth = 1 + max(
                d - (type(g) is type(guard) and not isinstance(g, GuardNot)) for g, d in operands
            )
            if depth > MAX_GUARD_DEPTH:
                self.gaps.add(Gap.GUARDS)
                self.report(
                    E.SyntaxError_,
                    span_between(_first_token(n), _last_token(n)),
                    f"guard nests 'not', 'and' and 'or' more than {MAX_GUARD_DEPTH} levels"
                    " deep here (a chain such as 'a or b or c' is one level)",
                    "move part of the condition into a guard function",
                )
                return None
            built.append((guard, depth))
        return built[0][0]

    # -- members ---------------------------------------------------------------

    def state(self, node: StateNode) -> State:
        items: list[StateItem] = []
        seen: dict[str, Token] = {}
        for item in node.items:
            kind = HookKind(item.kind.value)
            if kind.value in seen:
                first = seen[kind.value]
                self.report(
                    E.DuplicateStateItem,
                    item.kind,
                    f"'{kind.value}' given twice in state '{node.name.value}'",
                    f"list every name on the first '{kind.value}' (line {first.line}), in the order they run",
                )
                continue
            seen[kind.value] = item.kind
            names = tuple(self.name(t) for t in item.names)
            items.append(StateItem(kind, names, Span.cover(span_of(item.kind), names[-1].span)))
        first_tok = node.initial or node.final or node.keyword
        last_tok = node.close or node.description or node.name
        return State(
            name=node.name.value,
            span=self.name(node.name).span,
            description=self.string(node.description),
            initial=node.initial is not None,
            final=node.final is not None,
            items=tuple(items),
            decl_span=span_between(first_tok, last_tok),
        )

    def edge(self, node: TransitionNode, index: int) -> Edge:
        wildcard = len(node.sources) == 1 and node.sources[0].type == "STAR"
        sources = () if wildcard else tuple(self.name(t) for t in node.sources)
        guard = None if node.guard is None else self.guard(node.guard)
        last = node.description
        if last is None and guard is not None:
            last = list(_refs(node.guard))[-1]
        span = span_between(node.sources[0], last or node.event)
        return Edge(
            sources=sources,
            target=self.name(node.target),
            event=self.name(node.event),
            guard=guard,
            description=self.string(node.description),
            wildcard=wildcard,
            span=span,
            index=index,
        )

    def timed_edge(self, node: TimedTransitionNode, index: int) -> TimedEdge:
        """A timed transition; its duration is checked here (WF114), its names
        with every transition's in :func:`_check_edges`."""
        # An event transition with the event written as `after DURATION`: the
        # names, the guard and the span are built the same way.
        shape = TransitionNode(
            node.sources, node.arrow, node.target, node.duration[-1], node.guard, node.description
        )
        edge = self.edge(shape, index)
        read = read_duration(node.duration)
        if isinstance(read, DurationProblem):
            self.report(E.InvalidDuration, read.span, read.message, read.hint)
            read = Duration(0, "".join(t.value for t in node.duration), read.span)
        return TimedEdge(
            sources=edge.sources,
            target=edge.target,
            after=read,
            guard=edge.guard,
            description=edge.description,
            wildcard=edge.wildcard,
            span=edge.span,
            index=index,
        )


def _refs(node: GuardNode | None) -> Iterable[Token]:
    """Guard names left to right (iterative: guards may be arbitrarily deep here)."""
    stack = [] if node is None else [node]
    while stack:
        n = stack.pop()
        if isinstance(n, RefNode):
            yield n.name
        elif isinstance(n, NotNode):
            stack.append(n.operand)
        elif isinstance(n, GroupNode):
            stack.append(n.inner)
        else:
            stack.extend(reversed(n.operands))


def _first_token(node: GuardNode) -> Token:
    """The first token of a guard (sub)expression, found without recursion."""
    while not isinstance(node, RefNode):
        if isinstance(node, NotNode):
            return node.keyword
        if isinstance(node, GroupNode):
            return node.open
        node = node.operands[0]
    return node.name


def _last_token(node: GuardNode) -> Token:
    """The last token of a guard (sub)expression, found without recursion."""
    while not isinstance(node, RefNode):
        if isinstance(node, GroupNode):
            return node.close
        node = node.operand if isinstance(node, NotNode) else node.operands[-1]
    return node.name


def closest_name(name: str, known: Iterable[str]) -> str | None:
    """The declared name ``name`` was most likely meant to be, or None: the
    suggestion of the WF101/WF102 did-you-mean hints (and of the language
    server's quick fix for them, so that the two always agree)."""
    match = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return match[0] if match else None


def _did_you_mean(name: str, known: Iterable[str]) -> str | None:
    match = closest_name(name, known)
    return f"did you mean '{match}'?" if match else None


def build_spec(tree: WorkflowNode, path: str = "<string>") -> Spec:
    """Validate the AST and build the Spec IR.

    :raises SpecError: carrying every error found, in source order.
    """
    checked = check_tree(tree, path)
    if checked.errors:
        raise SpecError(checked.errors)
    return checked.spec


def check_tree(tree: WorkflowNode, path: str = "<string>") -> Checked:
    """Validate the AST: the Spec IR and every error found, in source order.
    Never raises for a mistake in the source."""
    b = _Builder(path)
    b.name(tree.name)  # reserved words are no workflow names either
    states: dict[str, State] = {}
    events: dict[str, Event] = {}
    edges: list[Edge] = []
    timed: list[TimedEdge] = []
    for member in tree.members:
        if isinstance(member, StateNode):
            st = b.state(member)
            if st.name in states:
                b.report(
                    E.DuplicateState,
                    member.name,
                    f"state '{st.name}' is declared twice",
                    f"first declared on line {states[st.name].span.line}",
                )
            else:
                states[st.name] = st
        elif isinstance(member, EventsNode):
            for item in member.items:
                ev = Event(b.name(item.name).value, span_of(item.name), b.string(item.description))
                if ev.name in events:
                    b.report(
                        E.DuplicateEvent,
                        item.name,
                        f"event '{ev.name}' is declared twice",
                        f"first declared on line {events[ev.name].span.line}",
                    )
                else:
                    events[ev.name] = ev
        elif isinstance(member, TimedTransitionNode):
            timed.append(b.timed_edge(member, len(timed)))
            if member.guard is not None and timed[-1].guard is None:
                b.unbuilt_guards.add((TimedEdge, len(timed) - 1))
        else:
            edges.append(b.edge(member, len(edges)))
            if member.guard is not None and edges[-1].guard is None:
                b.unbuilt_guards.add((Edge, len(edges) - 1))

    description = b.string(tree.description)
    _check_states(b, tree, states)
    repeated = _check_edges(b, states, events, [*edges, *timed])
    _check_names(b, states, events, [*edges, *timed])

    b.diags.sort(key=Diagnostic.sort_key)
    spec = Spec(
        name=tree.name.value,
        states=tuple(states.values()),
        events=tuple(events.values()),
        edges=tuple(e for e in edges if (Edge, e.index) not in repeated),
        description=description,
        path=path,
        span=span_of(tree.name),
        timed_edges=tuple(e for e in timed if (TimedEdge, e.index) not in repeated),
    )
    return Checked(spec, tuple(b.diags), frozenset(b.gaps))


def _check_states(b: _Builder, tree: WorkflowNode, states: dict[str, State]) -> None:
    initials = [s for s in states.values() if s.initial]
    if not initials:
        b.report(
            E.MissingInitial,
            tree.name,
            f"workflow '{tree.name.value}' has no initial state",
            "mark the state instances start in: 'initial state NAME'",
        )
    for extra in initials[1:]:
        b.report(
            E.MultipleInitial,
            extra.span,
            f"state '{extra.name}' is a second initial state",
            f"'{initials[0].name}' (line {initials[0].span.line}) is already initial",
        )
    for s in states.values():
        if s.initial and s.final:
            b.report(
                E.InitialIsFinal,
                s.span,
                f"state '{s.name}' is both initial and final",
                "an instance would end as soon as it starts",
            )


def _check_edges(
    b: _Builder,
    states: dict[str, State],
    events: dict[str, Event],
    edges: Sequence[Edge | TimedEdge],
) -> set[tuple[type, int]]:
    """Check every transition; (kind, index) of those repeating an earlier one."""
    seen: dict[tuple[object, ...], Edge | TimedEdge] = {}
    repeated: set[tuple[type, int]] = set()
    for edge in edges:
        timed = isinstance(edge, TimedEdge)
        for ref in (*edge.sources, edge.target):
            if ref.value not in states:
                b.report(
                    E.UndefinedState,
                    ref.span,
                    f"state '{ref.value}' is not declared",
                    _did_you_mean(ref.value, states),
                )
            elif ref is not edge.target and states[ref.value].final:
                b.report(
                    E.TransitionFromFinal,
                    ref.span,
                    f"{'timed ' if timed else ''}transition leaves final state '{ref.value}'",
                    "nothing may leave a final state; remove 'final' or the transition",
                )
        if isinstance(edge, TimedEdge):
            if not edge.after.ms:
                continue  # its duration is reported (WF114): nothing to compare yet
            # Durations are compared exactly: `90s` repeats `1m30s`.
            trigger: object = ("after", edge.after.ms)
        else:
            trigger = edge.event.value
            if edge.event.value not in events:
                b.report(
                    E.UndefinedEvent,
                    edge.event.span,
                    f"event '{edge.event.value}' is not declared",
                    _did_you_mean(edge.event.value, events)
                    or f"declare it: 'event {edge.event.value}'",
                )
        if (type(edge), edge.index) in b.unbuilt_guards:
            continue  # its guard is unknown: it repeats nothing
        key = (
            "*" if edge.wildcard else edge.source_names,
            trigger,
            format_guard(edge.guard) if edge.guard else None,
            edge.target.value,
        )
        if key in seen:
            b.report(
                E.DuplicateTransition,
                edge.span,
                "this transition repeats the one on line " + str(seen[key].span.line),
                "remove one of them",
            )
            repeated.add((type(edge), edge.index))
        else:
            seen[key] = edge
    return repeated


def _check_names(
    b: _Builder,
    states: dict[str, State],
    events: dict[str, Event],
    edges: Sequence[Edge | TimedEdge],
) -> None:
    for kind, decls in (("state", states.values()), ("event", events.values())):
        members: dict[str, State | Event] = {}
        for d in decls:
            member = upper_snake(d.name)
            other = members.get(member)
            if other is not None:
                b.report(
                    E.GeneratedNameCollision,
                    d.span,
                    f"{kind} '{d.name}' and {kind} '{other.name}' both become '{member}' in generated code",
                    f"rename one of them ('{other.name}' is on line {other.span.line})",
                )
            else:
                members[member] = d

    guard_spans: dict[str, Span] = {}
    for edge in edges:
        if edge.guard is None:
            continue
        for ref in guard_refs(edge.guard):
            guard_spans.setdefault(ref.name, ref.span)
            if is_python_keyword(ref.name):
                b.report(
                    E.InvalidPythonName,
                    ref.span,
                    f"guard '{ref.name}' is a Python keyword and cannot be a method name",
                    f"rename it, e.g. '{ref.name}_ok'",
                )
    for st in states.values():
        for item in st.items:
            for n in item.names:
                if is_python_keyword(n.value):
                    b.report(
                        E.InvalidPythonName,
                        n.span,
                        f"hook '{n.value}' is a Python keyword and cannot be a method name",
                        f"rename it, e.g. '{n.value}_{st.name}'",
                    )
                if n.value in guard_spans:
                    b.report(
                        E.GuardHookClash,
                        n.span,
                        f"'{n.value}' is used both as a hook ('{item.kind.value}') and as a guard",
                        f"it is a guard on line {guard_spans[n.value].line}; give the hook another name",
                    )
