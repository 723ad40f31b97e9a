"""TVIPS recorder streams (``<name>_000.tvips``, continued in ``_001``, ``_002``...).

Binary parsing of the images is RosettaSciIO's (``rsciio.tvips``), memory-mapped;
it reads all parts of a series from the first one. RosettaSciIO keeps only the
main header (``Signal.metadata`` is its ``original_metadata``): the per-frame
headers (time stamps, mode, stage...) are read here with RosettaSciIO's own record
layout and kept in ``Signal.derived`` under ``frame_headers`` (fields that never
change as one value, the others as one value per frame), and the first frame's
time (s + ms since 1970) as ``first_frame_time``.

Axis corrections, pinned by tests:

* RosettaSciIO's time axis is ``first stamp + i * (stamp[1] - stamp[0])``; here
  the frames' own time stamps (s + ms) are the axis values when they increase,
  otherwise (a 1 ms clock is too coarse for fast cameras) the axis is a frame index.
* The header's only calibration is an integer ``pixelsize``, "the physical pixel
  size in nm". RosettaSciIO reads it as 1/nm per pixel for diffraction frames;
  an integer length cannot be a reciprocal calibration, so diffraction axes are
  pixel indices, with a warning. Image-mode frames keep it as nm.

Parts after ``_000`` are recognised (their first part must lie next to them)
and read with it; given alone they are refused with a clear message
(:func:`lone_companion`).
"""

from __future__ import annotations

import re
import struct
from pathlib import Path
from typing import Any

import numpy as np

from ..compat.rsciio import tvips_frame_header_dtype
from ..model import Signal
from ..parsing import read_head
from ._rsciio import call_reader, lazily, signal_from_rsciio, vendor_tree

NAME = "tvips"
TITLE = "TVIPS recorder stream"
EXTENSIONS = (".tvips",)

_HEADER_SIZE = 256
_PART = re.compile(r"^(?P<base>.+_)(?P<number>\d{3})\.tvips$", re.IGNORECASE)
_DIFFRACTION_MODE = 2
_MS_PER_S = 1000.0


def sniff(path: Path, head: bytes) -> bool:
    if is_main_header(head):
        return True
    first = first_part(path)
    return first is not None and first != path and first.exists() and is_main_header(read_head(first, _HEADER_SIZE))


def is_main_header(head: bytes) -> bool:
    """Recorder main header: size 256, version 1 or 2, image size, 8 or 16 bits per pixel."""
    if len(head) < _HEADER_SIZE:
        return False
    size, version, dimx, dimy, bits = struct.unpack("<5I", head[:20])
    return size == _HEADER_SIZE and version in (1, 2) and 0 < dimx < 1 << 16 and 0 < dimy < 1 << 16 and bits in (8, 16)


def first_part(path: Path) -> Path | None:
    match = _PART.match(path.name)
    return path.with_name(f"{match.group('base')}000{path.suffix}") if match else None


def parts(path: Path) -> list[Path]:
    """The files of the series that starts at ``path`` (``_000``), in order, as RosettaSciIO reads them."""
    match = _PART.match(path.name)
    found, number = [path], 1
    while match and (part := path.with_name(f"{match.group('base')}{number:03d}{path.suffix}")).exists():
        found.append(part)
        number += 1
    return found


def companions(path: Path, candidates: list[Path]) -> list[Path]:
    """The later parts of a series, read together with its first part."""
    if first_part(path) != path:
        return []
    later = set(parts(path)[1:])
    return [c for c in candidates if c in later]


def lone_companion(path: Path) -> str | None:
    """A later part of a series is read with its first part, not on its own."""
    first = first_part(path)
    if first == path:
        return None
    hint = f"pass {first.name}" if first else "rename it to <name>_000.tvips"
    return f"is not the first part of a TVIPS series (*_000.tvips); {hint}"


