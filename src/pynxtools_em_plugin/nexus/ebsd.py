"""EBSD orientation maps in NXem: indexing results, phases, IPF and phase maps (NXem_ebsd).

Where (NXem 2025, ``NXem_ebsd`` base class)::

    /ENTRY[entry1]/roiID[roiN]/ebsd/                   N = the event number of the map
        indexing/source                                the vendor file (name, checksum)
        indexing/number_of_scan_points, indexing_rate, pixel_shape (square | hexagon)
        indexing/phase_id, scan_point_positions (µm)   per point, in scan order
        indexing/rotation/orientation_euler (rad)      Bunge phi1, Phi, phi2 per point
        indexing/phaseIDK[phaseK]/name, number_of_scan_points, unit_cell/a, b, c, alpha...,
                                   space_group, point_group, laue_group
        indexing/phaseK/ipfID[ipf1]/map                IPF-Z colours (rgb-image), not indexed black
        indexing/phaseK/ipf1/legend                    the colour key (stereographic projection)
        (measurement/eventN/imageID[image_phase_map]/image_2d  phase id on the map grid, 0 = not indexed)
        indexing/roi                                   the vendor quality measure (CI, BC or MAD)
        pattern_center                                 the convention the vendor's values follow

The IPF colours are orix's ``IPFColorKeyTSL`` (the colour key of EDAX TSL OIM: red [001],
green [101], blue [111] for cubic crystals) of the sample's Z direction, computed in blocks of
:data:`BLOCK_POINTS` points so that memory stays bounded whatever the map size. The maps of a
square grid are the grid itself; a hexagonal grid's points are placed on the nearest square
grid for display only (its odd rows' half-step offset dropped, said in the map's title); the
per-point arrays keep every point with its true coordinates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..model import BUNGE_CONVENTION, CrystalPhase, OrientationMap

#: Points coloured at once (orix expands each orientation by the crystal's symmetry operations).
BLOCK_POINTS = 32_768
#: Side of the colour-key image, in pixels.
LEGEND_SIZE = 129
NOT_INDEXED_RGB = (0, 0, 0)
#: NXem's name of the colour model (orix's IPFColorKeyTSL is the TSL key), and what it is.
COLOUR_KEY = "tsl"
COLOUR_KEY_TEXT = "IPF-Z colours by orix's IPFColorKeyTSL (EDAX TSL colour key) of the sample direction Z = [0, 0, 1]"
#: Quality measures NXem's ``roi`` descriptor names, by vendor name.
ROI_DESCRIPTORS = {
    "CI": "confidence_index", "ci": "confidence_index", "BC": "band_contrast",
    "Band Contrast": "band_contrast", "MAD": "mean_angular_deviation",
    "Mean Angular Deviation": "mean_angular_deviation",
}  # fmt: skip
#: Where each vendor measures the pattern centre from (x boundary, x direction, y boundary, y direction).
#: (kikuchipy's EBSDDetector documents the three and converts between them.)
PATTERN_CENTRE_CONVENTIONS = {
    "EDAX/TSL": ("left", "east", "bottom", "north"),
    "Oxford": ("left", "east", "bottom", "north"),
    "Bruker": ("left", "east", "top", "south"),
}
#: What the vendor's three pattern-centre numbers are (all dimensionless fractions).
PATTERN_CENTRE_UNITS = {
    "EDAX/TSL": "x*, z* in fractions of the pattern width, y* of its height",
    "Oxford": "PCx, PCy and the detector distance in fractions of the pattern width",
    "Bruker": "PCx in fractions of the pattern width, PCy and DD of its height",
}


@dataclass(frozen=True)
class EbsdMaps:
    """What is written for one orientation map, computed before writing."""

    orientation_map: OrientationMap
    rows: np.ndarray  # per point: its row in the display grid
    columns: np.ndarray
    axis_y: np.ndarray
    axis_x: np.ndarray
    ipf: dict[int, np.ndarray] = field(default_factory=dict)  # phase id -> (ny, nx, 3) uint8
    legends: dict[int, np.ndarray] = field(default_factory=dict)  # phase id -> (n, n, 3) uint8
    space_groups: dict[int, str] = field(default_factory=dict)  # phase id -> Hermann-Mauguin symbol

    @property
    def shape(self) -> tuple[int, int]:
        return self.axis_y.size, self.axis_x.size

    def image(self, values: np.ndarray, fill: Any) -> np.ndarray:
        """Per-point values on the display grid (``fill`` where there is no point)."""
        image = np.full((*self.shape, *values.shape[1:]), fill, dtype=values.dtype)
        image[self.rows, self.columns] = values
        return image


def ebsd_maps(orientation_map: OrientationMap) -> EbsdMaps:
    """Display grid, IPF-Z colours and colour keys of every phase."""
    om = orientation_map
    rows, columns = display_grid(om)
    ny, nx = (int(rows.max()) + 1, int(columns.max()) + 1) if om.size else (0, 0)
    x0, y0 = (float(om.x.min()), float(om.y.min())) if om.size else (0.0, 0.0)
    maps = EbsdMaps(om, rows, columns, y0 + om.step_y * np.arange(ny), x0 + om.step_x * np.arange(nx))
    for phase in om.phases:
        symmetry = _symmetry(phase)
        if symmetry is None:
            continue
        key = _colour_key(symmetry)
        colours = np.zeros((om.size, 3), dtype=np.uint8)
        selected = np.flatnonzero(om.phase_id == phase.id)
        colours[selected] = ipf_colours(om.euler[selected], symmetry, key)
        maps.ipf[phase.id] = maps.image(colours, 0)
        maps.legends[phase.id] = legend(key)
        if phase.space_group:
            maps.space_groups[phase.id] = _space_group_symbol(phase.space_group)
    return maps


def display_grid(om: OrientationMap) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of every point on the display grid: a complete square grid in scan order
    (as the vendor stored it, whatever its coordinate columns say), anything else (hexagonal
    grids, interrupted scans) from the coordinates, on the nearest square grid."""
    rows, cols = om.shape
    if om.is_square and om.size == rows * cols:
        index = np.arange(om.size, dtype=np.int32)
        return index // cols, index % cols
    if not om.size:
        return np.zeros(0, np.int32), np.zeros(0, np.int32)
    step_x, step_y = om.step_x or 1.0, om.step_y or 1.0
    return (
        np.rint((om.y - om.y.min()) / step_y).astype(np.int32),
        np.rint((om.x - om.x.min()) / step_x).astype(np.int32),
    )


