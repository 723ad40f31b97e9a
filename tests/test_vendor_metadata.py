"""Vendor metadata is what the vendor wrote: ``Signal.metadata`` is the tree the format library
returns for the file, untouched; what the format modules compute lives in ``Signal.derived``.

Every acquisition of every shared file of a registered format is read through the registry
and compared with the tree the library returns when it reads the same file on its own
(:data:`LIBRARY_TREES`); a few are converted and the stored
``vendor_metadata/original_metadata`` JSON is compared. Trees are compared as the JSON the
writer stores (:func:`pynxtools_em_plugin.nexus.rawjson.to_json`). Libraries read lazily where
they can: the metadata does not depend on it and the data is never loaded.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import EM_DATA, em_file
from pynxtools_em_plugin import formats
from pynxtools_em_plugin.errors import ConversionError
from pynxtools_em_plugin.nexus.rawjson import to_json


def _read(module: str, **kwargs: Any) -> Callable[[Path, list[Path]], list[dict]]:
    """The signal dictionaries of ``rsciio.<module>.file_reader`` for a main file."""

    def read(path: Path, companions: list[Path]) -> list[dict]:
        return importlib.import_module(f"rsciio.{module}").file_reader(str(path), **kwargs)

    return read


def _read_bruker(path: Path, companions: list[Path]) -> list[dict]:
    lazy = {"lazy": True, "index": "all"} if path.suffix.lower() == ".bcf" else {}
    return _read("bruker", **lazy)(path, companions)


def _read_mrc(path: Path, companions: list[Path]) -> list[dict]:
    info = next((str(c) for c in companions if c.suffix.lower() == ".txt"), "auto")
    return _read("mrc", lazy=True, metadata_file=info)(path, companions)


def _read_dens(path: Path, companions: list[Path]) -> list[dict]:
    """RosettaSciIO returns the measured temperature only; every logged column is a signal with the file's tree."""
    from pynxtools_em_plugin.formats.dens import LOGGED_COLUMNS

    return _read("dens")(path, companions) * len(LOGGED_COLUMNS)


def _no_library_tree(path: Path, companions: list[Path]) -> list[dict]:
    """orix and kikuchipy return no header tree for EBSD orientation maps: one empty tree per
    signal; the module's own header parse is its ``PARSED_VENDOR_BLOCKS``."""
    return [{} for _ in formats.format_named("ebsd").read(path, companions)]


def _read_kikuchipy(plugin: str) -> Callable[[Path, list[Path]], list[dict]]:
    """The signal dictionaries of kikuchipy's ``kikuchipy.io.plugins.<plugin>`` reader (EBSD patterns)."""

    def read(path: Path, companions: list[Path]) -> list[dict]:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # kikuchipy's notes (hexagonal grid read as a list, no background)
            return importlib.import_module(f"kikuchipy.io.plugins.{plugin}").file_reader(str(path), lazy=True)

    return read


#: Pattern formats without a shared file: test_format_ebsd_patterns.py writes them.
_SYNTHETIC_EBSD = {"nordif", "kikuchipy_h5", "emsoft_ebsd"}


#: Format name -> how its library reads the signal dictionaries of an acquisition (main file, companions).
def _read_hyperspy(path: Path, companions: list[Path]) -> list[dict]:
    module = "hspy" if path.read_bytes()[:4] == b"\x89HDF" else "zspy"
    return _read(module, lazy=True)(path, companions)


LIBRARY_TREES: dict[str, Callable[[Path, list[Path]], list[dict]]] = {
    "gatan": _read("digitalmicrograph"),
    "velox": _read("emd", lazy=True),
    "tia": _read("tia"),
    "tiff": _read("tiff"),
    "image": _read("image"),
    "bruker": _read_bruker,
    "phenom": _read("phenom"),
    "jeol": _read("jeol", SI_dtype=np.uint8),
    "msa": _read("msa"),
    "protochips": _read("protochips"),
    "quantumdetector": _read("quantumdetector", lazy=True),
    "mrc": _read_mrc,
    "blockfile": _read("blockfile", lazy=True),
    "ncem_emd": _read("emd", lazy=True),
    "tvips": _read("tvips", lazy=True),
    "edax": _read("edax", load_all_spc=True),
    "hyperspy": _read_hyperspy,
    "arina": _read("arina"),  # an empty tree: formats/arina.py reads the master and side file itself
    "delmic": _read("delmic", signal="all"),
    "hamamatsu": _read("hamamatsu"),
    "dens": _read_dens,
    "impulse": _read("impulse"),
    "pantarhei": _read("pantarhei", allow_restricted_pickle=False),
    "semper": _read("semper"),
    "digitalsurf": _read("digitalsurf"),
    "ripple": _read("ripple"),
    "ebsd": _no_library_tree,
    "oxford_ebsp": _read_kikuchipy("oxford_binary"),
    "edax_up": _read_kikuchipy("edax_binary"),
    "nordif": _read_kikuchipy("nordif"),
    "kikuchipy_h5": _read_kikuchipy("kikuchipy_h5ebsd"),
    "emsoft_ebsd": _read_kikuchipy("emsoft_ebsd"),
}


