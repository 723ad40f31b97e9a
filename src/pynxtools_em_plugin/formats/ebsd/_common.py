"""What every EBSD flavour shares: phases from orix, the orientation-map signal, the pattern signal.

orix (crystal symmetry) and kikuchipy are imported inside the functions, never at module level:
converting a DM3 file must not import them (tests/test_startup.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ConversionError
from ...model import Axis, AxisKind, CrystalPhase, OrientationMap, Signal
from .._kikuchi import kikuchi_signal

#: Quality measures shown as the event's image, best first (vendor names of every flavour).
QUALITY_PREFERENCE = (
    "IQ", "iq", "Band Contrast", "BC", "bc", "CI", "ci", "RadonQuality", "MAD", "Mean Angular Deviation",
)  # fmt: skip
#: What ``ebsd/grid_type`` says for each vendor grid word.
GRID_TYPES = {"sqrgrid": "square", "hexgrid": "hexagonal", "isometric": "square", "square": "square"}


def grid_type_of(vendor_word: Any, path: Path) -> str:
    """ "square" or "hexagonal" from the vendor's grid name (SqrGrid, HexGrid, isometric...)."""
    word = str(vendor_word).strip().lower()
    if word not in GRID_TYPES:
        raise ConversionError(path, f"has an EBSD grid type '{vendor_word}' that is neither square nor hexagonal")
    return GRID_TYPES[word]


def phase_from_symmetry(
    phase_id: int,
    name: str,
    point_group: Any = None,
    space_group: int | None = None,
    lattice: Iterable[float] | None = None,
    formula: str = "",
) -> CrystalPhase:
    """A phase whose point group orix derives from what the vendor wrote (a Hermann-Mauguin symbol,
    EDAX's symmetry code such as 43, or the space group number)."""
    from orix.crystal_map import Phase

    try:
        orix_phase = Phase(name=name, point_group=point_group, space_group=space_group)
    except (ValueError, KeyError, IndexError, TypeError):  # an unknown vendor symbol: keep what is known
        orix_phase = Phase(name=name, space_group=space_group) if space_group else Phase(name=name)
    return _crystal_phase(phase_id, orix_phase, lattice, formula)


def phases_from_orix(phase_list: Any) -> tuple[list[CrystalPhase], dict[int, int]]:
    """Our phases (ids from 1) from an orix PhaseList, and orix id -> our id (not indexed: 0)."""
    phases: list[CrystalPhase] = []
    ids: dict[int, int] = {}
    for orix_id, orix_phase in phase_list:
        if orix_id < 0:  # orix's "not_indexed" pseudo-phase
            continue
        ids[int(orix_id)] = len(phases) + 1
        lattice = orix_phase.structure.lattice.abcABG() if orix_phase.structure is not None else None
        phases.append(_crystal_phase(len(phases) + 1, orix_phase, lattice, ""))
    return phases, ids


def _crystal_phase(phase_id: int, orix_phase: Any, lattice: Iterable[float] | None, formula: str) -> CrystalPhase:
    values = [round(float(v), 5) for v in lattice] if lattice is not None else []  # float32/orix noise
    space_group = orix_phase.space_group.number if orix_phase.space_group is not None else None
    symmetry = orix_phase.point_group
    return CrystalPhase(
        id=phase_id,
        name=str(orix_phase.name or f"phase {phase_id}"),
        space_group=int(space_group) if space_group else None,
        point_group=symmetry.name if symmetry is not None else "",
        laue_group=symmetry.laue.name if symmetry is not None else "",
        lattice_lengths=tuple(values[:3]) if len(values) == 6 and any(values[:3]) else None,
        lattice_angles=tuple(values[3:]) if len(values) == 6 and any(values[3:]) else None,
        formula=formula,
    )


