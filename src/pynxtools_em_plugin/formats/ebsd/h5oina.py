"""Oxford Instruments AZtec ``.h5oina`` (HDF5): orientation maps and Kikuchi patterns.

Layout from Oxford's published description (github.com/oinanoanalysis/h5oina,
``H5OINAFile.md``): root ``Manufacturer`` "Oxford Instruments" and ``Format Version``; each
slice ``N/EBSD`` holds ``Header`` (``X Cells``/``Y Cells``, ``X Step``/``Y Step`` in µm,
``Beam Voltage`` in kV, ``Magnification``, ``Working Distance`` in mm, ``Tilt Angle`` in rad,
``Phases/K`` with ``Phase Name``, ``Space Group``, ``Lattice Dimensions`` in Å and
``Lattice Angles`` in rad) and ``Data`` (per point: ``Euler`` (n, 3) in rad, ``Phase``
(0 = not indexed), ``X``/``Y`` in µm, ``Band Contrast``, ``Band Slope``, ``Bands``,
``Error``, ``Mean Angular Deviation``, pattern centre, and the patterns).

The orientation map is read here with h5py: neither orix nor kikuchipy reads h5oina crystal
maps (kikuchipy returns an empty one). The patterns (``Processed Patterns``, else
``Unprocessed Patterns``) are kikuchipy's lazy reading (``kikuchipy.io.plugins.oxford_h5ebsd``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ConversionError
from ...model import OrientationMap, Signal
from . import _h5
from ._common import kikuchipy_patterns, map_signal, pattern_signal, phase_from_symmetry

FLAVOUR = "Oxford h5oina"
MANUFACTURER = "Oxford Instruments"
PATTERN_NAMES = ("Processed Patterns", "Unprocessed Patterns")
_NOT_QUALITY = {"Euler", "Phase", "X", "Y", *PATTERN_NAMES}


def read(path: Path) -> list[Signal]:
    import h5py

    h5 = h5py.File(path, "r")  # stays open: the pattern signal reads from it lazily
    slices = [name for name, node in h5.items() if isinstance(node, h5py.Group) and "EBSD/Header" in node]
    if not slices:
        raise ConversionError(path, "is an h5oina file without EBSD data (no N/EBSD/Header group)")
    signals: list[Signal] = []
    for name in slices:
        signals += _read_slice(path, h5, name)
    return signals


def _read_slice(path: Path, h5: Any, name: str) -> list[Signal]:
    header, data = h5[f"{name}/EBSD/Header"], h5[f"{name}/EBSD/Data"]
    metadata = {
        "hdf5_header": {
            "Manufacturer": _h5.value(h5, "Manufacturer"),
            "Format Version": _h5.value(h5, "Format Version", ""),
            "Software Version": _h5.value(h5, "Software Version", ""),
            "EBSD Header": _h5.tree(header),
        }
    }
    orientation_map = _orientation_map(path, header, data)
    derived: dict[str, Any] = {"pattern_centre_convention": "Oxford"}
    if all(k in data for k in ("Pattern Center X", "Pattern Center Y", "Detector Distance")):
        names = ("Pattern Center X", "Pattern Center Y", "Detector Distance")
        derived["pattern_centre"] = [float(np.mean(data[k][()])) for k in names]
    signals = [map_signal(path, FLAVOUR, orientation_map, metadata, derived, [], f"{name}/EBSD/Data")]
    pattern_name = next((p for p in PATTERN_NAMES if p in data), None)
    if pattern_name is not None:
        processed = pattern_name == "Processed Patterns"
        patterns = kikuchipy_patterns(path, "oxford_h5ebsd", name, processed=processed)
        signals.append(
            pattern_signal(path, FLAVOUR, patterns, orientation_map, metadata, derived, f"{name}/{pattern_name}")
        )
    return signals


def _orientation_map(path: Path, header: Any, data: Any) -> OrientationMap:
    size = int(data["Phase"].shape[0]) if "Phase" in data else 0
    euler = _h5.per_point(path, data, "Euler", size)
    if euler.ndim != 2 or euler.shape[1] != 3:
        raise ConversionError(path, f"'{data.name}/Euler' has the shape {euler.shape}, not (points, 3)")
    phases = _phases(header)
    vendor_phase = _h5.per_point(path, data, "Phase", size).astype(np.int32)
    vendor_phase[(vendor_phase < 0) | (vendor_phase > len(phases))] = 0
    quality = _h5.other_measures(data, size, _NOT_QUALITY)
    return OrientationMap(
        phases=phases,
        phase_id=vendor_phase,
        euler=euler.astype(np.float64),
        x=_h5.per_point(path, data, "X", size).astype(np.float64),
        y=_h5.per_point(path, data, "Y", size).astype(np.float64),
        grid_type="square",
        shape=(int(_h5.value(header, "Y Cells", 0)), int(_h5.value(header, "X Cells", 0))),
        step_x=float(_h5.value(header, "X Step", 0.0)),
        step_y=float(_h5.value(header, "Y Step", 0.0)),
        quality=quality,
        quality_units={name: "rad" for name in ("Mean Angular Deviation",) if name in quality},  # H5OINAFile.md
    )


def _phases(header: Any) -> list:
    group = header.get("Phases", {})
    phases = []
    for number in sorted(group, key=lambda n: int(n) if str(n).isdigit() else 0):
        phase = group[number]
        lengths = np.asarray(phase["Lattice Dimensions"][()], dtype=float) if "Lattice Dimensions" in phase else None
        angles = np.asarray(phase["Lattice Angles"][()], dtype=float) if "Lattice Angles" in phase else None
        lattice = [*lengths, *np.rad2deg(angles)] if lengths is not None and angles is not None else None
        space_group = _h5.value(phase, "Space Group")
        phases.append(
            phase_from_symmetry(
                len(phases) + 1,
                str(_h5.value(phase, "Phase Name", f"phase {number}")),
                space_group=int(space_group) if space_group else None,
                lattice=lattice,
            )
        )
    return phases
