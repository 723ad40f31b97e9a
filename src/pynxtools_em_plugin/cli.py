"""The ``em-plugin`` command: what the converter supports (and, later, batch work).

The conversion itself is pynxtools' ``dataconverter --reader em_plugin``; this
command adds what a facility needs around it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

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


@main.command("convert")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "-o",
    "--output-dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the .nxs files go.",
)
@click.option("-j", "--jobs", default=1, show_default=True, help="Worker processes (0: one per CPU).")
@click.option("--overwrite", is_flag=True, help="Replace existing outputs (default: skip them).")
@click.option("--strict", is_flag=True, help="A file whose NeXus data do not validate counts as failed.")
@click.option("-c", "--config", "config_file", type=click.Path(exists=True, dir_okay=False), help="User mapping table.")
@click.option(
    "--eln", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="ELN/metadata YAML for every file."
)
@click.option("-v", "--verbose", is_flag=True, help="Print each file's warnings too.")
def convert_many(inputs, output_dir, jobs, overwrite, strict, config_file, eln, verbose) -> None:
    """Convert files and folders (walked recursively) into one NXem file per acquisition.

    Related files are grouped (.emi with its .ser, .mib with .hdr, .mrc with _info.txt, .ASW with its
    folder); a bad file is reported and skipped; existing outputs are skipped unless --overwrite.
    """
    from .batch import Options, plan, run
    from .progress import Progress

    started = time.perf_counter()
    batch = plan(list(inputs), output_dir)
    for path, reason in batch.rejected:
        click.echo(f"FAILED  {path}: {reason}")
    options = Options(overwrite, strict, config_file, (eln,) if eln else ())
    workers = jobs if jobs > 0 else (os.cpu_count() or 1)
    counts = {"converted": 0, "exists": 0, "failed": len(batch.rejected)}
    total = len(batch.jobs)
    progress = Progress(total)
    for done, outcome in enumerate(run(batch.jobs, options, workers), start=1):
        counts[outcome.status] += 1
        progress.advance()
        progress.line(_status_line(done, total, outcome))
        if verbose:
            for message in dict.fromkeys(outcome.warnings):
                progress.line(f"        warning: {message}")
    progress.close()
    click.echo(
        f"{counts['converted']} converted, {counts['exists']} skipped (output exists), {counts['failed']} failed, "
        f"{len(batch.ignored)} other files ignored; {time.perf_counter() - started:.1f} s"
    )
    if counts["failed"]:
        raise SystemExit(1)


def _status_line(done: int, total: int, outcome) -> str:
    width = len(str(total))
    label = {"converted": "OK", "exists": "SKIPPED", "failed": "FAILED"}[outcome.status]
    text = f"[{done:>{width}}/{total}] {label:<7} {outcome.job.main}"
    if outcome.status == "converted":
        return f"{text} -> {outcome.message} ({outcome.seconds:.1f} s, {len(outcome.warnings)} warnings)"
    return f"{text}: {outcome.message.removeprefix(f'{outcome.job.main}: ')}"  # the line names the file once


if __name__ == "__main__":
    main()
