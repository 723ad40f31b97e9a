"""EBSD orientation maps: EDAX .ang and h5ebsd, Oxford .ctf and .h5oina, Bruker h5ebsd.

Real files: ``ebsd/`` of the shared data. No real .h5oina or Bruker h5ebsd file exists there:
those are written here by our own code from the published layouts (Oxford's H5OINAFile.md; the
Bruker layout as orix's and kikuchipy's tests write it), so they test our reading of the
layout, not a vendor's quirks. Values are compared with orix reading the same file.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import assert_clean_nxem, em_file, resolve_default, scalar

pytest.importorskip("orix")

from pynxtools_em_plugin.errors import ConversionError
from pynxtools_em_plugin.formats import detect

EDAX_LACKS = (
    r"measurement/event\d+/instrument/stage/position",
    r"measurement/event\d+/instrument/ebeam_column",
    r"measurement/event\d+/image1/process/detector_identifier",
    r"roi\d+/ebsd/indexing/phase\d+/unit_cell/space_group",  # EDAX writes a point group code, no space group
)
INDEXING = "entry1/roi1/ebsd/indexing"


def _read(path: Path):
    fmt = detect(path)
    assert fmt.NAME == "ebsd"
    return fmt.read(path, [])


# ---- EDAX .ang -----------------------------------------------------------------------------
def test_ang_square_grid_matches_orix(convert):
    from orix import io

    path = em_file("ebsd/ang/DC06_2uniax.ang")
    (signal,) = _read(path)
    om = signal.orientation_map
    assert om.shape == (101, 51) and (om.step_x, om.step_y) == (1.0, 1.0) and om.coordinate_units == "µm"
    assert signal.shape == (101, 51) and signal.axes[1].units == "µm" and signal.signal_type == "EBSD"
    (phase,) = om.phases
    assert (phase.name, phase.point_group, phase.laue_group) == ("Iron (Alpha)", "432", "m-3m")
    assert phase.lattice_lengths == (2.87, 2.87, 2.87) and phase.lattice_angles == (90.0, 90.0, 90.0)
    xmap = io.load(str(path))
    np.testing.assert_allclose(om.euler[[0, 1, 2600]], xmap.rotations.to_euler()[[0, 1, 2600]])
    np.testing.assert_allclose(om.euler[0], [6.25471, 1.10015, 3.56849], atol=1e-6)  # row 1 as written (rad)
    assert set(om.quality) >= {"IQ", "CI", "Fit"}
    assert signal.derived["ebsd"]["pattern_centre"] == [0.521621, 0.845559, 0.690009]
    assert signal.derived["ebsd"]["grid_type"] == "square" and signal.derived["ebsd"]["step_x"] == 1.0

    result = convert(path)
    assert_clean_nxem(result, also_lacking=EDAX_LACKS)
    with result.h5() as h5:
        default = resolve_default(h5)
        assert default.name == f"/{INDEXING}/phase1/ipf1/map"
        rgb = default["data"]
        assert rgb.shape == (101, 51, 3) and rgb.dtype == np.uint8 and rgb.attrs["interpretation"] == "rgb-image"
        np.testing.assert_array_equal(rgb[0, :3], _orix_ipf_z(xmap)[:3])  # the first points, coloured by orix
        assert scalar(h5, "entry1/measurement/event1/instrument/optics/working_distance") == (14.0, "mm")
        assert scalar(h5, f"{INDEXING}/phase1/name")[0] == "Iron (Alpha)"
        assert scalar(h5, f"{INDEXING}/phase1/unit_cell/a") == (2.87, "angstrom")
        assert scalar(h5, f"{INDEXING}/phase1/unit_cell/gamma") == (90.0, "°")
        euler = h5[f"{INDEXING}/rotation/orientation_euler"]
        assert euler.shape == (5151, 3) and euler.attrs["units"] == "rad"
        assert h5[f"{INDEXING}/scan_point_positions"].attrs["units"] == "µm"
        assert scalar(h5, f"{INDEXING}/pixel_shape")[0] == "square"
        assert scalar(h5, "entry1/measurement/event1/type")[0] == "EBSD"
        assert scalar(h5, "entry1/measurement/event1/instrument/detector/type")[0] == "EBSD camera"
        assert scalar(h5, "entry1/roi1/ebsd/pattern_center/y_boundary_convention")[0] == "bottom"
        note = scalar(h5, "entry1/roi1/ebsd/pattern_center/vendor_values/description")[0]
        assert note.startswith("EDAX/TSL pattern centre (0.521621, 0.845559, 0.690009)")
        phase_map = h5["entry1/measurement/event1/image_phase_map/image_2d/real"]
        assert phase_map.shape == (101, 51) and set(np.unique(phase_map[()])) <= {0, 1}


def _orix_ipf_z(xmap) -> np.ndarray:
    """orix's own IPF-Z colours (TSL key) of a crystal map's points, as uint8."""
    from orix.plot import IPFColorKeyTSL
    from orix.vector import Vector3d

    key = IPFColorKeyTSL(xmap.phases[0].point_group, direction=Vector3d.zvector())
    return np.rint(key.orientation2color(xmap.orientations) * 255).astype(np.uint8)


def test_ipf_colour_of_known_orientations():
    """Cube orientation: [001] || Z is red; a 45° rotation about X puts [011] || Z: green (TSL key)."""
    from orix.crystal_map import Phase

    from pynxtools_em_plugin.nexus.ebsd import _colour_key, ipf_colours

    symmetry = Phase(point_group="m-3m").point_group
    euler = np.array([[0.0, 0.0, 0.0], [0.0, np.pi / 4, 0.0]])
    colours = ipf_colours(euler, symmetry, _colour_key(symmetry))
    np.testing.assert_array_equal(colours[0], [255, 0, 0])
    assert colours[1][1] == 255 and colours[1][0] < 10 and colours[1][2] < 10


def test_ang_header_grid_not_matching_rows_follows_coordinates(convert):
    path = em_file("ebsd/ang/S00.ANG")
    (signal,) = _read(path)
    om = signal.orientation_map
    assert om.shape == (40, 35) and (om.step_x, om.step_y) == (0.4, 0.4)
    assert any("does not match the x, y columns" in w and "160 x 140" in w for w in signal.warnings)
    assert om.phases[0].name == "Iron bcc (old)"
    result = convert(path)
    assert any("does not match the x, y columns" in w for w in result.conversion_warnings)
    with result.h5() as h5:
        assert h5[f"{INDEXING}/phase1/ipf1/map/data"].shape == (40, 35, 3)
        np.testing.assert_allclose(h5[f"{INDEXING}/phase1/ipf1/map/axis_x"][:3], [0.0, 0.4, 0.8])


def _hexagonal_ang(source: Path, target: Path) -> Path:
    """A hexagonal-grid .ang made from the real file's header and first rows (3 rows of 4/3 points)."""
    header = [line for line in source.read_text().splitlines() if line.startswith("#")]
    header = [
        "# GRID: HexGrid" if line.startswith("# GRID") else line
        for line in header
        if not line.startswith(("# NCOLS", "# NROWS"))
    ]
    header += ["# NCOLS_ODD: 4", "# NCOLS_EVEN: 3", "# NROWS: 3"]
    rows = [line for line in source.read_text().splitlines() if not line.startswith("#")][:11]
    step, points = 1.0, []
    for row in range(3):
        for col in range(4 if row % 2 == 0 else 3):
            points.append((col * step + (step / 2 if row % 2 else 0.0), row * step * np.sqrt(3) / 2))
    lines = []
    for text, (x, y) in zip(rows, points, strict=True):
        values = text.split()
        values[3], values[4] = f"{x:.5f}", f"{y:.5f}"
        lines.append(" ".join(values))
    target.write_text("\n".join([*header, *lines]) + "\n")
    return target


