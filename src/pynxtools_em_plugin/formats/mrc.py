"""MRC files: Direct Electron 4D-STEM/TEM movies (+ ``_info.txt``) and Thermo Fisher MRC.

Binary parsing of the image data and of the standard 1024-byte header is
RosettaSciIO's (``rsciio.mrc``), memory-mapped. For a Direct Electron movie
(``YYYYMMDD_NNNNN_movie.mrc``) RosettaSciIO also reads the DE-Server
``_info.txt`` (``key = value`` lines) that gives the scan shape and metadata;
it is the movie's companion here.

Corrections made here, each pinned by a test:

* RosettaSciIO 0.15 overwrites every scale of a DE 4D-STEM movie with 1
  (``axes_scales[axes_scales != -1] = 1``), dropping the recorded scan step.
  The scan axes get ``Specimen Pixel Size X/Y (nanometers)`` back.
* DE records the diffraction pixel size (``Diffraction Pixel Size X/Y``) without
  a unit; RosettaSciIO assumes nm^-1 while DE's own client software shows it in
  mrad. Rather than guess, the detector axes of a DE movie are pixel indices
  (with a warning naming the recorded value, which stays in the vendor metadata).

Thermo Fisher software (Velox, EPU, Tomo) writes an ``FEI1``/``FEI2`` extended
header (MRC2014 ``EXTTYP``) that RosettaSciIO does not parse. Its first
metadata block is decoded here (layout from Thermo Fisher's published
"MRC2014 extended header" specification): only the fields whose bit is set in
the block's validity bitmasks are kept, as ``fei_extended_header`` in
``Signal.derived`` (our own parse: ``Signal.metadata`` stays RosettaSciIO's
``original_metadata``), and the detector that took the image as
``detector_name`` there too. A DE ``_info.txt`` given alone is refused with a
clear message (:func:`lone_companion`).
"""

from __future__ import annotations

import re
import struct
from pathlib import Path
from typing import Any

import numpy as np

from ..model import Signal
from ._rsciio import call_reader, lazily, signals_from_rsciio, vendor_tree

NAME = "mrc"
TITLE = "MRC (Direct Electron, Thermo Fisher)"
EXTENSIONS = (".mrc", ".txt")

_MAP_AT = 208
_MODES = {0, 1, 2, 4, 6, 12}
_MAX_DIM = 1 << 20
_DE_INFO_KEYS = (b"Server Software Version", b"Camera Model", b"Dataset Name", b"Frames Per Second")
_DE_PREFIX = re.compile(r"^(\d{8}_\d+)_")
_SCAN_PERIOD_KEYS = ("Scan - Time (seconds)", "Scan - Repeat Delay (seconds)")

