"""Protochips in-situ holder logs (``.csv``): temperature, pressure, current... over time.

Parsing is RosettaSciIO's (``rsciio.protochips``): every logged column becomes
one signal (one event), a 1-D series over time. The unit the log header
declares for it (``Degrees C`` -> degC, ``Torr``, ``Amps``...) is in the
signal's label and, machine-readable, on the event's sensor: its whole series
as ``instrument/sensor/value_log`` (NXlog, ``value`` with the units, ``time``
in s) and its time average as ``value`` (NXem's image fields, where the
plottable series is written, are unitless: a temperature has no place there).
Corrections and additions made here:

* Time axis: the logger samples irregularly (here 158-362 ms apart), but
  RosettaSciIO replaces the time stamps by a uniform step extrapolated from
  their mean (and warns). The true stamps, which it keeps in
  ``Protochips_header/Time axis`` (milliseconds since the start time), are
  the axis values here, converted to seconds; RosettaSciIO's warning is dropped
  because it no longer applies. As in RosettaSciIO, the rows of the header
  block (the notes at the start of the log, time stamps 0 to the ``User`` line)
  are metadata, not part of the series.
* ``Signal.derived`` (``Signal.metadata`` is RosettaSciIO's ``original_metadata``):
  the start and end (start + last time
  stamp) of the log, the ``key = value`` notes of the ``Notes`` column, and a
  summary of the quantity as a sensor (name, what it measures, its time
  average under the key of its unit) that the mapping table writes to the
  event's ``instrument/sensor``: ``start_time``, ``end_time``, ``notes``, ``sensor``.
"""

from __future__ import annotations

import logging
import warnings as python_warnings
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from ..compat.rsciio import reader_logger
from ..model import AxisKind, Signal
from ..units import classify_units, parse_unit
from ._rsciio import call_reader, rsciio_log, signal_from_rsciio, vendor_tree

NAME = "protochips"
TITLE = "Protochips in-situ holder log"
EXTENSIONS = (".csv",)

#: Unit names of the log header as pint reads them.
_UNITS = {
    "degrees c": "degC",
    "degrees k": "K",
    "kelvin": "K",
    "torr": "torr",
    "mbar": "mbar",
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
}
#: NXsensor/measurement values for the last word of a column name.
_MEASUREMENTS = {"temperature", "pressure", "current", "voltage", "resistance", "flow", "power"}
_EXTRAPOLATION_NOTE = "time axis is not uniform"


def sniff(path: Path, head: bytes) -> bool:
    """First row ``Time, Notes, <quantities>``; the notes start with the log date."""
    text = head.decode("latin-1")
    columns = [c.strip() for c in text.split("\n", 1)[0].split(",")]
    return len(columns) >= 3 and columns[0] == "Time" and "Notes" in columns and "Date (yyyy.mm.dd)" in text


def read(path: Path, companions: list[Path]) -> list[Signal]:
    from rsciio.protochips import file_reader

    with rsciio_log(reader_logger("protochips"), logging.WARNING) as records, python_warnings.catch_warnings():
        python_warnings.simplefilter("ignore")  # "time units not recognised": handled in _time_axis
        dicts = call_reader(path, TITLE, file_reader)
    notes = [f"{path.name}: {r.getMessage()}" for r in records if _EXTRAPOLATION_NOTE not in r.getMessage()]
    header = vendor_tree(dicts[0])["Protochips_header"]
    columns = [key.removesuffix("_units") for key in header if key.endswith("_units")]
    signals = [
        _signal(entry, column, path, index) for index, (entry, column) in enumerate(zip(dicts, columns, strict=True))
    ]
    signals[0].warnings.extend(notes + _time_notes(header, path))
    return signals


def _time_axis(header: dict[str, Any]) -> dict[str, Any]:
    """The logged time stamps (not RosettaSciIO's uniform extrapolation) as an axis
    with explicit values; the core converts them to s."""
    stamps, _ = as_numbers(header["Time axis"]["value"])
    raw_units = str(header["Time axis"].get("units") or "").strip()
    units = _UNITS.get(raw_units.lower(), raw_units)
    if classify_units(units) is not AxisKind.TIME:
        units = ""
    return {"name": "time since start", "size": stamps.size, "axis": stamps, "units": units}


def _time_notes(header: dict[str, Any], path: Path) -> list[str]:
    notes = _not_numbers_note(path, "Time", as_numbers(header["Time axis"]["value"])[1])
    if _time_axis(header)["units"]:
        return notes
    raw_units = header["Time axis"].get("units")
    return [*notes, f"{path.name}: time units '{raw_units}' not understood; the time stamps are stored without unit"]


def _signal(entry: dict[str, Any], column: str, path: Path, index: int) -> Signal:
    header = vendor_tree(entry)["Protochips_header"]
    units = value_units(str(header.get(f"{column}_units") or ""))
    entry["axes"] = [_time_axis(header)]
    entry["data"], invalid = as_numbers(entry["data"])
    signal = signal_from_rsciio(entry, path, NAME, context=f"column '{column}' (signal {index})")
    signal.warnings.extend(_not_numbers_note(path, column, invalid))
    signal.derived = _derived(signal, column, units, header)
    if units:
        signal.quantity = f"{column.split()[-1]} ({units})"
        signal.units = units
    return signal


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


def _not_numbers_note(path: Path, column: str, invalid: list[tuple[int, str]]) -> list[str]:
    """One warning per column with cells that are not numbers."""
    if not invalid:
        return []
    row, text = invalid[0]
    return [
        f"{path.name}: column '{column}' has {len(invalid)} value(s) that are not numbers, stored as NaN "
        f"(first: {text!r} at sample {row + 1})"
    ]


def value_units(raw: str) -> str:
    """A header unit name (``Degrees C``, ``Torr``, ``Amps``...) as a pint unit, or ""."""
    units = _UNITS.get(raw.strip().lower(), raw.strip())
    return units if parse_unit(units) is not None else ""


def _derived(signal: Signal, column: str, units: str, header: dict[str, Any]) -> dict[str, Any]:
    """Start and end of the log, its notes, and the column as a sensor."""
    result: dict[str, Any] = {"notes": _notes(header.get("Original notes"))}
    start = header.get("Start time")
    time = signal.axes[0]
    if start is not None:
        start_time = datetime.fromisoformat(str(np.datetime64(start, "us")))
        result["start_time"] = start_time.isoformat()
        if time.kind is AxisKind.TIME and time.size:
            result["end_time"] = (start_time + timedelta(seconds=float(time.values[-1]))).isoformat()
    measurement = column.split()[-1].lower() if column.split() else ""
    sensor: dict[str, Any] = {"name": column}
    if measurement in _MEASUREMENTS:
        sensor["measurement"] = measurement
    values = np.asarray(signal.data, dtype=np.float64)
    if units and values.size and np.all(np.isfinite(values)):
        sensor["average"] = {units: float(values.mean())}
    result["sensor"] = sensor
    return result


def _notes(notes: Any) -> dict[str, str]:
    """``key = value`` entries of the Notes column (first one per key)."""
    result: dict[str, str] = {}
    if notes is None or np.ndim(notes) != 2:
        return result
    for text in np.asarray(notes)[1]:
        key, separator, value = str(text).partition(" = ")
        if separator:
            result.setdefault(key.strip(), value.strip())
    return result
