"""RosettaSciIO private names and behaviours this package relies on (written for 0.15.x).

Public RosettaSciIO API (``rsciio.<format>.file_reader``, ``rsciio.utils...`` that
carry no underscore) is used directly by the format modules; everything below
reaches into ``rsciio.<format>._api`` modules or patches their functions.
Each name is listed in :data:`PRIVATE_NAMES`; tests/test_compat_rsciio.py imports every
one of them and checks the behaviours the format modules rely on.
"""

from __future__ import annotations

import importlib
import importlib.abc
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache, partial
from typing import Any, BinaryIO

import numpy as np

from ..lazy_imports import WrappingFinder
from . import PrivateNames, UpstreamChanged, installed_version

__all__ = ["PRIVATE_NAMES", "UpstreamChanged", "installed_version", "private", "version_supported"]

DISTRIBUTION = "rosettasciio"
#: The versions this module was written and tested for: >= LOWEST, < BELOW (pyproject pins the same).
LOWEST, BELOW = "0.15", "0.16"

_NAMES = PrivateNames(DISTRIBUTION, "RosettaSciIO", LOWEST, BELOW)
#: (module, name) of every private RosettaSciIO name used (tests/test_compat_rsciio.py resolves each).
PRIVATE_NAMES: list[tuple[str, str]] = _NAMES.registered
#: ``module.name`` from RosettaSciIO; :class:`UpstreamChanged` if this release no longer has it.
private: Callable[[str, str], Any] = _NAMES.get
version_supported: Callable[[], bool] = _NAMES.version_supported
_uses = _NAMES.uses


# ---- names used by the format modules, one section per module ---------------------------------


# ---- one pint unit registry ------------------------------------------------------------------
_UNITS = "rsciio.utils._units"
_uses(_UNITS, "_UREG")
_registry_lock = threading.Lock()


@contextmanager
def shared_unit_registry(registry: Callable[[], Any]) -> Iterator[None]:
    """Within the context, RosettaSciIO's unit registry, if first imported now, is ``registry()``.

    ``rsciio.utils._units`` builds a pint ``UnitRegistry()`` when it is imported (Velox, TVIPS,
    NCEM EMD and image readers convert axis units with it): pint parses its definition files
    again, 0.1 s of CPU when pynxtools has built its own registry already (0.3 s otherwise).
    While that module is executed, pint's ``UnitRegistry()`` called without arguments returns
    the registry this package uses anyway (pynxtools'); RosettaSciIO only converts plain units
    (lengths, reciprocal lengths, times) with it, which every pint registry defines alike
    (tests/test_compat_rsciio.py compares its conversions with a fresh registry's). A call with
    arguments, or from another module, gets a new registry as always. Upstream: a registry
    built on first use.
    """
    finder = WrappingFinder({_UNITS}, partial(_WithSharedRegistry, registry=registry))
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)


class _WithSharedRegistry(importlib.abc.Loader):
    """Runs :data:`_UNITS` with pint's ``UnitRegistry()`` answering ``registry()``."""

    def __init__(self, loader: Any, registry: Callable[[], Any]):
        self.loader, self.registry = loader, registry

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module) -> None:
        import pint

        shared, new_registry = self.registry(), pint.UnitRegistry

        def unit_registry(*args: Any, **kwargs: Any) -> Any:
            return new_registry(*args, **kwargs) if args or kwargs else shared

        with _registry_lock:
            pint.UnitRegistry = unit_registry
            try:
                self.loader.exec_module(module)
            finally:
                pint.UnitRegistry = new_registry


def reader_logger(module: str) -> str:
    """The logger name of RosettaSciIO's reader module for ``module`` (e.g. ``jeol``): its private
    ``_api`` module logs facts (skipped sub-files, dropped sweeps, extrapolated axes) nowhere else."""
    name = f"rsciio.{module}._api"
    private(name, "_logger")
    return name


for _module in ("jeol", "msa", "protochips", "hamamatsu", "pantarhei"):
    _uses(f"rsciio.{_module}._api", "_logger")


# ---- velox (formats/_velox_stream.py) ------------------------------------------------------
_uses("rsciio.utils._fei_stream_readers", "stream_to_array")
_uses("rsciio.emd._emd_velox", "FeiSpectrumStream")

#: The parameters of RosettaSciIO's stream decoder, in order, as :func:`velox_stream_decoder` passes them on.
VELOX_STREAM_PARAMETERS = (
    "stream",
    "spatial_shape",
    "channels",
    "last_frame",
    "first_frame",
    "rebin_energy",
    "sum_frames",
    "dtype",
    "spectrum_image",
)
#: The parameters of the Velox stream class' method that calls the decoder (replaced by ours).
VELOX_STREAM_METHOD_PARAMETERS = ("self", "stream_data", "spectrum_image")