#: FEI1/FEI2 metadata block: each field of a group is valid when its bit is set in
#: the group's bitmask (bit i = i-th entry); None entries are reserved or unused bytes.
_FEI_GROUPS: tuple[tuple[tuple[str | None, str], ...], ...] = (
    (
        ("Timestamp", "f8"), ("Microscope type", "S16"), ("D-Number", "S16"), ("Application", "S16"),
        ("Application version", "S16"), ("HT", "f8"), ("Dose", "f8"), ("Alpha tilt", "f8"), ("Beta tilt", "f8"),
        ("X-Stage", "f8"), ("Y-Stage", "f8"), ("Z-Stage", "f8"), ("Tilt axis angle", "f8"),
        ("Dual axis rotation", "f8"), ("Pixel size X", "f8"), ("Pixel size Y", "f8"),
        *((None, "V8"),) * 6,
        ("Defocus", "f8"), ("STEM Defocus", "f8"), ("Applied defocus", "f8"), ("Instrument mode", "i4"),
        ("Projection mode", "i4"), ("Objective lens mode", "S16"), ("High magnification mode", "S16"),
        ("Probe mode", "i4"), ("EFTEM On", "?"), ("Magnification", "f8"),
    ),
    (
        ("Camera length", "f8"), ("Spot index", "i4"), ("Illuminated area", "f8"), ("Intensity", "f8"),
        ("Convergence angle", "f8"), ("Illumination mode", "S16"), ("Wide convergence angle range", "?"),
        ("Slit inserted", "?"), ("Slit width", "f8"), ("Acceleration voltage offset", "f8"),
        ("Drift tube voltage", "f8"), ("Energy shift", "f8"), ("Shift offset X", "f8"), ("Shift offset Y", "f8"),
        ("Shift X", "f8"), ("Shift Y", "f8"), ("Integration time", "f8"), ("Binning Width", "i4"),
        ("Binning Height", "i4"), ("Camera name", "S16"), ("Readout area left", "i4"), ("Readout area top", "i4"),
        ("Readout area right", "i4"), ("Readout area bottom", "i4"), ("Ceta noise reduction", "?"),
        ("Ceta frames summed", "i4"), ("Direct detector electron counting", "?"),
        ("Direct detector align frames", "?"), *((None, "i4"),) * 4,
    ),
    (
        *((None, "i4"),) * 6,
        ("Phase Plate", "?"), ("STEM Detector name", "S16"), ("Gain", "f8"), ("Offset", "f8"),
        *((None, "i4"),) * 5,
        ("Dwell time", "f8"), ("Frame time", "f8"), ("Scan size left", "i4"), ("Scan size top", "i4"),
        ("Scan size right", "i4"), ("Scan size bottom", "i4"), ("Full scan FOV X", "f8"), ("Full scan FOV Y", "f8"),
        ("Element", "S16"), ("Energy interval lower", "f8"), ("Energy interval higher", "f8"), ("Method", "i4"),
        ("Is dose fraction", "?"), ("Fraction number", "i4"), ("Start frame", "i4"), ("End frame", "i4"),
        ("Input stack filename", "S80"),
    ),
    (
        ("Alpha tilt min", "f8"), ("Alpha tilt max", "f8"),
        # FEI2 (metadata version 2) only:
        ("Scan rotation", "f8"), ("Diffraction pattern rotation", "f8"), ("Image rotation", "f8"),
        ("Scan mode enumeration", "i4"), ("Acquisition time stamp", "i8"), ("Detector commercial name", "S16"),
        ("Start tilt angle", "f8"), ("End tilt angle", "f8"), ("Tilt per image", "f8"), ("Tilt speed", "f8"),
        ("Beam center X pixel", "i4"), ("Beam center Y pixel", "i4"), ("CFEG flash timestamp", "i8"),
        ("Phase plate position index", "i4"), ("Objective aperture name", "S16"),
    ),
)  # fmt: skip
_FEI1_LAST_GROUP_FIELDS = 2
_FEI_STEM_MODE = 2


def sniff(path: Path, head: bytes) -> bool:
    return is_mrc(head) or is_de_info(head)


def is_mrc(head: bytes) -> bool:
    """MRC2014 header: 'MAP ' at byte 208, positive sane dimensions, a known data mode."""
    if len(head) < _MAP_AT + 4 or head[_MAP_AT : _MAP_AT + 4] != b"MAP ":
        return False
    nx, ny, nz, mode = struct.unpack("<4i", head[:16])
    return all(0 < n < _MAX_DIM for n in (nx, ny, nz)) and mode in _MODES


def is_de_info(head: bytes) -> bool:
    """A DE-Server ``_info.txt``: 'key = value' text naming DE-Server properties."""
    return b" = " in head and any(key in head for key in _DE_INFO_KEYS) and b"\x00" not in head


def companions(path: Path, candidates: list[Path]) -> list[Path]:
    """The ``<date>_<acquisition>_..._info.txt`` of a DE movie among the given files."""
    match = _DE_PREFIX.match(path.name)
    if path.suffix.lower() != ".mrc" or match is None:
        return []
    prefix = match.group(1).lower() + "_"
    return [
        c
        for c in candidates
        if c.parent == path.parent and c.name.lower().startswith(prefix) and c.name.lower().endswith("_info.txt")
    ]


def lone_companion(path: Path) -> str | None:
    """A DE ``_info.txt`` holds no image data: its movie is what converts."""
    if path.suffix.lower() == ".txt" or not _has_mrc_header(path):
        return "is a Direct Electron _info.txt without image data; pass its _movie.mrc file"
    return None


def read(path: Path, companions: list[Path]) -> list[Signal]:
    from rsciio.mrc import file_reader

    info = next((c for c in companions if c.suffix.lower() == ".txt"), None)
    metadata_file = str(info) if info is not None else "auto"
    dicts = call_reader(path, TITLE, lazily(file_reader), metadata_file=metadata_file)
    derived = _fei_derived(read_fei_extended_header(path))
    signals = signals_from_rsciio(
        dicts, path, NAME, prepare=lambda entry: _prepare(entry, path), derive=lambda entry: derived
    )
    for signal in signals:
        signal.simulated = _from_camera_simulator(signal.metadata)
    return signals


def _from_camera_simulator(metadata: dict[str, Any]) -> bool:
    """DE-Server's simulated camera ("DESim") writes synthetic frames, not a measurement."""
    return str(metadata.get("de_metadata", {}).get("Camera Model", "")).strip().lower() == "desim"


