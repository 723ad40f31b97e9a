"""EDAX/TSL OIM ``.ang`` text files (square and hexagonal grids).

The per-point columns, the phases and their point groups are orix's reading
(``orix.io.load``: Bunge Euler angles in radians, x/y in µm, not-indexed points by CI = -1).
orix returns no header values, so the ``#`` header (pattern centre, working distance, grid,
operator, phase blocks) is parsed here into the vendor tree, values as written.

The map is what the x, y columns are: some files' header grid (``XSTEP``, ``NCOLS_ODD``,
``NROWS``) does not match the rows present (e.g. a subsampled export); the grid is then
taken from the coordinates and a warning names both.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ConversionError
from ...model import Signal
from ...parsing import decode_text
from ._common import grid_from_coordinates, grid_type_of, map_from_crystal_map, map_signal

FLAVOUR = "EDAX/TSL ANG"
#: orix's column names -> the names EDAX OIM gives them (kept in the NXem file).
QUALITY_NAMES = {"iq": "IQ", "ci": "CI", "fit": "Fit", "detector_signal": "SEM signal"}
#: The pattern fit is an angle (OIM writes it in degrees); IQ, CI and the signal have no unit.
QUALITY_UNITS = {"Fit": "°"}
_PHASE_KEYS = {"MaterialName", "Formula", "Info", "Symmetry", "LatticeConstants", "NumberFamilies",
               "hklFamilies", "ElasticConstants", "Categories", "PointGroupID"}  # fmt: skip
_ANG_KEYS = (b"# TEM_PIXperUM", b"# x-star", b"# WorkingDistance", b"# GRID:", b"# XSTEP:")


def sniff(head: bytes) -> bool:
    """A ``#`` header with at least two of the keys OIM always writes."""
    return head.startswith(b"#") and sum(key in head for key in _ANG_KEYS) >= 2


def read(path: Path) -> list[Signal]:
    from orix import io

    header = parse_header(path)
    try:
        xmap = io.load(str(path), autogen_names=False)
    except (ValueError, IndexError, KeyError, OSError) as exc:
        raise ConversionError(path, f"is not a readable .ang file (truncated or damaged rows?): {exc}") from exc
    grid = grid_type_of(header.get("GRID", "SqrGrid"), path)
    names = {name: QUALITY_NAMES.get(name, name) for name in xmap.prop}
    orientation_map = map_from_crystal_map(xmap, grid, names, QUALITY_UNITS)
    warnings = []
    if grid == "hexagonal":
        orientation_map.shape = (_int(header.get("NROWS")), _int(header.get("NCOLS_ODD")))
        orientation_map.step_x, orientation_map.step_y = _float(header.get("XSTEP")), _float(header.get("YSTEP"))
    else:
        warnings = _grid_warnings(path, header, orientation_map)
    derived = {"pattern_centre_convention": "EDAX/TSL"}
    if all(key in header for key in ("x-star", "y-star", "z-star")):
        derived["pattern_centre"] = [_float(header[k]) for k in ("x-star", "y-star", "z-star")]
    return [map_signal(path, FLAVOUR, orientation_map, {"ang_header": header}, derived, warnings)]


def _grid_warnings(path: Path, header: dict[str, Any], orientation_map) -> list[str]:
    """The header's grid against the coordinates' (which the map follows)."""
    shape, step_x, step_y = grid_from_coordinates(orientation_map.x, orientation_map.y)
    orientation_map.shape, orientation_map.step_x, orientation_map.step_y = shape, step_x, step_y
    declared = (_int(header.get("NROWS")), _int(header.get("NCOLS_ODD")))
    declared_step = (_float(header.get("XSTEP")), _float(header.get("YSTEP")))
    warnings = []
    if declared != shape or not np.allclose(declared_step, (step_x, step_y)):
        warnings.append(
            f"{path.name}: the header's grid ({declared[0]} x {declared[1]} points, steps {declared_step[0]:g} x "
            f"{declared_step[1]:g} µm) does not match the x, y columns ({shape[0]} x {shape[1]} points, steps "
            f"{step_x:g} x {step_y:g} µm); the map follows the columns"
        )
    if orientation_map.size != shape[0] * shape[1]:
        warnings.append(
            f"{path.name}: {orientation_map.size} points do not fill the {shape[0]} x {shape[1]} grid of their "
            "coordinates (interrupted scan?); stored as a list of points"
        )
    return warnings


def parse_header(path: Path) -> dict[str, Any]:
    """The ``#`` lines as a tree: ``key: value`` text as written, repeated keys as lists,
    each ``Phase N`` block under ``phases/N``."""
    tree: dict[str, Any] = {}
    target = tree
    with open(path, "rb") as handle:
        for raw in handle:
            if not raw.startswith(b"#"):
                break
            line = decode_text(raw).lstrip("#").strip()
            key, value = _split(line)
            if not key:
                continue
            if key == "Phase" and value.strip().isdigit():
                target = tree.setdefault("phases", {}).setdefault(value.strip(), {})
                continue
            if key not in _PHASE_KEYS:
                target = tree
            _store(target, key, value)
    if not tree:
        raise ConversionError(path, "has no .ang header")
    return tree


def _split(line: str) -> tuple[str, str]:
    match = re.match(r"([A-Za-z][\w\-]*)\s*:?\s*(.*)", line)
    return (match.group(1), match.group(2).strip()) if match else ("", "")


def _store(target: dict[str, Any], key: str, value: str) -> None:
    if key not in target:
        target[key] = value
    elif isinstance(target[key], list):
        target[key].append(value)
    else:
        target[key] = [target[key], value]


def _int(value: Any) -> int:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return 0


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0
