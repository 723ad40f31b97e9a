"""Cathodoluminescence (Delmic SPARC, Hamamatsu streak camera) and DENSsolutions in-situ logs (Digiheater, Impulse).

Expected values were read out of the vendor files independently: the Odemis HDF5
datasets with h5py (``DimensionScaleC``/``T`` in m/s, ``TOffset`` Unix time,
``PolePosition``, ``ExtraSettings`` JSON), the HPD-TA calibration tables at the
offsets its comment names (``ScalingXScalingFile``/``ScalingYScalingFile``,
float32) and the text logs with plain string splitting and the csv module.
"""

from __future__ import annotations

import csv
import json
import re
import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import assert_clean_nxem, em_file, shared_files
from pynxtools_em_plugin.classify import (
    CL,
    CL_ANGLE_RESOLVED,
    CL_HYPERSPECTRAL,
    CL_TIME_RESOLVED,
    IMAGING,
    IN_SITU_LOG,
    classify,
)
from pynxtools_em_plugin.errors import ConversionError
from pynxtools_em_plugin.formats import dens, detect, hamamatsu, impulse, read_signals
from pynxtools_em_plugin.model import Axis, AxisKind, Signal
from pynxtools_em_plugin.reader import group_inputs

HYPERSPECTRAL = "delmic/sparc-hyperspectral.h5"
STREAK = "delmic/sparc-streak-camera.h5"
ANGLE_RESOLVED = "delmic/sparc-angle-resolved.h5"
OPERATE = "hamamatsu/operate_mode.img"
PHOTON_COUNTING = "hamamatsu/photon_counting.img"
DENS_LOG = "dens/file1.dens"
DENS_MISALIGNED = "dens/file2.dens"
IMPULSE_CSV = "impulse/StubExperiment_Synchronized data.csv"
IMPULSE_LOG = "impulse/StubExperiment_Metadata.log"
CONVERTED = [HYPERSPECTRAL, STREAK, ANGLE_RESOLVED, OPERATE, PHOTON_COUNTING, DENS_LOG]

#: Required NXem concepts these files do not record (a log knows no beam; Odemis' simulated SEM no scan schema).
LACKS = (
    r"measurement/instrument(/fabrication/model)?",
    r"measurement/event\d+/instrument/ebeam_column",
    r"measurement/event\d+/(image|spectrum)1/process/detector_identifier",
)
#: The label of every event, in order, per file: the CL data, then the SE images of Odemis.
LABELS = {
    HYPERSPECTRAL: [CL_HYPERSPECTRAL, IMAGING, IMAGING],
    STREAK: [CL_TIME_RESOLVED, IMAGING, IMAGING],
    ANGLE_RESOLVED: [CL_ANGLE_RESOLVED, IMAGING, IMAGING],
    OPERATE: [CL_TIME_RESOLVED],
    PHOTON_COUNTING: [CL_TIME_RESOLVED],
    DENS_LOG: [IN_SITU_LOG] * 6,
}
EVENT = "entry1/measurement/event{}"


@pytest.fixture
def converted(converted_once):
    return converted_once


def labels(h5) -> list[str]:
    """The technique label of every event, in event order."""
    measurement = h5["entry1/measurement"]
    events = sorted((int(k.removeprefix("event")), k) for k in measurement if k.startswith("event"))
    groups = [measurement[k]["image1" if "image1" in measurement[k] else "spectrum1"] for _, k in events]
    return [group["process/classification/type"][()].decode() for group in groups]


@pytest.mark.parametrize("relative", CONVERTED)
def test_file_converts_validates_and_gets_its_labels(relative, converted):
    fmt = detect(em_file(relative))
    assert relative.split("/")[0] == fmt.NAME
    result = converted(relative)
    assert_clean_nxem(result, also_lacking=LACKS)
    with result.h5() as h5:
        assert labels(h5) == LABELS[relative]