@contextmanager
def velox_stream_decoder(replacement: Callable[..., Any]) -> Iterator[None]:
    """While active, RosettaSciIO's Velox EDS stream decoding is ``replacement``.

    ``replacement(original, stream, spatial_shape, channels, last_frame, first_frame=0,
    rebin_energy=1, sum_frames=True, dtype="uint16", spectrum_image=None)`` gets RosettaSciIO's
    own decoder ``stream_to_array`` first, to fall back on. The method of the reader's stream
    class that calls that decoder (``FeiSpectrumStream.stream_to_array``) is replaced, rather
    than the decoder in its module: importing that module imports ``sparse`` and ``numba``
    (0.3 s of CPU, a sixth of a small Velox file's conversion), which our decoder never needs.
    Upstream: rsciio.emd decodes the whole stream (dense, or sparse at ~26 bytes per count)
    before returning.
    """
    stream_class = private("rsciio.emd._emd_velox", "FeiSpectrumStream")
    method = stream_class.stream_to_array

    def original(*args: Any) -> Any:  # RosettaSciIO's decoder, imported only when it is needed
        return private("rsciio.utils._fei_stream_readers", "stream_to_array")(*args)

    def stream_to_array(self, stream_data, spectrum_image=None):
        reader = self.reader
        return replacement(original, stream_data, reader.spatial_shape, self.bin_count, reader.last_frame,
                           reader.first_frame, reader.rebin_energy, reader.sum_frames, reader.SI_data_dtype,
                           spectrum_image)  # fmt: skip

    stream_class.stream_to_array = stream_to_array
    try:
        yield
    finally:
        stream_class.stream_to_array = method


# ---- bruker --------------------------------------------------------------------------------
for _name in ("bcf_reader", "spx_reader", "BCF_reader", "SFS_reader"):
    _uses("rsciio.bruker._api", _name)


def read_bcf(filename: str, **kwargs: Any) -> list[dict]:
    """RosettaSciIO's ``.bcf`` reader, chosen by content (its ``file_reader`` goes by the file-name ending)."""
    return private("rsciio.bruker._api", "bcf_reader")(filename, **kwargs)


def read_spx(filename: str, **kwargs: Any) -> list[dict]:
    """RosettaSciIO's ``.spx`` reader, chosen by content."""
    return private("rsciio.bruker._api", "spx_reader")(filename, **kwargs)


def bcf_hypermap_streams(filename: str) -> tuple[int, int, Iterator[tuple[int, Iterator[bytes], int]]]:
    """(rows, columns, then per spectrum image: its index, its compressed blocks and their size).

    For walking a hypermap before RosettaSciIO decodes it. Upstream: rsciio.bruker's
    hypermap decoder has no bounds checks and crashes the process on a damaged stream.
    """
    bcf = private("rsciio.bruker._api", "BCF_reader")(filename)
    sfs_reader = private("rsciio.bruker._api", "SFS_reader")

    def streams() -> Iterator[tuple[int, Iterator[bytes], int]]:
        for index in bcf.available_indexes:
            item = sfs_reader(filename).get_file(f"EDSDatabase/SpectrumData{index}")
            blocks, block_size = item.get_iter_and_properties()[:2]
            yield index, blocks, block_size

    return int(bcf.header.image.height), int(bcf.header.image.width), streams()


# ---- phenom --------------------------------------------------------------------------------
_uses("rsciio.phenom._api", "ElidReader")

#: ElidReader methods the subclass of :func:`read_elid` overrides (tests/test_compat_rsciio.py); it also reads
#: the instance attributes ``_decompressor``, ``_file``, ``_block_size`` and ``dictionaries``.
ELID_READER_INTERNALS = ("_read", "_read_float64", "_read_float64s", "_read_MapAnalysis")
#: Key of the map rectangle (left, top, right, bottom, fractions of the field) in a map's signal dictionary.
MAP_RECTANGLE = "map_rectangle"


def read_elid(filename: str) -> list[dict]:
    """RosettaSciIO's ELID signal dictionaries; a map analysis' dictionary gets the map's rectangle
    under :data:`MAP_RECTANGLE` (next to ``original_metadata``, which stays as RosettaSciIO made it).

    Upstream: rsciio.phenom reads the rectangle of a map and discards it (every map is scaled as if
    it covered the whole field), and loops forever when the file ends inside its bzip2 stream.
    """
    return _elid_reader_class()(filename).dictionaries


