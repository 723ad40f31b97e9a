"""Start-up: end-to-end ``dataconverter`` time for small files vs pynxtools' own floor and vs pynxtools-em.

Every run is a fresh ``dataconverter --reader ... --nxdl NXem`` process (Python
start, imports, conversion, validation, writing). The floor is the same command
with an empty reader registered in the child process (``convert()`` called
directly: the CLI only accepts installed readers) (it fills only the entry's
``definition`` and ``title``): what any NXem conversion with pynxtools costs.
The other NXem converter, pynxtools-em (``--reader em``), runs from its own
environment (``--pem .../bin/dataconverter``; e.g. ``python -m venv /work/venv-pem &&
/work/venv-pem/bin/pip install pynxtools-em==0.4.6``) on the same files; its floor is
measured there too. Runs are interleaved (floor, DM3, EMD, TIFF, pynxtools-em..., floor,
...); medians of wall time and of CPU time (user + system: what a busy machine does not
inflate) are reported. Also listed: which heavy modules are imported by ``import
pynxtools_em_plugin.reader`` and by recognising a DM3 (none of rsciio / dask / hyperspy /
scipy may be).

Our package is byte-compiled first (``compileall``), as ``pip install`` leaves an installed package: an editable
checkout under ``PYTHONDONTWRITEBYTECODE`` would otherwise compile its modules in every process (0.07 s).

``--phases FILE`` instead shows where one conversion's CPU time goes: pynxtools' steps
(import, template, validation, writing) and the reader's, timed in one process.

Usage: python benchmarks/bench_startup.py [--repeat 5] [--pem /work/venv-pem/bin/dataconverter] [--phases FILE]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from itertools import pairwise
from pathlib import Path

from _measure import EM_DATA, ENV, PYTHON, load, measure, median_run, table

SAMPLES = {
    "DM3 (STEM image, 0.1 MB)": ["gatan/2D/test_STEM_image.dm3"],
    "Velox EMD (EDS SI 16x16, 1.1 MB)": ["velox/Test SI 16x16 215 kx.emd"],
    "TIFF (FEI Helios SEM, 1.0 MB)": ["tiff/FEI-Helios-Ebeam-16bits.tif"],
}
HEAVY = ("rsciio", "dask", "hyperspy", "scipy", "skimage", "sparse", "numba", "pint")
FLOOR = "floor: empty reader"
PEM_DEFAULT = "/work/venv-pem/bin/dataconverter"


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
    parser.add_argument("--pem", default=PEM_DEFAULT, help="dataconverter of an environment with pynxtools-em")
    parser.add_argument("--phases", type=Path, help="time the steps of converting this file instead")
    args = parser.parse_args()
    _byte_compile_package()
    if args.phases:
        print(subprocess.run([PYTHON, __file__, "--child-phases", str(args.phases)], env=ENV, text=True,
                             capture_output=True, check=True).stdout)  # fmt: skip
        return
    pem = args.pem if Path(args.pem).is_file() else None
    print(load())
    with tempfile.TemporaryDirectory() as tmp:
        commands = _commands(Path(tmp), pem)
        runs = {label: [] for label in commands}
        for _ in range(args.repeat):
            for label, (command, env) in commands.items():
                runs[label].append(measure(command, env=env))
    medians = {label: median_run(results) for label, results in runs.items()}
    for label, run in medians.items():
        assert run.returncode == 0, label
    print(table(_rows(medians)))
    print(f"heavy modules after importing the reader and detecting a DM3: {imported_modules(EM_DATA / SAMPLES_DM3)}")
    print(load())


def _byte_compile_package() -> None:
    """Our modules' bytecode, as an installed package has it (pynxtools' and pynxtools-em's have theirs)."""
    package = "os.path.dirname(pynxtools_em_plugin.__file__)"
    code = f"import compileall, os, pynxtools_em_plugin; compileall.compile_dir({package}, quiet=True)"
    subprocess.run([PYTHON, "-c", code], env=ENV, check=True)


