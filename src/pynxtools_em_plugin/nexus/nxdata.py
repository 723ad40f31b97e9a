"""How a signal becomes an NXem NXdata group: image or spectrum, field names, axis order.

NXem names the groups by dimensionality (``image_2d``, ``stack_2d``,
``spectrum_3d``...) and the axes ``axis_i`` (fastest, x), ``axis_j``, ``axis_k``,
``axis_m`` and ``axis_energy``. A signal with an energy or wavelength axis is a
spectrum (that axis goes last); anything else is an image. A time x wavelength
signal (a streak-camera image) is an image too: it is read as one, and the axes of an
NXspectrum are lengths, not times. So is a signal with more than one spectral axis (e.g.
a Ripple image whose header gives both axes in eV): no axis of it is a position.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConversionError
from ..model import Axis, AxisKind, Signal
from ..units import ureg

#: NXem axis names by number of spatial dimensions, slowest first.
_SPATIAL_NAMES = {
    1: ["axis_i"],
    2: ["axis_j", "axis_i"],
    3: ["axis_k", "axis_j", "axis_i"],
    4: ["axis_m", "axis_k", "axis_j", "axis_i"],
}
_SPECTRAL = (AxisKind.ENERGY, AxisKind.WAVELENGTH)


@dataclass
class NXdataLayout:
    """Where and how one signal is written."""

    kind: str  # "image" or "spectrum"
    nxdata_name: str  # image_2d, stack_2d, spectrum_1d...
    order: list[int]  # permutation from the signal's dimensions to the written ones
    axes: list[tuple[str, Axis]]  # (NXem field name, axis) in written order
    signal_fields: list[str]  # "real" (+ "imag") for images, "intensity" for spectra

    @property
    def rank(self) -> int:
        return len(self.order)

    def score(self) -> tuple[int, int]:
        """How informative the signal is, for choosing the default plot."""
        spatial = sum(1 for _, axis in self.axes if axis.kind in (AxisKind.SPACE, AxisKind.RECIPROCAL))
        kind_rank = {"spectrum": 2 if spatial >= 2 else 0, "image": 1}[self.kind]
        size = int(np.prod([axis.size for _, axis in self.axes]))
        return kind_rank, size


def layout_for(signal: Signal) -> tuple[NXdataLayout, list[str]]:
    """The NXdata group for a signal, decided from its axis kinds, and warnings about the decision
    (e.g. a spectrum whose wavelength axis crosses zero, written as an image)."""
    kinds = signal.axis_kinds()
    spectral = [i for i, kind in enumerate(kinds) if kind in _SPECTRAL]
    streak = AxisKind.TIME in kinds and AxisKind.WAVELENGTH in kinds
    if len(spectral) == 1 and not streak:
        try:
            return _spectrum_layout(signal, spectral[0]), []
        except ValueError as exc:  # e.g. a wavelength axis crossing zero
            return _image_layout(signal), [f"{signal.source.name}: {exc}; written as an image with the vendor axes"]
    return _image_layout(signal), []


def _spectrum_layout(signal: Signal, energy_dim: int) -> NXdataLayout:
    others = [i for i in range(len(signal.axes)) if i != energy_dim]
    if len(others) > 3:
        raise ConversionError(
            signal.source, f"signal '{signal.title}' has {len(others)} navigation dimensions; NXem spectra allow 3"
        )
    if signal.is_complex:
        raise ConversionError(signal.source, f"signal '{signal.title}' is a complex-valued spectrum")
    names = _SPATIAL_NAMES.get(len(others), [])
    axes = [(name, signal.axes[i]) for name, i in zip(names, others, strict=True)]
    axes.append(("axis_energy", energy_axis(signal.axes[energy_dim])))
    return NXdataLayout("spectrum", f"spectrum_{len(others)}d", [*others, energy_dim], axes, ["intensity"])


def _image_layout(signal: Signal) -> NXdataLayout:
    rank = len(signal.axes)
    if rank == 0 or rank > 4:
        raise ConversionError(signal.source, f"signal '{signal.title}' has {rank} dimensions; NXem images have 1 to 4")
    fields = ["real", "imag"] if signal.is_complex else ["real"]
    order = list(range(rank))
    if rank == 3 and signal.axes[0].kind is AxisKind.INDEX:
        axes = [("indices_image", signal.axes[0]), *list(zip(_SPATIAL_NAMES[2], signal.axes[1:], strict=True))]
        return NXdataLayout("image", "stack_2d", order, axes, fields)
    axes = list(zip(_SPATIAL_NAMES[rank], signal.axes, strict=True))
    return NXdataLayout("image", f"image_{rank}d", order, axes, fields)


def energy_axis(axis: Axis) -> Axis:
    """A spectral axis in eV; a wavelength axis becomes photon energy E = hc/λ."""
    if axis.kind is AxisKind.ENERGY:
        return axis
    wavelengths = axis.values
    if np.any(wavelengths <= 0):
        raise ValueError(f"wavelength axis '{axis.name}' has non-positive values")
    hc = ureg().Quantity(1.0, "planck_constant * speed_of_light").to(f"eV * {axis.units}").magnitude
    return Axis(
        name=f"photon energy from {axis.name.lower()} (E = hc/λ)",
        values=hc / wavelengths,
        units="eV",
        kind=AxisKind.ENERGY,
    )
