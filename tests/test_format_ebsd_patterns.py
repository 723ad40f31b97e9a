"""Kikuchi-pattern files (EBSD): Oxford ``.ebsp``, EDAX ``.up1``/``.up2``, NORDIF ``Pattern.dat`` +
``Setting.txt``, kikuchipy's h5ebsd and EMsoft's simulated patterns.

Expected values come from the files' bytes, read here independently of the readers (the
.ebsp offset table and footers, the UP header and pattern block), and from kikuchipy
reading the same file. The small ``.up1``/``.up2``, NORDIF, kikuchipy h5ebsd and EMsoft
files are written here following the layouts kikuchipy's plugins read.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from conftest import assert_clean_nxem, em_file, resolve_default, scalar
from pynxtools_em_plugin.errors import ConversionError, UnrecognisedFile
from pynxtools_em_plugin.formats import (
    Acquisition,
    detect,
    edax_up,
    emsoft_ebsd,
    kikuchipy_h5,
    nordif,
    oxford_ebsp,
    read_signals,
)
from pynxtools_em_plugin.model import AxisKind

EBSP = "ebsd/oxford_binary/patterns.ebsp"
UP2 = "ebsd/edax_binary/edax_binary.up2"
EVENT = "entry1/measurement/event1"
#: Pattern files record no dwell time; the grid type they give creates the scan controller.
NO_DWELL = (r"measurement/event\d+/instrument/ebeam_column/scan_controller/dwell_time",)
#: NORDIF's Setting.txt gives the sample tilt (so a stage) but no stage position.
NO_STAGE_POSITION = (r"measurement/event\d+/instrument/stage/position",)


def kikuchipy_reading(plugin: str, path: Path) -> list[dict]:
    """kikuchipy's own reading of a file (its plugin's notes, e.g. on a hexagonal grid, silenced)."""
    import importlib
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return importlib.import_module(f"kikuchipy.io.plugins.{plugin}").file_reader(str(path))


def _ebsp_patterns_by_footer(path: Path) -> dict[tuple[float, float], np.ndarray]:
    """Each pattern of a version-2 .ebsp keyed by its footer's beam (y, x), read from the bytes."""
    raw = path.read_bytes()
    assert struct.unpack_from("<q", raw)[0] == -2
    first = struct.unpack_from("<q", raw, 8)[0]
    starts = [s for s in np.frombuffer(raw[8:], "<i8", count=(min(first, 80) - 8) // 8)]
    found = {}
    for start in starts:
        _, rows, cols, n_bytes = struct.unpack_from("<4i", raw, start)
        pattern = np.frombuffer(raw, "u1", count=n_bytes, offset=start + 16).reshape(rows, cols)
        footer = start + 16 + n_bytes
        x, y = struct.unpack_from("<d", raw, footer + 1)[0], struct.unpack_from("<d", raw, footer + 10)[0]
        found[(y, x)] = pattern
    return found


# ---- Oxford .ebsp ----------------------------------------------------------------------------
def test_oxford_ebsp_square_grid_from_footers_in_scan_order():
    path = em_file(EBSP)
    assert detect(path) is oxford_ebsp
    (signal,) = oxford_ebsp.read(path, [])
    assert type(signal.data).__module__.startswith("dask")  # lazy
    assert signal.shape == (3, 3, 60, 60) and signal.data.dtype == np.uint8
    assert [a.name for a in signal.axes] == ["scan y", "scan x", "detector y", "detector x"]
    assert [a.kind for a in signal.axes] == [AxisKind.SPACE, AxisKind.SPACE, AxisKind.INDEX, AxisKind.INDEX]
    assert signal.axes[1].units == "µm" and np.allclose(signal.axes[1].values, [0, 1.5, 3.0])
    facts = signal.derived["ebsd"]
    assert facts["grid_type"] == "square" and (facts["step_x"], facts["step_y"]) == (1.5, 1.5)
    assert facts["units"]["step_x"] == "µm" and (facts["n_rows"], facts["n_columns"]) == (3, 3)
    # the offset table is rolled by one: the file's first pattern is scan point 1; order restored
    assert list(signal.metadata["file_order"]) == [8, 0, 1, 2, 3, 4, 5, 6, 7]
    data = np.asarray(signal.data)
    for (y, x), pattern in _ebsp_patterns_by_footer(path).items():
        np.testing.assert_array_equal(data[round(y / 1.5), round(x / 1.5)], pattern)


def test_oxford_ebsp_converts_validates_and_equals_kikuchipy(convert):
    from kikuchipy.io.plugins.oxford_binary import file_reader

    path = em_file(EBSP)
    result = convert(path)
    assert_clean_nxem(result, also_lacking=NO_DWELL)
    (expected,) = file_reader(str(path))
    with result.h5() as h5:
        cube = resolve_default(h5)
        assert cube.name == f"/{EVENT}/image1/image_4d"
        np.testing.assert_array_equal(cube["real"][()], expected["data"])
        assert cube["axis_k"].attrs["units"] == "µm" and np.allclose(cube["axis_k"][()], [0, 1.5, 3.0])
        assert cube["axis_k"].attrs["long_name"] == "scan x (µm)"
        assert scalar(h5, f"{EVENT}/type")[0] == "EBSD"
        assert scalar(h5, f"{EVENT}/instrument/ebeam_column/scan_controller/scan_schema")[0] == "square grid"
        raw = json.loads(h5[f"{EVENT}/vendor_metadata/original_metadata"][()])
        assert raw["beam_x"] == pytest.approx([0, 1.5, 3.0] * 3)
        derived = json.loads(h5[f"{EVENT}/derived_metadata/values"][()])
        assert derived["ebsd"]["step_y"] == 1.5 and derived["ebsd"]["units"]["step_y"] == "µm"


def test_oxford_ebsp_damaged_or_truncated_is_refused(tmp_path):
    raw = em_file(EBSP).read_bytes()
    cut = tmp_path / "cut.ebsp"
    cut.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ConversionError, match=r"cut\.ebsp: looks like Oxford.*damaged, or the file is truncated"):
        oxford_ebsp.read(cut, [])
    listed = struct.unpack_from("<q", raw, 8)[0]  # the first listed pattern (scan point 0)
    for start, recognised in ((listed, False), (80, True)):  # 80: the first pattern in the file
        damaged = bytearray(raw)
        damaged[start + 4 : start + 8] = struct.pack("<i", 100_000)  # its row count
        path = tmp_path / f"header{start}.ebsp"
        path.write_bytes(bytes(damaged))
        assert oxford_ebsp.sniff(path, bytes(damaged[:1024])) is recognised
        if recognised:
            with pytest.raises(ConversionError, match=rf"header{start}\.ebsp: looks like Oxford"):
                oxford_ebsp.read(path, [])


# ---- EDAX .up2 / .up1 --------------------------------------------------------------------------
def test_edax_up2_hexagonal_grid_is_a_point_list_with_positions():
    path = em_file(UP2)
    assert detect(path) is edax_up
    (signal,) = edax_up.read(path, [])
    assert signal.shape == (10, 60, 60) and signal.data.dtype == np.uint16  # every pattern the file holds
    assert [a.name for a in signal.axes] == ["scan point", "detector y", "detector x"]
    facts = signal.derived["ebsd"]
    assert facts["grid_type"] == "hexagonal" and facts["step_x"] == pytest.approx(np.pi)
    assert facts["units"]["x"] == "µm" and len(facts["x"]) == 10
    # EDAX hexagonal rows: 3 points, then 2 shifted by half a step, rows step_y apart
    assert facts["x"][:5] == pytest.approx([0, np.pi, 2 * np.pi, np.pi / 2, 3 * np.pi / 2])
    assert facts["y"][:5] == pytest.approx([0, 0, 0, np.pi / 2, np.pi / 2])
    assert any("holds 10 patterns, the 3-row hexagonal map 8" in w for w in signal.warnings)
    assert signal.metadata["up_header"]["hexagonal"] == 1
    raw = np.frombuffer(path.read_bytes()[42:], "<u2").reshape(10, 60, 60)
    np.testing.assert_array_equal(np.asarray(signal.data)[[0, 4, 9]], raw[[0, 4, 9]])


def test_edax_up2_converts_validates_and_equals_kikuchipy(convert):
    from kikuchipy.io.plugins.edax_binary import file_reader

    path = em_file(UP2)
    result = convert(path)
    assert_clean_nxem(result, also_lacking=NO_DWELL)
    with pytest.warns(UserWarning, match="hexagonal"):
        (expected,) = file_reader(str(path))
    with result.h5() as h5:
        stack = resolve_default(h5)
        assert stack.name == f"/{EVENT}/image1/stack_2d"
        np.testing.assert_array_equal(stack["real"][()], expected["data"])
        assert scalar(h5, f"{EVENT}/instrument/ebeam_column/scan_controller/scan_schema")[0] == "hexagonal grid"
        assert scalar(h5, f"{EVENT}/type")[0] == "EBSD"


def write_up(path: Path, patterns: np.ndarray, grid: tuple[int, int] | None = None, hexagonal: bool = False) -> Path:
    """A UP1 (version 1: no grid) or UP2 (version 3) file, in the layout kikuchipy's reader reads."""
    height, width = patterns.shape[1:]
    with open(path, "wb") as handle:
        if grid is None:
            np.array([1, width, height, 16], "<u4").tofile(handle)
        else:
            np.array([3, width, height, 42], "<u4").tofile(handle)
            np.array([0], "u1").tofile(handle)
            np.array([grid[1], grid[0]], "<u4").tofile(handle)  # columns, rows
            np.array([int(hexagonal)], "u1").tofile(handle)
            np.array([0.25, 0.5], "<f8").tofile(handle)
        patterns.tofile(handle)
    return path


def test_edax_up1_version1_is_a_list_and_up2_square_grid_is_a_map(tmp_path):
    rng = np.random.default_rng(7)
    eight_bit = rng.integers(0, 255, (5, 6, 8), dtype=np.uint8)
    up1 = write_up(tmp_path / "list.up1", eight_bit)
    assert detect(up1) is edax_up
    (signal,) = edax_up.read(up1, [])
    assert signal.shape == (5, 6, 8) and signal.data.dtype == np.uint8
    assert "grid_type" not in signal.derived["ebsd"] and "x" not in signal.derived["ebsd"]
    np.testing.assert_array_equal(np.asarray(signal.data), eight_bit)

    square = rng.integers(0, 4000, (6, 6, 8), dtype=np.uint16)
    up2 = write_up(tmp_path / "map.up2", square, grid=(2, 3))
    (signal,) = edax_up.read(up2, [])
    assert signal.shape == (2, 3, 6, 8) and signal.axes[0].units == "µm"
    assert np.allclose(signal.axes[0].values, [0, 0.5]) and np.allclose(signal.axes[1].values, [0, 0.25, 0.5])
    np.testing.assert_array_equal(np.asarray(signal.data)[1, 2], square[5])


def test_edax_up_truncated_or_damaged_is_refused(tmp_path):
    patterns = np.ones((6, 6, 8), np.uint16)
    cut = write_up(tmp_path / "cut.up2", patterns, grid=(2, 3))
    cut.write_bytes(cut.read_bytes()[:-100])
    assert detect(cut) is edax_up
    with pytest.raises(ConversionError, match=r"cut\.up2: looks like EDAX.* announces: truncated"):
        read_signals(Acquisition(edax_up, cut, []))
    damaged = write_up(tmp_path / "damaged.up2", patterns, grid=(2, 3))
    raw = bytearray(damaged.read_bytes())
    raw[12:16] = struct.pack("<I", 40)  # pattern offset no longer the header size
    damaged.write_bytes(bytes(raw))
    assert not edax_up.sniff(damaged, bytes(raw[:1024]))


# ---- NORDIF ------------------------------------------------------------------------------------
def write_nordif(folder: Path, patterns: np.ndarray, step: float = 1.5) -> tuple[Path, Path]:
    """``Pattern.dat`` and ``Setting.txt`` in NORDIF's layout (the lines kikuchipy's reader reads,
    at their places relative to the section headers); ``patterns`` is (rows, cols, height, width)."""
    rows, cols, height, width = patterns.shape
    lines = [
        "[NORDIF]\t\t",
        "Software version\t3.1.2\t",
        "\t\t",
        "[Microscope]\t\t",
        "Manufacturer\tHitachi\t",
        "Model\tSU-6600\t",
        "Magnification\t200\t#",
        "Scan direction\tDirect\t",
        "Accelerating voltage\t20\tkV",
        "Working distance\t24.7\tmm",
        "Tilt angle\t70\t\u00b0",
        "\t\t",
        "[Electron image]\t\t",
        "Frame rate\t0.25\tfps",
        "Resolution\t1000x1000\tpx",
        "\t\t",
        "[EBSD detector]\t\t",
        "Model\tUF1100\t",
        "\t\t",
        "[Detector angles]\t\t",
        "Euler 1\t0\t\u00b0",
        "Euler 2\t0\t\u00b0",
        "Euler 3\t0\t\u00b0",
        "Azimuthal\t2\t\u00b0",
        "Elevation\t10\t\u00b0",
        "\t\t",
        "[Acquisition settings]\t\t",
        "Frame rate\t202\tfps",
        f"Resolution\t{width}x{height}\tpx",
        "Exposure time\t3500\t\u00b5s",
        "Gain\t0\t",
        "\t\t",
        "[Calibration settings]\t\t",
        "Frame rate\t10\tfps",
        f"Resolution\t{width}x{height}\tpx",
        "\t\t",
        "[Specimen]\t\t",
        "Name\tNi\t",
        "\t\t",
        "[Area]\t\t",
        "Top\t89.200 (223)\t\u00b5m (px)",
        "Left\t60.384 (152)\t\u00b5m (px)",
        "Width\t4.500 (11)\t\u00b5m (px)",
        "Height\t4.500 (11)\t\u00b5m (px)",
        f"Step size\t{step:.3f}\t\u00b5m",
        f"Number of samples\t{rows}x{cols}\t#",
    ]
    settings = folder / "Setting.txt"
    settings.write_bytes("\r\n".join(lines).encode("latin-1") + b"\r\n")
    dat = (folder / "Pattern").with_suffix(".dat")
    patterns.astype(np.uint8).tofile(dat)
    return dat, settings


@pytest.fixture
def nordif_scan(tmp_path) -> tuple[Path, Path, np.ndarray]:
    patterns = np.random.default_rng(3).integers(0, 255, (2, 3, 10, 12), dtype=np.uint8)
    return (*write_nordif(tmp_path, patterns), patterns)


def test_nordif_dat_with_setting_txt(nordif_scan):
    dat, settings, patterns = nordif_scan
    assert detect(dat) is nordif and detect(settings) is nordif
    assert nordif.companions(dat, [dat, settings]) == [settings]
    (signal,) = read_signals(Acquisition(nordif, dat, [settings]))
    assert signal.shape == (2, 3, 10, 12) and signal.data.dtype == np.uint8
    assert signal.axes[1].units == "µm" and np.allclose(signal.axes[1].values, [0, 1.5, 3.0])
    facts = signal.derived["ebsd"]
    assert facts["detector_tilt"] == -10.0 and facts["units"]["detector_tilt"] == "degree"
    assert facts["sample_tilt"] == 70.0
    assert signal.metadata["nordif_settings"]["Acquisition settings"]["Exposure time"] == "3500"
    np.testing.assert_array_equal(np.asarray(signal.data), patterns)


def test_nordif_converts_with_settings_mapped(nordif_scan, convert):
    dat, settings, patterns = nordif_scan
    result = convert(dat, settings)
    assert_clean_nxem(result, also_lacking=NO_DWELL + NO_STAGE_POSITION)
    with result.h5() as h5:
        cube = resolve_default(h5)
        np.testing.assert_array_equal(cube["real"][()], patterns)
        assert scalar(h5, f"{EVENT}/instrument/ebeam_column/electron_source/voltage") == (20.0, "kV")
        assert scalar(h5, f"{EVENT}/instrument/optics/working_distance") == (pytest.approx(24.7), "mm")
        assert scalar(h5, f"{EVENT}/instrument/detector/count_time") == (pytest.approx(0.0035), "s")
        assert scalar(h5, f"{EVENT}/instrument/stage/tilt1") == (70.0, "degree")
        assert scalar(h5, f"{EVENT}/instrument/detector/ebsd_detector/tilt") == (-10.0, "degree")
        assert scalar(h5, "entry1/measurement/instrument/detector/fabrication/vendor")[0] == "NORDIF"
        assert scalar(h5, "entry1/sample/name")[0] == "Ni"


def test_nordif_lone_settings_dat_alone_and_truncated_are_refused(nordif_scan, tmp_path):
    dat, settings, _ = nordif_scan
    with pytest.raises(ConversionError, match=r"Setting\.txt: is a NORDIF settings file .* pass the Pattern\.dat"):
        read_signals(Acquisition(nordif, settings, []))
    dat.write_bytes(dat.read_bytes()[:-50])
    with pytest.raises(ConversionError, match=r"Pattern\.dat: looks like NORDIF.*is truncated"):
        read_signals(Acquisition(nordif, dat, [settings]))
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / "Pattern.dat").write_bytes(dat.read_bytes())
    with pytest.raises(UnrecognisedFile, match=r"Pattern\.dat: is not a recognised"):
        detect(alone / "Pattern.dat")


