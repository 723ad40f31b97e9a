"""CEOS Panta Rhei, Semper, Ripple and Digital Surf files, and the bad input of the formats of issue 15.

Expected values were read out of the vendor files independently: the Panta Rhei
JSON member with NumPy (``allow_pickle=False``), the Semper header record with
struct, the Ripple header by splitting its lines and its ``.raw`` with NumPy, the
Attolight ``$key = value`` comment of the Digital Surf files by a regular expression.
"""

from __future__ import annotations

import json
import re
import shutil
import struct

import numpy as np
import pytest

from conftest import assert_clean_nxem, assert_same_signals, em_file, read_lazily_and_whole, run_dataconverter
from pynxtools_em_plugin.classify import CL, CL_HYPERSPECTRAL, EELS, IMAGING
from pynxtools_em_plugin.errors import ConversionError
from pynxtools_em_plugin.formats import detect, digitalsurf, pantarhei, read_signals, ripple, semper
from pynxtools_em_plugin.reader import group_inputs

STEM_IMAGING = "STEM imaging"
PRZ = "pantarhei/panta_rhei_sample.prz"
SEMPER_FLOAT = "semper/example_image_2d.unf"
SEMPER_INT = "semper/example_image_int16.unf"
RIPPLE_SI = "ripple/test_ripple_sdim-1_ndim-2_float64_meta"
RIPPLE_IMAGE = "ripple/test_ripple_sdim-2_ndim-0_uint8_meta"
SUR = "digitalsurf/test_spectral_map.sur"
PRO = "digitalsurf/test_spectrum_compressed.pro"
EVENT = "entry1/measurement/event1"
#: Required NXem concepts these files do not record.
LACKS = (
    r"measurement/instrument(/ebeam_column|/fabrication/model)?",
    r"measurement/event\d+/instrument/ebeam_column",
    r"measurement/event\d+/instrument/stage/tilt1",
    r"measurement/event\d+/(image|spectrum)1/process/detector_identifier",
)


@pytest.fixture
def converted(converted_once):
    return converted_once


def label(h5) -> str:
    event = h5[EVENT]
    group = event["image1"] if "image1" in event else event["spectrum1"]
    return group["process/classification/type"][()].decode()


@pytest.mark.parametrize(
    ("inputs", "expected"),
    [
        ((PRZ,), STEM_IMAGING),
        ((SEMPER_FLOAT,), IMAGING),
        ((SEMPER_INT,), IMAGING),
        ((f"{RIPPLE_SI}.rpl", f"{RIPPLE_SI}.raw"), EELS),
        ((f"{RIPPLE_IMAGE}.rpl", f"{RIPPLE_IMAGE}.raw"), IMAGING),  # both axes in eV (HyperSpy's test header): an image
        ((SUR,), CL_HYPERSPECTRAL),
        ((PRO,), CL),
    ],
)
def test_file_converts_validates_and_gets_its_label(inputs, expected, converted):
    assert inputs[0].split("/")[0] == detect(em_file(inputs[0])).NAME
    result = converted(*inputs)
    also_lacking = (*LACKS, "start_time") if inputs[0] in (PRZ, SUR, PRO) else LACKS  # no date in these files
    assert_clean_nxem(result, also_lacking=also_lacking)
    with result.h5() as h5:
        assert label(h5) == expected


# ---- Panta Rhei --------------------------------------------------------------


