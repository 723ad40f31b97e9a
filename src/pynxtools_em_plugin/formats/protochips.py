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
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from ..compat.rsciio import reader_logger
from ..model import AxisKind, Signal
from ..units import classify_units
from ._insitu import UNIT_NAMES, as_numbers, label_with_units, log_span, not_numbers_note, sensor, value_units
from ._rsciio import call_reader, rsciio_log, signal_from_rsciio, vendor_tree

NAME = "protochips"
TITLE = "Protochips in-situ holder log"
EXTENSIONS = (".csv",)

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
    units = UNIT_NAMES.get(raw_units.lower(), raw_units)
    if classify_units(units) is not AxisKind.TIME:
        units = ""
    return {"name": "time since start", "size": stamps.size, "axis": stamps, "units": units}


def _time_notes(header: dict[str, Any], path: Path) -> list[str]:
    notes = not_numbers_note(path, "Time", as_numbers(header["Time axis"]["value"])[1])
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
    signal.warnings.extend(not_numbers_note(path, column, invalid))
    signal.derived = _derived(signal, column, units, header)
    label_with_units(signal, column.split()[-1] if column.split() else column, units)
    return signal


def _derived(signal: Signal, column: str, units: str, header: dict[str, Any]) -> dict[str, Any]:
    """Start and end of the log, its notes, and the column as a sensor."""
    result: dict[str, Any] = {"notes": _notes(header.get("Original notes"))}
    start = header.get("Start time")
    if start is not None:
        result.update(log_span(datetime.fromisoformat(str(np.datetime64(start, "us"))), signal.axes[0]))
    result["sensor"] = sensor(column, units, signal.data)
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
