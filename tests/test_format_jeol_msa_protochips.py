"""JEOL Analysis Station, EMSA/MSA spectra and Protochips holder logs.

Expected values were read out of the vendor files independently: the JEOL
headers (AccV 200 kV, Mag 40000, ScanSize 178 mm over 512 pixels, Currnnt/AccNA
2.562 nA, WD 6 mm, DwellTime 0.1 ms, CoefA/CoefB/DigZ of the .pts), the MSA text
(parsed here with plain string splitting) and the Protochips CSV (read here with
the csv module).
"""

from __future__ import annotations

import csv
import json
import struct
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from conftest import EM_DATA, assert_clean_nxem, convert_files, em_file, full_data, scalar, shared_files
from pynxtools_em_plugin.errors import ConversionError
from pynxtools_em_plugin.formats import detect, jeol, msa, protochips
from pynxtools_em_plugin.reader import group_inputs

ASW = "jeol/rawdata.ASW"
VIEW = "jeol/Sample/00_View000"
PTS = f"{VIEW}/View000_0000006.pts"
JEOL_FILES = [p for p in shared_files("jeol/**/*") if Path(p).suffix.lower() in (".asw", ".img", ".map", ".pts")]
MSA_FILES = shared_files("msa/*.msa")
PROTOCHIPS_FILES = shared_files("protochips/*.csv")

#: Required NXem concepts these vendor files do not record.
LACKS = {
    "jeol": (r"measurement/event\d+/instrument/stage/position",),  # the project records the tilt only
    "protochips": (r"measurement/event\d+/instrument/ebeam_column",),  # a holder log knows no beam
}
#: The JEOL map pixel: ScanSize 178 mm / Mag 40000 / 512 pixels, in nm.
JEOL_PIXEL_NM = 178e6 / 40000 / 512
#: JEOL EDS calibration of the .pts: CoefA 0.00999866 keV/channel, CoefB -0.000789965 keV at channel DigZ 96.
JEOL_EV_PER_CHANNEL = 9.99866
JEOL_FIRST_EV = (-0.000789965 - 0.00999866 * 96) * 1000
EVENT = "entry1/measurement/event{}"


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """Each input combination converted once per module (the .pts alone is a 1 GiB cube)."""
    cache = {}

    def run(*relatives: str):
        if relatives not in cache:
            inputs = [em_file(r) for r in relatives]
            cache[relatives] = convert_files(inputs, tmp_path_factory.mktemp("jmp") / "out.nxs")
        return cache[relatives]

    return run


@pytest.mark.parametrize("relative", JEOL_FILES + MSA_FILES + PROTOCHIPS_FILES)
def test_every_file_converts_validates_and_keeps_everything(relative, converted):
    folder = relative.split("/")[0]  # jeol/, msa/, protochips/: named like the format
    fmt = detect(em_file(relative))
    assert folder == fmt.NAME
    assert_clean_nxem(converted(relative), also_lacking=LACKS.get(folder, ()))


def events(h5) -> list:
    measurement = h5["entry1/measurement"]
    return [measurement[f"event{i}"] for i in range(1, 100) if f"event{i}" in measurement]


def nxdata_of(event):
    """The NXdata of an event's image1/spectrum1 group."""
    group = event["image1"] if "image1" in event else event["spectrum1"]
    return next(child for child in group.values() if child.attrs.get("NX_class") == "NXdata")


def raw_metadata(event) -> dict:
    return json.loads(event["vendor_metadata/original_metadata"][()])


def derived_metadata(event) -> dict:
    return json.loads(event["derived_metadata/values"][()])


# ---- JEOL ------------------------------------------------------------------


def test_jeol_project_reads_all_seven_signals_with_element_maps(converted):
    with converted(ASW).h5() as h5:
        evs = events(h5)
        assert [nxdata_of(ev)["title"][()].decode() for ev in evs] == [
            "IMG1",
            "C K element map",
            "O K element map",
            "S K element map",
            "Fe K element map",
            "Cu K element map",
            "EDS spectrum image",
        ]
        element = derived_metadata(evs[4])["element_map"]
        assert element == {
            "element": "Fe",
            "line": "K",
            "atomic_number": 26,
            "channel_window": element["channel_window"],
        }
        assert raw_metadata(evs[1])["Map"]["Title"] == "C K"
        assert "asw" in raw_metadata(evs[0]) and derived_metadata(evs[0])["asw_viewinfo"]["Memo"] == "View000"
        context = evs[2]["image1/process/input/context"][()].decode()
        assert context.startswith("View000_0000002.map")
        assert full_data(h5).name.endswith("event7/spectrum1/spectrum_2d")


