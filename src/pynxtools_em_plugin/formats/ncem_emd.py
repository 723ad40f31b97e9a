"""Berkeley (NCEM) EMD files (HDF5), including prismatic simulation output.

Binary parsing is RosettaSciIO's (``rsciio.emd``, NCEM flavour). Recognition is
by HDF5 layout: ``version_major``/``version_minor`` attributes on the root or on
a top-level group (Velox ``.emd`` files are claimed earlier by ``velox``).

Prismatic files (a ``4DSTEM_simulation`` group) are simulations, not
measurements. Older prismatic versions label their axes wrongly, which is
corrected here against the simulation parameters written in the same file
(each correction pinned by a test and reported as a warning):

* probe positions ``R_x``/``R_y`` are labelled ``[n_m]`` but are in Å (their
  step is the ``probeStep`` that prismatic takes in Å);
* detector bins ``bin_outer_angle`` are labelled ``[mrad]`` but are in rad
  (their step is ``detectorAngleStep``, given in mrad, divided by 1000).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ..model import Signal
from . import HDF5_MAGIC
from ._rsciio import call_reader, lazily, signals_from_rsciio

NAME = "ncem_emd"
TITLE = "Berkeley EMD (NCEM, prismatic)"
EXTENSIONS = (".emd", ".h5")

_PRISMATIC_GROUP = "4DSTEM_simulation"
_MRAD_PER_RAD = 1000.0
_REL_TOL = 1e-3
_UNNAMED = "__unnamed__"  # the group name HyperSpy writes for a signal without title


def sniff(path: Path, head: bytes) -> bool:
    if not head.startswith(HDF5_MAGIC):
        return False
    return emd_version(path) is not None


def emd_version(path: Path) -> str | None:
    """The Berkeley EMD version (root or first-level group attributes), or None."""
    import h5py

    try:
        with h5py.File(path, "r") as h5:
            for node in (h5, *(item for item in h5.values() if isinstance(item, h5py.Group))):
                major, minor = node.attrs.get("version_major"), node.attrs.get("version_minor")
                if major is not None and minor is not None:
                    return f"{_text(major)}.{_text(minor)}"
    except Exception:  # h5py raises OSError, RuntimeError, KeyError... on damaged files; sniffing never fails
        return None
    return None


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def read(path: Path, companions: list[Path]) -> list[Signal]:
    from rsciio.emd import file_reader

    dicts = call_reader(path, TITLE, lazily(file_reader))
    signals = signals_from_rsciio(dicts, path, NAME, prepare=lambda entry: _prepare(entry, path))
    for signal in signals:
        if signal.title == _UNNAMED:
            signal.title = path.stem
        signal.simulated = "simulation_parameters" in signal.metadata
    return signals


def _prepare(entry: dict[str, Any], path: Path) -> list[str]:
    parameters = entry.get("original_metadata", {}).get("simulation_parameters")
    if not parameters:
        return []
    warnings = _fix_prismatic_axes(entry["axes"], parameters, path)
    return [*warnings, f"{path.name}: prismatic simulation output, not a measurement"]


def _fix_prismatic_axes(axes: list[dict[str, Any]], parameters: dict[str, Any], path: Path) -> list[str]:
    """Relabel axes whose step shows the unit prismatic really used (see module docstring)."""
    warnings = []
    for axis in axes:
        name, units, step = axis.get("name"), axis.get("units"), float(axis.get("scale") or 0.0)
        probe_step = parameters.get(f"probeStep{str(name)[-1:].upper()}")
        angle_step = parameters.get("detectorAngleStep")
        if name in ("R_x", "R_y") and units == "nm" and _same(step, probe_step):
            axis["units"] = "Å"
            warnings.append(f"{path.name}: axis '{name}' is labelled nm but steps by probeStep (Å); stored in Å")
        elif units == "mrad" and angle_step and _same(step, float(angle_step) / _MRAD_PER_RAD):
            axis["units"] = "rad"
            warnings.append(
                f"{path.name}: axis '{name}' is labelled mrad but steps by detectorAngleStep/1000; stored as rad"
            )
    return warnings


def _same(step: float, reference: Any) -> bool:
    try:
        return step > 0 and math.isclose(step, float(reference), rel_tol=_REL_TOL)
    except (TypeError, ValueError):
        return False
