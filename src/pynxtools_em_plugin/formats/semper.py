"""Semper unformatted files (``.unf``): images written by Semper or HyperSpy's Semper writer.

Parsing is RosettaSciIO's (``rsciio.semper``): Fortran unformatted records (the
header with the image size and data form, the 256-word label, the data rows).
``Signal.metadata`` is RosettaSciIO's ``original_metadata`` (header and label:
``DATE``, ``RANGE``, axis origins ``X0V0``/``Y0V2``, steps ``DXV1``/``DYV3``,
units ``XUNIT``/``YUNIT``, ``TITLE``...).

Axes: as RosettaSciIO reads them, the label's x calibration on the first array
dimension. Semper's X is the column direction, but HyperSpy's Semper writer (whose
files RosettaSciIO reads back consistently) stores the row calibration as X; a file
does not say which writer made it. Where it matters (x and y calibrations or sizes
differ) a warning says so; the two shared files are square with equal steps.

Creation date: the label stores the year as year - 1900 in HyperSpy's files but as
a two-digit year - 1900 in Semper's own (the shared ``example_image_2d.unf``);
RosettaSciIO adds 1900 and, when that gives two digits, reads them with Python's
two-digit-year rule (00-68 -> 2000-2068, 69-99 -> 1969-1999). Its date and time
are ``start`` in ``Signal.derived``: local time, no zone in the file.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from ..model import Signal
from ._rsciio import call_reader, normalised_metadata, signals_from_rsciio, vendor_tree

NAME = "semper"
TITLE = "Semper unformatted image"
EXTENSIONS = (".unf",)

#: Record 1 (12-byte header record), then record 2 (the 512-byte label) starting with "Semper" as 16-bit words.
_HEADER_RECORD = b"\x0c\x00\x00\x00"
_LABEL_RECORD = b"\x00\x02\x00\x00"
_LABEL_OFFSET = 20
_SEMPER = "Semper".encode("utf-16-le")


def sniff(path: Path, head: bytes) -> bool:
    return (
        head.startswith(_HEADER_RECORD)
        and head[_LABEL_OFFSET : _LABEL_OFFSET + 4] == _LABEL_RECORD
        and head[_LABEL_OFFSET + 4 :].startswith(_SEMPER)
    )


def read(path: Path, companions: list[Path]) -> list[Signal]:
    from rsciio.semper import file_reader

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dicts = call_reader(path, TITLE, file_reader)
    signals = signals_from_rsciio(
        dicts, path, NAME, prepare=lambda entry: _ambiguous_axes(entry, path), derive=general_start
    )
    signals[0].warnings.extend(f"{path.name}: {warning.message}" for warning in caught)  # e.g. an unreadable label
    return signals


def _ambiguous_axes(entry: dict[str, Any], path: Path) -> list[str]:
    header = vendor_tree(entry)
    x = (header.get("NCOL"), header.get("DXV1"), header.get("XUNIT"), header.get("X0V0"))
    y = (header.get("NROW"), header.get("DYV3"), header.get("YUNIT"), header.get("Y0V2"))
    if int(header.get("NROW", 1) or 1) <= 1 or x == y:
        return []
    return [
        f"{path.name}: the Semper label's x and y calibrations differ; Semper writes X for columns, HyperSpy's "
        "writer for rows, and the file does not say which wrote it: axes stored as RosettaSciIO reads them"
    ]


def general_start(entry: dict[str, Any]) -> dict[str, Any]:
    """RosettaSciIO's normalised date and time (``General``) as ``start``, ISO 8601 without zone."""
    general = normalised_metadata(entry).get("General", {})
    date, time = general.get("date"), general.get("time")
    return {"start": f"{date}T{time}" if time else str(date)} if date else {}
