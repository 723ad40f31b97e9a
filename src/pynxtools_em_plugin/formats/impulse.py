"""DENSsolutions Impulse in-situ logs: ``<experiment>_Synchronized data.csv`` with its ``_Metadata.log``.

Parsing is RosettaSciIO's (``rsciio.impulse``): every logged column (temperature,
gas mix valve, pressures, flow, gas fractions, mass-spectrometer channels) is one
signal, and the experiment's metadata log, which RosettaSciIO finds by name beside
the CSV, is its vendor tree (``Impulse_header``: date and time, duration, sample,
gases, mass-spectrometer channels, live notes). The two files are one acquisition
(:func:`companions`); the metadata log alone holds no data (:func:`lone_companion`).

Laid out like the Protochips logs (:mod:`._insitu`). Corrections made here:

* Time axis: RosettaSciIO replaces the logged ``Experiment time`` (s since the
  experiment's start) by a uniform step from 0; the logged values are the axis here
  (read from the CSV's ``Experiment time`` column).
* Units: from the column name where it states one (``Temperature Measured (degC)``,
  ``% Gas1 Measured`` -> percent); columns without a unit (pressures, flow, the
  mass-spectrometer currents, the valve state that RosettaSciIO encodes as a number)
  are stored without, with one warning naming them.
* ``Signal.derived``: ``start_time`` (``Experiment date`` day-month-year and
  ``Experiment time``, local time without zone), ``end_time``, ``sensor``, and the
  ``sample`` and ``description`` of the metadata log without their CSV quotes.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConversionError
from ..model import Signal
from ..parsing import decode_text, read_head
from ._insitu import as_numbers, label_with_units, log_span, not_numbers_note, sensor, time_axis, value_units
from ._rsciio import call_reader, signal_from_rsciio, vendor_tree

NAME = "impulse"
TITLE = "DENSsolutions Impulse log"
EXTENSIONS = (".csv", ".log")

_CSV_START = b"TimeStamp,Experiment time,"
_LOG_START = b"Experiment date,"
_METADATA_SUFFIX = "_Metadata.log"
_DATA_NAME = re.compile(r"^(?P<experiment>.+)_(Synchronized data|raw.*)\.csv$", re.IGNORECASE)
_UNIT_IN_NAME = re.compile(r"\((?P<unit>[^()]+)\)\s*$")
_TIME_COLUMN = "Experiment time"


def sniff(path: Path, head: bytes) -> bool:
    """The CSV's first row starts ``TimeStamp,Experiment time,``; the metadata log's ``Experiment date,``."""
    return head.startswith(_CSV_START) or (head.startswith(_LOG_START) and b"\nExperiment time," in head)


def companions(path: Path, candidates: list[Path]) -> list[Path]:
    """The experiment's ``_Metadata.log`` beside a ``_Synchronized data.csv`` (or raw) log."""
    match = _DATA_NAME.match(path.name)
    if not match:
        return []
    log = path.with_name(match["experiment"] + _METADATA_SUFFIX)
    return [c for c in candidates if c.resolve() == log.resolve()]


def lone_companion(path: Path) -> str | None:
    if not path.name.endswith(_METADATA_SUFFIX) and not _is_metadata_log(path):
        return None
    experiment = path.name.removesuffix(_METADATA_SUFFIX)
    return (
        f"is the metadata log of an Impulse experiment and holds no data; convert its "
        f"'{experiment}_Synchronized data.csv' (with this log beside it)"
    )


def _is_metadata_log(path: Path) -> bool:
    return read_head(path, len(_LOG_START)) == _LOG_START


def read(path: Path, companions: list[Path]) -> list[Signal]:
    from rsciio.impulse import file_reader

    if not _DATA_NAME.match(path.name):
        raise ConversionError(
            path, "an Impulse log must keep its exported name '<experiment>_Synchronized data.csv' (or _raw...)"
        )
    dicts = call_reader(path, TITLE, file_reader)
    seconds, invalid = _experiment_time(path)
    if seconds.size != np.asarray(dicts[0]["data"]).size:
        raise ConversionError(path, f"the '{_TIME_COLUMN}' column does not match the logged rows: truncated?")
    start = _start(vendor_tree(dicts[0]))
    signals = [_signal(entry, path, index, seconds, start) for index, entry in enumerate(dicts)]
    signals[0].warnings.extend(not_numbers_note(path, _TIME_COLUMN, invalid) + _unitless_note(path, signals))
    if not companions and not vendor_tree(dicts[0]).get("Impulse_header"):
        signals[0].warnings.append(f"{path.name}: no '{_METADATA_SUFFIX}' beside it: no experiment start or notes")
    return signals


def _experiment_time(path: Path) -> tuple[np.ndarray, list[tuple[int, str]]]:
    """The logged ``Experiment time`` column (s since the start of the experiment)."""
    rows = list(csv.reader(io.StringIO(decode_text(path.read_bytes()))))
    column = rows[0].index(_TIME_COLUMN)
    return as_numbers([row[column] if len(row) > column else "" for row in rows[1:] if row])


def _start(header: dict[str, Any]) -> datetime | None:
    """``Experiment date`` (day-month-year) and ``Experiment time`` of the metadata log."""
    impulse = header.get("Impulse_header") or {}
    try:
        return datetime.strptime(f"{impulse['Experiment_date']} {impulse['Experiment_time']}", "%d-%m-%Y %H:%M:%S")
    except (KeyError, ValueError):
        return None


def _signal(entry: dict[str, Any], path: Path, index: int, seconds: np.ndarray, start: datetime | None) -> Signal:
    entry["axes"] = [time_axis(seconds, "experiment time")]
    entry["data"], invalid = as_numbers(entry["data"])
    signal = signal_from_rsciio(entry, path, NAME, context=f"signal {index}")
    column = signal.title
    units = _units(column)
    signal.warnings.extend(not_numbers_note(path, column, invalid))
    signal.derived = {
        **log_span(start, signal.axes[0]),
        "sensor": sensor(_quantity_name(column), units, signal.data),
        **_unquoted(vendor_tree(entry), ("Sample", "Description")),
    }
    label_with_units(signal, _quantity_name(column), units)
    return signal


def _unquoted(header: dict[str, Any], keys: tuple[str, ...]) -> dict[str, str]:
    """Text values of the metadata log without the CSV quotes RosettaSciIO leaves on them (``"Gold"``)."""
    impulse = header.get("Impulse_header") or {}
    return {key.lower(): str(impulse[key]).strip().strip('"') for key in keys if impulse.get(key)}


def _units(column: str) -> str:
    if column.startswith("%"):
        return "percent"
    match = _UNIT_IN_NAME.search(column)
    return value_units(match["unit"]) if match else ""


def _quantity_name(column: str) -> str:
    """``Temperature Measured (degC)`` -> ``Temperature Measured``."""
    return _UNIT_IN_NAME.sub("", column).strip()


def _unitless_note(path: Path, signals: list[Signal]) -> list[str]:
    unitless = [s.title for s in signals if not s.units]
    if not unitless:
        return []
    return [f"{path.name}: the log states no unit for {', '.join(unitless)}; stored without units"]