def test_pantarhei_json_metadata_mapped_and_pickles_never_loaded(converted, monkeypatch):
    archive = np.load(em_file(PRZ), allow_pickle=False)
    meta = json.loads(archive["meta_data_json"][()])[0]
    calibration = meta["device.calib"][0]
    import pickle

    def refuse(*args, **kwargs):
        raise AssertionError("a .prz member was unpickled")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    (signal,) = pantarhei.read(em_file(PRZ), [])
    np.testing.assert_array_equal(signal.data, archive["data"])
    step_nm = calibration["value"] * calibration["pixel_factor"] * 1e9
    np.testing.assert_allclose(np.diff(signal.axes[1].values), step_nm)
    assert signal.axes[1].units == "nm"
    with converted(PRZ).h5() as h5:
        event = h5[EVENT]
        voltage = event["instrument/ebeam_column/electron_source/voltage"]
        assert voltage[()] == pytest.approx(meta["electron_gun.voltage"] / 1000) and voltage.attrs["units"] == "kV"
        camera_length = event["instrument/optics/camera_length"]
        assert camera_length[()] == pytest.approx(meta["projector.camera_length"] * 1000)
        assert camera_length.attrs["units"] == "mm"
        assert event["instrument/optics/magnification"][()] == meta["scan_driver.magnification"]
        dwell = event["instrument/ebeam_column/scan_controller/dwell_time"]
        assert dwell[()] == pytest.approx(meta["scan_generator.dwell_time"]) and dwell.attrs["units"] == "s"
        assert event["instrument/ebeam_column/operation_mode"][()] == b"STEM"


def test_pantarhei_without_json_members_converts_the_image_only(tmp_path, monkeypatch):
    import zipfile

    stripped = tmp_path / "old.prz"
    with zipfile.ZipFile(em_file(PRZ)) as source, zipfile.ZipFile(stripped, "w") as target:
        for name in source.namelist():
            if "json" not in name:
                target.writestr(name, source.read(name))
    assert pantarhei.sniff(stripped, stripped.read_bytes()[:4096])
    import pickle

    monkeypatch.setattr(pickle, "loads", lambda *a, **k: pytest.fail("a .prz member was unpickled"))
    (signal,) = pantarhei.read(stripped, [])
    np.testing.assert_array_equal(signal.data, np.load(em_file(PRZ), allow_pickle=False)["data"])
    assert signal.metadata == {} or "electron_gun.voltage" not in signal.metadata
    assert any("never unpickled" in warning for warning in signal.warnings)


# ---- Semper ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("relative", "start", "values"),
    [
        (SEMPER_FLOAT, "2015-10-27T14:29:20+00:00", np.arange(16).reshape(4, 4) / 2),  # Semper's label year: 15 - 1900
        (SEMPER_INT, "2015-11-18T02:20:00+00:00", np.arange(16).reshape(4, 4)),  # HyperSpy's label year: 115
    ],
)
def test_semper_image_and_label_date(relative, start, values, converted):
    ncol, nrow = struct.unpack("<hh", em_file(relative).read_bytes()[4:8])
    with converted(relative).h5() as h5:
        image = h5[f"{EVENT}/image1/image_2d/real"][()]
        assert image.shape == (nrow, ncol) == (4, 4)
        np.testing.assert_array_equal(image, values)
        assert h5[f"{EVENT}/start_time"][()].decode() == start


# ---- Ripple ------------------------------------------------------------------


def rpl_keys(relative: str) -> dict[str, str]:
    lines = em_file(f"{relative}.rpl").read_text("latin-1").splitlines()
    return dict(line.split("\t", 1) for line in lines if "\t" in line and not line.startswith(";"))