def test_impulse_csv_and_metadata_log_are_one_acquisition(converted):
    csv_path, log_path = em_file(IMPULSE_CSV), em_file(IMPULSE_LOG)
    acquisitions = group_inputs([log_path, csv_path])
    assert len(acquisitions) == 1 and acquisitions[0].companions == [log_path]
    result = converted(IMPULSE_CSV, IMPULSE_LOG)
    assert_clean_nxem(result, also_lacking=LACKS)
    with result.h5() as h5:
        assert labels(h5) == [IN_SITU_LOG] * 13


# ---- Delmic ----------------------------------------------------------------


def odemis(relative: str, group: str, dataset: str):
    with h5py.File(em_file(relative), "r") as h5:
        return h5[group][dataset][()]


def test_delmic_hyperspectral_wavelengths_scan_steps_and_settings(converted):
    wavelengths_m = odemis(HYPERSPECTRAL, "Acquisition2", "ImageData/DimensionScaleC")
    step_m = float(odemis(HYPERSPECTRAL, "Acquisition2", "ImageData/DimensionScaleX"))
    start = datetime.fromtimestamp(float(odemis(HYPERSPECTRAL, "Acquisition2", "ImageData/TOffset")), UTC)
    with converted(HYPERSPECTRAL).h5() as h5:
        event = h5[EVENT.format(1)]
        cube = event["spectrum1/spectrum_2d"]
        assert cube["intensity"].shape == (3, 2, 128)
        np.testing.assert_allclose(cube["axis_i"][()][1] - cube["axis_i"][()][0], step_m * 1e9)
        assert cube["axis_i"].attrs["units"] == "nm"
        # the photon energy of every channel: E = hc / wavelength
        np.testing.assert_allclose(cube["axis_energy"][()], 1239.841984 / (wavelengths_m * 1e9), rtol=1e-6)
        assert cube["axis_energy"].attrs["units"] == "eV"
        assert event["start_time"][()].decode() == start.isoformat()
        spectrometer = event["instrument/detector/spectrometer"]
        assert spectrometer["central_wavelength"][()] == pytest.approx(600.0)
        assert spectrometer["central_wavelength"].attrs["units"] == "nm"
        assert event["instrument/optics/magnification"][()] == 10000
        assert event["instrument/ebeam_column/scan_controller/dwell_time"][()] == pytest.approx(0.002027)
        assert event["instrument/ebeam_column/scan_controller/dwell_time"].attrs["units"] == "s"
        assert event["instrument/detector/local_name"][()].decode().startswith("Andor Clara")
        program = h5["entry1/measurement/instrument/program1/program"]  # SVIData/WriterVersion "Odemis 3.5.2"
        assert program[()] == b"Odemis" and program.attrs["version"] == "3.5.2"
        assert h5[EVENT.format(2)]["image1/image_2d/real"].shape == (3, 2)  # SE concurrent: one value per position
        assert h5[EVENT.format(3)]["image1/image_2d/real"].shape == (512, 512)  # SE survey


def test_delmic_streak_time_by_wavelength_per_scan_position(converted):
    times_s = odemis(STREAK, "Acquisition2", "ImageData/DimensionScaleT")
    wavelengths_m = odemis(STREAK, "Acquisition2", "ImageData/DimensionScaleC")
    signals = read_signals(group_inputs([em_file(STREAK)])[0])
    streak = signals[0]
    assert streak.shape == (2, 3, 256, 256)
    assert [axis.kind for axis in streak.axes] == ["space", "space", "time", "wavelength"]
    np.testing.assert_allclose(streak.axes[2].values, times_s)
    assert streak.axes[2].units == "s"
    np.testing.assert_allclose(streak.axes[3].values, wavelengths_m * 1e9)
    assert streak.axes[3].units == "nm"
    with converted(STREAK).h5() as h5:
        event = h5[EVENT.format(1)]
        image = event["image1/image_4d"]  # a time x wavelength image per scan position
        assert image["real"].shape == (2, 3, 256, 256)
        np.testing.assert_allclose(image["axis_j"][()], times_s)
        assert image["axis_j"].attrs["units"] == "s"
        np.testing.assert_allclose(image["axis_i"][()], wavelengths_m * 1e9)
        assert image["axis_i"].attrs["units"] == "nm"
        camera = event["instrument/detector/streak_camera"]
        assert camera["time_range"][()] == pytest.approx(2.0) and camera["time_range"].attrs["units"] == "ns"
        assert camera["mcp_gain"][()] == 15 and bool(camera["streak_mode"][()])
        delay = event["instrument/detector/trigger_delay_time"]
        assert delay[()] == pytest.approx(9.63) and delay.attrs["units"] == "ns"


