"""Units: one pint registry (pynxtools' own) and the conversions we allow.

Using pynxtools' registry means a unit we write is parsed exactly as the
validator will parse it. Conversions are always explicit pint conversions:
no hand-written factors, so degrees never become radians by accident. pint
converts through base units (µm -> m -> nm), which leaves float noise in the
16th/17th significant digit (1.7 µm -> 1699.9999999999998 nm); a converted float
is therefore rounded to :data:`SIGNIFICANT_DIGITS` (:func:`round_converted`),
which a float64 (15.95 digits) holds exactly and no measurement exceeds.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np

from .model import AxisKind

#: Units in which each axis kind is stored (None: keep as is / no units).
_CANONICAL_AXIS_UNITS: dict[AxisKind, str | None] = {
    AxisKind.SPACE: "nm",
    AxisKind.RECIPROCAL: "1/nm",
    AxisKind.ENERGY: "eV",
    AxisKind.WAVELENGTH: "nm",
    AxisKind.TIME: "s",
    AxisKind.ANGLE: "mrad",
    AxisKind.INDEX: None,
}

#: Spellings vendors use that pint does not know.
_ALIASES = {
    "1 / nm": "1/nm",
    "um": "µm",
    "deg": "degree",
    "C": "degC",
    "Degrees C": "degC",
    "mR": "mrad",
    "nm^-1": "1/nm",
}

#: Significant digits of a converted float: every decimal of 15 digits survives a float64 round trip.
SIGNIFICANT_DIGITS = 15


@cache
def ureg():
    """pynxtools' pint registry (imported on first use)."""
    from pynxtools.units import ureg as registry

    return registry


def normalise_unit(units: str) -> str:
    """A vendor unit string in a form pint parses."""
    units = units.strip()
    return _ALIASES.get(units, units)


@cache
def parse_unit(units: str):
    """The pint unit for a string, or None if it is empty or unknown."""
    units = normalise_unit(units)
    if not units:
        return None
    try:
        return ureg().Unit(units)
    except Exception:
        return None


def classify_units(units: str) -> AxisKind:
    """What a unit string measures, for axes."""
    unit = parse_unit(units)
    if unit is None:
        return AxisKind.INDEX
    dims = unit.dimensionality
    registry = ureg()
    if dims == registry.meter.dimensionality:
        return AxisKind.SPACE
    if dims == (1 / registry.meter).dimensionality:
        return AxisKind.RECIPROCAL
    if dims == registry.eV.dimensionality:
        return AxisKind.ENERGY
    if dims == registry.second.dimensionality:
        return AxisKind.TIME
    if _is_angle(unit):
        return AxisKind.ANGLE
    return AxisKind.INDEX


def _is_angle(unit) -> bool:
    """pint treats radians as dimensionless; an angle is a dimensionless unit that is not 1."""
    registry = ureg()
    if unit == registry.dimensionless:
        return False
    try:
        registry.Quantity(1.0, unit).to("radian")
    except Exception:
        return False
    return True


def canonical_axis_units(kind: AxisKind) -> str | None:
    return _CANONICAL_AXIS_UNITS[kind]


def convert_values(values: Any, source: str, target: str) -> Any:
    """``values`` in ``source`` units expressed in ``target`` units (pint), rounded as
    :func:`round_converted` says; in the same units they are returned as given (integers stay integers)."""
    source_unit, target_unit = parse_unit(source), parse_unit(target)
    if source_unit is None or target_unit is None:
        raise ValueError(f"unknown unit '{source if source_unit is None else target}'")
    if source_unit == target_unit:
        return values
    quantity = ureg().Quantity(np.asarray(values, dtype=np.float64), source_unit)
    return round_converted(quantity.to(target_unit).magnitude)


def round_converted(values: Any) -> Any:
    """Floats rounded to :data:`SIGNIFICANT_DIGITS` significant digits: the noise of unit arithmetic
    gone (0.32 m -> 320.0 mm, 1e-9 m -> 1.0 nm), a value of 15 digits unchanged. A scalar gives a float,
    an array a float64 array of the same shape; NaN and infinities stay; integers are returned as given."""
    if not np.issubdtype(np.asarray(values).dtype, np.floating):
        return values
    if np.ndim(values) == 0:
        return _rounded(float(values))
    array = np.asarray(values, dtype=np.float64)
    return np.array([_rounded(v) for v in array.ravel().tolist()], dtype=np.float64).reshape(array.shape)


def _rounded(value: float) -> float:
    return float(f"{value:.{SIGNIFICANT_DIGITS}g}")


def unit_label(units: str) -> str:
    """Units as written to ``@units``: pint's canonical short spelling."""
    unit = parse_unit(units)
    return units if unit is None else f"{unit:~}".replace(" ", "")
