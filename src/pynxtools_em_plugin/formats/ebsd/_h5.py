"""Reading the HDF5 EBSD layouts (h5ebsd of EDAX and Bruker, Oxford's h5oina): one way to walk a
header group into the vendor tree, to read a vendor value and to find the manufacturer.

The vendor tree holds the header groups as written (datasets of up to
:data:`MAX_TREE_ELEMENTS` values; larger ones, such as the schematic images EDAX stores
with the coordinate system, are data, not metadata, and are left out). Per-point arrays
become the orientation map, patterns the pattern signal.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ConversionError

MAX_TREE_ELEMENTS = 4096


def manufacturer(path: Path) -> tuple[str, str] | None:
    """(Manufacturer, version) written at the root of an h5ebsd/h5oina file, else None; never raises.

    EDAX writes the names with a leading space (" Manufacturer"), hence :func:`root_name`."""
    import h5py

    try:
        with h5py.File(path, "r") as h5:
            maker = root_name(h5, "Manufacturer")
            version = root_name(h5, "Version") or root_name(h5, "Format Version")
            maker_text = text(h5[maker][()]) if maker else ""
            version_text = text(h5[version][()]) if version else ""
    except Exception:  # a damaged or foreign HDF5 file is simply not ours
        return None
    return (maker_text, version_text) if maker_text else None


def root_name(h5: Any, name: str) -> str | None:
    """The root dataset called ``name``, however the vendor spaced or cased it, else None."""
    return next((key for key in h5 if key.strip().lower() == name.lower()), None)


def text(value: Any) -> str:
    """A vendor string dataset's value (bytes, a one-element array of bytes...) as text."""
    if isinstance(value, np.ndarray):
        value = value.flat[0] if value.size else ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace").rstrip("\x00")
    return str(value)


def value(group: Any, name: str, default: Any = None) -> Any:
    """A scalar vendor value (one-element datasets unwrapped, strings decoded), or ``default``."""
    if name not in group:
        return default
    data = group[name][()]
    if isinstance(data, bytes) or (isinstance(data, np.ndarray) and data.dtype.kind in "SO"):
        return text(data)
    if isinstance(data, np.ndarray) and data.size == 1:
        return data.reshape(-1)[0].item()
    return data


def tree(group: Any) -> dict[str, Any]:
    """A header group as a nested dict, values as stored (see the module docstring)."""
    import h5py

    result: dict[str, Any] = {}
    for name, node in group.items():
        if isinstance(node, h5py.Group):
            result[name] = tree(node)
        elif node.size <= MAX_TREE_ELEMENTS:
            result[name] = _plain(node[()])
    return result


def _plain(data: Any) -> Any:
    if isinstance(data, bytes):
        return text(data)
    if isinstance(data, np.ndarray):
        if data.dtype.names:  # a compound table (hkl families): one dict per row
            return [{n: _plain(row[n]) for n in data.dtype.names} for row in data]
        if data.dtype.kind in "SO":
            values = [text(v) for v in data.reshape(-1)]
            return values[0] if len(values) == 1 else values
        return data.reshape(-1)[0].item() if data.size == 1 else data.tolist()
    return data.item() if hasattr(data, "item") else data


def other_measures(data: Any, size: int, exclude: set[str]) -> dict[str, np.ndarray]:
    """Every other one-value-per-point dataset of a scan's data group (the vendor's quality
    measures: CI, IQ, Band Contrast...), by its vendor name."""
    return {
        name: np.asarray(node[()])
        for name, node in data.items()
        if name not in exclude and getattr(node, "ndim", 0) == 1 and node.shape[0] == size
    }


def per_point(path: Path, data: Any, name: str, size: int) -> np.ndarray:
    """A per-point dataset of the scan, checked to hold one value per point."""
    if name not in data:
        raise ConversionError(path, f"has no '{data.name}/{name}' dataset (not a complete EBSD scan)")
    values = np.asarray(data[name][()])
    if values.shape[0] != size:
        raise ConversionError(path, f"'{data.name}/{name}' holds {values.shape[0]} values for {size} scan points")
    return values
