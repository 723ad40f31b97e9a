"""Thermo Fisher Phenom Element Identification ``.elid`` projects.

Parsing is RosettaSciIO's (``rsciio.phenom``; no lazy loading there). An ELID
file is one bzip2 stream whose content starts with ``EID2`` and an int32 format
version; recognition decompresses those first bytes only. Every image of the
project and every EDS analysis on it (spot, region, line, map, difference, MSA
import) becomes one signal; colour thumbnails are kept too. Positions of
analyses are recorded as fractions of the image's scan field (``fieldSize``, the
longer image side), centred on it.

Corrections and additions, pinned by tests:

* Maps: RosettaSciIO reads the map's rectangle but discards it and scales every
  map as if it covered the whole field. The rectangle is captured
  (:func:`pynxtools_em_plugin.compat.rsciio.read_elid` keeps the four numbers read
  just before the map's colour intensities), stored as ``map_rectangle`` in
  ``Signal.derived``, and the pixel size is ``(right - left) * field / width``
  (same as RosettaSciIO's for a map of the whole field; square pixels, as the
  rectangles are square).
* Truncated files: RosettaSciIO's reader loops forever when the file ends
  inside the bzip2 stream; ``read_elid`` raises instead.
* Line scans: RosettaSciIO gives a point index; here the axis is the distance
  along the line from ``begin`` to ``end`` (points assumed at both ends).
* RosettaSciIO labels times with the zone of the computer that *reads* the file
  (``General/time_zone`` = local zone). ELID times carry no zone; the table maps
  the vendor ``time``, which gets the assumed zone and a note. An analysis has
  the time of its image (ELID records no other).
* ``Signal.metadata`` is RosettaSciIO's ``original_metadata``; ``Signal.derived``
  holds what the table cannot compute: quantities recorded as value
  + unit, converted (pint) from the *recorded* unit to V, A, s, m; the high
  voltage as a magnitude (Phenom records the negative cathode potential); for
  images only (an analysis carries a copy of its image's metadata) the dwell
  time, field of view and imaging detector(s) (``mixFactor`` > 0).
* ``elid`` (in ``Signal.derived``) holds the item's label and the file-format
  version, so that a thumbnail without vendor metadata still has its provenance.

Not read (RosettaSciIO 0.15 skips them): project-level analyses of format
versions >= 1 that belong to no image.
"""

from __future__ import annotations

import bz2
import math
import struct
from pathlib import Path
from typing import Any

from ..compat.rsciio import MAP_RECTANGLE, read_elid
from ..model import Signal
from ..units import convert_values
from ._rsciio import call_reader, normalised_metadata, signal_from_rsciio, vendor_tree

NAME = "phenom"
TITLE = "Thermo Fisher Phenom ELID"
EXTENSIONS = (".elid",)

_BZIP2_MAGIC = b"BZh"
_BZIP2_BLOCK_MAGIC = b"1AY&SY"
_ELID_ID = b"EID2"
#: Compressed bytes read at most to decode the first 8 bytes (a bzip2 block is < 1 MB).
_SNIFF_LIMIT = 1024 * 1024
_SNIFF_CHUNK = 64 * 1024

#: Vendor quantities recorded as {"value", "unit"} -> (derived key, SI unit).
_QUANTITIES = {
    ("acquisition", "scan", "highVoltage"): ("high_voltage", "V"),
    ("acquisition", "scan", "emissionCurrent"): ("emission_current", "A"),
    ("workingDistance",): ("working_distance", "m"),
}
#: Quantities of the image scan only: an analysis carries a copy of its image's metadata.
_IMAGE_QUANTITIES = {("acquisition", "scan", "dwellTime"): ("dwell_time", "s")}


def sniff(path: Path, head: bytes) -> bool:
    """A bzip2 stream that decompresses to ``EID2`` (or ends before its first block does: truncated)."""
    if not (head.startswith(_BZIP2_MAGIC) and head[4:10] == _BZIP2_BLOCK_MAGIC):
        return False
    start, truncated = _decompressed_start(path)
    return start.startswith(_ELID_ID) or (truncated and not start)


def elid_version(path: Path) -> int | None:
    """The ELID format version from the first decompressed bytes, or None if not ELID."""
    start, _ = _decompressed_start(path)
    if len(start) < 8 or not start.startswith(_ELID_ID):
        return None
    return struct.unpack("<i", start[4:8])[0]


def _decompressed_start(path: Path) -> tuple[bytes, bool]:
    """The first 8 decompressed bytes (fewer if unreadable) and whether the file ended first."""
    decompressor = bz2.BZ2Decompressor()
    start = b""
    consumed = 0
    try:
        with open(path, "rb") as handle:
            while len(start) < 8 and not decompressor.eof and consumed <= _SNIFF_LIMIT:
                chunk = handle.read(_SNIFF_CHUNK) if decompressor.needs_input else b""
                if decompressor.needs_input and not chunk:
                    return start, True
                consumed += len(chunk)
                start += decompressor.decompress(chunk, max_length=8 - len(start))
    except (OSError, EOFError, ValueError):
        return b"", False
    return start, False


