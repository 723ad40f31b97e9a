"""4D-STEM and diffraction series: Merlin MIB, MRC (Direct Electron, Thermo Fisher),
ASTAR blockfiles, TVIPS streams and Berkeley EMD (NCEM, prismatic).

Expected values were read out of the vendor files independently: the Merlin
``.hdr`` text and frame header, the DE ``_info.txt``, the MRC header and the
FEI2 extended header bytes, the blockfile header, the TVIPS headers and the
EMD ``dimN`` vectors and prismatic parameters (h5py).
"""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import EM_DATA, assert_clean_nxem, em_file, full_data, scalar, shared_files
from pynxtools_em_plugin.errors import ConversionError
from pynxtools_em_plugin.formats import (
    Acquisition,
    blockfile,
    detect,
    mrc,
    ncem_emd,
    quantumdetector,
    read_signals,
    tvips,
)
from pynxtools_em_plugin.mapping.transforms import TRANSFORMS, TransformContext
from pynxtools_em_plugin.model import AxisKind

MIB = "quantumdetector/001_4x2_6bit.mib"
MIB_HDR = "quantumdetector/001_4x2_6bit.hdr"
DE_MOVIE = "mrc/20241021_00405_movie.mrc"
DE_INFO = "mrc/20241021_00405_info.txt"
HAADF_MRC = "mrc/HAADFscan.mrc"
BLO = "blockfile/test1.blo"
TVIPS = "tvips/test_tvips_2345_000.tvips"
NCEM_IMAGE = "ncem_emd/example_image.emd"
PRISMATIC = "ncem_emd/Si100_3D.emd"

#: Files whose vendor records nothing about the electron column (no high tension).
NO_COLUMN = {MIB: (r"measurement/event\d+/instrument/ebeam_column",)}
#: The companion files each main file is converted with.
COMPANIONS = {MIB: [MIB_HDR], DE_MOVIE: [DE_INFO]}
MAIN_FILES = [
    *shared_files("quantumdetector/*.mib"),
    *shared_files("mrc/*.mrc"),
    *shared_files("blockfile/*.blo"),
    *shared_files("tvips/*_000.tvips"),
    *shared_files("ncem_emd/*.emd"),
]
EVENT = "entry1/measurement/event1"
DET = f"{EVENT}/instrument/detector"


def inputs(relative: str) -> list[Path]:
    return [em_file(relative), *(em_file(c) for c in COMPANIONS.get(relative, []))]


def warnings_about(result, text: str) -> list[str]:
    return [w for w in result.conversion_warnings if text in w]


def axis(group, name: str) -> tuple[np.ndarray, str | None]:
    return group[name][()], group[name].attrs.get("units")


@pytest.mark.parametrize("relative", MAIN_FILES)
def test_every_file_converts_validates_and_keeps_everything(relative, convert):
    assert_clean_nxem(convert(*inputs(relative)), also_lacking=NO_COLUMN.get(relative, ()))


# ---- Quantum Detectors Merlin --------------------------------------------------------
def test_merlin_4d_scan_axes_detector_and_times(convert):
    result = convert(*inputs(MIB))
    with result.h5() as h5:
        default = full_data(h5)
        assert default.name == f"/{EVENT}/image1/image_4d"
        assert default["real"].shape == (2, 4, 256, 256)  # 4 x 2 scan (x, y) of 256 x 256 frames
        assert list(default.attrs["axes"]) == ["axis_m", "axis_k", "axis_j", "axis_i"]
        for name, label, size in [("axis_m", "scan y", 2), ("axis_k", "scan x", 4), ("axis_i", "detector kx", 256)]:
            values, units = axis(default, name)
            assert units is None and np.array_equal(values, np.arange(size))  # nothing calibrated: indices
            assert default[name].attrs["long_name"] == label
        # the .mib frame header: MQ1A time stamp in UTC, 100000000 ns exposure, 6-bit counter
        assert scalar(h5, f"{EVENT}/start_time")[0] == "2021-05-07T16:51:10.905800+00:00"
        assert scalar(h5, f"{DET}/count_time") == (pytest.approx(0.1), "s")
        assert scalar(h5, f"{DET}/bit_depth_readout")[0] == 6
        assert scalar(h5, f"{DET}/threshold_energy") == (pytest.approx(40.0), "keV")  # counter 0 of the .hdr
        assert scalar(h5, f"{DET}/gain_setting")[0] == "SLGM"
        assert scalar(h5, f"{DET}/operation_mode")[0] == "SPM"
        assert scalar(h5, f"{DET}/type")[0] == "Medipix 3RX"
        assert scalar(h5, "entry1/measurement/instrument/detector/fabrication/model")[0] == "Merlin Quad"
        assert scalar(h5, "entry1/measurement/instrument/detector/fabrication/vendor")[0] == "Quantum Detectors"
        assert h5["entry1/measurement/instrument/program1/program"].attrs["version"] == "0.76.1.101"
        raw = json.loads(h5[f"{EVENT}/vendor_metadata/original_metadata"][()])
        assert raw["hdr_file"]["Time and Date Stamp (day, mnth, yr, hr, min, s)"] == "07/05/2021 18:50:41"
        first_frame = np.asarray(default["real"][0, 0])
    frames = np.fromfile(em_file(MIB), dtype=[("header", "S384"), ("data", ">u1", (256, 256))])
    np.testing.assert_array_equal(first_frame, frames["data"][0][::-1])  # RosettaSciIO flips the rows