def _commands(tmp: Path, pem: str | None) -> dict[str, tuple[list[str], dict[str, str]]]:
    """label -> (command, environment), in the order they are interleaved."""
    output = str(tmp / "out.nxs")
    dataconverter = str(Path(PYTHON).with_name("dataconverter"))
    em_plugin = [PYTHON, "-m", "pynxtools_em_plugin.cli", "convert"]
    commands = {FLOOR: ([PYTHON, __file__, "--child-floor", output], ENV)}
    pem_env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    if pem:
        pem_python = str(Path(pem).with_name("python"))
        commands[f"pynxtools-em {FLOOR}"] = ([pem_python, __file__, "--child-floor", output], pem_env)
    for label, files in SAMPLES.items():
        inputs = [str(EM_DATA / f) for f in files]
        commands[label] = ([dataconverter, "--reader", "em_plugin", "--nxdl", "NXem", *inputs, "--output", output], ENV)
        commands[f"{label}, em-plugin convert"] = ([*em_plugin, *inputs, "-o", str(tmp), "--overwrite"], ENV)
        if pem:
            command = [pem, "--reader", "em", "--nxdl", "NXem", *inputs, "--output", output]
            commands[f"{label}, pynxtools-em 0.4.6"] = (command, pem_env)
    dm3 = str(EM_DATA / SAMPLES_DM3)
    commands["import pynxtools' converter"] = ([PYTHON, "-c", "import pynxtools.dataconverter.convert"], ENV)
    commands["  + import reader, detect DM3"] = ([PYTHON, "-c", IMPORT_AND_DETECT.format(dm3)], ENV)
    return commands


def _rows(medians: dict) -> list[list[str]]:
    """Wall and CPU time, CPU above the floor, and for each sample the pynxtools-em figures beside ours."""
    floor = medians[FLOOR]
    rows = [
        ["conversion", "wall (s)", "CPU (s)", "CPU above floor (s)", "pynxtools-em CPU (s)", "speed-up (wall, CPU)"]
    ]
    for label, run in medians.items():
        if "pynxtools-em" in label and FLOOR not in label:
            continue
        pem = medians.get(f"{label.removesuffix(', em-plugin convert')}, pynxtools-em 0.4.6")
        row = [label, f"{run.seconds:.2f}", f"{run.cpu:.2f}", f"{run.cpu - floor.cpu:+.2f}", "", ""]
        if pem is not None:
            row[4] = f"{pem.cpu:.2f}"
            row[5] = f"{pem.seconds / run.seconds:.1f}x, {pem.cpu / run.cpu:.1f}x"
        rows.append(row)
    return rows


SAMPLES_DM3 = next(iter(SAMPLES.values()))[0]
IMPORT_AND_DETECT = (
    "import pynxtools.dataconverter.convert; import pynxtools_em_plugin.reader; from pathlib import Path; "
    "from pynxtools_em_plugin.formats import detect; detect(Path({!r}))"
)


def phases(path: Path) -> None:
    """CPU seconds of each step of ``dataconverter``'s conversion of ``path``, in a fresh process."""
    import time

    marks = [("Python start", time.process_time())]
    from pynxtools.dataconverter import helpers
    from pynxtools.dataconverter.template import Template

    marks.append(("import pynxtools' converter", time.process_time()))
    from pynxtools_em_plugin.reader import EmPluginReader

    marks.append(("import the em_plugin reader", time.process_time()))
    nxdl_root, nxdl_path = helpers.get_nxdl_root_and_path("NXem")
    template = Template()
    helpers.generate_template_from_nxdl(nxdl_root, template)
    marks.append(("NXem template", time.process_time()))
    data = EmPluginReader().read(template=Template(template), file_paths=(str(path),))
    marks.append(("reader (format library, mapping, template filling)", time.process_time()))
    from pynxtools.dataconverter.validation import validate_dict_against

    validate_dict_against("NXem", data)
    marks.append(("validation", time.process_time()))
    from pynxtools.dataconverter.writer import Writer

    with tempfile.TemporaryDirectory() as tmp:
        Writer(data=data, nxdl_f_path=nxdl_path, output_path=str(Path(tmp) / "out.nxs")).write()
    marks.append(("writing", time.process_time()))
    steps = [[label, f"{t - before:.2f}"] for (_, before), (label, t) in pairwise(marks)]
    rows = [["step", "CPU (s)"], ["Python start", f"{marks[0][1]:.2f}"], *steps]
    print(table([*rows, ["total", f"{marks[-1][1]:.2f}"]]))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child-floor"]:
        floor(sys.argv[2])
    elif sys.argv[1:2] == ["--child-phases"]:
        phases(Path(sys.argv[2]))
    else:
        main()
