"""Code generation: a validated Spec to a typed Python module (SPEC §5).

The module is rendered from the Jinja2 template ``wfdsl/templates/module.py.j2``.
Nothing from a ``.wf`` file reaches the output as raw text: every string is
turned into an ASCII Python literal here (:func:`py_str`, :func:`py_docstring`)
and every name emitted as code is checked to be a plain identifier, so that no
description, name or path can inject code or be read as template syntax.

The output is already in ``ruff format``'s style, so it passes
``ruff format --check`` untouched without running ruff: collapsed constructs fit
in 88 columns (ruff's default), expanded ones carry a magic trailing comma, and
only strings that would push a line past 100 columns are split. That makes it
stable under any line length from 88 to 100 (except the enum member line of a
name 40-45 or 79-90 characters long, laid out for 88: ruff parenthesises
``NAME = "name"`` at one length and not the other). Output depends only on the spec,
the source label and the source's hash: same input, same bytes.

jinja2 is imported inside :func:`generate` so that ``wfdsl lint`` never loads it.
"""

from __future__ import annotations

import functools
import hashlib
import keyword
import os
import textwrap
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from wfdsl.errors import CodegenError
from wfdsl.frontend.naming import upper_snake
from wfdsl.ir import (
    Edge,
    Event,
    Guard,
    GuardAnd,
    GuardNot,
    GuardRef,
    HookKind,
    Spec,
    State,
    TimedEdge,
    guard_refs,
)

if TYPE_CHECKING:
    import jinja2

__all__ = [
    "MANAGER_OPTIONS",
    "RUNTIME_NAMES",
    "GeneratedModule",
    "SourceFile",
    "generate",
    "generate_module",
    "module_filename",
    "py_docstring",
    "py_str",
    "read_source",
    "render_file",
    "source_label",
    "spec_literal",
]

#: The only names a generated module imports from wfdsl (``from wfdsl import ...``),
#: like Jinja's ``runtime.exported``: the runtime's surface for generated code.
RUNTIME_NAMES = ("Context", "Manager", "Store", "ir")

#: The keyword options of ``wfdsl.Manager`` that the generated ``manager()``
#: helper's docstring lists (the runtime's ``BaseManager.__init__``; a test
#: keeps the two the same). Code generation does not import the runtime.
MANAGER_OPTIONS = ("clock", "worker_id", "lease", "max_attempts", "wait")

#: Collapsed (one-line) constructs fit in this many columns: ruff's default.
WIDTH = 88
#: A string literal is split into parenthesised parts only if leaving it whole
#: would make its line longer than this, so that ruff never joins the parts
#: again at any line length up to here.
SPLIT_WIDTH = 100

#: Names the ``Hooks`` protocol's annotations use; a method of that name would
#: shadow them inside the class body.
_RESERVED_HOOK_NAMES = frozenset({"Context", "bool"})

_TEMPLATE = "module.py.j2"


# -- literals -------------------------------------------------------------------


def _escape(text: str, quote: str) -> str:
    """``text`` as the body of an ASCII string literal delimited by ``quote``."""
    out: list[str] = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == quote:
            out.append("\\" + quote)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif " " <= ch <= "~":
            out.append(ch)
        else:
            code = ord(ch)
            if code < 0x100:
                out.append(f"\\x{code:02x}")
            elif code < 0x10000:
                out.append(f"\\u{code:04x}")
            else:
                out.append(f"\\U{code:08x}")
    return "".join(out)


def py_str(text: str) -> str:
    """A Python string literal for ``text``, in the quotes ruff would choose.

    Only printable ASCII appears raw; everything else (newlines, control and
    format characters, non-ASCII) is an escape, so the literal is one line of
    plain ASCII that evaluates to exactly ``text``. Double quotes unless single
    quotes need fewer escapes, as ``ruff format`` prefers.
    """
    quote = "'" if text.count('"') > text.count("'") else '"'
    return quote + _escape(text, quote) + quote


