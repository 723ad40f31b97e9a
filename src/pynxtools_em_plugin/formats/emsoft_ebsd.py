"""EMsoft simulated Kikuchi patterns (HDF5 written by EMsoft's ``EMEBSD.f90``).

Read by kikuchipy's ``emsoft_ebsd`` plugin (lazy), imported inside :func:`read` only:
it imports orix, matplotlib, numba and diffsims (some 730 modules, 2-3 s), not
HyperSpy. Recognised by layout (h5py, no kikuchipy): ``EMheader/EBSD/ProgramName``
reads ``EMEBSD.f90`` and ``EMData/EBSD/EBSDPatterns`` exists.

The patterns are simulated, one per orientation of ``EMData/EBSD/EulerAngles`` (no
scan): a list of patterns, marked simulated (``sample/is_simulation``).
``Signal.metadata`` is kikuchipy's original metadata: every group of the file but the
patterns (``NMLparameters/EBSDNameList`` with energies in keV, ``L`` and ``delta`` in
µm, ``thetac`` in degrees, pattern centre ``xpc``/``ypc`` in pixels; ``CrystalData``;
``EMheader``). ``derived['ebsd']`` holds the pattern centre in EMsoft's convention
(xpc, ypc in pixels from the detector centre, L in µm) and the detector pixel size.
EMsoft's master-pattern files (``EMEBSDmaster.f90``) are not read: they are not
Kikuchi patterns of a detector but the simulation's input sphere.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..model import Signal
from . import HDF5_MAGIC
from ._kikuchi import ScanGrid, finite, hdf5_text, pattern_signal
from ._rsciio import call_reader, lazily, vendor_tree

NAME = "emsoft_ebsd"
TITLE = "EMsoft simulated EBSD patterns"
EXTENSIONS = (".h5",)

_PROGRAM = "EMEBSD.f90"


def sniff(path: Path, head: bytes) -> bool:
    if not head.startswith(HDF5_MAGIC):
        return False
    return (hdf5_text(path, "EMheader/EBSD/ProgramName") or "").strip() == _PROGRAM and _has_patterns(path)


def read(path: Path, companions: list[Path]) -> list[Signal]:
    from kikuchipy.io.plugins.emsoft_ebsd import file_reader

    (entry,) = call_reader(path, TITLE, lazily(file_reader))
    tree = vendor_tree(entry)
    data = entry["data"]
    grid = ScanGrid(None, int(data.shape[0]), 1, extra=_detector_facts(tree))
    signal = pattern_signal(path, NAME, data, grid, tree)
    signal.simulated = True
    signal.quantity = "Intensity (simulated)"
    return [signal]


def _has_patterns(path: Path) -> bool:
    import h5py

    try:
        with h5py.File(path, "r") as h5:
            return isinstance(h5.get("EMData/EBSD/EBSDPatterns"), h5py.Dataset)
    except Exception:  # h5py raises OSError, KeyError, RuntimeError... on damaged files
        return False


def _detector_facts(tree: dict[str, Any]) -> dict[str, Any]:
    names = tree.get("NMLparameters", {}).get("EBSDNameList", {})
    centre = [finite(names.get(key)) for key in ("xpc", "ypc", "L")]
    if None in centre:
        return {}
    facts: dict[str, Any] = {"pattern_centre": centre, "pattern_centre_convention": "EMsoft"}
    units = {"pattern_centre": "px, px, µm"}
    pixel = finite(names.get("delta"))
    if pixel is not None:
        facts["detector_pixel_size"] = pixel
        units["detector_pixel_size"] = "µm"
    return {**facts, "units": units}
