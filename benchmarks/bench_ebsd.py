"""EBSD: converting a generated 1000 x 1000-point EDAX ``.ang`` vs orix merely loading it.

The file has the real DC06 file's header (one phase, iron) and random orientations; every
point indexed. Both runs are separate processes measured the same way (wall time, peak RSS).

Usage: python benchmarks/bench_ebsd.py [--points 1000] [--out /tmp/em-bench/ebsd]
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np
from _measure import PYTHON, MiB, load, measure, table

HEADER = """# TEM_PIXperUM          1.000000
# x-star                0.521621
# y-star                0.845559
# z-star                0.690009
# WorkingDistance       14.000000
#
# Phase 1
# MaterialName  \tIron (Alpha)
# Formula     \tFe
# Info \t\t
# Symmetry              43
# LatticeConstants      2.870 2.870 2.870  90.000  90.000  90.000
# NumberFamilies        0
#
# GRID: SqrGrid
# XSTEP: 1.000000
# YSTEP: 1.000000
# NCOLS_ODD: {n}
# NCOLS_EVEN: {n}
# NROWS: {n}
#
# OPERATOR: \tbenchmark
#
"""


def write_ang(path: Path, n: int) -> None:
    """n x n points, written in blocks of rows (the generator itself stays small)."""
    rng = np.random.default_rng(0)
    with open(path, "w") as handle:
        handle.write(HEADER.format(n=n))
        for row in range(n):
            euler = rng.uniform(0, 1, (n, 3)) * [2 * np.pi, np.pi, 2 * np.pi]
            columns = np.column_stack(
                [euler, np.arange(n, dtype=float), np.full(n, float(row)), rng.uniform(50, 200, n),
                 rng.uniform(0.1, 1, n), np.zeros(n), rng.uniform(0, 1, (n, 2))]
            )  # fmt: skip
            np.savetxt(handle, columns, fmt="%.5f %.5f %.5f %.5f %.5f %.1f %.3f %d %.3f %.3f")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1000, help="points per side")
    parser.add_argument("--out", type=Path, default=Path("/tmp/em-bench/ebsd"))
    args = parser.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    source = args.out / "map.ang"
    write_ang(source, args.points)
    print(load(), f"- {args.points} x {args.points} points, {source.stat().st_size / MiB:.0f} MiB .ang")
    orix = measure([PYTHON, "-c", f"from orix import io; io.load({str(source)!r})"])
    ours = measure([PYTHON, "-m", "pynxtools_em_plugin.cli", "convert", str(source), "-o", str(args.out / "out")])
    rows = [["run", "time (s)", "peak RSS (MiB)", "kernel peak VmHWM (MiB)"]]
    for name, run in (("orix io.load (reading only)", orix), ("em-plugin convert (.ang -> NXem)", ours)):
        rows.append([name, f"{run.seconds:.1f}", f"{run.peak_rss / MiB:.0f}", f"{run.hwm / MiB:.0f}"])
    print(table(rows))


if __name__ == "__main__":
    main()