def py_docstring(paragraphs: str | Sequence[str | None], indent: int, width: int = WIDTH) -> str:
    """A triple-quoted docstring literal at ``indent`` columns.

    Each paragraph is escaped as in :func:`py_str` (quotes too, so no ``\"\"\"``
    can close it early), stripped and wrapped at spaces to fit in ``width``
    columns; empty paragraphs and None are left out. One short paragraph gives a
    one-line docstring; anything longer puts the closing quotes on a line of
    their own. The first line is not indented (the template places it).
    """
    parts = [paragraphs] if isinstance(paragraphs, str) else list(paragraphs)
    bodies = [_escape(p.strip(), '"') for p in parts if p is not None and p.strip()]
    if not bodies:
        raise ValueError("a docstring needs some text")
    pad = " " * indent
    blocks = [_wrap(bodies[0], indent, width, first=3)]
    blocks += [_wrap(body, indent, width) for body in bodies[1:]]
    if len(blocks) == 1 and "\n" not in blocks[0]:
        # ruff keeps the closing quotes of a one-line docstring on its line,
        # even when that makes the line too long (one long word).
        return f'"""{bodies[0]}"""'
    return '"""' + ("\n\n" + pad).join(blocks) + "\n" + pad + '"""'


def _wrap(body: str, indent: int, width: int, first: int = 0) -> str:
    lines = textwrap.wrap(
        body,
        width=width - indent,
        initial_indent="x" * first,
        break_long_words=False,
        break_on_hyphens=False,
    )
    if not lines:
        return ""
    lines[0] = lines[0][first:]
    return ("\n" + " " * indent).join(lines)


def _identifier(name: str, what: str) -> str:
    """``name``, if it is safe to emit as Python code (an ASCII identifier)."""
    ok = name.isascii() and name.isidentifier() and not keyword.iskeyword(name)
    if not ok or name.startswith("_"):
        raise CodegenError(f"{what} {name!r} is not usable as a Python name")
    return name


# -- layout of the SPEC expression ------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Str:
    value: str


@dataclass(frozen=True, slots=True)
class _Code:
    """Code emitted as is (a number, ``True``, an enum member)."""

    text: str


@dataclass(frozen=True, slots=True)
class _Call:
    func: str
    #: (keyword or None, value)
    args: tuple[tuple[str | None, _Node], ...]
    #: Always one argument per line, even when it would fit on one.
    expand: bool = False


@dataclass(frozen=True, slots=True)
class _Tuple:
    items: tuple[_Node, ...]


_Node = _Str | _Code | _Call | _Tuple


def _flat(node: _Node) -> str | None:
    """The node on one line, or None if it must be expanded."""
    if isinstance(node, _Str):
        return py_str(node.value)
    if isinstance(node, _Code):
        return node.text
    if isinstance(node, _Call):
        if node.expand:
            return None
        parts: list[str] = []
        for key, value in node.args:
            text = _flat(value)
            if text is None:
                return None
            parts.append(f"{key}={text}" if key else text)
        return f"{node.func}({', '.join(parts)})"
    items: list[str] = []
    for item in node.items:
        text = _flat(item)
        if text is None:
            return None
        items.append(text)
    if len(items) == 1:
        return f"({items[0]},)"
    return f"({', '.join(items)})"


def _lay(node: _Node, indent: int, lead: str, trail: str, force: bool = False) -> Iterator[str]:
    """Lines of ``node`` laid out as ruff would, the first starting with ``lead``
    at ``indent`` columns and the last ending with ``trail``."""
    pad = " " * indent
    flat = None if force else _flat(node)
    if flat is not None and indent + len(lead) + len(flat) + len(trail) <= WIDTH:
        yield pad + lead + flat + trail
        return
    if isinstance(node, _Code):
        yield pad + lead + node.text + trail
    elif isinstance(node, _Str):
        yield from _lay_str(node.value, indent, lead, trail)
    elif isinstance(node, _Call):
        yield pad + lead + node.func + "("
        for key, value in node.args:
            yield from _lay(value, indent + 4, f"{key}=" if key else "", ",")
        yield pad + ")" + trail
    else:
        yield pad + lead + "("
        # ruff joins a one-item tuple whose item fits on one line, trailing comma
        # or not, so an expanded one must expand its item too.
        single = len(node.items) == 1
        for item in node.items:
            yield from _lay(item, indent + 4, "", ",", force=single)
        yield pad + ")" + trail


