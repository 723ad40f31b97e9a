"""Oxford Instruments HKL Channel 5 / AZtec ``.ctf`` text files (square grids).

The per-point rows and the phases are orix's reading (``orix.io.load``: Euler angles
converted from degrees to radians, phase 0 = not indexed). orix returns no header values and
takes the columns by position, so the tab-separated header is parsed here (vendor tree, values
as written) and the column line is checked against the rows: a file whose rows lack a column
the header names is refused instead of being read with shifted columns.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...errors import ConversionError
from ...model import Signal
from ...parsing import decode_text
from ._common import map_from_crystal_map, map_signal

FLAVOUR = "Oxford Channel 5 CTF"
#: orix's column names -> the names Channel 5 gives them.
QUALITY_NAMES = {"bands": "Bands", "error": "Error", "MAD": "MAD", "BC": "BC", "BS": "BS"}
#: The mean angular deviation is written in degrees; the other columns are counts and codes.
QUALITY_UNITS = {"MAD": "°"}
_MAGIC = b"Channel Text File"
_COLUMNS_START = "Phase\tX\tY"
#: The column line orix assumes (its reader names the columns by position).
ORIX_COLUMNS = ["Phase", "X", "Y", "Bands", "Error", "Euler1", "Euler2", "Euler3", "MAD", "BC", "BS"]


def sniff(head: bytes) -> bool:
    return head.lstrip(b"\xef\xbb\xbf").startswith(_MAGIC)


def read(path: Path) -> list[Signal]:
    from orix import io

    header, columns, first_row = parse_header(path)
    _check_columns(path, columns, first_row)
    try:
        xmap = io.load(str(path))
    except (ValueError, IndexError, KeyError, OSError) as exc:
        raise ConversionError(path, f"is not a readable .ctf file (truncated or damaged rows?): {exc}") from exc
    orientation_map = map_from_crystal_map(xmap, "square", QUALITY_NAMES, QUALITY_UNITS)
    return [map_signal(path, FLAVOUR, orientation_map, {"ctf_header": header}, {}, [])]


def _check_columns(path: Path, columns: list[str], first_row: list[str]) -> None:
    if columns != ORIX_COLUMNS:
        raise ConversionError(
            path, f"has the columns {' '.join(columns) or '(none)'}; a .ctf has {' '.join(ORIX_COLUMNS)}"
        )
    if len(first_row) != len(columns):
        raise ConversionError(
            path, f"has rows of {len(first_row)} values under a header naming {len(columns)} columns (damaged)"
        )


def parse_header(path: Path) -> tuple[dict[str, Any], list[str], list[str]]:
    """The header as a tree (``key: value`` text as written; the acquisition line's pairs under
    their keys; each phase line under ``Phases/<n>``), the column names and the first row."""
    tree: dict[str, Any] = {}
    phases_left = 0
    with open(path, "rb") as handle:
        for raw in handle:
            line = decode_text(raw).rstrip("\r\n")
            cells = line.split("\t")
            if line.startswith(_COLUMNS_START):
                return tree, cells, decode_text(handle.readline()).split()
            if phases_left:
                tree.setdefault("Phases", {})[str(len(tree["Phases"]) + 1)] = _phase_fields(cells)
                phases_left -= 1
            elif cells[0].startswith("Euler angles refer to"):
                tree["Euler angles refer to"] = cells[0]
                tree.update(dict(zip(cells[1::2], cells[2::2], strict=False)))
            elif cells[0] == "Phases":
                tree["Phases count"] = cells[1] if len(cells) > 1 else ""
                phases_left = int(cells[1]) if len(cells) > 1 and cells[1].strip().isdigit() else 0
            elif cells[0]:
                tree[cells[0]] = "\t".join(cells[1:])
    raise ConversionError(path, "has no 'Phase X Y ...' column line: not a complete .ctf file")


def _phase_fields(cells: list[str]) -> dict[str, str]:
    names = ("lattice lengths", "lattice angles", "name", "Laue group", "space group", "", "", "reference")
    return {name: value for name, value in zip(names, cells, strict=False) if name}
