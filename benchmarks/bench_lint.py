"""Front-end speed: load + lint of a large spec against Lark's bare LALR parse.

    python benchmarks/bench_lint.py [--states 10000 --transitions 30000] [--repeat 5]

Prints, from one run, the best-of-N time of
  * Lark's bare LALR parse of the file with the same grammar (tree only,
    no positions, no transformer): the ceiling for any Lark-based front end;
  * wfdsl's ``load`` + all default lint rules (parse, AST, IR, validation,
    WF2xx/WF3xx, noqa);
and their ratio (target: ≤ 1.5×). wfdsl pauses Python's cyclic GC while it
parses (see ``wfdsl.frontend.source.analyze``); the bare parse is also shown with the GC
paused, so the gain from that alone is visible. Then the cold wall time of
``wfdsl lint`` on a small file in a fresh process (target: ≤ 0.3 s).
"""

from __future__ import annotations

import argparse
import gc
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

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--states", type=int, default=10_000)
    ap.add_argument("--transitions", type=int, default=30_000)
    ap.add_argument("--repeat", type=int, default=5)
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


if __name__ == "__main__":
    main()