def _lay_str(value: str, indent: int, lead: str, trail: str) -> Iterator[str]:
    """A string too long for one line at its place, as ruff keeps it at any line
    length from 88 to 100: whole if its line stays within 100 columns; else
    alone in parentheses if it fits there; else split at spaces into
    parenthesised parts too long for ruff to join again."""
    pad = " " * indent
    whole = py_str(value)
    if indent + len(lead) + len(whole) + len(trail) <= SPLIT_WIDTH:
        yield pad + lead + whole + trail
        return
    chunks = [whole]
    if indent + 4 + len(whole) > SPLIT_WIDTH:
        chunks = [py_str(part) for part in _split_words(value, WIDTH - indent - 4)]
    if len(chunks) == 1 and indent + 4 + len(whole) > SPLIT_WIDTH:
        yield pad + lead + whole + trail  # one long word: nothing helps
        return
    yield pad + lead + "("
    for chunk in chunks:
        yield pad + "    " + chunk
    yield pad + ")" + trail


def _split_words(value: str, room: int) -> list[str]:
    """``value`` cut after spaces into parts whose literals fit in ``room``
    columns where possible; the parts concatenate to ``value``."""
    parts: list[str] = []
    for word in value.split(" "):
        if parts and len(py_str(parts[-1] + word + " ")) <= room:
            parts[-1] += word + " "
        else:
            parts.append(word + " ")
    parts[-1] = parts[-1][:-1]  # the split added one space too many
    if parts[-1] == "" and len(parts) > 1:
        parts.pop()
    return parts


def _name(value: str) -> _Call:
    return _Call("ir.Name", ((None, _Str(value)),))


def _guard(guard: Guard) -> _Node:
    if isinstance(guard, GuardRef):
        return _Call("ir.GuardRef", ((None, _Str(guard.name)),))
    if isinstance(guard, GuardNot):
        return _Call("ir.GuardNot", ((None, _guard(guard.operand)),))
    func = "ir.GuardAnd" if isinstance(guard, GuardAnd) else "ir.GuardOr"
    return _Call(func, tuple((None, _guard(g)) for g in guard.operands))


def _state(state: State) -> _Node:
    args: list[tuple[str | None, _Node]] = [("name", _Str(state.name))]
    if state.description is not None:
        args.append(("description", _Str(state.description)))
    if state.initial:
        args.append(("initial", _Code("True")))
    if state.final:
        args.append(("final", _Code("True")))
    if state.items:
        items = tuple(
            _Call(
                "ir.StateItem",
                (
                    ("kind", _Code(f"ir.HookKind.{HookKind(item.kind).name}")),
                    ("names", _Tuple(tuple(_name(n.value) for n in item.names))),
                ),
            )
            for item in state.items
        )
        args.append(("items", _Tuple(items)))
    return _Call("ir.State", tuple(args), expand=True)


def _event(event: Event) -> _Node:
    args: list[tuple[str | None, _Node]] = [("name", _Str(event.name))]
    if event.description is not None:
        args.append(("description", _Str(event.description)))
    return _Call("ir.Event", tuple(args))


def _edge(edge: Edge) -> _Node:
    return _transition("ir.Edge", edge, ("event", _name(edge.event.value)))


def _timed_edge(edge: TimedEdge) -> _Node:
    # Milliseconds grouped by thousands (``5_400_000``) read at a glance.
    duration = _Call(
        "ir.Duration", (("ms", _Code(f"{edge.after.ms:_}")), ("text", _Str(edge.after.text)))
    )
    return _transition("ir.TimedEdge", edge, ("after", duration))


def _transition(func: str, edge: Edge | TimedEdge, trigger: tuple[str, _Node]) -> _Node:
    """``func(...)`` rebuilding ``edge``; ``trigger`` is its event or its duration."""
    args: list[tuple[str | None, _Node]] = [
        ("sources", _Tuple(tuple(_name(n.value) for n in edge.sources))),
        ("target", _name(edge.target.value)),
        trigger,
    ]
    if edge.guard is not None:
        args.append(("guard", _guard(edge.guard)))
    if edge.description is not None:
        args.append(("description", _Str(edge.description)))
    if edge.wildcard:
        args.append(("wildcard", _Code("True")))
    args.append(("index", _Code(str(edge.index))))
    return _Call(func, tuple(args), expand=True)


