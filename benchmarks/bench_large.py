"""Large data: em-plugin conversion vs a plain h5py copy of the same array, same chunks and filter.

For each large file made by make_large.py, in the same run and interleaved:
- ``em-plugin convert FILE -o OUT`` (one process, streaming path),
- a plain h5py copy: the frames memory-mapped with numpy and written block by
  block into one dataset with the chunking and compression em-plugin uses,
- the floor: ``import pynxtools_em_plugin.reader`` + pynxtools' converter in a
  process that converts nothing (its RSS is paid by every conversion).

"data" is the array size (for the Velox SI the dense uint16 array; the file holds
its event streams). Usage: python benchmarks/bench_large.py [DIR=/tmp/em-bench] [--repeat 2]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from _measure import PYTHON, MiB, load, measure, median_run, table

HERE = Path(__file__).resolve().parent


def plain_copy(source: Path, output: Path) -> None:
    """The reference, no NeXus and no metadata: MIB frames memory-mapped with numpy, written block
    by block; a Velox SI decoded whole by RosettaSciIO, then written. Same chunks and filter."""
    import h5py
    import numpy as np

    from pynxtools_em_plugin.nexus import streaming

    if source.suffix == ".mib":
        rows, cols = (int(n) for n in source.stem.split("_")[-1].split("x"))
        frames = np.memmap(source, mode="r", dtype=[("h", "S384"), ("d", "u1", (256, 256))], shape=(rows, cols))
        array = frames["d"]
    else:
        from rsciio.emd import file_reader

        array = next(d["data"] for d in file_reader(str(source)) if d["data"].ndim == 3)
    with h5py.File(output, "w") as h5:
        dataset = h5.create_dataset(
            "data",
            shape=array.shape,
            dtype=array.dtype,
            chunks=streaming.frame_chunks(array.shape, array.dtype.itemsize),
            compression="gzip",
            compression_opts=streaming.GZIP_LEVEL,
        )
        for block in streaming.blocks(array.shape, array.dtype.itemsize):
            dataset[block] = array[block]


def _data_bytes(source: Path) -> int:
    """Size of the array: the MIB file; the dense spectrum image (not the event streams) for Velox."""
    if source.suffix == ".mib":
        return source.stat().st_size
    side = int(source.stem.split("_")[-1].split("x")[0])
    return side * side * 4096 * 2


def _floor() -> None:
    import pynxtools.dataconverter.convert  # noqa: F401

    import pynxtools_em_plugin.reader  # noqa: F401


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=Path("/tmp/em-bench"))
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    out = args.folder / "out"
    rows = [["file", "data", "what", "time (s)", "ratio", "peak RSS", "anon", "file-backed", "RSS / data"]]
    print(load())
    for source in [*sorted(args.folder.glob("merlin_*.mib")), *sorted(args.folder.glob("velox_si_*.emd"))]:
        size = _data_bytes(source)
        commands = {
            "em-plugin convert": [PYTHON, "-m", "pynxtools_em_plugin.cli", "convert", str(source), "-o", str(out)],
            "plain h5py copy": [PYTHON, __file__, "--child-copy", str(source), str(out / "plain.h5")],
            "floor: imports only": [PYTHON, __file__, "--child-floor"],
        }
        (out).mkdir(parents=True, exist_ok=True)
        runs = {name: [] for name in commands}
        for _ in range(args.repeat):
            for name, command in commands.items():
                shutil.rmtree(out, ignore_errors=True)
                out.mkdir(parents=True)
                runs[name].append(measure(command))
        reference = median_run(runs["plain h5py copy"]).seconds
        for name, results in runs.items():
            run = median_run(results)
            rows.append(
                [
                    source.name,
                    f"{size / 2**30:.2f} GiB",
                    name,
                    f"{run.seconds:.1f}",
                    f"{run.seconds / reference:.2f}",
                    f"{run.peak_rss / MiB:.0f} MiB",
                    f"{run.peak_anon / MiB:.0f} MiB",
                    f"{run.peak_file / MiB:.0f} MiB",
                    f"{run.peak_rss / size:.1%}",
                ]
            )
        shutil.rmtree(out, ignore_errors=True)
    print(table(rows))
    print(load())


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child-copy"]:
        plain_copy(Path(sys.argv[2]), Path(sys.argv[3]))
    elif sys.argv[1:2] == ["--child-floor"]:
        _floor()
    else:
        main()