def _symmetry(phase: CrystalPhase) -> Any:
    from orix.crystal_map import Phase

    try:
        return Phase(point_group=phase.point_group or None, space_group=phase.space_group).point_group
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def _colour_key(symmetry: Any) -> Any:
    from orix.plot import IPFColorKeyTSL
    from orix.vector import Vector3d

    return IPFColorKeyTSL(symmetry, direction=Vector3d.zvector())


def ipf_colours(euler: np.ndarray, symmetry: Any, key: Any) -> np.ndarray:
    """IPF colours (uint8 RGB) of Bunge Euler angles, in blocks of :data:`BLOCK_POINTS`."""
    from orix.quaternion import Orientation

    colours = np.zeros((euler.shape[0], 3), dtype=np.uint8)
    for start in range(0, euler.shape[0], BLOCK_POINTS):
        block = Orientation.from_euler(euler[start : start + BLOCK_POINTS], symmetry=symmetry)
        rgb = np.asarray(key.orientation2color(block)).reshape(-1, 3)
        colours[start : start + BLOCK_POINTS] = np.clip(np.rint(rgb * 255), 0, 255).astype(np.uint8)
    return colours


def legend(key: Any) -> np.ndarray:
    """The colour of every crystal direction of the upper hemisphere, in stereographic projection
    (x, y in [-1, 1]; white outside the unit circle)."""
    from orix.vector import Vector3d

    coordinates = np.linspace(-1.0, 1.0, LEGEND_SIZE)
    x, y = np.meshgrid(coordinates, coordinates)
    r2 = x**2 + y**2
    inside = r2 <= 1.0
    vectors = np.column_stack([2 * x[inside], 2 * y[inside], 1 - r2[inside]]) / (1 + r2[inside])[:, None]
    image = np.full((LEGEND_SIZE, LEGEND_SIZE, 3), 255, dtype=np.uint8)
    rgb = np.asarray(key.direction_color_key.direction2color(Vector3d(vectors))).reshape(-1, 3)
    image[inside] = np.clip(np.rint(rgb * 255), 0, 255).astype(np.uint8)
    return image


def _space_group_symbol(number: int) -> str:
    from diffpy.structure.spacegroups import GetSpaceGroup

    try:
        return str(GetSpaceGroup(number).short_name)
    except (ValueError, KeyError):
        return str(number)


# ---- writing ----------------------------------------------------------------------------------
Setter = Callable[..., None]