def test_ang_hexagonal_grid_kept_as_points(tmp_path, convert):
    path = _hexagonal_ang(em_file("ebsd/ang/DC06_2uniax.ang"), tmp_path / "hex.ang")
    (signal,) = _read(path)
    om = signal.orientation_map
    assert om.grid_type == "hexagonal" and om.size == 11 and om.shape == (3, 4)
    assert signal.shape == (11,)  # a point list, never squashed into a square image
    result = convert(path)
    assert_clean_nxem(result, also_lacking=EDAX_LACKS)
    with result.h5() as h5:
        assert scalar(h5, f"{INDEXING}/pixel_shape")[0] == "hexagon"
        np.testing.assert_allclose(h5[f"{INDEXING}/scan_point_positions"][4], [0.5, np.sqrt(3) / 2], atol=1e-5)
        assert "hexagonal grid shown on the nearest square grid" in scalar(h5, f"{INDEXING}/phase1/ipf1/map/title")[0]


# ---- Oxford .ctf ---------------------------------------------------------------------------
def test_ctf_matches_orix(convert):
    from orix import io

    path = em_file("ebsd/ctf/twins.ctf")
    (signal,) = _read(path)
    om = signal.orientation_map
    assert om.shape == (137, 167) and (om.step_x, om.step_y) == (0.3, 0.3)
    (phase,) = om.phases
    assert (phase.name, phase.space_group, phase.laue_group) == ("Magnesium", 194, "6/mmm")
    assert phase.lattice_lengths == (3.2089, 3.2089, 5.2101) and phase.lattice_angles == (90.0, 90.0, 120.0)
    np.testing.assert_allclose(om.euler[0], np.deg2rad([99.591, 20.385, 37.253]), atol=1e-6)
    np.testing.assert_allclose(om.euler[:50], io.load(str(path)).rotations.to_euler()[:50])
    assert set(om.quality) == {"Bands", "Error", "MAD", "BC", "BS"}
    result = convert(path)
    assert_clean_nxem(result, also_lacking=EDAX_LACKS[:3])
    with result.h5() as h5:
        event = "entry1/measurement/event1/instrument"
        assert scalar(h5, f"{event}/ebeam_column/electron_source/voltage") == (20.0, "kV")
        assert scalar(h5, f"{event}/stage/tilt1") == (70.0, "°")
        assert scalar(h5, f"{event}/optics/magnification")[0] == 400
        assert scalar(h5, f"{INDEXING}/phase1/unit_cell/space_group")[0] == "P63/mmc (No. 194)"
        assert scalar(h5, f"{INDEXING}/roi/descriptor")[0] == "band_contrast"
        assert h5[f"{INDEXING}/quality/MAD"].attrs["units"] == "°" and h5[f"{INDEXING}/quality/BC"].attrs["units"] == ""
        assert h5[f"{INDEXING}/quality/MAD"].attrs["long_name"] == "MAD"
        assert 0.9 < scalar(h5, f"{INDEXING}/indexing_rate")[0] < 1.0


