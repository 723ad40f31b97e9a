"""kikuchipy's own h5ebsd files (HDF5, written by ``EBSD.save``): Kikuchi patterns with their detector.

Read by kikuchipy's ``kikuchipy_h5ebsd`` plugin (lazy: the HDF5 dataset stays on disk),
imported inside :func:`read` only: it imports orix, matplotlib, numba and diffsims
(some 750 modules, 2-3 s), not HyperSpy. Recognised by layout (h5py, no kikuchipy):
a root dataset ``manufacturer`` reading ``kikuchipy`` and at least one ``Scan N`` group
with ``EBSD/Data/patterns`` and ``EBSD/Header`` (the vendors' h5ebsd files, EDAX,
Bruker, Oxford, name themselves and are not read here).

Every scan of the file is one signal. ``Signal.metadata`` is kikuchipy's original
metadata (``manufacturer``, ``version`` and the ``EBSD/Header`` values: grid, steps in
µm, pattern size, detector angles in degrees, pattern centre, sample tilt). kikuchipy
reads the ``SEM/Header`` (beam energy in kV, working distance in mm, magnification,
microscope) into its normalised metadata, kept in ``derived['sem']``. The pattern
centre is kikuchipy's (Bruker's convention: x*, y*, z* as fractions of the detector
width and height); one centre for the scan goes to ``derived['ebsd']['pattern_centre']``,
per-point centres stay in the vendor tree with their mean in the derived values.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..model import Signal
from . import HDF5_MAGIC
from ._kikuchi import SQUARE, ScanGrid, finite, hdf5_text, pattern_signal
from ._rsciio import call_reader, lazily, vendor_tree

NAME = "kikuchipy_h5"
TITLE = "kikuchipy h5ebsd"
EXTENSIONS = (".h5", ".hdf5", ".h5ebsd")

_MANUFACTURER = "kikuchipy"
_DEGREES = ("elevation_angle", "azimuth_angle", "twist_angle", "sample_tilt")


def sniff(path: Path, head: bytes) -> bool:
    if not head.startswith(HDF5_MAGIC):
        return False
    return (hdf5_text(path, "manufacturer") or "").strip().lower() == _MANUFACTURER and bool(_scans(path))


def read(path: Path, companions: list[Path]) -> list[Signal]:
    from kikuchipy.io.plugins.kikuchipy_h5ebsd import file_reader

    scans = _scans(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # kikuchipy's padding note on per-point pattern centres: kept as written
        entries = call_reader(path, TITLE, lazily(file_reader), scan_group_names=scans)
    signals = []
    for scan, entry in zip(scans, entries, strict=True):
        tree = vendor_tree(entry)
        grid = ScanGrid(
            SQUARE,
            int(tree["n_rows"]),
            int(tree["n_columns"]),
            step_x=finite(tree.get("step_x")),
            step_y=finite(tree.get("step_y")),
            extra=_detector_facts(tree),
        )
        signal = pattern_signal(path, NAME, entry["data"], grid, tree)
        signal.derived["sem"] = entry.get("metadata", {}).get("Acquisition_instrument", {}).get("SEM", {})
        signal.title, signal.context = f"{path.stem} {scan}", scan
        signals.append(signal)
    return signals


def _scans(path: Path) -> list[str]:
    """The scan groups kikuchipy reads: top groups with ``EBSD/Data/patterns`` and ``EBSD/Header``."""
    import h5py

    try:
        with h5py.File(path, "r") as h5:
            return [
                name
                for name, group in h5.items()
                if isinstance(group, h5py.Group) and "EBSD/Data/patterns" in group and "EBSD/Header" in group
            ]
    except Exception:  # h5py raises OSError, KeyError, RuntimeError... on damaged files
        return []


def _detector_facts(tree: dict[str, Any]) -> dict[str, Any]:
    """Pattern centre (Bruker convention, fractions), detector angles and sample tilt (degrees),
    detector pixel size (µm), as the header gives them; damaged values are left out."""
    facts: dict[str, Any] = {}
    units: dict[str, str] = {}
    centre = [_mean(tree.get(key)) for key in ("pcx", "pcy", "pcz")]
    if None not in centre:
        facts["pattern_centre"] = centre
        facts["pattern_centre_convention"] = "Bruker"
        units["pattern_centre"] = ""
        if max(np.size(tree[key]) for key in ("pcx", "pcy", "pcz")) > 1:
            facts["pattern_centre_is_mean"] = True
    for key, unit in (*((key, "degree") for key in _DEGREES), ("detector_pixel_size", "µm")):
        value = finite(tree.get(key))
        if value is not None:
            facts[key] = value
            units[key] = unit
    return {**facts, "units": units} if facts else {}


def _mean(value: Any) -> float | None:
    """The mean of a per-point pattern-centre coordinate (or the one value), None if not numbers."""
    try:
        values = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return finite(values.mean()) if values.size else None