def write_ebsd(
    set_value: Setter, base: str, phase_map: str, maps: EbsdMaps, derived: dict[str, Any], source: dict[str, str]
) -> bool:
    """Write the NXem_ebsd group at ``base`` (``.../roiID[roiN]/ebsd``) and the phase map as the
    NXimage ``image_phase_map`` (the event's ``imageID[image_phase_map]``: NXem has no phase-map place in
    ``indexing``); whether an IPF map was written (the default plot, of the phase with the most points)."""
    om = maps.orientation_map
    indexing = f"{base}/indexing"
    for name, value in source.items():
        set_value(f"{indexing}/source/{name}", value)
    set_value(f"{indexing}/number_of_scan_points", np.uint64(om.size), "")
    indexed = int(np.count_nonzero(om.phase_id > 0))
    set_value(f"{indexing}/indexing_rate", np.float64(indexed / om.size if om.size else 0.0), "")
    set_value(f"{indexing}/pixel_shape", "square" if om.is_square else "hexagon")
    set_value(f"{indexing}/phase_id", om.phase_id.astype(np.int32), "")
    positions = np.column_stack([om.x, om.y]).astype(np.float64)
    set_value(f"{indexing}/scan_point_positions", positions, om.coordinate_units)
    set_value(f"{indexing}/rotation/orientation_euler", om.euler, "rad")
    euler_note = (
        f"rotation/orientation_euler: {BUNGE_CONVENTION}; as the vendor software wrote them, in its own "
        "sample and crystal reference frames (not converted between vendors)"
    )
    set_value(f"{indexing}/NOTE[euler_convention]/description", euler_note)
    set_value(f"{indexing}/NOTE[ipf_colour_key]/description", COLOUR_KEY_TEXT)
    _write_quality(set_value, indexing, maps)
    _write_phase_map(set_value, phase_map, maps)
    for phase in om.phases:
        _write_phase(set_value, f"{indexing}/phaseID[phase{phase.id}]", phase, maps)
    _write_pattern_centre(set_value, base, derived)
    counts = {p.id: int(np.count_nonzero(om.phase_id == p.id)) for p in om.phases if p.id in maps.ipf}
    best = max(counts, key=lambda k: counts[k]) if counts else None
    if best is None:
        return False
    set_value(f"{indexing}/@default", f"phase{best}")
    set_value(f"{base}/@default", "indexing")
    set_value(f"{base.rsplit('/', 1)[0]}/@default", "ebsd")
    return True


def _write_quality(set_value: Setter, indexing: str, maps: EbsdMaps) -> None:
    """Every vendor per-point measure under its vendor name, with its units; the first unitless one
    NXem names (CI, band contrast) also as the ``roi`` image."""
    om = maps.orientation_map
    for name, values in om.quality.items():
        units = om.quality_units.get(name, "")
        set_value(f"{indexing}/COLLECTION[quality]/{_field_name(name)}", np.asarray(values), units)
        set_value(f"{indexing}/COLLECTION[quality]/{_field_name(name)}/@long_name", name)
    for name, descriptor in ROI_DESCRIPTORS.items():
        if name in om.quality and not om.quality_units.get(name):  # NXem's roi is unitless: not an angle
            image = maps.image(np.asarray(om.quality[name], dtype=np.float32), np.nan)
            _write_image(set_value, f"{indexing}/roi", image, maps, f"{name} ({descriptor})", "data")
            set_value(f"{indexing}/roi/descriptor", descriptor)
            return


def _write_phase_map(set_value: Setter, image_group: str, maps: EbsdMaps) -> None:
    """Phase ids on the map grid as an NXem ``image_2d`` (axis_j: y, axis_i: x)."""
    om = maps.orientation_map
    names = ", ".join(f"{p.id} = {p.name}" for p in om.phases)
    group = f"{image_group}/image_2d"
    units = om.coordinate_units
    set_value(f"{group}/real", maps.image(om.phase_id.astype(np.int32), -1), "")
    set_value(f"{group}/real/@long_name", f"phase id (0 = not indexed, -1 = no scan point; {names})")
    set_value(f"{group}/title", "phase map")
    for name, values, label in (("axis_j", maps.axis_y, "y"), ("axis_i", maps.axis_x, "x")):
        set_value(f"{group}/{name}", values, units)
        set_value(f"{group}/{name}/@long_name", f"scan {label} ({units})")
    set_value(f"{group}/@signal", "real")
    set_value(f"{group}/@axes", ["axis_j", "axis_i"])
    set_value(f"{group}/@AXISNAME_indices[axis_j_indices]", np.uint32(0))
    set_value(f"{group}/@AXISNAME_indices[axis_i_indices]", np.uint32(1))
    set_value(f"{image_group}/@default", "image_2d")