def test_ripple_spectrum_image_with_its_raw_axes_and_beam(converted):
    keys = rpl_keys(RIPPLE_SI)
    shape = (int(keys["height"]), int(keys["width"]), int(keys["depth"]))
    raw = np.fromfile(em_file(f"{RIPPLE_SI}.raw"), dtype="<f8").reshape(shape)
    with converted(f"{RIPPLE_SI}.rpl", f"{RIPPLE_SI}.raw").h5() as h5:
        cube = h5[f"{EVENT}/spectrum1/spectrum_2d"]
        np.testing.assert_array_equal(cube["intensity"][()], raw)
        energy = float(keys["depth-origin"]) + float(keys["depth-scale"]) * np.arange(shape[2])
        np.testing.assert_allclose(cube["axis_energy"][()], energy)
        assert cube["axis_energy"].attrs["units"] == "eV"
        heights_nm = (float(keys["height-origin"]) + float(keys["height-scale"]) * np.arange(shape[0])) * 1e9  # m
        np.testing.assert_allclose(cube["axis_j"][()], heights_nm)
        assert cube["axis_j"].attrs["units"] == "nm"
        voltage = h5[f"{EVENT}/instrument/ebeam_column/electron_source/voltage"]
        assert voltage[()] == pytest.approx(float(keys["beam-energy"])) and voltage.attrs["units"] == "kV"
        angle = h5[f"{EVENT}/instrument/optics/semi_convergence_angle"]
        assert angle[()] == pytest.approx(float(keys["convergence-angle"])) and angle.attrs["units"] == "mrad"
        assert h5[f"{EVENT}/start_time"][()].decode() == f"{keys['date']}T{keys['time']}+00:00"


def test_ripple_header_and_raw_are_one_acquisition():
    rpl, raw = em_file(f"{RIPPLE_IMAGE}.rpl"), em_file(f"{RIPPLE_IMAGE}.raw")
    (acquisition,) = group_inputs([raw, rpl])
    assert acquisition.main == rpl and acquisition.companions == [raw]
    (signal,) = read_signals(acquisition)
    np.testing.assert_array_equal(signal.data, np.fromfile(raw, dtype="u1").reshape(2, 3))


def test_ripple_raw_alone_is_refused_with_what_to_pass(tmp_path):
    raw = em_file(f"{RIPPLE_IMAGE}.raw")
    assert detect(raw) is ripple
    with pytest.raises(ConversionError, match=r"test_ripple_sdim-2_ndim-0_uint8_meta\.rpl"):
        read_signals(group_inputs([raw])[0])
    lone = tmp_path / "lone.raw"
    lone.write_bytes(raw.read_bytes())  # without its header nothing says what it is
    with pytest.raises(ConversionError, match="not a recognised"):
        detect(lone)


def test_ripple_header_without_raw_is_refused(tmp_path):
    header = tmp_path / "alone.rpl"
    shutil.copy(em_file(f"{RIPPLE_IMAGE}.rpl"), header)
    with pytest.raises(ConversionError, match=r"alone\.raw"):
        ripple.read(header, [])


@pytest.mark.parametrize("stem", [RIPPLE_SI, RIPPLE_IMAGE])
def test_ripple_large_file_path_reads_lazily_what_the_whole_read_gives(stem, monkeypatch):
    lazy, whole = read_lazily_and_whole(ripple, em_file(f"{stem}.rpl"), monkeypatch)
    assert_same_signals(lazy, whole)


def test_ripple_truncated_raw_read_lazily_is_refused(tmp_path, monkeypatch):
    from pynxtools_em_plugin.formats import _rsciio

    for suffix in (".rpl", ".raw"):
        shutil.copy(em_file(f"{RIPPLE_SI}{suffix}"), tmp_path / f"cut{suffix}")
    (tmp_path / "cut.raw").write_bytes(em_file(f"{RIPPLE_SI}.raw").read_bytes()[:-8])
    monkeypatch.setattr(_rsciio, "LAZY_MIN_BYTES", -1)
    with pytest.raises(ConversionError, match=r"cut\.rpl.*truncated or damaged"):
        ripple.read(tmp_path / "cut.rpl", [])


# ---- Digital Surf ----------------------------------------------------------------


def attolight(relative: str) -> dict[str, str]:
    """``$key = value`` lines of the Attolight comment."""
    text = em_file(relative).read_bytes().decode("latin-1")
    return {m["key"].strip(): m["value"].strip() for m in re.finditer(r"\$(?P<key>[^=$\n]+)=(?P<value>[^\n$]*)", text)}