def test_merlin_mib_is_read_lazily():
    signal = quantumdetector.read(em_file(MIB), [em_file(MIB_HDR)])[0]
    assert type(signal.data).__module__.startswith("dask")
    assert [a.kind for a in signal.axes] == [AxisKind.INDEX] * 4


def test_merlin_truncated_mib_keeps_complete_lines_with_a_warning(tmp_path):
    frame_bytes = 384 + 256 * 256
    (tmp_path / "cut.mib").write_bytes(em_file(MIB).read_bytes()[: 5 * frame_bytes + 100])
    shutil.copy(em_file(MIB_HDR), tmp_path / "cut.hdr")
    signal = quantumdetector.read(tmp_path / "cut.mib", [])[0]
    assert signal.shape == (4, 256, 256)  # one complete line of 4 out of 5 frames
    assert any("holds 5 of the 8 frames" in w for w in signal.warnings)
    assert any("ends 100 bytes into an incomplete frame" in w for w in signal.warnings)


def test_merlin_mib_cut_inside_a_frame_without_its_header_is_not_silent(tmp_path):
    frame_bytes = 384 + 256 * 256
    (tmp_path / "cut.mib").write_bytes(em_file(MIB).read_bytes()[: frame_bytes + 34080])
    signal = quantumdetector.read(tmp_path / "cut.mib", [])[0]
    assert signal.shape == (256, 256)  # the one complete frame
    left_out = "cut.mib: ends 34080 bytes into an incomplete frame (truncated file?); that frame was left out"
    assert signal.warnings == [left_out]
    complete = quantumdetector.read(em_file(MIB), [])[0]
    assert not any("incomplete frame" in w for w in complete.warnings)


def test_merlin_header_alone_is_refused_and_grouped_with_its_mib():
    hdr, mib = em_file(MIB_HDR), em_file(MIB)
    assert detect(hdr) is quantumdetector and detect(mib) is quantumdetector
    assert quantumdetector.companions(mib, [mib, hdr]) == [hdr]
    with pytest.raises(ConversionError, match=r"pass its \.mib"):
        read_signals(Acquisition(quantumdetector, hdr, []))


# ---- Direct Electron MRC movie -------------------------------------------------------
def test_de_movie_scan_calibration_restored_and_detector_axes_are_indices(convert):
    result = convert(*inputs(DE_MOVIE))
    with result.h5() as h5:
        cube = full_data(h5)
        assert cube.name.endswith("image_4d") and cube["real"].shape == (4, 8, 4, 8)
        assert h5["entry1/sample/is_simulation"][()]  # Camera Model = DESim: DE-Server's simulated camera
        # _info.txt: Specimen Pixel Size Y = 0.2 nm, X = 0.1 nm (RosettaSciIO sets both to 1)
        y, y_units = axis(cube, "axis_m")
        x, x_units = axis(cube, "axis_k")
        assert (y_units, x_units) == ("nm", "nm")
        np.testing.assert_allclose(y, 0.2 * np.arange(4))
        np.testing.assert_allclose(x, 0.1 * np.arange(8))
        # Diffraction Pixel Size has no unit in the file: indices, never a guessed unit
        ky, ky_units = axis(cube, "axis_j")
        assert ky_units is None and np.array_equal(ky, np.arange(4))
        assert cube["axis_i"].attrs["long_name"] == "detector kx"
        assert scalar(h5, f"{EVENT}/start_time")[0] == "2024-10-21T19:36:50+00:00"  # epoch 1729539410
        inst = f"{EVENT}/instrument"
        assert scalar(h5, f"{inst}/ebeam_column/electron_source/voltage") == (300.0, "kV")
        assert scalar(h5, f"{inst}/ebeam_column/scan_controller/dwell_time") == (pytest.approx(1464.212499), "µs")
        assert scalar(h5, f"{DET}/count_time") == (pytest.approx(1427500e-9), "s")
        assert scalar(h5, f"{DET}/frame_time") == (pytest.approx(1428500e-9), "s")
        assert scalar(h5, f"{DET}/local_name")[0] == "DESim"
        assert scalar(h5, f"{DET}/operation_mode")[0] == "Integrating"
        assert scalar(h5, f"{inst}/optics/camera_length") == (pytest.approx(1.0), "mm")  # 0.1 cm
        assert scalar(h5, "entry1/measurement/instrument/program1/program")[0] == "DE-Server"
        data = np.asarray(cube["real"])
    assert warnings_about(result, "diffraction pixel size (X, Y = 0.1, 0.1) without a unit")
    raw = np.fromfile(em_file(DE_MOVIE), dtype="<u2", offset=1024)
    np.testing.assert_array_equal(data, raw.reshape(4, 8, 4, 8))


