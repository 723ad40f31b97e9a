"""Kikuchi-pattern files (EBSD) as :class:`Signal`: one description of a scan grid, one way to build the signal.

Every pattern format (Oxford ``.ebsp``, EDAX ``.up1``/``.up2``, NORDIF ``.dat``, kikuchipy's
h5ebsd, EMsoft's simulated patterns) ends in the same signal: ``signal_type`` "EBSD",
intensities in counts, lazy data of shape (scan rows, scan columns, pattern rows, pattern
columns) for a square grid, or (points, pattern rows, pattern columns) for a
hexagonal grid or a plain list of patterns, the point coordinates then in
``derived['ebsd']['x'|'y']``. Scan axes are lengths in µm where the file gives a
step size, detector axes pixel indices. The scan and detector facts the module
knows go to ``derived['ebsd']`` (grid type, steps, sizes, pattern centre), with
``derived['ebsd']['units']`` naming the unit of each number there, so that the
mapping tables (``@derived/ebsd/...``) state the same units.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..chunking import lazy_memmap
from ..errors import ConversionError
from ..model import Axis, AxisKind, Signal

EBSD = "EBSD"
QUANTITY = "Intensity (counts)"
SQUARE, HEXAGONAL = "square", "hexagonal"
#: Unit of every number a module may put in ``derived['ebsd']``.
_UNITS = {
    "step_x": "µm",
    "step_y": "µm",
    "x": "µm",
    "y": "µm",
    "n_rows": "",
    "n_columns": "",
    "n_points": "",
    "pattern_rows": "",
    "pattern_cols": "",
}


@dataclass
class ScanGrid:
    """Where the patterns of a file were taken: a square grid (rows x columns) or a list of points.

    ``x``/``y`` (µm) are given for a point list whose positions are known (hexagonal grid);
    ``step_x``/``step_y`` (µm) are None when the file records none."""

    grid_type: str | None  # SQUARE, HEXAGONAL, or None for a list of patterns of unknown layout
    rows: int
    cols: int
    step_x: float | None = None
    step_y: float | None = None
    x: np.ndarray | None = None
    y: np.ndarray | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # further derived facts, e.g. the pattern centre

    @property
    def is_square(self) -> bool:
        return self.grid_type == SQUARE


def pattern_signal(
    path: Path,
    format_name: str,
    data: Any,
    grid: ScanGrid,
    metadata: dict[str, Any],
    warnings: list[str] | None = None,
) -> Signal:
    """The Kikuchi-pattern signal of a file: ``data`` (lazy) holds the patterns in scan order, as
    (points, pattern rows, pattern columns) or already as the square grid's (rows, columns, ...)."""
    pattern_rows, pattern_cols = (int(n) for n in data.shape[-2:])
    points = int(np.prod(data.shape[:-2]))
    if grid.is_square and grid.rows * grid.cols != points:
        reason = f"its {points} patterns do not fill its {grid.rows} x {grid.cols} grid: damaged"
        raise ConversionError(path, f"is an EBSD pattern file but {reason}")
    if grid.is_square and data.ndim != 4:
        data = data.reshape(grid.rows, grid.cols, pattern_rows, pattern_cols)
    elif not grid.is_square and data.ndim != 3:
        data = data.reshape(points, pattern_rows, pattern_cols)
    if grid.is_square:
        scan_axes = [
            _scan_axis("scan y", grid.rows, grid.step_y),
            _scan_axis("scan x", grid.cols, grid.step_x),
        ]
    else:
        scan_axes = [Axis("scan point", np.arange(points, dtype=np.float64), "", AxisKind.INDEX)]
    derived = {"ebsd": _facts(grid, points, pattern_rows, pattern_cols)}
    return kikuchi_signal(path, format_name, data, scan_axes, metadata, derived, path.stem, "patterns", warnings)


def kikuchi_signal(
    path: Path,
    format_name: str,
    data: Any,
    scan_axes: list[Axis],
    metadata: dict[str, Any],
    derived: dict[str, Any],
    title: str,
    context: str,
    warnings: list[str] | None = None,
) -> Signal:
    """The one EBSD pattern signal (pattern files here, the patterns of EBSD HDF5 maps in
    ``formats/ebsd``): ``data`` already shaped as the scan axes followed by the pattern rows and
    columns, which become detector axes in pixels."""
    pattern_rows, pattern_cols = (int(n) for n in data.shape[-2:])
    detector_axes = [
        Axis("detector y", np.arange(pattern_rows, dtype=np.float64), "", AxisKind.INDEX),
        Axis("detector x", np.arange(pattern_cols, dtype=np.float64), "", AxisKind.INDEX),
    ]
    return Signal(
        title=title,
        data=data,
        axes=[*scan_axes, *detector_axes],
        source=path,
        format_name=format_name,
        metadata=metadata,
        derived=derived,
        signal_type=EBSD,
        quantity=QUANTITY,
        context=context,
        warnings=list(warnings or []),
    )