def test_jeol_image_calibration_and_microscope_settings(converted):
    with converted(ASW).h5() as h5:
        ev = EVENT.format(2)
        image = h5[f"{ev}/image1/image_2d"]
        assert image["real"].shape == (512, 512)
        for axis in ("axis_i", "axis_j"):
            assert image[axis].attrs["units"] == "nm"
            assert np.diff(image[axis][()])[0] == pytest.approx(JEOL_PIXEL_NM)
        ins = f"{ev}/instrument"
        assert scalar(h5, f"{ins}/ebeam_column/electron_source/voltage") == (200.0, "kV")
        assert scalar(h5, f"{ins}/optics/magnification")[0] == 40000
        current, units = scalar(h5, f"{ins}/optics/probe_current")
        assert current == pytest.approx(2.562, abs=1e-6) and units == "nA"
        assert scalar(h5, f"{ins}/optics/working_distance") == (6.0, "mm")
        assert scalar(h5, f"{ins}/ebeam_column/scan_controller/dwell_time") == (pytest.approx(100.0), "µs")
        assert scalar(h5, f"{ins}/stage/tilt1") == (0.0, "degree")
        assert scalar(h5, "entry1/measurement/instrument/fabrication/vendor")[0] == "JEOL"
        assert scalar(h5, "entry1/measurement/instrument/fabrication/model")[0] == "JEM-2100F(UHR)"
        # Image/Created of the .img: OLE date 42832.75561342593 days after 1899-12-30, local time
        assert scalar(h5, f"{EVENT.format(1)}/start_time")[0] == "2017-04-07T18:08:05+00:00"
        assert scalar(h5, "entry1/start_time")[0] == "2017-04-07T18:08:05+00:00"


def test_jeol_spectrum_image_keeps_every_count_with_calibrated_energy(converted):
    with converted(ASW).h5() as h5:
        ev = EVENT.format(7)
        si = h5[f"{ev}/spectrum1/spectrum_2d"]
        assert si["intensity"].shape == (512, 512, 4096)
        assert list(si.attrs["axes"]) == ["axis_j", "axis_i", "axis_energy"]
        energy = si["axis_energy"]
        assert energy.attrs["units"] == "eV"
        assert energy[0] == pytest.approx(JEOL_FIRST_EV)
        assert energy[1] - energy[0] == pytest.approx(JEOL_EV_PER_CHANNEL)
        assert np.diff(si["axis_i"][()])[0] == pytest.approx(JEOL_PIXEL_NM)
        # 308261 X-ray events: the sum of the 14 sweeps of the .pts read one by one
        cube = si["intensity"]
        step = cube.chunks[0]  # whole chunks: each is decompressed once
        total = sum(int(cube[row : row + step].sum(dtype=np.int64)) for row in range(0, 512, step))
        assert total == 308261
        det = f"{ev}/instrument/detector"
        assert scalar(h5, f"{det}/local_name")[0] == "EX24075JGT"
        assert scalar(h5, f"{det}/count_time") == (325.46, "s")
        assert scalar(h5, f"{det}/real_time") == (pytest.approx(366.9), "s")


def test_jeol_sub_file_alone(converted):
    with converted(f"{VIEW}/View000_0000000.img").h5() as h5:
        (ev,) = events(h5)
        assert ev["image1/image_2d/real"].shape == (512, 512)
        assert np.diff(ev["image1/image_2d/axis_i"][()])[0] == pytest.approx(JEOL_PIXEL_NM)
        assert ev["instrument/ebeam_column/electron_source/voltage"][()] == 200.0
        assert "asw" not in raw_metadata(ev)


def test_jeol_project_takes_its_files_as_companions_once():
    project = em_file(ASW)
    files = sorted((EM_DATA / VIEW).iterdir())
    others = [em_file(MSA_FILES[0]) if MSA_FILES else project]
    assert sorted(jeol.companions(project, [project, *files, *others])) == files
    assert jeol.companions(files[0], [project, *files]) == []
    groups = group_inputs([project, *files[:3]])
    assert [(a.format.NAME, a.main) for a in groups] == [("jeol", project)]


def test_jeol_project_without_its_folder_is_one_clear_error(tmp_path):
    lonely = tmp_path / "rawdata.ASW"
    lonely.write_bytes(em_file(ASW).read_bytes())
    with pytest.raises(ConversionError, match=r"View000_0000000\.img.*does not exist"):
        jeol.read(lonely, [])


