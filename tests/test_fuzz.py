"""Fuzzing: damaged, truncated and renamed files end in a conversion or one clear error.

For every supported format, small real files (``../shared/em-data``; PNG and
JPEG made here) are mutated by a seeded loop: truncations at structural and
random offsets, flipped bytes in the header and anywhere, "interesting"
integers (0, -1, 2^31, 10^12...) written over header words (length and
dimension fields), numbers in text headers replaced by absurd ones, a zero-length
file, and the unchanged file under another format's extension. Each case is
converted through the reader (pynxtools' ``convert``) in a worker process
(``fuzz_worker.py``) with an address-space limit and a time limit per case.

Accepted: an NXem file whose ``@default`` chain ends at an NXdata, or one
ConversionError naming the file with no output left behind. Everything else
fails the test: other exceptions, hangs, crashes of the worker, allocations
beyond the memory limit or out of proportion to the input, changed inputs.
A failure names the file, the mutation and its parameters; ``mutate()`` rebuilds
the damaged file from them.

CI runs about ``EM_PLUGIN_FUZZ_CASES`` (default 8) random mutations per seed
file on top of the fixed cases; set it higher (and ``EM_PLUGIN_FUZZ_SEED`` to
another value, ``EM_PLUGIN_FUZZ_MORE=1`` for more seed files) for a campaign by hand, e.g.
``EM_PLUGIN_FUZZ_CASES=200 EM_PLUGIN_FUZZ_MORE=1 python -m pytest tests/test_fuzz.py``.
"""

from __future__ import annotations

import json
import os
import random
import re
import select
import shutil
import signal
import subprocess
import sys
import threading
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from conftest import EM_DATA, EXAMPLES, run_dataconverter
from fixtures_tiff import write_png
from pynxtools_em_plugin.formats import all_formats
from pynxtools_em_plugin.formats._hdf5_probe import PROBE_SECONDS_ENV

RANDOM_CASES = int(os.environ.get("EM_PLUGIN_FUZZ_CASES", "8"))
BASE_SEED = os.environ.get("EM_PLUGIN_FUZZ_SEED", "em-plugin")
CASE_SECONDS = float(os.environ.get("EM_PLUGIN_FUZZ_CASE_SECONDS", "60"))
WORKERS = int(os.environ.get("EM_PLUGIN_FUZZ_WORKERS", str(min(2, os.cpu_count() or 1))))
WORKER_SCRIPT = Path(__file__).with_name("fuzz_worker.py")

