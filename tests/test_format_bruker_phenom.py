"""Bruker Esprit (.bcf, .spx) and Thermo Fisher Phenom (.elid) files.

Expected values were read out of the vendor files independently: the bcf XML
header (extracted from the SFS container), the spx XML in a text editor, and
the ELID's embedded image XML and analysis records.
"""

from __future__ import annotations

import bz2
import json
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pytest

from conftest import assert_clean_nxem, em_file, full_data, nxdata_groups, scalar, shared_files
from pynxtools_em_plugin.errors import ConversionError
from pynxtools_em_plugin.formats import bruker, detect, phenom, read_head

BRUKER_FILES = shared_files("bruker/*.bcf") + shared_files("bruker/*.spx")
PHENOM_FILES = shared_files("phenom/*.elid")
SEM_BCF = "bruker/30x30_instructively_packed_16bit_compressed.bcf"
TEM_BCF = "bruker/test_TEM.bcf"
SPX = "bruker/bruker_nano.spx"
ELID = "phenom/Elid2Version0.elid"

#: Required NXem concepts these files do not record (no stage tilt in the bcf/ELID header).
LACKING = (r"measurement/event\d+/instrument/stage/tilt1",)

EV1 = "entry1/measurement/event1"
EV2 = "entry1/measurement/event2"


@pytest.mark.parametrize("relative", BRUKER_FILES + PHENOM_FILES)
def test_every_file_converts_validates_and_keeps_everything(relative, convert):
    assert_clean_nxem(convert(em_file(relative)), also_lacking=LACKING)


# ---- Bruker bcf ---------------------------------------------------------
def test_bcf_sem_map_and_image_metadata_with_units(convert):
    with convert(em_file(SEM_BCF)).h5() as h5:
        measurement = h5["entry1/measurement"]
        assert sorted(k for k in measurement if k.startswith("event")) == ["event1", "event2"]
        assert scalar(h5, f"{EV1}/image1/image_2d/title")[0] == "AsB"  # SEI plane is marked not valid
        for ev in (EV1, EV2):
            assert scalar(h5, f"{ev}/instrument/ebeam_column/electron_source/voltage") == (20.0, "kV")
            assert scalar(h5, f"{ev}/instrument/optics/magnification")[0] == pytest.approx(1819.22595)
            assert scalar(h5, f"{ev}/instrument/optics/working_distance") == (pytest.approx(8.45761), "mm")
            assert scalar(h5, f"{ev}/instrument/ebeam_column/scan_controller/dwell_time") == (2.0, "µs")
            position = h5[f"{ev}/instrument/stage/position"]
            np.testing.assert_allclose(position[()], [66940.81, 54233.16, 39194.77])
            assert position.attrs["units"] == "µm"
            assert scalar(h5, f"{ev}/instrument/stage/rotation") == (pytest.approx(326.10089), "degree")
            assert scalar(h5, f"{ev}/start_time")[0] == "2018-10-04T13:02:07+00:00"
        det = f"{EV2}/instrument/detector"
        assert scalar(h5, f"{det}/local_name")[0] == "XFlash 6|10"
        assert scalar(h5, f"{det}/type")[0] == "SD3pr"
        assert scalar(h5, f"{det}/serial_number")[0] == "8273/74"
        assert scalar(h5, f"{det}/eds_detector/window_type")[0] == "slew AP3.3"
        assert scalar(h5, f"{det}/eds_detector/elevation_angle") == (35.0, "degree")
        assert scalar(h5, f"{det}/sensor_thickness") == (0.45, "mm")
        atom_types = scalar(h5, "entry1/roi1/eds/indexing/atom_types")[0].split(", ")
        regions = ["P", "Ca", "Ti", "Nd", "Sm", "Gd", "Si", "C", "O", "Na", "Mg", "Al", "K", "Fe", "Ce", "Th"]
        assert sorted(atom_types) == sorted(regions)
        assert "atom_types" not in h5["entry1/sample"]


def test_bcf_spectrum_image_is_default_with_calibrated_axes(convert):
    with convert(em_file(SEM_BCF)).h5() as h5:
        default = full_data(h5)
        assert default.name == f"/{EV2}/spectrum1/spectrum_2d"
        assert default["intensity"].shape == (30, 30, 2048)
        energy = default["axis_energy"]
        assert energy.attrs["units"] == "eV"
        assert energy[0] == pytest.approx(-472.25277)  # CalibAbs -4.7225277E-1 keV
        assert energy[1] - energy[0] == pytest.approx(9.999)  # CalibLin 9.999E-3 keV
        for name, pixel_um in (("axis_i", 1.66740910949363), ("axis_j", 1.66740910949362)):  # DX, DY
            assert default[name].attrs["units"] == "nm"
            assert default[name][1] - default[name][0] == pytest.approx(pixel_um * 1000, rel=1e-12)
        assert int(np.asarray(default["intensity"]).sum()) > 0


