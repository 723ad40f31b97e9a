"""Thermo Fisher / FEI Velox ``.emd`` files (HDF5).

Binary parsing is RosettaSciIO's (``rsciio.emd``, Velox flavour), including
the sparse EDS spectrum stream (needs the ``sparse`` package). Recognition is by
HDF5 layout: a ``Version`` dataset whose JSON says ``"format": "Velox"``.
Each image, image stack, spectrum, spectrum image and element map of the file
becomes one signal; its per-signal metadata JSON is what the table maps. EDS
spectrum images stay event streams until written (:mod:`._velox_stream`).
"""

from __future__ import annotations

import json
from pathlib import Path

from ..model import Signal
from . import HDF5_MAGIC
from ._rsciio import call_reader, signals_from_rsciio
from ._velox_stream import decoded_on_demand

NAME = "velox"
TITLE = "Thermo Fisher Velox EMD"
EXTENSIONS = (".emd",)


def sniff(path: Path, head: bytes) -> bool:
    if not head.startswith(HDF5_MAGIC):
        return False
    return velox_version(path) is not None


def velox_version(path: Path) -> str | None:
    """The Velox file-format version, or None if this is not a Velox file."""
    import h5py

    try:
        with h5py.File(path, "r") as h5:
            raw = h5["Version"][()] if "Version" in h5 else None
    except Exception:  # h5py raises OSError, RuntimeError, KeyError... on damaged files; sniffing never fails
        return None
    if raw is None or (hasattr(raw, "flat") and raw.size == 0):
        return None
    text = raw.flat[0] if hasattr(raw, "flat") else raw
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    try:
        info = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return None
    if not isinstance(info, dict) or str(info.get("format", "")).lower() != "velox":
        return None
    return str(info.get("version", ""))


def read(path: Path, companions: list[Path]) -> list[Signal]:
    from rsciio.emd import file_reader

    with decoded_on_demand():  # EDS spectrum images decoded per block when written
        return signals_from_rsciio(call_reader(path, TITLE, file_reader), path, NAME)
