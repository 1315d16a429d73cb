"""Regenerate ``docs/images/editor.png``: a ``.wf`` file as an editor shows it.

    WFDSL_TEXTMATE_NODE_MODULES=/tmp/wfdsl-textmate/node_modules \\
        .venv/bin/python editors/screenshot.py [-o docs/images/editor.png]

Nothing in the picture is drawn by hand: the colours are the TextMate grammar's
scopes for each token (tokenised by vscode-textmate, as VS Code does), the
squiggles, the problems list and the hover are what ``wfdsl lsp`` answers a
real LSP client (pygls's) for ``examples/order.wf`` with a typo typed into it.
The page is rendered by headless Chromium.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

ROOT = Path(__file__).resolve().parent.parent
GRAMMAR = ROOT / "editors" / "vscode" / "syntaxes" / "wf.tmLanguage.json"
TOKENIZE = ROOT / "editors" / "test" / "tokenize.js"
EXAMPLE = ROOT / "examples" / "order.wf"
#: The edit shown: a typo in a transition's target, as someone might type it.
TYPO = ("packed -> shipped on ship", "packed -> shiped on ship")
HOVER_ON = "-> paid on pay"

#: Scope (most specific first) -> colour, after VS Code's Dark+ theme.
COLOURS = [
    ("comment", "#6a9955"),
    ("constant.character.escape", "#d7ba7d"),
    ("string", "#ce9178"),
    ("invalid", "#f44747"),
    ("constant.numeric", "#b5cea8"),
    ("entity.name.type.state", "#4ec9b0"),
    ("variable.other.constant.event", "#4fc1ff"),
    ("entity.name.function", "#dcdcaa"),
    ("entity.name.namespace", "#4ec9b0"),
    ("keyword.operator", "#d4d4d4"),
    ("keyword.control", "#c586c0"),
    ("storage.modifier", "#569cd6"),
    ("keyword", "#569cd6"),
]


def colour(scopes: list[str]) -> str:
    for prefix, value in COLOURS:
        if any(s.startswith(prefix) for s in scopes):
            return value
    return "#d4d4d4"


def tokenize(path: Path) -> list[list[object]]:
    modules = os.environ.get("WFDSL_TEXTMATE_NODE_MODULES", str(ROOT / "editors" / "node_modules"))
    done = subprocess.run(
        ["node", str(TOKENIZE), str(GRAMMAR), str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "NODE_PATH": modules},
        check=True,
    )
    tokens: list[list[object]] = json.loads(done.stdout)[str(path)]
    return tokens


async def ask_server(
    path: Path, text: str
) -> tuple[list[types.Diagnostic], types.Hover | None, types.Position]:
    client = LanguageClient("wfdsl-screenshot", "1")
    published: asyncio.Future[list[types.Diagnostic]] = asyncio.get_running_loop().create_future()

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def diagnostics(_: LanguageClient, params: types.PublishDiagnosticsParams) -> None:
        if not published.done():
            published.set_result(list(params.diagnostics))

    await client.start_io(sys.executable, "-m", "wfdsl", "lsp")
    await client.initialize_async(types.InitializeParams(capabilities=types.ClientCapabilities()))
    client.initialized(types.InitializedParams())
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "wf", 1, text))
    )
    found = await asyncio.wait_for(published, 60)
    line = next(i for i, s in enumerate(text.split("\n")) if HOVER_ON in s)
    where = types.Position(line, text.split("\n")[line].index(HOVER_ON) + 4)
    hover = await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(uri), where)
    )
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return found, hover, where


def _utf16_to_index(line: str, units: int) -> int:
    count = 0
    for i, ch in enumerate(line):
        if count >= units:
            return i
        count += 2 if ord(ch) > 0xFFFF else 1
    return len(line)


def markdown_to_html(value: str) -> str:
    """The hover's Markdown (paragraphs, `code`, ```wf blocks```) as HTML."""
    out = []
    for block in value.split("\n\n"):
        if "\n```wf\n" in block:
            title, _, code = block.partition("\n```wf\n")
            out.append(
                f"<p>{html.escape(title)}</p><pre>{html.escape(code.removesuffix('```').strip())}</pre>"
            )
        else:
            parts = html.escape(block).split("`")
            out.append(
                "<p>"
                + "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))
                + "</p>"
            )
    return "".join(out)


