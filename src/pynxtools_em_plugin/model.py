"""The common in-memory description every format module reads into.

A vendor file holds one or more *signals*: an n-dimensional array with one
calibrated axis per dimension and the vendor's metadata tree. Format modules
produce :class:`Signal` objects; the NeXus builder consumes them without
knowing which vendor wrote them.

What the instrument wrote and what we computed never share a place:
``Signal.metadata`` is the vendor tree as the format library returns it (never
edited, never extended), ``Signal.derived`` holds every value a format module
computes or repairs (a number parsed out of a vendor string, a time put
together from two vendor fields, the library's own normalised metadata...).
Mapping tables read the first by plain keys and the second by keys starting
with ``@derived/``; the NeXus file stores them apart, as
``eventN/vendor_metadata/original_metadata`` and ``eventN/derived_metadata/values``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np


class AxisKind(StrEnum):
    """What an axis measures; decides NXimage vs NXspectrum and the field names."""

    SPACE = "space"  # real-space length (scan or image pixels)
    RECIPROCAL = "reciprocal"  # reciprocal-space length (diffraction, FFT)
    ENERGY = "energy"  # energy (loss) of a spectrum
    WAVELENGTH = "wavelength"  # photon wavelength of a CL spectrum
    TIME = "time"  # time series, e.g. a TEM image stack or an in-situ log
    ANGLE = "angle"  # scattering or tilt angle, e.g. a virtual-detector bin
    INDEX = "index"  # uncalibrated: pixel or frame index


@dataclass
class Axis:
    """One calibrated axis; ``values`` hold the coordinate of every index."""

    name: str
    values: np.ndarray
    units: str
    kind: AxisKind

    @property
    def size(self) -> int:
        return int(self.values.shape[0])


@dataclass(frozen=True)
class ProcessingStep:
    """One step of the processing history a file records (HyperSpy's load/save log, a decomposition...).

    Written as a note of the data's provenance (``imageN/process/history_stepK``).
    """

    operation: str  # what was done, e.g. "save", "decomposition"
    description: str  # by which program, with which parameters
    date: str = ""  # ISO 8601 with its zone; "" when the file does not record it


@dataclass
class Signal:
    """One data set of a vendor file, with axes in array-dimension order."""

    title: str
    data: Any  # numpy array or a lazy array with shape/dtype and __getitem__
    axes: list[Axis]
    source: Path
    format_name: str
    metadata: dict[str, Any] = field(default_factory=dict)  # the vendor tree exactly as the format library read it
    derived: dict[str, Any] = field(default_factory=dict)  # computed/repaired by us; keys '@derived/...' (keys.py)
    signal_type: str = ""  # vendor/RosettaSciIO hint: EELS, EDS_TEM, CL...
    quantity: str = ""  # what the values mean, e.g. "Intensity (counts)"
    units: str = ""  # units of the values of an in-situ log (e.g. degC), written to its sensor NXlog; "" for counts
    context: str = ""  # where in the file the signal sits (dataset path, index)
    warnings: list[str] = field(default_factory=list)
    simulated: bool = False  # computed (e.g. a prismatic simulation), not measured
    history: list[ProcessingStep] = field(default_factory=list)  # processing the file records, oldest first
    orientation_map: OrientationMap | None = None  # EBSD indexing results read with the signal, else None

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(int(n) for n in self.data.shape)

    @property
    def is_complex(self) -> bool:
        return np.issubdtype(self.data.dtype, np.complexfloating)

    def axis_kinds(self) -> list[AxisKind]:
        return [axis.kind for axis in self.axes]


# ---- EBSD orientation maps ----------------------------------------------------------------
#: How :attr:`OrientationMap.euler` is to be read (every reader converts to it).
BUNGE_CONVENTION = "Bunge (ZX'Z''): phi1, Phi, phi2 in radians, passive rotation from sample to crystal frame"


@dataclass
class CrystalPhase:
    """One phase an EBSD map was indexed with, as the vendor file describes it.

    ``point_group`` and ``laue_group`` are Hermann-Mauguin symbols as orix determines them from
    what the vendor wrote ("432", "6/mmm"...), ``space_group`` the number (1-230) when
    the file gives it. Lattice lengths keep the vendor's units (``length_units``), angles are
    in degrees.
    """

    id: int  # the vendor's phase number in the per-point phase ids (>= 1)
    name: str
    space_group: int | None = None
    point_group: str = ""
    laue_group: str = ""
    lattice_lengths: tuple[float, float, float] | None = None
    lattice_angles: tuple[float, float, float] | None = None  # degrees
    length_units: str = "angstrom"
    formula: str = ""


@dataclass
class OrientationMap:
    """Per-point indexing results of an EBSD scan, in scan order (one entry per point).

    Arrays are one-dimensional over the points (``n``), ``euler`` is (n, 3) in
    :data:`BUNGE_CONVENTION`; ``phase_id`` holds the ids of :attr:`phases` and 0 for a point
    not indexed (readers translate vendor codes such as -1). ``x``/``y`` are the beam
    positions in ``coordinate_units``. ``quality`` keeps every per-point measure the vendor
    wrote under the vendor's own name (CI, IQ, Fit, BC, BS, MAD, Error...), ``quality_units``
    the units of those that have one (an angular deviation in degrees or radians).
    ``grid_type`` is "square" or "hexagonal"; ``shape`` (rows, columns) is the map size
    (a hexagonal grid's columns are those of its odd rows); steps are the grid's spacings.
    """

    phases: list[CrystalPhase]
    phase_id: np.ndarray
    euler: np.ndarray
    x: np.ndarray
    y: np.ndarray
    grid_type: str
    shape: tuple[int, int]
    step_x: float
    step_y: float
    coordinate_units: str = "µm"
    quality: dict[str, np.ndarray] = field(default_factory=dict)
    quality_units: dict[str, str] = field(default_factory=dict)  # by vendor name; absent: dimensionless
    convention: str = BUNGE_CONVENTION

    @property
    def size(self) -> int:
        return int(self.phase_id.shape[0])

    @property
    def is_square(self) -> bool:
        return self.grid_type == "square"

    def phase_named(self, phase_id: int) -> CrystalPhase | None:
        return next((phase for phase in self.phases if phase.id == phase_id), None)