def test_bad_pattern_file_leaves_no_output(tmp_path):
    from pynxtools_em_plugin.conversion import convert as convert_files

    cut = tmp_path / "cut.ebsp"
    cut.write_bytes(em_file(EBSP).read_bytes()[:20000])
    output = tmp_path / "out.nxs"
    outcome = convert_files([cut], output)
    assert outcome.status != "converted" and "cut.ebsp" in outcome.message and "\n" not in outcome.message
    assert not output.exists()


def test_nordif_vendor_tree_is_kikuchipys_plus_the_parsed_settings(nordif_scan):
    dat, settings, _ = nordif_scan
    (signal,) = read_signals(Acquisition(nordif, dat, [settings]))
    (expected,) = kikuchipy_reading("nordif", dat)
    assert set(signal.metadata) - set(expected["original_metadata"]) == set(nordif.PARSED_VENDOR_BLOCKS)
    assert signal.metadata["nordif_header"] == expected["original_metadata"]["nordif_header"]


# ---- kikuchipy h5ebsd and EMsoft (HDF5, written here in the layouts kikuchipy reads) ---------
def _scalars(group, values: dict) -> None:
    """Datasets of shape (1,), strings as fixed-length bytes: how kikuchipy's writer stores a header."""
    for key, value in values.items():
        if isinstance(value, str):
            group.create_dataset(key, data=np.array([value.encode()]))
        else:
            group.create_dataset(key, data=np.atleast_1d(value))


