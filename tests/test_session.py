"""Session records: a folder of vendor files -> one NXem file with ordered, grouped, labelled events."""

from __future__ import annotations

import os
import shutil
from datetime import datetime
from pathlib import Path

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from conftest import assert_clean_nxem, em_file, scalar
from pynxtools_em_plugin import chunking
from pynxtools_em_plugin import classify as rules
from pynxtools_em_plugin.cli import main
from pynxtools_em_plugin.model import Axis, AxisKind, Signal
from pynxtools_em_plugin.nexus import preview
from pynxtools_em_plugin.session import gap_seconds, split_by_gaps

#: (shared file, acquisition time set as its modification time or None: the vendor time counts)
SESSION = [
    ("gatan/2D/test_diffraction_pattern.dm3", None),  # 2014-07-09T18:56:37
    ("protochips/protochips_gas_cell.csv", None),  # 2014-12-15T19:07:04, five logs
    ("tiff/FEI-Helios-Ebeam-16bits.tif", None),  # 2016-06-13T17:06:40, 5 kV
    ("gatan/2D/test_STEM_image.dm3", None),  # 2016-08-08T15:26:37, 200 kV
    ("gatan/1D/test-EELS_spectrum.dm3", None),  # 19:35:17, 200 kV
    ("gatan/1D/test-EDS_spectrum.dm3", None),  # 21:46:19, 200 kV
    ("velox/fei_example_tem_stack.emd", None),  # 2019-12-05T10:03:44, 300 kV
    ("quantumdetector/001_4x2_6bit.mib", None),  # 2021-05-07T16:51:10
    ("quantumdetector/001_4x2_6bit.hdr", None),
    ("gatan/3D/EELS_SI.dm4", None),  # 2019-05-14T20:50:13 (SI/Acquisition start)
    ("gatan/2D/test-1.dm4", "2030-01-01T10:01:00+00:00"),  # no vendor time
    ("gatan/1D/test-1.dm3", "2030-01-01T12:01:00+00:00"),
]
#: Expected events in time order: (source file, technique label, rule id).
ORDER = [
    ("test_diffraction_pattern.dm3", "Electron diffraction", "diffraction.reciprocal_axes"),
    *[("protochips_gas_cell.csv", "In-situ log", "log.time_axis")] * 5,
    ("FEI-Helios-Ebeam-16bits.tif", "SEM imaging", "imaging.mode"),
    ("test_STEM_image.dm3", "STEM imaging", "imaging.mode"),
    ("test-EELS_spectrum.dm3", "EELS", "spectrum.signal_type"),
    ("test-EDS_spectrum.dm3", "EDS", "spectrum.signal_type"),
    ("EELS_SI.dm4", "EELS", "spectrum.signal_type"),
    ("fei_example_tem_stack.emd", "TEM imaging", "imaging.mode"),
    ("001_4x2_6bit.mib", "4D-STEM", "4dstem.rank4"),
    ("test-1.dm4", "Imaging", "imaging.unknown_mode"),
    ("test-1.dm3", "Imaging", "imaging.unknown_mode"),
]
#: Event numbers per activity for a 300 s and a 6 h gap.
ACTIVITIES = {
    300: [[1], [2, 3, 4, 5, 6], [7], [8], [9], [10], [11], [12], [13], [14], [15]],
    21600: [[1], [2, 3, 4, 5, 6], [7], [8, 9, 10], [11], [12], [13], [14, 15]],
}
#: Events without an electron column (in-situ logs, uncalibrated test images).
NO_COLUMN = (r"measurement/event\d+/instrument/ebeam_column",)
VOLTAGE = "instrument/ebeam_column/electron_source/voltage"


def session_folder(root: Path, files=SESSION) -> Path:
    folder = root / "session"
    folder.mkdir()
    for relative, moment in files:
        copy = folder / Path(relative).name
        shutil.copyfile(em_file(relative), copy)
        if moment:
            stamp = datetime.fromisoformat(moment).timestamp()
            os.utime(copy, (stamp, stamp))
    return folder


def inputs(folder: Path) -> list[Path]:
    return sorted(folder.iterdir(), key=lambda p: p.name.lower(), reverse=True)  # not in time order


def events_of(h5: h5py.File) -> list[h5py.Group]:
    measurement = h5["entry1/measurement"]
    return [measurement[f"event{n}"] for n in range(1, len([k for k in measurement if k.startswith("event")]) + 1)]