@pytest.mark.parametrize(("name", "size"), [("cut.img", 3000), ("cut.pts", 3000), ("cut.ASW", 2000)])
def test_jeol_truncated_files_fail_clearly(tmp_path, name, size):
    source = {"img": f"{VIEW}/View000_0000000.img", "pts": PTS, "ASW": ASW}[name.split(".")[1]]
    broken = tmp_path / name
    broken.write_bytes(em_file(source).read_bytes()[:size])
    assert jeol.sniff(broken, broken.read_bytes()[:1024])
    with pytest.raises(ConversionError, match="truncated or damaged"):
        jeol.read(broken, [])


def test_jeol_renamed_file_is_named_as_such(tmp_path):
    renamed = tmp_path / "image.dat"
    renamed.write_bytes(em_file(f"{VIEW}/View000_0000000.img").read_bytes())
    with pytest.raises(ConversionError, match="rename"):
        jeol.read(renamed, [])


def test_jeol_partial_last_sweep_is_reported_with_its_counts(tmp_path):
    """Cut inside the third sweep: sweeps 1 and 2 hold 22355 + 21975 counts (read one by one)."""
    cut = tmp_path / "cut.pts"
    cut.write_bytes(em_file(PTS).read_bytes()[:250_000])
    (signal,) = jeol.read(cut, [])
    assert int(np.sum(signal.data, dtype=np.int64)) == 22355 + 21975
    (warning,) = signal.warnings
    assert "8295 X-ray counts" in warning and "2 complete sweeps" in warning


def test_jeol_pts_without_a_complete_sweep_is_refused(tmp_path):
    cut = tmp_path / "cut.pts"
    cut.write_bytes(em_file(PTS).read_bytes()[:100_000])
    with pytest.raises(ConversionError, match="no complete sweep"):
        jeol.read(cut, [])


def jeol_eds_file(path: Path, counts: np.ndarray) -> Path:
    """A JEOL .EDS spectrum in the layout RosettaSciIO's reader documents (no real one is shared)."""
    text = lambda s, n: s.encode().ljust(n, b"\0")  # noqa: E731
    head = struct.pack("<I6xd", 2, 43276.5625) + text("spot 1", 80) + text("JEM Administrator", 32)
    head += struct.pack("<i10di", 1, *range(10), 7) + struct.pack("<d", 0)
    head += struct.pack("<8d", 1.75, 0.14, 62.0, 0.01, 30.0, 31.5, 4.0, 1238.0)
    head += struct.pack("<i2ddd", 5, 0, 0, 0, 0) + struct.pack("<i2ddd", 5, 0, 0, 0, 0)
    head += struct.pack("<2d", 0.0100004, -0.00176612) + text("Ready", 32) + struct.pack("<id", 0, 0) + text("T4", 32)
    data = struct.pack("<i", counts.size) + counts.astype("<i4").tobytes()
    foot = struct.pack("<5i", 0, 0, 0, 0, 5) + text("EX24075JGT", 16) + text("JEM-ARM200F", 16) + text("ED", 16)
    foot += struct.pack("<2d", 200.0, 1.25) + bytes(38) + struct.pack("<6di", 138.0, 10.0, 14.5, 12.5, 22.3, 90.0, 0)
    foot += struct.pack("<d5H5d", 178.0, 100, 100, 80, 60, 33, 5.5, 90.0, 0.0, 22.3, 30.0)
    foot += text("Al", 4) + struct.pack("<Hd", 13, 0.02) + text("C5H8O2", 16) + struct.pack("<6H", 3, 6, 1, 8, 0, 0)
    foot += (
        struct.pack("<7d", 0.6, 0.08, 0.32, 0, 0, 0.01, 1.15) + text("Au", 4) + struct.pack("<H3d", 79, 0.015, 0.1, 3)
    )
    path.write_bytes(head + data + foot)
    return path