def map_from_crystal_map(
    xmap: Any, grid_type: str, quality_names: Mapping[str, str], quality_units: Mapping[str, str]
) -> OrientationMap:
    """An orientation map from an orix CrystalMap read from a vendor file.

    ``quality_names``: orix property name -> the vendor's column name (kept in the NXem file);
    ``quality_units``: units by vendor name.
    """
    phases, ids = phases_from_orix(xmap.phases)
    vendor_ids = np.asarray(xmap.phase_id)
    phase_id = np.zeros(vendor_ids.shape, dtype=np.int32)
    for orix_id, our_id in ids.items():
        phase_id[vendor_ids == orix_id] = our_id
    rows, cols = (int(n) for n in (xmap.shape if len(xmap.shape) == 2 else (1, xmap.shape[0])))
    steps = dict(zip(("y", "x"), xmap._step_sizes.values(), strict=False)) if hasattr(xmap, "_step_sizes") else {}
    quality = {vendor: np.asarray(xmap.prop[name]) for name, vendor in quality_names.items() if name in xmap.prop}
    return OrientationMap(
        phases=phases,
        phase_id=phase_id,
        euler=euler_angles(xmap.rotations),
        x=np.asarray(xmap.x, dtype=np.float64),
        y=np.asarray(xmap.y, dtype=np.float64),
        grid_type=grid_type,
        shape=(rows, cols),
        step_x=float(steps.get("x", xmap.dx if hasattr(xmap, "dx") else 0.0)),
        step_y=float(steps.get("y", xmap.dy if hasattr(xmap, "dy") else 0.0)),
        coordinate_units="µm" if xmap.scan_unit in ("um", "µm") else xmap.scan_unit,
        quality=quality,
        quality_units={name: units for name, units in quality_units.items() if name in quality},
    )


#: Rotations converted to Euler angles at once (orix's conversion needs several temporaries per point).
EULER_BLOCK = 65_536


def euler_angles(rotations: Any) -> np.ndarray:
    """Bunge Euler angles (n, 3) in rad of orix rotations, converted block by block (bounded memory)."""
    from orix.quaternion import Rotation

    quaternions = rotations.data.reshape(-1, 4)
    euler = np.empty((quaternions.shape[0], 3), dtype=np.float64)
    for start in range(0, quaternions.shape[0], EULER_BLOCK):
        euler[start : start + EULER_BLOCK] = Rotation(quaternions[start : start + EULER_BLOCK]).to_euler()
    return euler


def grid_from_coordinates(x: np.ndarray, y: np.ndarray) -> tuple[tuple[int, int], float, float]:
    """(rows, columns), step x, step y of a square grid, from the beam positions themselves."""
    xs, ys = np.unique(np.round(x, 6)), np.unique(np.round(y, 6))
    step_x = round(float(np.min(np.diff(xs))), 6) if xs.size > 1 else 0.0
    step_y = round(float(np.min(np.diff(ys))), 6) if ys.size > 1 else 0.0
    return (int(ys.size), int(xs.size)), step_x, step_y


def map_signal(
    path: Path,
    flavour: str,
    orientation_map: OrientationMap,
    metadata: dict[str, Any],
    facts: dict[str, Any],
    warnings: list[str],
    context: str = "",
) -> Signal:
    """The orientation map as a signal: its best vendor quality measure as the plottable data
    (an image on a square grid, a point list on a hexagonal one), the map attached. ``facts``:
    what the flavour found beyond the map (pattern centre and its convention), stored with the
    scan facts in ``derived["ebsd"]``."""
    name, values = _display_quality(orientation_map)
    derived = {"ebsd": {**scan_facts(orientation_map), **facts}}
    if orientation_map.is_square and orientation_map.size == orientation_map.shape[0] * orientation_map.shape[1]:
        rows, cols = orientation_map.shape
        data = values.reshape(rows, cols)
        axes = [
            scan_axis("y", rows, orientation_map.step_y, float(np.min(orientation_map.y)), orientation_map),
            scan_axis("x", cols, orientation_map.step_x, float(np.min(orientation_map.x)), orientation_map),
        ]
    else:
        data = values
        axes = [Axis("scan point", np.arange(values.size, dtype=np.float64), "", AxisKind.INDEX)]
    return Signal(
        title=f"EBSD map: {name}",
        data=data,
        axes=axes,
        source=path,
        format_name=flavour,
        metadata=metadata,
        derived=derived,
        signal_type="EBSD",
        quantity=name,
        context=context or "orientation map",
        warnings=warnings,
        orientation_map=orientation_map,
    )


