"""``wfdsl preview``: serve a page that redraws FILE whenever it is saved."""

from __future__ import annotations

import os
import stat

import click

from wfdsl.cli.common import UserError
from wfdsl.cli.render import detail_option


@click.command()
@click.argument("file", metavar="FILE")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="Port on 127.0.0.1 (0 picks a free one).",
)
@detail_option
@click.option("--open", "open_browser", is_flag=True, help="Open the page in a web browser.")
def preview(file: str, port: int, detail: int, open_browser: bool) -> None:
    """Serve a local page with FILE's diagram and lint findings, redrawn
    whenever the file is saved (the page updates itself; no reload needed).
    Stop with Ctrl-C."""
    from wfdsl.frontend.source import file_kind
    from wfdsl.preview.server import Previewer, PreviewServer
    from wfdsl.render import Detail

    try:
        mode = os.stat(file).st_mode
    except FileNotFoundError:
        raise UserError(f"{file}: no such file") from None
    except OSError as exc:
        raise UserError(f"{file}: cannot read: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        raise UserError(f"{file}: is {file_kind(mode)}; give a .wf file")
    try:
        server = PreviewServer(Previewer(file, Detail(detail)), port)
    except OSError as exc:
        raise UserError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}") from None
    click.echo(f"wfdsl preview: serving {file} at {server.url} (Ctrl-C to stop)", err=True)
    if open_browser:
        import webbrowser

        webbrowser.open(server.url)
    try:
        server.serve_forever(poll_interval=0.25)
    except KeyboardInterrupt:
        click.echo("wfdsl preview: stopped", err=True)
    finally:
        server.server_close()
