"""NanoMegas ASTAR blockfiles (``.blo``): scanning precession electron diffraction.

Binary parsing is RosettaSciIO's (``rsciio.blockfile``), memory-mapped. The
header layout was reverse-engineered (RosettaSciIO's comments on it are the
only documentation); this module keeps the header whole as vendor metadata.

The detector axes are stored as pixel indices, with a warning: the header's
diffraction scale ``SDP`` is "100 x pixels per cm" — a length in the plane
where ASTAR records the pattern, which RosettaSciIO passes on as a cm axis and
writes back from a cm axis. Turning it into reciprocal space would need the
effective camera length of that plane, which the file does not define, so it
is neither a reciprocal calibration nor a specimen length. The scan axes (SX,
SY in nm) are kept. ``Signal.metadata`` is RosettaSciIO's ``original_metadata``
(``blockfile_header``). The header's camera length is stored in units of 0.1 mm;
``camera_length_mm`` in ``Signal.derived`` holds it in mm for the mapping table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..compat.rsciio import blockfile_header_dtype
from ..errors import ConversionError
from ..model import Signal
from ._rsciio import call_reader, lazily, signals_from_rsciio, vendor_tree

NAME = "blockfile"
TITLE = "NanoMegas ASTAR blockfile"
EXTENSIONS = (".blo",)

_MAGIC = b"IMGBLO"
_CAMERA_LENGTH_UNITS_PER_MM = 10
_DETECTOR_AXES = {"dy": "detector ky", "dx": "detector kx"}
_SCAN_AXES = {"y": "scan y", "x": "scan x"}


def sniff(path: Path, head: bytes) -> bool:
    return head.startswith(_MAGIC)


def read(path: Path, companions: list[Path]) -> list[Signal]:
    from rsciio.blockfile import file_reader

    _refuse_damaged_offsets(path)
    dicts = call_reader(path, TITLE, lazily(file_reader))
    signals = signals_from_rsciio(dicts, path, NAME, prepare=lambda entry: _prepare(entry, path), derive=_derived)
    for signal in signals:
        signal.quantity = "intensity (8-bit)"
    return signals


def _refuse_damaged_offsets(path: Path) -> None:
    """RosettaSciIO reads the note up to ``Data_offset_1`` in one call: a damaged offset
    (e.g. 2^32 - 1) would allocate gigabytes before failing. Checked with its own header layout."""
    import numpy as np

    dtype = blockfile_header_dtype()
    with open(path, "rb") as handle:
        header = np.frombuffer(handle.read(dtype.itemsize).ljust(dtype.itemsize, b"\0"), dtype=dtype)[0]
    size = path.stat().st_size
    for field in ("Data_offset_1", "Data_offset_2"):
        if int(header[field]) > size:
            reason = f"header field {field} ({int(header[field])}) points beyond the end of the file ({size} bytes)"
            raise ConversionError(path, f"{reason}: truncated or damaged")


def _header(entry: dict[str, Any]) -> dict[str, Any]:
    return vendor_tree(entry).get("blockfile_header", {})


def _prepare(entry: dict[str, Any], path: Path) -> list[str]:
    return _fix_axes(entry["axes"], _header(entry), path)


def _fix_axes(axes: list[dict[str, Any]], header: dict[str, Any], path: Path) -> list[str]:
    """Scan axes named as such; detector axes as indices (see module docstring)."""
    detector = False
    for axis in axes:
        name = axis.get("name")
        if name in _SCAN_AXES:
            axis["name"] = _SCAN_AXES[name]
        elif name in _DETECTOR_AXES:
            axis.update(name=_DETECTOR_AXES[name], scale=1.0, offset=0.0, units="")
            detector = True
    if not detector:
        return []
    return [
        f"{path.name}: the blockfile diffraction scale (SDP = {header.get('SDP')}, 100 x pixels per cm in the "
        "recording plane) is not a reciprocal-space calibration; the detector axes are stored as pixel indices"
    ]


def _derived(entry: dict[str, Any]) -> dict[str, Any]:
    camera_length = _header(entry).get("Camera_length")
    if not camera_length:
        return {}
    return {"camera_length_mm": float(camera_length) / _CAMERA_LENGTH_UNITS_PER_MM}