# ---- EDAX h5ebsd with patterns -------------------------------------------------------------
def test_edax_h5ebsd_map_and_patterns(convert):
    path = em_file("ebsd/edax_h5ebsd/patterns.h5")
    orientation, patterns = _read(path)
    om = orientation.orientation_map
    assert om.shape == (3, 3) and (om.step_x, om.step_y) == (1.5, 1.5)
    assert om.phases[0].name == "Nickel" and om.phases[0].laue_group == "m-3m"
    assert patterns.shape == (3, 3, 60, 60) and patterns.quantity == "Intensity (counts)"
    assert not isinstance(patterns.data, np.ndarray)  # lazy
    np.testing.assert_allclose(om.x[:4], [0.0, 1.5, 3.0, 0.0])  # the file's Y Position repeats X: kept as written
    result = convert(path)
    assert_clean_nxem(result, also_lacking=EDAX_LACKS)
    with result.h5() as h5:
        assert h5["entry1/measurement/event2/image1/image_4d/real"].shape == (3, 3, 60, 60)
        assert scalar(h5, "entry1/measurement/event2/type")[0] == "EBSD"
        assert scalar(h5, "entry1/measurement/event1/instrument/optics/working_distance") == (
            pytest.approx(24.7, abs=1e-5),
            "mm",
        )
        assert scalar(h5, "entry1/measurement/event1/instrument/optics/magnification")[0] == 200
        ipf = h5[f"{INDEXING}/phase1/ipf1/map/data"][()]
        assert ipf.shape == (3, 3, 3) and ipf[0, 0].any() and (ipf.reshape(9, 3) == ipf[0, 0]).all()  # all (pi, pi, pi)


