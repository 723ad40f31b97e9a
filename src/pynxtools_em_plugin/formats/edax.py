"""EDAX (Genesis / TEAM / APEX) EDS files: ``.spc`` spectra and ``.spd`` spectrum images.

Binary parsing is RosettaSciIO's (``rsciio.edax``), with the whole ``.spc`` header
(``load_all_spc``: take-off angle, acquisition date, amplifier time...). A spectrum
image is three files: the ``.spd`` (the counts, read lazily through a memory map,
in blocks of whole scan rows), the ``.spc`` of the same name (energy calibration and
acquisition settings) and the ``.ipr`` of its electron image (pixel size in µm,
magnification, dwell time), whose name the ``.spd`` header records (``fName``). They
are one acquisition (:func:`companions`); the ``.spd`` is what converts, a ``.spc``
given with its ``.spd`` is not converted on its own, an ``.ipr`` alone is refused
(:func:`lone_companion`). A ``.spd`` without its companions converts with an
uncalibrated axis and a warning naming the missing file. A ``.spc`` cut short, even inside its
header, is still recognised by the fields its first bytes hold (version, acquisition date, data
start, channels) and refused as truncated, not as an unknown file.

``Signal.metadata`` is RosettaSciIO's ``original_metadata`` (``spc_header``,
``spd_header``, ``ipr_header``); ``Signal.derived`` holds ``atom_types`` (the
chemical symbols of the header's atomic numbers) and ``collected`` (the ``.spc``
acquisition date and time, a local time without zone).
"""

from __future__ import annotations

import logging
import math
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..chunking import rows_per_block
from ..compat.rsciio import element_symbol, reader_logger, spc_header_size
from ..errors import ConversionError
from ..model import Signal
from ._rsciio import call_reader, lazily, refuse_oversized, rsciio_log, signal_from_rsciio

NAME = "edax"
TITLE = "EDAX EDS"
EXTENSIONS = (".spc", ".spd", ".ipr")

_SPD_TAG = b"MAPSPECTRA_DATA"
#: ``.spc`` header fields a sniffer checks: (offset, format, plausible value).
_SPC_FIELDS: tuple[tuple[int, str, Callable[[Any], bool]], ...] = (
    (0, "<f", lambda version: math.isfinite(version) and 0.5 <= version < 2.0),
    (28, "<i", lambda data_start: 736 <= data_start <= 1 << 20),
    (32, "<h", lambda channels: channels > 0),
    (384, "<i", lambda ev_per_channel: 0 < ev_per_channel <= 1000),
    (532, "<f", lambda kv: math.isfinite(kv) and 0 <= kv <= 1000),
)
#: Bytes that hold every field of :data:`_SPC_FIELDS`; a shorter file is a header cut short.
_SPC_CHECKED_SIZE = 536
#: Acquisition date and time at 16: year (int16), day, month, minute, hour, hundredths, second (int8).
_SPC_DATE = struct.Struct("<h6b")
_SPC_DATE_OFFSET = 16
#: The fewest bytes of a cut ``.spc`` still claimed: version, date, data start, channels (offsets 0-33).
_SPC_MIN_CLAIMED = 34
#: ``.ipr`` header: version (333 or 334) -> its size; image type 0-4, colour 0-8, preset mode 0-1.
_IPR_SIZES = {333: 252, 334: 264}
_IPR_MAX_SIZE = 4096
#: tag, version, nSpectra, nPoints, nLines, nChannels, countBytes, dataOffset, nFrames; then fName (120 bytes).
_SPD_HEADER = struct.Struct("<16s3i5I")


def sniff(path: Path, head: bytes) -> bool:
    return head.startswith(_SPD_TAG) or _is_spc(head) or _is_ipr(path, head)


def _is_spc(head: bytes) -> bool:
    """A whole header by its fields; one cut short (a truncated file: :func:`read` refuses it by name) by
    the fields it still holds and a valid acquisition date, lest a short file of another kind be claimed."""
    if len(head) < _SPC_MIN_CLAIMED:
        return False
    present = [(o, f, plausible) for o, f, plausible in _SPC_FIELDS if o + struct.calcsize(f) <= len(head)]
    if not all(plausible(struct.unpack_from(f, head, o)[0]) for o, f, plausible in present):
        return False
    return len(head) >= _SPC_CHECKED_SIZE or _has_acquisition_date(head)


