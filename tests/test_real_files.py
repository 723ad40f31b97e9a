"""Every shared Gatan, Velox and TIA file converts to a valid NXem file.

Expected values were read out of the vendor files independently (DM ImageTags,
Velox metadata JSON, TIA ExperimentalDescription) and are asserted with units.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import (
    EXAMPLES,
    assert_clean_nxem,
    assert_same_signals,
    em_file,
    full_data,
    nxdata_groups,
    read_lazily_and_whole,
    scalar,
    shared_files,
)
from pynxtools_em_plugin.formats import gatan, tia

DM_FILES = shared_files("gatan/**/*.dm[34]")
VELOX_FILES = shared_files("velox/*.emd")
EMI_FILES = shared_files("tia/*.emi")
SER_FILES = shared_files("tia/*.ser")


def inputs_for(relative: str) -> list:
    path = em_file(relative)
    if path.suffix == ".emi":
        return [path, *sorted(path.parent.glob(f"{path.stem}_*.ser"))]
    return [path]


@pytest.mark.parametrize("relative", DM_FILES + VELOX_FILES + EMI_FILES + SER_FILES)
def test_every_file_converts_validates_and_keeps_everything(relative, convert):
    assert_clean_nxem(convert(*inputs_for(relative)))


def test_gatan_stem_image_metadata_with_units(convert):
    result = convert(em_file("gatan/2D/test_STEM_image.dm3"))
    with result.h5() as h5:
        ev = "entry1/measurement/event1"
        assert scalar(h5, f"{ev}/instrument/ebeam_column/electron_source/voltage") == (200.0, "kV")
        assert scalar(h5, f"{ev}/instrument/optics/magnification")[0] == 225000.0
        assert scalar(h5, f"{ev}/instrument/optics/camera_length") == (135.0, "mm")
        assert scalar(h5, f"{ev}/instrument/ebeam_column/scan_controller/dwell_time") == (3.5, "µs")
        position = h5[f"{ev}/instrument/stage/position"]
        np.testing.assert_allclose(position[()], [-461.276, 52.0039, 35.0339])
        assert position.attrs["units"] == "µm"
        tilt, units = scalar(h5, f"{ev}/instrument/stage/tilt1")
        assert tilt == pytest.approx(24.950478513) and units == "degree"
        assert scalar(h5, f"{ev}/start_time")[0].startswith("2016-08-08T15:26:37")
        assert scalar(h5, "entry1/start_time")[0].endswith("+00:00")
        assert not h5["entry1/sample/is_simulation"][()]
        image = h5[f"{ev}/image1/image_2d"]
        assert image["real"].shape == (68, 68)
        assert image["axis_i"].attrs["units"] == "nm"
        assert np.diff(image["axis_i"][()])[0] == pytest.approx(0.248538017)
        assert image["axis_i"][0] == pytest.approx(51.44736957)


def test_gatan_eds_spectrum_energy_axis_in_ev(convert):
    with convert(em_file("gatan/1D/test-EDS_spectrum.dm3")).h5() as h5:
        spectrum = h5["entry1/measurement/event1/spectrum1/spectrum_0d"]
        energy = spectrum["axis_energy"]
        assert spectrum["intensity"].shape == (4096,)
        assert energy.attrs["units"] == "eV"
        assert energy[0] == pytest.approx(-478.0, abs=1e-3)
        assert energy[1] - energy[0] == pytest.approx(5.0, abs=1e-4)
        det = "entry1/measurement/event1/instrument/detector"
        assert scalar(h5, f"{det}/count_time") == (3.806, "s")
        assert scalar(h5, f"{det}/real_time") == (4.233, "s")
        assert scalar(h5, f"{det}/type")[0] == "SIUTW"


def test_gatan_eels_spectrum_image_is_spectrum_2d(convert):
    with convert(em_file("gatan/3D/EELS_SI.dm4")).h5() as h5:
        si = h5["entry1/measurement/event1/spectrum1/spectrum_2d"]
        assert si["intensity"].shape == (2, 2, 2048)
        assert list(si.attrs["axes"]) == ["axis_j", "axis_i", "axis_energy"]
        assert si["axis_i"].attrs["units"] == "nm"
        assert si["axis_i"][1] == pytest.approx(1.99207, rel=1e-4)
        assert si["axis_energy"][0] == pytest.approx(300.0)


def test_gatan_cl_wavelength_becomes_photon_energy(convert):
    with convert(em_file("gatan/1D/test-MonoCL_spectrum-ccd.dm4")).h5() as h5:
        energy = h5["entry1/measurement/event1/spectrum1/spectrum_0d/axis_energy"]
        assert energy.attrs["units"] == "eV"
        assert energy[0] == pytest.approx(1239.84198 / 823.4076508, rel=1e-6)
        assert np.all(np.diff(energy[()]) < 0)
        assert "wavelength" in energy.attrs["long_name"]


def test_gatan_multi_signal_file_keeps_both_and_session_info(convert):
    with convert(em_file("gatan/2D/multi_signal.dm3")).h5() as h5:
        measurement = h5["entry1/measurement"]
        assert {"event1", "event2"} <= set(measurement)
        assert measurement["event1/image1/image_2d/real"].shape == (512, 512)
        assert measurement.attrs["default"] == "event1"
        assert scalar(h5, "entry1/measurement/instrument/name")[0] == "FEI Tecnai Remote"
        assert scalar(h5, "entry1/user_operator/name")[0] == "JohnDoe"
        assert scalar(h5, "entry1/sample/name")[0] == "PrecipitateA"
        assert scalar(h5, "entry1/measurement/event1/instrument/optics/field_of_view") == (
            pytest.approx(12.926304),
            "nm",
        )


def test_gatan_complex_fft_and_image_stack(convert):
    with convert(em_file("gatan/2D/test_fft_packed_complex8.dm4")).h5() as h5:
        fft = h5["entry1/measurement/event1/image1/image_2d"]
        assert fft["real"].shape == fft["imag"].shape == (5, 5)
    with convert(em_file("gatan/test_stackbuilder_imagestack.dm3")).h5() as h5:
        stack = h5["entry1/measurement/event1/image1/stack_2d"]
        assert stack["real"].shape == (3, 2, 16)
        assert list(stack["indices_image"][()]) == [0, 1, 2]
        assert stack["axis_i"].attrs["units"] == "nm"
        assert stack["axis_i"][1] == pytest.approx(59.9829, rel=1e-4)


def test_velox_spectrum_image_is_default_with_detector_angles(convert):
    with convert(em_file("velox/Test SI 16x16 215 kx.emd")).h5() as h5:
        default = full_data(h5)
        assert default.name.endswith("spectrum_2d")
        assert default["intensity"].shape == (16, 16, 4096)
        assert default["axis_energy"].attrs["units"] == "eV"
        assert default["axis_energy"][1] - default["axis_energy"][0] == pytest.approx(10.0)
        inst = "entry1/measurement/instrument"
        assert scalar(h5, f"{inst}/fabrication/vendor")[0] == "FEI Company"
        assert scalar(h5, f"{inst}/fabrication/model")[0] == "Themis"
        assert scalar(h5, f"{inst}/fabrication/serial_number")[0] == "3678"
        assert scalar(h5, f"{inst}/program1/program")[0] == "Velox"
        assert h5[f"{inst}/program1/program"].attrs["version"] == "3.16.1"
        haadf = next(
            ev
            for ev in h5["entry1/measurement"].values()
            if "image1" in ev and ev["image1/image_2d/title"][()] == b"HAADF"
        )
        ins = haadf["instrument"]
        assert (
            ins["ebeam_column/electron_source/voltage"][()],
            ins["ebeam_column/electron_source/voltage"].attrs["units"],
        ) == (300.0, "kV")
        assert ins["optics/camera_length"][()] == pytest.approx(115.9)
        assert ins["optics/camera_length"].attrs["units"] == "mm"
        assert ins["optics/semi_convergence_angle"][()] == pytest.approx(25.0106527)
        assert ins["optics/semi_convergence_angle"].attrs["units"] == "mrad"
        assert ins["detector/local_name"][()] == b"HAADF"
        assert ins["detector/collection_semi_angle/inner"][()] == pytest.approx(50.0558400)
        assert ins["detector/collection_semi_angle/outer"][()] == pytest.approx(200.0)
        assert ins["stage/tilt1"][()] == pytest.approx(np.degrees(8.9243432770017006e-05))
        assert ins["stage/tilt1"].attrs["units"] == "degree"
        np.testing.assert_allclose(ins["stage/position"][()], [-416.11636, 400.265934, -143.65038], rtol=1e-6)
        assert ins["stage/position"].attrs["units"] == "µm"
        assert ins["ebeam_column/scan_controller/dwell_time"][()] == pytest.approx(1000.0)
        assert haadf["start_time"][()] == b"2024-02-29T06:58:04+00:00"


def test_velox_tem_stack_keeps_time_axis(convert):
    with convert(em_file("velox/fei_example_tem_stack.emd")).h5() as h5:
        image = h5["entry1/measurement/event1/image1/image_3d"]
        assert image["real"].shape == (2, 3, 3)
        assert image["axis_k"].attrs["units"] == "s"
        assert image["axis_k"][1] == pytest.approx(0.8)
        assert image["axis_i"][1] - image["axis_i"][0] == pytest.approx(0.0081728832, rel=1e-6)
        ins = h5["entry1/measurement/event1/instrument"]
        assert ins["ebeam_column/operation_mode"][()] == b"TEM"
        assert ins["optics/magnification"][()] == pytest.approx(1271519.155)


def test_velox_dpc_set_keeps_every_signal(convert):
    with convert(em_file("velox/fei_example_dpc_titles.emd")).h5() as h5:
        events = [k for k in h5["entry1/measurement"] if k.startswith("event")]
        assert len(events) == 9
        complex_images = [g for g in nxdata_groups(h5) if "imag" in g]
        assert len(complex_images) == 1


def test_tia_image_calibration_and_metadata(convert):
    with convert(*inputs_for("tia/128x128-TEM_search.emi")).h5() as h5:
        ev = h5["entry1/measurement/event1"]
        image = ev["image1/image_2d"]
        assert image["axis_i"].attrs["units"] == "nm"
        assert image["axis_i"][0] == pytest.approx(-336.7177, rel=1e-6)  # TIA offset, metres -> nm
        assert image["axis_i"][1] - image["axis_i"][0] == pytest.approx(5.2612142)
        ins = ev["instrument"]
        assert ins["ebeam_column/electron_source/voltage"][()] == 200.0
        assert ins["ebeam_column/electron_source/voltage"].attrs["units"] == "kV"
        assert ins["optics/magnification"][()] == 22500.0
        np.testing.assert_allclose(ins["stage/position"][()], [0.147, 0.255, 0.021])
        assert ev["start_time"][()] == b"2016-02-22T18:50:01+00:00"
        assert ev["derived_metadata/assumed_time_zone"][()] == b"UTC"
        assert h5["entry1/user_operator/name"][()] == b"ERIC"


def test_tia_diffraction_with_and_without_emi_agree(convert):
    with convert(*inputs_for("tia/64x64_diffraction_acquire.emi")).h5() as h5:
        with_emi = h5["entry1/measurement/event1/image1/image_2d/axis_i"]
        expected = (with_emi[()].copy(), with_emi.attrs["units"])
    assert expected[1] == "1/nm"
    assert expected[0][1] - expected[0][0] == pytest.approx(0.10157199, rel=1e-6)
    assert expected[0][0] == pytest.approx(-3.2503039, rel=1e-6)
    ser_only = convert(em_file("tia/64x64_diffraction_acquire_1.ser"))
    assert any("reciprocal space" in w for w in ser_only.conversion_warnings)
    with ser_only.h5() as h5:
        axis = h5["entry1/measurement/event1/image1/image_2d/axis_i"]
        assert axis.attrs["units"] == "1/nm"
        np.testing.assert_allclose(axis[()], expected[0], rtol=1e-9)


def test_tia_line_profile_has_spectra_and_diffraction_series(convert):
    with convert(*inputs_for("tia/16x16-line_profile_horizontal_5x128x128_EDS.emi")).h5() as h5:
        spectra = h5["entry1/measurement/event1/spectrum1/spectrum_1d"]
        assert spectra["intensity"].shape == (5, 4000)
        assert spectra["axis_i"].attrs["units"] == "nm"
        patterns = h5["entry1/measurement/event2/image1/image_3d"]
        assert patterns["real"].shape == (5, 128, 128)
        assert patterns["axis_k"].attrs["units"] == "nm"
        assert patterns["axis_i"].attrs["units"] == "1/nm"


def test_tia_spectrum_image(convert):
    with convert(*inputs_for("tia/16x16-spectrum_image-5x5x1024.emi")).h5() as h5:
        si = full_data(h5)
        assert si.name.endswith("spectrum_2d")
        assert si["intensity"].shape == (5, 5, 1024)
        assert si["axis_energy"].attrs["units"] == "eV"


def test_emi_with_its_ser_files_is_one_acquisition(convert):
    with convert(*inputs_for("tia/16x16_STEM_BF_DF_acquire.emi")).h5() as h5:
        events = [k for k in h5["entry1/measurement"] if k.startswith("event")]
        assert len(events) == 2


def test_example_eln_fills_sample_and_users(convert):
    result = convert(em_file("gatan/2D/test_STEM_image.dm3"), EXAMPLES / "eln.yaml")
    assert not {c for c in result.missing_required() if c.startswith("sample")}
    with result.h5() as h5:
        user = h5["entry1/user1"]
        assert user["identifier_orcid"][()] == b"https://orcid.org/0000-0002-1825-0097"
        assert user["identifier_orcid"].attrs["type"] == "ORCID"
        assert h5["entry1/sample/atom_types"][()] == b"Sr, Ti, O"
        assert h5["entry1/sample/thickness"].attrs["units"] == "nm"


def test_velox_stem_magnification_from_custom_properties(convert):
    with convert(em_file("velox/Test SI 16x16 215 kx.emd")).h5() as h5:
        event = h5["entry1/measurement/event1"]
        assert scalar(h5, f"{event.name}/instrument/optics/magnification") == (225000.0, None)


def test_gatan_diffraction_indicated_magnification_is_camera_length(convert):
    with convert(em_file("gatan/2D/test_diffraction_pattern.dm3")).h5() as h5:
        optics = h5["entry1/measurement/event1/instrument/optics"]
        # exactly 320 mm: DigitalMicrograph records 320.00000000000006 (its own unit arithmetic)
        assert scalar(h5, f"{optics.name}/camera_length") == (320.0, "mm")
        assert "magnification" not in optics


def test_gatan_imaging_indicated_magnification_stays_magnification(convert):
    with convert(em_file("gatan/2D/test_STEM_image.dm3")).h5() as h5:
        optics = h5["entry1/measurement/event1/instrument/optics"]
        assert "magnification" in optics and optics["magnification"][()] > 0


def test_gatan_spectrum_image_start_time_with_assumed_zone(convert, monkeypatch):
    monkeypatch.setenv("EM_PLUGIN_TIMEZONE", "Europe/Berlin")
    with convert(em_file("gatan/3D/EELS_SI.dm4")).h5() as h5:
        event = "entry1/measurement/event1"
        assert scalar(h5, f"{event}/start_time")[0] == "2019-05-14T20:50:13+02:00"
        assert scalar(h5, f"{event}/end_time")[0] == "2019-05-14T21:00:58+02:00"
        assert scalar(h5, f"{event}/derived_metadata/assumed_time_zone")[0] == "Europe/Berlin"


@pytest.mark.parametrize("relative", DM_FILES)
def test_gatan_large_file_path_reads_lazily_what_the_whole_read_gives(relative, monkeypatch):
    """Read as a large file is (memory maps in dask blocks), every DM file gives the signals it
    gives read whole; a packed-complex FFT is unpacked (and repaired) in memory either way."""
    lazy, whole = read_lazily_and_whole(gatan, em_file(relative), monkeypatch)
    assert_same_signals(lazy, whole, lazy_data=not np.iscomplexobj(whole[0].data))


def test_gatan_lazy_read_keeps_the_odd_fft_repair_and_the_spectrum_image_axes(monkeypatch):
    (fft,), _ = read_lazily_and_whole(gatan, em_file("gatan/2D/test_fft_packed_complex8.dm4"), monkeypatch)
    assert isinstance(fft.data, np.ndarray) and fft.data.dtype == np.complex64 and fft.data.shape == (5, 5)
    assert fft.warnings == [f"{fft.source.name}: packed complex FFT of odd width 5 rebuilt from its half plane"]
    (eels,), _ = read_lazily_and_whole(gatan, em_file("gatan/3D/EELS_SI.dm4"), monkeypatch)
    assert eels.data.shape == (2048, 2, 2) and [(a.name, a.units) for a in eels.axes] == [
        ("Energy loss", "eV"), ("y", "nm"), ("x", "nm")]  # fmt: skip


def test_gatan_image_rosettasciio_cannot_map_is_read_whole(monkeypatch):
    """RosettaSciIO's lazy DM reading refuses RGB(A) images and old packed FFTs (ValueError): such a
    large file is read whole, as before, rather than refused."""

    def refusing(reader, signal_dims=2):
        def read(filename):
            raise ValueError("Lazy loading of RGBA images is not supported.")

        return read

    monkeypatch.setattr(gatan, "lazily", refusing)
    lazy, whole = read_lazily_and_whole(gatan, em_file("gatan/2D/test_STEM_image.dm3"), monkeypatch)
    assert isinstance(lazy[0].data, np.ndarray) and np.array_equal(lazy[0].data, whole[0].data)


@pytest.mark.parametrize("relative", EMI_FILES + SER_FILES)
def test_tia_large_file_path_maps_what_the_whole_read_gives(relative, monkeypatch):
    """Read as a large series is (the .ser elements memory-mapped), every TIA file gives the
    signals it gives read whole, with the per-element header values in memory as before."""
    lazy, whole = read_lazily_and_whole(tia, em_file(relative), monkeypatch)
    assert_same_signals(lazy, whole)
    for signal in lazy:
        parameters = signal.metadata["ser_header_parameters"]
        assert not any(isinstance(value, np.memmap) for value in parameters.values())


@pytest.mark.parametrize(
    ("module", "relative"), [(gatan, "gatan/3D/EELS_SI.dm4"), (tia, "tia/16x16-spectrum_image-5x5x1024_1.ser")]
)
def test_truncated_file_read_lazily_is_one_conversion_error(module, relative, tmp_path, monkeypatch):
    from pynxtools_em_plugin.errors import ConversionError
    from pynxtools_em_plugin.formats import _rsciio

    source = em_file(relative)
    cut = tmp_path / source.name
    cut.write_bytes(source.read_bytes()[: source.stat().st_size * 2 // 3])
    monkeypatch.setattr(_rsciio, "LAZY_MIN_BYTES", -1)
    with pytest.raises(ConversionError, match=rf"{cut.name}.*truncated or damaged"):
        module.read(cut, [])