def _prepare(entry: dict[str, Any], path: Path) -> list[str]:
    return _fix_de_axes(entry, path) if "de_metadata" in vendor_tree(entry) else []


def _has_mrc_header(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return is_mrc(handle.read(1024))
    except OSError:
        return False


# ---- Direct Electron --------------------------------------------------------
def _fix_de_axes(entry: dict[str, Any], path: Path) -> list[str]:
    """Scales from the DE info file by axis name (see module docstring)."""
    info = vendor_tree(entry)["de_metadata"]
    scanning = info.get("Scan - Enable") == "Enable"
    detector = False
    for axis in entry["axes"]:
        name = axis.get("name")
        if name in ("x", "y"):
            _set_step(axis, _positive(info.get(f"Specimen Pixel Size {name.upper()} (nanometers)")), "nm")
            axis["name"] = f"scan {name}" if scanning else name
        elif name in ("kx", "ky"):
            _set_step(axis, None, "")
            axis["name"] = f"detector {name}"
            detector = True
        elif name == "time" and scanning:
            _set_step(axis, sum(_positive(info.get(key)) or 0.0 for key in _SCAN_PERIOD_KEYS) or None, "s")
            axis["name"] = "scan repeat"
        elif name == "repeats":
            _set_step(axis, None, "")
    if not detector:
        return []
    sizes = (info.get("Diffraction Pixel Size X"), info.get("Diffraction Pixel Size Y"))
    return [
        f"{path.name}: DE records the diffraction pixel size (X, Y = {sizes[0]}, {sizes[1]}) without a unit "
        "(nm^-1 or mrad); the detector axes are stored as pixel indices"
    ]


def _set_step(axis: dict[str, Any], step: float | None, units: str) -> None:
    """A calibrated axis from 0 in steps of ``step``, or a pixel index without one."""
    axis.update(scale=step or 1.0, units=units if step else "", offset=0.0)


def _positive(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


# ---- Thermo Fisher FEI1/FEI2 extended header ---------------------------------------
def read_fei_extended_header(path: Path) -> dict[str, Any]:
    """The valid fields of the first FEI1/FEI2 metadata block, or {} if there is none."""
    with open(path, "rb") as handle:
        header = handle.read(1024)
        if len(header) < 1024 or header[104:108] not in (b"FEI1", b"FEI2"):
            return {}
        extended_size = struct.unpack("<i", header[92:96])[0]
        block = handle.read(max(0, min(extended_size, 4096)))
    if len(block) < 8:
        return {}
    size, version = struct.unpack("<ii", block[:8])
    dtype, groups = _fei_dtype(version)
    if size < dtype.itemsize or len(block) < dtype.itemsize:
        return {}
    record = np.frombuffer(block, dtype=dtype, count=1)[0]
    fields: dict[str, Any] = {"Metadata size": int(size), "Metadata version": int(version)}
    for number, group in enumerate(groups, start=1):
        mask = int(record[f"Bitmask {number}"])
        fields[f"Bitmask {number}"] = mask
        for bit, (name, _) in enumerate(group):
            if name is not None and (mask >> bit) & 1:
                fields[name] = _plain(record[name])
    return fields


def _fei_derived(fei: dict[str, Any]) -> dict[str, Any]:
    """The FEI block and the detector of the image: FEI blocks name both the STEM detector and
    the camera, the instrument mode (2 = STEM) says which one took it."""
    if not fei:
        return {}
    key = "STEM Detector name" if fei.get("Instrument mode") == _FEI_STEM_MODE else "Camera name"
    return {"fei_extended_header": fei, **({"detector_name": fei[key]} if fei.get(key) else {})}


def _fei_dtype(version: int) -> tuple[np.dtype, tuple]:
    """Little-endian block layout; metadata version 1 (FEI1) lacks the FEI2 additions."""
    groups = _FEI_GROUPS if version >= 2 else (*_FEI_GROUPS[:3], _FEI_GROUPS[3][:_FEI1_LAST_GROUP_FIELDS])
    fields: list[tuple[str, str]] = [("Metadata size", "<i4"), ("Metadata version", "<i4")]
    for number, group in enumerate(groups, start=1):
        fields.append((f"Bitmask {number}", "<u4"))
        for index, (name, fmt) in enumerate(group):
            numeric = fmt[0] in "iuf"
            fields.append((name or f"_reserved_{number}_{index}", f"<{fmt}" if numeric else fmt))
    return np.dtype(fields), groups


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.rstrip(b"\x00").decode("latin-1").strip()
    return value.item() if isinstance(value, np.generic) else value