def _has_acquisition_date(head: bytes) -> bool:
    year, day, month, minute, hour, hundredths, second = _SPC_DATE.unpack_from(head, _SPC_DATE_OFFSET)
    return (
        1980 <= year <= 2200
        and 1 <= month <= 12
        and 1 <= day <= 31
        and 0 <= hour < 24
        and 0 <= minute < 60
        and 0 <= second < 60
        and 0 <= hundredths < 100
    )


def _is_ipr(path: Path, head: bytes) -> bool:
    """An ``.ipr`` is a small fixed header: version, image type, label, signal range, colour, preset mode."""
    if len(head) < 20:
        return False
    version, image_type = struct.unpack_from("<2H", head)
    color, preset_mode = struct.unpack_from("<2H", head, 16)
    if version not in _IPR_SIZES or image_type > 4 or color > 8 or preset_mode > 1:
        return False
    try:
        return _IPR_SIZES[version] <= path.stat().st_size <= _IPR_MAX_SIZE
    except OSError:
        return False


def companions(path: Path, candidates: list[Path]) -> list[Path]:
    """A ``.spd``'s ``.spc`` of the same name and the ``.ipr`` its header names (or ``<stem>.ipr``)."""
    if path.suffix.lower() != ".spd":
        return []
    wanted = {f"{path.stem}.spc".lower(), *(f"{stem}.ipr".lower() for stem in _ipr_stems(path))}
    return [c for c in candidates if c != path and c.parent == path.parent and c.name.lower() in wanted]


def _ipr_stems(path: Path) -> set[str]:
    """``<stem>`` and the stem of the electron image the ``.spd`` header names (``fName``)."""
    stems = {path.stem}
    try:
        with open(path, "rb") as handle:
            head = handle.read(_SPD_HEADER.size + 120)
        name = head[_SPD_HEADER.size : _SPD_HEADER.size + 120].split(b"\0", 1)[0].decode("latin-1")
    except OSError:
        return stems
    if name.strip():
        stems.add(Path(name.replace("\\", "/")).stem)
    return stems