def write_kikuchipy_h5ebsd(path: Path, patterns: np.ndarray, step: float = 2.0) -> Path:
    """One ``Scan 1`` as kikuchipy's ``EBSD.save`` writes it (patterns as (points, rows, cols))."""
    import h5py

    rows, cols, height, width = patterns.shape
    with h5py.File(path, "w") as h5:
        _scalars(h5, {"manufacturer": "kikuchipy", "version": "0.13.1"})
        scan = h5.create_group("Scan 1")
        scan.create_dataset("EBSD/Data/patterns", data=patterns.reshape(rows * cols, height, width))
        header = {
            "azimuth_angle": 0.0,
            "twist_angle": 0.0,
            "binning": 1,
            "elevation_angle": 5.0,
            "n_columns": cols,
            "n_rows": rows,
            "pattern_width": width,
            "pattern_height": height,
            "pcx": 0.42,
            "pcy": 0.21,
            "pcz": 0.55,
            "detector_pixel_size": 70.0,
            "sample_tilt": 70.0,
            "static_background": -1,
            "step_x": step,
            "step_y": step,
        }
        _scalars(scan.create_group("EBSD/Header"), header)
        sem = {"beam_energy": 20.0, "magnification": 500, "microscope": "ZEISS SUPRA55 VP", "working_distance": 15.0}
        _scalars(scan.create_group("SEM/Header"), sem)
    return path