def test_jeol_eds_spectrum(tmp_path):
    counts = np.arange(2048) % 97
    spectrum = jeol_eds_file(tmp_path / "spot.EDS", counts)
    assert detect(spectrum).NAME == "jeol"
    result = convert_files([spectrum], tmp_path / "spot.nxs")
    assert_clean_nxem(result, also_lacking=LACKS["jeol"])
    with result.h5() as h5:
        ev = EVENT.format(1)
        data = h5[f"{ev}/spectrum1/spectrum_0d"]
        np.testing.assert_array_equal(data["intensity"][()], counts)
        assert data["axis_energy"].attrs["units"] == "eV"
        assert data["axis_energy"][0] == pytest.approx(-1.76612)
        assert data["axis_energy"][1] - data["axis_energy"][0] == pytest.approx(10.0004)
        assert scalar(h5, f"{ev}/instrument/ebeam_column/electron_source/voltage") == (200.0, "kV")
        assert scalar(h5, f"{ev}/instrument/optics/probe_current") == (1.25, "nA")
        assert scalar(h5, f"{ev}/instrument/optics/working_distance") == (10.0, "mm")
        assert scalar(h5, f"{ev}/instrument/stage/tilt1") == (12.5, "degree")
        assert scalar(h5, f"{ev}/instrument/detector/count_time") == (30.0, "s")
        assert scalar(h5, f"{ev}/instrument/detector/real_time") == (31.5, "s")
        assert scalar(h5, f"{ev}/instrument/detector/local_name")[0] == "EX24075JGT"
        assert scalar(h5, "entry1/measurement/instrument/name")[0] == "JEM-ARM200F"
        assert scalar(h5, "entry1/user_operator/name")[0] == "JEM Administrator"
        # OLE date 43276.5625 = 2018-06-25 13:30 (local, assumed UTC)
        assert scalar(h5, f"{ev}/start_time")[0] == "2018-06-25T13:30:00+00:00"


def test_jeol_sniffers_claim_only_their_files():
    for relative in JEOL_FILES:
        head = em_file(relative).read_bytes()[:1024]
        assert jeol.sniff(em_file(relative), head)
        assert not msa.sniff(em_file(relative), head) and not protochips.sniff(em_file(relative), head)
    for relative in MSA_FILES + PROTOCHIPS_FILES:
        assert not jeol.sniff(em_file(relative), em_file(relative).read_bytes()[:1024])


# ---- EMSA/MSA --------------------------------------------------------------


def msa_columns(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """X and Y columns of the data lines, read with plain string splitting."""
    lines = path.read_text(encoding="latin-1").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("#SPECTRUM")) + 1
    rows = [line.split(",") for line in lines[start:] if line.strip() and not line.startswith("#")]
    return np.array([float(r[0]) for r in rows]), np.array([float(r[1]) for r in rows])


@pytest.mark.parametrize("relative", MSA_FILES)
def test_msa_eels_spectrum_energy_axis_and_beam(relative, converted):
    x, y = msa_columns(em_file(relative))
    with converted(relative).h5() as h5:
        ev = EVENT.format(1)
        spectrum = h5[f"{ev}/spectrum1/spectrum_0d"]
        energy = spectrum["axis_energy"]
        assert energy.attrs["units"] == "eV"  # ISO 2022 file: XUNITS 'Energy Loss (eV)'
        np.testing.assert_allclose(energy[()], x)
        np.testing.assert_array_equal(spectrum["intensity"][()], y)
        assert spectrum["title"][()] == b"NIO EELS OK SHELL"
        ins = f"{ev}/instrument"
        assert scalar(h5, f"{ins}/ebeam_column/electron_source/voltage") == (120.0, "kV")
        assert scalar(h5, f"{ins}/ebeam_column/electron_source/emission_current") == (5.5, "µA")
        assert scalar(h5, f"{ins}/ebeam_column/operation_mode")[0] == "imaging"
        assert scalar(h5, f"{ins}/optics/probe_current") == (12.345, "nA")
        assert scalar(h5, f"{ins}/optics/semi_convergence_angle") == (1.5, "mrad")
        assert scalar(h5, f"{ins}/optics/magnification")[0] == 100.0
        probe = h5[f"{ins}/optics/probe"]
        np.testing.assert_allclose(probe[()], [50.0, 50.0])  # BEAMDIAM 100 nm
        assert probe.attrs["units"] == "nm"
        assert scalar(h5, f"{ins}/detector/collection_semi_angle/outer") == (3.4, "mrad")
        assert scalar(h5, f"{ins}/detector/count_time") == (pytest.approx(0.1), "s")  # DWELLTIME 100 ms
        assert scalar(h5, f"{ins}/detector/type")[0] == "serial EELS spectrometer"
        assert scalar(h5, "entry1/sample/thickness") == (50.0, "nm")
        assert scalar(h5, "entry1/user_operator/name")[0] == "EMSA/MAS TASK FORCE"
        assert scalar(h5, f"{ev}/start_time")[0] == "1991-10-01T12:00:00+00:00"
        assert derived_metadata(h5[ev])["keywords"]["BEAMKV"] == 120.0
        assert any(key.startswith("BEAMKV") for key in raw_metadata(h5[ev]))


