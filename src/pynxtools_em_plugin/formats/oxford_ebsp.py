"""Oxford Instruments binary Kikuchi-pattern files (``.ebsp``, AZtec), uncompressed.

Read with kikuchipy's ``oxford_binary`` plugin: importing it costs nothing (it imports
neither HyperSpy nor kikuchipy's signal classes; measured: 9 modules once dask is
loaded). Its reader class finds the layout, the scan order and the memory map
(:mod:`..compat.kikuchipy`: its ``file_reader`` would read every pattern into memory,
dask copying the map); :func:`~._kikuchi.lazy_patterns` makes the lazy array in scan order
and the original metadata is built as ``file_reader`` builds it. Layout, as kikuchipy reads it: an int64 file version
stored negated (absent in version 0), then one int64 file offset per scan point (0
for an unsaved pattern), in scan order; the patterns follow, not necessarily in scan
order, each with a header (rows, columns, byte count...), the pixels and a footer with
the beam position x, y in µm.

:func:`sniff` checks that structure without kikuchipy: the version and a consistent
header of the first listed pattern. :func:`read` finds the offset table's length itself
(the table ends where its smallest entry points, read block by block) and gives it to
kikuchipy's reader class instead of its guess.
``Signal.metadata`` is kikuchipy's original metadata (the map index of each saved
pattern, its place in the file, beam x, y and, from version 5, map x, y). kikuchipy
finds the grid from the first, second and last beam positions (one step for x and y,
as AZtec writes); with every pattern saved the signal is a square grid, else a list
of the saved patterns with their beam positions in ``derived['ebsd']['x'|'y']``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..compat.kikuchipy import oxford_binary_layout
from ..model import Signal
from ._kikuchi import SQUARE, ScanGrid, lazy_patterns, pattern_signal, refuse

NAME = "oxford_ebsp"
TITLE = "Oxford Instruments EBSD patterns"
EXTENSIONS = (".ebsp",)

_MAX_VERSION = 6
_MAX_PATTERN_SIDE = 8192
#: Offset-table entries read at once while looking for the table's end.
_TABLE_BLOCK = 65536


def sniff(path: Path, head: bytes) -> bool:
    try:
        layout = _layout_from_head(path, head)
    except (OSError, ValueError):
        return False
    return layout is not None


def read(path: Path, companions: list[Path]) -> list[Signal]:
    found = _layout_from_head(path, _read(path, 0, 16))
    count = _table_length(path, found[1]) if found is not None else None
    if count is None:
        raise refuse(path, TITLE, "its offset table or first pattern header is damaged, or the file is truncated")
    layout = _kikuchipy_layout(path, count)
    present = layout.pattern_is_present
    order = np.asarray(layout.pattern_order[present], dtype=np.int64)  # file slot of each saved scan point
    memmap = layout.memmap
    tree = _vendor_tree(memmap, order, np.arange(layout.n_patterns)[present])
    data = lazy_patterns(memmap["pattern"], order)
    _probe_last(path, data)
    if len(layout.navigation_shape) == 2:
        step = float(layout.step_sizes[1])
        grid = ScanGrid(SQUARE, *(int(n) for n in layout.navigation_shape), step_x=step, step_y=step)
        return [pattern_signal(path, NAME, data, grid, tree)]
    grid = ScanGrid(None, int(data.shape[0]), 1, x=tree.get("beam_x"), y=tree.get("beam_y"))
    saved = f"{data.shape[0]} patterns saved (of {layout.n_patterns} scan points, or without beam positions)"
    return [pattern_signal(path, NAME, data, grid, tree, [f"{path.name}: {saved}; stored as a list"])]


def _kikuchipy_layout(path: Path, n_patterns: int) -> Any:
    """kikuchipy's reading of the layout (its reader class: see compat.kikuchipy), any failure one clear error."""
    try:
        with open(path, "rb") as handle:
            return oxford_binary_layout(handle, n_patterns)
    except NotImplementedError as exc:  # compressed patterns
        raise refuse(path, TITLE, f"cannot be read: {exc}") from exc
    except Exception as exc:  # struct.error, ValueError, IndexError... on damaged bytes
        raise refuse(path, TITLE, f"cannot be read: truncated or damaged ({type(exc).__name__}: {exc})") from exc


def _vendor_tree(memmap: np.ndarray, order: np.ndarray, map_ids: np.ndarray) -> dict[str, Any]:
    """What kikuchipy's ``file_reader`` returns as original metadata: the map index and file
    position of each saved pattern, and its footer's beam x, y (and map x, y) in scan order."""
    tree: dict[str, Any] = {"map1d_id": map_ids, "file_order": order}
    for name in ("beam_y", "beam_x", "map_x", "map_y"):
        if name in memmap.dtype.names:
            tree[name] = np.asarray(memmap[name][..., 0][order])
    return tree


def _probe_last(path: Path, data: Any) -> None:
    """Read the last pattern now: a file cut short fails here, not while the NeXus file is written."""
    try:
        np.asarray(data[-1])
    except Exception as exc:
        raise refuse(path, TITLE, f"cannot be read: truncated ({type(exc).__name__}: {exc})") from exc


def _read(path: Path, offset: int, size: int) -> bytes:
    with open(path, "rb") as handle:
        return os.pread(handle.fileno(), size, offset)


def _layout_from_head(path: Path, head: bytes) -> tuple[int, int] | None:
    """(version, offset of the offset table), or None if ``head`` does not start an .ebsp file: a
    known version, and a first listed pattern whose header is consistent (cheap: one header read)."""
    if len(head) < 16:
        return None
    word = int(np.frombuffer(head[:8], "<i8")[0])
    version = -word if word < 0 else 0
    if not 0 <= version <= _MAX_VERSION:
        return None
    table_at = 0 if version == 0 else 9 if version > 3 else 8
    size = path.stat().st_size
    entry = int(np.frombuffer(_read(path, table_at, 8).ljust(8, b"\0"), "<i8")[0])
    if not table_at + 8 <= entry < size or _consistent_header(path, entry, version, size) is None:
        return None
    return version, table_at


def _table_length(path: Path, table_at: int) -> int | None:
    """How many entries the offset table has: n such that ``table_at + 8 n`` (where the patterns
    start) is the smallest of its first n entries; no shorter prefix satisfies that, as its entries
    all lie beyond the table. Read block by block, stopping at the table's end, not the file's."""
    size = path.stat().st_size
    smallest, read = np.iinfo(np.int64).max, 0
    while table_at + 8 * read < smallest:
        raw = _read(path, table_at + 8 * read, 8 * _TABLE_BLOCK)
        block = np.frombuffer(raw[: len(raw) // 8 * 8], "<i8")
        if not len(block):
            return None
        usable = np.where((block >= table_at + 8) & (block < size), block, np.iinfo(np.int64).max)
        minima = np.minimum(np.minimum.accumulate(usable), smallest)
        ends = table_at + 8 * (read + np.arange(1, len(block) + 1, dtype=np.int64))
        found = np.flatnonzero(minima == ends)
        if len(found):
            return read + int(found[0]) + 1
        smallest, read = int(minima[-1]), read + len(block)
    return None


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