def test_de_movie_finds_its_info_file_itself_and_the_info_file_alone_is_refused():
    movie, info = em_file(DE_MOVIE), em_file(DE_INFO)
    assert detect(info) is mrc
    assert mrc.companions(movie, [movie, info]) == [info]
    alone = mrc.read(movie, [])[0]
    np.testing.assert_allclose(alone.axes[1].values, 0.1 * np.arange(8))
    with pytest.raises(ConversionError, match=r"_movie\.mrc"):
        read_signals(Acquisition(mrc, info, []))


def test_truncated_mrc_is_one_conversion_error(tmp_path):
    cut = tmp_path / "cut.mrc"
    cut.write_bytes(em_file(HAADF_MRC).read_bytes()[:-100])
    with pytest.raises(ConversionError, match="truncated"):
        mrc.read(cut, [])


# ---- Thermo Fisher MRC with FEI2 extended header --------------------------------------
def test_velox_mrc_fei2_extended_header_metadata(convert):
    result = convert(em_file(HAADF_MRC))
    with result.h5() as h5:
        image = full_data(h5)
        assert image.name.endswith("image_2d") and image["real"].shape == (16, 16)
        x, units = axis(image, "axis_i")
        # header cell 908.661 Å / 16 = FEI2 'Pixel size X' 5.679131e-9 m
        assert units == "nm" and x[1] - x[0] == pytest.approx(5.679131, rel=1e-6)
        inst = f"{EVENT}/instrument"
        assert scalar(h5, f"{inst}/ebeam_column/electron_source/voltage") == (300.0, "kV")
        assert scalar(h5, f"{inst}/ebeam_column/operation_mode")[0] == "STEM"
        assert scalar(h5, f"{inst}/optics/camera_length") == (pytest.approx(91.1), "mm")
        assert scalar(h5, f"{inst}/optics/semi_convergence_angle") == (pytest.approx(14.3273244), "mrad")
        assert scalar(h5, f"{inst}/optics/field_of_view") == (pytest.approx(1453.85761), "nm")
        assert scalar(h5, f"{inst}/ebeam_column/scan_controller/dwell_time") == (pytest.approx(10000.0), "µs")
        np.testing.assert_allclose(h5[f"{inst}/stage/position"][()], [23.85630, -7.11972, -0.00177], rtol=1e-5)
        assert h5[f"{inst}/stage/position"].attrs["units"] == "µm"
        assert scalar(h5, f"{DET}/local_name")[0] == "HAADF"  # STEM mode: the STEM detector, not the camera
        # OLE date 44900.509108796294 = 2022-12-05 12:13:07, local time without zone
        assert scalar(h5, f"{EVENT}/start_time")[0] == "2022-12-05T12:13:07+00:00"
        assert scalar(h5, f"{EVENT}/derived_metadata/assumed_time_zone")[0] == "UTC"
        shared = "entry1/measurement/instrument"
        assert scalar(h5, f"{shared}/fabrication/model")[0] == "Spectra"
        assert scalar(h5, f"{shared}/fabrication/serial_number")[0] == "3814"
        assert scalar(h5, f"{shared}/program1/program")[0] == "Velox"
        assert h5[f"{shared}/program1/program"].attrs["version"] == "3.7.0.872-b0a7ba"