def _acquisitions() -> list[formats.Acquisition]:
    """Every acquisition among the shared files, grouped as the converter groups them."""
    if not EM_DATA.is_dir():
        return []
    files = sorted(p for p in EM_DATA.rglob("*") if p.is_file())
    detected = []
    for path in files:
        try:
            detected.append((formats.detect(path), path))
        except ConversionError:  # not an EM format we support (unrecognised, other HDF5 layouts)
            continue
    groups = formats.group(detected, files)
    return [a for a in groups if formats.lone_companion_reason(a.format, a.main) is None]


#: Shared files refused on purpose (their libraries refuse them too), with why; their refusal is tested elsewhere.
REFUSED = {"dens/file2.dens": "column-name row does not line up with the data (tests/test_format_cl_logs.py)"}


def _params() -> list:
    params = []
    for acquisition in _acquisitions():
        name = str(acquisition.main.relative_to(EM_DATA))
        if name not in REFUSED:
            params.append(pytest.param(acquisition, id=name))
    return params


def library_trees(acquisition: formats.Acquisition) -> list[str]:
    """The JSON of the trees the format library returns, signal by signal."""
    dicts = LIBRARY_TREES[acquisition.format.NAME](acquisition.main, acquisition.companions)
    return [to_json(entry.get("original_metadata") or {}) for entry in dicts]


def test_every_registered_format_has_a_library_reader():
    assert set(LIBRARY_TREES) == set(formats.FORMAT_MODULES)


def test_every_registered_format_has_a_shared_file():
    """All but plain images and the EBSD pattern formats of which the shared data has none (synthetic files
    are tested below and in test_format_ebsd_patterns.py)."""
    if not EM_DATA.is_dir():
        pytest.skip("real data not available")
    assert {a.format.NAME for a in _acquisitions()} == set(formats.FORMAT_MODULES) - {"image", *_SYNTHETIC_EBSD}


@pytest.mark.parametrize("acquisition", _params())
def test_signal_metadata_is_the_library_tree(acquisition):
    """The library's tree untouched; a module may add only the vendor blocks it parses itself and
    declares (``PARSED_VENDOR_BLOCKS``: the FEI INI text of a TIFF, a TESCAN sidecar...)."""
    blocks = set(getattr(acquisition.format, "PARSED_VENDOR_BLOCKS", ()))
    signals = formats.read_signals(acquisition)
    expected = [json.loads(tree) for tree in library_trees(acquisition)]
    stored = [json.loads(to_json(signal.metadata)) for signal in signals]
    assert len(stored) == len(expected)
    for tree, original in zip(stored, expected, strict=True):
        assert set(tree) - set(original) <= blocks
        assert {key: value for key, value in tree.items() if key not in set(tree) - set(original)} == original


def test_plain_image_metadata_is_the_library_tree(tmp_path):
    """A JPEG with EXIF tags: the EXIF time goes to the derived values, not into the tree."""
    from PIL import Image

    path = tmp_path / "photo.jpg"
    exif = Image.Exif()
    exif[0x0132] = "2018:11:15 10:20:30"  # DateTime
    exif[0x013B] = "Ann Operator"  # Artist
    Image.fromarray(np.arange(48, dtype=np.uint8).reshape(6, 8)).save(path, exif=exif)
    acquisition = formats.Acquisition(formats.detect(path), path, [])
    (signal,) = formats.read_signals(acquisition)
    assert [to_json(signal.metadata)] == library_trees(acquisition)
    assert signal.derived["exif_datetime"] == "2018-11-15T10:20:30"
    assert signal.derived["pillow"]["image_format"] == "JPEG"


#: A few small files of different formats, converted (dataconverter) to check what the file stores.
CONVERTED = [
    "gatan/1D/test-1.dm3",
    "bruker/bruker_nano.spx",
    "msa/example1.msa",
    "protochips/protochips_gas_cell.csv",
    "mrc/HAADFscan.mrc",
    "tvips/test_tvips_2345_000.tvips",
    "blockfile/test1.blo",
]


@pytest.mark.parametrize("relative", CONVERTED)
def test_stored_vendor_metadata_is_the_library_tree(relative, convert):
    path = em_file(relative)
    acquisition = formats.Acquisition(formats.detect(path), path, [])
    expected = [json.loads(tree) for tree in library_trees(acquisition)]
    with convert(path).h5() as h5:
        events = [e for e in h5["entry1/measurement"].values() if e.attrs.get("NX_class") == "NXem_event_data"]
        stored = [json.loads(e["vendor_metadata/original_metadata"][()]) for e in events]
        derived = [json.loads(e["derived_metadata/values"][()]) for e in events if "derived_metadata/values" in e]
    assert stored == expected
    for tree in stored:
        assert not {"normalised", "derived", "em_plugin", "rsciio_metadata"} & set(tree)
    if relative.startswith(("msa", "protochips", "tvips", "blockfile")):
        assert derived and all(derived), "computed values are stored apart from the vendor tree"