def test_msa_x_unit_in_parentheses_is_understood():
    path = em_file("msa/ISO_22029_2022_compliance.msa")
    (signal,) = msa.read(path, [])
    assert signal.metadata["XUNITS"] == "Energy Loss (eV)"
    assert signal.axes[0].units == "eV" and signal.axes[0].kind == "energy"


def test_msa_unit_suffixes_are_normalised(tmp_path):
    text = """#FORMAT      : EMSA/MAS Spectral Data File
#VERSION     : 1.0
#TITLE       : EDS with unusual units
#DATE        : 25-JUN-2018
#TIME        : 14:14
#NPOINTS     : 4
#NCOLUMNS    : 1
#XUNITS      : KeV
#YUNITS      : counts
#DATATYPE    : Y
#XPERCHAN    : 0.01
#OFFSET      : -0.2
#SIGNALTYPE  : EDS
#BEAMKV   -V : 15000
#PROBECUR -pA: 250
#DWELLTIME-us: 500
#LIVETIME  -s: 30.5
#XTILTSTGE-dg: 12.5
#XPOSITION-um: 1500
#YPOSITION-mm: -2
#ZPOSITION-mm: 10
#MAGCAM      : 150
#OPERMODE    : DIFF
#EDSDET      : SIUTW
#SPECTRUM    : Spectral Data Starts Here
1, 2, 3, 4
#ENDOFDATA   :
"""
    path = tmp_path / "units.msa"
    path.write_text(text, encoding="latin-1")
    result = convert_files([path], tmp_path / "units.nxs")
    assert_clean_nxem(result, also_lacking=(r"measurement/event\d+/instrument/stage/tilt2",))
    with result.h5() as h5:
        ins = f"{EVENT.format(1)}/instrument"
        assert scalar(h5, f"{ins}/ebeam_column/electron_source/voltage") == (15.0, "kV")
        assert scalar(h5, f"{ins}/optics/probe_current") == (pytest.approx(0.25), "nA")
        assert scalar(h5, f"{ins}/optics/camera_length") == (150.0, "mm")  # MAGCAM in diffraction
        assert f"{ins}/optics/magnification" not in h5
        assert scalar(h5, f"{ins}/detector/count_time") == (30.5, "s")  # LIVETIME before DWELLTIME
        assert scalar(h5, f"{ins}/detector/type")[0] == "SIUTW"
        assert scalar(h5, f"{ins}/stage/tilt1") == (12.5, "degree")  # 'dg' is degrees here, not decigram
        position = h5[f"{ins}/stage/position"]
        np.testing.assert_allclose(position[()], [1500.0, -2000.0, 10000.0])
        assert position.attrs["units"] == "µm"
        energy = h5[f"{EVENT.format(1)}/spectrum1/spectrum_0d/axis_energy"]
        np.testing.assert_allclose(energy[()], [-200.0, -190.0, -180.0, -170.0])  # KeV means keV
        keywords = derived_metadata(h5[EVENT.format(1)])["keywords"]
        assert keywords["DWELLTIME"] == pytest.approx(0.5)  # 500 µs in the standard ms
        assert keywords["BEAMKV"] == pytest.approx(15.0)


def test_msa_header_without_data_is_refused(tmp_path):
    broken = tmp_path / "cut.msa"
    broken.write_bytes(em_file("msa/example1.msa").read_bytes()[:400])
    assert msa.sniff(broken, broken.read_bytes())
    with pytest.raises(ConversionError, match="no spectrum data"):
        msa.read(broken, [])


def test_msa_npoints_mismatch_is_reported():
    (signal,) = msa.read(em_file("msa/example1.msa"), [])  # NPOINTS 20, 21 data lines
    assert signal.shape == (21,)
    assert any("NPOINTS announces 20" in w for w in signal.warnings)


# ---- Protochips ------------------------------------------------------------


def protochips_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    """Column names and the logged rows after the header block (which ends with the 'User' note)."""
    with open(path, newline="", encoding="latin-1") as handle:
        rows = list(csv.reader(handle))
    names = [name.strip() for name in rows[0]]
    end = next(i for i, row in enumerate(rows) if row[1].startswith("User"))
    return names, rows[end + 1 :]