# ---- Oxford h5oina and Bruker h5ebsd, written here from the published layouts ------------------
def write_h5oina(path: Path, with_patterns: bool = True) -> Path:
    """A 2 x 3 map of one phase (nickel, Fm-3m) in the h5oina layout (H5OINAFile.md)."""
    ny, nx, step = 2, 3, 0.5
    rows, cols = np.indices((ny, nx))
    with h5py.File(path, "w") as h5:
        h5["Manufacturer"] = "Oxford Instruments"
        h5["Format Version"] = "5.0"
        header, data = h5.create_group("1/EBSD/Header"), h5.create_group("1/EBSD/Data")
        for name, value in {"X Cells": nx, "Y Cells": ny, "Pattern Height": 4, "Pattern Width": 5}.items():
            header[name] = np.int32(value)
        for name, value in {"X Step": step, "Y Step": step, "Beam Voltage": 15.0, "Magnification": 500.0,
                            "Working Distance": 12.5, "Tilt Angle": np.deg2rad(70.0)}.items():  # fmt: skip
            header[name] = np.float32(value)
        phase = header.create_group("Phases/1")
        phase["Phase Name"] = "Nickel"
        phase["Space Group"] = np.int32(225)
        phase["Lattice Dimensions"] = np.float32([3.524, 3.524, 3.524])
        phase["Lattice Angles"] = np.float32(np.deg2rad([90.0, 90.0, 90.0]))
        euler = np.zeros((ny * nx, 3), np.float32)
        euler[1] = [0.0, np.pi / 4, 0.0]
        data["Euler"] = euler
        data["Phase"] = np.uint8([1, 1, 1, 1, 1, 0])
        data["X"] = np.float32(cols.ravel() * step)
        data["Y"] = np.float32(rows.ravel() * step)
        data["Band Contrast"] = np.uint8([100, 120, 140, 160, 180, 0])
        data["Mean Angular Deviation"] = np.float32([0.01] * 5 + [0.0])
        if with_patterns:
            data["Processed Patterns"] = np.arange(ny * nx * 20, dtype=np.uint8).reshape(ny * nx, 4, 5)
    return path


def test_h5oina_written_from_the_published_layout(tmp_path, convert):
    path = write_h5oina(tmp_path / "map.h5oina")
    orientation, patterns = _read(path)
    om = orientation.orientation_map
    assert om.shape == (2, 3) and om.step_x == 0.5 and om.phase_id.tolist() == [1, 1, 1, 1, 1, 0]
    assert (om.phases[0].space_group, om.phases[0].lattice_angles) == (225, (90.0, 90.0, 90.0))
    assert patterns.shape == (2, 3, 4, 5)
    result = convert(path)
    assert_clean_nxem(result, also_lacking=EDAX_LACKS[:3])
    with result.h5() as h5:
        rgb = h5[f"{INDEXING}/phase1/ipf1/map/data"]
        assert rgb[0, 0].tolist() == [255, 0, 0] and rgb[0, 1].tolist()[1] == 255  # [001] red, [011] green
        assert rgb[1, 2].tolist() == [0, 0, 0]  # not indexed: black
        assert scalar(h5, "entry1/measurement/event1/instrument/stage/tilt1")[0] == pytest.approx(70.0, abs=1e-4)
        assert scalar(h5, "entry1/measurement/event1/instrument/ebeam_column/electron_source/voltage") == (15.0, "kV")
        assert scalar(h5, f"{INDEXING}/phase1/unit_cell/space_group")[0] == "Fm-3m (No. 225)"
        assert h5["entry1/measurement/event2/image1/image_4d/real"].shape == (2, 3, 4, 5)


def write_bruker_h5ebsd(path: Path) -> Path:
    """A 2 x 2 map of one phase in Bruker's h5ebsd layout (as orix's and kikuchipy's tests write it)."""
    ny, nx, step = 2, 2, 1.0
    rows, cols = (a.ravel() for a in np.indices((ny, nx)))
    with h5py.File(path, "w") as h5:
        h5["Manufacturer"] = b"Bruker Nano"
        h5["Version"] = b"Esprit 2.X"
        header, data, sem = (h5.create_group(f"Scan 0/EBSD/{name}") for name in ("Header", "Data", "SEM"))
        header["NROWS"], header["NCOLS"] = np.int32(ny), np.int32(nx)
        header["XSTEP"], header["YSTEP"] = step, step
        header["Grid Type"] = b"isometric"
        header["KV"], header["WD"], header["SampleTilt"], header["Magnification"] = 20.0, 15.0, 70.0, 1000.0
        header["PatternHeight"], header["PatternWidth"] = np.int32(4), np.int32(4)
        phase = header.create_group("Phases/1")
        phase["Name"], phase["Formula"], phase["IT"] = b"Aluminium", b"Al", 225
        phase["LatticeConstants"] = np.array([4.05, 4.05, 4.05, 90.0, 90.0, 90.0])
        phase["Setting"], phase["SpaceGroup"] = 1, b"F m#ovl3m"
        phase.create_group("AtomPositions")["1"] = b"Al,0,0,0,1,0"
        sem["IY"], sem["IX"] = rows, cols
        for name, value in {
            "DD": 0.6,
            "PCX": 0.5,
            "PCY": 0.4,
            "MAD": 0.5,
            "RadonQuality": 0.8,
            "Z SAMPLE": 0.0,
        }.items():
            data[name] = np.full(ny * nx, value, np.float32)
        for name in ("MADPhase", "NIndexedBands", "RadonBandCount"):
            data[name] = np.full(ny * nx, 8, np.int32)
        data["Y BEAM"], data["X BEAM"] = rows, cols
        data["Y SAMPLE"], data["X SAMPLE"] = rows * step, (cols * step)[::-1]  # Bruker writes x reversed
        data["Phase"] = np.int32([1, 1, 1, 0])
        data["phi1"], data["PHI"], data["phi2"] = np.float32([0, 0, 30, 0]), np.float32([0, 45, 0, 0]), np.zeros(4)
    return path