def test_fei_extended_header_keeps_only_fields_marked_valid():
    fields = mrc.read_fei_extended_header(em_file(HAADF_MRC))
    assert fields["Metadata version"] == 2 and fields["Camera name"] == "BM-Ceta"
    assert "Dose" not in fields and "Magnification" not in fields  # their bits are not set
    head = em_file(HAADF_MRC).read_bytes()[1024 : 1024 + 888]
    assert fields["HT"] == struct.unpack_from("<d", head, 84)[0] == 300000.0
    assert fields["Dwell time"] == struct.unpack_from("<d", head, 571)[0]
    assert fields["Metadata size"] == 888 == mrc._fei_dtype(2)[0].itemsize  # FEI1 blocks are 768 bytes
    assert mrc._fei_dtype(1)[0].itemsize == 768


# ---- NanoMegas ASTAR blockfile --------------------------------------------------------
def test_blockfile_scan_steps_and_detector_indices(convert):
    result = convert(em_file(BLO))
    with result.h5() as h5:
        cube = full_data(h5)
        assert cube.name.endswith("image_4d") and cube["real"].shape == (3, 2, 144, 144)
        y, units = axis(cube, "axis_m")
        assert units == "nm" and np.allclose(y, 12.8 * np.arange(3))  # header SY
        kx, kx_units = axis(cube, "axis_i")
        assert kx_units is None and np.array_equal(kx, np.arange(144))  # SDP is not reciprocal: no 'cm' axis
        inst = f"{EVENT}/instrument"
        assert scalar(h5, f"{inst}/ebeam_column/electron_source/voltage") == (200.0, "kV")
        assert scalar(h5, f"{inst}/optics/camera_length") == (200.0, "mm")  # 2000 x 0.1 mm
        # serial date 42339.653470046294, local time without zone
        assert scalar(h5, f"{EVENT}/start_time")[0] == "2015-12-01T15:40:59.812000+00:00"
    assert warnings_about(result, "SDP = 6226")


def test_truncated_blockfile_is_one_conversion_error(tmp_path):
    cut = tmp_path / "cut.blo"
    cut.write_bytes(em_file(BLO).read_bytes()[:-5000])
    with pytest.raises(ConversionError, match="truncated"):
        blockfile.read(cut, [])


# ---- TVIPS ----------------------------------------------------------------------------
def test_tvips_series_with_equal_time_stamps_is_a_frame_stack(convert):
    result = convert(em_file(TVIPS))
    with result.h5() as h5:
        stack = full_data(h5)
        assert stack.name.endswith("stack_2d") and stack["real"].shape == (6, 4, 5)
        assert list(stack["indices_image"][()]) == list(range(6))
        assert stack["axis_i"].attrs.get("units") is None  # integer 'pixelsize' is no reciprocal calibration
        assert scalar(h5, f"{EVENT}/start_time")[0] == "1993-06-18T10:34:56+00:00"  # 740399696 s since 1970
        assert scalar(h5, f"{EVENT}/instrument/ebeam_column/electron_source/voltage") == (200.0, "kV")
        assert scalar(h5, f"{EVENT}/instrument/ebeam_column/operation_mode")[0] == "diffraction"
        derived = json.loads(h5[f"{EVENT}/derived_metadata/values"][()])
        assert derived["frame_headers"]["rotidx"] == [0, 1, 2, 3, 4, 5]
        assert "frame_headers" not in json.loads(h5[f"{EVENT}/vendor_metadata/original_metadata"][()])
    assert warnings_about(result, "frame time stamps")


def test_tvips_stream_not_named_as_a_series_part_is_refused_clearly(tmp_path):
    renamed = tmp_path / "renamed.tvips"
    shutil.copy(em_file(TVIPS), renamed)
    assert detect(renamed) is tvips
    with pytest.raises(ConversionError, match="rename it"):
        read_signals(Acquisition(tvips, renamed, []))


def tvips_copy(folder: Path, milliseconds: list[int], split: int | None = None) -> list[Path]:
    """The shared series with new per-frame milliseconds, optionally split into two parts."""
    data = bytearray(em_file(TVIPS).read_bytes())
    record = 60 + 4 * 5 * 2
    for index, ms in enumerate(milliseconds):
        struct.pack_into("<I", data, 256 + index * record + 8, ms)
    cut = 256 + (split or 0) * record
    parts = [bytes(data)] if split is None else [bytes(data[:cut]), bytes(data[cut:])]
    paths = [folder / f"series_{number:03d}.tvips" for number in range(len(parts))]
    for path, content in zip(paths, parts, strict=True):
        path.write_bytes(content)
    return paths