def test_delmic_angle_resolved_images_gathered_with_mirror_plane_axes(converted):
    pole_x, pole_y = odemis(ANGLE_RESOLVED, "Acquisition2", "PhysicalData/PolePosition")[0]
    pixel_m = float(odemis(ANGLE_RESOLVED, "Acquisition2", "ImageData/DimensionScaleX"))
    with h5py.File(em_file(ANGLE_RESOLVED), "r") as h5:
        acquisitions = [group for name, group in h5.items() if name.startswith("Acquisition")]
        ar_groups = [g for g in acquisitions if g["PhysicalData/ChannelDescription"][()][0] == b"Angle-resolved"]
        first = min(ar_groups, key=lambda g: float(g["ImageData/TOffset"][()]))
        first_image = first["ImageData/Image"][0, 0, 0]
    assert len(ar_groups) == 6  # 3 x 2 scan positions, one acquisition group each
    with converted(ANGLE_RESOLVED).h5() as h5:
        event = h5[EVENT.format(1)]
        image = event["image1/image_4d"]
        assert image["real"].shape == (3, 2, 256, 256)
        np.testing.assert_array_equal(image["real"][0, 0], first_image)  # scan order = acquisition order
        np.testing.assert_allclose(image["axis_i"][()], (np.arange(256) - pole_x) * pixel_m * 1e9)
        np.testing.assert_allclose(image["axis_j"][()], (np.arange(256) - pole_y) * pixel_m * 1e9)
        assert image["axis_i"].attrs["units"] == "nm"
        mirror = event["instrument/detector/parabolic_mirror"]
        assert mirror["parabola_focal_length"][()] == pytest.approx(2.5)
        assert mirror["parabola_focal_length"].attrs["units"] == "mm"
        np.testing.assert_allclose(mirror["pole_position"][()], [pole_x, pole_y])
        derived = json.loads(event["derived_metadata/values"][()])
        assert derived["acquisition_kind"] == "angle-resolved map"


def test_delmic_sniffer_needs_an_odemis_acquisition(tmp_path):
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as h5:
        h5.create_group("Acquisition0/SVIData")["Company"] = np.array([b"Someone"])
    assert not detect_claims(other, "delmic")


def detect_claims(path: Path, name: str) -> bool:
    from pynxtools_em_plugin.formats import format_named

    return format_named(name).sniff(path, path.read_bytes()[:4096])


# ---- Hamamatsu ---------------------------------------------------------------


def hpdta_table(path: Path, key: str) -> np.ndarray:
    """A calibration table: ``#offset,count`` float32 values at the offset the comment names."""
    content = path.read_bytes()
    offset, count = re.search(rf'{key}="#(\d+),(\d+)'.encode(), content).groups()
    return np.frombuffer(content, "<f4", int(count), int(offset)).astype(np.float64)