def spec_literal(spec: Spec, path: str) -> str:
    """``ir.Spec(...)`` source that rebuilds ``spec`` (without spans), as ruff lays
    it out, carrying the module's ``State`` and ``Event`` enums (defined above it
    in the module) as its ``state_type`` and ``event_type``: a ``Spec[State, Event]``."""
    args: list[tuple[str | None, _Node]] = [("name", _Str(spec.name))]
    if spec.description is not None:
        args.append(("description", _Str(spec.description)))
    args += [
        ("path", _Str(path)),
        ("states", _Tuple(tuple(_state(s) for s in spec.states))),
        ("events", _Tuple(tuple(_event(e) for e in spec.events))),
        ("edges", _Tuple(tuple(_edge(e) for e in spec.edges))),
    ]
    if spec.timed_edges:
        args.append(("timed_edges", _Tuple(tuple(_timed_edge(t) for t in spec.timed_edges))))
    args += [("state_type", _Code("State")), ("event_type", _Code("Event"))]
    return "\n".join(_lay(_Call("ir.Spec", tuple(args), expand=True), 0, "SPEC = ", ""))


# -- the module -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Member:
    name: str
    #: The value as a literal.
    value: str
    doc: str | None
    #: Too long for one line: the value goes in parentheses on a line of its own.
    wrap: bool


@dataclass(frozen=True, slots=True)
class _Method:
    name: str
    returns: str
    doc: str

    @property
    def wrap(self) -> bool:
        """Too long for one line: one parameter per line, as ruff lays it out."""
        return len(f"    def {self.name}(self, ctx: Context, /) -> {self.returns}:") > WIDTH


def _members(decls: Sequence[State] | Sequence[Event], kind: str) -> list[_Member]:
    out = []
    for d in decls:
        member = _identifier(upper_snake(_identifier(d.name, kind)), f"{kind} member")
        doc = d.description if d.description and d.description.strip() else None
        value = py_str(d.name)
        # ruff parenthesises the value only where that makes it fit.
        wrap = len(f"    {member} = {value}") > WIDTH and 8 + len(value) <= WIDTH
        out.append(_Member(member, value, doc, wrap))
    return out


def _code(text: str) -> str:
    return f"``{text}``"


def _methods(spec: Spec) -> list[_Method]:
    # When each guard is checked: on the events that try it ("``pay`` or
    # ``retry`` arrives"), and when the timers it guards come due ("``created``
    # has waited ``30m``").
    events: dict[str, list[str]] = {}
    timers: dict[str, list[str]] = {}
    for edge in spec.all_edges:
        names = dict.fromkeys(r.name for r in guard_refs(edge.guard))
        for name in names:
            events.setdefault(name, [])
            timers.setdefault(name, [])
        if isinstance(edge, TimedEdge):
            where = "any state" if edge.wildcard else " or ".join(map(_code, edge.source_names))
            for name in names:
                timers[name].append(f"{where} has waited {_code(edge.after.text)}")
        else:
            for name in names:
                events[name].append(edge.event.value)
    roles: dict[str, list[str]] = {}
    verbs = {
        HookKind.ENTER: "after entering",
        HookKind.EXIT: "after leaving",
        HookKind.COMPENSATE: "to undo entering",
    }
    for state in spec.states:
        for item in state.items:
            for n in item.names:
                roles.setdefault(n.value, []).append(f"{verbs[item.kind]} {_code(state.name)}")
    methods = []
    for name, on in events.items():
        whens = [" or ".join(_code(e) for e in dict.fromkeys(on)) + " arrives"] if on else []
        whens += dict.fromkeys(timers[name])
        methods.append(_Method(name, "bool", f"Guard, checked when {' or when '.join(whens)}."))
    for name, uses in roles.items():
        compensates = all(use.startswith("to undo") for use in uses)
        role = "Compensator" if compensates else "Hook"
        methods.append(_Method(name, "None", f"{role}: runs {'; '.join(uses)}."))
    for m in methods:
        _identifier(m.name, "hook" if m.returns == "None" else "guard")
        if m.name in _RESERVED_HOOK_NAMES:
            raise CodegenError(
                f"a guard or hook named {m.name!r} would hide {m.name!r} in the generated "
                "Hooks protocol; rename it"
            )
    return methods


