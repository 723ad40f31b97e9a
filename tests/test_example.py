"""The project's own example converts on a fresh clone (no shared data needed)."""

from __future__ import annotations

from conftest import EXAMPLES
from pynxtools_em_plugin.formats import detect


def test_example_file_is_made_by_our_generator(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_example_velox", EXAMPLES / "make_example_velox.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fresh = module.write_example(tmp_path / "fresh.emd")
    assert detect(fresh).NAME == "velox"
    assert fresh.stat().st_size > 10_000


def test_example_with_eln_converts_and_validates(convert):
    result = convert(EXAMPLES / "example_haadf.emd", EXAMPLES / "eln.yaml")
    assert result.other_validation_problems() == []
    # only what no Velox file records remains; sample, users, times are all filled
    assert result.missing_required() == {
        "measurement/event1/instrument/detector/operation_mode",
        "measurement/event1/instrument/ebeam_column/scan_controller/scan_schema",
        "measurement/event1/instrument/stage/rotation",
    }
    with result.h5() as h5:
        ins = h5["entry1/measurement/event1/instrument"]
        assert ins["ebeam_column/electron_source/voltage"][()] == 300.0
        assert ins["ebeam_column/electron_source/voltage"].attrs["units"] == "kV"
        assert abs(ins["stage/tilt1"][()] - 1.0) < 1e-6 and ins["stage/tilt1"].attrs["units"] == "degree"
        assert h5["entry1/start_time"][()] == b"2024-11-21T10:40:00+00:00"
        assert h5["entry1/experiment_alias"][()] == b"Lattice imaging of SrTiO3"
        image = h5["entry1/measurement/event1/image1/image_2d"]
        assert image["real"].shape == (128, 128)
        assert abs((image["axis_i"][1] - image["axis_i"][0]) - 0.012) < 1e-9
        assert image["axis_i"].attrs["units"] == "nm"


def test_user_mapping_table_overrides_shipped_mapping(convert):
    result = convert(EXAMPLES / "example_haadf.emd", config=EXAMPLES / "my_mapping.json")
    with result.h5() as h5:
        ins = h5["entry1/measurement/instrument"]
        assert ins["name"][()] == b"Themis Z (room 0.42)"
        assert ins["location"][()] == b"EM facility, room 0.42"
        assert h5["entry1/measurement/event1/instrument/ebeam_column/electron_source/voltage"].attrs["units"] == "V"