def _display_quality(orientation_map: OrientationMap) -> tuple[str, np.ndarray]:
    """The vendor quality measure shown as the map's image; the phase ids when there is none."""
    for name in QUALITY_PREFERENCE:
        if name in orientation_map.quality:
            return name, np.asarray(orientation_map.quality[name], dtype=np.float32)
    return "phase id", orientation_map.phase_id.astype(np.float32)


def scan_axis(name: str, size: int, step: float, origin: float, orientation_map: OrientationMap) -> Axis:
    """A beam-position axis in the map's coordinate units."""
    values = origin + step * np.arange(size, dtype=np.float64)
    return Axis(f"scan {name}", values, orientation_map.coordinate_units, AxisKind.SPACE)


def scan_facts(orientation_map: OrientationMap) -> dict[str, Any]:
    """The scan facts under ``derived["ebsd"]`` (``@derived/ebsd/grid_type``...; the keys agreed with
    the pattern formats)."""
    return {
        "grid_type": orientation_map.grid_type,
        "step_x": orientation_map.step_x,
        "step_y": orientation_map.step_y,
        "n_rows": orientation_map.shape[0],
        "n_columns": orientation_map.shape[1],
        "n_points": orientation_map.size,
        "coordinate_units": orientation_map.coordinate_units,
    }


def pattern_signal(
    path: Path,
    flavour: str,
    patterns: Any,
    orientation_map: OrientationMap,
    metadata: dict[str, Any],
    facts: dict[str, Any],
    context: str,
) -> Signal:
    """Kikuchi patterns (lazy) as an EBSD signal: (rows, cols, height, width) on a square grid,
    (points, height, width) otherwise (coordinates in ``ebsd/x``, ``ebsd/y``)."""
    height, width = (int(n) for n in patterns.shape[-2:])
    derived = {"ebsd": {**scan_facts(orientation_map), **facts}}
    rows, cols = orientation_map.shape
    if orientation_map.is_square and patterns.shape[0] == rows * cols:
        data = patterns.reshape(rows, cols, height, width)
        scan = [
            scan_axis("y", rows, orientation_map.step_y, float(np.min(orientation_map.y)), orientation_map),
            scan_axis("x", cols, orientation_map.step_x, float(np.min(orientation_map.x)), orientation_map),
        ]
    else:
        data = patterns
        scan = [Axis("scan point", np.arange(patterns.shape[0], dtype=np.float64), "", AxisKind.INDEX)]
        derived["ebsd"] |= {"x": orientation_map.x.tolist(), "y": orientation_map.y.tolist()}
    return kikuchi_signal(path, flavour, data, scan, metadata, derived, "Kikuchi patterns", context)


def kikuchipy_patterns(path: Path, plugin: str, scan: str, **options: Any) -> Any:
    """One scan's patterns as kikuchipy's ``<plugin>`` reader returns them, lazily, as a
    (points, height, width) dask array."""
    import importlib

    reader = importlib.import_module(f"kikuchipy.io.plugins.{plugin}").file_reader
    try:
        (scan_dict,) = reader(str(path), scan_group_names=scan, lazy=True, **options)
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise ConversionError(path, f"holds Kikuchi patterns kikuchipy cannot read: {exc}") from exc
    data = scan_dict["data"]
    return data.reshape(-1, *data.shape[-2:])


def lazy_dataset(dataset: Any) -> Any:
    """An HDF5 dataset as a dask array in blocks of whole patterns (the file stays open)."""
    import dask.array as da

    from ...chunking import frame_chunks

    chunks = frame_chunks(tuple(dataset.shape), dataset.dtype.itemsize)
    return da.from_array(dataset, chunks=chunks)
