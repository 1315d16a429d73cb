"""Language server latency: how long an editor waits for ``wfdsl lsp``.

    python benchmarks/bench_lsp.py [--edits 40] [--big-edits 5] [--states 10000 --transitions 30000]

A real LSP client (pygls's) starts ``python -m wfdsl lsp`` over stdio, opens a
generated spec of 1,000 lines, a dense one of 1,000 lines (:func:`dense_spec`:
2.4 times the tokens, up to three sources, guards of up to three names and a
description on every other transition, every sixth one timed) and the
10,000-state spec of ``benchmarks/gen_spec.py``, and types into each: every edit is one
incremental ``didChange`` (a character added to or removed from a state's
description), timed until the server publishes the diagnostics for that
version. Beside it, in the same run, the raw ceiling: the linter itself
(parse, validate, lint) on the same text in-process, which the server must
run on every change. Requests (completion at the end of the file, hover,
document symbols) are timed on the 1,000-line file. Reports median, 90th
percentile and worst, in milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from gen_spec import generate as generate_spec
from lsprotocol import types
from pygls.lsp.client import LanguageClient

from wfdsl.lint.engine import lint_text

#: Target from SPEC §9: answers within 50 ms on a 1,000-line file.
TARGET_MS = 50.0


def spec_of_lines(lines: int) -> str:
    """A generated spec of exactly ``lines`` lines (hooks, guards, descriptions)."""
    states = max(lines // 5, 10)
    transitions = 1
    while True:
        text = generate_spec(states, max(transitions, states))
        count = text.count("\n")
        if count >= lines:
            return "\n".join([*text.split("\n")[: lines - 1], "}"]) + "\n"
        transitions += lines - count


def dense_spec(lines: int = 1000, seed: int = 16) -> str:
    """A dense spec of exactly ``lines`` lines: one line per state (some with
    hooks), events five to a line, then transitions from one to three
    sources with guards of one to three names, every other one described,
    every sixth one timed. About 2.4 times the tokens of :func:`spec_of_lines`."""
    rng = random.Random(seed)
    n_states, n_final, n_events = 150, 8, 40
    out = ['workflow dense "A dense workflow: many transitions per line-worth of states" {']
    for i in range(n_states):
        kw = "initial state" if i == 0 else ("final state" if i >= n_states - n_final else "state")
        body = (
            ""
            if i >= n_states - n_final or i % 3
            else f" {{ enter h{i % 37} compensate c{i % 19} }}"
        )
        out.append(f'    {kw} s{i} "State {i}"{body}')
    for j in range(0, n_events, 5):
        out.append("    event " + ", ".join(f"e{k}" for k in range(j, j + 5)))
    live = n_states - n_final
    n = 0
    guards = ["g{}", "g{} and not g{}", "g{} or g{}", "(g{} or g{}) and g{}"]
    while len(out) < lines - 1:
        n += 1
        srcs = sorted(rng.sample(range(live), rng.randint(1, 3)))
        target = rng.randrange(n_states)
        form = guards[n % len(guards)]
        guard = form.format(*(rng.randrange(60) for _ in range(form.count("{}"))))
        src = ", ".join(f"s{s}" for s in srcs)
        desc = f' "Move {n}"' if n % 2 else ""
        if n % 6 == 0:
            out.append(
                f"    {src} -> s{target} after {rng.randint(1, 9)}h{rng.randint(1, 59)}m if {guard}{desc}"
            )
        else:
            out.append(f"    {src} -> s{target} on e{rng.randrange(n_events)} if {guard}{desc}")
    out.append("}")
    return "\n".join(out) + "\n"


class Client:
    """A pygls client that waits for the diagnostics of a given version."""

    def __init__(self) -> None:
        self.lsp = LanguageClient("wfdsl-bench", "1")
        self.waiting: dict[tuple[str, int], asyncio.Future[list[types.Diagnostic]]] = {}

        @self.lsp.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def diagnostics(_: LanguageClient, params: types.PublishDiagnosticsParams) -> None:
            fut = self.waiting.pop((params.uri, params.version or 0), None)
            if fut is not None and not fut.done():
                fut.set_result(list(params.diagnostics))

    async def start(self) -> None:
        await self.lsp.start_io(sys.executable, "-m", "wfdsl", "lsp")
        await self.lsp.initialize_async(
            types.InitializeParams(capabilities=types.ClientCapabilities())
        )
        self.lsp.initialized(types.InitializedParams())

    def expect(self, uri: str, version: int) -> asyncio.Future[list[types.Diagnostic]]:
        fut: asyncio.Future[list[types.Diagnostic]] = asyncio.get_running_loop().create_future()
        self.waiting[(uri, version)] = fut
        return fut

    async def stop(self) -> None:
        await self.lsp.shutdown_async(None)
        self.lsp.exit(None)
        await self.lsp.stop()


async def timed(fn: Callable[[], Awaitable[Any]]) -> float:
    t0 = time.perf_counter()
    await fn()
    return (time.perf_counter() - t0) * 1000


async def type_into(client: Client, path: Path, text: str, edits: int) -> list[float]:
    """Open ``text`` and time ``edits`` incremental changes to diagnostics
    (typing in the description of state ``s5``)."""
    uri = path.as_uri()
    opened = client.expect(uri, 1)
    client.lsp.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "wf", 1, text))
    )
    await opened
    # The description of state s5: `    state s5 "State number 5" {` (or "State 5").
    lines = text.split("\n")
    line = next(i for i, s in enumerate(lines) if s.lstrip().startswith("state s5 "))
    col = lines[line].index('"', lines[line].index("s5 ")) + 1
    times = []
    for version in range(2, edits + 2):
        add = version % 2 == 0
        end = types.Position(line, col if add else col + 1)
        change = types.TextDocumentContentChangePartial(
            range=types.Range(types.Position(line, col), end), text="!" if add else ""
        )
        done = client.expect(uri, version)
        params = types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[change],
        )
        t0 = time.perf_counter()
        client.lsp.text_document_did_change(params)
        await done
        times.append((time.perf_counter() - t0) * 1000)
    return times


def in_process(text: str, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        lint_text(text, "bench.wf")
        out.append((time.perf_counter() - t0) * 1000)
    return out


def row(name: str, lines: int, ms: list[float], ceiling: float | None, target: str) -> str:
    ordered = sorted(ms)
    p50 = statistics.median(ordered)
    p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
    ratio = f"{p50 / ceiling:.2f}x" if ceiling else ""
    return (
        f"| {name} | {lines:,} | {p50:,.1f} | {p90:,.1f} | {ordered[-1]:,.1f} | "
        f"{ratio} | {target} |"
    )


async def main_async(args: argparse.Namespace) -> None:
    small = spec_of_lines(1000)
    dense = dense_spec(1000)
    big = generate_spec(args.states, args.transitions)
    client = Client()
    await client.start()
    rows = []
    with tempfile.TemporaryDirectory(prefix="wfdsl-bench-lsp-") as tmp:
        small_path, big_path = Path(tmp) / "thousand.wf", Path(tmp) / "big.wf"
        small_path.write_text(small, encoding="utf-8")
        big_path.write_text(big, encoding="utf-8")

        for name, text in (("", small), ("dense ", dense)):
            path = Path(tmp) / f"{name.strip() or 'thousand'}.wf"
            path.write_text(text, encoding="utf-8")
            lint_ms = in_process(text, args.edits)
            typed = await type_into(client, path, text, args.edits)
            rows.append(row(f"{name}lint in-process (raw ceiling)", 1000, lint_ms, None, ""))
            rows.append(
                row(
                    f"**{name}diagnostics after a change**",
                    1000,
                    typed,
                    statistics.median(lint_ms),
                    "≤ 50 ms",
                )
            )

        doc = types.TextDocumentIdentifier(small_path.as_uri())
        lines = small.split("\n")
        end = types.Position(len(lines) - 2, 0)
        state_use = next(i for i, s in enumerate(lines) if "-> s3 " in s)
        on_state = types.Position(state_use, lines[state_use].index("-> s3 ") + 3)
        requests = {
            "completion at the last line": lambda: client.lsp.text_document_completion_async(
                types.CompletionParams(doc, end)
            ),
            "hover on a state": lambda: client.lsp.text_document_hover_async(
                types.HoverParams(doc, on_state)
            ),
            "document symbols": lambda: client.lsp.text_document_document_symbol_async(
                types.DocumentSymbolParams(doc)
            ),
        }
        for name, request in requests.items():
            ms = [await timed(request) for _ in range(args.edits)]
            rows.append(row(name, 1000, ms, None, "≤ 50 ms"))

        big_lines = big.count("\n")
        lint_big = in_process(big, args.big_edits)
        typed_big = await type_into(client, big_path, big, args.big_edits)
        rows.append(row("lint in-process (raw ceiling)", big_lines, lint_big, None, ""))
        rows.append(
            row(
                "**diagnostics after a change**",
                big_lines,
                typed_big,
                statistics.median(lint_big),
                "",
            )
        )
    await client.stop()
    print(
        f"wfdsl lsp over stdio, pygls client; {args.edits} edits on each 1,000-line file, "
        f"{args.big_edits} on {args.states:,} states / {args.transitions:,} transitions"
    )
    print("| measure | lines | median ms | p90 ms | worst ms | vs lint in-process | target |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--edits", type=int, default=40)
    ap.add_argument("--big-edits", type=int, default=5)
    ap.add_argument("--states", type=int, default=10_000)
    ap.add_argument("--transitions", type=int, default=30_000)
    asyncio.run(main_async(ap.parse_args()))


if __name__ == "__main__":
    main()
