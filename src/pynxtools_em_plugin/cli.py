"""The ``em-plugin`` command: supported formats, batch conversion, session records.

The conversion itself is pynxtools' ``dataconverter --reader em_plugin``; this
command adds what a facility needs around it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
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


def provenance_options(command):
    """The privacy options, the same for every command that writes NeXus files."""
    command = click.option("--absolute-paths", is_flag=True, help="Record inputs by absolute path, not base name.")(
        command
    )
    return click.option("--anonymize", is_flag=True, help="Drop operator names the vendor files record.")(command)


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
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    help="Convert on a running Dask cluster (e.g. tcp://host:8786) whose workers see the same files.",
)
@click.option("--overwrite", is_flag=True, help="Convert everything again (default: only what changed).")
@click.option("--dry-run", is_flag=True, help="List what would be converted and why; convert nothing.")
@click.option(
    "--checksums",
    is_flag=True,
    help="Hash every input, also those not modified since their conversion (e.g. restored with old times).",
)
@click.option("--strict", is_flag=True, help="A file whose NeXus data do not validate counts as failed.")
@click.option("-c", "--config", "config_file", type=click.Path(exists=True, dir_okay=False), help="User mapping table.")
@click.option(
    "--eln", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="ELN/metadata YAML for every file."
)
@provenance_options
@click.option("-v", "--verbose", is_flag=True, help="Print each file's warnings too.")
def convert_many(
    inputs,
    output_dir,
    jobs,
    scheduler,
    overwrite,
    dry_run,
    checksums,
    strict,
    config_file,
    eln,
    anonymize,
    absolute_paths,
    verbose,
) -> None:
    """Convert files and folders (walked recursively) into one NXem file per acquisition.

    Related files are grouped (.emi with its .ser, .mib with .hdr, .mrc with _info.txt, .ASW with its
    folder); a bad file is reported and skipped. Re-runs are incremental: an output is converted again
    only if its inputs, the converter's version or a mapping table changed (the output records them).
    """
    from .batch import plan
    from .conversion import ConversionSettings

    started = time.perf_counter()
    batch = plan(list(inputs), output_dir)
    for path, reason in batch.rejected:
        click.echo(f"FAILED  {path}: {reason}")
    settings = ConversionSettings(overwrite, strict, config_file, anonymize=anonymize, absolute_paths=absolute_paths)
    extra = (eln,) if eln else ()
    if dry_run:
        _dry_run(batch, settings, extra, checksums)
        return
    workers = jobs if jobs > 0 else (os.cpu_count() or 1)
    counts = convert_jobs(batch.jobs, settings, extra, workers, scheduler, verbose, checksums)
    counts["failed"] += len(batch.rejected)
    click.echo(f"{summary(counts, len(batch.ignored))}; {time.perf_counter() - started:.1f} s")
    if counts["failed"]:
        raise SystemExit(1)


def convert_jobs(
    jobs, settings, extra_inputs, workers: int, scheduler: str | None, verbose: bool, always_hash: bool = False
) -> dict[str, int]:
    """Convert what is not up to date, one status line per acquisition under a progress bar; the counts
    per status."""
    from .batch import run, triage
    from .cluster import SchedulerUnreachable
    from .progress import Progress

    pending, current = triage(jobs, settings, extra_inputs, always_hash)
    counts = dict.fromkeys(_STATUS, 0)
    progress = Progress(len(jobs))
    outcomes = run(pending, settings, workers, extra_inputs, scheduler)
    try:
        for done, outcome in enumerate(_chained(current, outcomes), start=1):
            counts[outcome.status] += 1
            progress.advance()
            progress.line(_status_line(done, len(jobs), outcome))
            _echo_warnings(outcome, verbose, progress.line)
    except SchedulerUnreachable as exc:
        progress.close()
        raise click.ClickException(str(exc)) from exc
    progress.close()
    return counts


def _chained(first, then):
    yield from first
    yield from then


def summary(counts: dict[str, int], ignored: int) -> str:
    return (
        f"{counts['converted']} converted, {counts['up_to_date']} up to date, "
        f"{counts['exists']} skipped (output exists), {counts['failed']} failed, {ignored} other files ignored"
    )


def _dry_run(batch, settings, extra_inputs, always_hash: bool) -> None:
    """What a run would convert and why, and what is up to date."""
    from .batch import triage

    pending, current = triage(batch.jobs, settings, extra_inputs, always_hash)
    for job in pending:
        click.echo(f"CONVERT {job.main} -> {job.output}: {'; '.join(job.reasons)}")
    for outcome in current:
        click.echo(f"CURRENT {outcome.main} -> {outcome.output}")
    click.echo(f"{len(pending)} to convert, {len(current)} up to date (dry run: nothing written)")


@main.command("session")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The .nxs file.")
@click.option(
    "--gap",
    type=click.FloatRange(min=0, min_open=True),
    help="Seconds without acquisition that start a new activity  [default: $EM_PLUGIN_SESSION_GAP, else 300]",
)
@click.option(
    "--name",
    help="The session's name, the record's title  [default: the ELN YAML's session: {name: ...}, else the folder name]",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing output.")
@click.option("-c", "--config", "config_file", type=click.Path(exists=True, dir_okay=False), help="User mapping table.")
@provenance_options
@click.option(
    "--html",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the record as one offline HTML page (gallery, settings, vendor metadata).",
)
@click.option("-v", "--verbose", is_flag=True, help="Print the warnings too.")
def session_record(folder, output, gap, name, overwrite, config_file, anonymize, absolute_paths, html, verbose) -> None:
    """Convert every EM file below FOLDER into one NXem session record.

    Events are ordered by acquisition time and grouped into activities at pauses longer than --gap;
    each event is labelled with its technique and gets a small preview; an ELN YAML in the folder is used too.
    A file that cannot be read is reported and left out; the exit code is then 1, the record is still written.
    """
    from .batch import plan
    from .conversion import ConversionSettings, convert
    from .eln import is_eln_file

    started = time.perf_counter()
    gap = _session_gap(gap)
    batch = plan([folder], output.parent)
    for path, reason in batch.rejected:
        click.echo(f"FAILED  {path}: {reason}")
    if not batch.jobs:
        raise click.ClickException(f"no electron-microscopy file found in {folder}")
    inputs = [path for job in batch.jobs for path in job.inputs]
    eln = [p for p in batch.ignored if is_eln_file(p)]
    name = name or _session_name(eln, folder)
    settings = ConversionSettings(
        overwrite,
        False,
        config_file,
        session_gap=gap,
        session_name=name,
        anonymize=anonymize,
        absolute_paths=absolute_paths,
    )
    outcome = convert([*inputs, *eln], output, settings)
    click.echo(f"{_STATUS[outcome.status]:<7} {folder} -> {outcome.message} (session '{name}')")
    _echo_warnings(outcome, verbose)
    click.echo(
        f"{len(batch.jobs)} files in one record, {len(batch.rejected)} failed, {len(outcome.warnings)} warnings; "
        f"{time.perf_counter() - started:.1f} s"
    )
    if html is not None and outcome.status != "failed":
        _write_page(output, html)
    if outcome.status == "failed" or batch.rejected:  # a script must see a file left out, as for `convert`
        raise SystemExit(1)


@main.command("view")
@click.argument("nexus_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--html", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The HTML page to write.")
def view(nexus_file, html) -> None:
    """Write one offline HTML page of an NXem file: summary, activities, preview gallery, settings, inputs."""
    _write_page(nexus_file, html)


def _write_page(nexus_file: Path, html: Path) -> None:
    from .page import write_page

    try:
        write_page(nexus_file, html)
    except (OSError, KeyError) as exc:  # not HDF5, or not an NXem file of this converter
        detail = f"no {exc.args[0]}" if isinstance(exc, KeyError) else str(exc)
        raise click.ClickException(f"{nexus_file}: not a readable NXem record ({detail})") from None
    click.echo(f"page    {html}")


@main.command("watch")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "-o", "--output-dir", required=True, type=click.Path(file_okay=False, path_type=Path), help="Where the .nxs go."
)
@click.option(
    "--settle",
    type=click.FloatRange(min=0),
    default=10.0,
    show_default=True,
    help="Seconds a file must stay unchanged to count as completely written.",
)
@click.option(
    "--session-gap",
    type=click.FloatRange(min=0, min_open=True),
    help="Also write a session record (OUT/sessions/) once no acquisition came for this many seconds.",
)
@click.option("--poll", type=click.FloatRange(min=0), default=2.0, show_default=True, help="Seconds between looks.")
@click.option("--once", is_flag=True, help="Look once, convert what is complete, and stop.")
@click.option("-j", "--jobs", default=1, show_default=True, help="Worker processes.")
@click.option("-c", "--config", "config_file", type=click.Path(exists=True, dir_okay=False), help="User mapping table.")
@provenance_options
@click.option("-v", "--verbose", is_flag=True, help="Print each file's warnings too.")
def watch_folder(
    folder, output_dir, settle, session_gap, poll, once, jobs, config_file, anonymize, absolute_paths, verbose
) -> None:
    """Convert each acquisition appearing below FOLDER once it is completely written (until Ctrl-C).

    Restarting converts nothing twice (the outputs record their inputs); a companion arriving late
    (a .hdr after its .mib) makes its acquisition convert again.
    """
    from .conversion import ConversionSettings
    from .watch import Watcher

    settings = ConversionSettings(False, False, config_file, anonymize=anonymize, absolute_paths=absolute_paths)
    watcher = Watcher(folder, output_dir, settings, settle, session_gap, max(jobs, 1))
    click.echo(f"watching {folder} (settle {settle:g} s, poll {poll:g} s); Ctrl-C stops")
    try:
        while True:
            _report_poll(watcher.poll(), verbose)
            if once:
                return
            time.sleep(poll)
    except KeyboardInterrupt:
        click.echo("stopped")


def _report_poll(result, verbose: bool) -> None:
    stamp = time.strftime("%H:%M:%S")
    if result.up_to_date:
        click.echo(f"{stamp} {result.up_to_date} acquisitions already converted (up to date)")
    for line in result.waiting:
        click.echo(f"{stamp} WAITING {line}")
    for outcome in result.outcomes:
        click.echo(f"{stamp} {_outcome_text(outcome)}")
        _echo_warnings(outcome, verbose)
    for line in result.superseded:
        click.echo(f"{stamp} REMOVED {line}")
    for outcome in result.sessions:
        click.echo(f"{stamp} SESSION {_STATUS[outcome.status]} {outcome.message}")


def _session_name(eln_files: list[Path], folder: Path) -> str:
    """The ELN YAML's ``session: {name: ...}``, else the folder's name (as NOMAD names a session)."""
    from .eln import eln_session_name, load_eln
    from .errors import ConversionError

    try:
        return eln_session_name(load_eln(eln_files), default=folder.resolve().name)
    except ConversionError:  # the conversion reports the unreadable ELN
        return folder.resolve().name


def _session_gap(given: float | None) -> float:
    """The --gap given, else ``$EM_PLUGIN_SESSION_GAP``, else the default (as for ``dataconverter``)."""
    from .session import GAP_ENV, gap_seconds

    try:
        return gap_seconds(given)
    except ValueError as exc:
        raise click.BadParameter(f"{exc} (${GAP_ENV})", param_hint="--gap") from exc


_STATUS = {"converted": "OK", "up_to_date": "CURRENT", "exists": "SKIPPED", "failed": "FAILED"}


def _echo_warnings(outcome, verbose: bool, echo: Callable[[str], None] = click.echo) -> None:
    if verbose:
        for message in dict.fromkeys(outcome.warnings):
            echo(f"        warning: {message}")


def _status_line(done: int, total: int, outcome) -> str:
    width = len(str(total))
    return f"[{done:>{width}}/{total}] {_outcome_text(outcome)}"


def _outcome_text(outcome) -> str:
    text = f"{_STATUS[outcome.status]:<7} {outcome.main}"
    if outcome.status == "converted":
        worker = f" on {outcome.worker}" if outcome.worker else ""
        return f"{text} -> {outcome.message} ({outcome.seconds:.1f} s{worker}, {len(outcome.warnings)} warnings)"
    return f"{text}: {outcome.message.removeprefix(f'{outcome.main}: ')}"  # the line names the file once


if __name__ == "__main__":
    main()