def test_kikuchipy_h5ebsd_scan_with_detector_and_sem(tmp_path, convert):
    patterns = np.random.default_rng(11).integers(0, 255, (2, 3, 8, 10), dtype=np.uint8)
    path = write_kikuchipy_h5ebsd((tmp_path / "scan").with_suffix(".h5"), patterns)
    assert detect(path) is kikuchipy_h5
    (signal,) = kikuchipy_h5.read(path, [])
    assert signal.shape == (2, 3, 8, 10) and signal.context == "Scan 1"
    assert np.allclose(signal.axes[1].values, [0, 2, 4]) and signal.axes[1].units == "µm"
    facts = signal.derived["ebsd"]
    assert facts["pattern_centre"] == [0.42, 0.21, 0.55] and facts["pattern_centre_convention"] == "Bruker"
    assert signal.derived["sem"]["beam_energy"] == 20.0
    np.testing.assert_array_equal(np.asarray(signal.data), patterns)
    result = convert(path)
    assert_clean_nxem(result, also_lacking=NO_DWELL + NO_STAGE_POSITION)
    with result.h5() as h5:
        detector = f"{EVENT}/instrument/detector"
        assert scalar(h5, f"{EVENT}/instrument/ebeam_column/electron_source/voltage") == (20.0, "kV")
        assert scalar(h5, f"{EVENT}/instrument/optics/working_distance") == (15.0, "mm")
        assert scalar(h5, f"{detector}/x_pixel_size") == (70.0, "µm")
        assert scalar(h5, f"{detector}/ebsd_detector/tilt") == (5.0, "degree")
        centre = [h5[f"{detector}/ebsd_detector/pattern_centre_{axis}"][()] for axis in "xyz"]
        assert centre == pytest.approx([0.42, 0.21, 0.55])
        convention = "entry1/roi1/ebsd/pattern_center"
        assert [scalar(h5, f"{convention}/{axis}_boundary_convention")[0] for axis in "xy"] == ["left", "top"]
        np.testing.assert_array_equal(resolve_default(h5)["real"][()], patterns)


