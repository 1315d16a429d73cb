"""The preview page: a diagram beside the lint findings, refreshed in place.

The page is static; its script polls ``/state`` (JSON: a version, the SVG and
the findings) and swaps the diagram and the list when the version changes, so
the page never reloads. Findings are inserted as text nodes and the SVG is
parsed as XML with scripts and event handlers dropped, so nothing from a
``.wf`` file can run in the page.
"""

from __future__ import annotations

from html import escape

#: The page shrinks a diagram to the window only down to this fraction of its size.
MIN_SCALE = 0.6

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} \u2014 wfdsl preview</title>
<style>
  :root {{ --ink: #2d3748; --muted: #718096; --line: #e2e8f0; }}
  * {{ box-sizing: border-box; }}
  body {{ margin: 0; font: 14px/1.45 Helvetica, Arial, sans-serif; color: var(--ink);
         display: grid; grid-template-columns: minmax(0, 1fr) 24rem;
         grid-template-rows: auto minmax(0, 1fr); height: 100vh; }}
  header {{ grid-column: 1 / -1; padding: .6rem 1rem; border-bottom: 1px solid var(--line);
           display: flex; gap: 1rem; align-items: baseline; }}
  header h1 {{ font-size: 1rem; margin: 0; }}
  #status {{ color: var(--muted); font-size: .85rem; }}
  #status.stale {{ color: #c05621; }}
  main {{ overflow: auto; padding: 1rem; }}
  #diagram svg {{ display: block; }}
  #diagram.fit svg {{ max-width: 100%; height: auto; }}
  header button {{ margin-left: auto; font: inherit; font-size: .85rem; }}
  aside {{ border-left: 1px solid var(--line); overflow: auto; padding: 1rem; }}
  aside h2 {{ font-size: .9rem; margin: 0 0 .5rem; }}
  ol {{ list-style: none; padding: 0; margin: 0; }}
  li {{ padding: .4rem .5rem; margin-bottom: .4rem; border-radius: 4px; background: #f7fafc;
        border-left: 3px solid #d69e2e; font-size: .85rem; }}
  li.error {{ border-left-color: #e53e3e; }}
  li .where {{ color: var(--muted); font-family: monospace; }}
  li .hint {{ color: var(--muted); display: block; }}
  #clean {{ color: #2f855a; }}
</style>
</head>
<body data-path="{path}">
<header><h1>{title}</h1><span id="status">loading\u2026</span>
<button id="fit" type="button" aria-pressed="false">Fit to window</button></header>
<main><div id="diagram"></div></main>
<aside><h2>Lint findings</h2><p id="clean" hidden>No findings.</p><ol id="findings"></ol></aside>
<script>
"use strict";
let version = null;

function cleanSvg(text) {{
  const doc = new DOMParser().parseFromString(text, "image/svg+xml");
  const svg = doc.documentElement;
  if (svg.nodeName !== "svg") return null;
  for (const bad of svg.querySelectorAll("script, foreignObject")) bad.remove();
  for (const el of svg.querySelectorAll("*")) {{
    for (const attr of Array.from(el.attributes)) {{
      const value = attr.value.trim().toLowerCase();
      if (attr.name.toLowerCase().startsWith("on") || value.startsWith("javascript:")) {{
        el.removeAttribute(attr.name);
      }}
    }}
  }}
  return document.importNode(svg, true);
}}

function showFindings(findings) {{
  const list = document.getElementById("findings");
  list.replaceChildren();
  for (const f of findings) {{
    const item = document.createElement("li");
    item.className = f.severity;
    const where = document.createElement("span");
    where.className = "where";
    where.textContent = f.line + ":" + f.column + " " + f.code + " ";
    item.append(where, document.createTextNode(f.message));
    if (f.hint) {{
      const hint = document.createElement("span");
      hint.className = "hint";
      hint.textContent = f.hint;
      item.append(hint);
    }}
    list.append(item);
  }}
  document.getElementById("clean").hidden = findings.length > 0;
}}

async function poll() {{
  try {{
    const response = await fetch("state", {{ cache: "no-store" }});
    const state = await response.json();
    if (state.version !== version) {{
      version = state.version;
      if (state.svg !== null) {{
        const svg = cleanSvg(state.svg);
        if (svg) {{
          document.getElementById("diagram").replaceChildren(svg);
          applyFit();
        }}
      }}
      showFindings(state.findings);
      const status = document.getElementById("status");
      status.textContent = state.message;
      status.className = state.stale ? "stale" : "";
      document.body.dataset.version = version;
    }}
  }} catch (err) {{
    document.getElementById("status").textContent = "server stopped (" + err + ")";
  }}
  setTimeout(poll, {interval});
}}
// A diagram is shrunk to the window only while its text stays readable (to
// {min_scale} of its size or more); a wider one scrolls. The button overrides.
let fitChoice = null;

function applyFit() {{
  const diagram = document.getElementById("diagram");
  const svg = diagram.querySelector("svg");
  let fit = fitChoice;
  if (fit === null && svg) {{
    diagram.classList.remove("fit");
    const natural = svg.getBoundingClientRect().width;
    fit = natural > 0 && diagram.clientWidth / natural >= {min_scale};
  }}
  diagram.classList.toggle("fit", Boolean(fit));
  document.getElementById("fit").setAttribute("aria-pressed", String(Boolean(fit)));
}}

document.getElementById("fit").addEventListener("click", () => {{
  fitChoice = !document.getElementById("diagram").classList.contains("fit");
  applyFit();
}});
window.addEventListener("resize", applyFit);
poll();
</script>
</body>
</html>
"""


def preview_page(title: str, path: str, *, interval_ms: int = 400) -> str:
    """The preview page for the workflow file ``path``."""
    return _PAGE.format(
        title=escape(title), path=escape(path), interval=int(interval_ms), min_scale=MIN_SCALE
    )