@pytest.mark.parametrize(
    ("relative", "time_units", "range_ns", "mode", "count_time_s"),
    [(OPERATE, "us", 20000.0, "summed", 60 * 5.0), (PHOTON_COUNTING, "ns", 5.0, "pulse counting", 10000 * 0.2)],
)
def test_hamamatsu_time_and_wavelength_tables_and_streak_settings(
    relative, time_units, range_ns, mode, count_time_s, converted
):
    path = em_file(relative)
    comment_length, width, height = struct.unpack("<HHH", path.read_bytes()[2:8])
    pixel = {b"2": "<u2", b"4": "<u4"}[re.search(rb"BytesPerPixel=(\d)", path.read_bytes()).group(1)]
    pixels = np.frombuffer(path.read_bytes(), pixel, width * height, 64 + comment_length).reshape(height, width)
    wavelengths = hpdta_table(path, "ScalingXScalingFile")
    assert wavelengths[0] > wavelengths[-1]  # stored descending: stored here ascending, the columns reversed with it
    times = hpdta_table(path, "ScalingYScalingFile") * {"us": 1e-6, "ns": 1e-9}[time_units]
    with converted(relative).h5() as h5:
        event = h5[EVENT.format(1)]
        image = event["image1/image_2d"]
        assert image["real"].shape == (height, width) == (512, 672)
        np.testing.assert_allclose(image["axis_j"][()], times, rtol=1e-6)
        assert image["axis_j"].attrs["units"] == "s"
        np.testing.assert_allclose(image["axis_i"][()], wavelengths[::-1], rtol=1e-6)
        assert image["axis_i"].attrs["units"] == "nm"
        np.testing.assert_array_equal(image["real"][()], pixels[:, ::-1])
        detector = event["instrument/detector"]
        assert detector["acquisition_mode"][()].decode() == mode
        assert (
            detector["count_time"][()] == pytest.approx(count_time_s) and detector["count_time"].attrs["units"] == "s"
        )
        assert detector["streak_camera/time_range"][()] == pytest.approx(range_ns)
        assert detector["streak_camera/time_range"].attrs["units"] == "ns"
        assert detector["local_name"][()] == b"C5680"


def test_hamamatsu_start_keeps_milliseconds_and_date_styles(converted):
    with converted(OPERATE).h5() as h5:  # Date 20/01/2023, Time 11:34:55.147
        assert h5[EVENT.format(1)]["start_time"][()].decode() == "2023-01-20T11:34:55.147000+00:00"
    with converted(PHOTON_COUNTING).h5() as h5:  # Date 29.08.2018, Time 12:28:22.676
        assert h5[EVENT.format(1)]["start_time"][()].decode() == "2018-08-29T12:28:22.676000+00:00"


def test_hamamatsu_truncated_image_fails_clearly(tmp_path):
    broken = tmp_path / "cut.img"
    broken.write_bytes(em_file(PHOTON_COUNTING).read_bytes()[:5000])
    assert hamamatsu.sniff(broken, broken.read_bytes())
    with pytest.raises(ConversionError, match="Hamamatsu"):
        hamamatsu.read(broken, [])


# ---- DENSsolutions Digiheater --------------------------------------------------


def dens_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    lines = path.read_text("latin-1").strip().splitlines()
    return lines[3].split("\t"), [line.split("\t") for line in lines[4:]]


def test_dens_every_column_over_true_time_stamps(converted):
    names, rows = dens_rows(em_file(DENS_LOG))
    of_day = [sum(float(p) * f for p, f in zip(r[1].split(":"), (3600, 60, 1), strict=True)) for r in rows]
    seconds = np.array(of_day) - of_day[0]
    start = datetime(2015, 4, 16) + timedelta(seconds=of_day[0])  # header date 16/04/'15
    expected = {"Tset": ("degC", 2), "Tmeas": ("degC", 3), "Rheat": ("ohm", 4), "Vheat": ("V", 5)}
    expected |= {"Iheat": ("mA", 6), "Pheat": ("mW", 7)}
    with converted(DENS_LOG).h5() as h5:
        for number, (name, (units, column)) in enumerate(expected.items(), start=1):
            event = h5[EVENT.format(number)]
            values = np.array([float(r[column]) for r in rows])
            assert event["instrument/sensor/name"][()].decode() == name
            log = event["instrument/sensor/value_log"]
            np.testing.assert_allclose(log["time"][()], seconds)
            assert log["time"].attrs["units"] == "s"
            np.testing.assert_allclose(log["value"][()], values)
            assert log["value"].attrs["units"] == units
            assert event["instrument/sensor/value"][()] == pytest.approx(values.mean())
            assert event["start_time"][()].decode() == start.isoformat() + "+00:00"
            assert event["end_time"][()].decode() == (start + timedelta(seconds=seconds[-1])).isoformat() + "+00:00"
        assert h5[EVENT.format(1)]["instrument/sensor/measurement"][()] == b"temperature"
        assert h5[EVENT.format(3)]["instrument/sensor/measurement"][()] == b"resistance"
    assert names[2:4] == ["Tset[C]", "Tmeas[C]"]