def write_emsoft_ebsd(path: Path, patterns: np.ndarray) -> Path:
    """An EMEBSD.f90 output file as kikuchipy's ``emsoft_ebsd`` reader reads it."""
    import h5py

    count, height, width = patterns.shape
    with h5py.File(path, "w") as h5:
        h5.create_dataset("EMheader/EBSD/ProgramName", data=np.array([b"EMEBSD.f90"]))
        h5.create_dataset("EMheader/EBSD/Version", data=np.array([b"5_0_20200217_0"]))
        h5.create_dataset("EMData/EBSD/EBSDPatterns", data=patterns)
        h5.create_dataset("EMData/EBSD/EulerAngles", data=np.zeros((count, 3), np.float32))
        h5.create_dataset("EMData/EBSD/xtalname", data=np.array([b"ni/ni.xtal"]))
        names = {"numsx": width, "numsy": height, "delta": 70.0, "thetac": 10.0, "binning": 1}
        names |= {"xpc": 4.86, "ypc": 16.58, "L": 2123.3, "energymax": 20.0, "energymin": 10.0}
        _scalars(h5.create_group("NMLparameters/EBSDNameList"), names)
        crystal = h5.create_group("CrystalData")
        crystal.create_dataset("AtomData", data=np.array([[0.0], [0.0], [0.0], [1.0], [0.005]], np.float32))
        _scalars(crystal, {"Atomtypes": np.int32(28), "CrystalSystem": 1, "Natomtypes": 1})
        _scalars(crystal, {"SpaceGroupNumber": 225, "SpaceGroupSetting": 1})
        crystal.create_dataset("LatticeParameters", data=np.array([0.35236, 0.35236, 0.35236, 90, 90, 90]))
    return path


