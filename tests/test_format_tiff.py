"""TIFF family and plain images.

Every shared TIFF converts cleanly; per vendor flavour the values and units
are asserted against the vendor tags read independently (tifffile /
RosettaSciIO original_metadata / the DM tag group), e.g. FEI [EBeam] HV 5000 V,
[Stage] StageT in radians, Zeiss ap_width / 512 pixels, JEOL SightX
PixelsPerMeter. TESCAN, Hitachi, FEI with malformed values, FEI TEM XML and
plain files are small synthetic files written by ``fixtures_tiff``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import fixtures_tiff as fx
from conftest import assert_clean_nxem, em_file, nxdata_groups, scalar, shared_files
from pynxtools_em_plugin.errors import ConversionError
from pynxtools_em_plugin.formats import Acquisition, detect, read_signals, tiff
from pynxtools_em_plugin.formats.tiff import tvips
from pynxtools_em_plugin.formats.tiff._context import Context, Item

TIFF_FILES = shared_files("tiff/*.tif")
EV = "entry1/measurement/event1"
INSTR = f"{EV}/instrument"

#: Required NXem concepts these files truly do not record.
ALSO_LACKING = {
    # an optical navigation-camera picture: no electron-beam settings at all
    "FEI-Helios-navcam.tif": (r"measurement/event1/instrument/ebeam_column",),
    # SIS records magnification and camera, no high tension
    "olympus_SIS.tif": (r"measurement/event\d/instrument/ebeam_column",),
}


def raw_metadata(h5, event: str = EV) -> dict:
    return json.loads(h5[f"{event}/vendor_metadata/original_metadata"][()])


def derived_values(h5, event: str = EV) -> dict:
    return json.loads(h5[f"{event}/derived_metadata/values"][()])


def image(h5, event: str = EV):
    return h5[f"{event}/image1/image_2d"]


def step(axis) -> float:
    return float(axis[1] - axis[0])


@pytest.mark.parametrize("relative", TIFF_FILES)
def test_every_shared_tiff_converts_cleanly(relative, convert):
    result = convert(em_file(relative))
    assert_clean_nxem(result, also_lacking=ALSO_LACKING.get(Path(relative).name, ()))


#: Vendor blocks the tiff package parses itself and stores next to RosettaSciIO's original_metadata
#: (listed in the package docstring), per shared file.
OUR_VENDOR_BLOCKS = {
    "FEI-Helios-Ebeam-16bits.tif": {"fei_ini", "fei_metadata_text"},
    "FEI-Helios-navcam.tif": {"fei_ini", "fei_metadata_text"},
    "test_loading_image_saved_with_DM.tif": {"DigitalMicrograph"},
}


@pytest.mark.parametrize("relative", TIFF_FILES)
def test_stored_vendor_tree_is_rosettasciio_original_metadata_plus_our_blocks(relative, convert):
    from rsciio.tiff import file_reader

    from pynxtools_em_plugin.nexus.rawjson import to_json

    path = em_file(relative)
    expected = [json.loads(to_json(entry["original_metadata"])) for entry in file_reader(str(path))]
    with convert(path).h5() as h5:
        events = sorted(name for name in h5["entry1/measurement"] if name.startswith("event"))
        stored = [raw_metadata(h5, f"entry1/measurement/{event}") for event in events]
    assert len(stored) == len(expected)
    ours = OUR_VENDOR_BLOCKS.get(Path(relative).name, set())
    for tree, original in zip(stored, expected, strict=True):
        assert set(tree) - set(original) == ours
        assert {key: value for key, value in tree.items() if key not in ours} == original


def test_fei_helios_sem_values_units_and_radian_stage(convert):
    result = convert(em_file("tiff/FEI-Helios-Ebeam-16bits.tif"))
    with result.h5() as h5:
        assert derived_values(h5)["tiff_flavour"] == "FEI/Thermo Fisher SEM/FIB"
        assert scalar(h5, f"{INSTR}/ebeam_column/electron_source/voltage") == (5.0, "kV")  # HV=5000 (V)
        assert scalar(h5, f"{INSTR}/optics/working_distance") == (pytest.approx(4.03466), "mm")  # WD=0.00403466 m
        assert scalar(h5, f"{INSTR}/ebeam_column/scan_controller/dwell_time") == (pytest.approx(10.0), "µs")
        assert scalar(h5, f"{INSTR}/detector/local_name")[0] == "ETD"
        assert scalar(h5, f"{INSTR}/detector/operation_mode")[0] == "SE"
        assert scalar(h5, f"{EV}/start_time")[0] == "2016-06-13T17:06:40+00:00"  # 06/13/2016 05:06:40 PM
        assert scalar(h5, f"{EV}/derived_metadata/assumed_time_zone")[0] == "UTC"
        tilt, units = scalar(h5, f"{INSTR}/stage/tilt1")  # StageT=6.54498e-06 rad
        assert units == "degree" and tilt == pytest.approx(np.degrees(6.54498e-06))
        assert scalar(h5, f"{INSTR}/stage/rotation")[0] == pytest.approx(np.degrees(-2.3611))
        np.testing.assert_allclose(h5[f"{INSTR}/stage/position"][()], [25.76, -194.177, 7965.0])
        assert h5[f"{INSTR}/stage/position"].attrs["units"] == "µm"
        assert scalar(h5, "entry1/measurement/instrument/fabrication/model")[0] == 'Helios NanoLab" 660'
        assert scalar(h5, "entry1/measurement/instrument/fabrication/serial_number")[0] == "9922607"
        assert scalar(h5, "entry1/user_operator/name")[0] == "supervisor"
        img = image(h5)
        assert img["real"].shape == (471, 512)  # data bar rows kept
        assert img["axis_i"].attrs["units"] == "nm"
        assert step(img["axis_i"]) == pytest.approx(3372.4)  # [Scan] PixelWidth=3.3724e-06 m
        assert step(img["axis_j"]) == pytest.approx(3372.4)


def test_fei_navcam_has_no_electron_beam_values(convert):
    result = convert(em_file("tiff/FEI-Helios-navcam.tif"))
    with result.h5() as h5:
        assert "ebeam_column" not in h5[INSTR]
        assert scalar(h5, f"{INSTR}/detector/local_name")[0] == "Nav-Cam"
        assert "operation_mode" not in h5[f"{INSTR}/detector"]  # the file writes Mode=None
        img = image(h5)
        assert step(img["axis_i"]) == pytest.approx(0.202732 / 768 * 1e9)  # [IRBeam] HFW / ResolutionX
        assert step(img["axis_j"]) == pytest.approx(0.135155 / 512 * 1e9)


def test_zeiss_eht_wd_and_pixel_size(convert):
    result = convert(em_file("tiff/test_tiff_Zeiss_SEM_512pix.tif"))
    with result.h5() as h5:
        assert derived_values(h5)["tiff_flavour"] == "Zeiss SEM"
        assert scalar(h5, f"{INSTR}/ebeam_column/electron_source/voltage") == (5.0, "kV")  # EHT = 5.0 kV
        assert scalar(h5, f"{INSTR}/optics/working_distance") == (3.9, "mm")  # WD = 3.9 mm
        assert scalar(h5, f"{INSTR}/optics/magnification")[0] == 50000.0  # "50.00 K X"
        assert scalar(h5, f"{INSTR}/detector/local_name")[0] == "InLens"
        np.testing.assert_allclose(h5[f"{INSTR}/stage/position"][()], [62996.1, 65316.8, 44678.0])
        assert scalar(h5, f"{EV}/start_time")[0] == "2018-09-25T08:20:42+00:00"
        img = image(h5)
        assert img["real"].shape == (384, 512)
        # ap_width 5.965 µm over 512 pixels (ap_pixel_size 5.825 nm refers to 1024 pixels)
        assert step(img["axis_i"]) * 512 == pytest.approx(5965, rel=1e-3)


def test_jeol_sightx_pixel_size_from_pixels_per_meter(convert):
    result = convert(em_file("tiff/JEOL-SightX-TEM-mag-dummy.tif"))
    with result.h5() as h5:
        img = image(h5)
        # SightX: 1 / (PixelsPerMeter 3642 * magnification 150000); RosettaSciIO's 93 dpi gives 1.8208 nm
        assert step(img["axis_i"]) == pytest.approx(1e9 / (3642 * 150000))
        assert img["axis_i"].attrs["units"] == "nm"
        assert scalar(h5, f"{EV}/start_time")[0] == "2019-11-27T16:11:26.620540+09:00"
        assert "assumed_time_zone" not in h5[EV].get("derived_metadata", {})
        assert scalar(h5, f"{INSTR}/ebeam_column/electron_source/voltage") == (200.0, "kV")
        assert scalar(h5, f"{INSTR}/ebeam_column/operation_mode")[0] == "TEM"
        assert scalar(h5, f"{INSTR}/optics/magnification")[0] == 150000.0
        assert scalar(h5, f"{INSTR}/detector/count_time") == (pytest.approx(0.1), "s")  # "100.00 msec"
        assert scalar(h5, "entry1/measurement/instrument/fabrication/vendor")[0] == "JEOL Ltd."


def test_sightx_measurement_overlay_agrees_with_the_corrected_scale():
    """SightX's own '237.86nm' label for a line of 129.94 pixels: 1.8305 nm per pixel."""
    signal = tiff.read(em_file("tiff/JEOL-SightX-TEM-mag-dummy.tif"), [])[0]
    length_px = np.hypot(501.8139 - 458.364624, 504.808838 - 382.3432)
    assert signal.axes[1].values[1] * length_px == pytest.approx(237.86, abs=0.01)