@functools.cache
def _template() -> jinja2.Template:
    """The module template, loaded and compiled once per process."""
    return _environment().get_template(_TEMPLATE)


def _environment() -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("wfdsl", "templates"),
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["py_str"] = py_str
    env.filters["docstring"] = py_docstring
    return env


def generate(spec: Spec, *, source: str, sha256: str) -> str:
    """The module for ``spec``, as text.

    ``source`` names the ``.wf`` file in the header and in ``SPEC.path`` (see
    :func:`source_label`); ``sha256`` is the hex digest of its bytes.

    :raises CodegenError: if a name in ``spec`` cannot be emitted as Python
        (only possible for a spec built by hand, or a hook named ``bool`` or
        ``Context``).
    """
    _identifier(spec.name, "workflow")
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise CodegenError(f"not a sha256 hex digest: {sha256!r}")
    methods = _methods(spec)
    # Context appears only in the Hooks methods' signatures.
    imports = [n for n in RUNTIME_NAMES if methods or n != "Context"]
    text = _template().render(
        workflow=spec.name,
        description=spec.description if spec.description and spec.description.strip() else None,
        source=source,
        sha256=sha256,
        runtime_names=imports,
        states=_members(spec.states, "state"),
        events=_members(spec.events, "event"),
        methods=methods,
        timed=bool(spec.timed_edges),
        manager_options=", ".join(map(_code, MANAGER_OPTIONS)),
        spec_literal=spec_literal(spec, source),
    )
    return text


# -- files ------------------------------------------------------------------------


def module_filename(spec: Spec) -> str:
    """The file name ``--out-dir`` and the default use: ``{workflow}_wf.py``."""
    return f"{spec.name}_wf.py"


def source_label(source_path: str | os.PathLike[str], output_path: str | os.PathLike[str]) -> str:
    """How a generated module names its source: the path from the module's
    directory to the source, with ``/`` separators, so that the header does not
    depend on the directory ``wfdsl compile`` ran in."""
    src = os.path.abspath(source_path)
    out_dir = os.path.dirname(os.path.abspath(output_path))
    try:
        rel = os.path.relpath(src, out_dir)
    except ValueError:  # another drive on Windows
        return Path(src).as_posix()
    return Path(rel).as_posix()


@dataclass(frozen=True, slots=True)
class GeneratedModule:
    """A module generated from one source file."""

    source: str
    output: str
    spec: Spec
    text: str


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A ``.wf`` file read and validated, with the hash of its bytes."""

    path: str
    spec: Spec
    sha256: str


def read_source(path: str | os.PathLike[str]) -> SourceFile:
    """Read and validate one ``.wf`` file.

    :raises OSError: if it cannot be read.
    :raises SpecError: if it is not a valid workflow.
    """
    from wfdsl.frontend.source import loads, read_file

    source = os.fspath(path)
    data, text = read_file(source)
    return SourceFile(source, loads(text, source), hashlib.sha256(data).hexdigest())


def generate_module(
    source: SourceFile, output_path: str | os.PathLike[str] | None = None
) -> GeneratedModule:
    """The module for ``source``, to be written at ``output_path`` (by default
    :func:`module_filename` beside the source).

    :raises CodegenError: see :func:`generate`.
    """
    if output_path is None:
        output = os.path.join(os.path.dirname(source.path), module_filename(source.spec))
    else:
        output = os.fspath(output_path)
    label = source_label(source.path, output)
    text = generate(source.spec, source=label, sha256=source.sha256)
    return GeneratedModule(source.path, output, source.spec, text)


def render_file(
    source_path: str | os.PathLike[str], output_path: str | os.PathLike[str] | None = None
) -> GeneratedModule:
    """:func:`read_source` then :func:`generate_module`."""
    return generate_module(read_source(source_path), output_path)