@cache
def _elid_reader_class() -> type:
    from collections import deque

    elid_reader = private("rsciio.phenom._api", "ElidReader")

    class ElidReaderKeepingRectangles(elid_reader):
        def __init__(self, pathname: str):
            self._recent_floats: deque[float] = deque(maxlen=4)
            self._map_rectangle: tuple[float, ...] = ()
            super().__init__(pathname)

        def _read(self, size: int = 1) -> bytes:
            # RosettaSciIO's own, which loops forever when the file ends inside the stream
            data = self._decompressor.decompress(b"", size)
            while self._decompressor.needs_input:
                chunk = self._file.read(self._block_size)
                if not chunk:
                    raise EOFError("the file ends inside its compressed stream")
                data += self._decompressor.decompress(chunk, size - len(data))
            return data

        def _read_float64(self) -> float:
            value = super()._read_float64()
            self._recent_floats.append(value)
            return value

        def _read_float64s(self) -> list[float]:
            # only a map analysis reads a float list: its colour intensities, right after the rectangle
            self._map_rectangle = tuple(self._recent_floats)
            return super()._read_float64s()

        def _read_MapAnalysis(self, label: str, am: dict) -> dict:
            entry = super()._read_MapAnalysis(label, am)
            entry[MAP_RECTANGLE] = dict(zip(("left", "top", "right", "bottom"), self._map_rectangle, strict=True))
            return entry

    return ElidReaderKeepingRectangles


# ---- jeol ----------------------------------------------------------------------------------
_uses("rsciio.jeol._api", "_parsejeol")


def parse_jeol_tree(handle: BinaryIO) -> dict[str, Any]:
    """The JEOL tag tree at the handle's position, parsed by RosettaSciIO's own parser
    (``.ASW`` project from byte 12, an ``.img`` header from its data position + 12)."""
    return private("rsciio.jeol._api", "_parsejeol")(handle)


# ---- msa -----------------------------------------------------------------------------------
_uses("rsciio.msa._api", "keywords")


def msa_numeric_keywords() -> frozenset[str]:
    """The ISO 22029 keywords RosettaSciIO reads as numbers (a value it cannot read stays text)."""
    keywords = private("rsciio.msa._api", "keywords")
    return frozenset(name for name, spec in keywords.items() if spec.get("dtype") is float)


# ---- elements (msa: EDAX '##Elements'; edax) ------------------------------------------------
_uses("rsciio.utils._elements", "atomic_number2name")


def element_symbol(atomic_number: int) -> str | None:
    """The chemical symbol of an atomic number (RosettaSciIO's periodic table), or None."""
    return private("rsciio.utils._elements", "atomic_number2name").get(int(atomic_number))


# ---- edax ----------------------------------------------------------------------------------
_uses("rsciio.edax._api", "get_spc_dtype_list")


def spc_header_size(version: float) -> int:
    """Bytes of the whole ``.spc`` header record RosettaSciIO reads (``load_all_spc``) for a file version;
    a shorter file makes its reader fail with a TypeError."""
    layout = private("rsciio.edax._api", "get_spc_dtype_list")(load_all=True, endianness="<", version=round(version, 2))
    return np.dtype(layout).itemsize


# ---- quantumdetector -----------------------------------------------------------------------
for _name in ("MIBProperties", "parse_hdr_file", "parse_timestamps"):
    _uses("rsciio.quantumdetector._api", _name)


def mib_properties(filename: str) -> Any:
    """RosettaSciIO's parse of a ``.mib`` file's first frame header: ``head_size``, ``offset``,
    ``dtype``, ``merlin_size`` (frame shape), ``file_size``."""
    properties = private("rsciio.quantumdetector._api", "MIBProperties")()
    properties.parse_file(filename)
    return properties


def parse_merlin_hdr(filename: str) -> dict[str, Any]:
    """The ``key: value`` lines of a Merlin ``.hdr`` file, as RosettaSciIO reads them."""
    return private("rsciio.quantumdetector._api", "parse_hdr_file")(filename)


def merlin_frame_times(headers: list[bytes]) -> list[Any]:
    """The time stamps of Merlin frame headers, as RosettaSciIO reads them (ISO 8601 text)."""
    return private("rsciio.quantumdetector._api", "parse_timestamps")(headers)


# ---- blockfile -----------------------------------------------------------------------------
_uses("rsciio.blockfile._api", "get_header_dtype_list")


def blockfile_header_dtype() -> np.dtype:
    """RosettaSciIO's (little-endian) record layout of the reverse-engineered ASTAR header."""
    return np.dtype(private("rsciio.blockfile._api", "get_header_dtype_list")("<"))


# ---- tvips ---------------------------------------------------------------------------------
_uses("rsciio.tvips._api", "TVIPS_RECORDER_FRAME_HEADER")


