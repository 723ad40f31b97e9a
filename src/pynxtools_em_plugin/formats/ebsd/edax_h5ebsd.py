"""EDAX OIM Analysis / APEX h5ebsd (HDF5): orientation maps and Kikuchi patterns.

Recognised by the root ``Manufacturer`` dataset "EDAX". Each ``Scan N`` group holds
``EBSD/Header`` (grid, steps, pattern centre, camera angles, sample tilt, working distance,
phases with lattice and symmetry code) and ``EBSD/Data`` (per point: ``Phi1``/``Phi``/``Phi2``
in radians, ``X Position``/``Y Position`` in µm, ``Phase``, ``CI``, ``IQ``, ``Fit``,
``SEM Signal``, PRIAS signals... and optionally the ``Pattern`` stack).

The orientation map is read here with h5py: neither orix nor kikuchipy reads EDAX h5ebsd
crystal maps (kikuchipy returns an empty one). The patterns of a square grid are kikuchipy's
lazy reading (``kikuchipy.io.plugins.edax_h5ebsd``); kikuchipy refuses hexagonal grids, whose
patterns are therefore read here as a lazy point list. Symmetry is orix's (EDAX's code, e.g. 43).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ConversionError
from ...model import OrientationMap, Signal
from . import _h5
from ._common import (
    grid_type_of,
    kikuchipy_patterns,
    lazy_dataset,
    map_signal,
    pattern_signal,
    phase_from_symmetry,
)

FLAVOUR = "EDAX h5ebsd"
MANUFACTURER = "EDAX"
#: Per-point datasets that are neither orientation, position, phase nor patterns: quality measures.
_NOT_QUALITY = {"Phi1", "Phi", "Phi2", "X Position", "Y Position", "Phase", "Pattern"}


def read(path: Path) -> list[Signal]:
    import h5py

    signals: list[Signal] = []
    h5 = h5py.File(path, "r")  # stays open: the pattern signal reads from it lazily
    scans = [name for name, node in h5.items() if isinstance(node, h5py.Group) and "EBSD/Header" in node]
    if not scans:
        raise ConversionError(path, "is an EDAX h5ebsd file without a scan holding EBSD/Header")
    for scan in scans:
        signals += _read_scan(path, h5, scan)
    return signals


def _read_scan(path: Path, h5: Any, scan: str) -> list[Signal]:
    header, data = h5[f"{scan}/EBSD/Header"], h5[f"{scan}/EBSD/Data"]
    tree = {key: _h5.value(h5, key) for key in h5 if key.strip() in ("Manufacturer", "Version")}
    tree["EBSD Header"] = _h5.tree(header)
    if f"{scan}/SEM-PRIAS Images/Header" in h5:
        tree["SEM-PRIAS Images Header"] = _h5.tree(h5[f"{scan}/SEM-PRIAS Images/Header"])
    metadata = {"hdf5_header": tree}
    orientation_map = _orientation_map(path, header, data)
    pc = header.get("Pattern Center Calibration")
    derived: dict[str, Any] = {"pattern_centre_convention": "EDAX/TSL"}
    if pc is not None:
        derived["pattern_centre"] = [float(_h5.value(pc, k, np.nan)) for k in ("x-star", "y-star", "z-star")]
    signals = [map_signal(path, FLAVOUR, orientation_map, metadata, derived, [], f"{scan}/EBSD/Data")]
    if "Pattern" in data:
        patterns = _patterns(path, scan, data["Pattern"], orientation_map)
        signals.append(pattern_signal(path, FLAVOUR, patterns, orientation_map, metadata, derived, f"{scan}/Pattern"))
    return signals


def _orientation_map(path: Path, header: Any, data: Any) -> OrientationMap:
    rows, cols = int(_h5.value(header, "nRows", 0)), int(_h5.value(header, "nColumns", 0))
    size = int(data["Phi1"].shape[0]) if "Phi1" in data else 0
    euler = np.column_stack([_h5.per_point(path, data, name, size) for name in ("Phi1", "Phi", "Phi2")])
    vendor_phase = _h5.per_point(path, data, "Phase", size).astype(np.int32)
    quality = _h5.other_measures(data, size, _NOT_QUALITY)
    phases = _phases(header)
    return OrientationMap(
        phases=phases,
        phase_id=_phase_ids(vendor_phase, quality.get("CI"), len(phases)),
        euler=euler.astype(np.float64),
        x=_h5.per_point(path, data, "X Position", size).astype(np.float64),
        y=_h5.per_point(path, data, "Y Position", size).astype(np.float64),
        grid_type=grid_type_of(_h5.value(header, "Grid Type", "SqrGrid"), path),
        shape=(rows, cols),
        step_x=float(_h5.value(header, "Step X", 0.0)),
        step_y=float(_h5.value(header, "Step Y", 0.0)),
        quality=quality,
        quality_units={"Fit": "°"} if "Fit" in quality else {},  # the pattern fit, in degrees as in .ang files
    )


def _phases(header: Any) -> list:
    group = header.get("Phase", {})
    phases = []
    for number in sorted(group, key=lambda n: int(n) if str(n).isdigit() else 0):
        phase = group[number]
        lattice = [_h5.value(phase, f"Lattice Constant {k}") for k in ("a", "b", "c", "alpha", "beta", "gamma")]
        phases.append(
            phase_from_symmetry(
                len(phases) + 1,
                str(_h5.value(phase, "MaterialName", f"phase {number}")),
                point_group=str(_h5.value(phase, "Symmetry", "")) or None,
                lattice=lattice if None not in lattice else None,
                formula=str(_h5.value(phase, "Formula", "")),
            )
        )
    return phases


def _phase_ids(vendor: np.ndarray, ci: np.ndarray | None, n_phases: int) -> np.ndarray:
    """EDAX numbers phases from 1 but writes 0 for every point of a single-phase scan;
    a point is not indexed where its confidence index is -1 (as orix reads .ang files)."""
    ids = np.where(vendor <= 0, 1, vendor) if n_phases == 1 else vendor.copy()
    ids[(ids < 0) | (ids > n_phases)] = 0
    if ci is not None:
        ids[np.asarray(ci) == -1] = 0
    return ids.astype(np.int32)


def _patterns(path: Path, scan: str, dataset: Any, orientation_map: OrientationMap) -> Any:
    """Square grid: kikuchipy's lazy (rows, cols, height, width); otherwise a lazy point list."""
    if not orientation_map.is_square:
        return lazy_dataset(dataset)
    return kikuchipy_patterns(path, "edax_h5ebsd", scan)