def test_protochips_true_time_stamps_and_sensors(converted):
    path = em_file("protochips/protochips_gas_cell.csv")
    names, rows = protochips_rows(path)
    seconds = np.array([float(r[0]) for r in rows]) / 1000  # Time units = Milliseconds
    assert len(np.unique(np.round(np.diff(seconds), 3))) > 1  # the logger's steps are not uniform
    start = datetime(2014, 12, 15, 19, 7, 4, 165000)  # Date (yyyy.mm.dd), Time (hh:mm:ss.ms) notes
    with converted("protochips/protochips_gas_cell.csv").h5() as h5:
        evs = events(h5)
        assert len(evs) == len(names) - 2
        for ev, column in zip(evs, names[2:], strict=True):
            series = ev["image1/image_1d"]
            axis = series["axis_i"]
            assert axis.attrs["units"] == "s"
            np.testing.assert_allclose(axis[()], seconds)
            values = np.array([float(r[names.index(column)]) for r in rows])
            np.testing.assert_allclose(series["real"][()], values)
            assert ev["instrument/sensor/name"][()].decode() == column
            assert ev["instrument/sensor/value"][()] == pytest.approx(values.mean())
            log = ev["instrument/sensor/value_log"]  # the whole series with the units of its values
            np.testing.assert_allclose(log["value"][()], values)
            np.testing.assert_allclose(log["time"][()], seconds)
            assert log["time"].attrs["units"] == "s"
            assert log["value"].attrs["units"] == ev["instrument/sensor/value"].attrs["units"]
            assert ev["start_time"][()].decode() == start.isoformat() + "+00:00"
            assert ev["end_time"][()].decode() == (start + timedelta(seconds=seconds[-1])).isoformat() + "+00:00"
        temperature = evs[0]
        assert temperature["instrument/sensor/measurement"][()] == b"temperature"
        assert temperature["instrument/sensor/value"].attrs["units"] == "degC"  # Temperature units = Degrees C
        assert temperature["instrument/sensor/value_log/time"].attrs["start"].startswith("2014-12-15T19:07:04.165")
        assert "degC" in temperature["image1/image_1d/real"].attrs["long_name"]
        assert evs[1]["instrument/sensor/measurement"][()] == b"pressure"
        assert evs[1]["instrument/sensor/value"].attrs["units"] == "torr"
        assert scalar(h5, "entry1/user_operator/name")[0] == "eric"
        assert derived_metadata(evs[0])["notes"]["Chip type"] == "E-GAS-RTD"


def test_protochips_truncated_log_fails_clearly(tmp_path):
    broken = tmp_path / "cut.csv"
    broken.write_bytes(em_file("protochips/protochips_gas_cell.csv").read_bytes()[:700])
    assert protochips.sniff(broken, broken.read_bytes())
    with pytest.raises(ConversionError, match="Protochips"):
        protochips.read(broken, [])


def test_protochips_sniff_needs_the_log_header(tmp_path):
    other = tmp_path / "other.csv"
    other.write_text("Time,Notes,Value\n0,,1\n")
    assert not protochips.sniff(other, other.read_bytes())


def test_protochips_other_units_and_no_extrapolation_warning(tmp_path):
    log = tmp_path / "bias.csv"
    log.write_text(
        "Time, Notes,Heater Current,Bias Voltage\n"
        "0,Date (yyyy.mm.dd) = 2020.01.31,0,0\n"
        "0,Time (hh:mm:ss.ms) = 23:59:59.500,0,0\n"
        "0,Time units = Seconds,0,0\n"
        "0,Current units = Amps,0,0\n"
        "0,Voltage units = Volts,0,0\n"
        "1,User agreeing to terms = ann,0,0\n"
        "2,,0.001,5\n3.5,,0.002,6\n7,,0.003,7\n7.25,,0.002,6\n9,,0.002,6\n"
    )
    current, voltage = protochips.read(log, [])
    assert current.axes[0].units == "s" and current.axes[0].kind == "time"
    np.testing.assert_allclose(current.axes[0].values, [2.0, 3.5, 7.0, 7.25, 9.0])
    assert current.derived["sensor"] == {
        "name": "Heater Current",
        "measurement": "current",
        "average": {"A": pytest.approx(0.002)},
    }
    assert voltage.derived["sensor"]["average"] == {"V": pytest.approx(6.0)}
    assert current.derived["end_time"] == "2020-02-01T00:00:08.500000"
    assert not any("not uniform" in w for s in (current, voltage) for w in s.warnings)
