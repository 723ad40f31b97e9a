"""What the in-situ log formats (Protochips, DENSsolutions, Impulse) share.

Each logged column becomes one signal over a time axis of the true time stamps
(s); the column's unit goes to ``Signal.units`` and, with its name, what it
measures and its time average (keyed by the unit, so that a mapping table states
the unit), to ``Signal.derived["sensor"]``; the start and end of the log to
``start_time``/``end_time``. The mapping tables write the sensor to the event's
``instrument/sensor`` (NXsensor with the whole series as ``value_log``, an NXlog).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from ..model import Axis, AxisKind, Signal
from ..units import parse_unit

#: Unit names of the log headers as pint reads them.
UNIT_NAMES = {
    "degrees c": "degC",
    "degrees k": "K",
    "kelvin": "K",
    "c": "degC",
    "degc": "degC",
    "torr": "torr",
    "mbar": "mbar",
    "bar": "bar",
    "pascal": "Pa",
    "amps": "A",
    "milliamps": "mA",
    "volts": "V",
    "millivolts": "mV",
    "ohms": "ohm",
    "watts": "W",
    "milliseconds": "ms",
    "seconds": "s",
    "minutes": "min",
    "%": "percent",
}
#: NXsensor/measurement values for the last word of a column name.
MEASUREMENTS = {"temperature", "pressure", "current", "voltage", "resistance", "flow", "power"}


def value_units(raw: str) -> str:
    """A header unit name (``Degrees C``, ``Torr``, ``Amps``, ``C``, ``mW``...) as a pint unit, or ""."""
    units = UNIT_NAMES.get(raw.strip().lower(), raw.strip())
    return units if units and parse_unit(units) is not None else ""


def as_numbers(values: Any) -> tuple[np.ndarray, list[tuple[int, str]]]:
    """A logged column as floats, and (row, text) of the cells that are not numbers (stored as NaN).

    NumPy's CSV reader makes a column with one damaged cell a column of text.
    """
    array = np.asarray(values)
    if array.dtype.kind in "biuf":
        return array.astype(np.float64), []
    numbers = np.full(array.shape, np.nan)
    invalid = []
    for row, text in enumerate(array.ravel()):
        try:
            numbers.flat[row] = float(text)
        except (TypeError, ValueError):
            invalid.append((row, str(text)))
    return numbers, invalid


def not_numbers_note(path: Path, column: str, invalid: list[tuple[int, str]]) -> list[str]:
    """One warning per column with cells that are not numbers."""
    if not invalid:
        return []
    row, text = invalid[0]
    return [
        f"{path.name}: column '{column}' has {len(invalid)} value(s) that are not numbers, stored as NaN "
        f"(first: {text!r} at sample {row + 1})"
    ]


def sensor(name: str, units: str, values: Any, measurement: str = "") -> dict[str, Any]:
    """A logged column as an NXsensor summary: name, what it measures, time average keyed by its unit."""
    words = [word for word in reversed(name.lower().split()) if word in MEASUREMENTS]
    measurement = measurement or (words[0] if words else "")
    result: dict[str, Any] = {"name": name}
    if measurement in MEASUREMENTS:
        result["measurement"] = measurement
    numbers = np.asarray(values, dtype=np.float64)
    if units and numbers.size and np.all(np.isfinite(numbers)):
        result["average"] = {units: float(numbers.mean())}
    return result


def log_span(start: datetime | None, time: Axis) -> dict[str, str]:
    """``start_time`` and ``end_time`` (start + the last time stamp) of a log, ISO 8601 as logged."""
    if start is None:
        return {}
    span = {"start_time": start.isoformat()}
    if time.kind is AxisKind.TIME and time.size:
        span["end_time"] = (start + timedelta(seconds=float(time.values[-1]))).isoformat()
    return span


def label_with_units(signal: Signal, name: str, units: str) -> None:
    """The column's unit on the signal (its sensor log) and in its quantity label."""
    if units:
        signal.quantity = f"{name} ({units})"
        signal.units = units


def time_axis(seconds: np.ndarray, name: str = "time since start") -> dict[str, Any]:
    """A RosettaSciIO-style axis with explicit time stamps in s."""
    return {"name": name, "size": int(seconds.size), "axis": seconds, "units": "s"}
