"""Batch: ``em-plugin convert FOLDER -j N`` vs one ``dataconverter`` process per acquisition.

The same acquisitions (the batch plan: companions grouped, e.g. ``.emi`` with its
``.ser`` files) are converted both ways in the same run; the per-file way passes
each acquisition's files together to one ``dataconverter`` call.

Usage: python benchmarks/bench_batch.py [FOLDER=../shared/em-data] [-j 2] [--out /tmp/em-bench/batch]
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
    args = parser.parse_args()
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


if __name__ == "__main__":
    main()
