"""Gatan DigitalMicrograph ``.dm3`` / ``.dm4`` files.

Binary parsing is RosettaSciIO's (``rsciio.digitalmicrograph``). This module
recognises the files by their header and hands each image of the file's
``ImageList`` on as one signal. RosettaSciIO renumbers every signal's own image
to ``ImageList/TagGroup0``, which is where the mapping table looks.

Files larger than :data:`~._rsciio.LAZY_MIN_BYTES` (4D-STEM series, EELS spectrum
images: several GB) are read lazily, as memory maps in dask blocks, except the images
that need their data in memory (:func:`_read_dm`).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..model import Signal
from ._rsciio import call_reader, lazily, signals_from_rsciio, worth_reading_lazily

NAME = "gatan"
TITLE = "Gatan DigitalMicrograph"
EXTENSIONS = (".dm3", ".dm4")


def sniff(path: Path, head: bytes) -> bool:
    """DM header: big-endian version 3 or 4, then a byte-order flag of 0 or 1."""
    if len(head) < 16:
        return False
    version = struct.unpack(">I", head[:4])[0]
    if version == 3:
        byte_order = struct.unpack(">I", head[8:12])[0]
    elif version == 4:
        byte_order = struct.unpack(">I", head[12:16])[0]
    else:
        return False
    return byte_order in (0, 1)


def read(path: Path, companions: list[Path]) -> list[Signal]:
    from rsciio.digitalmicrograph import file_reader

    dicts = call_reader(path, TITLE, _read_dm(file_reader, lazy=worth_reading_lazily(path)))
    notes = [_repair_odd_packed_complex(entry) for entry in dicts]
    signals = signals_from_rsciio(dicts, path, NAME)
    for signal, note in zip(signals, notes, strict=True):
        if note:
            signal.warnings.append(f"{path.name}: {note}")
    return signals


def _read_dm(file_reader: Callable[..., list[dict]], lazy: bool) -> Callable[..., list[dict]]:
    """RosettaSciIO's DM reader, lazy for a large file.

    Its lazy mode refuses RGB(A) images and cannot unpack old-style packed complex FFTs
    (data type 5; ValueError for both): a file holding one is read whole, as before. Packed
    complex FFTs it does unpack lazily are brought into memory: the repair of odd widths
    (:func:`_repair_odd_packed_complex`) needs them there, and an FFT is one 2D image.
    """
    if not lazy:
        return file_reader

    def read(filename: str) -> list[dict]:
        try:
            dicts = lazily(file_reader)(filename)
        except ValueError:
            return file_reader(filename)
        for entry in dicts:
            if np.iscomplexobj(entry["data"]):
                entry["data"] = np.asarray(entry["data"])
        return dicts

    return read


def _repair_odd_packed_complex(entry: dict[str, Any]) -> str | None:
    """Re-unpack a packed-complex FFT of odd width.

    DM stores FFTs as the non-redundant half plane (width // 2 + 1 columns).
    RosettaSciIO rebuilds the full plane as ``hstack(half[:, ::-1],
    conj(half[:, 1:-1]))``, which is right for even widths only; for odd widths
    the mirrored part needs ``width - (width // 2 + 1)`` columns, ``half[:, 1:]``.
    """
    data = entry["data"]
    if not np.iscomplexobj(data) or np.ndim(data) != 2:
        return None
    width = int(entry["axes"][-1]["size"])
    if width % 2 == 0 or data.shape[-1] == width:
        return None
    packed_width = width // 2 + 1
    half = np.asarray(data)[:, :packed_width][:, ::-1]
    mirrored = np.conjugate(half[:, 1 : 1 + width - packed_width])
    entry["data"] = np.hstack((half[:, ::-1], mirrored))
    return f"packed complex FFT of odd width {width} rebuilt from its half plane"
