"""Converting many files in one process start: planning, atomic writing, workers.

``em-plugin convert DIR_OR_FILES... --output-dir OUT`` walks folders, groups
related files through the format modules' ``companions`` (an ``.emi`` with its
``.ser``, a ``.mib`` with its ``.hdr``...), and converts each group into one
``.nxs``. A failing file is reported and skipped; the others go on.

Every output is written to a hidden temporary file in the target folder and
renamed when complete, so an interrupted conversion never leaves a partial
file under the target name. Large lazily read arrays are streamed into it
block by block (:mod:`.nexus.streaming`).
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from .errors import ConversionError, UnrecognisedFile
from .formats import companions_of, detect
from .nexus.links import restore_links
from .nexus.streaming import deferred_arrays, fill_deferred
from .nexus.trees import shared_nxdl_trees

#: Files never taken as inputs when a folder is walked.
_IGNORED_SUFFIXES = {".nxs", ".part", ".log"}


@dataclass
class Job:
    """One conversion: a main file, its companions, where the result goes."""

    main: Path
    companions: list[Path]
    output: Path
    format_name: str

    @property
    def inputs(self) -> list[Path]:
        return [self.main, *self.companions]


@dataclass
class Plan:
    jobs: list[Job] = field(default_factory=list)
    rejected: list[tuple[Path, str]] = field(default_factory=list)  # cannot be read (damaged, empty...)
    ignored: list[Path] = field(default_factory=list)  # found in a folder, content of no supported format


@dataclass(frozen=True)
class Options:
    """What the user chose for every job of a batch."""

    overwrite: bool = False
    strict: bool = False  # validation problems fail the file
    config_file: str | None = None  # user mapping table (-c)
    extra_inputs: tuple[Path, ...] = ()  # e.g. an ELN YAML added to every job
    session_gap: float | None = None  # seconds between activities of a session record (em-plugin session)
    anonymize: bool = False  # drop vendor-recorded operator names (provenance.ConversionOptions)
    absolute_paths: bool = False  # record input paths instead of base names

    def reader_options(self) -> dict[str, Any]:
        """Keyword arguments of the reader; the ELN ``conversion:`` keys are the dataconverter's way."""
        options: dict[str, Any] = {key: True for key in ("anonymize", "absolute_paths") if getattr(self, key)}
        if self.session_gap is not None:
            options["session_gap"] = self.session_gap
        return options


@dataclass
class Outcome:
    job: Job
    status: str  # "converted", "exists", "failed"
    seconds: float = 0.0
    message: str = ""
    warnings: list[str] = field(default_factory=list)


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
    detected: list[tuple[ModuleType, Path]] = []
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
    groups = [(fmt, path, companions_of(fmt, path, all_paths)) for fmt, path in detected]
    consumed = {c for _, _, companions in groups for c in companions}
    result.ignored = [p for p in result.ignored if p not in consumed]
    result.rejected = [(p, reason) for p, reason in result.rejected if p not in consumed]
    mains = [(fmt, path, companions) for fmt, path, companions in groups if path not in consumed]
    names = _output_names([path for _, path, _ in mains], arguments, output_dir)
    result.jobs = [Job(path, companions, names[path], fmt.NAME) for (fmt, path, companions) in mains]
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


def convert_job(job: Job, options: Options) -> Outcome:
    """Convert one job; never raises for a bad input (the outcome says why)."""
    if job.output.exists() and not options.overwrite:
        return Outcome(job, "exists", message=f"{job.output} exists (use --overwrite)")
    import pynxtools.dataconverter.convert  # noqa: F401  adds its console handler now, not while replaced below

    start = time.perf_counter()
    collector = _WarningCollector()
    logger = logging.getLogger("pynxtools")
    saved = logger.handlers[:], logger.propagate
    logger.handlers, logger.propagate = [collector], False  # one status line per file, not a flood
    try:
        write_atomically(
            [*job.inputs, *options.extra_inputs],
            job.output,
            options.strict,
            options.config_file,
            **options.reader_options(),
        )
    except ConversionError as exc:
        return Outcome(job, "failed", time.perf_counter() - start, exc.format_message())
    except Exception as exc:  # a bug must not stop the batch; report it as one line
        return Outcome(job, "failed", time.perf_counter() - start, f"{job.main}: {type(exc).__name__}: {exc}")
    finally:
        logger.handlers, logger.propagate = saved
    return Outcome(job, "converted", time.perf_counter() - start, str(job.output), collector.messages)


def write_atomically(
    inputs: list[Path], output: Path, strict: bool = False, config_file: str | None = None, **reader_options: Any
) -> None:
    """pynxtools' conversion, written to a temporary file next to ``output`` and renamed when complete;
    ``reader_options`` (``anonymize``, ``absolute_paths``, ``session_gap``) go to the reader."""
    from pynxtools.dataconverter import helpers
    from pynxtools.dataconverter.convert import ValidationFailed, transfer_data_into_template
    from pynxtools.dataconverter.writer import Writer

    output.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned_parts(output)
    temporary = output.parent / f".{output.name}.{os.getpid()}.part"
    kwargs = {"config_file": config_file} if config_file else {}
    kwargs.update(reader_options)
    try:
        nxdl_root, nxdl_path = helpers.get_nxdl_root_and_path("NXem")
        try:
            with deferred_arrays() as deferred:
                data = transfer_data_into_template(
                    tuple(str(p) for p in inputs), "em_plugin", "NXem", nxdl_root, fail=strict, **kwargs
                )
        except ValidationFailed as exc:
            raise ConversionError(inputs[0], "the converted data do not validate against NXem (strict mode)") from exc
        helpers.add_default_root_attributes(data=data, filename=output.name)
        Writer(data=data, nxdl_f_path=nxdl_path, output_path=str(temporary)).write()
        fill_deferred(temporary, deferred)
        restore_links(temporary)
        os.replace(temporary, output)
    finally:
        temporary.unlink(missing_ok=True)


def _remove_abandoned_parts(output: Path) -> None:
    """Temporary files of earlier conversions to ``output`` whose process was killed mid-write.

    A killed process cannot remove its own ``.part`` file; the next conversion to the same
    target does, unless the process that wrote it still runs (another worker at work).
    """
    for part in output.parent.glob(f".{output.name}.*.part"):
        pid = part.name.removeprefix(f".{output.name}.").removesuffix(".part")
        if pid.isdigit() and not _process_alive(int(pid)):
            part.unlink(missing_ok=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


class _WarningCollector(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def run(jobs: list[Job], options: Options, workers: int):
    """Outcomes in order of completion; ``workers`` > 1 uses worker processes (forked: they inherit
    the NXDL trees shared by all conversions of this process, :mod:`.nexus.trees`)."""
    with shared_nxdl_trees():
        yield from _run(jobs, options, workers)


def _run(jobs: list[Job], options: Options, workers: int):
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield convert_job(job, options)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    import pynxtools.dataconverter.convert  # noqa: F401  imported once, inherited by forked workers

    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_single_threaded_dask) as pool:
        futures = [pool.submit(convert_job, job, options) for job in _largest_first(jobs)]
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
