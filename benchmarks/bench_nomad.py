"""Processing time of raw files inside NOMAD versus ``em-plugin convert``.

In one warm NOMAD process (pynxtools' NeXus metainfo built once beforehand, as in
an Oasis worker), each file is matched, parsed (converted to NXem, then mapped by
pynxtools' NeXus parser) and normalised by NOMAD's whole normalizer chain, with the
search quantities collected as for indexing. Each file is copied alone into a
folder of its own first (no session entry is made). The reference is the same
package's ``convert`` of the same file in the same warm process; ``em-plugin
convert`` as a command adds its process start-up (see bench_startup.py).

Usage: python benchmarks/bench_nomad.py [FILE ...] [--repeat 3]
(default: a small DM3 and Velox file of ../shared/em-data, plus the large files
``make_large.py /tmp/em-bench`` wrote, when present).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from _measure import EM_DATA

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
        print(f"{'file':<40} {'MiB':>8} {'convert s':>10} {'NOMAD s':>9} {'ratio':>6}")
        for number, path in enumerate(files):
            copy = alone(path, work / f"f{number}")
            size = sum(p.stat().st_size for p in copy.parent.iterdir()) / 2**20
            converted = [convert_seconds(copy, work / f"f{number}.nxs") for _ in range(args.repeat)]
            processed = [nomad_seconds(copy) for _ in range(args.repeat)]
            ratio = statistics.median(processed) / statistics.median(converted)
            print(
                f"{path.name:<40} {size:8.1f} {statistics.median(converted):10.2f} "
                f"{statistics.median(processed):9.2f} {ratio:6.2f}"
            )


if __name__ == "__main__":
    main()