def _write_phase(set_value: Setter, group: str, phase: CrystalPhase, maps: EbsdMaps) -> None:
    om = maps.orientation_map
    set_value(f"{group}/name", phase.name)
    set_value(f"{group}/phase_id", np.int32(phase.id), "")
    set_value(f"{group}/number_of_scan_points", np.uint64(np.count_nonzero(om.phase_id == phase.id)), "")
    cell = f"{group}/unit_cell"
    if phase.lattice_lengths:
        for name, value in zip("abc", phase.lattice_lengths, strict=True):
            set_value(f"{cell}/{name}", np.float64(value), phase.length_units)
    if phase.lattice_angles:
        for name, value in zip(("alpha", "beta", "gamma"), phase.lattice_angles, strict=True):
            set_value(f"{cell}/{name}", np.float64(value), "°")
    if phase.space_group:
        symbol = maps.space_groups.get(phase.id, "")
        set_value(f"{cell}/space_group", f"{symbol} (No. {phase.space_group})" if symbol else str(phase.space_group))
    if phase.point_group:
        set_value(f"{cell}/point_group", phase.point_group)
    if phase.laue_group:
        set_value(f"{cell}/laue_group", phase.laue_group)
    if phase.id in maps.ipf:
        _write_ipf(set_value, f"{group}/ipfID[ipf1]", phase, maps)


def _write_ipf(set_value: Setter, group: str, phase: CrystalPhase, maps: EbsdMaps) -> None:
    set_value(f"{group}/color_model", COLOUR_KEY)
    set_value(f"{group}/projection_direction", np.array([0.0, 0.0, 1.0]), "")
    resampled = "" if maps.orientation_map.is_square else " (hexagonal grid shown on the nearest square grid)"
    title = f"IPF-Z map of {phase.name}{resampled}; black: not indexed or another phase"
    _write_image(set_value, f"{group}/map", maps.ipf[phase.id], maps, title, "data", rgb=True)
    key = maps.legends[phase.id]
    legend_group = f"{group}/legend"
    coordinates = np.linspace(-1.0, 1.0, key.shape[0])
    set_value(f"{legend_group}/data", key, "")
    set_value(f"{legend_group}/data/@interpretation", "rgb-image")
    set_value(f"{legend_group}/data/@long_name", "IPF colour of each crystal direction")
    set_value(f"{legend_group}/title", f"IPF colour key of {phase.name} ({phase.laue_group}), stereographic projection")
    for name in ("axis_y", "axis_x"):
        set_value(f"{legend_group}/{name}", coordinates, "")
        set_value(f"{legend_group}/{name}/@long_name", f"stereographic {name[-1]}")
    _axes_attributes(set_value, legend_group, "data")
    set_value(f"{group}/@default", "map")
    set_value(f"{group.rsplit('/', 1)[0]}/@default", "ipf1")


def _write_image(
    set_value: Setter,
    group: str,
    image: np.ndarray,
    maps: EbsdMaps,
    title: str,
    signal: str,
    rgb: bool = False,
    units: str = "",
) -> None:
    """``image`` (values in ``units``) on the map grid as an NXdata with x, y axes."""
    set_value(f"{group}/{signal}", image, units)
    units = maps.orientation_map.coordinate_units
    if rgb:
        set_value(f"{group}/{signal}/@interpretation", "rgb-image")
    set_value(f"{group}/{signal}/@long_name", title)
    set_value(f"{group}/title", title)
    set_value(f"{group}/axis_y", maps.axis_y, units)
    set_value(f"{group}/axis_y/@long_name", f"y ({units})")
    set_value(f"{group}/axis_x", maps.axis_x, units)
    set_value(f"{group}/axis_x/@long_name", f"x ({units})")
    _axes_attributes(set_value, group, signal, rgb=rgb)


def _axes_attributes(set_value: Setter, group: str, signal: str, rgb: bool = True) -> None:
    set_value(f"{group}/@signal", signal)
    set_value(f"{group}/@axes", ["axis_y", "axis_x", "."] if rgb else ["axis_y", "axis_x"])
    set_value(f"{group}/@AXISNAME_indices[axis_y_indices]", np.uint32(0))
    set_value(f"{group}/@AXISNAME_indices[axis_x_indices]", np.uint32(1))


def _write_pattern_centre(set_value: Setter, base: str, derived: dict[str, Any]) -> None:
    facts = derived.get("ebsd", {})
    convention = facts.get("pattern_centre_convention")
    if convention not in PATTERN_CENTRE_CONVENTIONS:
        return
    x_boundary, x_direction, y_boundary, y_direction = PATTERN_CENTRE_CONVENTIONS[convention]
    group = f"{base}/pattern_center"
    set_value(f"{group}/x_boundary_convention", x_boundary)
    set_value(f"{group}/x_normalization_direction", x_direction)
    set_value(f"{group}/y_boundary_convention", y_boundary)
    set_value(f"{group}/y_normalization_direction", y_direction)
    values = facts.get("pattern_centre")
    if values:
        numbers = ", ".join(f"{v:g}" for v in values)
        text = f"{convention} pattern centre ({numbers}): {PATTERN_CENTRE_UNITS[convention]}"
        set_value(f"{group}/NOTE[vendor_values]/description", text)


def _field_name(vendor_name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in vendor_name).strip("_") or "value"
