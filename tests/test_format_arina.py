"""Dectris ARINA 4D-STEM: master + data file + side file as one acquisition, read lazily."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import assert_clean_nxem, em_file, full_data, run_dataconverter, scalar
from pynxtools_em_plugin.errors import ConversionError
from pynxtools_em_plugin.formats import Acquisition, arina, detect, group, read_signals

MASTER = "arina/test_00_master.h5"
DATA = "arina/test_00_data_000001.h5"
SIDE = "arina/test_00.h5"
EVENT = "entry1/measurement/event1"
DETECTOR = f"{EVENT}/instrument/detector"
#: The ARINA files record no stage.
NO_STAGE = (r"measurement/event\d+/instrument/stage.*",)


def copies(folder: Path, *relatives: str) -> list[Path]:
    paths = []
    for relative in relatives:
        paths.append(folder / Path(relative).name)
        shutil.copyfile(em_file(relative), paths[-1])
    return paths


def stored_frames() -> np.ndarray:
    import hdf5plugin  # noqa: F401

    with h5py.File(em_file(DATA), "r") as h5:
        return h5["entry/data/data"][()]


def test_master_data_and_side_file_are_one_4d_stem_acquisition(convert):
    files = [em_file(MASTER), em_file(DATA), em_file(SIDE)]
    assert {detect(f) for f in files} == {arina}
    (acquisition,) = group([(arina, f) for f in files], files)
    assert acquisition.main == em_file(MASTER) and set(acquisition.companions) == {em_file(DATA), em_file(SIDE)}
    (signal,) = read_signals(acquisition)
    assert type(signal.data).__module__.startswith("dask")  # read when written, block by block
    assert signal.data.dtype == np.uint32  # as stored (RosettaSciIO would make it uint16)
    result = convert(*files)
    assert_clean_nxem(result, also_lacking=NO_STAGE)
    with result.h5() as h5:
        cube = full_data(h5)
        assert cube.name.endswith("image_4d")
        np.testing.assert_array_equal(cube["real"][()], stored_frames().reshape(4, 4, 192, 192))
        assert [cube["axis_m"].attrs.get("units"), cube["axis_i"].attrs.get("units")] == ["nm", None]
        np.testing.assert_allclose(cube["axis_m"][()], 0.13915206 * np.arange(4), rtol=1e-7)
        assert scalar(h5, f"{EVENT}/type")[0] == "4D-STEM"
        assert scalar(h5, f"{EVENT}/start_time")[0] == "2025-05-03T01:51:00.302000+02:00"
        assert scalar(h5, f"{EVENT}/instrument/ebeam_column/electron_source/voltage") == (pytest.approx(300.0), "kV")
        assert scalar(h5, f"{EVENT}/instrument/optics/camera_length") == (pytest.approx(115.0), "mm")
        assert scalar(h5, f"{EVENT}/instrument/optics/magnification")[0] == pytest.approx(1.65e8)
        assert scalar(h5, f"{DETECTOR}/local_name")[0] == "Dectris ARINA CZT"
        assert scalar(h5, f"{DETECTOR}/count_time") == (pytest.approx(9.95e-5), "s")
        assert scalar(h5, f"{DETECTOR}/threshold_energy") == (pytest.approx(17.5), "keV")
        assert scalar(h5, f"{DETECTOR}/sensor_thickness") == (pytest.approx(1.5), "mm")
        assert scalar(h5, f"{DETECTOR}/x_pixel_size") == (pytest.approx(100.0), "µm")
        assert scalar(h5, f"{DETECTOR}/serial_number")[0] == "A-01-0011"
        vendor = json.loads(h5[f"{EVENT}/vendor_metadata/original_metadata"][()])
        assert vendor["side_file"]["STEM Metadata"]["NumPixelsX"] == 4
        assert vendor["master"]["entry"]["instrument"]["detector"]["detectorSpecific"]["ntrigger"] == 16
        assert vendor["master"]["entry"]["instrument"]["detector"]["detectorSpecific"]["flatfield"].startswith("array")
        names = sorted(h5[f"entry1/{k}/file_name"][()].decode() for k in h5["entry1"] if k.startswith("note_input"))
        assert names == ["test_00.h5", "test_00_data_000001.h5", "test_00_master.h5"]


def test_without_its_side_file_a_square_scan_is_assumed_with_a_warning(tmp_path):
    master, _ = copies(tmp_path, MASTER, DATA)
    (signal,) = arina.read(master, [])
    assert signal.shape == (4, 4, 192, 192)
    assert [axis.units for axis in signal.axes] == ["", "", "", ""]
    assert any("taken as a square 4 x 4 scan" in w for w in signal.warnings)
    assert any("no side file test_00.h5" in w for w in signal.warnings)


@pytest.mark.parametrize(
    ("relative", "message"),
    [(DATA, r"Dectris data file \(frames only\); pass its _master\.h5"), (SIDE, r"side file .* pass its _master\.h5")],
)
def test_a_companion_alone_is_refused_naming_the_master(relative, message):
    path = em_file(relative)
    assert detect(path) is arina
    with pytest.raises(ConversionError, match=message):
        read_signals(Acquisition(arina, path, []))


def test_master_without_its_data_file_is_one_clear_line(tmp_path):
    copies(tmp_path, MASTER, SIDE)
    result = run_dataconverter("test_00_master.h5", "test_00.h5", "--output", "out.nxs", cwd=tmp_path)
    assert result.returncode != 0 and "Traceback" not in result.stderr + result.stdout
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: test_00_master.h5: its data file test_00_data_000001.h5 is missing")
    assert not (tmp_path / "out.nxs").exists()


@pytest.mark.parametrize("cut", [0, 9000])
def test_truncated_or_empty_data_file_is_refused(tmp_path, cut):
    master, data, _ = copies(tmp_path, MASTER, DATA, SIDE)
    data.write_bytes(data.read_bytes()[:cut])
    with pytest.raises(ConversionError, match=r"test_00_data_000001\.h5"):
        arina.read(master, [data])


def test_frames_of_several_data_files_are_one_scan(tmp_path):
    """A longer acquisition: the master links one data file per block of frames."""
    import hdf5plugin

    master, _ = copies(tmp_path, MASTER, SIDE)
    frames = stored_frames()
    with h5py.File(master, "a") as h5:
        del h5["entry/data/data_000001"]
        for number, part in enumerate((frames[:6], frames[6:]), start=1):
            name = f"test_00_data_{number:06d}.h5"
            with h5py.File(tmp_path / name, "w") as data:
                lz4 = hdf5plugin.Bitshuffle()
                stack = data.create_dataset("entry/data/data", data=part, chunks=(1, 192, 192), **lz4)
                stack.attrs["image_nr_low"] = np.uint64(1)
            h5[f"entry/data/data_{number:06d}"] = h5py.ExternalLink(name, "/entry/data/data")
    files = sorted(tmp_path.iterdir())
    (acquisition,) = group([(detect(f), f) for f in files], files)
    assert len(acquisition.companions) == 3
    (signal,) = read_signals(acquisition)
    assert signal.shape == (4, 4, 192, 192)
    np.testing.assert_array_equal(np.asarray(signal.data), frames.reshape(4, 4, 192, 192))


def test_frames_are_streamed_block_by_block_into_whole_frame_chunks(tmp_path, monkeypatch):
    from pynxtools_em_plugin import chunking
    from pynxtools_em_plugin.conversion import convert
    from pynxtools_em_plugin.nexus import streaming

    monkeypatch.setattr(streaming, "STREAM_MIN_BYTES", 0)
    monkeypatch.setattr(chunking, "BLOCK_BYTES", 192 * 192 * 4 * 4)  # one scan row of 4 frames per block
    output = tmp_path / "streamed.nxs"
    outcome = convert([em_file(MASTER), em_file(DATA), em_file(SIDE)], output)
    assert outcome.status == "converted", outcome.message
    with h5py.File(output, "r") as h5:
        written = h5[f"{EVENT}/image1/image_4d/real"]
        assert written.dtype == np.uint32 and written.compression == "gzip"
        assert written.chunks[-2:] == (192, 192)
        np.testing.assert_array_equal(written[()], stored_frames().reshape(4, 4, 192, 192))
