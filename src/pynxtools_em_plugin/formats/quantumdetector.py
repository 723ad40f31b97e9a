"""Quantum Detectors Merlin ``.mib`` files (+ their ``.hdr`` acquisition header).

Binary parsing is RosettaSciIO's (``rsciio.quantumdetector``), memory-mapped
(``lazy=True``) so that a large 4D-STEM series is not read whole at read time.
RosettaSciIO finds the ``.hdr`` next to the ``.mib`` by name and reads the scan
shape from it (or from the frame time stamps).

RosettaSciIO flips each frame upside down (its orientation convention for
Merlin frames, kept here). It returns nameless axes with scale 1 and no unit:
neither file records a scan step or a detector calibration, so the axes are
named here (scan y/x, detector ky/kx) and stay pixel indices. A ``.hdr`` given alone is
refused with a clear message (it holds no data; :func:`lone_companion`).
``Signal.metadata`` is RosettaSciIO's ``original_metadata`` (``hdr_file``, ``mib_properties``).

Large series: RosettaSciIO finds the scan width from the time stamps of up to
10 000 frame headers, read through a memory map; every header touched pulls the
neighbouring frame pages into memory (fault-around), some 600 MB for a 2 GiB
file. :func:`_navigation_shape` finds the same shape reading only the header
bytes, and the dask blocks are whole scan rows of about
:data:`~pynxtools_em_plugin.chunking.BLOCK_BYTES`, the blocks the streaming writer
stores one at a time.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..chunking import BLOCK_BYTES, frame_chunks
from ..compat.rsciio import merlin_frame_times, mib_properties, parse_merlin_hdr
from ..model import Signal
from ._rsciio import call_reader, lazily, signals_from_rsciio, vendor_tree

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


def lone_companion(path: Path) -> str | None:
    """A ``.hdr`` holds no data of its own: its ``.mib`` is what converts."""
    return "is a Merlin acquisition header (.hdr) without data; pass its .mib file" if _is_hdr(path) else None


def read(path: Path, companions: list[Path]) -> list[Signal]:
    from rsciio.quantumdetector import file_reader

    dicts = call_reader(path, TITLE, lazily(file_reader), **_layout(path))
    signals = signals_from_rsciio(dicts, path, NAME, prepare=lambda entry: _prepare(entry, path))
    for signal in signals:
        signal.quantity = "counts"
    return signals


def _layout(path: Path) -> dict[str, Any]:
    """``navigation_shape`` and row-aligned ``chunks`` for RosettaSciIO, or nothing (its own search:
    also for a file holding fewer frames than its header announces, which RosettaSciIO cuts to whole lines)."""
    try:
        properties = mib_properties(str(path))
        stride = _frame_stride(properties.head_size, properties.dtype, properties.merlin_size)
        shape = _navigation_shape(path, properties, stride)
    except Exception:  # damaged header or time stamps: RosettaSciIO's own search reports it
        return {}
    if shape is None or shape[0] * shape[1] > properties.file_size // stride:
        return {}
    full = (*shape[::-1], *properties.merlin_size)  # RosettaSciIO's navigation_shape is (x, y)
    rows = frame_chunks(full, np.dtype(properties.dtype).itemsize, BLOCK_BYTES)[: len(shape)]
    return {"navigation_shape": shape, "chunks": (*rows, -1, -1)}


def _frame_stride(head_size: int, dtype: Any, frame_shape: Any) -> int:
    """Bytes of one frame record in the file: its header and its pixels."""
    return int(head_size) + np.dtype(dtype).itemsize * int(np.prod(frame_shape))


def _navigation_shape(path: Path, properties: Any, stride: int) -> tuple[int, int] | None:
    """RosettaSciIO's (x, y) navigation shape: from the ``.hdr``, and where it announces one frame
    per trigger, the scan width from the first frames' time stamps (a fly-back pause starts a line).
    Same rule as ``rsciio.quantumdetector.file_reader``, but the headers are read with ``pread``."""
    hdr_path = Path(str(path).replace(".mib", ".hdr"))  # the name RosettaSciIO looks for
    if not hdr_path.is_file():
        return None
    hdr = parse_merlin_hdr(str(hdr_path))
    per_trigger, frames = int(hdr["Frames per Trigger (Number)"]), int(hdr["Frames in Acquisition (Number)"])
    if frames == 0:
        return None
    if per_trigger == 1:
        count = min(frames, 10_000, properties.file_size // stride)
        with open(path, "rb") as handle:
            fd = handle.fileno()
            headers = [os.pread(fd, properties.head_size, properties.offset + i * stride) for i in range(count)]
        with warnings.catch_warnings():  # the time zone (Z) is dropped, as RosettaSciIO does
            warnings.simplefilter("ignore")
            times = np.array(merlin_frame_times(headers)).astype("datetime64")
        steps = np.diff(times).astype(float)
        above = np.argwhere(steps - np.mean(steps) > 0) if len(steps) else np.empty((0, 1))
        if len(above):
            per_trigger = int(above[0][0]) + 1
    return (per_trigger, frames // per_trigger)


def _prepare(entry: dict[str, Any], path: Path) -> list[str]:
    _name_axes(entry["axes"])
    metadata = vendor_tree(entry)
    return _check_frame_count(path, metadata) + _check_partial_frame(path, metadata)


def _is_hdr(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(len(_HDR_MAGIC)) == _HDR_MAGIC
    except OSError:
        return False


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


def _check_partial_frame(path: Path, metadata: dict[str, Any]) -> list[str]:
    """Warn when the file ends inside a frame (a truncated copy): RosettaSciIO leaves that frame out,
    which without a ``.hdr`` would otherwise go unnoticed. Raw (packed) files are not checked."""
    properties = metadata.get("mib_properties", {})
    try:
        if properties.get("raw"):
            return []
        stride = _frame_stride(properties["head_size"], properties["dtype"], properties["merlin_size"])
        stored = int(properties["file_size"]) - int(properties["offset"])
        frames = int(properties["frame_number_in_file"])
    except (KeyError, TypeError, ValueError):
        return []
    left = stored - frames * stride
    if not 0 < left < stride:
        return []
    return [f"{path.name}: ends {left} bytes into an incomplete frame (truncated file?); that frame was left out"]
