"""Shared test helpers: the real-data folder, conversions, validation capture."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import h5py
import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
EM_DATA = Path(os.environ.get("EM_PLUGIN_TEST_DATA", REPO.parent / "shared" / "em-data"))
DATACONVERTER = Path(sys.executable).with_name("dataconverter")


def run_dataconverter(
    *args: str, cwd: Path, env: dict | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    """pynxtools' ``dataconverter`` with our reader, as a user runs it (output captured, exit code kept)."""
    return subprocess.run(
        [str(DATACONVERTER), "--reader", "em_plugin", "--nxdl", "NXem", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


#: Validation messages about required NXem fields the vendor files do not hold.
MISSING_REQUIRED = "hasn't been supplied"

#: Required NXem concepts vendor files commonly do not record (validation may name only these).
VENDOR_LACKS = [
    r"sample/(atom_types|preparation_date)",
    r"start_time",
    r"measurement/instrument(/fabrication|/ebeam_column)?",
    r"measurement/event\d+/instrument/detector/operation_mode",
    r"measurement/event\d+/instrument/stage/(tilt2|rotation)",
    r"measurement/event\d+/instrument/ebeam_column/scan_controller/scan_schema",
    r"measurement/event\d+/(image|spectrum)1/process/detector_identifier",
]


def em_file(relative: str) -> Path:
    """A file of the shared real-data folder; skips the test when it is absent."""
    path = EM_DATA / relative
    if not path.exists():
        pytest.skip(f"real data not available: {path}")
    return path


def shared_files(pattern: str) -> list[str]:
    """Relative paths under the real-data folder (empty list when it is absent)."""
    if not EM_DATA.is_dir():
        return []
    return sorted(str(p.relative_to(EM_DATA)) for p in EM_DATA.glob(pattern))


@dataclass
class Converted:
    path: Path
    conversion_warnings: list[str]  # everything the conversion logged
    valid: bool  # pynxtools' validate_hdf_group_against on the written file
    validation_warnings: list[str]  # what that validation logged

    def h5(self) -> h5py.File:
        return h5py.File(self.path, "r")

    def missing_required(self) -> set[str]:
        """NXem concepts the validator reports as required but not supplied."""
        return {_concept(w) for w in self.validation_warnings if MISSING_REQUIRED in w}

    def other_validation_problems(self) -> list[str]:
        return [w for w in self.validation_warnings if MISSING_REQUIRED not in w and not known_gap(w)]


#: Attributes NXem 2025 does not document although NeXus tools read them: a signal's
#: ``@interpretation`` (image, spectrum, rgb-image: how H5Web and silx first draw it, nexus/views.py).
KNOWN_NXEM_GAPS = (re.compile(r"Attribute \S+/@interpretation has no documentation"),)


def known_gap(message: str) -> bool:
    return any(pattern.search(message) for pattern in KNOWN_NXEM_GAPS)


def _concept(message: str) -> str:
    """'The required field /entry1/a/b hasn't been supplied.' -> 'a/b' (HDF5 names)."""
    return message.split(" /entry1/", 1)[-1].split(" hasn't", 1)[0]


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _captured(logger_name: str, action):
    handler = _Capture()
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    try:
        result = action()
    finally:
        logger.removeHandler(handler)
    return result, handler.messages


def validate_file(path: Path) -> tuple[bool, list[str]]:
    """pynxtools' own validation of a written NeXus file, and what it logged."""
    from pynxtools.dataconverter.validation import validate_hdf_group_against

    def run():
        with h5py.File(path, "r") as h5:
            return validate_hdf_group_against("NXem", h5["entry1"], str(path))

    return _captured("pynxtools", run)


def convert_files(inputs: list[Path], output: Path, config: Path | None = None) -> Converted:
    """Run pynxtools' own conversion (reader em_plugin, NXem), then validate the file."""
    from pynxtools.dataconverter.convert import convert

    kwargs = {"config_file": str(config)} if config else {}
    _, logged = _captured(
        "pynxtools",
        lambda: convert(tuple(str(p) for p in inputs), "em_plugin", "NXem", str(output), **kwargs),
    )
    valid, validation = validate_file(output)
    return Converted(output, logged, valid, validation)


@pytest.fixture
def convert(tmp_path):
    counter = iter(range(10_000))

    def run(*inputs: Path, config: Path | None = None) -> Converted:
        return convert_files(list(inputs), tmp_path / f"out{next(counter)}.nxs", config)

    return run


@pytest.fixture(scope="module")
def converted_once(tmp_path_factory):
    """Each combination of shared files converted once per test module (``converted_once("a/b.h5")``)."""
    cache = {}

    def run(*relatives: str) -> Converted:
        if relatives not in cache:
            inputs = [em_file(r) for r in relatives]
            cache[relatives] = convert_files(inputs, tmp_path_factory.mktemp("once") / "out.nxs")
        return cache[relatives]

    return run


def nxdata_groups(h5) -> list:
    found = []
    h5.visititems(lambda name, obj: found.append(obj) if obj.attrs.get("NX_class") == "NXdata" else None)
    return found


def resolve_default(h5):
    """Follow the ``@default`` chain from the file root."""
    node = h5
    while "default" in node.attrs:
        node = node[node.attrs["default"]]
    return node


def full_data(h5):
    """The full-data NXdata of the event the ``@default`` chain leads to (the chain itself ends at
    that event's small preview, with the full data one click away: ``image1`` or ``spectrum1``)."""
    preview = resolve_default(h5)
    event = preview.parent.parent
    kind = preview.parent.name.rsplit("/", 1)[-1].removesuffix("_preview")
    group = event[f"{kind}1"]
    return group[group.attrs["default"]]


def scalar(h5, path):
    """(value, units) of a dataset; strings decoded."""
    dataset = h5[path]
    value = dataset[()]
    return (value.decode() if isinstance(value, bytes) else value), dataset.attrs.get("units")


def assert_clean_nxem(result: Converted, also_lacking: tuple[str, ...] = ()) -> None:
    """What every converted file must satisfy: valid but for fields the vendor does not
    record, every NXdata consistent (axes, indices, shapes, labels), a @default chain
    ending at an NXdata, and the raw vendor metadata of every event kept as JSON."""
    assert result.other_validation_problems() == []
    allowed = [*VENDOR_LACKS, *also_lacking]
    unexplained = [c for c in result.missing_required() if not any(re.fullmatch(p, c) for p in allowed)]
    assert unexplained == []
    with result.h5() as h5:
        groups = nxdata_groups(h5)
        assert groups, "no NXdata written"
        for group in groups:
            signal = group[group.attrs["signal"]]
            axes = list(group.attrs["axes"])
            assert len(axes) == signal.ndim
            for dim, name in enumerate(axes):
                if name == ".":  # NeXus: a dimension without axis (an RGB image's colour)
                    continue
                assert int(group.attrs[f"{name}_indices"]) == dim
                assert group[name].shape == (signal.shape[dim],)
                if name.startswith("axis_"):
                    assert "long_name" in group[name].attrs
        default = resolve_default(h5)
        assert default.attrs["NX_class"] == "NXdata"
        for event in h5["entry1/measurement"].values():
            if event.attrs.get("NX_class") == "NXem_event_data":
                raw = json.loads(event["vendor_metadata/original_metadata"][()])
                values = event.get("derived_metadata/values")
                derived = json.loads(values[()]) if values is not None else {}
                assert isinstance(raw, dict) and (raw or derived)  # a thumbnail has no vendor tree, only provenance


#: Per registered format: the folder of its real files below the shared data folder (None where the tests
#: make their own files, e.g. PNG/JPEG), and the test modules that convert those files and assert their
#: values. tests/test_format_contract.py checks this index against the format registry: a new format
#: adds its line here together with its tests.
FORMAT_TESTS: dict[str, tuple[str | None, tuple[str, ...]]] = {
    "gatan": ("gatan", ("test_real_files.py",)),
    "velox": ("velox", ("test_real_files.py",)),
    "tia": ("tia", ("test_real_files.py",)),
    "tiff": ("tiff", ("test_format_tiff.py",)),
    "image": (None, ("test_format_tiff.py",)),
    "bruker": ("bruker", ("test_format_bruker_phenom.py",)),
    "phenom": ("phenom", ("test_format_bruker_phenom.py",)),
    "jeol": ("jeol", ("test_format_jeol_msa_protochips.py",)),
    "msa": ("msa", ("test_format_jeol_msa_protochips.py",)),
    "protochips": ("protochips", ("test_format_jeol_msa_protochips.py",)),
    "quantumdetector": ("quantumdetector", ("test_format_4dstem.py",)),
    "mrc": ("mrc", ("test_format_4dstem.py",)),
    "blockfile": ("blockfile", ("test_format_4dstem.py",)),
    "ncem_emd": ("ncem_emd", ("test_format_4dstem.py",)),
    "tvips": ("tvips", ("test_format_4dstem.py",)),
    "edax": ("edax", ("test_format_edax.py",)),
    "hyperspy": ("hspy", ("test_format_hyperspy.py",)),
    "arina": ("arina", ("test_format_arina.py",)),
    "delmic": ("delmic", ("test_format_cl_logs.py",)),
    "hamamatsu": ("hamamatsu", ("test_format_cl_logs.py",)),
    "dens": ("dens", ("test_format_cl_logs.py",)),
    "impulse": ("impulse", ("test_format_cl_logs.py",)),
    "pantarhei": ("pantarhei", ("test_format_other.py",)),
    "semper": ("semper", ("test_format_other.py",)),
    "ripple": ("ripple", ("test_format_other.py",)),
    "digitalsurf": ("digitalsurf", ("test_format_other.py",)),
    "ebsd": ("ebsd", ("test_format_ebsd.py",)),
    "oxford_ebsp": ("ebsd/oxford_binary", ("test_format_ebsd_patterns.py",)),
    "edax_up": ("ebsd/edax_binary", ("test_format_ebsd_patterns.py",)),
    "nordif": (None, ("test_format_ebsd_patterns.py",)),
    "kikuchipy_h5": (None, ("test_format_ebsd_patterns.py",)),
    "emsoft_ebsd": (None, ("test_format_ebsd_patterns.py",)),
}


#: A smaller file where a format's smallest acquisition is slow to read (the JEOL .ASW reads its whole folder).
SMALLER = {"jeol": "jeol/Sample/00_View000/View000_0000000.img"}


def one_file_per_format(output: Path) -> dict[str, list[Path]]:
    """The smallest acquisition of each format's shared folder, with its companions."""
    from pynxtools_em_plugin.batch import plan

    chosen: dict[str, list[Path]] = {}
    for name, (folder, _) in FORMAT_TESTS.items():
        if folder is None or not (EM_DATA / folder).is_dir():
            continue
        where = EM_DATA / SMALLER.get(name, folder)
        jobs = [job for job in plan([where], output).jobs if job.format_name == name]
        if jobs:
            smallest = min(jobs, key=lambda job: sum(p.stat().st_size for p in job.inputs))
            chosen[name] = smallest.inputs
    return chosen


def read_lazily_and_whole(module, path: Path, monkeypatch) -> tuple[list, list]:
    """The signals of ``module.read(path)`` read as a large file is (lazily: every size above
    ``LAZY_MIN_BYTES``) and as a small one (whole), to compare them."""
    from pynxtools_em_plugin.formats import _rsciio

    monkeypatch.setattr(_rsciio, "LAZY_MIN_BYTES", -1)
    lazy = module.read(path, [])
    monkeypatch.setattr(_rsciio, "LAZY_MIN_BYTES", 1 << 62)
    return lazy, module.read(path, [])


def assert_same_signals(lazy: list, whole: list, lazy_data: bool = True) -> None:
    """Same data (values, dtype, shape), axes (names, units, kinds, coordinates), vendor tree (as
    stored), derived values, titles and warnings; with ``lazy_data``, each lazy array is read from
    the file (a dask array whose graph holds no copy of the data)."""
    import numpy as np

    from pynxtools_em_plugin.nexus.rawjson import to_json

    assert len(lazy) == len(whole) > 0
    for a, b in zip(lazy, whole, strict=True):
        assert is_read_from_file(a.data) == lazy_data, f"{a.context}: {type(a.data).__name__}"
        assert a.data.dtype == b.data.dtype and np.array_equal(np.asarray(a.data), b.data)
        assert [(x.name, x.units, x.kind) for x in a.axes] == [(x.name, x.units, x.kind) for x in b.axes]
        assert all(np.array_equal(x.values, y.values) for x, y in zip(a.axes, b.axes, strict=True))
        assert to_json(a.metadata) == to_json(b.metadata) and to_json(a.derived) == to_json(b.derived)
        assert (a.title, a.signal_type, a.quantity, a.context, a.warnings) == (
            b.title, b.signal_type, b.quantity, b.context, b.warnings)  # fmt: skip


def is_read_from_file(data) -> bool:
    """A dask array whose graph holds no copy of the data (dask's ``from_array`` holds one): read when computed."""
    import numpy as np

    if not hasattr(data, "__dask_graph__"):
        return False
    graph = dict(data.__dask_graph__()).values()
    return not [v for v in graph if isinstance(v, np.ndarray) and (v.shape, v.dtype) == (data.shape, data.dtype)]