def page(
    text: str,
    tokens: list[list[object]],
    diags: list[types.Diagnostic],
    hover: types.Hover | None,
    hover_at: types.Position,
) -> str:
    lines = text.rstrip("\n").split("\n")
    squiggles: dict[int, list[tuple[int, int, str]]] = {}
    for d in diags:
        kind = "error" if d.severity == types.DiagnosticSeverity.Error else "warning"
        squiggles.setdefault(d.range.start.line, []).append(
            (d.range.start.character, d.range.end.character, kind)
        )
    by_line: dict[int, list[list[object]]] = {}
    for tok in tokens:
        by_line.setdefault(int(str(tok[0])), []).append(tok)
    rows = []
    for number, line in enumerate(lines):
        cells = []
        pos = 0
        for tok in by_line.get(number, []):
            start = _utf16_to_index(line, int(str(tok[1])))
            end = _utf16_to_index(line, int(str(tok[2])))
            cells.append(html.escape(line[pos:start]))
            classes = [
                kind
                for s, e, kind in squiggles.get(number, [])
                if _utf16_to_index(line, s) <= start and end <= _utf16_to_index(line, e)
            ]
            scopes = [str(s) for s in tok[4]]  # type: ignore[union-attr]
            cells.append(
                f'<span class="{" ".join(classes)}" style="color:{colour(scopes)}">'
                f"{html.escape(line[start:end])}</span>"
            )
            pos = end
        cells.append(html.escape(line[pos:]))
        anchor = ""
        if hover is not None and number == hover_at.line:
            assert isinstance(hover.contents, types.MarkupContent)
            left = 66 + 8.43 * hover_at.character
            anchor = (
                f'<div class="hover" style="left:{left:.0f}px">'
                f"{markdown_to_html(hover.contents.value)}</div>"
            )
        rows.append(
            f'<div class="line"><span class="gutter">{number + 1}</span>'
            f'<span class="code">{"".join(cells)}</span>{anchor}</div>'
        )
    problems = "".join(
        f'<li><span class="{"error" if d.severity == types.DiagnosticSeverity.Error else "warning"}-icon">'
        f"{'✖' if d.severity == types.DiagnosticSeverity.Error else '⚠'}</span> "
        f'{html.escape(d.message)} <span class="code-ref">wfdsl({html.escape(str(d.code))})'
        f" [Ln {d.range.start.line + 1}, Col {d.range.start.character + 1}]</span></li>"
        for d in diags
    )
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><style>
body {{ margin:0; background:#1e1e1e; color:#d4d4d4; font: 14px/20px "DejaVu Sans Mono", monospace; }}
.tab {{ background:#252526; color:#ccc; padding:6px 16px; font-family: "DejaVu Sans", sans-serif; font-size:13px; }}
.tab b {{ color:#fff; font-weight:normal; border-bottom:1px solid #0078d4; padding-bottom:4px; }}
.editor {{ padding:8px 0; }}
.line {{ position:relative; white-space:pre; height:20px; }}
.gutter {{ display:inline-block; width:48px; text-align:right; padding-right:18px; color:#858585; }}
.error {{ text-decoration: underline wavy #f14c4c; text-underline-offset:3px; }}
.warning {{ text-decoration: underline wavy #cca700; text-underline-offset:3px; }}
.hover {{ position:absolute; bottom:22px; z-index:2; width:560px; white-space:normal;
  background:#252526; border:1px solid #454545; padding:4px 12px; box-shadow:0 2px 8px #000a;
  font-family:"DejaVu Sans", sans-serif; font-size:13px; line-height:18px; }}
.hover code {{ font-family:"DejaVu Sans Mono", monospace; color:#4ec9b0; }}
.hover pre {{ margin:4px 0 8px; background:#1e1e1e; padding:4px 8px; font-size:12.5px; }}
.panel {{ border-top:1px solid #414141; background:#1e1e1e; padding:6px 16px 10px;
  font-family:"DejaVu Sans", sans-serif; font-size:13px; }}
.panel h3 {{ font-size:11px; letter-spacing:1px; color:#e7e7e7; margin:4px 0 6px; font-weight:normal; }}
.panel ul {{ list-style:none; margin:0; padding:0; }} .panel li {{ padding:2px 0; }}
.error-icon {{ color:#f14c4c; }} .warning-icon {{ color:#cca700; }} .code-ref {{ color:#8b8b8b; }}
</style></head><body><div class="tab"><b>order.wf</b></div>
<div class="editor">{"".join(rows)}</div>
<div class="panel"><h3>PROBLEMS</h3><ul>{problems}</ul></div></body></html>"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-o", "--output", type=Path, default=ROOT / "docs" / "images" / "editor.png")
    args = ap.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("editors/screenshot.py: needs Chromium (apt-get install chromium)")
    text = EXAMPLE.read_text(encoding="utf-8").replace(*TYPO)
    with tempfile.TemporaryDirectory(prefix="wfdsl-screenshot-") as tmp:
        source = Path(tmp) / "order.wf"
        source.write_text(text, encoding="utf-8")
        diags, hover, where = asyncio.run(ask_server(source, text))
        html_path = Path(tmp) / "editor.html"
        html_path.write_text(page(text, tokenize(source), diags, hover, where), encoding="utf-8")
        height = 20 * text.count("\n") + 60 + 24 * len(diags) + 50
        subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                f"--user-data-dir={tmp}/profile",
                f"--window-size=1000,{height}",
                f"--screenshot={args.output.resolve()}",
                html_path.as_uri(),
            ],
            check=True,
            capture_output=True,
        )
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
