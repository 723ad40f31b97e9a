"""DENSsolutions Digiheater heating logs (``.dens``): temperature, resistance, power... over time.

RosettaSciIO (``rsciio.dens``) recognises the log, parses its header (start date,
Digiheater version, calibration constants R0, a, b, c) and returns the measured
temperature only, on a uniform time axis fitted to the time-of-day stamps. The
log holds more, so this module reads the table itself (plain tab-separated text)
once RosettaSciIO has accepted the file, and lays it out like the Protochips logs
(:mod:`._insitu`): every logged column (``Tset``, ``Tmeas``, ``Rheat``, ``Vheat``,
``Iheat``, ``Pheat``, with the unit in brackets in the column-name row) is one
signal on the true time stamps (s since the first sample; a midnight roll-over
adds a day). Each signal's ``Signal.metadata`` is RosettaSciIO's
``original_metadata`` of the file. The per-sample status word (``norm``,
``fine``...) is not a quantity; its distinct values are in ``Signal.derived`` as
``status``.

Only the column layout RosettaSciIO knows (Digiheater 3.1: ``sample time Tset[C]
Tmeas[C] Rheat[ohm] Vheat[V] Iheat[mA] Pheat [mW] c`` then the status) is read: a
log whose column-name row does not line up with its data columns (Digiheater 3.2
writes ``c Tset[C]`` as one name and the temperatures after the status) is
refused rather than guessed.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConversionError
from ..model import Signal
from ..parsing import decode_text
from ._insitu import as_numbers, label_with_units, log_span, not_numbers_note, sensor, time_axis, value_units
from ._rsciio import call_reader, signal_from_rsciio, vendor_tree

NAME = "dens"
TITLE = "DENSsolutions Digiheater log"
EXTENSIONS = (".dens",)

_FIRST_LINE = re.compile(r"^\s*\d{2}/\d{2}/'\d{2} \d{1,2}:\d{2}\tDigiheater ")
#: The column names RosettaSciIO's reader accepts, in order; the status word follows unnamed.
KNOWN_COLUMNS = ("sample", "time", "Tset[C]", "Tmeas[C]", "Rheat[ohm]", "Vheat[V]", "Iheat[mA]", "Pheat [mW]", "c")
#: The columns that are quantities (each one signal); the calibration constant c and the status are not.
LOGGED_COLUMNS = KNOWN_COLUMNS[2:8]
#: NXsensor/measurement by the first letter of a column name (NXsensor has no word for power).
_MEASURED = {"T": "temperature", "R": "resistance", "V": "voltage", "I": "current"}
_NAME_UNIT = re.compile(r"^(?P<name>[^\[]+?)\s*\[(?P<unit>[^\]]+)\]$")
_HEADER_LINES = 4


def sniff(path: Path, head: bytes) -> bool:
    """First line: ``DD/MM/'YY HH:MM<TAB>Digiheater <version>``."""
    return bool(_FIRST_LINE.match(head.decode("latin-1")))


def read(path: Path, companions: list[Path]) -> list[Signal]:
    from rsciio.dens import file_reader

    lines = decode_text(path.read_bytes()).lstrip("\r\n").splitlines()
    _refuse_unknown_layout(path, lines)
    entry = call_reader(path, TITLE, file_reader)[0]
    rows = [line.split("\t") for line in lines[_HEADER_LINES:] if line.strip()]
    if any(len(row) < len(KNOWN_COLUMNS) for row in rows):
        raise ConversionError(path, f"looks like a {TITLE} but has rows with fewer than {len(KNOWN_COLUMNS)} values")
    try:
        seconds = _elapsed(row[1] for row in rows)
        start = _start(vendor_tree(entry), rows[0][1])
    except ValueError as exc:
        raise ConversionError(path, f"has a time stamp that is not HH:MM:SS.ff ({exc}): damaged") from exc
    status = sorted({row[len(KNOWN_COLUMNS)].strip() for row in rows if len(row) > len(KNOWN_COLUMNS)} - {""})
    signals = []
    for index, column in enumerate(KNOWN_COLUMNS):
        if column in LOGGED_COLUMNS:
            values, invalid = as_numbers([row[index] for row in rows])
            signals.append(_signal(entry, path, column, values, seconds, start, status))
            signals[-1].warnings.extend(not_numbers_note(path, column, invalid))
    return signals


def _refuse_unknown_layout(path: Path, lines: list[str]) -> None:
    names = tuple(name.strip() for name in lines[3].split("\t")) if len(lines) > 3 else ()
    if tuple(n for n in names if n) != KNOWN_COLUMNS and lines[:1] and "Digiheater" in lines[0]:
        shown = ", ".join(n for n in names if n)
        raise ConversionError(
            path,
            f"its column-name row ({shown}) does not line up with the Digiheater 3.1 layout "
            f"({', '.join(KNOWN_COLUMNS)}, status); not converted rather than guessing which column is which",
        )


def _elapsed(times: Any) -> np.ndarray:
    """Seconds since the first sample from ``HH:MM:SS.ff`` times of day; a roll-over adds a day."""
    of_day = np.array([_seconds_of_day(text) for text in times])
    rollovers = np.concatenate([[0], np.cumsum(np.diff(of_day) < 0)])
    absolute = of_day + rollovers * 86400.0
    return absolute - absolute[0]


def _seconds_of_day(text: str) -> float:
    """``HH:MM:SS.ff`` in s; ValueError for anything else."""
    parts = text.strip().split(":")
    if len(parts) != 3:
        raise ValueError(f"{text.strip()!r}")
    return int(parts[0]) * 3600 + int(parts[1]) * 60 + float(parts[2])


def _start(header: dict[str, Any], first_time: str) -> datetime | None:
    """The header's date (RosettaSciIO's parse) at the first sample's time of day; next day if earlier."""
    date = header.get("DENS_header", {}).get("date")
    if not isinstance(date, datetime):
        return None
    start = datetime.combine(date.date(), datetime.min.time()) + timedelta(seconds=_seconds_of_day(first_time))
    return start + timedelta(days=1) if start < date else start


def _signal(
    entry: dict[str, Any],
    path: Path,
    column: str,
    values: np.ndarray,
    seconds: np.ndarray,
    start: datetime | None,
    status: list[str],
) -> Signal:
    match = _NAME_UNIT.match(column)
    name, raw_unit = (match["name"], match["unit"]) if match else (column, "")
    units = value_units(raw_unit)
    logged = {**entry, "data": values, "axes": [time_axis(seconds)]}
    signal = signal_from_rsciio(logged, path, NAME, context=f"column '{column}'")
    signal.title = name
    name_version = str(vendor_tree(entry).get("DENS_header", {}).get("version") or "").split()
    signal.derived = {
        **({"program": dict(zip(("name", "version"), name_version, strict=True))} if len(name_version) == 2 else {}),
        **log_span(start, signal.axes[0]),
        "sensor": sensor(name, units, values, _MEASURED.get(name[:1], "")),
        "status": status,
    }
    label_with_units(signal, _MEASURED.get(name[:1], name), units)
    return signal
