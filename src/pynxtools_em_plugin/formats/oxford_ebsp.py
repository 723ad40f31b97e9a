"""Oxford Instruments binary Kikuchi-pattern files (``.ebsp``, AZtec), uncompressed.

Layout (as kikuchipy's ``oxford_binary`` plugin reads it, Oxford's description): an
int64 file version stored negated (absent in version 0), from version 4 one more byte,
then one int64 file offset per scan point (0 for a point whose pattern was not
saved), in scan order; the patterns follow, not necessarily in scan order. Each
pattern has a header (from version 5 map x, y; then is-compressed, rows, columns,
byte count, int32 each), the pixels (8 or 16 bit) and a footer with the beam
position x, y in µm (version 1: two float64; from version 2 each preceded by a
presence flag).

Own small reader (numpy memory map), not kikuchipy's: importing kikuchipy's plugin
imports ``kikuchipy.signals`` and with it HyperSpy (seconds, and the project imports
no HyperSpy); the layout is a few fixed fields. tests/test_format_ebsd_patterns.py
compares every pattern, the grid and the vendor tree with kikuchipy's reading.

``Signal.metadata`` holds what kikuchipy returns as original metadata (the map index
of each saved pattern, its place in the file, beam x, y in scan order, map x, y from
version 5) and, under ``ebsp_header``, the file version and the first pattern header.
The grid (rows, columns, step) is found from all beam positions: a square grid when
every point is saved and the positions fill one, else a list of points with their
beam positions in ``derived['ebsd']['x'|'y']``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..model import Signal
from ._kikuchi import SQUARE, ScanGrid, lazy_patterns, pattern_signal, refuse

NAME = "oxford_ebsp"
TITLE = "Oxford Instruments EBSD patterns (.ebsp)"
EXTENSIONS = (".ebsp",)
PARSED_VENDOR_BLOCKS = ("ebsp_header",)

_MAX_VERSION = 6
_MAX_PATTERN_SIDE = 8192


def sniff(path: Path, head: bytes) -> bool:
    try:
        layout = _layout_from_head(path, head)
    except (OSError, ValueError):
        return False
    return layout is not None


def read(path: Path, companions: list[Path]) -> list[Signal]:
    layout = _layout_from_head(path, _read(path, 0, 64))
    if layout is None:
        raise refuse(path, TITLE, "its header or first pattern header is damaged")
    version, table_at, first = layout
    starts = _offset_table(path, table_at, first)
    header = _pattern_header(path, first, version)
    if header["is_compressed"]:
        raise refuse(path, TITLE, "holds compressed patterns, which cannot be read")
    rows, cols, n_bytes = header["nrows"], header["ncols"], header["n_bytes"]
    dtype = _pixel_type(path, rows, cols, n_bytes)
    record = _record_dtype(path, version, first, rows, cols, dtype, n_bytes)
    present = starts[starts != 0]
    file_index = (present - first) // record.itemsize
    _check_offsets(path, present, first, record.itemsize)
    memmap = np.memmap(path, dtype=record, mode="r", offset=first, shape=(len(present),))
    file_order = file_index.astype(np.int64)  # file slot of each saved scan point (kikuchipy's 'file_order')
    metadata = _vendor_tree(memmap, starts, file_order, version, header)
    grid, warnings = _grid(path, metadata, len(starts), len(present))
    data = lazy_patterns(memmap["pattern"], file_order)
    return [pattern_signal(path, NAME, data, grid, metadata, warnings)]


def _read(path: Path, offset: int, size: int) -> bytes:
    with open(path, "rb") as handle:
        return os.pread(handle.fileno(), size, offset)


def _layout_from_head(path: Path, head: bytes) -> tuple[int, int, int] | None:
    """(version, offset of the offset table, offset of the first pattern), or None if ``head``
    does not start an .ebsp file whose first listed pattern header is consistent."""
    if len(head) < 16:
        return None
    word = int(np.frombuffer(head[:8], "<i8")[0])
    version = -word if word < 0 else 0
    if not 0 <= version <= _MAX_VERSION:
        return None
    table_at = 0 if version == 0 else 9 if version > 3 else 8
    size = path.stat().st_size
    entry = int(np.frombuffer(_read(path, table_at, 8).ljust(8, b"\0"), "<i8")[0])
    if not table_at + 8 <= entry < size:
        return None
    first = _first_pattern(path, table_at, entry, size)
    if first is None or _consistent_header(path, first, version, size) is None:
        return None
    return version, table_at, first


def _first_pattern(path: Path, table_at: int, entry: int, size: int) -> int | None:
    """Where the patterns start: right after the offset table, whose smallest entry it is. The
    table holds n entries with ``table_at + 8 n`` equal to the smallest of them, and no shorter
    prefix can satisfy that (its entries all lie beyond the table); ``entry`` bounds n."""
    count = (entry - table_at) // 8
    table = np.frombuffer(_read(path, table_at, 8 * count), "<i8")
    if len(table) < count or count < 1:
        return None
    usable = np.where((table >= table_at + 8) & (table < size), table, np.iinfo(np.int64).max)
    ends = table_at + 8 * np.arange(1, count + 1, dtype=np.int64)
    found = np.flatnonzero(np.minimum.accumulate(usable) == ends)
    return int(ends[found[0]]) if len(found) else None


def _header_dtype(version: int) -> np.dtype:
    names = ["map_x", "map_y"] if version >= 5 else []
    names += ["is_compressed", "nrows", "ncols", "n_bytes"]
    return np.dtype([(name, "<i4") for name in names])


def _consistent_header(path: Path, offset: int, version: int, size: int) -> dict[str, int] | None:
    dtype = _header_dtype(version)
    raw = _read(path, offset, dtype.itemsize)
    if len(raw) < dtype.itemsize:
        return None
    fields = np.frombuffer(raw, dtype)[0]
    header = {name: int(fields[name]) for name in dtype.names}
    rows, cols, n_bytes = header["nrows"], header["ncols"], header["n_bytes"]
    if header["is_compressed"] not in (0, 1) or not (0 < rows <= _MAX_PATTERN_SIDE and 0 < cols <= _MAX_PATTERN_SIDE):
        return None
    if header["is_compressed"] == 0 and n_bytes not in (rows * cols, 2 * rows * cols):
        return None
    return header if offset + dtype.itemsize + n_bytes <= size else None


def _pattern_header(path: Path, offset: int, version: int) -> dict[str, int]:
    header = _consistent_header(path, offset, version, path.stat().st_size)
    if header is None:
        raise refuse(path, TITLE, "its first pattern header is damaged or the file is truncated")
    return header


def _offset_table(path: Path, table_at: int, first: int) -> np.ndarray:
    return np.frombuffer(_read(path, table_at, first - table_at), "<i8").copy()


def _pixel_type(path: Path, rows: int, cols: int, n_bytes: int) -> np.dtype:
    if n_bytes == rows * cols:
        return np.dtype("u1")
    if n_bytes == 2 * rows * cols:
        return np.dtype("<u2")
    raise refuse(path, TITLE, f"its pattern byte count {n_bytes} fits neither 8 nor 16 bit {rows} x {cols} pixels")


def _record_dtype(
    path: Path, version: int, first: int, rows: int, cols: int, pixels: np.dtype, n_bytes: int
) -> np.dtype:
    """Header, pattern and footer of one pattern; the footer's fields depend on the version and,
    from version 2, on the presence flags of the first pattern."""
    fields: list[tuple[Any, ...]] = [(name, "<i4") for name in _header_dtype(version).names]
    fields.append(("pattern", pixels, (rows, cols)))
    if version == 1:
        fields += [("beam_x", "<f8"), ("beam_y", "<f8")]
    elif version > 1:
        footer_at = first + _header_dtype(version).itemsize + n_bytes
        flag = _read(path, footer_at, 1)
        if flag[:1] == b"\x01":
            fields += [("has_beam_x", "?"), ("beam_x", "<f8")]
        flag = _read(path, footer_at + (9 if flag[:1] == b"\x01" else 1), 1)
        if flag[:1] == b"\x01":
            fields += [("has_beam_y", "?"), ("beam_y", "<f8")]
    dtype = np.dtype(fields)
    if version > 1:  # the absent positions still take their flag byte
        missing = 2 - sum(1 for name in dtype.names if name.startswith("has_"))
        dtype = np.dtype([*fields, *((f"flag_{i}", "?") for i in range(missing))])
    return dtype


def _check_offsets(path: Path, present: np.ndarray, first: int, record_size: int) -> None:
    relative = present - first
    end = first + record_size * len(present)
    if np.any(relative % record_size) or np.any(present < first) or np.any(present + record_size > end):
        raise refuse(path, TITLE, "its pattern offset table does not match the pattern size: damaged")
    if len(np.unique(present)) != len(present):
        raise refuse(path, TITLE, "its pattern offset table lists a pattern twice: damaged")
    if end > path.stat().st_size:
        raise refuse(path, TITLE, f"is truncated (its {len(present)} patterns need {end} bytes)")


def _vendor_tree(
    memmap: np.ndarray, starts: np.ndarray, file_order: np.ndarray, version: int, header: dict[str, int]
) -> dict[str, Any]:
    """kikuchipy's original metadata (per saved pattern, in scan order) and the file's own header."""
    names = memmap.dtype.names
    tree: dict[str, Any] = {"map1d_id": np.arange(len(starts))[starts != 0], "file_order": file_order}
    for name in ("beam_y", "beam_x", "map_x", "map_y"):
        if name in names:
            tree[name] = np.asarray(memmap[name])[file_order]
    tree["ebsp_header"] = {"version": version, "first_pattern_header": header, "n_listed_points": len(starts)}
    return tree


def _grid(path: Path, tree: dict[str, Any], listed: int, saved: int) -> tuple[ScanGrid, list[str]]:
    """A square grid from the beam positions of every saved pattern, else a list of points."""
    if "beam_x" not in tree or "beam_y" not in tree:
        return ScanGrid(None, saved, 1), [f"{path.name}: no beam positions saved; patterns stored as a list"]
    x, y = np.asarray(tree["beam_x"], float), np.asarray(tree["beam_y"], float)
    square = _square_grid(x, y) if saved == listed else None
    if square is not None:
        return square, []
    reason = (
        f"{saved} of {listed} patterns saved" if saved != listed else "beam positions do not fill a square grid"
    )
    return ScanGrid(None, saved, 1, x=x, y=y), [f"{path.name}: {reason}; patterns stored as a list of points"]


def _square_grid(x: np.ndarray, y: np.ndarray) -> ScanGrid | None:
    step_x, cols = _axis_steps(x)
    step_y, rows = _axis_steps(y)
    if rows * cols != len(x):
        return None
    step_x = step_x or step_y
    step_y = step_y or step_x
    return ScanGrid(SQUARE, rows, cols, step_x=step_x, step_y=step_y)


def _axis_steps(values: np.ndarray) -> tuple[float | None, int]:
    """The step between distinct positions and their count (one position: no step)."""
    distinct = np.unique(np.round(values, 6))
    if len(distinct) < 2:
        return None, 1
    step = float(np.min(np.diff(distinct)))
    return step, int(round((distinct[-1] - distinct[0]) / step)) + 1