#: Per format, groups of files converted together (main file first), relative to the
#: real-data folder; the smallest real files of each format (a JEOL .pts decodes to 1 GiB).
SEEDS: dict[str, list[list[str]]] = {
    "gatan": [["gatan/2D/test-1.dm4"], ["gatan/1D/test-1.dm3"]],
    "velox": [["velox/fei_example_tem_stack.emd"]],
    "tia": [
        [
            "tia/16x16_STEM_BF_DF_acquire.emi",
            "tia/16x16_STEM_BF_DF_acquire_1.ser",
            "tia/16x16_STEM_BF_DF_acquire_2.ser",
        ],
        ["tia/16x16-point_spectrum-1x1024_1.ser"],
    ],
    "tiff": [["tiff/test_loading_image_saved_with_DM.tif"], ["tiff/FEI-Helios-Ebeam-16bits.tif"]],
    "bruker": [["bruker/bruker_nano.spx"], ["bruker/test_TEM.bcf"]],
    "phenom": [["phenom/Elid2Version0.elid"]],
    "jeol": [["jeol/Sample/00_View000/View000_0000001.map"], ["jeol/Sample/00_View000/View000_0000000.img"]],
    "msa": [["msa/example1.msa"], ["msa/ISO_22029_2022_compliance.msa"]],
    "protochips": [["protochips/protochips_gas_cell.csv"]],
    "quantumdetector": [["quantumdetector/001_4x2_6bit.mib", "quantumdetector/001_4x2_6bit.hdr"]],
    "mrc": [["mrc/20241021_00405_movie.mrc", "mrc/20241021_00405_info.txt"], ["mrc/HAADFscan.mrc"]],
    "blockfile": [["blockfile/test1.blo"]],
    "ncem_emd": [["ncem_emd/example_image.emd"]],
    "tvips": [["tvips/test_tvips_2345_000.tvips"]],
    "edax": [["edax/647_leo_edax_test.spc"]],
    "hyperspy": [["hspy/example2_v3.1.hspy"]],
    "arina": [["arina/test_00_master.h5", "arina/test_00_data_000001.h5", "arina/test_00.h5"]],
    "delmic": [["delmic/sparc-hyperspectral.h5"]],
    "hamamatsu": [["hamamatsu/photon_counting.img"]],
    "dens": [["dens/file1.dens"]],
    "impulse": [["impulse/StubExperiment_Synchronized data.csv", "impulse/StubExperiment_Metadata.log"]],
    "pantarhei": [["pantarhei/panta_rhei_sample.prz"]],
    "semper": [["semper/example_image_2d.unf"], ["semper/example_image_int16.unf"]],
    "ripple": [
        ["ripple/test_ripple_sdim-1_ndim-2_float64_meta.rpl", "ripple/test_ripple_sdim-1_ndim-2_float64_meta.raw"]
    ],
    "digitalsurf": [["digitalsurf/test_spectrum_compressed.pro"], ["digitalsurf/test_spectral_map.sur"]],
    "ebsd": [["ebsd/ang/S00.ANG"], ["ebsd/edax_h5ebsd/patterns.h5"]],
    "oxford_ebsp": [["ebsd/oxford_binary/patterns.ebsp"]],
    "edax_up": [["ebsd/edax_binary/edax_binary.up2"]],
}
#: More seed files for campaigns by hand (``EM_PLUGIN_FUZZ_MORE=1``).
MORE_SEEDS: dict[str, list[list[str]]] = {
    "gatan": [["gatan/3D/test-1.dm4"], ["gatan/2D/test_fft_packed_complex8.dm4"], ["gatan/1D/test-EELS_spectrum.dm3"]],
    "velox": [["velox/fei_example_dpc_titles.emd"]],
    "tia": [
        ["tia/64x64_TEM_images_acquire.emi", "tia/64x64_TEM_images_acquire_1.ser"],
        ["tia/16x16-spectrum_image-5x5x1024.emi", "tia/16x16-spectrum_image-5x5x1024_1.ser"],
    ],
    "tiff": [["tiff/olympus_SIS.tif"], ["tiff/test_tiff_Zeiss_SEM_512pix.tif"], ["tiff/JEOL-SightX-TEM-mag-dummy.tif"]],
    "bruker": [["bruker/30x30_instructively_packed_16bit_compressed.bcf"]],
    "jeol": [["jeol/Sample/00_View000/View000_0000004.map"]],
    "quantumdetector": [["quantumdetector/001_4x2_6bit.mib"]],
    "ncem_emd": [["ncem_emd/Si100_3D.emd"]],
    "hyperspy": [["zspy/signal1d_10x10-ZipStore.zspy"]],
}
MORE = os.environ.get("EM_PLUGIN_FUZZ_MORE") == "1"
#: Made by the tests (no plain PNG/JPEG among the shared files) or shipped with the project.
GENERATED_SEEDS = {
    "image": [".png", ".jpg"],
    "velox": ["example_haadf.emd"],
    "nordif": ["Pattern.dat"],
    "kikuchipy_h5": ["kikuchipy.h5"],
    "emsoft_ebsd": ["emsoft.h5"],
}

#: Values written over header words: zero, small, sign bit, all ones, absurd element counts.
_WORDS_4 = (0, 1, 0xFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 1_000_000)
_WORDS_8 = (10**12, 1 << 62, (1 << 64) - 1, 1 << 40)
_DIMENSIONS = frozenset({8, 16, 30, 32, 64, 128, 256, 512, 1024, 2048, 4096})
_TEXT_NUMBERS = ("0", "-1", "999999999999", "4294967296", "1e308", "nan", "", "2.5")
_DIGITS = re.compile(rb"\d+")
_ALL_EXTENSIONS = sorted({ext.lower() for fmt in all_formats() for ext in fmt.EXTENSIONS})


# ---- cases ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One mutation of one file of a seed group: ``kind`` with its parameters."""

    group: tuple[Path, ...]
    target: int  # index of the mutated file in the group
    kind: str  # empty, truncate, flip, word, dim, digits, rename
    params: tuple = ()

    @property
    def label(self) -> str:
        return f"{self.group[self.target].name} {self.kind}{list(self.params) if self.params else ''}"

    def materialise(self, folder: Path) -> list[Path]:
        """Write the group into ``folder`` with the mutation applied; the files to convert."""
        folder.mkdir(parents=True)
        paths = []
        for index, source in enumerate(self.group):
            content = source.read_bytes()
            name = source.name
            if index == self.target:
                content, name = mutate(content, name, self.kind, self.params)
            (folder / name).write_bytes(content)
            paths.append(folder / name)
        return paths


