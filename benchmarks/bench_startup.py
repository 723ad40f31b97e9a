"""Start-up: end-to-end ``dataconverter`` wall time for small files vs pynxtools' own floor.

Every run is a fresh ``dataconverter --reader ... --nxdl NXem`` process (Python
start, imports, conversion, validation, writing). The floor is the same command
with an empty reader registered in the child process (``convert()`` called
directly: the CLI only accepts installed readers) (it fills only the entry's
``definition`` and ``title``): what any NXem conversion with pynxtools costs.
Runs are interleaved (floor, DM3, EMD, TIFF, floor, ...); medians are reported.
Also listed: which heavy modules are imported by ``import pynxtools_em_plugin.reader``
and by recognising a DM3 (none of rsciio / dask / hyperspy / scipy may be).

Usage: python benchmarks/bench_startup.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from _measure import EM_DATA, ENV, PYTHON, MiB, load, measure, median_run, table

SAMPLES = {
    "DM3 (STEM image, 0.2 MB)": ["gatan/2D/test_STEM_image.dm3"],
    "Velox EMD (TEM stack)": ["velox/fei_example_tem_stack.emd"],
    "TIFF (FEI Helios SEM)": ["tiff/FEI-Helios-Ebeam-16bits.tif"],
}
HEAVY = ("rsciio", "dask", "hyperspy", "scipy", "skimage", "sparse", "numba", "pint")


def floor(output: str) -> None:
    """pynxtools' ``dataconverter`` CLI with an empty reader: its own start-up and writing cost."""
    from pynxtools.dataconverter import cli, convert
    from pynxtools.dataconverter.readers.base.reader import BaseReader

    class EmptyReader(BaseReader):
        supported_nxdls = ("NXem",)

        def read(self, template=None, file_paths=(), objects=None, **kwargs):
            template["/ENTRY[entry1]/definition"] = "NXem"
            template["/ENTRY[entry1]/title"] = "floor"
            return template

    original = convert.get_reader
    convert.get_reader = lambda name: EmptyReader if name == "floor" else original(name)
    assert cli.convert  # the CLI module is imported as by ``dataconverter``; its option parsing is skipped
    convert.convert(input_file=(), reader="floor", nxdl="NXem", output=output)


def imported_modules(sample: Path) -> list[str]:
    """Heavy top-level modules present after importing the reader and detecting ``sample``'s format."""
    code = (
        "import sys; import pynxtools_em_plugin.reader; from pynxtools_em_plugin.formats import detect; "
        f"from pathlib import Path; detect(Path({str(sample)!r})); "
        f"print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r} and '.' not in m)))"
    )
    return subprocess.run([PYTHON, "-c", code], env=ENV, capture_output=True, text=True, check=True).stdout.split()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    dataconverter = str(Path(PYTHON).with_name("dataconverter"))
    print(load())
    with tempfile.TemporaryDirectory() as tmp:
        output = str(Path(tmp) / "out.nxs")
        commands = {"floor: empty reader": [PYTHON, __file__, "--child-floor", output]}
        for label, files in SAMPLES.items():
            inputs = [str(EM_DATA / f) for f in files]
            commands[label] = [dataconverter, "--reader", "em_plugin", "--nxdl", "NXem", *inputs, "--output", output]
        dm3 = str(EM_DATA / SAMPLES_DM3)
        commands["import pynxtools' converter"] = [PYTHON, "-c", "import pynxtools.dataconverter.convert"]
        commands["  + import reader, detect DM3"] = [PYTHON, "-c", IMPORT_AND_DETECT.format(dm3)]
        runs = {label: [] for label in commands}
        for _ in range(args.repeat):
            for label, command in commands.items():
                runs[label].append(measure(command))
    base = median_run(runs["floor: empty reader"]).seconds
    rows = [["conversion", "median wall time (s)", "ratio to floor", "peak RSS"]]
    for label, results in runs.items():
        run = median_run(results)
        assert run.returncode == 0, label
        rows.append([label, f"{run.seconds:.2f}", f"{run.seconds / base:.2f}", f"{run.peak_rss / MiB:.0f} MiB"])
    print(table(rows))
    print(f"heavy modules after importing the reader and detecting a DM3: {imported_modules(EM_DATA / SAMPLES_DM3)}")
    print(load())


SAMPLES_DM3 = next(iter(SAMPLES.values()))[0]
IMPORT_AND_DETECT = (
    "import pynxtools.dataconverter.convert; import pynxtools_em_plugin.reader; from pathlib import Path; "
    "from pynxtools_em_plugin.formats import detect; detect(Path({!r}))"
)

if __name__ == "__main__":
    if sys.argv[1:2] == ["--child-floor"]:
        floor(sys.argv[2])
    else:
        main()
