"""Front-end speed: load + lint of a large spec against Lark's bare LALR parse,
and the cost of reporting many findings in each output format.

    python benchmarks/bench_lint.py [--states 10000 --transitions 30000] [--repeat 5]
                                    [--findings 2000,4000,8000,16000]

Prints, from one run, the best-of-N time of
  * Lark's bare LALR parse of the file with the same grammar (tree only,
    no positions, no transformer): the ceiling for any Lark-based front end;
  * wfdsl's ``load`` + all default lint rules (parse, AST, IR, validation,
    WF2xx/WF3xx, noqa);
and their ratio (target: ≤ 1.5×). wfdsl pauses Python's cyclic GC while it
parses (see ``wfdsl.frontend.source.analyze``); the bare parse is also shown with the GC
paused, so the gain from that alone is visible. Then the cold wall time of
``wfdsl lint`` on a small file in a fresh process (target: ≤ 0.3 s).

Then the report: a file with N findings (N/2 states, each unreachable and a
dead end), linted once, and its findings written in each of the four formats
(text, JSON, GitHub, SARIF) as ``wfdsl lint --format`` writes them, best of
N, beside the raw ceiling of ``json.dumps`` of the same fields; each format
should stay a small multiple of it at every N (linear, not quadratic:
issue 11 found text and SARIF taking 29.5 s at 16,000 findings).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lark import Lark

sys.path.insert(0, str(Path(__file__).parent))
from bench_compile import best
from gen_spec import generate

from wfdsl.frontend.parser import grammar_text
from wfdsl.lint.engine import lint_text
from wfdsl.lint.report import FORMATS, render

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--states", type=int, default=10_000)
    ap.add_argument("--transitions", type=int, default=30_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument(
        "--findings",
        default="2000,4000,8000,16000",
        help="comma-separated finding counts for the report table ('' to skip it)",
    )
    args = ap.parse_args()

    text = generate(args.states, args.transitions)
    bare = Lark(grammar_text(), parser="lalr", lexer="basic")
    t_bare = best(lambda: bare.parse(text), args.repeat)

    def bare_gc_paused() -> None:
        gc.disable()
        try:
            bare.parse(text)
        finally:
            gc.enable()

    t_bare_nogc = best(bare_gc_paused, args.repeat)
    findings = lint_text(text, "big.wf")
    t_ours = best(lambda: lint_text(text, "big.wf"), args.repeat)

    wfdsl = shutil.which("wfdsl") or str(Path(sys.executable).parent / "wfdsl")
    small = ROOT / "examples" / "order.wf"
    colds = []
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, TMPDIR=tmp)  # cold: no Lark grammar cache either, on run 1
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            subprocess.run([wfdsl, "lint", str(small)], env=env, capture_output=True, check=False)
            colds.append(time.perf_counter() - t0)

    size = len(text.encode()) / 1e6
    print(
        f"spec: {args.states} states, {args.transitions} transitions, {size:.1f} MB, {len(findings)} findings"
    )
    print(f"{'measure':<44}{'seconds':>10}{'ratio':>10}")
    print(f"{'Lark bare LALR parse (tree only)':<44}{t_bare:>10.3f}{1.0:>10.2f}")
    print(
        f"{'Lark bare LALR parse, GC paused as wfdsl does':<44}{t_bare_nogc:>10.3f}{t_bare_nogc / t_bare:>10.2f}"
    )
    print(f"{'wfdsl load + lint':<44}{t_ours:>10.3f}{t_ours / t_bare:>10.2f}   target <= 1.50")
    print(f"{'wfdsl load + lint vs GC-paused bare parse':<44}{'':>10}{t_ours / t_bare_nogc:>10.2f}")
    print(f"{'wfdsl lint examples/order.wf, cold, first':<44}{colds[0]:>10.3f}")
    print(
        f"{'wfdsl lint examples/order.wf, cold, best':<44}{min(colds):>10.3f}{'':>10}   target <= 0.30"
    )
    sizes = [int(n) for n in args.findings.split(",") if n.strip()]
    if sizes:
        report_table(sizes, args.repeat)


def many_findings(findings: int) -> str:
    """A workflow with ``findings`` findings: half as many states, each
    unreachable (WF201) and a dead end (WF202), spread over as many lines."""
    lines = ['workflow many "A workflow with a finding on every line" {']
    lines.append("    initial state start")
    lines.append("    final state done")
    lines.append("    event go")
    lines.append("    start -> done on go")
    lines += [
        f'    state orphan_{i:05d} "left over from the migration of batch {i}"'
        for i in range(findings // 2)
    ]
    lines.append("}")
    return "\n".join(lines) + "\n"


def report_table(sizes: list[int], repeat: int) -> None:
    """Seconds to write N findings in each format, against ``json.dumps``."""
    print()
    print("report of N findings, seconds (best of", repeat, "); ratio to json.dumps of the fields")
    header = f"{'findings':>9}{'lint':>9}{'json.dumps':>12}"
    for fmt in FORMATS:
        header += f"{fmt:>18}"
    print(header)
    for n in sizes:
        text = many_findings(n)
        t_lint = best(lambda text=text: lint_text(text, "many.wf"), 1)
        diags = lint_text(text, "many.wf")
        assert len(diags) == n, (len(diags), n)
        sources: dict[str, str | None] = {"many.wf": text}
        fields = [
            [d.path, d.line, d.column, d.end_line, d.end_column, d.code, d.message, d.hint]
            for d in diags
        ]
        t_raw = best(lambda fields=fields: json.dumps(fields), repeat)
        row = f"{n:>9,}{t_lint:>9.3f}{t_raw:>12.4f}"
        for fmt in FORMATS:
            t = best(
                lambda fmt=fmt, diags=diags, sources=sources: render(
                    fmt, diags, sources, 1, False, "bench"
                ),
                repeat,
            )
            row += f"{t:>10.3f} {t / t_raw:>6.1f}x"
        print(row)


if __name__ == "__main__":
    main()