def test_tvips_pixel_size_voltage_and_decoded_date(convert):
    result = convert(em_file("tiff/TVIPS_bin4.tif"))
    with result.h5() as h5:
        img = image(h5)
        assert step(img["axis_i"]) == pytest.approx(1.4208036661148071)  # PixelSizeX (nm)
        assert scalar(h5, f"{INSTR}/ebeam_column/electron_source/voltage") == (99.0, "kV")  # TemHighTension 99000 V
        assert scalar(h5, f"{INSTR}/optics/magnification")[0] == 32000.0
        assert scalar(h5, f"{INSTR}/detector/count_time") == (pytest.approx(0.4), "s")  # ExposureTime 400 ms
        # Date 132187148 = 0x07E1040C -> 2017-04-12 (the image name says 12-04-2017); Time 32477 s
        assert scalar(h5, f"{EV}/start_time")[0] == "2017-04-12T09:01:17+00:00"


def test_tvips_diffraction_axes_are_not_labelled_nm():
    entry = {
        "original_metadata": {"TVIPS": {"TemMode": 3, "Date": 0, "Time": 0}},
        "axes": [{"name": "height", "scale": 0.5, "units": "nm"}, {"name": "width", "scale": 0.5, "units": "nm"}],
    }
    ctx = Context(Path("diff.tif"), {}, {}, "<")
    tvips.prepare(Item(entry), ctx)
    assert all(axis["units"] is None for axis in entry["axes"])
    assert "diffraction" in ctx.warnings[0]


