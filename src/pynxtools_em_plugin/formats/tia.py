"""FEI / Thermo Fisher TIA ``.emi`` + ``_N.ser`` files.

Binary parsing is RosettaSciIO's (``rsciio.tia``). An ``.emi`` file holds the
experiment description (XML) and each ``<name>_<N>.ser`` one signal; given the
``.emi``, RosettaSciIO reads all its ``.ser`` files. A ``.ser`` given alone is
read alone (it lacks the units the ``.emi`` knows; see below).

Two calibration corrections are made here, both pinned by tests:

* RosettaSciIO converts TIA's SI calibration *scale* to nm (or 1/nm) but leaves
  the *offset* in m (1/m); the offset is converted the same way here.
* A ``.ser`` read without its ``.emi`` has no unit; RosettaSciIO then assumes
  metres. A pixel larger than one metre cannot be real space, so such axes are
  reciprocal (1/m) and are stored in 1/nm, with a warning.

``.ser`` files larger than :data:`~._rsciio.LAZY_MIN_BYTES` in all (long series: several
GB) stay on file: RosettaSciIO reads every data element into memory, in its lazy mode
too, so its reader runs with the elements memory-mapped in its own record layout
(``compat.rsciio.read_tia_on_file``, the only TIA bytes read here) and the map becomes a
dask array of blocks sliced from it when written.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path
from typing import Any

from ..chunking import is_file_memmap, lazy_memmap
from ..compat.rsciio import read_tia_on_file
from ..model import Signal
from ._rsciio import call_reader, signal_from_rsciio, worth_reading_lazily

NAME = "tia"
TITLE = "FEI/Thermo Fisher TIA"
EXTENSIONS = (".emi", ".ser")

_EMI_MAGIC = b"JK\x00\x02"
_SER_SERIES_ID = 0x0197
_SER_VERSIONS = (0x0210, 0x0220)
_NM_PER_M = 1e9


def sniff(path: Path, head: bytes) -> bool:
    return is_emi(head) or is_ser(head)


def is_emi(head: bytes) -> bool:
    return head.startswith(_EMI_MAGIC)


def is_ser(head: bytes) -> bool:
    if len(head) < 6 or head[:2] != b"II":
        return False
    series_id, version = struct.unpack("<HH", head[2:6])
    return series_id == _SER_SERIES_ID and version in _SER_VERSIONS


def companions(path: Path, candidates: list[Path]) -> list[Path]:
    """The ``<stem>_<N>.ser`` files of an ``.emi`` among the given files."""
    if path.suffix.lower() != ".emi":
        return []
    pattern = re.compile(re.escape(path.stem) + r"_\d+\.ser", re.IGNORECASE)
    return [c for c in candidates if c.parent == path.parent and pattern.fullmatch(c.name)]


def read(path: Path, companions: list[Path]) -> list[Signal]:
    from rsciio.tia import file_reader

    if worth_reading_lazily(*_data_files(path)):
        dicts = call_reader(path, TITLE, read_tia_on_file, file_reader=file_reader)
        for entry in dicts:
            if is_file_memmap(entry["data"]):
                entry["data"] = lazy_memmap(entry["data"])
    else:
        dicts = call_reader(path, TITLE, file_reader)
    signals = []
    for index, entry in enumerate(dicts):
        warnings = _fix_calibration(entry, path)
        source = Path(entry.get("metadata", {}).get("General", {}).get("original_filename") or path.name)
        signal = signal_from_rsciio(entry, path, NAME, context=f"{source.name} (signal {index})")
        signal.warnings.extend(warnings)
        signals.append(signal)
    return signals


def _data_files(path: Path) -> list[Path]:
    """A ``.ser`` file, or the ``.ser`` files RosettaSciIO reads for an ``.emi`` (all beside it)."""
    if path.suffix.lower() != ".emi":
        return [path]
    return companions(path, list(path.parent.iterdir()))


def _fix_calibration(entry: dict[str, Any], path: Path) -> list[str]:
    """Correct the axis offsets (and units of a lone .ser) in place."""
    warnings = []
    for axis in entry.get("axes", []):
        units = axis.get("units")
        if units == "nm":
            axis["offset"] = float(axis.get("offset", 0.0)) * _NM_PER_M
            if abs(float(axis.get("scale", 0.0))) > _NM_PER_M:
                _make_reciprocal(axis)
                warnings.append(
                    f"{path.name}: axis '{axis.get('name')}' has no unit without its .emi and a "
                    "pixel larger than 1 m; stored as reciprocal space (1/nm). Pass the .emi "
                    "file too for the recorded units."
                )
        elif units == "1 / nm":
            axis["offset"] = float(axis.get("offset", 0.0)) / _NM_PER_M
    return warnings


def _make_reciprocal(axis: dict[str, Any]) -> None:
    """An axis that RosettaSciIO scaled as m -> nm, rescaled as 1/m -> 1/nm."""
    axis["units"] = "1 / nm"
    axis["scale"] = float(axis["scale"]) / _NM_PER_M**2
    axis["offset"] = float(axis["offset"]) / _NM_PER_M**2