def _scan_axis(name: str, size: int, step: float | None) -> Axis:
    if step is None or not np.isfinite(step) or step <= 0:
        return Axis(name, np.arange(size, dtype=np.float64), "", AxisKind.INDEX)
    return Axis(name, step * np.arange(size, dtype=np.float64), "µm", AxisKind.SPACE)


def _facts(grid: ScanGrid, points: int, pattern_rows: int, pattern_cols: int) -> dict[str, Any]:
    facts: dict[str, Any] = {"pattern_rows": pattern_rows, "pattern_cols": pattern_cols, "n_points": points}
    if grid.grid_type is not None:  # a hexagonal grid's columns: those of its odd rows
        facts.update(grid_type=grid.grid_type, n_rows=grid.rows, n_columns=grid.cols)
    for key in ("step_x", "step_y"):
        value = finite(getattr(grid, key))
        if value is not None and value > 0:  # as the scan axes: no usable step, no step
            facts[key] = value
    for key in ("x", "y"):
        value = getattr(grid, key)
        if value is not None:
            facts[key] = np.asarray(value, dtype=np.float64)
    extra_units = grid.extra.get("units", {})
    facts.update({key: value for key, value in grid.extra.items() if key != "units"})
    facts["units"] = {key: unit for key, unit in {**_UNITS, **extra_units}.items() if key in facts}
    return facts


def hexagonal_positions(count: int, cols: int, step_x: float, step_y: float) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) in µm of the first ``count`` points of an EDAX/TSL hexagonal grid: odd rows (1st, 3rd...)
    hold ``cols`` points, even rows ``cols - 1`` shifted by half a step; rows ``step_y`` apart."""
    pair = 2 * cols - 1  # points in an odd and the following even row
    index = np.arange(count)
    pairs, within = np.divmod(index, pair)
    shifted = within >= cols
    column = np.where(shifted, within - cols + 0.5, within)
    row = 2 * pairs + shifted
    return column * step_x, row * step_y


def hexagonal_count(rows: int, cols: int) -> int:
    """Points of an EDAX/TSL hexagonal grid of ``rows`` rows, odd rows ``cols`` points, even rows one fewer."""
    return (rows + 1) // 2 * cols + rows // 2 * max(cols - 1, 0)


def lazy_patterns(memmap: np.ndarray, order: np.ndarray | None = None) -> Any:
    """A dask array over a memory map of patterns, in blocks of whole patterns of about the streaming
    writer's block size, never copied (``chunking.lazy_memmap``); ``order`` (the file position of each
    scan point) puts them in scan order, each block gathering its own patterns (dask's own reordering
    of a large permutation holds many blocks at once)."""
    return lazy_memmap(memmap, order=order)


def finite(value: Any) -> float | None:
    """A header value as a finite float, or None (a damaged or absent value is not mapped, never a crash)."""
    try:
        number = float(np.asarray(value, dtype=np.float64).reshape(-1)[0]) if np.size(value) == 1 else None
    except (TypeError, ValueError):
        return None
    return number if number is not None and np.isfinite(number) else None


def refuse(path: Path, title: str, reason: str) -> ConversionError:
    """The one error for a pattern file that looks like ``title`` but cannot be read."""
    return ConversionError(path, f"looks like {title} but {reason}")


def hdf5_text(path: Path, dataset: str) -> str | None:
    """The first string of a small HDF5 dataset (as kikuchipy and EMsoft write names), or None.

    For sniffing: never raises (h5py raises OSError, KeyError, RuntimeError... on damaged files)."""
    import h5py

    try:
        with h5py.File(path, "r") as h5:
            node = h5.get(dataset)
            if not isinstance(node, h5py.Dataset) or node.size == 0 or node.size > 64:
                return None
            value = node[()]
    except Exception:
        return None
    first = value.flat[0] if isinstance(value, np.ndarray) else value
    return first.decode("utf-8", "replace") if isinstance(first, bytes) else str(first)
