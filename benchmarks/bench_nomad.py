"""Processing time of raw files inside NOMAD versus ``em-plugin convert``.

In one warm NOMAD process (pynxtools' NeXus metainfo built once beforehand, as in
an Oasis worker), each file is matched, parsed (converted to NXem, then mapped by
pynxtools' NeXus parser) and normalised by NOMAD's whole normalizer chain, with the
search quantities collected as for indexing. Each file is copied alone into a
folder of its own first (no session entry is made). References: the command
``em-plugin convert FILE -o OUT`` (what a user runs, start-up included), and the
same package's ``convert`` of the same file in the same warm process (stricter).

Usage: python benchmarks/bench_nomad.py [FILE ...] [--repeat 3]
(default: a small DM3 and Velox file of ../shared/em-data, plus the large files
``make_large.py /tmp/em-bench`` wrote, when present).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from _measure import EM_DATA, ENV, PYTHON

BENCH_DIR = Path("/tmp/em-bench")
DEFAULT_FILES = [
    EM_DATA / "gatan/2D/test_STEM_image.dm3",
    EM_DATA / "velox/example_velox_EELS_EDS.emd",
    *sorted(BENCH_DIR.glob("velox_si_*.emd")),
    *sorted(BENCH_DIR.glob("merlin_*.mib")),
]


def nomad_seconds(path: Path) -> float:
    from nomad.client import normalize_all, parse

    started = time.perf_counter()
    archive = parse(str(path))[0]
    normalize_all(archive)
    archive.metadata.apply_archive_metadata(archive)
    return time.perf_counter() - started


def convert_seconds(path: Path, out: Path) -> float:
    from pynxtools_em_plugin.conversion import ConversionSettings, convert
    from pynxtools_em_plugin.nomad.matching import conversion_inputs

    _, companions, _ = conversion_inputs(path)
    started = time.perf_counter()
    outcome = convert([path, *companions], out, ConversionSettings(overwrite=True))
    assert outcome.status == "converted", outcome.message
    return time.perf_counter() - started


def command_seconds(path: Path, out: Path) -> float:
    """``em-plugin convert`` as a command (a new process, as a user runs it; ``out`` is its output folder)."""
    command = [PYTHON, "-m", "pynxtools_em_plugin.cli", "convert", str(path), "-o", str(out), "--overwrite"]
    started = time.perf_counter()
    subprocess.run(command, env=ENV, check=True, capture_output=True)
    return time.perf_counter() - started


def alone(path: Path, folder: Path) -> Path:
    """The file (and its companions) copied into a folder of its own."""
    from pynxtools_em_plugin.nomad.matching import conversion_inputs

    folder.mkdir()
    _, companions, _ = conversion_inputs(path)
    for file in (path, *companions):
        shutil.copy(file, folder / file.name)
    return folder / path.name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    files = [f for f in (args.files or DEFAULT_FILES) if f.is_file()]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        warm_up = alone(DEFAULT_FILES[0], work / "warm")
        started = time.perf_counter()
        nomad_seconds(warm_up)  # builds pynxtools' NeXus metainfo: once per NOMAD process
        print(f"one-time NOMAD start (metainfo build): {time.perf_counter() - started:.1f} s")
        print(
            f"{'file':<32} {'MiB':>7} {'command s':>9} {'convert s':>9} {'NOMAD s':>8} {'/command':>8} {'/convert':>8}"
        )
        for number, path in enumerate(files):
            copy = alone(path, work / f"f{number}")
            size = sum(p.stat().st_size for p in copy.parent.iterdir()) / 2**20
            out = work / f"f{number}.nxs"
            command = statistics.median(command_seconds(copy, work / f"f{number}_out") for _ in range(args.repeat))
            converted = statistics.median(convert_seconds(copy, out) for _ in range(args.repeat))
            processed = statistics.median(nomad_seconds(copy) for _ in range(args.repeat))
            print(
                f"{path.name:<32} {size:9.1f} {command:9.2f} {converted:9.2f} {processed:9.2f} "
                f"{processed / command:9.2f} {processed / converted:9.2f}"
            )


if __name__ == "__main__":
    main()