def activities_of(h5: h5py.File) -> list[list[int]]:
    entry = h5["entry1"]
    found = []
    for number in range(1, 100):
        group = entry.get(f"activity{number}")
        if group is None:
            break
        assert group.attrs["NX_class"] == "NXprocess" and group["sequence_index"][()] == number
        notes = [int(k.removeprefix("event")) for k in group if k.startswith("event")]
        found.append(sorted(notes))
    return found


def test_session_record_through_the_reader(tmp_path, convert, monkeypatch):
    folder = session_folder(tmp_path)
    monkeypatch.setenv("EM_PLUGIN_SESSION_GAP", "300")
    result = convert(*inputs(folder))
    assert_clean_nxem(result, also_lacking=NO_COLUMN)
    assert any("test-1.dm4: no acquisition time" in w and "modification time" in w for w in result.conversion_warnings)
    with result.h5() as h5:
        events = events_of(h5)
        sources = [
            e[e.attrs["default"].replace("_preview", "1")]["process/input/file_name"][()].decode() for e in events
        ]
        assert sources == [name for name, _, _ in ORDER]
        # events numbered in time order: vendor times (zone-aware) ascending
        starts = [datetime.fromisoformat(e["start_time"][()].decode()) for e in events if "start_time" in e]
        assert starts == sorted(starts) and all(t.tzinfo is not None for t in starts)
        for event, (_, label, rule) in zip(events, ORDER, strict=True):
            assert event["type"][()].decode() == label
            note = next(g for k, g in event.items() if k.endswith("1") and "process" in g)["process/classification"]
            assert note["type"][()].decode() == label
            assert note["description"][()].decode().startswith(f"technique rule {rule}: ")
        assert activities_of(h5) == ACTIVITIES[300]
        last = h5["entry1/activity10"]
        assert last["date"][()].decode() == "2030-01-01T10:01:00+00:00"
        assert "modification time" in last["event14/description"][()].decode()
        assert "techniques: Imaging" in last["summary/description"][()].decode()


def test_session_previews_are_small_and_shown_by_default(tmp_path, convert):
    folder = session_folder(tmp_path)
    result = convert(*inputs(folder))
    expected = {  # event -> (preview NXdata, shape)
        1: ("image_preview/image_2d", (87, 87)),
        2: ("image_preview/image_1d", (1647,)),  # 3293 log points, block means of 2
        7: ("image_preview/image_2d", (236, 256)),  # 471 x 512 SEM image, blocks of 2 x 2
        9: ("spectrum_preview/spectrum_0d", (2048,)),
        11: ("spectrum_preview/spectrum_0d", (2048,)),  # sum spectrum of a 2 x 2 spectrum image
        12: ("image_preview/image_2d", (3, 3)),  # mean frame of 2 x 3 x 3
        13: ("image_preview/image_2d", (2, 4)),  # virtual image of a 2 x 4 scan of 256 x 256 frames
    }
    with result.h5() as h5:
        for number, (path, shape) in expected.items():
            event = h5[f"entry1/measurement/event{number}"]
            group = event[path]
            assert event.attrs["default"] == path.split("/")[0]
            signal = group[group.attrs["signal"]]
            assert signal.shape == shape
        full = h5["entry1/measurement/event13/image1/image_4d/real"][()]
        virtual = h5["entry1/measurement/event13/image_preview/image_2d/real"][()]
        np.testing.assert_allclose(virtual, full.sum(axis=(2, 3)))
        si = h5["entry1/measurement/event11/spectrum1/spectrum_2d/intensity"][()]
        np.testing.assert_allclose(
            h5["entry1/measurement/event11/spectrum_preview/spectrum_0d/intensity"][()], si.sum((0, 1))
        )
        axis = h5["entry1/measurement/event7/image_preview/image_2d/axis_i"]
        assert axis.attrs["units"] == h5["entry1/measurement/event7/image1/image_2d/axis_i"].attrs["units"]