def test_tvips_increasing_frame_time_stamps_become_the_time_axis(tmp_path, convert):
    first, second = tvips_copy(tmp_path, [0, 40, 80, 120, 160, 200], split=4)
    assert detect(second) is tvips and tvips.companions(first, [first, second]) == [second]
    with pytest.raises(ConversionError, match=r"series_000\.tvips"):
        read_signals(Acquisition(tvips, second, []))
    result = convert(first, second)
    with result.h5() as h5:
        series = full_data(h5)
        assert series.name.endswith("image_3d") and series["real"].shape == (6, 4, 5)
        times, units = axis(series, "axis_k")
        assert units == "s"
        np.testing.assert_allclose(times, [0.0, 0.04, 0.08, 0.12, 0.16, 0.2])
    assert not warnings_about(result, "frame time stamps")


# ---- Berkeley EMD / prismatic --------------------------------------------------------
def test_ncem_emd_image_values_and_uncalibrated_axes(convert):
    with h5py.File(em_file(NCEM_IMAGE), "r") as h5:
        stored = h5["signals/__unnamed__/data"][()]
    result = convert(em_file(NCEM_IMAGE))
    with result.h5() as h5:
        image = full_data(h5)
        assert image["title"][()] == b"example_image"
        # Berkeley EMD stores dim1 first: the array read in x-fastest order is the transpose
        np.testing.assert_array_equal(image["real"][()], stored.T)
        assert image["axis_i"].attrs.get("units") is None  # dim vectors '[]' (no unit)


def test_prismatic_axes_are_corrected_against_the_simulation_parameters(convert):
    with h5py.File(em_file(PRISMATIC), "r") as h5:
        group = h5["4DSTEM_simulation/data/realslices/virtual_detector_depth0000"]
        bins, positions = group["dim3"][()], group["dim1"][()]  # labelled [mrad] and [n_m]
    result = convert(em_file(PRISMATIC))
    with result.h5() as h5:
        cube = full_data(h5)
        assert cube.name.endswith("image_3d") and cube["real"].shape == (37, 22, 22)
        angles, angle_units = axis(cube, "axis_k")
        assert angle_units == "mrad"
        np.testing.assert_allclose(angles, bins * 1000, rtol=1e-6)  # rad -> mrad: 0.5 ... 36.5
        assert angles[-1] == pytest.approx(36.5, rel=1e-5)
        x, x_units = axis(cube, "axis_i")
        assert x_units == "nm"
        np.testing.assert_allclose(x, positions / 10, rtol=1e-6)  # Å -> nm, probeStep 0.25 Å
        inst = f"{EVENT}/instrument"
        assert scalar(h5, f"{inst}/ebeam_column/electron_source/voltage") == (100.0, "kV")
        assert scalar(h5, f"{inst}/optics/semi_convergence_angle") == (30.0, "mrad")
        assert h5["entry1/sample/is_simulation"][()]
    assert warnings_about(result, "prismatic simulation output")
    assert warnings_about(result, "labelled mrad")


# ---- recognition ---------------------------------------------------------------------
SNIFFED = [
    (MIB, quantumdetector),
    (MIB_HDR, quantumdetector),
    (DE_MOVIE, mrc),
    (DE_INFO, mrc),
    (HAADF_MRC, mrc),
    (BLO, blockfile),
    (TVIPS, tvips),
    (NCEM_IMAGE, ncem_emd),
    (PRISMATIC, ncem_emd),
]


@pytest.mark.parametrize(("relative", "module"), SNIFFED)
def test_each_file_is_claimed_by_its_format_only(relative, module):
    path = em_file(relative)
    head = path.read_bytes()[:1024]
    claimed = [m for m in (quantumdetector, mrc, blockfile, tvips, ncem_emd) if m.sniff(path, head)]
    assert claimed == [module]
    assert detect(path) is module


def test_velox_emd_is_not_taken_for_berkeley_emd():
    velox_files = shared_files("velox/*.emd")
    if not velox_files:
        pytest.skip("real data not available")
    path = EM_DATA / velox_files[0]
    assert not ncem_emd.sniff(path, path.read_bytes()[:1024])


def test_ole_automation_date_transform():
    ctx = TransformContext()
    assert TRANSFORMS["oadate_to_iso8601"]([42339.5], {}, ctx) == "2015-12-01T12:00:00+00:00"
    assert ctx.notes  # a local time: the assumed zone is noted
