"""Following an instrument's output folder: ``em-plugin watch DIR --output-dir OUT``.

The folder is polled (no file-system events: they do not cross network shares, and an
instrument PC often writes to one). An acquisition is converted once it is complete:

* every one of its files is *settled*: unchanged (size and modification time) for
  ``settle`` seconds, i.e. no longer being written;
* its companions are present: a companion without its main file (a Merlin ``.hdr`` alone)
  waits for it; a companion that arrives after its acquisition was converted is a new
  input, and the acquisition is converted again. A file converted on its own that turns out
  to be the companion of a main file arriving later (a TIA ``_1.ser`` before its ``.emi``)
  is converted with it, and the output made from it alone is removed (it was this watcher's).

What is converted is decided by the outputs' own records (:mod:`.incremental`), so a
restarted watcher converts nothing twice. A conversion that failed is tried again only
when one of its files changes.

With ``session_gap``, acquisitions are also grouped into sessions by time (a pause longer
than the gap between the modification times of consecutive acquisitions ends a session);
once a session's gap has passed, its record (``OUT/sessions/session-<start>.nxs``, as
``em-plugin session``) is written, and written again when a late acquisition joins it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from .batch import Job, collect, plan, run, triage
from .conversion import ConversionSettings, Outcome, convert
from .formats import format_named, lone_companion_reason
from .incremental import changes, read_record
from .session import split_by_gaps

#: (size, modification time in ns) of a file: it changes whenever the file is written.
FileState = tuple[int, int]


@dataclass
class Observed:
    state: FileState
    since: float  # since when the file is known to have had this state (s since the epoch)


@dataclass
class PollResult:
    """What one look at the folder did."""

    outcomes: list[Outcome] = field(default_factory=list)  # conversions tried (not the up-to-date ones)
    waiting: list[str] = field(default_factory=list)  # why an acquisition is not converted yet (once per state)
    sessions: list[Outcome] = field(default_factory=list)  # session records written
    superseded: list[str] = field(default_factory=list)  # outputs removed: their input is now a companion
    up_to_date: int = 0  # acquisitions found converted already (e.g. after a restart)


class Watcher:
    """Polls ``folder``; each :meth:`poll` converts what became complete since the last one."""

    def __init__(
        self,
        folder: Path,
        output_dir: Path,
        settings: ConversionSettings | None = None,
        settle: float = 10.0,
        session_gap: float | None = None,
        workers: int = 1,
        clock: Callable[[], float] = time.time,
    ):
        self.folder, self.output_dir = folder, output_dir
        self.settings = settings or ConversionSettings()
        self.settle, self.session_gap, self.workers, self.clock = settle, session_gap, workers, clock
        self.observed: dict[Path, Observed] = {}
        self.handled: dict[Path, tuple] = {}  # main file -> signature of the inputs last converted/assessed
        self.done: dict[Path, Job] = {}  # main file -> its job, converted or up to date
        self.settled: dict[Path, FileState] = {}  # the files settled at the last poll
        self.sessions: dict[Path, tuple] = {}  # session record -> signature of its inputs when last checked

    def poll(self) -> PollResult:
        result = PollResult()
        now = self.clock()
        self._observe(now)
        settled = {path: seen.state for path, seen in self.observed.items() if now - seen.since >= self.settle}
        jobs = self._ready_jobs(set(settled), result) if settled != self.settled else []  # else nothing new
        self.settled = settled
        pending, current = triage(jobs, self.settings)
        result.up_to_date = len(current)
        for outcome in current:
            self._handled(outcome.inputs[0], jobs)
        for outcome in run(pending, self.settings, self.workers):
            result.outcomes.append(outcome)
            self._handled(outcome.inputs[0], jobs, converted=outcome.status == "converted")
            if outcome.status == "converted":
                result.superseded += self._remove_superseded(self.done[outcome.inputs[0]])
        if self.session_gap is not None:
            result.sessions = self._write_sessions(now)
        return result

    def _observe(self, now: float) -> None:
        """Record each file's state; a file seen for the first time counts as unchanged since its
        modification time (a restart does not wait again), a changed file from now on."""
        present: dict[Path, Observed] = {}
        for path, _ in collect([self.folder]):
            try:
                status = path.stat()
            except OSError:  # removed meanwhile
                continue
            state = (status.st_size, status.st_mtime_ns)
            before = self.observed.get(path)
            if before is not None and before.state == state:
                present[path] = before
            elif before is None:
                present[path] = Observed(state, min(now, status.st_mtime))
            else:
                present[path] = Observed(state, now)
        self.observed = present

    def _ready_jobs(self, settled: set[Path], result: PollResult) -> list[Job]:
        """Acquisitions whose files have all settled and whose state was not handled yet."""
        batch = plan([self.folder], self.output_dir)
        ready = []
        for job in batch.jobs:
            if not set(job.inputs) <= settled or self.handled.get(job.main) == self._signature(job):
                continue
            reason = lone_companion_reason(format_named(job.format_name), job.main)
            if reason is not None:
                result.waiting.append(f"{job.main}: waiting for its main file ({reason})")
                self.handled[job.main] = self._signature(job)
                continue
            ready.append(job)
        return ready

    def _signature(self, job: Job) -> tuple:
        return tuple((path, self.observed[path].state) for path in job.inputs if path in self.observed)

    def _handled(self, main: Path, jobs: list[Job], converted: bool = True) -> None:
        job = next(j for j in jobs if j.main == main)
        self.handled[main] = self._signature(job)
        if converted:
            self.done[main] = job
        else:
            self.done.pop(main, None)

    def _remove_superseded(self, job: Job) -> list[str]:
        """Outputs converted earlier from one of ``job``'s companions alone (now read with its main file)."""
        removed = []
        for companion in job.companions:
            earlier = self.done.pop(companion, None)
            if earlier is None or earlier.output == job.output:
                continue
            record = read_record(earlier.output) if earlier.output.exists() else None
            if record is not None and set(record.inputs) == {companion.name}:
                earlier.output.unlink()
                removed.append(f"{earlier.output}: {companion.name} is now converted with {job.main.name}")
        return removed

    def _write_sessions(self, now: float) -> list[Outcome]:
        """The record of every session (of two acquisitions or more) whose gap has passed, unless it is up to date."""
        written = []
        for members in self._closed_sessions(now):
            output = self.output_dir / "sessions" / f"session-{_stamp(self._time_of(members[0]))}.nxs"
            inputs = [path for job in members for path in job.inputs]
            signature = tuple(self._signature(job) for job in members)
            if self.sessions.get(output) == signature:
                continue
            self.sessions[output] = signature
            record = read_record(output) if output.exists() else None
            formats = [job.format_name for job in members]
            if record is not None and not changes(inputs, formats, record, self.settings):
                continue
            settings = replace(self.settings, overwrite=True, session_gap=self.session_gap)
            written.append(convert(inputs, output, settings))
        return written

    def _closed_sessions(self, now: float) -> list[list[Job]]:
        jobs = sorted(self.done.values(), key=self._time_of)
        times = [self._time_of(job) for job in jobs]
        parts = split_by_gaps(times, times, self.session_gap)
        closed = [part for part in parts if now - times[part[-1]] > self.session_gap and len(part) > 1]
        return [[jobs[i] for i in part] for part in closed]

    def _time_of(self, job: Job) -> float:
        """When an acquisition was written: the latest modification of its files."""
        return max(self.observed[p].state[1] for p in job.inputs if p in self.observed) / 1e9


def _stamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds).astimezone().strftime("%Y%m%dT%H%M%S")