def read(path: Path, companions: list[Path]) -> list[Signal]:
    dicts = call_reader(path, TITLE, read_elid)
    version = elid_version(path)
    signals = []
    for index, entry in enumerate(dicts):
        rectangle = entry.pop(MAP_RECTANGLE, None)
        _calibrate_analysis_axes(entry, rectangle)
        derived = _derived(entry, version, rectangle)
        signals.append(signal_from_rsciio(entry, path, NAME, context=f"signal {index}", derived=derived))
    return signals


def _calibrate_analysis_axes(entry: dict[str, Any], rectangle: dict[str, float] | None) -> None:
    """Map and line-scan positions from their geometry, in fractions of the scan field."""
    scan = vendor_tree(entry).get("acquisition", {}).get("scan", {})
    eds = scan.get("detectors", {}).get("EDS", {})
    axes = entry.get("axes", [])
    if "fieldSize" not in scan:
        return
    field = float(scan["fieldSize"]) * float(scan.get("scanScale", 1))  # metres
    if rectangle and len(axes) == 3:
        _scale_map(axes, rectangle, field)
    elif "begin" in eds and "end" in eds and len(axes) == 2:
        _scale_line(axes, eds["begin"], eds["end"], field)


def _scale_map(axes: list[dict[str, Any]], rectangle: dict[str, float], field: float) -> None:
    """Pixel size = rectangle size / pixel count (RosettaSciIO: whole field / pixel count)."""
    height, width = axes[0], axes[1]
    width.update(units="m", scale=(rectangle["right"] - rectangle["left"]) * field / width["size"])
    height.update(units="m", scale=(rectangle["bottom"] - rectangle["top"]) * field / height["size"])


def _scale_line(axes: list[dict[str, Any]], begin: dict[str, float], end: dict[str, float], field: float) -> None:
    """Distance along the line, points from begin to end inclusive (RosettaSciIO: point index)."""
    points = axes[0]
    length = math.hypot(end["x"] - begin["x"], end["y"] - begin["y"]) * field
    step = length / (points["size"] - 1) if points["size"] > 1 else 0.0
    points.update(name="distance along the line", units="m", scale=step, offset=0.0)


def _derived(entry: dict[str, Any], version: int | None, rectangle: dict[str, float] | None) -> dict[str, Any]:
    """What the table cannot compute (SI quantities, field of view, imaging detector), the
    item's label and file-format version, and a map's rectangle."""
    tree = vendor_tree(entry)
    label = normalised_metadata(entry).get("General", {}).get("title")
    derived: dict[str, Any] = {"elid": {"label": label, "format_version": version}}
    if rectangle:
        derived["map_rectangle"] = rectangle
    derived.update(_quantities(tree, _QUANTITIES))
    if not _is_analysis(tree):
        derived.update(_quantities(tree, _IMAGE_QUANTITIES))
        derived.update(_image_scan(tree))
    return derived


def _is_analysis(metadata: dict[str, Any]) -> bool:
    return "EDS" in metadata.get("acquisition", {}).get("scan", {}).get("detectors", {})


def _quantities(metadata: dict[str, Any], quantities: dict) -> dict[str, float]:
    """Value + unit pairs in SI units (pint, from the recorded unit); the high voltage as a magnitude."""
    derived = {}
    for keys, (name, unit) in quantities.items():
        node: Any = metadata
        for key in keys:
            node = node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            continue
        try:
            value = convert_values(float(node["value"]), str(node["unit"]), unit)
        except (KeyError, TypeError, ValueError):  # missing, unknown or incompatible unit (pint: TypeError)
            continue
        derived[name] = abs(value) if name == "high_voltage" else value
    return derived


def _image_scan(metadata: dict[str, Any]) -> dict[str, Any]:
    """Field of view (m) and the detector(s) mixed into the image (mixFactor > 0), e.g. 'QBSD'."""
    scan = metadata.get("acquisition", {}).get("scan", {})
    derived: dict[str, Any] = {}
    if scan.get("fieldSize"):
        derived["field_of_view"] = float(scan["fieldSize"]) * float(scan.get("scanScale", 1))
    mixed = []
    for name, settings in scan.get("detectors", {}).items():
        try:
            if name != "EDS" and float(settings.get("mixFactor", 0)) > 0:
                mixed.append(name)
        except (AttributeError, TypeError, ValueError):
            continue
    if mixed:
        derived["imaging_detector"] = " + ".join(mixed)
    return derived