def test_olympus_sis_preview_and_data_both_kept_and_calibrated(convert):
    result = convert(em_file("tiff/olympus_SIS.tif"))
    pixel_nm = 2.392791775876109e-11 * 1e9  # SIS pixelsizex, unrounded
    with result.h5() as h5:
        data = image(h5, "entry1/measurement/event2")
        assert data["real"].dtype == np.uint16 and data["real"].shape == (101, 112)
        assert step(data["axis_i"]) == pytest.approx(pixel_nm, rel=1e-9)
        assert scalar(h5, "entry1/measurement/event2/instrument/optics/magnification")[0] == 600000.0
        preview = h5["entry1/measurement/event1/image1"]
        (group,) = [g for g in preview.values() if g.attrs.get("NX_class") == "NXdata"]
        assert group["real"].shape[0] == 3  # R, G, B
        assert step(group["axis_i"]) == pytest.approx(pixel_nm, rel=1e-9)
        assert "RGB preview" in group["title"][()].decode()
        assert scalar(h5, f"{INSTR}/detector/local_name")[0] == "Quemesa"


def test_digitalmicrograph_export_offsets_in_um_and_dm_tags(convert):
    result = convert(em_file("tiff/test_loading_image_saved_with_DM.tif"))
    with result.h5() as h5:
        img = image(h5)
        assert step(img["axis_i"]) == pytest.approx(168.67469251, rel=1e-7)  # 0.16867469 µm
        assert img["axis_i"][0] == pytest.approx(139662.6434, rel=1e-7)  # x origin 139.66 µm
        assert img["axis_j"][0] == pytest.approx(128192.7643, rel=1e-7)  # y origin 128.19 µm
        assert scalar(h5, f"{INSTR}/ebeam_column/electron_source/voltage") == (200.0, "kV")
        assert scalar(h5, f"{INSTR}/optics/magnification")[0] == 51.0
        assert scalar(h5, f"{INSTR}/detector/local_name")[0] == "BM-UltraScan"
        assert scalar(h5, "entry1/measurement/instrument/name")[0] == "FEI Tecnai"
        assert raw_metadata(h5)["DigitalMicrograph"]["Acquisition"]["Device"]["CCD"]["Pixel Size (um)"] == [14.0, 14.0]


def test_fei_sniffed_by_content_not_name(tmp_path):
    renamed = tmp_path / "acquisition.dat"
    renamed.symlink_to(em_file("tiff/FEI-Helios-Ebeam-16bits.tif"))
    assert detect(renamed).NAME == "tiff"
    assert tiff.read(renamed, [])[0].derived["tiff_flavour"] == "FEI/Thermo Fisher SEM/FIB"


