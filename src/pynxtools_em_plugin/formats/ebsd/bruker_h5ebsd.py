"""Bruker Esprit h5ebsd (HDF5): orientation maps and Kikuchi patterns.

Recognised by the root ``Manufacturer`` "Bruker Nano". The orientation map is orix's reading
(``orix.io.plugins.bruker_h5ebsd``: Euler angles from degrees to radians, rows put in map
order, phase 0 = not indexed; rectangular regions of square ("isometric") grids only, as
orix supports); the patterns (``RawPatterns``) are kikuchipy's lazy reading. The header groups
(``EBSD/Header``, ``SEM``) are the vendor tree; the pattern centre (``PCX``, ``PCY``, ``DD``,
Bruker's convention) is given per point by Bruker, its mean goes to ``ebsd/pattern_centre``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ConversionError
from ...model import Signal
from . import _h5
from ._common import kikuchipy_patterns, map_from_crystal_map, map_signal, pattern_signal

FLAVOUR = "Bruker h5ebsd"
MANUFACTURER = "Bruker Nano"
#: orix's property names -> Bruker's dataset names (kept in the NXem file).
QUALITY_NAMES = {
    "MAD": "MAD", "MADPhase": "MADPhase", "NIndexedBands": "NIndexedBands",
    "RadonBandCount": "RadonBandCount", "RadonQuality": "RadonQuality",
}  # fmt: skip
#: Bruker writes the mean angular deviation in degrees.
QUALITY_UNITS = {"MAD": "°"}


def read(path: Path) -> list[Signal]:
    import h5py
    from orix.io.plugins.bruker_h5ebsd import file_reader

    try:
        xmap = file_reader(str(path))
    except (ValueError, KeyError, OSError, IndexError) as exc:
        raise ConversionError(path, f"is a Bruker h5ebsd file orix cannot read: {exc}") from exc
    orientation_map = map_from_crystal_map(xmap, "square", QUALITY_NAMES, QUALITY_UNITS)
    h5 = h5py.File(path, "r")  # stays open: kikuchipy's lazy patterns read from it
    scan = next(name for name, node in h5.items() if isinstance(node, h5py.Group) and "EBSD" in node)
    ebsd = h5[f"{scan}/EBSD"]
    tree = {"Manufacturer": _h5.value(h5, "Manufacturer"), "Version": _h5.value(h5, "Version", "")}
    tree["EBSD Header"] = _h5.tree(ebsd["Header"])
    for place in (f"{scan}/SEM", f"{scan}/EBSD/SEM"):
        if place in h5:
            tree["SEM"] = _h5.tree(h5[place])
    metadata = {"hdf5_header": tree}
    derived: dict[str, Any] = {"pattern_centre_convention": "Bruker"}
    if all(name in ebsd["Data"] for name in ("PCX", "PCY", "DD")):
        derived["pattern_centre"] = [float(np.mean(ebsd[f"Data/{name}"][()])) for name in ("PCX", "PCY", "DD")]
    signals = [map_signal(path, FLAVOUR, orientation_map, metadata, derived, [], f"{scan}/EBSD/Data")]
    if "RawPatterns" in ebsd["Data"]:
        patterns = kikuchipy_patterns(path, "bruker_h5ebsd", scan)
        signals.append(
            pattern_signal(path, FLAVOUR, patterns, orientation_map, metadata, derived, f"{scan}/RawPatterns")
        )
    return signals
