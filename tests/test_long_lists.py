"""Long lists go through every command: issue 12 found a flat chain of 65
guard names refused as "nesting". Every list in the language (guard chains,
sources, hook lists, event lists, states, transitions) takes any length in
``lint``, ``fmt``, ``render``, ``compile`` and ``docs``, and nothing that walks
them recurses along them. The lengths here are past Python's recursion limit.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

import wfdsl
from wfdsl.cli import cli
from wfdsl.frontend.validate import MAX_GUARD_DEPTH
from wfdsl.ir import Spec
from wfdsl.runtime import Manager
from wfdsl.stores.memory import MemoryStore

N = 3_000


def _chain(op: str, n: int = N, prefix: str = "g") -> str:
    return f" {op} ".join(f"{prefix}{i}" for i in range(n))


def _nested(levels: int) -> str:
    """``a0 or (a1 and (a2 or (...)))``: ``levels`` operators deep."""
    text = "y or z"
    for i in reversed(range(levels - 1)):
        text = f"a{i} {'and' if i % 2 else 'or'} ({text})"
    return text


WORKFLOWS = {
    "or-chain": f"""workflow w {{
    initial state a
    final state b
    event e
    a -> b on e if {_chain("or")}
}}
""",
    "and-chain": f"""workflow w {{
    initial state a
    final state b
    event e
    a -> b on e if {_chain("and")}
}}
""",
    "mixed-chain": f"""workflow w {{
    initial state a
    final state b
    event e
    a -> b on e if {" or ".join(f"(p{i} and not q{i} and r{i})" for i in range(N // 3))}
}}
""",
    "nesting-at-the-limit": f"""workflow w {{
    initial state a
    final state b
    event e
    a -> b on e if {_nested(MAX_GUARD_DEPTH)} or {_chain("or", 500, "c")}
}}
""",
    "sources": "workflow w {\n    initial state s0\n"
    + "".join(f"    state s{i}\n" for i in range(1, N))
    + "    final state t\n    event e, f\n"
    + "".join(f"    s{i - 1} -> s{i} on f\n" for i in range(1, N))
    + "    "
    + ", ".join(f"s{i}" for i in range(N))
    + " -> t on e\n}\n",
    "hooks": "workflow w {\n    initial state a {\n        enter "
    + ", ".join(f"h{i}" for i in range(N))
    + "\n        exit "
    + ", ".join(f"x{i}" for i in range(N))
    + "\n    }\n    final state b\n    event e\n    a -> b on e\n}\n",
    "events": "workflow w {\n    initial state a\n    final state b\n    event "
    + ", ".join(f"e{i}" for i in range(N))
    + "\n"
    + "".join(f"    a -> b on e{i}\n" for i in range(N))
    + "}\n",
    "states": "workflow w {\n    initial state s0\n"
    + "".join(f"    state s{i}\n" for i in range(1, N))
    + "    final state t\n    event e\n"
    + "".join(f"    s{i - 1} -> s{i} on e\n" for i in range(1, N))
    + f"    s{N - 1} -> t on e\n}}\n",
}


@pytest.fixture(params=sorted(WORKFLOWS))
def wf_file(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    path = tmp_path / f"{request.param}.wf"
    path.write_text(WORKFLOWS[request.param])
    return path


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_lint_accepts_it(wf_file: Path) -> None:
    code, out, err = run("lint", "--select", "ALL", "--format", "json", str(wf_file))
    assert code in (0, 1), err
    assert '"WF1' not in out  # no error: the spec is valid


def test_fmt_formats_it_and_the_result_is_canonical(wf_file: Path) -> None:
    code, _, err = run("fmt", str(wf_file))
    assert code == 0, err
    code, _, err = run("fmt", "--check", str(wf_file))
    assert code == 0, err
    assert wfdsl.load(wf_file).to_data() == wfdsl.loads(WORKFLOWS[wf_file.stem]).to_data()


@pytest.mark.parametrize("fmt", ["dot", "mermaid"])
def test_render_draws_it(wf_file: Path, fmt: str, tmp_path: Path) -> None:
    out = tmp_path / "diagram.txt"
    code, _, err = run("render", str(wf_file), "--format", fmt, "-o", str(out))
    assert code == 0, err
    assert "g2999" in out.read_text() or wf_file.stem not in ("or-chain", "and-chain")


def test_compile_writes_a_module_that_rebuilds_the_spec(wf_file: Path, tmp_path: Path) -> None:
    module_path = tmp_path / f"{wf_file.stem.replace('-', '_')}_wf.py"
    code, _, err = run("compile", str(wf_file), "-o", str(module_path))
    assert code == 0, err
    spec = importlib.util.spec_from_file_location(module_path.stem, module_path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_path.stem] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[module_path.stem]
    generated: Spec = module.SPEC
    loaded = wfdsl.load(wf_file)
    assert generated.to_data() == loaded.to_data()
    assert generated.fingerprint() == loaded.fingerprint()


def test_docs_writes_its_page(wf_file: Path, tmp_path: Path) -> None:
    code, _, err = run("docs", str(wf_file), "-o", str(tmp_path / "docs"))
    assert code == 0, err
    assert (tmp_path / "docs" / "w.md").is_file()


@pytest.mark.parametrize(
    ("name", "true", "calls"),
    [
        ("or-chain", lambda n: n == "g2999", N),  # every name tried, the last one holds
        ("and-chain", lambda n: True, N),
        # Short-circuits: each false p stops its term; the last term is tried whole.
        ("mixed-chain", lambda n: n[0] in "pr" and n[1:] == str(N // 3 - 1), N // 3 + 2),
        ("nesting-at-the-limit", lambda n: n == "c499", None),
    ],
)
def test_the_runtime_evaluates_the_guard(
    name: str, true: Callable[[str], bool], calls: int | None
) -> None:
    spec = wfdsl.loads(WORKFLOWS[name])
    called: list[str] = []

    def guard(name: str) -> bool:
        called.append(name)
        return true(name)

    hooks = {n: (lambda ctx, n=n: guard(n)) for n in spec.guard_names}
    mgr = Manager(spec, MemoryStore(), hooks=hooks)
    mgr.start("i")
    mgr.send("i", "e")
    assert mgr.state("i") == "b"
    if calls is not None:
        assert len(called) == calls