def test_dens_misaligned_columns_are_refused_not_guessed():
    path = em_file(DENS_MISALIGNED)
    assert detect(path) is dens
    with pytest.raises(ConversionError, match="does not line up") as caught:
        read_signals(group_inputs([path])[0])
    assert "\n" not in str(caught.value)


def test_dens_truncated_log_fails_clearly(tmp_path):
    broken = tmp_path / "cut.dens"
    broken.write_bytes(em_file(DENS_LOG).read_bytes()[:300])
    with pytest.raises(ConversionError, match="Digiheater"):
        dens.read(broken, [])


# ---- DENSsolutions Impulse ----------------------------------------------------


def test_impulse_true_experiment_time_units_and_metadata(converted):
    with open(em_file(IMPULSE_CSV), newline="", encoding="latin-1") as handle:
        rows = list(csv.reader(handle))
    names = rows[0]
    seconds = np.array([float(r[1]) for r in rows[1:]])
    start = datetime(2021, 8, 6, 13, 40, 19)  # Experiment date 06-08-2021 (day-month-year), time 13:40:19
    with converted(IMPULSE_CSV, IMPULSE_LOG).h5() as h5:
        temperature = h5[EVENT.format(1)]
        log = temperature["instrument/sensor/value_log"]
        np.testing.assert_allclose(log["time"][()], seconds)  # not RosettaSciIO's uniform step from 0
        assert log["time"].attrs["units"] == "s"
        np.testing.assert_allclose(
            log["value"][()], [float(r[names.index("Temperature Measured (degC)")]) for r in rows[1:]]
        )
        assert log["value"].attrs["units"] == "degC"
        assert temperature["instrument/sensor/measurement"][()] == b"temperature"
        assert temperature["start_time"][()].decode() == start.isoformat() + "+00:00"
        gas = h5[EVENT.format(7)]
        assert gas["instrument/sensor/name"][()] == b"% Gas1 Measured"
        assert gas["instrument/sensor/value_log/value"].attrs["units"] == "percent"
        assert "units" not in h5[EVENT.format(3)]["instrument/sensor"].get("value_log/value", h5).attrs
        assert h5["entry1/sample/name"][()].decode() == "Gold"  # Sample, "Gold": the quotes are the log's CSV quoting


def test_impulse_metadata_log_alone_is_refused_with_what_to_pass():
    log = em_file(IMPULSE_LOG)
    assert detect(log) is impulse
    with pytest.raises(ConversionError, match=r"Synchronized data\.csv") as caught:
        read_signals(group_inputs([log])[0])
    assert "holds no data" in str(caught.value)


def test_impulse_renamed_log_is_refused(tmp_path):
    renamed = tmp_path / "mylog.csv"
    renamed.write_bytes(em_file(IMPULSE_CSV).read_bytes())
    with pytest.raises(ConversionError, match="exported name"):
        impulse.read(renamed, [])


def test_shared_cl_and_log_files_are_all_tested():
    listed = {*CONVERTED, DENS_MISALIGNED, IMPULSE_CSV, IMPULSE_LOG}
    assert set(shared_files("delmic/*") + shared_files("hamamatsu/*") + shared_files("dens/*")) <= listed


# ---- classification rules of the CL kinds without a shared file ----------------------------


