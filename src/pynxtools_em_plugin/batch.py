"""Converting many files in one process start: planning and workers.

``em-plugin convert DIR_OR_FILES... --output-dir OUT`` walks folders, groups
related files into acquisitions (:func:`.formats.group`: an ``.emi`` with its
``.ser``, a ``.mib`` with its ``.hdr``...), and converts each acquisition into
one ``.nxs`` with :func:`.conversion.convert` (atomic writing, streaming, one
outcome per file). A failing file is reported and skipped; the others go on.

Re-runs are incremental (:func:`triage`, :mod:`.incremental`): an output made from the
same inputs by the same converter and mapping table versions is up to date and left
alone; one whose inputs or versions changed is converted again. Conversions run in this
process, in worker processes (``workers``), or as tasks on a Dask cluster
(``scheduler``, :mod:`.cluster`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from .compat.pynxtools import import_converter, shared_nxdl_trees
from .conversion import ConversionSettings, Outcome, convert
from .errors import ConversionError, UnrecognisedFile
from .formats import detect, group
from .formats.contract import FormatModule
from .incremental import changes, read_record

#: Files never taken as inputs when a folder is walked.
_IGNORED_SUFFIXES = {".nxs", ".part", ".log"}


@dataclass
class Job:
    """One conversion: a main file, its companions, where the result goes."""

    main: Path
    companions: list[Path]
    output: Path
    format_name: str
    reasons: tuple[str, ...] = ()  # why it is converted (see triage); empty: not assessed
    replaces: bool = False  # its existing output is out of date and is replaced

    @property
    def inputs(self) -> list[Path]:
        return [self.main, *self.companions]

    def settings(self, settings: ConversionSettings) -> ConversionSettings:
        """The batch settings, told to replace this job's output when it is out of date."""
        return replace(settings, overwrite=True) if self.replaces else settings


@dataclass
class Plan:
    jobs: list[Job] = field(default_factory=list)
    rejected: list[tuple[Path, str]] = field(default_factory=list)  # cannot be read (damaged, empty...)
    ignored: list[Path] = field(default_factory=list)  # found in a folder, content of no supported format


def collect(arguments: list[Path]) -> list[tuple[Path, bool]]:
    """(file, named explicitly) for every file named or found below a named folder."""
    found: list[tuple[Path, bool]] = []
    for argument in arguments:
        if argument.is_dir():
            found += [(p, False) for p in sorted(argument.rglob("*")) if _is_candidate(p)]
        else:
            found.append((argument, True))
    return list(dict.fromkeys(found))


def _is_candidate(path: Path) -> bool:
    hidden = any(part.startswith(".") for part in path.parts[-1:])
    return path.is_file() and not hidden and path.suffix.lower() not in _IGNORED_SUFFIXES


def plan(arguments: list[Path], output_dir: Path) -> Plan:
    """Detect every file's format, group companions, choose output names."""
    result = Plan()
    detected: list[tuple[FormatModule, Path]] = []
    for path, explicit in collect(arguments):
        try:
            detected.append((detect(path), path))
        except UnrecognisedFile as exc:
            if explicit:
                result.rejected.append((path, exc.reason))
            else:
                result.ignored.append(path)
        except ConversionError as exc:  # empty, unreadable, damaged: reported even when found in a folder
            result.rejected.append((path, exc.reason))
    all_paths = [path for _, path in detected] + result.ignored + [path for path, _ in result.rejected]
    acquisitions = group(detected, all_paths)
    consumed = {companion for acquisition in acquisitions for companion in acquisition.companions}
    result.ignored = [p for p in result.ignored if p not in consumed]
    result.rejected = [(p, reason) for p, reason in result.rejected if p not in consumed]
    names = _output_names([acquisition.main for acquisition in acquisitions], arguments, output_dir)
    result.jobs = [Job(a.main, a.companions, names[a.main], a.format.NAME) for a in acquisitions]
    return result


def _output_names(mains: list[Path], arguments: list[Path], output_dir: Path) -> dict[Path, Path]:
    """``OUT/<folder below the named folder>/<stem>.nxs``; ``<name>.nxs`` where stems clash."""
    roots = [a for a in arguments if a.is_dir()]
    relative = {}
    for path in mains:
        root = next((r for r in roots if path.is_relative_to(r)), path.parent)
        relative[path] = path.parent.relative_to(root)
    stems = Counter((relative[p], p.stem) for p in mains)
    names = {}
    for path in mains:
        stem = path.stem if stems[(relative[path], path.stem)] == 1 else path.name
        names[path] = output_dir / relative[path] / f"{stem}.nxs"
    return names