def test_bruker_h5ebsd_written_from_the_published_layout(tmp_path, convert):
    from orix import io

    path = write_bruker_h5ebsd(tmp_path / "bruker.h5")
    (signal,) = _read(path)
    om = signal.orientation_map
    assert om.shape == (2, 2) and om.phase_id.tolist().count(0) == 1
    assert om.phases[0].space_group == 225
    assert signal.derived["ebsd"]["pattern_centre"] == pytest.approx([0.5, 0.4, 0.6])  # Bruker's mean PCX, PCY, DD
    np.testing.assert_allclose(om.euler, io.load(str(path)).rotations.to_euler())
    result = convert(path)
    assert_clean_nxem(result, also_lacking=EDAX_LACKS[:3])
    with result.h5() as h5:
        assert scalar(h5, "entry1/measurement/event1/instrument/optics/working_distance") == (15.0, "mm")
        assert scalar(h5, "entry1/roi1/ebsd/pattern_center/y_boundary_convention")[0] == "top"


# ---- bad input -----------------------------------------------------------------------------
def test_truncated_ang_is_refused(tmp_path):
    data = em_file("ebsd/ang/S00.ANG").read_bytes()
    path = tmp_path / "cut.ang"
    path.write_bytes(data[: len(data) - 30])  # cut inside the last row
    with pytest.raises(ConversionError, match=r"cut\.ang: .*truncated"):
        _read(path)


def test_ctf_with_missing_column_is_refused(tmp_path):
    lines = em_file("ebsd/ctf/twins.ctf").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Phase\tX"))
    cut = [*lines[: start + 1], *("\t".join(line.split("\t")[:-1]) for line in lines[start + 1 : start + 50])]
    path = tmp_path / "nobs.ctf"
    path.write_text("\n".join(cut) + "\n")
    with pytest.raises(ConversionError, match=r"nobs\.ctf: has rows of 10 values under a header naming 11 columns"):
        _read(path)


def test_damaged_h5oina_is_refused(tmp_path):
    path = write_h5oina(tmp_path / "cut.h5oina", with_patterns=False)
    with h5py.File(path, "r+") as h5:
        del h5["1/EBSD/Data/X"]
    with pytest.raises(ConversionError, match=r"cut\.h5oina: has no '/1/EBSD/Data/X' dataset"):
        _read(path)


def test_truncated_hdf5_leaves_no_output(tmp_path):
    from pynxtools_em_plugin.conversion import convert as convert_to

    source = tmp_path / "patterns.h5"
    shutil.copyfile(em_file("ebsd/edax_h5ebsd/patterns.h5"), source)
    source.write_bytes(source.read_bytes()[:300_000])
    output = tmp_path / "out.nxs"
    outcome = convert_to([source], output)
    assert "patterns.h5" in outcome.message and "\n" not in outcome.message
    assert outcome.message != str(output) and not output.exists()


def test_edax_patterns_streamed_equal_to_kikuchipy(tmp_path, monkeypatch):
    """The Kikuchi patterns are written block by block from kikuchipy's lazy reading (the streaming
    writer, as for every 4D format), equal to kikuchipy's eager reading."""
    from kikuchipy.io.plugins.edax_h5ebsd import file_reader

    from pynxtools_em_plugin import chunking
    from pynxtools_em_plugin.conversion import convert as convert_to
    from pynxtools_em_plugin.nexus import streaming

    monkeypatch.setattr(streaming, "STREAM_MIN_BYTES", 0)
    monkeypatch.setattr(chunking, "BLOCK_BYTES", 3 * 60 * 60)  # one scan row per block
    source = em_file("ebsd/edax_h5ebsd/patterns.h5")
    output = tmp_path / "streamed.nxs"
    outcome = convert_to([source], output)
    assert outcome.status == "converted", outcome.message
    (eager,) = file_reader(str(source))
    with h5py.File(output, "r") as h5:
        written = h5["entry1/measurement/event2/image1/image_4d/real"]
        assert written.compression == "gzip" and written.chunks[-2:] == (60, 60)
        np.testing.assert_array_equal(written[()], eager["data"])
