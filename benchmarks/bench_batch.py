"""Batch: ``em-plugin convert FOLDER -j N`` vs one ``dataconverter`` process per acquisition.

The same acquisitions (the batch plan: companions grouped, e.g. ``.emi`` with its
``.ser`` files) are converted both ways in the same run; the per-file way passes
each acquisition's files together to one ``dataconverter`` call.

With ``--cluster``: the same folder converted by ``em-plugin convert --scheduler`` on a local
Dask cluster (``distributed.LocalCluster``: a scheduler and 1, then 2 single-threaded worker
processes, started before the clock runs), beside ``-j 1`` and ``-j 2`` on this machine. Beside
each wall time: the wall time minus the conversion times the status lines report (start-up,
planning, and for the cluster submitting and collecting); the cluster's own per-task cost is
the round trip of a no-op task.

Usage: python benchmarks/bench_batch.py [FOLDER=../shared/em-data] [-j 2] [--out /tmp/em-bench/batch] [--cluster]
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from _measure import EM_DATA, PYTHON, MiB, load, measure, table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=EM_DATA)
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("/tmp/em-bench/batch"))
    parser.add_argument("--cluster", action="store_true", help="em-plugin convert --scheduler, 1 and 2 workers")
    args = parser.parse_args()
    if args.cluster:
        cluster(args.folder, args.out)
        return
    from pynxtools_em_plugin.batch import plan

    jobs = plan([args.folder], args.out / "batch").jobs
    print(load(), f"- {len(jobs)} acquisitions, {sum(len(j.inputs) for j in jobs)} files")
    shutil.rmtree(args.out, ignore_errors=True)
    batch = measure(
        [
            PYTHON,
            "-m",
            "pynxtools_em_plugin.cli",
            "convert",
            str(args.folder),
            "-o",
            str(args.out / "batch"),
            "-j",
            str(args.jobs),
        ]
    )
    dataconverter = str(Path(PYTHON).with_name("dataconverter"))
    single, failed, peak = 0.0, 0, 0
    for index, job in enumerate(jobs):
        output = args.out / "single" / f"{index}.nxs"
        output.parent.mkdir(parents=True, exist_ok=True)
        command = [
            dataconverter,
            "--reader",
            "em_plugin",
            "--nxdl",
            "NXem",
            *map(str, job.inputs),
            "--output",
            str(output),
        ]
        run = measure(command)
        single += run.seconds
        failed += run.returncode != 0
        peak = max(peak, run.peak_rss)
    converted = sum(1 for _ in (args.out / "batch").rglob("*.nxs"))
    rows = [
        ["way", "acquisitions", "wall time (s)", "per acquisition (s)", "speed-up", "peak RSS"],
        [
            f"em-plugin convert -j {args.jobs}",
            f"{converted} converted",
            f"{batch.seconds:.1f}",
            f"{batch.seconds / len(jobs):.2f}",
            f"{single / batch.seconds:.1f}x",
            f"{batch.peak_rss / MiB:.0f} MiB (all)",
        ],
        [
            "one dataconverter per acquisition",
            f"{len(jobs) - failed} converted",
            f"{single:.1f}",
            f"{single / len(jobs):.2f}",
            "1.0x",
            f"{peak / MiB:.0f} MiB (largest)",
        ],
    ]
    print(table(rows))
    print(load())
    shutil.rmtree(args.out, ignore_errors=True)


def cluster(folder: Path, out: Path) -> None:
    """Local runs (-j 1, -j 2) and cluster runs (1, 2 workers) of the same folder, fresh outputs each.

    Each cluster gets one untimed run first: a new worker process imports pynxtools and builds its
    NXDL tree on its first task (once per worker, as on a long-running cluster). Workers have no
    memory limit (as ``dask worker --memory-limit 0``): the pause at 80 % of a per-worker share of
    this machine's memory would throttle the large spectrum images."""
    from distributed import Client, LocalCluster

    from pynxtools_em_plugin.batch import plan

    jobs = len(plan([folder], out).jobs)
    print(load(), f"- {jobs} acquisitions")
    command = [PYTHON, "-m", "pynxtools_em_plugin.cli", "convert", str(folder), "-o", str(out)]
    rows = [["way", "wall time (s)", "per acquisition (s)", "acquisitions/min", "wall - conversions (s)"]]
    for workers in (1, 2):
        seconds, converting = _timed_output([*command, "-j", str(workers)], out)
        rows.append([f"em-plugin convert -j {workers}", *_rates(seconds, jobs), f"{seconds - converting:.1f}"])
    round_trip = 0.0
    for workers in (1, 2):
        options = {"threads_per_worker": 1, "processes": True, "dashboard_address": None, "memory_limit": 0}
        with LocalCluster(n_workers=workers, **options) as local, Client(local) as client:
            client.wait_for_workers(workers)
            command_here = [*command, "--scheduler", local.scheduler_address]
            _timed_output(command_here, out)  # warm-up
            seconds, converting = _timed_output(command_here, out)
            round_trip = round_trip or _round_trip(client)
        label = f"em-plugin convert --scheduler, {workers} worker(s)"
        rows.append([label, *_rates(seconds, jobs), f"{seconds - converting:.1f}"])
    print(table(rows))
    print(f"one task's round trip (submit a no-op, get its result; median of 50): {round_trip * 1000:.1f} ms")
    print(load())
    shutil.rmtree(out, ignore_errors=True)


def _rates(seconds: float, jobs: int) -> list[str]:
    return [f"{seconds:.1f}", f"{seconds / jobs:.2f}", f"{60 * jobs / seconds:.0f}"]


def _timed_output(command: list[str], out: Path) -> tuple[float, float]:
    """Wall time of ``command`` (fresh outputs) and the sum of the conversion seconds its status lines report."""
    import re
    import subprocess
    import time

    from _measure import ENV

    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    result = subprocess.run(command, env=ENV, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    converting = sum(float(m) for m in re.findall(r"\((\d+\.\d) s[ ,]", result.stdout))
    return seconds, converting


def _round_trip(client) -> float:
    """Median time to submit a no-op task and get its result back: the cluster's own per-task cost."""
    import statistics
    import time

    times = []
    for index in range(50):
        started = time.perf_counter()
        client.submit(abs, -index, pure=False).result()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


if __name__ == "__main__":
    main()