def test_emsoft_simulated_patterns_are_a_simulated_list(tmp_path, convert):
    patterns = np.random.default_rng(13).random((4, 8, 10)).astype(np.float32)
    path = write_emsoft_ebsd(tmp_path / "simulated.h5", patterns)
    assert detect(path) is emsoft_ebsd
    (signal,) = emsoft_ebsd.read(path, [])
    assert signal.simulated and signal.shape == (4, 8, 10)
    assert signal.derived["ebsd"]["pattern_centre"] == [4.86, 16.58, 2123.3]
    assert signal.derived["ebsd"]["pattern_centre_convention"] == "EMsoft"
    result = convert(path)
    assert_clean_nxem(result, also_lacking=NO_DWELL)
    with result.h5() as h5:
        assert h5["entry1/sample/is_simulation"][()]
        detector = f"{EVENT}/instrument/detector"
        assert scalar(h5, f"{detector}/distance") == (pytest.approx(2123.3), "µm")
        assert scalar(h5, f"{EVENT}/instrument/ebeam_column/electron_source/voltage") == (20.0, "kV")
        np.testing.assert_allclose(resolve_default(h5)["real"][()], patterns)


def test_hdf5_pattern_files_damaged_are_refused(tmp_path):
    patterns = np.zeros((1, 2, 8, 10), np.uint8)
    path = write_kikuchipy_h5ebsd(tmp_path / "scan.h5", patterns)
    raw = path.read_bytes()
    cut = tmp_path / "cut.h5"
    cut.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ConversionError, match=r"cut\.h5: "):
        read_signals(Acquisition(detect(cut), cut, []))