def test_a_longer_gap_merges_activities_and_factors_their_settings_out(tmp_path):
    folder = session_folder(tmp_path)
    output = tmp_path / "out" / "session.nxs"
    run = CliRunner().invoke(main, ["session", str(folder), "--output", str(output), "--gap", "21600"])
    assert run.exit_code == 0, run.output
    assert f"-> {output}" in run.output
    with h5py.File(output, "r") as h5:
        assert activities_of(h5) == ACTIVITIES[21600]
        assert [e["type"][()].decode() for e in events_of(h5)] == [label for _, label, _ in ORDER]
        activity = h5["entry1/activity4"]  # STEM image, EELS and EDS spectra within 6 h 20 min, all at 200 kV
        assert scalar(h5, "entry1/activity4/shared_settings/ebeam_column_electron_source_voltage") == (200.0, "kV")
        for number in (8, 9, 10):
            link = h5.get(f"entry1/measurement/event{number}/{VOLTAGE}", getlink=True)
            assert isinstance(link, h5py.SoftLink)
            assert link.path == "/entry1/activity4/shared_settings/ebeam_column_electron_source_voltage"
            assert scalar(h5, f"entry1/measurement/event{number}/{VOLTAGE}") == (200.0, "kV")
        # settings that differ within the activity stay with each event
        assert "instrument/optics/magnification" not in {k for k in activity["shared_settings"]}
        single = h5.get(f"entry1/measurement/event11/{VOLTAGE}", getlink=True)
        assert isinstance(single, h5py.HardLink)  # a one-event activity shares nothing
    again = CliRunner().invoke(main, ["session", str(folder), "--output", str(output)])
    assert again.exit_code == 0 and "SKIPPED" in again.output


def test_a_failed_file_fails_the_session_command_but_the_record_is_written(tmp_path):
    """A script must see that a file of the folder was left out (exit 1, as ``em-plugin convert``)."""
    folder = session_folder(tmp_path, [("gatan/2D/test_STEM_image.dm3", None)])
    (folder / "broken.dm3").write_bytes(b"")
    output, page = tmp_path / "out" / "session.nxs", tmp_path / "out" / "session.html"
    run = CliRunner().invoke(main, ["session", str(folder), "-o", str(output), "--html", str(page)])
    assert run.exit_code == 1 and "Traceback" not in run.output
    assert f"FAILED  {folder / 'broken.dm3'}: is empty (0 bytes)" in run.output
    assert "1 files in one record, 1 failed" in run.output
    assert page.is_file()
    with h5py.File(output, "r") as h5:
        assert [e["type"][()].decode() for e in events_of(h5)] == ["STEM imaging"]
        assert scalar(h5, f"entry1/measurement/event1/{VOLTAGE}") == (200.0, "kV")


TWO_SPECTRA = [("gatan/1D/test-EELS_spectrum.dm3", None), ("gatan/1D/test-EDS_spectrum.dm3", None)]


def test_the_session_name_titles_the_record(tmp_path):
    """ELN ``session: {name: ...}`` (as NOMAD reads it), else the folder's name; ``--name`` wins."""
    folder = session_folder(tmp_path, TWO_SPECTRA)

    def title(*options: str) -> str:
        output = tmp_path / "out.nxs"
        run = CliRunner().invoke(main, ["session", str(folder), "-o", str(output), "--overwrite", *options])
        assert run.exit_code == 0, run.output
        with h5py.File(output, "r") as h5:
            written = h5["entry1/title"][()].decode()
        assert f"(session '{written}')" in run.output
        return written

    assert title() == "session"
    (folder / "eln.yaml").write_text("session: {name: Lamella A3 day 1}\nsample: {name: A3}\n", encoding="utf-8")
    assert title() == "Lamella A3 day 1"
    assert title("--name", "run 2") == "run 2"
    (folder / "eln.yaml").write_text("session: true\n", encoding="utf-8")
    assert title() == "session"


def test_dataconverter_titles_a_session_record_with_the_eln_name(tmp_path, convert):
    folder = session_folder(tmp_path, TWO_SPECTRA)
    eln = folder / "eln.yaml"
    eln.write_text("session: {name: ' Lamella A3 day 1 '}\n", encoding="utf-8")
    result = convert(*inputs(folder))
    assert_clean_nxem(result)
    with result.h5() as h5:
        assert h5["entry1/title"][()].decode() == "Lamella A3 day 1"
        assert scalar(h5, f"entry1/measurement/event1/{VOLTAGE}") == (200.0, "kV")
    one_file = convert(folder / "test-EELS_spectrum.dm3", eln)  # one acquisition: no session record
    with one_file.h5() as h5:
        assert "title" not in h5["entry1"]