def read(path: Path, companions: list[Path]) -> list[Signal]:
    from rsciio.tvips import file_reader

    dicts = call_reader(path, TITLE, lazily(file_reader), rechunking=False)  # keep our blocks of frames
    signals = []
    for index, entry in enumerate(dicts):
        frames = _frame_headers(path, vendor_tree(entry).get("tvips_header", {}))
        warnings = _fix_axes(entry["axes"], frames, path) if frames else []
        signal = signal_from_rsciio(entry, path, NAME, context=f"signal {index}", derived=_derived(frames))
        signal.warnings.extend(warnings)
        signals.append(signal)
    return signals


def _derived(frames: dict[str, np.ndarray]) -> dict[str, Any]:
    if not frames:
        return {}
    return {
        "frame_headers": _compact(frames),
        "first_frame_time": float(frames["timestamp"][0] + frames["ms"][0] / _MS_PER_S),
    }


def _frame_headers(path: Path, header: dict[str, Any]) -> dict[str, np.ndarray]:
    """Every frame header of every part, in RosettaSciIO's record layout (version 2 only)."""
    frame_dtype = tvips_frame_header_dtype()
    try:
        increment = int(header["frameheaderbytes"])
        image_bytes = int(header["dimx"]) * int(header["dimy"]) * int(header["bitsperpixel"]) // 8
    except (KeyError, TypeError, ValueError):
        return {}
    if int(header.get("version", 0)) != 2 or increment < frame_dtype.itemsize:
        return {}
    record = np.dtype([("h", frame_dtype), ("rest", f"V{increment - frame_dtype.itemsize + image_bytes}")])
    chunks = []
    for number, part in enumerate(parts(path)):
        offset = _HEADER_SIZE if number == 0 else 0
        count = (part.stat().st_size - offset) // record.itemsize
        if count > 0:
            chunks.append(np.memmap(part, mode="r", dtype=record, offset=offset, shape=(count,))["h"])
    if not chunks:
        return {}
    stacked = np.concatenate(chunks)
    return {name: np.asarray(stacked[name]) for name in frame_dtype.names}


def _compact(frames: dict[str, np.ndarray]) -> dict[str, Any]:
    """One value for a field that never changes, the list of values for the others."""
    return {name: values[0].item() if np.all(values == values[0]) else values for name, values in frames.items()}


def _fix_axes(axes: list[dict[str, Any]], frames: dict[str, np.ndarray], path: Path) -> list[str]:
    warnings = []
    diffraction = int(frames["mode"][0]) == _DIFFRACTION_MODE
    recorded = axes[-1].get("scale")
    for axis in axes:
        name = axis.get("name")
        if name == "time":
            warnings += _time_axis(axis, frames, path)
        elif name in ("dx", "dy") and diffraction:
            axis.update(scale=1.0, offset=0.0, units="", name=f"detector k{name[1]}")
    if diffraction:
        warnings.append(
            f"{path.name}: the TVIPS header's only calibration, pixelsize = {recorded} "
            "('physical pixel size in nm'), is not a reciprocal-space calibration; "
            "the diffraction axes are stored as pixel indices"
        )
    return warnings


def _time_axis(axis: dict[str, Any], frames: dict[str, np.ndarray], path: Path) -> list[str]:
    """Frame time stamps relative to the first frame, or a frame index if they do not increase."""
    seconds = frames["timestamp"].astype(np.int64) - int(frames["timestamp"][0])
    times = seconds + (frames["ms"].astype(np.int64) - int(frames["ms"][0])) / _MS_PER_S
    if times.size == int(axis["size"]) and (times.size < 2 or np.all(np.diff(times) > 0)):
        axis.update(axis=times, name="time since first frame", units="s")
        return []
    axis.update(scale=1.0, offset=0.0, units="", name="frame")
    axis.pop("axis", None)
    return [f"{path.name}: the frame time stamps (1 ms resolution) do not increase; frames are stored by index"]