def lone_companion(path: Path) -> str | None:
    """An ``.ipr`` describes the electron image of a map; it holds no spectra."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(20)
    except OSError:
        return None
    if _is_ipr(path, head):
        return "is an EDAX image description (.ipr) without data; pass the .spd spectrum image (with its .spc)"
    return None


def read(path: Path, companions: list[Path]) -> list[Signal]:
    from rsciio.edax import file_reader

    with open(path, "rb") as handle:
        head = handle.read(_SPD_HEADER.size)
    if head.startswith(_SPD_TAG):
        return [_read_spd(path, companions, file_reader)]
    _refuse_cut_spc(path)
    entry = call_reader(path, TITLE, file_reader, load_all_spc=True)[0]
    _check_spectrum(path, entry)
    return [signal_from_rsciio(entry, path, NAME, context="spectrum", derived=_derived(entry))]


def _refuse_cut_spc(path: Path) -> None:
    """A ``.spc`` shorter than its header (RosettaSciIO's record of this version) or than the counts its
    header declares, refused by name (RosettaSciIO would fail with a TypeError)."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(_SPC_MIN_CLAIMED)
    if len(head) < _SPC_MIN_CLAIMED:
        raise ConversionError(path, f"is an EDAX .spc file cut short inside its header ({size} bytes): truncated")
    (version,) = struct.unpack_from("<f", head)
    data_start, channels = struct.unpack_from("<ih", head, 28)
    needed = max(spc_header_size(version), data_start + 4 * channels)  # counts: uint32
    if size < needed:
        reason = f"holds {size} bytes, its header and {channels} channels of counts take {needed}: truncated or damaged"
        raise ConversionError(path, f"is an EDAX .spc file cut short: {reason}")


def _read_spd(path: Path, companions: list[Path], file_reader: Any) -> Signal:
    """A spectrum image with the calibration files among ``companions`` (else uncalibrated, warned)."""
    shape, itemsize = _spd_layout(path)
    by_suffix = {c.suffix.lower(): c for c in companions}
    chunks = (rows_per_block(shape, itemsize), -1, -1)
    not_given = ""  # RosettaSciIO reads a calibration file only under the name given: none given, none read
    with rsciio_log(reader_logger("edax"), logging.WARNING) as records:
        entry = call_reader(
            path,
            TITLE,
            lazily(file_reader, signal_dims=1),
            chunks=chunks,
            load_all_spc=True,
            spc_fname=str(by_suffix.get(".spc", not_given)),
            ipr_fname=str(by_suffix.get(".ipr", not_given)),
        )[0]
    if ".spc" not in by_suffix:  # RosettaSciIO then numbers the channels from 1
        entry["axes"][-1].update(offset=0, scale=1, units=None, name="channel")
    signal = signal_from_rsciio(entry, path, NAME, context="spectrum image", derived=_derived(entry))
    for suffix, what in ((".spc", "energy calibration and acquisition settings"), (".ipr", "pixel size")):
        if suffix not in by_suffix:
            signal.warnings.append(f"{path.name}: no {suffix} file beside it; its {what} are not recorded")
    signal.warnings.extend(f"{path.name}: {' '.join(r.getMessage().split())}" for r in records if "find" not in r.msg)
    return signal


def _spd_layout(path: Path) -> tuple[tuple[int, int, int], int]:
    """(lines, points, channels) and bytes per count from the ``.spd`` header; a header that
    declares more counts than the file holds is refused before anything is mapped."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(_SPD_HEADER.size)
    if len(head) < _SPD_HEADER.size:
        raise ConversionError(path, "is an EDAX .spd file cut short inside its header: truncated")
    _, _, _, points, lines, channels, count_bytes, offset, _ = _SPD_HEADER.unpack(head)
    if count_bytes not in (1, 2, 4) or points <= 0 or lines <= 0 or channels <= 0:
        reason = f"declares {lines} x {points} pixels of {channels} channels of {count_bytes} bytes: damaged header"
        raise ConversionError(path, reason)
    declared = lines * points * channels * count_bytes
    refuse_oversized(path, "the .spd header", declared, size)
    if offset + declared > size:
        reason = f"holds {size - offset} bytes of counts, its header declares {declared}: truncated"
        raise ConversionError(path, reason)
    return (lines, points, channels), count_bytes


def _check_spectrum(path: Path, entry: dict[str, Any]) -> None:
    """RosettaSciIO reads as many counts as the file still holds: a short spectrum is a truncated file."""
    header = entry["original_metadata"]["spc_header"]
    if int(np.size(entry["data"])) < int(header["numPts"]):
        reason = f"holds {np.size(entry['data'])} of the {int(header['numPts'])} channels its header declares"
        raise ConversionError(path, f"{reason}: truncated")


def _derived(entry: dict[str, Any]) -> dict[str, Any]:
    """Element symbols and the acquisition time, from the ``.spc`` header when there is one."""
    header = entry["original_metadata"].get("spc_header")
    if not header:
        return {}
    derived: dict[str, Any] = {}
    numbers = [int(z) for z in np.asarray(header.get("at", []))[: max(int(header.get("numElem", 0)), 0)]]
    symbols = [element_symbol(z) for z in numbers]
    if symbols and all(symbols):
        derived["atom_types"] = ", ".join(sorted(symbols))
    collected = _collected(header)
    if collected:
        derived["collected"] = collected
    return derived


def _collected(header: dict[str, Any]) -> str | None:
    """``collectDate*``/``collectTime*`` as ``YYYY-MM-DDTHH:MM:SS`` (local time, no zone), if plausible."""
    keys = ("collectDateYear", "collectDateMon", "collectDateDay")
    keys += ("collectTimeHour", "collectTimeMin", "collectTimeSec")
    try:
        year, month, day, hour, minute, second = (int(header[key]) for key in keys)
    except (KeyError, TypeError, ValueError):
        return None
    if not (1980 <= year <= 2200 and 1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60):
        return None
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{min(second, 59):02d}"