def test_dataconverter_marks_the_shared_copies_as_links(tmp_path, convert, monkeypatch):
    """pynxtools' own writer copies linked values; the copies keep ``@target`` (the NeXus link mark)."""
    monkeypatch.setenv("EM_PLUGIN_SESSION_GAP", str(6 * 3600))
    files = [("gatan/2D/test_STEM_image.dm3", None), ("gatan/1D/test-EELS_spectrum.dm3", None)]
    result = convert(*inputs(session_folder(tmp_path, files)))
    assert_clean_nxem(result)
    shared = "/entry1/activity1/shared_settings/ebeam_column_electron_source_voltage"
    with result.h5() as h5:
        assert activities_of(h5) == [[1, 2]]
        assert scalar(h5, shared) == (200.0, "kV")
        for number in (1, 2):
            copy = h5[f"entry1/measurement/event{number}/{VOLTAGE}"]
            assert copy.attrs["target"] == shared and copy[()] == 200.0


def test_a_single_file_is_labelled_and_previewed_but_no_session(convert):
    result = convert(em_file("gatan/2D/test_STEM_image.dm3"))
    assert_clean_nxem(result)
    with result.h5() as h5:
        event = h5["entry1/measurement/event1"]
        assert event["type"][()] == b"STEM imaging"
        assert "activity1" not in h5["entry1"]
        # a single file gets its preview as default plot too; the full data stay beside it
        assert event.attrs["default"] == "image_preview"
        assert event["image_preview/image_2d/real"].shape == event["image1/image_2d/real"].shape == (68, 68)


def test_nomad_summary_reads_the_stored_label(convert):
    from pynxtools_em_plugin.nomad.summary import summarize_file

    result = convert(em_file("gatan/2D/test_STEM_image.dm3"))
    assert summarize_file(result.path).techniques == ["STEM imaging"]
    with h5py.File(result.path, "r+") as h5:
        h5["entry1/measurement/event1/type"][()] = "TEM imaging"  # a label the rules did not give: it is used as is
    assert summarize_file(result.path).techniques == ["TEM imaging"]
    with h5py.File(result.path, "r+") as h5:
        del h5["entry1/measurement/event1/type"]  # another writer's file: derived from the data
    assert summarize_file(result.path).techniques == ["STEM imaging"]


# ---- grouping, rules and previews without files -------------------------------------
def test_grouping_is_one_linear_pass_over_many_events():
    rng = np.random.default_rng(7)
    count = 100_000
    pauses = rng.uniform(1.0, 200.0, count)
    breaks = rng.choice(count, 999, replace=False)
    pauses[breaks] = 10_000.0  # 999 long pauses: 1000 activities
    starts = np.cumsum(pauses)
    ends = starts + 30.0  # each acquisition lasts 30 s: a 220 s pause after the end still joins
    parts = split_by_gaps(starts.tolist(), ends.tolist(), 300.0)
    assert len(parts) == 1000 - (0 in breaks) and sum(len(p) for p in parts) == count
    assert {p.start for p in parts[1:]} == {int(b) for b in breaks if b > 0}
    assert split_by_gaps([], [], 300.0) == []
    # the gap is measured from the latest end: a long acquisition bridges later short pauses
    assert split_by_gaps([0, 10, 500, 1400], [1000, 20, 510, 1410], 300.0) == [range(0, 3), range(3, 4)]


def test_gap_option_validation(monkeypatch):
    monkeypatch.delenv("EM_PLUGIN_SESSION_GAP", raising=False)
    assert gap_seconds() == 300.0
    monkeypatch.setenv("EM_PLUGIN_SESSION_GAP", "60")
    assert gap_seconds() == 60.0 and gap_seconds(5) == 5.0
    with pytest.raises(ValueError, match="positive"):
        gap_seconds(0)


def _signal(kinds: list[AxisKind], axis_units: list[str], shape: tuple[int, ...], **extra) -> Signal:
    axes = [
        Axis(k.value, np.arange(n, dtype=float) + 1, u, k) for k, u, n in zip(kinds, axis_units, shape, strict=True)
    ]
    return Signal("t", np.ones(shape), axes, Path("x.bin"), "test", **extra)


