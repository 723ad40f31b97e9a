"""HyperSpy ``.hspy`` (HDF5) and ``.zspy`` (Zarr zip store): signals, axes, the metadata table, history.

The shared files hold no processing history and no EDS metadata; :func:`write_hspy` writes one
with RosettaSciIO's own HyperSpy writer (``rsciio.hspy.file_writer``), as HyperSpy saves it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import assert_clean_nxem, em_file, full_data, run_dataconverter, scalar
from pynxtools_em_plugin.errors import ConversionError
from pynxtools_em_plugin.formats import Acquisition, detect, hyperspy, read_signals

HSPY_EELS = "hspy/example1_v1.2.hdf5"
HSPY_DIFFRACTION = "hspy/example2_v3.1.hspy"
ZSPY = "zspy/signal1d_10x10-ZipStore.zspy"
EVENT = "entry1/measurement/event1"
INSTRUMENT = f"{EVENT}/instrument"
#: HyperSpy's test files record no stage position, detector name or tilt2.
LACKING = (r"measurement/event\d+/instrument/stage/position", r"measurement/event\d+/instrument/ebeam_column")


def write_hspy(path: Path) -> np.ndarray:
    """An EDS map as HyperSpy saves it after loading a Bruker file and a decomposition."""
    from rsciio.hspy import file_writer

    data = np.arange(2 * 3 * 8, dtype=np.uint16).reshape(2, 3, 8)
    file_io = {
        "0": {"operation": "load", "hyperspy_version": "2.1.0", "io_plugin": "rsciio.bruker",
              "timestamp": "2023-05-04T10:00:00+02:00"},
        "1": {"operation": "save", "hyperspy_version": "2.1.0", "io_plugin": "rsciio.hspy",
              "timestamp": "2023-05-04T11:00:00+02:00"},
    }  # fmt: skip
    sem = {
        "beam_energy": 15000.0, "beam_energy_units": "V",  # an older file's explicit unit
        "magnification": 20000.0, "working_distance": 10.0, "Stage": {"tilt_alpha": 70.0},
        "Detector": {"EDS": {"live_time": 2.5, "real_time": 3.0, "elevation_angle": 35.0, "azimuth_angle": 45.0,
                             "energy_resolution_MnKa": 130.0}},
    }  # fmt: skip
    signal = {
        "data": data,
        "axes": [
            {"name": "y", "size": 2, "scale": 0.5, "offset": 0, "units": "µm", "navigate": True},
            {"name": "x", "size": 3, "scale": 0.5, "offset": 0, "units": "µm", "navigate": True},
            {"name": "Energy", "size": 8, "scale": 0.01, "offset": 0.1, "units": "keV", "navigate": False},
        ],
        "metadata": {
            "General": {
                "title": "EDS map",
                "date": "2023-05-04",
                "time": "09:08:07",
                "time_zone": "Europe/Paris",
                "authors": "Ann Operator",
                "FileIO": file_io,
            },
            "Signal": {"signal_type": "EDS_SEM"},
            "Sample": {"elements": np.array(["O", "Fe"])},
            "Acquisition_instrument": {"SEM": sem},
        },
        "original_metadata": {"Microscope": {"HV": 15.0}},
        "attributes": {"_lazy": False},
        "learning_results": {"decomposition_algorithm": "SVD", "output_dimension": 3},
        "tmp_parameters": {},
        "package_info": {"package": "exspy", "package_version": "0.3.0"},
        "models": {},
    }
    file_writer(str(path), signal)
    return data


def test_hspy_eels_spectrum_with_its_metadata_and_original_metadata(convert):
    result = convert(em_file(HSPY_EELS))
    assert_clean_nxem(result, also_lacking=LACKING)
    with result.h5() as h5:
        spectrum = full_data(h5)
        assert spectrum.name.endswith("spectrum_0d") and spectrum["intensity"].shape == (21,)
        np.testing.assert_allclose(spectrum["axis_energy"][()], 520.13 + 3.1 * np.arange(21))
        assert spectrum["axis_energy"].attrs["units"] == "eV"
        assert scalar(h5, f"{EVENT}/type")[0] == "EELS"
        assert scalar(h5, f"{INSTRUMENT}/ebeam_column/electron_source/voltage") == (pytest.approx(120.0), "kV")
        assert scalar(h5, f"{INSTRUMENT}/optics/probe_current") == (pytest.approx(12.345), "nA")
        assert scalar(h5, f"{INSTRUMENT}/optics/semi_convergence_angle") == (pytest.approx(1.5), "mrad")  # 'mR'
        assert scalar(h5, f"{INSTRUMENT}/detector/collection_semi_angle/outer") == (pytest.approx(3.4), "mrad")
        assert scalar(h5, f"{INSTRUMENT}/detector/count_time") == (pytest.approx(0.1), "s")  # 100 ms
        assert scalar(h5, "entry1/sample/thickness") == (pytest.approx(50.0), "nm")
        assert scalar(h5, f"{EVENT}/start_time")[0] == "1991-10-01T12:00:00+00:00"
        assert scalar(h5, f"{EVENT}/derived_metadata/assumed_time_zone")[0] == "UTC"
        vendor = json.loads(h5[f"{EVENT}/vendor_metadata/original_metadata"][()])
        assert vendor["BEAMKV   -kV"] == 120.0  # the EMSA keywords HyperSpy loaded it from
        derived = json.loads(h5[f"{EVENT}/derived_metadata/values"][()])
        assert derived["hyperspy_metadata"]["Acquisition_instrument"]["TEM"]["beam_energy"] == 120.0


def test_hspy_diffraction_pattern_camera_length_and_reciprocal_axes(convert):
    result = convert(em_file(HSPY_DIFFRACTION))
    assert_clean_nxem(result, also_lacking=LACKING)
    with result.h5() as h5:
        image = full_data(h5)
        assert image["real"].shape == (16, 16)
        assert image["axis_i"].attrs["units"] == "1/nm"
        assert image["axis_i"][1] - image["axis_i"][0] == pytest.approx(0.174433, rel=1e-5)
        assert scalar(h5, f"{EVENT}/type")[0] == "Electron diffraction"
        assert scalar(h5, f"{INSTRUMENT}/optics/camera_length") == (pytest.approx(320.0), "mm")
        assert scalar(h5, f"{INSTRUMENT}/ebeam_column/electron_source/voltage") == (pytest.approx(200.0), "kV")
        assert scalar(h5, f"{INSTRUMENT}/detector/count_time") == (pytest.approx(0.2), "s")
        assert scalar(h5, f"{INSTRUMENT}/stage/tilt1") == (pytest.approx(10.0), "degree")  # TEM before SEM
        assert scalar(h5, "entry1/measurement/instrument/name")[0] == "FEI Tecnai"
        assert scalar(h5, f"{EVENT}/start_time")[0] == "2014-07-09T18:56:37+00:00"
        note = f"{EVENT}/image1/process/history_step1"
        assert scalar(h5, f"{note}/type")[0] == "signal class"
        assert scalar(h5, f"{note}/description")[0] == "signal written by hyperspy 1.7.0.dev0"


def test_zspy_zip_store_signals_axes_and_file_io_history(convert):
    path = em_file(ZSPY)
    assert detect(path) is hyperspy
    (signal,) = hyperspy.read(path, [])
    assert type(signal.data).__module__.startswith("dask")
    assert signal.shape == (10, 10) and [a.units for a in signal.axes] == ["", ""]
    np.testing.assert_array_equal(np.asarray(signal.data).ravel(), np.arange(100))
    result = convert(path)
    assert_clean_nxem(result, also_lacking=LACKING)
    with result.h5() as h5:
        note = f"{EVENT}/image1/process/history_step1"
        assert scalar(h5, f"{note}/type")[0] == "save"
        assert scalar(h5, f"{note}/date")[0] == "2025-06-27T16:29:42.891325+01:00"
        assert scalar(h5, f"{note}/description")[0] == "HyperSpy 2.4.0.dev36+gc59c9f5a5 through rsciio.zspy"


def test_hspy_eds_map_units_zone_elements_and_processing_history(tmp_path, convert):
    data = write_hspy(tmp_path / "map.hspy")
    result = convert(tmp_path / "map.hspy")
    assert_clean_nxem(result, also_lacking=(*LACKING, r"measurement/event\d+/instrument/stage/tilt2"))
    with result.h5() as h5:
        cube = full_data(h5)
        assert cube.name.endswith("spectrum_2d")
        np.testing.assert_array_equal(cube["intensity"][()], data)
        np.testing.assert_allclose(cube["axis_i"][()], [0.0, 500.0, 1000.0])
        np.testing.assert_allclose(cube["axis_energy"][()], 100.0 + 10.0 * np.arange(8))
        assert scalar(h5, f"{EVENT}/type")[0] == "EDS"
        assert scalar(h5, f"{INSTRUMENT}/ebeam_column/electron_source/voltage") == (pytest.approx(15.0), "kV")
        assert scalar(h5, f"{INSTRUMENT}/optics/magnification")[0] == pytest.approx(20000.0)
        assert scalar(h5, f"{INSTRUMENT}/optics/working_distance") == (pytest.approx(10.0), "mm")
        assert scalar(h5, f"{INSTRUMENT}/detector/count_time") == (pytest.approx(2.5), "s")
        assert scalar(h5, f"{INSTRUMENT}/detector/eds_detector/energy_resolution") == (pytest.approx(130.0), "eV")
        assert scalar(h5, "entry1/roi1/eds/indexing/atom_types")[0] == "Fe, O"
        assert scalar(h5, f"{EVENT}/start_time")[0] == "2023-05-04T09:08:07+02:00"  # General/time_zone
        assert "assumed_time_zone" not in h5[f"{EVENT}/derived_metadata"]
        assert scalar(h5, "entry1/user_operator/name")[0] == "Ann Operator"
        process = h5[f"{EVENT}/spectrum1/process"]
        steps = [(process[f"history_step{i}/type"][()].decode(), process[f"history_step{i}/description"][()].decode())
                 for i in range(1, 5)]  # fmt: skip
        assert steps == [
            ("load", "HyperSpy 2.1.0 through rsciio.bruker"),
            ("save", "HyperSpy 2.1.0 through rsciio.hspy"),
            ("signal class", "signal written by exspy 0.3.0"),
            ("decomposition", "SVD (output_dimension 3)"),
        ]
        assert process["history_step1/date"][()].decode() == "2023-05-04T10:00:00+02:00"


def test_a_unit_hyperspy_metadata_does_not_understand_is_reported_not_guessed(tmp_path):
    warnings: list[str] = []
    metadata = {"Acquisition_instrument": {"TEM": {"beam_energy": 200.0, "beam_energy_units": "parsecs"}}}
    derived = hyperspy.derived_values(metadata, tmp_path / "x.hspy", warnings)
    assert "beam_energy" not in derived["hyperspy_metadata"]["Acquisition_instrument"]["TEM"]
    expected = "metadata Acquisition_instrument/TEM/beam_energy = 200.0 'parsecs': unit not understood; not mapped"
    assert warnings == [f"x.hspy: {expected}"]


def test_truncated_hspy_file_is_one_clear_line(tmp_path):
    name = "bad.hspy"
    (tmp_path / name).write_bytes(em_file(HSPY_DIFFRACTION).read_bytes()[:6000])
    result = run_dataconverter(name, "--output", "out.nxs", cwd=tmp_path)
    assert result.returncode != 0 and "Traceback" not in result.stderr + result.stdout
    assert result.stderr.strip().splitlines()[-1].startswith(f"Error: {name}: ")
    assert not (tmp_path / "out.nxs").exists()


@pytest.mark.parametrize(("cut", "reason"), [(2000, "truncated or damaged"), (0, "empty")])
def test_truncated_or_empty_zspy_is_refused(tmp_path, cut, reason):
    path = tmp_path / "bad.zspy"
    path.write_bytes(em_file(ZSPY).read_bytes()[:cut])
    with pytest.raises(ConversionError, match=reason):
        read_signals(Acquisition(detect(path), path, []))


def test_a_zip_that_is_not_a_hyperspy_store_is_refused(tmp_path):
    import zipfile

    path = tmp_path / "other.zspy"
    with zipfile.ZipFile(path, "w") as store:
        store.writestr(".zgroup", '{"zarr_format": 2}')
        store.writestr(".zattrs", '{"file_format": "something else"}')
    assert detect(path) is hyperspy
    with pytest.raises(ConversionError, match="not one written by HyperSpy"):
        hyperspy.read(path, [])


def test_history_names_models_unfolding_and_stacking():
    entry = {
        "metadata": {"_HyperSpy": {"Folding": {"unfolded": True, "original_shape": (4, 5, 10)},
                                   "Stacking_history": {"axis": 0, "step_sizes": [2, 3]}}},
        "attributes": {"learning_results": {"bss_algorithm": "sklearn_fastica"}},
        "models": {"fit_a": {}},
    }  # fmt: skip
    steps = [(step.operation, step.description) for step in hyperspy.history(entry)]
    assert steps == [
        ("bss", "sklearn_fastica"),
        ("model", "fitted model 'fit_a'"),
        ("unfold", "unfolded from shape (4, 5, 10)"),
        ("stack", "stacked along axis 0 ([2, 3])"),
    ]