def test_bcf_tem_map_records_no_working_distance(convert):
    with convert(em_file(TEM_BCF)).h5() as h5:
        assert scalar(h5, f"{EV1}/image1/image_2d/title")[0] == "HAADF"
        assert scalar(h5, f"{EV1}/instrument/ebeam_column/electron_source/voltage") == (200.0, "kV")
        assert "working_distance" not in h5[f"{EV1}/instrument/optics"]  # WD -1: not recorded
        image = h5[f"{EV1}/image1/image_2d"]
        assert image["axis_i"][1] - image["axis_i"][0] == pytest.approx(0.771004754204027)
        si = h5[f"{EV2}/spectrum1/spectrum_2d"]
        assert si["intensity"].shape == (64, 64, 2048)
        assert si["axis_energy"][0] == pytest.approx(-475.44754)
        assert si["axis_energy"][1] - si["axis_energy"][0] == pytest.approx(10.001)
        assert scalar(h5, f"{EV2}/instrument/detector/eds_detector/window_type")[0] == "no window"
        assert scalar(h5, f"{EV2}/start_time")[0] == "2016-08-09T14:48:10+00:00"


def test_bcf_width_axis_takes_the_pixel_width():
    """RosettaSciIO 0.15 scales both navigation axes of a spectrum image with DY."""
    entry = {
        "axes": [
            {"name": "height", "size": 2, "scale": 2.0, "units": "µm"},
            {"name": "width", "size": 3, "scale": 2.0, "units": "µm"},
            {"name": "Energy", "size": 4, "scale": 0.01, "units": "keV"},
        ],
        "original_metadata": {"Microscope": {"DX": 0.5, "DY": 2.0}},
    }
    bruker._fix_width_scale(entry)
    assert [axis["scale"] for axis in entry["axes"]] == [2.0, 0.5, 0.01]


def test_truncated_bcf_map_fails_with_one_error(tmp_path, convert):
    """A truncated map is refused before decoding (RosettaSciIO's decoder has no bounds checks)."""
    data = em_file(SEM_BCF).read_bytes()
    truncated = tmp_path / "truncated.bcf"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ConversionError, match=r"truncated\.bcf: looks like Bruker Esprit but .*truncated"):
        convert(truncated)


# ---- Bruker spx ---------------------------------------------------------
def test_spx_spectrum_times_energy_axis_and_sample(convert):
    path = em_file(SPX)
    xml = ElementTree.parse(path).getroot().find("./ClassInstance[@Type='TRTSpectrum']")
    live_ms = float(xml.findtext(".//ClassInstance[@Type='TRTSpectrumHardwareHeader']/LifeTime"))
    real_ms = float(xml.findtext(".//ClassInstance[@Type='TRTSpectrumHardwareHeader']/RealTime"))
    calib_abs = float(xml.findtext(".//ClassInstance[@Type='TRTSpectrumHeader']/CalibAbs"))
    calib_lin = float(xml.findtext(".//ClassInstance[@Type='TRTSpectrumHeader']/CalibLin"))
    assert (live_ms, real_ms, calib_abs, calib_lin) == (7385, 7575, -0.238925, 0.0025)
    with convert(path).h5() as h5:
        det = f"{EV1}/instrument/detector"
        assert scalar(h5, f"{det}/count_time") == (pytest.approx(live_ms / 1000), "s")
        assert scalar(h5, f"{det}/real_time") == (pytest.approx(real_ms / 1000), "s")
        assert scalar(h5, f"{det}/local_name")[0] == "XFlash 5010"
        assert scalar(h5, f"{det}/serial_number")[0] == "9990"
        spectrum = h5[f"{EV1}/spectrum1/spectrum_0d"]
        assert spectrum["intensity"].shape == (4096,)
        assert spectrum["axis_energy"].attrs["units"] == "eV"
        assert spectrum["axis_energy"][0] == pytest.approx(calib_abs * 1000)
        assert spectrum["axis_energy"][1] - spectrum["axis_energy"][0] == pytest.approx(calib_lin * 1000)
        assert scalar(h5, f"{EV1}/instrument/ebeam_column/electron_source/voltage") == (15.0, "kV")
        assert scalar(h5, f"{EV1}/instrument/optics/working_distance") == (9.0, "mm")
        assert scalar(h5, f"{EV1}/instrument/optics/magnification")[0] == pytest.approx(666.6666667)
        assert scalar(h5, f"{EV1}/start_time")[0] == "2018-03-02T13:53:04+00:00"  # 2.3.2018: day first
        assert scalar(h5, "entry1/sample/name")[0] == "Chalcopyrite"  # TSampleInformation, dropped by rsciio
        assert scalar(h5, "entry1/roi1/eds/indexing/atom_types")[0] == "Fe, S, Cu"
        raw = json.loads(h5[f"{EV1}/vendor_metadata/original_metadata"][()])
        assert raw["Results"]["Result"][0]["AtomPercent"] == pytest.approx(0.4176372041)


