"""Quantum Detectors Merlin ``.mib`` files (+ their ``.hdr`` acquisition header).

Binary parsing is RosettaSciIO's (``rsciio.quantumdetector``), memory-mapped
(``lazy=True``) so that a large 4D-STEM series is not read whole at read time.
RosettaSciIO finds the ``.hdr`` next to the ``.mib`` by name and reads the scan
shape from it (or from the frame time stamps).

RosettaSciIO flips each frame upside down (its orientation convention for
Merlin frames, kept here). It returns nameless axes with scale 1 and no unit:
neither file records a scan step or a detector calibration, so the axes are
named here (scan y/x, detector ky/kx) and stay pixel indices. A ``.hdr`` given alone is
refused with a clear message (it holds no data).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import ConversionError
from ..model import Signal
from ._rsciio import call_reader, lazily, signals_from_rsciio

NAME = "quantumdetector"
TITLE = "Quantum Detectors Merlin MIB"
EXTENSIONS = (".mib", ".hdr")

_MIB_MAGIC = b"MQ1,"
_HDR_MAGIC = b"HDR,"
_SCAN_NAMES = ("scan y", "scan x")
_DETECTOR_NAMES = ("detector ky", "detector kx")


def sniff(path: Path, head: bytes) -> bool:
    return head.startswith((_MIB_MAGIC, _HDR_MAGIC))


def companions(path: Path, candidates: list[Path]) -> list[Path]:
    """The ``.hdr`` of the same name, which RosettaSciIO reads with the ``.mib``."""
    if path.suffix.lower() != ".mib":
        return []
    return [c for c in candidates if c.parent == path.parent and c.stem == path.stem and c.suffix.lower() == ".hdr"]


def read(path: Path, companion_files: list[Path]) -> list[Signal]:
    from rsciio.quantumdetector import file_reader

    if _is_hdr(path):
        raise ConversionError(path, "is a Merlin acquisition header (.hdr) without data; pass its .mib file")
    dicts = call_reader(path, TITLE, lazily(file_reader))
    signals = signals_from_rsciio(dicts, path, NAME, prepare=lambda entry: _prepare(entry, path))
    for signal in signals:
        signal.quantity = "counts"
    return signals


def _prepare(entry: dict[str, Any], path: Path) -> list[str]:
    _name_axes(entry["axes"])
    return _check_frame_count(path, entry.get("original_metadata", {}))


def _is_hdr(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(len(_HDR_MAGIC)) == _HDR_MAGIC


def _name_axes(axes: list[dict[str, Any]]) -> None:
    """Scan axes first, the two detector axes last; a stack of frames has one 'frame' axis."""
    navigation = len(axes) - 2
    names = _SCAN_NAMES[-navigation:] if 0 < navigation <= 2 else ("frame",) * navigation
    for axis, name in zip(axes, (*names, *_DETECTOR_NAMES), strict=True):
        axis["name"] = name


def _check_frame_count(path: Path, metadata: dict[str, Any]) -> list[str]:
    """Warn when the file holds fewer frames than the header announced (interrupted or truncated):
    RosettaSciIO then keeps only the complete scan lines."""
    announced = metadata.get("hdr_file", {}).get("Frames in Acquisition (Number)")
    read_frames = metadata.get("mib_properties", {}).get("frame_number_in_file")
    try:
        announced, read_frames = int(announced), int(read_frames)
    except (TypeError, ValueError):
        return []
    if read_frames >= announced:
        return []
    return [
        f"{path.name}: holds {read_frames} of the {announced} frames the .hdr announces "
        "(interrupted acquisition or truncated file); only complete scan lines were kept"
    ]
