"""Compile throughput: a large generated spec to its typed Python module.

    python benchmarks/bench_compile.py [--states 10000 --transitions 30000] [--repeat 3]

Prints, from one run, best-of-N times for loading the spec (parse + validate),
generating the module from the loaded spec, and the two together (what
``wfdsl compile`` does), as states and transitions per second.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from gen_spec import generate as generate_spec

from wfdsl import loads
from wfdsl.codegen import generate


def best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--states", type=int, default=10_000)
    ap.add_argument("--transitions", type=int, default=30_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    text = generate_spec(args.states, args.transitions)
    digest = hashlib.sha256(text.encode()).hexdigest()
    spec = loads(text, "big.wf")
    module = generate(spec, source="big.wf", sha256=digest)

    t_load = best(lambda: loads(text, "big.wf"), args.repeat)
    t_gen = best(lambda: generate(spec, source="big.wf", sha256=digest), args.repeat)
    t_all = best(
        lambda: generate(loads(text, "big.wf"), source="big.wf", sha256=digest), args.repeat
    )
    size = len(module.encode()) / 1e6
    print(
        f"spec: {args.states} states, {args.transitions} transitions; "
        f"module: {size:.1f} MB, {module.count(chr(10))} lines"
    )
    print(f"{'stage':<32}{'seconds':>10}{'states/s':>12}{'transitions/s':>16}")
    for name, t in (
        ("load (parse + validate)", t_load),
        ("generate module", t_gen),
        ("compile (both)", t_all),
    ):
        print(f"{name:<32}{t:>10.3f}{args.states / t:>12,.0f}{args.transitions / t:>16,.0f}")


if __name__ == "__main__":
    main()