def tvips_frame_header_dtype() -> np.dtype:
    """RosettaSciIO's record layout of a TVIPS recorder frame header (version 2); upstream:
    rsciio.tvips reads the frame headers only for the time axis and drops the rest."""
    return np.dtype(private("rsciio.tvips._api", "TVIPS_RECORDER_FRAME_HEADER"))


# ---- tiff ----------------------------------------------------------------------------------
_uses("rsciio.digitalmicrograph._api", "DigitalMicrographReader")


def dm_tag_group(blob: bytes) -> dict[str, Any]:
    """The DigitalMicrograph tag group a DM-exported TIFF keeps in tag 65027, as nested dicts.

    Decoded with RosettaSciIO's DM reader (its private ``DigitalMicrographReader``: the public
    reader only opens whole .dm3/.dm4 files); the group has a DM file's layout (version, sizes,
    root tag directory). An empty ``root`` entry is dropped. Raises whatever the reader raises on
    damaged bytes. Upstream: a public function decoding a DM tag group from bytes.
    """
    import io

    reader = private("rsciio.digitalmicrograph._api", "DigitalMicrographReader")(io.BytesIO(blob))
    reader.parse_file()
    tags = dict(reader.tags_dict or {})
    if not tags.get("root"):
        tags.pop("root", None)
    return tags


# ---- tia -----------------------------------------------------------------------------------
_TIA = "rsciio.tia._api"
for _name in ("load_ser_file", "get_header_dtype_list", "get_data_dtype_list", "get_data_tag_dtype_list"):
    _uses(_TIA, _name)
_uses(_TIA, "guess_record_by")


def read_tia_on_file(filename: str, file_reader: Callable[..., list[dict]]) -> list[dict]:
    """RosettaSciIO's TIA signal dictionaries with the ``.ser`` data elements left on file.

    While ``file_reader`` runs (eagerly), RosettaSciIO's ``load_ser_file`` maps the elements
    (:func:`_mapped_ser_file`) instead of reading each into one array: its own reshaping then
    gives a read-only memory map of the file as ``data`` (a map whose acquisition stopped early
    is still padded in memory, RosettaSciIO's rule). The per-element header values it copies
    into ``original_metadata`` (calibrations, times, positions) are brought into memory, so the
    tree holds plain arrays as before. Elements that are not evenly spaced are read as
    RosettaSciIO reads them. Upstream: rsciio.tia reads every element into memory, in its lazy
    mode too (once for the header, again as one single dask block).
    """
    module = importlib.import_module(_TIA)
    original = private(_TIA, "load_ser_file")

    def load_ser_file(name: str) -> tuple[np.ndarray, np.ndarray]:
        mapped = _mapped_ser_file(name)
        return mapped if mapped is not None else original(name)

    module.load_ser_file = load_ser_file
    try:
        dicts = file_reader(filename)
    finally:
        module.load_ser_file = original
    for entry in dicts:
        parameters = entry.get("original_metadata", {}).get("ser_header_parameters", {})
        for key, value in parameters.items():
            if isinstance(value, np.memmap):
                parameters[key] = np.array(value)
    return dicts


def _mapped_ser_file(filename: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(header, data elements as a read-only memory map) of a ``.ser`` file, in RosettaSciIO's
    record layout (its own dtype lists); None unless the elements are evenly spaced and complete."""
    with open(filename, "rb") as handle:
        header = np.fromfile(handle, dtype=np.dtype(private(_TIA, "get_header_dtype_list")(handle)), count=1)
        valid = int(header["ValidNumberElements"][0])
        if valid == 0:
            return None
        handle.seek(int(header["OffsetArrayOffset"][0]))
        offset_type = "<u4" if header["SeriesVersion"][0] <= 528 else "<u8"
        offsets = np.fromfile(handle, dtype=offset_type, count=valid).astype(np.int64)
        if len(offsets) < valid:
            return None
        record_by = private(_TIA, "guess_record_by")(header["DataTypeID"][0])
        fields, _ = private(_TIA, "get_data_dtype_list")(handle, int(offsets[0]), record_by)
    record = np.dtype(fields + private(_TIA, "get_data_tag_dtype_list")(header["TagTypeID"][0]))
    steps = np.unique(np.diff(offsets))
    stride = int(steps[0]) if len(steps) == 1 else record.itemsize if valid == 1 else 0
    if stride < record.itemsize or offsets[0] + valid * stride > os.path.getsize(filename):
        return None
    names = list(record.names)
    spaced = np.dtype({
        "names": names,
        "formats": [record.fields[name][0] for name in names],
        "offsets": [record.fields[name][1] for name in names],
        "itemsize": stride,
    })  # fmt: skip
    return header, np.memmap(filename, dtype=spaced, mode="r", offset=int(offsets[0]), shape=(valid,))
