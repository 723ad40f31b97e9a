"""Delmic SPARC cathodoluminescence files (Odemis HDF5, ``.h5``).

Parsing is RosettaSciIO's (``rsciio.delmic``, every acquisition: ``signal="all"``):
the CL data, the SE image acquired concurrently and the SE survey image, each a
signal. Odemis writes every acquisition as a 5-D ``ImageData/Image`` (C, T or A,
Z, Y, X) with explicit ``DimensionScale*`` axes; RosettaSciIO squeezes the empty
dimensions, which leaves per acquisition kind:

* hyperspectral (``Spectrum``): scan y x scan x x wavelength (``DimensionScaleC``, m);
* streak camera (``Temporal Spectrum``): scan y x scan x x time (``DimensionScaleT``, s)
  x wavelength: a time x wavelength image per scan position;
* angle-resolved (``AR``): one back-focal-plane camera image per scan position, each
  in its own acquisition group; RosettaSciIO gathers them in acquisition order into
  one scan y x scan x x camera y x camera x map;
* time correlator (``Temporal``), E-k (``AR Spectrum``) and CL intensity (PMT):
  RosettaSciIO reads them the same way; the shared data holds no such file, so they
  are converted as RosettaSciIO lays them out, untested here.

Gaps filled here: RosettaSciIO numbers the camera axes of an angle-resolved image
in pixels (the angles of a pixel follow from the parabolic mirror and are not a
separable grid). This module gives them their calibration in the mirror's image
plane, as Odemis uses it to compute the angles: the position of every pixel
relative to the mirror's pole (``PolePosition``, px), times the acquisition's pixel
size (``DimensionScaleX``/``Y``, m). The mirror geometry (parabola focal length,
``XMax``, hole diameter, focus distance) is in ``Signal.derived`` under ``ar/``. It also
numbers the angle axis of E-k data in pixels: here it is the acquisition's
``DimensionScaleA`` (rad), unless that holds NaN (angles outside the mirror), then
pixels with a warning.

``Signal.metadata`` is RosettaSciIO's ``original_metadata`` (``PhysicalData``,
``ExtraSettings`` decoded from JSON, ``AcquisitionDate`` as Unix time, UTC).
``Signal.signal_type``: RosettaSciIO's (``CL_SEM``, ``LumiTransientSpectrum``,
``LumiTransient``), ``CL_AR`` for angle-resolved images and ``CL_EK`` for E-k data
(RosettaSciIO leaves those empty), so that classification needs no file names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..model import Signal
from . import HDF5_MAGIC
from ._rsciio import call_reader, signal_from_rsciio, vendor_tree

NAME = "delmic"
TITLE = "Delmic SPARC cathodoluminescence"
EXTENSIONS = (".h5", ".hdf5")

#: Signal types for the acquisition kinds RosettaSciIO leaves without one.
_SIGNAL_TYPES = {"ar": "CL_AR", "ek1": "CL_EK", "pmt": "CL"}
_KIND_NAMES = {
    "pmt": "CL intensity map",
    "ar": "angle-resolved map",
    "ek1": "angle-resolved spectrum (E-k)",
    "temporal spectrum": "streak-camera temporal spectra",
    "temporal": "time-correlator decay",
    "spectrum": "hyperspectral map",
    "se": "SE image acquired concurrently",
    "survey": "SE survey image",
    "anchor": "drift-correction anchor region",
}
_CAMERA_AXES = ("Angle B", "Angle A")
_MIRROR_KEYS = {
    "ParabolaF": "parabola_focal_length",
    "XMax": "x_max",
    "HoleDiameter": "hole_diameter",
    "FocusDistance": "focus_distance",
}


def sniff(path: Path, head: bytes) -> bool:
    """HDF5 with an Odemis acquisition group (``AcquisitionN`` whose ``SVIData`` names Delmic)."""
    return head.startswith(HDF5_MAGIC) and _is_odemis(path)


def _is_odemis(path: Path) -> bool:
    import h5py

    try:
        with h5py.File(path, "r") as h5:
            for name, group in h5.items():
                if name.startswith("Acquisition") and isinstance(group, h5py.Group) and "SVIData/Company" in group:
                    return bytes(np.asarray(group["SVIData/Company"][()]).ravel()[0]).startswith(b"Delmic")
    except Exception:  # damaged HDF5: h5py raises OSError, KeyError, TypeError...; sniffing never fails
        return False
    return False


def read(path: Path, companions: list[Path]) -> list[Signal]:
    from rsciio.delmic import file_reader

    dicts = call_reader(path, TITLE, file_reader, signal="all")
    return [_signal(entry, path) for entry in dicts]


def _signal(entry: dict[str, Any], path: Path) -> Signal:
    kind = str(getattr(entry.get("_acq_type"), "value", "") or "")
    tree = vendor_tree(entry)
    group = str(tree.get("HDF5Group", ""))
    warnings = _calibrate_camera_axes(entry, path) if kind == "ar" else []
    warnings += _calibrate_angle_axis(entry, path) if kind == "ek1" else []
    signal = signal_from_rsciio(
        entry, path, NAME, context=f"{_KIND_NAMES.get(kind, kind)} ({group})", derived=_derived(tree, kind)
    )
    signal.signal_type = signal.signal_type or _SIGNAL_TYPES.get(kind, "")
    signal.warnings.extend(warnings)
    return signal


def _calibrate_camera_axes(entry: dict[str, Any], path: Path) -> list[str]:
    """Camera pixel axes -> positions in the mirror's image plane relative to its pole (m)."""
    tree = vendor_tree(entry)
    group = str(tree.get("HDF5Group", ""))
    try:
        pole = np.asarray(tree.get("PolePosition", []), dtype=np.float64).ravel()
    except (TypeError, ValueError):  # not numbers
        pole = np.empty(0)
    scales = [_image_data(path, group, f"DimensionScale{dim}") for dim in ("Y", "X")]
    sizes = [float(s[0]) if s is not None and s.size == 1 else np.nan for s in scales]
    axes = [axis for axis in entry["axes"] if axis.get("name") in _CAMERA_AXES]
    if pole.size != 2 or not all(size > 0 for size in sizes) or len(axes) != 2:
        return [f"{path.name}: angle-resolved image without pole position or pixel size; camera axes in pixels"]
    for axis, size, centre, direction in zip(axes, sizes, pole[::-1], ("y", "x"), strict=True):
        positions = (np.arange(len(axis["axis"])) - centre) * size
        axis.update(name=f"mirror image plane {direction} from the pole", axis=positions, units="m")
    return []