def mutate(content: bytes, name: str, kind: str, params: tuple) -> tuple[bytes, str]:
    data = bytearray(content)
    if kind == "empty":
        return b"", name
    if kind == "truncate":
        return bytes(data[: params[0]]), name
    if kind == "flip":
        for position, mask in zip(params[0::2], params[1::2], strict=True):
            data[position] ^= mask
    elif kind in ("word", "dim"):
        offset, width, order, value = params
        data[offset : offset + width] = value.to_bytes(width, order)
    elif kind == "digits":
        match = list(_DIGITS.finditer(bytes(data[:4096])))[params[0]]
        data[match.start() : match.end()] = params[1].encode()
    elif kind == "rename":
        return bytes(data), Path(name).stem + params[0]
    return bytes(data), name


def cases_for(group: tuple[Path, ...], count: int, seed: str) -> list[Case]:
    """Fixed cases (empty, structural truncations, a foreign extension) and ``count`` random ones."""
    rng = random.Random(f"{seed}:{'+'.join(p.name for p in group)}")
    size = group[0].stat().st_size
    cuts = sorted({n for n in (16, 256, size // 2, size - 1) if 0 < n < size})
    foreign = rng.choice([e for e in _ALL_EXTENSIONS if e != group[0].suffix.lower()])
    cases = [Case(group, 0, "empty"), *(Case(group, 0, "truncate", (n,)) for n in cuts)]
    cases.append(Case(group, 0, "rename", (foreign,)))
    cases += [random_case(group, rng) for _ in range(count)]
    return cases


def random_case(group: tuple[Path, ...], rng: random.Random) -> Case:
    target = 0 if len(group) == 1 or rng.random() < 0.7 else rng.randrange(1, len(group))
    content = group[target].read_bytes()
    size = len(content)
    text = _is_text(content)
    kind = rng.choices(
        ["truncate", "flip", "word", "dim", "digits"],
        weights=[3, 3, 1 if text else 3, 0 if text else 3, 4 if text else 1],
    )[0]
    header = min(size, 1024)
    if kind == "truncate":
        return Case(group, target, kind, (rng.randrange(1, size),))
    if kind == "flip":
        positions = [
            rng.randrange(header) if rng.random() < 0.6 else rng.randrange(size) for _ in range(rng.choice((1, 1, 3)))
        ]
        return Case(group, target, kind, tuple(x for p in positions for x in (p, rng.randrange(1, 256))))
    if kind == "digits":
        runs = len(list(_DIGITS.finditer(content[:4096])))
        if runs:
            return Case(group, target, kind, (rng.randrange(runs), rng.choice(_TEXT_NUMBERS)))
    if kind == "dim":
        fields = dimension_fields(group[target])
        if fields:
            offset, width, order = rng.choice(fields)
            return Case(group, target, kind, (offset, width, order, rng.choice(_WORDS_4 if width == 4 else _WORDS_8)))
    width = rng.choice((4, 4, 8))
    span = max(1, (min(size, 2048) if rng.random() < 0.7 else size) - width)
    offset = min(rng.randrange(0, span, 4 if span > 4 else 1), size - width)
    value = rng.choice(_WORDS_4 if width == 4 else _WORDS_8)
    return Case(group, target, "word", (max(offset, 0), width, rng.choice(("little", "big")), value))


@cache
def dimension_fields(path: Path) -> list[tuple[int, int, str]]:
    """(offset, width, byte order) of integers that look like a size or dimension (64, 256, 1024...).

    Headers store dimensions and lengths anywhere (DM tag groups, HDF5 dataspace messages, TIFF
    directories at the end), so the first MiB is searched, aligned or not.
    """
    found = []
    view = path.read_bytes()[: 1 << 20]
    for width, order in ((4, "little"), (4, "big"), (8, "little")):
        for offset in range(0, len(view) - width + 1):
            if int.from_bytes(view[offset : offset + width], order) in _DIMENSIONS:
                found.append((offset, width, order))
    return found


def _is_text(content: bytes) -> bool:
    head = content[:1024]
    return bool(head) and b"\x00" not in head and sum(32 <= b < 127 or b in b"\r\n\t" for b in head) > 0.95 * len(head)


def seed_groups(format_name: str, generated: Path) -> list[tuple[Path, ...]]:
    chosen = SEEDS.get(format_name, []) + (MORE_SEEDS.get(format_name, []) if MORE else [])
    groups = [tuple(EM_DATA / p for p in group) for group in chosen]
    groups = [g for g in groups if all(p.exists() for p in g)]
    for item in GENERATED_SEEDS.get(format_name, []):
        if item.startswith("."):
            groups.append((write_png(generated, suffix=item),))
        elif item in _EBSD_SEEDS:
            groups.append(_EBSD_SEEDS[item](generated))
        else:
            groups.append((EXAMPLES / item,))
    return groups


def _nordif_seed(generated: Path) -> tuple[Path, ...]:
    """A small NORDIF Pattern.dat with its Setting.txt (no NORDIF file among the shared ones)."""
    import numpy as np

    from test_format_ebsd_patterns import write_nordif

    folder = generated / "nordif"
    folder.mkdir(exist_ok=True)
    return write_nordif(folder, np.random.default_rng(5).integers(0, 255, (2, 3, 10, 12), dtype=np.uint8))


def _kikuchipy_seed(generated: Path) -> tuple[Path, ...]:
    import numpy as np

    from test_format_ebsd_patterns import write_kikuchipy_h5ebsd

    patterns = np.random.default_rng(5).integers(0, 255, (2, 3, 10, 12), dtype=np.uint8)
    return (write_kikuchipy_h5ebsd(generated / "kikuchipy.h5", patterns),)


def _emsoft_seed(generated: Path) -> tuple[Path, ...]:
    import numpy as np

    from test_format_ebsd_patterns import write_emsoft_ebsd

    patterns = np.random.default_rng(5).random((3, 10, 12)).astype(np.float32)
    return (write_emsoft_ebsd(generated / "emsoft.h5", patterns),)


#: Pattern formats of which no file is shared: seed files written by their test module's writers.
_EBSD_SEEDS = {"Pattern.dat": _nordif_seed, "kikuchipy.h5": _kikuchipy_seed, "emsoft.h5": _emsoft_seed}


# ---- workers -------------------------------------------------------------------------


class Worker:
    """One ``fuzz_worker.py`` process; restarted after a hang or a crash."""

    def __init__(self, log: Path):
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(WORKER_SCRIPT)],
                env={**os.environ, PROBE_SECONDS_ENV: os.environ.get(PROBE_SECONDS_ENV, "10")},
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                cwd=WORKER_SCRIPT.parent,
                start_new_session=True,
            )
        answer = self._answer(120.0)
        if answer is None or "ready" not in answer:
            raise RuntimeError(f"fuzz worker did not start; see {self.log}")

    def run(self, inputs: list[Path], output: Path) -> dict:
        if self.process is None or self.process.poll() is not None:
            self.start()
        request = json.dumps({"inputs": [str(p) for p in inputs], "output": str(output)}) + "\n"
        self.process.stdin.write(request.encode())
        self.process.stdin.flush()
        try:
            answer = self._answer(CASE_SECONDS)
        except TimeoutError:
            self.stop()
            return {"outcome": "failure", "detail": f"no answer within {CASE_SECONDS:.0f} s: hangs"}
        if answer is None:
            code = self.process.wait()
            self.process = None
            tail = self.log.read_text(errors="replace").strip().splitlines()[-3:]
            return {"outcome": "failure", "detail": f"worker died (exit {code}); log: {tail}"}
        return answer

    def _answer(self, timeout: float) -> dict | None:
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        if not ready:
            raise TimeoutError
        line = self.process.stdout.readline()
        return json.loads(line) if line else None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None


class Pool:
    """Runs cases on a few workers at once; results in case order."""

    def __init__(self, folder: Path, workers: int):
        self.folder = folder
        self.workers = [Worker(folder / f"worker{i}.log") for i in range(workers)]
        self._next = 0

    def run(self, cases: list[Case]) -> list[dict]:
        results: list[dict] = [{}] * len(cases)
        lock = threading.Lock()
        pending = iter(range(len(cases)))

        def serve(worker: Worker) -> None:
            while True:
                with lock:
                    index = next(pending, None)
                    self._next += 1
                    folder = self.folder / f"case{self._next}"
                if index is None:
                    return
                inputs = cases[index].materialise(folder)
                results[index] = worker.run(inputs, folder / "out.nxs")
                shutil.rmtree(folder, ignore_errors=True)

        threads = [threading.Thread(target=serve, args=(w,)) for w in self.workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return results

    def close(self) -> None:
        for worker in self.workers:
            worker.stop()


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    workers = Pool(tmp_path_factory.mktemp("fuzz"), WORKERS)
    yield workers
    workers.close()


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("generated-seeds")


# ---- tests ---------------------------------------------------------------------------


@pytest.mark.parametrize("format_name", [fmt.NAME for fmt in all_formats()])
def test_damaged_files_convert_or_fail_with_one_clear_error(format_name, pool, generated):
    groups = seed_groups(format_name, generated)
    if not groups and not EM_DATA.is_dir():
        pytest.skip("needs the real data folder")
    assert groups, f"no fuzz seed file of {format_name} exists: add it to SEEDS (a format is never left unfuzzed)"
    cases = [case for group in groups for case in cases_for(group, RANDOM_CASES, BASE_SEED)]
    results = pool.run(cases)
    failures = [
        f"{case.label}: {r['detail']}" for case, r in zip(cases, results, strict=True) if r["outcome"] == "failure"
    ]
    outcomes = Counter(r["outcome"] for r in results)
    slowest = max(results, key=lambda r: r.get("seconds", 0))
    print(
        f"{format_name}: {len(cases)} cases, {dict(outcomes)}; slowest {slowest.get('seconds')} s, "
        f"most memory +{max(r.get('extra_mib', 0) for r in results)} MiB, "
        f"most warnings {max(r.get('warnings', 0) for r in results)}"
    )
    assert failures == [], f"{len(failures)} of {len(cases)} cases failed:\n" + "\n".join(failures)


# ---- command line ----------------------------------------------------------------------

#: Damaged files that once crashed, hung or exhausted the memory, and a plain truncation:
#: (file, mutation, parameters, what happened before the fix).
CLI_CASES = [
    ("bruker/test_TEM.bcf", "truncate", (182581,)),  # segmentation fault in RosettaSciIO's hypermap decoder
    ("tiff/FEI-Helios-Ebeam-16bits.tif", "dim", (486931, 4, "big", 4294967295)),  # 4 GiB strip allocated
    ("jeol/Sample/00_View000/View000_0000000.img", "dim", (30416, 4, "big", 2147483647)),  # image resized to it
    ("gatan/2D/test-1.dm4", "truncate", (13326,)),
    ("example_haadf.emd", "digits", (1, "999999999999")),  # the HDF5 library loops forever
]


def _cli_case(relative: str, kind: str, params: tuple, folder: Path) -> Path:
    source = EXAMPLES / relative if (EXAMPLES / relative).exists() else EM_DATA / relative
    if not source.exists():
        pytest.skip("needs the real data folder")
    content, name = mutate(source.read_bytes(), source.name, kind, params)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(content)
    return folder / name


def _dataconverter(path: Path) -> subprocess.CompletedProcess:
    quick_probe = {**os.environ, PROBE_SECONDS_ENV: "5"}
    return run_dataconverter(path.name, "--output", "out.nxs", cwd=path.parent, env=quick_probe)


def test_damaged_files_on_the_command_line_end_in_one_error_line(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    paths = [_cli_case(*case, tmp_path / f"case{n}") for n, case in enumerate(CLI_CASES)]
    with ThreadPoolExecutor(WORKERS) as pool:
        results = list(pool.map(_dataconverter, paths))
    for path, result in zip(paths, results, strict=True):
        assert result.returncode != 0, path.name
        assert "Traceback" not in result.stdout + result.stderr
        last = result.stderr.strip().splitlines()[-1]
        assert last.startswith(f"Error: {path.name}: "), last
        assert not (path.parent / "out.nxs").exists()


def test_batch_reports_each_damaged_file_and_converts_the_rest(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from pynxtools_em_plugin.cli import main

    folder = tmp_path / "session"
    damaged = [_cli_case(*case, folder / f"case{n}") for n, case in enumerate(CLI_CASES)]
    shutil.copy(EXAMPLES / "example_haadf.emd", folder / "good.emd")
    out = tmp_path / "out"
    monkeypatch.setenv(PROBE_SECONDS_ENV, "5")
    result = CliRunner().invoke(main, ["convert", str(folder), "-o", str(out), "-j", str(WORKERS)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    failed = [line for line in result.output.splitlines() if "FAILED" in line]
    assert sorted(len([p for p in damaged if str(p) in line]) for line in failed) == [1] * len(damaged)
    assert f"1 converted, 0 up to date, 0 skipped (output exists), {len(damaged)} failed" in result.output
    assert sorted(p.name for p in out.rglob("*") if p.is_file()) == ["good.nxs"]
