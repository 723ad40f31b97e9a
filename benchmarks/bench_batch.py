"""Batch: ``em-plugin convert FOLDER -j N`` vs one ``dataconverter`` process per acquisition.

The same acquisitions (the batch plan: companions grouped, e.g. ``.emi`` with its
``.ser`` files) are converted both ways in the same run; the per-file way passes
each acquisition's files together to one ``dataconverter`` call.

With ``--cluster``: the same folder converted by ``em-plugin convert --scheduler`` on a local
Dask cluster (``distributed.LocalCluster``: a scheduler and 1, then 2 single-threaded worker
processes, started before the clock runs), beside ``-j 1`` and ``-j 2`` on this machine. The
per-task overhead is the wall time with one worker minus the conversion times the workers
report (each status line's seconds), per acquisition: submitting, scheduling, sending the
job and its outcome, and the client's planning.

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
    """Local runs (-j 1, -j 2) and cluster runs (1, 2 workers) of the same folder, fresh outputs each."""
    from distributed import LocalCluster

    from pynxtools_em_plugin.batch import plan

    jobs = len(plan([folder], out).jobs)
    print(load(), f"- {jobs} acquisitions")
    command = [PYTHON, "-m", "pynxtools_em_plugin.cli", "convert", str(folder), "-o", str(out)]
    rows = [["way", "wall time (s)", "per acquisition (s)", "acquisitions/min", "overhead per task (s)"]]
    for workers in (1, 2):
        shutil.rmtree(out, ignore_errors=True)
        run = measure([*command, "-j", str(workers)])
        rows.append([f"em-plugin convert -j {workers}", *_rates(run.seconds, jobs), ""])
    for workers in (1, 2):
        shutil.rmtree(out, ignore_errors=True)
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as local:
            local.wait_for_workers(workers)
            seconds, converting = _timed_output([*command, "--scheduler", local.scheduler_address])
        overhead = f"{(seconds - converting) / jobs:.3f}" if workers == 1 else ""
        rows.append([f"em-plugin convert --scheduler, {workers} worker(s)", *_rates(seconds, jobs), overhead])
    print(table(rows))
    print(load())
    shutil.rmtree(out, ignore_errors=True)


def _rates(seconds: float, jobs: int) -> list[str]:
    return [f"{seconds:.1f}", f"{seconds / jobs:.2f}", f"{60 * jobs / seconds:.0f}"]


def _timed_output(command: list[str]) -> tuple[float, float]:
    """Wall time of ``command`` and the sum of the conversion seconds its status lines report."""
    import re
    import subprocess
    import time

    from _measure import ENV

    started = time.perf_counter()
    result = subprocess.run(command, env=ENV, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    converting = sum(float(m) for m in re.findall(r"\((\d+\.\d) s on ", result.stdout))
    return seconds, converting


if __name__ == "__main__":
    main()