# ---- synthetic vendor files -------------------------------------------------------


@pytest.mark.parametrize("variant", ["tag", "hdr", "tag+hdr"])
def test_tescan_tag_or_hdr_sidecar(variant, tmp_path, convert):
    path = fx.write_tescan(tmp_path, with_tag="tag" in variant, with_hdr="hdr" in variant)
    inputs = [path, tmp_path / "tescan-tif.hdr"] if "hdr" in variant else [path]
    result = convert(*inputs)
    assert_clean_nxem(result)
    with result.h5() as h5:
        assert list(h5["entry1/measurement"]) == ["event1", "instrument"]  # the .hdr is no event of its own
        assert derived_values(h5)["tiff_flavour"] == "TESCAN"
        assert scalar(h5, f"{INSTR}/ebeam_column/electron_source/voltage") == (15.0, "kV")  # HV=15000.0 V
        assert scalar(h5, f"{INSTR}/optics/working_distance") == (pytest.approx(5.1), "mm")  # WD=0.0051 m
        assert scalar(h5, f"{INSTR}/ebeam_column/scan_controller/dwell_time") == (pytest.approx(3.2), "µs")
        assert scalar(h5, f"{INSTR}/optics/magnification")[0] == 25000.0
        assert scalar(h5, f"{INSTR}/detector/local_name")[0] == "SE"
        assert scalar(h5, f"{INSTR}/stage/tilt1") == (10.0, "degree")
        np.testing.assert_allclose(h5[f"{INSTR}/stage/position"][()], [12000.0, -3000.0, 9500.0])
        assert scalar(h5, f"{EV}/start_time")[0] == "2019-03-15T10:31:53+00:00"
        assert scalar(h5, "entry1/measurement/instrument/fabrication/serial_number")[0] == "123-0045"
        assert step(image(h5)["axis_i"]) == pytest.approx(5.0)  # PixelSizeX=5.0e-09 m


def test_hitachi_sidecar_values_with_their_units(tmp_path, convert):
    path, sidecar = fx.write_hitachi(tmp_path)
    result = convert(path, sidecar)
    assert_clean_nxem(result)
    with result.h5() as h5:
        assert derived_values(h5)["tiff_flavour"] == "Hitachi"
        assert scalar(h5, f"{INSTR}/ebeam_column/electron_source/voltage") == (3.0, "kV")  # 3000 Volt
        assert scalar(h5, f"{INSTR}/optics/working_distance") == (8.0, "mm")  # 8000 um
        assert scalar(h5, f"{INSTR}/ebeam_column/electron_source/emission_current") == (10.0, "µA")  # 10000 nA
        assert scalar(h5, f"{INSTR}/optics/magnification")[0] == 10000.0
        assert scalar(h5, f"{EV}/start_time")[0] == "2017-06-27T15:53:47+00:00"
        assert scalar(h5, "entry1/measurement/instrument/fabrication/model")[0] == "SU8230"
        assert scalar(h5, "entry1/measurement/instrument/fabrication/serial_number")[0] == "123189-06"
        assert step(image(h5)["axis_i"]) == pytest.approx(12.40234)  # PixelSize (nm)


def test_hitachi_sidecar_next_to_the_image_is_found(tmp_path):
    path, _ = fx.write_hitachi(tmp_path)
    signal = tiff.read(path, [])[0]
    assert signal.derived["sidecar_file"] == "hitachi.txt"
    assert signal.metadata["Hitachi"]["SemImageFile"]["WorkingDistance"] == "8000 um"  # as written
    assert signal.derived["by_unit"]["Hitachi"]["SemImageFile"]["WorkingDistance"] == {"um": 8000.0}
    assert signal.axes[0].units == "nm"


def test_sidecar_alone_is_a_clear_error(tmp_path):
    path, sidecar = fx.write_hitachi(tmp_path)
    assert detect(sidecar).NAME == "tiff"
    assert "Hitachi metadata sidecar" in tiff.lone_companion(sidecar)
    assert tiff.lone_companion(path) is None
    with pytest.raises(ConversionError, match="Hitachi metadata sidecar, not an image; convert it together with"):
        read_signals(Acquisition(tiff, sidecar))


