"""Every benchmark, one after another, each printing its table.

    python benchmarks/run_all.py [--quick]

Runs, in one process tree on one machine so the figures compare:
front end (load + lint against Lark's bare parse, CLI start-up), compile
throughput, the language server (diagnostics latency against the linter
in-process), runtime (durable SQLite send against raw sqlite3, in-memory send
against python-statemachine and transitions, resume), PostgreSQL (against
raw psycopg, 1 and 4 workers, resume) when ``WFDSL_PG_DSN`` is set, and timers
(fired per second against the raw transaction, next due and firing one with
1,000 and 1,000,000 armed, a worker's memory; on PostgreSQL too when set),
costs against the store's size (idle ``resume()`` with 1,000 to 100,000
instances, a send owing a hook with 3 and 10,000 transitions of history; on
PostgreSQL too when set) and batches (``send_many`` of 8 against one by one
and the raw batched transaction, 1 against 8 threads; on PostgreSQL too when
set). Benchmarks share the machine's cores: run this on a quiet machine.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="smaller sizes, fewer rounds")
    args = ap.parse_args()
    quick = {
        "bench_lint.py": ["--states", "2000", "--transitions", "6000", "--repeat", "2"],
        "bench_compile.py": ["--states", "2000", "--transitions", "6000", "--repeat", "1"],
        "bench_lsp.py": [
            "--edits",
            "10",
            "--big-edits",
            "2",
            "--states",
            "2000",
            "--transitions",
            "6000",
        ],
        "bench_runtime.py": [
            "--sends",
            "100",
            "--normal-sends",
            "1000",
            "--rounds",
            "3",
            "--instances",
            "200",
        ],
        "bench_postgres.py": [
            "--sends",
            "100",
            "--rounds",
            "3",
            "--seconds",
            "2",
            "--instances",
            "1000",
        ],
        "bench_timers.py": [
            "--timers",
            "200",
            "--rounds",
            "2",
            "--warm",
            "2000",
            "--large",
            "20000",
        ],
        "bench_scale.py": ["--sizes", "1000,10000", "--calls", "50", "--rounds", "7"],
        "bench_batch.py": ["--rounds", "3", "--steps", "20", "--warm", "1000", "--seconds", "1"],
    }
    runs = ["bench_lint.py", "bench_compile.py", "bench_lsp.py", "bench_runtime.py"]
    if os.environ.get("WFDSL_PG_DSN"):
        runs.append("bench_postgres.py")
    else:
        print("(PostgreSQL benchmark skipped: set WFDSL_PG_DSN=postgresql://user@host:5432/db)\n")
    runs.append("bench_timers.py")  # on PostgreSQL too when WFDSL_PG_DSN is set
    runs.append("bench_scale.py")  # likewise
    runs.append("bench_batch.py")  # likewise
    failed = 0
    for script in runs:
        print(f"=== {script} ===", flush=True)
        extra = quick[script] if args.quick else []
        failed |= subprocess.call([sys.executable, str(HERE / script), *extra])
        print(flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
