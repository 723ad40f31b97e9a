"""Kikuchi-pattern files: conversion time and memory against file size (EDAX .up2, Oxford .ebsp).

Makes square-grid pattern files of growing size from the shared samples' patterns
(``ebsd/edax_binary/edax_binary.up2``, ``ebsd/oxford_binary/patterns.ebsp``: 60 x 60 px,
tiled over the scan; the .ebsp with its offset table rolled by one, as the sample, so
that the reader reorders), converts each with ``em-plugin convert`` and reports the
peak anonymous memory (what the process allocated) and the peak of memory-mapped file
pages (which the kernel can drop). Streaming keeps the first flat as the file grows.

Usage: python benchmarks/bench_ebsd_patterns.py [DIR=/tmp/em-bench-ebsd] [--rows 100 200]
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np
from _measure import EM_DATA, PYTHON, MiB, load, measure, table

COLUMNS = 100
PATTERN = (60, 60)


def sample_patterns() -> np.ndarray:
    """The nine 16-bit patterns of the shared .up2 (a 3 x 3 map and one blank)."""
    raw = (EM_DATA / "ebsd/edax_binary/edax_binary.up2").read_bytes()
    return np.frombuffer(raw[42:], "<u2").reshape(-1, *PATTERN)[:9]


def make_up2(path: Path, rows: int) -> Path:
    """Version-3 header (square grid, 0.5 µm steps), then rows x COLUMNS patterns, written row by row."""
    patterns = sample_patterns()
    with open(path, "wb") as handle:
        np.array([3, PATTERN[1], PATTERN[0], 42], "<u4").tofile(handle)
        np.array([0], "u1").tofile(handle)
        np.array([COLUMNS, rows], "<u4").tofile(handle)
        np.array([0], "u1").tofile(handle)
        np.array([0.5, 0.5], "<f8").tofile(handle)
        row = patterns[np.arange(COLUMNS) % len(patterns)]
        for _ in range(rows):
            row.tofile(handle)
    return path


def make_ebsp(path: Path, rows: int) -> Path:
    """Version 2, 8-bit patterns with header and beam-position footer; offset table rolled by one."""
    patterns = (sample_patterns() >> 8).astype(np.uint8)
    count = rows * COLUMNS
    record = 16 + PATTERN[0] * PATTERN[1] + 18
    first = 8 + 8 * count
    starts = np.roll(first + record * np.arange(count, dtype=np.int64), 1)
    with open(path, "wb") as handle:
        np.array([-2], "<i8").tofile(handle)
        starts.tofile(handle)
        header = np.array([0, *PATTERN, PATTERN[0] * PATTERN[1]], "<i4").tobytes()
        for point in np.roll(np.arange(count), -1):
            row, column = divmod(int(point), COLUMNS)
            footer = b"\x01" + np.float64(column * 0.5).tobytes() + b"\x01" + np.float64(row * 0.5).tobytes()
            handle.write(header + patterns[point % len(patterns)].tobytes() + footer)
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dir", nargs="?", default="/tmp/em-bench-ebsd", type=Path)
    parser.add_argument("--rows", nargs="+", type=int, default=[100, 200])
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    rows = [["file", "size", "seconds", "peak anon", "peak file pages"]]
    for maker, suffix in ((make_up2, ".up2"), (make_ebsp, ".ebsp")):
        for scan_rows in args.rows:
            path = maker(args.dir / f"patterns_{scan_rows}x{COLUMNS}{suffix}", scan_rows)
            output = args.dir / "out"
            shutil.rmtree(output, ignore_errors=True)
            run = measure([PYTHON, "-m", "pynxtools_em_plugin.cli", "convert", str(path), "-o", str(output)])
            assert run.returncode == 0, path
            size = f"{path.stat().st_size / MiB:.0f} MiB"
            memory = [f"{run.peak_anon / MiB:.0f} MiB", f"{run.peak_file / MiB:.0f} MiB"]
            rows.append([path.name, size, f"{run.seconds:.1f}", *memory])
    print(f"load: {load()}")
    print(table(rows))


if __name__ == "__main__":
    main()