# ---- Phenom elid --------------------------------------------------------
def test_elid_keeps_all_eleven_signals_of_every_kind(convert):
    with convert(em_file(ELID)).h5() as h5:
        events = [k for k in h5["entry1/measurement"] if k.startswith("event")]
        assert len(events) == 11
        full = [group for group in nxdata_groups(h5) if "_preview/" not in group.name]  # not the previews
        kinds = sorted(group.name.rsplit("/", 1)[-1] for group in full)
        assert kinds == ["image_2d"] * 2 + ["spectrum_0d"] * 4 + ["spectrum_1d"] + ["spectrum_2d"] * 3 + ["stack_2d"]
        titles = [scalar(h5, f"entry1/measurement/event{i}/{g}/title")[0] for i, g in _data_groups(h5)]
        assert "Image 1, Line 4" in titles and "385test - spectrum, MSA 1" in titles
        thumbnail = h5["entry1/measurement/event8/image1/stack_2d"]
        assert thumbnail["real"].shape == (4, 24, 32)  # RGBA channels first
        colour = h5["entry1/measurement/event8/image_preview/image_2d/real"]  # shown as RGB: channels last, no alpha
        assert colour.shape == (24, 32, 3) and colour.dtype == thumbnail["real"].dtype
        assert np.array_equal(colour[()], np.moveaxis(thumbnail["real"][:3], 0, -1))
        assert full_data(h5).name == "/entry1/measurement/event4/spectrum1/spectrum_2d"


def _data_groups(h5) -> list[tuple[int, str]]:
    found = []
    for group in nxdata_groups(h5):
        parts = group.name.split("/")
        found.append((int(parts[3].removeprefix("event")), f"{parts[4]}/{parts[5]}"))
    return sorted(found)


def test_elid_image_metadata_with_units_and_file_zone(convert, monkeypatch):
    monkeypatch.setenv("EM_PLUGIN_TIMEZONE", "Europe/Amsterdam")
    with convert(em_file(ELID)).h5() as h5:
        ev = EV1
        assert scalar(h5, f"{ev}/instrument/ebeam_column/electron_source/voltage") == (15.0, "kV")  # -15 kV
        assert scalar(h5, f"{ev}/instrument/ebeam_column/electron_source/emission_current") == (40.3, "µA")
        assert scalar(h5, f"{ev}/instrument/optics/working_distance") == (pytest.approx(8.14175), "mm")
        assert scalar(h5, f"{ev}/instrument/ebeam_column/scan_controller/dwell_time") == (pytest.approx(0.2), "µs")
        assert scalar(h5, f"{ev}/instrument/detector/local_name")[0] == "QBSD"
        position = h5[f"{ev}/instrument/stage/position"]
        np.testing.assert_allclose(position[()], [-2586.744298575455, -732.2168400784014])
        assert position.attrs["units"] == "µm"
        # ELID times carry no zone: the assumed one, not the zone of the computer reading the file
        assert scalar(h5, f"{ev}/start_time")[0] == "2019-08-07T09:37:31+02:00"
        assert scalar(h5, f"{ev}/derived_metadata/assumed_time_zone")[0] == "Europe/Amsterdam"
        image = h5[f"{ev}/image1/image_2d"]
        assert image["real"].shape == (16, 20)
        assert image["axis_i"][1] - image["axis_i"][0] == pytest.approx(975.7792598920121)
        instrument = "entry1/measurement/instrument"
        assert scalar(h5, f"{instrument}/fabrication/model")[0] == "PhenomXL"
        assert scalar(h5, f"{instrument}/fabrication/serial_number")[0] == "MVE027364-0026-L"
        assert h5[f"{instrument}/program1/program"].attrs["version"] == "5.4.5.rc1.bb8fbe3.23039"