def test_fei_malformed_values_repaired_or_refused(tmp_path, convert):
    result = convert(fx.write_fei_malformed(tmp_path))
    assert_clean_nxem(result)
    assert any("vendor key 'fei_ini/EBeam/WD': '1.#QNAN' is not a number" in w for w in result.conversion_warnings)
    with result.h5() as h5:
        assert scalar(h5, f"{INSTR}/ebeam_column/electron_source/voltage") == (pytest.approx(15.0005), "kV")
        assert "working_distance" not in h5[f"{INSTR}/optics"]  # never '1' read from '1.#QNAN'
        assert scalar(h5, f"{INSTR}/optics/field_of_view") == (pytest.approx(1.6), "µm")  # HFW=0,0000016 m
        assert step(image(h5)["axis_i"]) == pytest.approx(25.0)  # PixelWidth=2,5e-008 m
        raw = raw_metadata(h5)
        for tree in ("fei_ini", "fei_metadata"):  # ours and RosettaSciIO's parse: values as written
            assert raw[tree]["EBeam"] == {"HV": "15000,5", "WD": "1.#QNAN", "HFW": "0,0000016", "BeamCurrent": 2.1e-10}
        assert raw["fei_ini"]["MultiGISGas1 (2)"] == {"GasName": "C"}  # repeated section kept
        assert raw["fei_xml_metadata"] == {"Extra": {"Chamber": "xT-SDB"}}


def test_fei_tem_xml_tag(tmp_path, convert):
    result = convert(fx.write_titan(tmp_path))
    assert_clean_nxem(result)
    with result.h5() as h5:
        assert derived_values(h5)["tiff_flavour"] == "FEI/Thermo Fisher TEM"
        assert scalar(h5, f"{INSTR}/ebeam_column/electron_source/voltage") == (300.0, "kV")
        assert scalar(h5, f"{INSTR}/optics/magnification")[0] == 225000.0
        assert scalar(h5, "entry1/measurement/instrument/name")[0] == "Titan 80-300"
        assert scalar(h5, f"{EV}/start_time")[0] == "2015-06-11T14:22:33+00:00"
        assert step(image(h5)["axis_i"]) == pytest.approx(0.025)  # PixelSize X = 2,5E-11 m


# ---- files without vendor metadata -------------------------------------------------


@pytest.mark.parametrize("bigtiff", [False, True])
def test_plain_tiff_converts_with_pixel_axes_and_a_warning(bigtiff, tmp_path, convert):
    path = fx.write_plain_tiff(tmp_path, bigtiff=bigtiff)
    result = convert(path)
    assert_clean_nxem(result)
    assert any(f"{path.name}: no spatial calibration found" in w for w in result.conversion_warnings)
    with result.h5() as h5:
        img = image(h5)
        np.testing.assert_array_equal(img["real"][()], fx.image_data())
        np.testing.assert_array_equal(img["axis_i"][()], np.arange(fx.SHAPE[1]))
        assert "units" not in img["axis_i"].attrs
        assert derived_values(h5)["tiff_flavour"] == "plain TIFF"


@pytest.mark.parametrize(("suffix", "kind"), [(".png", "PNG"), (".bmp", "BMP"), (".jpg", "JPEG")])
def test_plain_image_converts_with_pixel_axes_and_a_warning(suffix, kind, tmp_path, convert):
    path = fx.write_png(tmp_path, suffix=suffix)
    result = convert(path)
    assert_clean_nxem(result)
    expected = f"plain{suffix}: no spatial calibration found in a plain {kind} file"
    assert any(expected in w for w in result.conversion_warnings)
    with result.h5() as h5:
        img = image(h5)
        lossless = suffix != ".jpg"
        np.testing.assert_allclose(img["real"][()], fx.image_data(), atol=0 if lossless else 40)
        np.testing.assert_array_equal(img["axis_j"][()], np.arange(fx.SHAPE[0]))
        assert "units" not in img["axis_j"].attrs


def test_colour_png_with_equal_green_and_blue_stays_colour(tmp_path, convert):
    result = convert(fx.write_png(tmp_path, colour=True))
    assert_clean_nxem(result)
    with result.h5() as h5:
        (group,) = [g for g in nxdata_groups(h5) if "_preview/" not in g.name]  # the data, not the preview
        data = group[group.attrs["signal"]][()]
        assert data.shape == (3, *fx.SHAPE)
        np.testing.assert_array_equal(data[0], 255 - fx.image_data())  # red channel
        np.testing.assert_array_equal(data[2], fx.image_data())
        preview = h5["entry1/measurement/event1/image_preview/image_2d/real"]  # the same pixels, channels last
        np.testing.assert_array_equal(preview[()], np.moveaxis(data, 0, -1))


def test_truncated_tiff_is_one_conversion_error(tmp_path):
    path = fx.write_truncated_tiff(tmp_path)
    with pytest.raises(ConversionError, match=r"truncated\.tif: .* truncated or damaged"):
        detect(path).read(path, [])