@pytest.mark.parametrize(
    ("kinds", "units", "values", "extra", "label", "rule"),
    [
        ([AxisKind.ENERGY], ["eV"], {}, {}, "EDS", "spectrum.energy_range"),  # 6000 channels of 1 eV: X-rays
        ([AxisKind.SPACE, AxisKind.SPACE], ["nm", "nm"], {}, {}, "Imaging", "imaging.unknown_mode"),
        (
            [AxisKind.SPACE, AxisKind.SPACE],
            ["nm", "nm"],
            {"instrument/ebeam_column/electron_source/voltage": (15000.0, "V")},
            {},
            "SEM imaging",
            "imaging.mode",
        ),
        (
            [AxisKind.SPACE, AxisKind.SPACE],
            ["nm", "nm"],
            {VOLTAGE: (300.0, "kV"), "instrument/ebeam_column/scan_controller/dwell_time": (1.0, "us")},
            {},
            "STEM imaging",
            "imaging.mode",
        ),
        ([AxisKind.SPACE, AxisKind.SPACE], ["nm", "nm"], {VOLTAGE: (300.0, "kV")}, {}, "TEM imaging", "imaging.mode"),
        (
            [AxisKind.RECIPROCAL, AxisKind.RECIPROCAL],
            ["1/nm", "1/nm"],
            {},
            {},
            "Electron diffraction",
            "diffraction.reciprocal_axes",
        ),
        (
            [AxisKind.INDEX, AxisKind.INDEX],
            ["", ""],
            {"instrument/ebeam_column/operation_mode": ("TEM diffraction", None)},
            {},
            "Electron diffraction",
            "diffraction.operation_mode",
        ),
        ([AxisKind.WAVELENGTH], ["nm"], {}, {}, "Cathodoluminescence", "spectrum.wavelength_axis"),
        ([AxisKind.ENERGY], ["eV"], {}, {"signal_type": "EELS"}, "EELS", "spectrum.signal_type"),
        (
            [AxisKind.SPACE, AxisKind.ENERGY],
            ["nm", "eV"],
            {"instrument/detectorID[detector]/local_name": ("XFlash 6|30", None)},
            {},
            "EDS",
            "spectrum.words",
        ),
        ([AxisKind.TIME], ["s"], {}, {"units": "degC"}, "In-situ log", "log.time_axis"),
        (
            [AxisKind.SPACE] * 2 + [AxisKind.RECIPROCAL] * 2,
            ["nm"] * 2 + ["1/nm"] * 2,
            {},
            {},
            "4D-STEM",
            "4dstem.rank4",
        ),
    ],
)
def test_technique_rules(kinds, units, values, extra, label, rule):
    shape = (6000,) if kinds == [AxisKind.ENERGY] and not extra else (3,) * len(kinds)
    result = rules.classify(_signal(kinds, units, shape, **extra), values)
    assert (result.label, result.rule.identifier) == (label, rule)
    assert result.label in rules.LABELS


def test_preview_of_lazy_data_is_computed_block_by_block(monkeypatch, tmp_path):
    da = pytest.importorskip("dask.array")
    monkeypatch.setattr(chunking, "BLOCK_BYTES", 4096)  # many blocks even for small arrays
    stack = da.from_array(np.arange(5 * 6 * 7 * 8, dtype=np.uint16).reshape(5, 6, 7, 8), chunks=(1, 6, 7, 8))
    axes = [Axis(n, np.arange(s, dtype=float), "nm", AxisKind.SPACE) for n, s in zip("abcd", stack.shape, strict=True)]
    four_d = Signal("4d", stack, axes, Path("x"), "test")
    small = preview.preview_of(four_d)
    np.testing.assert_allclose(small.data, np.asarray(stack).sum(axis=(2, 3)))
    memmap = np.memmap(tmp_path / "big.raw", dtype=np.float32, mode="w+", shape=(600, 520))
    memmap[:] = np.arange(600 * 520, dtype=np.float32).reshape(600, 520)
    axes = [Axis("y", np.arange(600.0), "nm", AxisKind.SPACE), Axis("x", np.arange(520.0), "nm", AxisKind.SPACE)]
    image = preview.preview_of(Signal("image", memmap, axes, Path("x"), "test"))
    assert image.data.shape == (200, 174)  # blocks of 3 x 3; the last column is a mean of 520 - 519 = 1
    np.testing.assert_allclose(image.data[0, 0], memmap[:3, :3].mean())
    np.testing.assert_allclose(image.axes[1].values[:2], [1.0, 4.0])
    spectrum_axes = [Axis("x", np.arange(4.0), "nm", AxisKind.SPACE), Axis("E", np.arange(50.0), "eV", AxisKind.ENERGY)]
    cube = np.random.default_rng(1).random((4, 50))
    summed = preview.preview_of(Signal("si", cube, spectrum_axes, Path("x"), "test"))
    np.testing.assert_allclose(summed.data, cube.sum(axis=0))
    assert summed.axes[0].kind is AxisKind.ENERGY