def test_elid_eds_spot_spectrum(convert):
    with convert(em_file(ELID)).h5() as h5:
        assert scalar(h5, f"{EV2}/spectrum1/spectrum_0d/title")[0] == "Image 1, Spot 1"
        det = f"{EV2}/instrument/detector"
        assert scalar(h5, f"{det}/count_time") == (pytest.approx(5.7203385), "s")
        assert scalar(h5, f"{det}/real_time") == (pytest.approx(10.1625), "s")
        assert scalar(h5, f"{det}/type")[0] == "FastSDD_C2"
        assert scalar(h5, f"{det}/eds_detector/energy_resolution") == (pytest.approx(126.0456157), "eV")
        assert scalar(h5, f"{det}/eds_detector/elevation_angle") == (pytest.approx(28.5), "degree")
        assert "scan_controller" not in h5[f"{EV2}/instrument/ebeam_column"]  # the image's dwell is not the spot's
        energy = h5[f"{EV2}/spectrum1/spectrum_0d/axis_energy"]
        assert energy.attrs["units"] == "eV"
        assert energy[0] == pytest.approx(-36.34370080990722)
        assert energy[1] - energy[0] == pytest.approx(9.886768029944209)


def test_elid_maps_are_scaled_to_their_rectangle(convert):
    """RosettaSciIO scales every map to the whole field (19.52 µm / 16 = 1.22 µm); map 3 covers
    the rectangle -0.3017..0.1949 of the field, map 1 of the second image all of it."""
    field_nm = 19515.585197840244
    with convert(em_file(ELID)).h5() as h5:
        map3 = h5["entry1/measurement/event4/spectrum1/spectrum_2d"]
        assert scalar(h5, "entry1/measurement/event4/spectrum1/spectrum_2d/title")[0] == "Image 1, Map 3"
        width = (0.19491525423728812 + 0.3016949152542373) * field_nm / 16
        height = (0.18983050847457628 + 0.30677966101694915) * field_nm / 16
        assert map3["axis_i"][1] - map3["axis_i"][0] == pytest.approx(width)
        assert map3["axis_j"][1] - map3["axis_j"][0] == pytest.approx(height)
        map1 = h5["entry1/measurement/event11/spectrum1/spectrum_2d"]
        assert map1["axis_i"][1] - map1["axis_i"][0] == pytest.approx(2030.1055702162964)
        derived = json.loads(h5["entry1/measurement/event4/derived_metadata/values"][()])
        assert derived["map_rectangle"]["left"] == pytest.approx(-0.3016949152542373)
        line = h5["entry1/measurement/event5/spectrum1/spectrum_1d"]
        assert line["intensity"].shape == (64, 2048)
        length = np.hypot(0.3169491525423729 + 0.18983050847457628, -0.12372881355932203 - 0.3779661016949153)
        assert line["axis_i"].attrs["units"] == "nm"
        assert line["axis_i"][-1] == pytest.approx(length * field_nm)


def test_truncated_elid_fails_with_one_error(tmp_path, convert):
    """RosettaSciIO's reader loops forever on a truncated ELID; it must fail instead."""
    truncated = tmp_path / "truncated.elid"
    truncated.write_bytes(em_file(ELID).read_bytes()[:50000])
    with pytest.raises(ConversionError, match=r"truncated\.elid: looks like Thermo Fisher Phenom ELID"):
        convert(truncated)


# ---- recognition ----------------------------------------------------------
def test_sniffing_by_content(tmp_path):
    assert detect(em_file(SEM_BCF)) is bruker
    assert detect(em_file(SPX)) is bruker
    assert detect(em_file(ELID)) is phenom
    renamed = tmp_path / "spectrum.xml"
    renamed.write_bytes(em_file(SPX).read_bytes())
    assert detect(renamed) is bruker
    database = b'<?xml version="1.0"?><TRTSpectrumDatabase><RTHeader/></TRTSpectrumDatabase>'
    assert not bruker.sniff(Path("x.xml"), database)
    other_bz2 = tmp_path / "notes.bz2"
    other_bz2.write_bytes(bz2.compress(b"not an ELID project " * 100))
    assert not phenom.sniff(other_bz2, read_head(other_bz2))
    assert phenom.elid_version(em_file(ELID)) == 0