def test_digitalsurf_cl_map_wavelengths_and_attolight_settings(converted):
    comment = attolight(SUR)
    with converted(SUR).h5() as h5:
        event = h5[EVENT]
        cube = event["spectrum1/spectrum_2d"]
        assert cube["intensity"].shape == (12, 10, 310)
        assert cube["axis_energy"].attrs["units"] == "eV"
        voltage = event["instrument/ebeam_column/electron_source/voltage"]
        assert voltage[()] == pytest.approx(float(comment["Beam Energy"].split()[0]) / 1000)
        assert voltage.attrs["units"] == "kV"
        assert event["instrument/optics/magnification"][()] == pytest.approx(float(comment["Real Magnification"]))
        spectrometer = event["instrument/detector/spectrometer"]
        assert spectrometer["central_wavelength"][()] == pytest.approx(float(comment["Central wavelength"].split()[0]))
        assert spectrometer["central_wavelength"].attrs["units"] == "nm"
        assert spectrometer["groove_density"].attrs["units"] == "1/mm"
        dwell = event["instrument/ebeam_column/scan_controller/dwell_time"]
        assert dwell[()] == pytest.approx(float(comment["HYP Dwelltime"].split()[0]) / 1000)
        assert dwell.attrs["units"] == "s"
        np.testing.assert_allclose(event["instrument/stage/position"][()], [8252.215, 2503.876, -1141.085])
        assert event["instrument/stage/position"].attrs["units"] == "µm"


def test_digitalsurf_compressed_spectrum_wavelength_axis():
    (spectrum,) = digitalsurf.read(em_file(PRO), [])
    assert spectrum.shape == (512,)
    axis = spectrum.axes[0]
    assert axis.kind == "wavelength" and axis.units == "nm"
    assert np.diff(axis.values) == pytest.approx(np.full(511, 1.084000246009964e-06 * 1e6))  # mm step in the header


# ---- bad input -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("relative", "size", "module"),
    [(SUR, 2000, digitalsurf), (PRO, 600, digitalsurf), (PRZ, 3000, pantarhei), (SEMPER_INT, 200, semper)],
)
def test_truncated_files_fail_clearly(relative, size, module, tmp_path):
    broken = tmp_path / em_file(relative).name
    broken.write_bytes(em_file(relative).read_bytes()[:size])
    with pytest.raises(ConversionError) as caught:
        module.read(broken, [])
    assert broken.name in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("relative", "reason"),
    [
        (f"{RIPPLE_IMAGE}.raw", "raw data of a Ripple file"),
        ("dens/file2.dens", "does not line up"),
        ("impulse/StubExperiment_Metadata.log", "holds no data"),
    ],
)
def test_bad_input_is_one_line_without_output(relative, reason, tmp_path):
    source = em_file(relative)
    for sibling in source.parent.iterdir():  # the folder as the user has it (the .rpl beside the .raw)
        shutil.copy(sibling, tmp_path / sibling.name)
    result = run_dataconverter(source.name, "--output", "out.nxs", cwd=tmp_path)
    assert result.returncode != 0 and "Traceback" not in result.stderr + result.stdout
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"Error: {source.name}: ") and reason in last
    assert not (tmp_path / "out.nxs").exists()


def test_semper_unequal_x_and_y_calibrations_are_flagged(tmp_path):
    from rsciio.semper import file_writer

    axes = [
        {"name": "y", "size": 2, "scale": 2.0, "offset": 0.0, "units": "nm", "navigate": False},
        {"name": "x", "size": 3, "scale": 0.5, "offset": 0.0, "units": "nm", "navigate": False},
    ]
    written = tmp_path / "rect.unf"
    metadata = {"General": {"title": "rect", "date": "2020-01-02", "time": "03:04:05"}}
    file_writer(str(written), {"data": np.arange(6, dtype="f4").reshape(2, 3), "axes": axes, "metadata": metadata})
    (signal,) = semper.read(written, [])
    assert signal.shape == (2, 3)
    assert any("x and y calibrations differ" in warning for warning in signal.warnings)
    (square,) = semper.read(em_file(SEMPER_INT), [])
    assert square.warnings == []
