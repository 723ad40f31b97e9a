"""Compression and chunking of the bulk arrays: file size, write time, time to read one frame/spectrum.

Arrays (256 MiB each, from the files make_large.py wrote): the first 16 scan rows
of the Merlin set (16 x 256 frames of 256 x 256 u8) and the first 64 rows of the
Velox SI (64 x 512 spectra of 4096 u16 channels, decoded from its event stream).
Each variant is written from memory (the source is decoded first, so only the
filter and chunking are compared) and read back through a fresh file handle.

Usage: python benchmarks/bench_compression.py [DIR=/tmp/em-bench]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import h5py
import numpy as np
from _measure import MiB, load, table

from pynxtools_em_plugin.nexus import streaming

FILTERS = {
    "none": {},
    "gzip-1": {"compression": "gzip", "compression_opts": 1},
    "gzip-4": {"compression": "gzip", "compression_opts": 4},
    "lzf (h5py only)": {"compression": "lzf"},
}


def merlin_rows(folder: Path) -> np.ndarray:
    source = next(folder.glob("merlin_*.mib"))
    cols = int(source.stem.split("x")[-1])
    frames = np.memmap(source, mode="r", dtype=[("h", "S384"), ("d", "u1", (256, 256))], shape=(16, cols))
    return np.ascontiguousarray(frames["d"])


def velox_rows(folder: Path) -> np.ndarray:
    from pynxtools_em_plugin.formats import velox

    source = next(folder.glob("velox_si_*.emd"))
    (si,) = [s.data for s in velox.read(source, []) if getattr(s.data, "decodes_by_block", False)]
    return si[0:64]


def variants(array: np.ndarray, unit: str) -> list[tuple[str, tuple[int, ...], dict]]:
    """(label, chunks, filter): the default (frame-aligned ~1 MiB gzip-1), other filters, other chunks."""
    default = streaming.frame_chunks(array.shape, array.itemsize)
    one = (1,) * (array.ndim - (2 if unit == "frame" else 1)) + array.shape[-(2 if unit == "frame" else 1) :]
    row = (1, *array.shape[1:])
    rows = [(f"{name}, chunk {default}", default, spec) for name, spec in FILTERS.items()]
    rows.append((f"gzip-1, chunk = one {unit} {one}", one, FILTERS["gzip-1"]))
    quarter = streaming.frame_chunks(array.shape, array.itemsize, 256 * 1024)
    rows.append((f"gzip-1, chunk ~256 KiB {quarter}", quarter, FILTERS["gzip-1"]))
    rows.append((f"gzip-1, chunk = one scan row {row}", row, FILTERS["gzip-1"]))
    return rows


def measure_variant(array: np.ndarray, path: Path, chunks: tuple[int, ...], spec: dict) -> list[str]:
    start = time.perf_counter()
    with h5py.File(path, "w") as h5:
        dataset = h5.create_dataset("data", shape=array.shape, dtype=array.dtype, chunks=chunks, **spec)
        for block in streaming.blocks(array.shape, array.itemsize):
            dataset[block] = array[block]
    write = time.perf_counter() - start
    rng = np.random.default_rng(0)
    reads = []
    for _ in range(20):
        index = tuple(int(rng.integers(n)) for n in array.shape[: array.ndim - (2 if array.ndim == 4 else 1)])
        with h5py.File(path, "r") as h5:  # a viewer opens the file and reads one frame / spectrum
            start = time.perf_counter()
            h5["data"][index]
            reads.append(time.perf_counter() - start)
    size = path.stat().st_size
    return [f"{write:.2f}", f"{array.nbytes / MiB / write:.0f}", f"{size / MiB:.0f}", f"{array.nbytes / size:.1f}",
            f"{statistics.median(reads) * 1000:.2f}"]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=Path("/tmp/em-bench"))
    args = parser.parse_args()
    print(load())
    out = args.folder / "compression.h5"
    rows = [["array", "filter, chunks", "write (s)", "MiB/s", "file (MiB)", "ratio", "read one (ms)"]]
    for label, make, unit in (("Merlin 16x256x256x256 u8", merlin_rows, "frame"),
                              ("Velox SI 64x512x4096 u16", velox_rows, "spectrum")):  # fmt: skip
        array = make(args.folder)
        for name, chunks, spec in variants(array, unit):
            rows.append([label, name, *measure_variant(array, out, chunks, spec)])
    out.unlink(missing_ok=True)
    print(table(rows))
    print(load())


if __name__ == "__main__":
    main()