def _calibrate_angle_axis(entry: dict[str, Any], path: Path) -> list[str]:
    """The angle axis of E-k data from ``DimensionScaleA`` (rad); RosettaSciIO numbers it in pixels."""
    angles = _image_data(path, str(vendor_tree(entry).get("HDF5Group", "")), "DimensionScaleA")
    axis = next((a for a in entry["axes"] if a.get("name") == "Angle"), None)
    if axis is None or angles is None or angles.size != len(axis["axis"]):
        return [f"{path.name}: E-k data without its angle scale (DimensionScaleA); angle axis in pixels"]
    if not np.all(np.isfinite(angles)):
        return [f"{path.name}: E-k angles outside the mirror's range are not numbers (NaN); angle axis in pixels"]
    axis.update(axis=angles, units="rad")
    return []


def _image_data(path: Path, group: str, name: str) -> np.ndarray | None:
    """A dataset of an acquisition's ``ImageData`` (a dimension scale) as floats, or None."""
    import h5py

    try:
        with h5py.File(path, "r") as h5:
            return np.asarray(h5[group]["ImageData"][name][()], dtype=np.float64).ravel()
    except (KeyError, OSError, TypeError, ValueError):
        return None


def _derived(tree: dict[str, Any], kind: str) -> dict[str, Any]:
    """The acquisition kind, the writing program and, for angle-resolved data, the mirror geometry (m)."""
    derived: dict[str, Any] = {"acquisition_kind": _KIND_NAMES.get(kind, kind)}
    writer = str(tree.get("SVIData", {}).get("WriterVersion") or "").strip()
    if " " in writer:  # "Odemis 3.5.2"
        name, _, version = writer.rpartition(" ")
        derived["program"] = {"name": name, "version": version}
    if kind in ("ar", "ek1"):
        derived["ar"] = {
            name: tree[key] for key, name in _MIRROR_KEYS.items() if isinstance(tree.get(key), (int, float))
        }
    return derived
