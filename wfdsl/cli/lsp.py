"""``wfdsl lsp``: the language server, on stdio."""

from __future__ import annotations

import click

from wfdsl.cli.common import UserError


@click.command()
@click.option(
    "--stdio",
    is_flag=True,
    help="Talk over standard input and output (the default and only transport; "
    "accepted because editors' LSP clients pass it).",
)
def lsp(stdio: bool) -> None:
    """Run the wfdsl language server on stdin/stdout for an editor: diagnostics
    as you type, hover, go to definition, references, rename, completion,
    formatting and quick fixes. Needs the `lsp` extra."""
    from wfdsl.lsp import INSTALL_HINT

    try:
        from wfdsl.lsp.server import serve
    except ImportError as exc:
        missing = (exc.name or "").partition(".")[0]
        if missing not in ("pygls", "lsprotocol", "cattrs", "attrs"):
            raise
        raise UserError(f"wfdsl lsp needs pygls ({missing} is missing): {INSTALL_HINT}") from None
    serve()
