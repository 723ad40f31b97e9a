"""The ``em-plugin`` command: what the converter supports (and, later, batch work).

The conversion itself is pynxtools' ``dataconverter --reader em_plugin``; this
command adds what a facility needs around it.
"""

from __future__ import annotations

import click

from .formats import formats_table


@click.group()
def main() -> None:
    """pynxtools-em-plugin: electron-microscopy vendor files to NXem."""


@main.command("formats")
def list_formats() -> None:
    """List the supported vendor formats (recognised by content, not by extension)."""
    rows = [("reader module", "format", "usual extensions"), *formats_table()]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    for name, title, extensions in rows:
        click.echo(f"{name:<{widths[0]}}  {title:<{widths[1]}}  {extensions}")


if __name__ == "__main__":
    main()