def triage(
    jobs: list[Job], settings: ConversionSettings, extra_inputs: Sequence[Path] = (), always_hash: bool = False
) -> tuple[list[Job], list[Outcome]]:
    """The jobs to convert, each with its reasons, and an outcome for each up-to-date one
    (``always_hash``: see :func:`.incremental.changes`).

    With ``overwrite`` everything is converted. An existing output without a record of its
    inputs (not written by this package) is left to :func:`.conversion.convert` to report.
    """
    if settings.overwrite:
        return [replace(job, reasons=("--overwrite",)) for job in jobs], []
    pending: list[Job] = []
    current: list[Outcome] = []
    for job in jobs:
        record = read_record(job.output) if job.output.exists() else None
        if not job.output.exists():
            pending.append(replace(job, reasons=("no output yet",)))
        elif record is None:  # convert() keeps it and says so
            pending.append(replace(job, reasons=("output exists, not written by em-plugin (use --overwrite)",)))
        elif reasons := changes(_all_inputs(job, extra_inputs), [job.format_name], record, settings, always_hash):
            pending.append(replace(job, reasons=tuple(reasons), replaces=True))
        else:
            current.append(Outcome(_all_inputs(job, extra_inputs), job.output, "up_to_date", message="up to date"))
    return pending, current


def _all_inputs(job: Job, extra_inputs: Sequence[Path]) -> tuple[Path, ...]:
    return (*job.inputs, *extra_inputs)


def run(
    jobs: list[Job],
    settings: ConversionSettings,
    workers: int,
    extra_inputs: Sequence[Path] = (),
    scheduler: str | None = None,
) -> Iterator[Outcome]:
    """Outcomes in order of completion; ``extra_inputs`` (an ELN YAML) go to every job; ``workers`` > 1
    uses worker processes (forked: they inherit the NXDL trees shared by all conversions of this process,
    :func:`.compat.pynxtools.shared_nxdl_trees`); ``scheduler``: the address of a Dask scheduler whose
    workers convert instead (:mod:`.cluster`)."""
    if scheduler:
        from .cluster import run_on_cluster

        if settings.config_file:  # paths made absolute: a worker's working folder is its own
            settings = replace(settings, config_file=str(Path(settings.config_file).absolute()))
        tasks = [
            (tuple(p.absolute() for p in _all_inputs(job, extra_inputs)), job.output.absolute(), job.settings(settings))
            for job in _largest_first(jobs)
        ]
        yield from run_on_cluster(scheduler, tasks)
        return
    with shared_nxdl_trees():
        yield from _run(jobs, settings, workers, tuple(extra_inputs))


def _convert_job(job: Job, settings: ConversionSettings, extra_inputs: tuple[Path, ...]) -> Outcome:
    return convert(_all_inputs(job, extra_inputs), job.output, job.settings(settings))


def _run(
    jobs: list[Job], settings: ConversionSettings, workers: int, extra_inputs: tuple[Path, ...]
) -> Iterator[Outcome]:
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield _convert_job(job, settings, extra_inputs)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    import_converter()  # imported once, inherited by forked workers
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_single_threaded_dask) as pool:
        futures = [pool.submit(_convert_job, job, settings, extra_inputs) for job in _largest_first(jobs)]
        for future in as_completed(futures):
            yield future.result()


def _largest_first(jobs: list[Job]) -> list[Job]:
    """Big acquisitions start first, so that no worker is left with one at the end while the others idle
    (input bytes stand in for conversion time)."""
    return sorted(jobs, key=lambda job: sum(_size(p) for p in job.inputs), reverse=True)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # vanished since planning: its conversion reports it
        return 0


def _single_threaded_dask() -> None:
    """Lazy readers compute with dask; a worker forked from a process whose dask thread pool
    was in use inherits that pool without its threads and would wait for them forever."""
    try:
        import dask
    except ImportError:  # pragma: no cover - no lazy reader without dask
        return
    dask.config.set(scheduler="synchronous")
