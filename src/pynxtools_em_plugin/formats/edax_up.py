"""EDAX/TSL binary Kikuchi-pattern files (``.up1`` 8 bit, ``.up2`` 16 bit).

Layout (as kikuchipy's ``edax_binary`` plugin and PyEBSDIndex read it): uint32 version,
pattern width, height and the offset of the first pattern; version 1 stops there (16
bytes, a plain list of patterns); version 3 and later go on with one byte of "extra
patterns", uint32 map columns and rows, one byte hexagonal-grid flag and float64 x and
y steps (µm): 42 bytes. Version 2 is not documented and refused. The patterns follow
as one block, row by row.

Read by kikuchipy's ``edax_binary`` plugin (importing it costs nothing: neither HyperSpy
nor kikuchipy's signal classes), non-lazily: it then returns its memory map, which
:func:`~._kikuchi.lazy_patterns` wraps in dask blocks (its lazy mode hands the map to
``dask.array.from_array``, which copies it: the whole file read). kikuchipy returns no
header values, so the header is also read here (:func:`_header`, which :func:`sniff`
needs anyway) for the hexagonal flag, the extra patterns and the steps.

The header does not say the pixel depth: the file ending does (kikuchipy's rule); a file
with another ending is recognised when its pattern block fits 8 or 16 bit pixels, but
kikuchipy refuses to read it. A square grid becomes (rows, columns, ...) patterns; patterns beyond
the map (the header's extra patterns) are left out with a warning. A hexagonal grid
becomes a list of points with EDAX's layout (odd rows the header's columns, even rows
one fewer, shifted by half a step): every pattern the file holds, as kikuchipy reads it,
with a warning when their number is not the map's. ``Signal.metadata`` is kikuchipy's
(empty) original metadata plus the header fields under ``up_header``.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .. import parsing
from ..model import Signal
from ._kikuchi import (
    HEXAGONAL,
    SQUARE,
    ScanGrid,
    hexagonal_count,
    hexagonal_positions,
    lazy_patterns,
    pattern_signal,
    refuse,
)
from ._rsciio import call_reader, vendor_tree

NAME = "edax_up"
TITLE = "EDAX/TSL EBSD patterns"
EXTENSIONS = (".up1", ".up2")
PARSED_VENDOR_BLOCKS = ("up_header",)

_V1 = np.dtype([("version", "<u4"), ("pattern_width", "<u4"), ("pattern_height", "<u4"), ("pattern_offset", "<u4")])
_V3 = np.dtype(
    [
        *((name, _V1[name]) for name in _V1.names),
        ("extra_patterns", "u1"),
        ("map_columns", "<u4"),
        ("map_rows", "<u4"),
        ("hexagonal", "u1"),
        ("step_x", "<f8"),
        ("step_y", "<f8"),
    ]
)
_MAX_SIDE = 8192
_MAX_VERSION = 16


def sniff(path: Path, head: bytes) -> bool:
    header = _header(head)
    if header is None:
        return False
    try:
        return path.stat().st_size > header["pattern_offset"]
    except OSError:
        return False


def read(path: Path, companions: list[Path]) -> list[Signal]:
    from kikuchipy.io.plugins.edax_binary import file_reader

    header = _header(parsing.read_head(path, _V3.itemsize))
    if header is None:
        raise refuse(path, TITLE, "its header is damaged")
    dtype = _pixel_type(path, header, path.stat().st_size)
    if dtype is None:
        needs = f"{_map_points(header)} patterns of {header['pattern_width']} x {header['pattern_height']} pixels"
        raise refuse(path, TITLE, f"its pattern block does not hold the {needs} its header announces: truncated")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # kikuchipy's note that a hexagonal grid is read as a list: handled here
        (entry,) = call_reader(path, TITLE, file_reader)  # lazy=False: a memory map, no data read
    pattern_bytes = header["pattern_width"] * header["pattern_height"] * dtype.itemsize
    held = (path.stat().st_size - header["pattern_offset"]) // pattern_bytes
    grid, notes = _grid(path, header, held)
    data = lazy_patterns(entry["data"])
    return [pattern_signal(path, NAME, data, grid, {**vendor_tree(entry), "up_header": header}, notes)]


def _header(head: bytes) -> dict[str, Any] | None:
    """The header fields, or None if ``head`` does not start a plausible UP1/UP2 file."""
    if len(head) < _V1.itemsize:
        return None
    version = int(np.frombuffer(head[:4], "<u4")[0])
    if version == 0 or version == 2 or version > _MAX_VERSION:
        return None
    dtype = _V1 if version == 1 else _V3
    if len(head) < dtype.itemsize:
        return None
    fields = np.frombuffer(head[: dtype.itemsize], dtype)[0]
    header = {name: fields[name].item() for name in dtype.names}
    if header["pattern_offset"] != dtype.itemsize:
        return None
    if not (0 < header["pattern_width"] <= _MAX_SIDE and 0 < header["pattern_height"] <= _MAX_SIDE):
        return None
    if version > 1 and (header["hexagonal"] not in (0, 1) or 0 in (header["map_rows"], header["map_columns"])):
        return None
    return header


def _pixel_type(path: Path, header: dict[str, Any], size: int) -> np.dtype | None:
    """8 or 16 bit, or None when the block cannot hold the map: by the file ending, else the depth
    whose patterns fill the block exactly."""
    block = size - header["pattern_offset"]
    pixels = header["pattern_width"] * header["pattern_height"]
    by_ending = {".up1": np.dtype("u1"), ".up2": np.dtype("<u2")}.get(path.suffix.lower())
    candidates = [by_ending] if by_ending is not None else [np.dtype("<u2"), np.dtype("u1")]
    for dtype in candidates:
        pattern_bytes = pixels * dtype.itemsize
        whole = block % pattern_bytes == 0 or by_ending is not None
        if whole and block // pattern_bytes >= _map_points(header):
            return dtype
    return None


def _map_points(header: dict[str, Any]) -> int:
    if header["version"] == 1:
        return 1
    rows, cols = header["map_rows"], header["map_columns"]
    return hexagonal_count(rows, cols) if header["hexagonal"] else rows * cols


def _grid(path: Path, header: dict[str, Any], held: int) -> tuple[ScanGrid, list[str]]:
    """The scan grid of the patterns kikuchipy reads, and warnings."""
    if header["version"] == 1:
        return ScanGrid(None, held, 1), []
    rows, cols = header["map_rows"], header["map_columns"]
    step_x, step_y = _step(header["step_x"]), _step(header["step_y"])
    needed = _map_points(header)
    if not header["hexagonal"]:
        grid = ScanGrid(SQUARE, rows, cols, step_x=step_x, step_y=step_y)
        if held == needed:
            return grid, []
        left_out = f"the {held - needed} after the map (header: {header['extra_patterns']} extra) are left out"
        return grid, [f"{path.name}: holds {held} patterns, the {rows} x {cols} map {needed}; {left_out}"]
    known = step_x is not None and step_y is not None
    x, y = hexagonal_positions(held, cols, step_x, step_y) if known else (None, None)
    grid = ScanGrid(HEXAGONAL, rows, cols, step_x=step_x, step_y=step_y, x=x, y=y)
    notes = (
        []
        if held == needed
        else [
            f"{path.name}: holds {held} patterns, the {rows}-row hexagonal map {needed} "
            f"(header: {header['extra_patterns']} extra); all are stored, positions continue the grid"
        ]
    )
    if not known:
        notes.append(f"{path.name}: no usable step size in the header; the point positions are not stored")
    return grid, notes


def _step(value: float) -> float | None:
    return float(value) if np.isfinite(value) and value > 0 else None