@pytest.mark.parametrize(("relative", "nxdata"), [(EBSP, "image1/image_4d/real"), (UP2, "image1/stack_2d/real")])
def test_patterns_streamed_block_by_block_equal_kikuchipy(relative, nxdata, tmp_path, monkeypatch):
    """The 4D-STEM streaming path (nexus/streaming.py) writes pattern files too: chunked, compressed."""
    import h5py

    from pynxtools_em_plugin import chunking
    from pynxtools_em_plugin.conversion import convert as convert_files
    from pynxtools_em_plugin.nexus import streaming

    monkeypatch.setattr(streaming, "STREAM_MIN_BYTES", 0)
    monkeypatch.setattr(chunking, "BLOCK_BYTES", 16 * 1024)  # several blocks even for these small files
    source = em_file(relative)
    outcome = convert_files([source], tmp_path / "streamed.nxs")
    assert outcome.status == "converted", outcome.message
    plugin = {oxford_ebsp: "oxford_binary", edax_up: "edax_binary"}[detect(source)]
    (expected,) = kikuchipy_reading(plugin, source)
    with h5py.File(tmp_path / "streamed.nxs", "r") as h5:
        written = h5[f"{EVENT}/{nxdata}"]
        assert written.compression == "gzip" and written.chunks[-2:] == written.shape[-2:]
        np.testing.assert_array_equal(written[()], np.asarray(expected["data"]))


def test_kikuchipy_private_names_resolve():
    from pynxtools_em_plugin.compat import kikuchipy as compat_kikuchipy

    assert compat_kikuchipy.PRIVATE_NAMES
    for module, name in compat_kikuchipy.PRIVATE_NAMES:
        assert compat_kikuchipy.private(module, name) is not None
    reader = compat_kikuchipy.private("kikuchipy.io.plugins.oxford_binary._api", "OxfordBinaryFileReader")
    assert callable(reader.guess_number_of_patterns)  # the method oxford_binary_layout replaces


def test_large_pattern_files_are_not_read_into_memory(tmp_path):
    """Reading keeps the patterns on disk: kikuchipy's lazy readers hand memory maps to dask, which
    copies them (the whole file read); ours wrap them (formats/_kikuchi.py, lazy_patterns)."""
    patterns = np.zeros((6, 6, 8), np.uint16)
    up2 = write_up(tmp_path / "map.up2", patterns, grid=(2, 3))
    ebsp = em_file(EBSP)
    for fmt, path in ((edax_up, up2), (oxford_ebsp, ebsp)):
        (signal,) = fmt.read(path, [])
        leaves = [v for v in signal.data.dask.values() if hasattr(v, "shape") and not callable(v)]
        assert leaves and not any(isinstance(v, np.ndarray) and v.size > 1 for v in leaves)