def _signal(kinds: list[str], signal_type: str = "") -> Signal:
    axes = [Axis(kind, np.arange(1.0, 4.0), "", AxisKind(kind)) for kind in kinds]
    return Signal("t", np.zeros((3,) * len(kinds)), axes, Path("x.h5"), "delmic", signal_type=signal_type)


@pytest.mark.parametrize(
    ("kinds", "signal_type", "expected"),
    [
        (["time"], "LumiTransient", CL_TIME_RESOLVED),  # a time-correlator decay at one position: not an in-situ log
        (["space", "space", "time"], "LumiTransient", CL_TIME_RESOLVED),  # a decay per scan position
        (["time"], "", IN_SITU_LOG),
        (["space", "wavelength"], "CL_EK", CL_ANGLE_RESOLVED),  # E-k: angle x wavelength
        (["space", "space", "space", "space"], "CL_AR", CL_ANGLE_RESOLVED),  # not 4D-STEM
        (["space", "space", "space", "space"], "", "4D-STEM"),
        (["wavelength"], "CL_SEM", CL),  # one spectrum
        (["space", "wavelength"], "CL_SEM", CL_HYPERSPECTRAL),  # a line of spectra
        (["space", "space"], "CL", CL),  # a panchromatic (PMT) CL intensity map
    ],
)
def test_cl_kinds_are_decided_by_axes_and_signal_types(kinds, signal_type, expected):
    assert classify(_signal(kinds, signal_type), {}).label == expected


def write_odemis(path: Path, title: str, image: np.ndarray, scales: dict[str, np.ndarray]) -> None:
    """A minimal Odemis acquisition: a 5-D C, A, Z, Y, X image with its dimension scales and PhysicalData."""
    with h5py.File(path, "w") as h5:
        acquisition = h5.create_group("Acquisition0")
        data = acquisition.create_group("ImageData")
        dataset = data.create_dataset("Image", data=image)
        for dim, label in enumerate("CAZYX"):
            dataset.dims[dim].label = label
        for name, values in scales.items():
            data[f"DimensionScale{name}"] = values
        for name in ("XOffset", "YOffset", "ZOffset"):
            data[name] = 0.0
        data["TOffset"] = 1.7e9
        physical = acquisition.create_group("PhysicalData")
        for name, value in {"Title": title, "ChannelDescription": title}.items():
            physical[name] = np.array([value.encode()])
            physical[name].attrs["State"] = np.array([114])
        svi = acquisition.create_group("SVIData")
        svi["Company"], svi["WriterVersion"] = b"Delmic", b"Odemis 3.5.2"


def test_delmic_e_k_angles_from_the_dimension_scale(tmp_path):
    angles = np.linspace(-0.5, 0.5, 4)  # rad
    wavelengths = np.linspace(400e-9, 700e-9, 5)
    path = tmp_path / "ek.h5"
    scales = {"C": wavelengths, "A": angles, "X": 1e-7, "Y": 1e-7, "Z": 0.0}
    write_odemis(path, "AR Spectrum", np.arange(20, dtype="u2").reshape(5, 4, 1, 1, 1), scales)
    assert detect(path).NAME == "delmic"
    (signal,) = read_signals(group_inputs([path])[0])
    angle, wavelength = signal.axes
    assert (angle.kind, angle.units) == ("angle", "mrad")
    np.testing.assert_allclose(angle.values, angles * 1000)
    np.testing.assert_allclose(wavelength.values, wavelengths * 1e9)
    assert classify(signal, {}).label == CL_ANGLE_RESOLVED
    scales["A"] = np.array([np.nan, -0.1, 0.1, np.nan])  # pixels outside the mirror
    write_odemis(path, "AR Spectrum", np.arange(20, dtype="u2").reshape(5, 4, 1, 1, 1), scales)
    (signal,) = read_signals(group_inputs([path])[0])
    assert signal.axes[0].kind == "index" and any("NaN" in warning for warning in signal.warnings)
