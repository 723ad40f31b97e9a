"""Shared by the benchmarks: timing and memory of a child process, tables, paths.

Memory is sampled from ``/proc/<pid>/status`` of the child and its descendants
(worker processes) every 20 ms: VmRSS split into RssAnon (heap, arrays: what
the process allocated) and RssFile (pages of memory-mapped files, which the
kernel can drop at any time), plus the kernel's own peak VmHWM.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EM_DATA = Path(os.environ.get("EM_PLUGIN_TEST_DATA", REPO.parent / "shared" / "em-data"))
if not EM_DATA.is_dir():
    EM_DATA = Path("/work/shared/em-data")
PYTHON = sys.executable
ENV = {**os.environ, "PYTHONPATH": str(REPO / "src")}
sys.path.insert(0, str(REPO / "src"))  # this checkout's package, also in the benchmark process itself
MiB = 2**20


@dataclass
class Run:
    seconds: float
    peak_rss: int  # bytes: max over samples of the summed VmRSS of the process tree
    peak_anon: int  # bytes: max of summed RssAnon
    peak_file: int  # bytes: max of summed RssFile
    hwm: int  # bytes: the main process' VmHWM (kernel peak, includes file pages)
    returncode: int
    cpu: float = 0.0  # seconds of CPU (user + system) of the process and its waited-for children


def _status(pid: int) -> dict[str, int]:
    values = {}
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
                    values[key] = int(rest.split()[0]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return values


def _descendants(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            children = [int(c) for c in handle.read().split()]
    except (FileNotFoundError, ProcessLookupError):  # the process ended meanwhile
        return []
    return children + [d for c in children for d in _descendants(c)]


def measure(command: list[str], **kwargs) -> Run:
    """Run ``command``; wall time, CPU time and memory of it and its descendants (``env``: else :data:`ENV`)."""
    env = kwargs.pop("env", ENV)
    before = _children_cpu()
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kwargs)
    peak = {"VmRSS": 0, "RssAnon": 0, "RssFile": 0, "VmHWM": 0}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            tree = [_status(p) for p in (process.pid, *_descendants(process.pid))]
            for key in ("VmRSS", "RssAnon", "RssFile"):
                peak[key] = max(peak[key], sum(s.get(key, 0) for s in tree))
            peak["VmHWM"] = max(peak["VmHWM"], tree[0].get("VmHWM", 0) if tree else 0)
            time.sleep(0.02)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    _, stderr = process.communicate()
    seconds = time.perf_counter() - start
    done.set()
    thread.join()
    if process.returncode:
        sys.stderr.write(stderr.decode(errors="replace")[-3000:])
    cpu = _children_cpu() - before
    return Run(seconds, peak["VmRSS"], peak["RssAnon"], peak["RssFile"], peak["VmHWM"], process.returncode, cpu)


def _children_cpu() -> float:
    """CPU seconds of all waited-for children so far (one child runs at a time: the difference is its own)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def median_run(runs: list[Run]) -> Run:
    """Median time; memory as the largest seen (a peak is a peak)."""
    return Run(
        statistics.median(r.seconds for r in runs),
        max(r.peak_rss for r in runs),
        max(r.peak_anon for r in runs),
        max(r.peak_file for r in runs),
        max(r.hwm for r in runs),
        max(r.returncode for r in runs),
        statistics.median(r.cpu for r in runs),
    )


def table(rows: list[list[str]]) -> str:
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    lines = ["| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) + " |" for row in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"
