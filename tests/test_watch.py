"""``em-plugin watch``: acquisitions converted once completely written (files written gradually here),
companions waited for or picked up late, nothing converted twice after a restart, session records
written once a session's gap has passed."""

from __future__ import annotations

import os
import time
from pathlib import Path

import h5py
import pytest
from click.testing import CliRunner

from conftest import em_file
from pynxtools_em_plugin.cli import main
from pynxtools_em_plugin.watch import Watcher

SETTLE = 0.4  # seconds a file must stay unchanged
HOUR_AGO = time.time() - 3600


def _write(path: Path, data: bytes, mtime: float | None = None) -> None:
    path.write_bytes(data)
    if mtime is not None:
        os.utime(path, (mtime, mtime))


def _settled(watcher: Watcher):
    time.sleep(SETTLE + 0.05)
    return watcher.poll()


def _converted(result) -> list[str]:
    assert all(o.status == "converted" for o in result.outcomes), [o.message for o in result.outcomes]
    return sorted(o.inputs[0].name for o in result.outcomes)


def _input_names(output: Path) -> list[str]:
    with h5py.File(output, "r") as h5:
        notes = sorted(k for k in h5["entry1"] if k.startswith("note_input"))
        return [h5[f"entry1/{k}/file_name"][()].decode() for k in notes]


def test_acquisitions_convert_once_complete_and_a_restart_converts_nothing_twice(tmp_path):
    folder, out = tmp_path / "instrument", tmp_path / "out"
    folder.mkdir()
    stem = "16x16_STEM_BF_DF_acquire"
    tia = {name: em_file(f"tia/{name}").read_bytes() for name in (f"{stem}.emi", f"{stem}_1.ser", f"{stem}_2.ser")}
    mib = em_file("quantumdetector/001_4x2_6bit.mib").read_bytes()
    _write(folder / "old.dm3", em_file("gatan/2D/test_STEM_image.dm3").read_bytes(), HOUR_AGO)
    _write(folder / f"{stem}.emi", tia[f"{stem}.emi"], HOUR_AGO)
    _write(folder / f"{stem}_1.ser", tia[f"{stem}_1.ser"], HOUR_AGO)
    _write(folder / "001_4x2_6bit.hdr", em_file("quantumdetector/001_4x2_6bit.hdr").read_bytes(), HOUR_AGO)
    _write(folder / "001_4x2_6bit.mib", mib[: len(mib) // 3])  # still being written
    watcher = Watcher(folder, out, settle=SETTLE)

    first = watcher.poll()  # old files are complete at once; the .mib was modified just now
    assert _converted(first) == [f"{stem}.emi", "old.dm3"]
    assert _input_names(out / f"{stem}.nxs") == [f"{stem}.emi", f"{stem}_1.ser"]
    assert first.waiting == [] and not (out / "001_4x2_6bit.nxs").exists()

    with open(folder / "001_4x2_6bit.mib", "ab") as handle:  # the detector writes on
        handle.write(mib[len(mib) // 3 : 2 * len(mib) // 3])
    assert watcher.poll().outcomes == []
    with open(folder / "001_4x2_6bit.mib", "ab") as handle:
        handle.write(mib[2 * len(mib) // 3 :])
    _write(folder / f"{stem}_2.ser", tia[f"{stem}_2.ser"])  # a companion arriving after its acquisition was converted
    assert watcher.poll().outcomes == []  # both just written
    second = _settled(watcher)
    assert _converted(second) == ["001_4x2_6bit.mib", f"{stem}.emi"]
    assert _input_names(out / "001_4x2_6bit.nxs") == ["001_4x2_6bit.mib", "001_4x2_6bit.hdr"]
    assert _input_names(out / f"{stem}.nxs") == [f"{stem}.emi", f"{stem}_1.ser", f"{stem}_2.ser"]
    with h5py.File(out / "001_4x2_6bit.nxs", "r") as h5:  # the whole file: 4x2 frames of 256x256
        assert h5["entry1/measurement/event1/image1/image_4d/real"].shape == (2, 4, 256, 256)
    assert _settled(watcher).outcomes == []  # nothing new

    stamps = {p.name: p.stat().st_mtime_ns for p in out.glob("*.nxs")}
    restarted = Watcher(folder, out, settle=SETTLE).poll()
    assert restarted.outcomes == [] and restarted.up_to_date == 3
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.nxs")} == stamps


def test_a_companion_alone_waits_for_its_main_file(tmp_path):
    folder, out = tmp_path / "instrument", tmp_path / "out"
    folder.mkdir()
    _write(folder / "scan.hdr", em_file("quantumdetector/001_4x2_6bit.hdr").read_bytes(), HOUR_AGO)
    watcher = Watcher(folder, out, settle=SETTLE)
    first = watcher.poll()
    assert first.outcomes == [] and len(first.waiting) == 1
    assert first.waiting[0].startswith(f"{folder / 'scan.hdr'}: waiting for its main file")
    assert watcher.poll().waiting == []  # said once
    _write(folder / "scan.mib", em_file("quantumdetector/001_4x2_6bit.mib").read_bytes())
    assert _converted(_settled(watcher)) == ["scan.mib"]
    assert sorted(p.name for p in out.iterdir()) == ["scan.nxs"]


def test_a_main_file_arriving_after_its_companion_was_converted_alone_takes_it_over(tmp_path):
    """A TIA ``_1.ser`` converts on its own; when its ``.emi`` comes, the two convert together and the
    output of the ``.ser`` alone is removed."""
    folder, out = tmp_path / "instrument", tmp_path / "out"
    folder.mkdir()
    stem = "64x64_TEM_images_acquire"
    _write(folder / f"{stem}_1.ser", em_file(f"tia/{stem}_1.ser").read_bytes(), HOUR_AGO)
    watcher = Watcher(folder, out, settle=SETTLE)
    assert _converted(watcher.poll()) == [f"{stem}_1.ser"]
    _write(folder / f"{stem}.emi", em_file(f"tia/{stem}.emi").read_bytes())
    later = _settled(watcher)
    assert _converted(later) == [f"{stem}.emi"]
    assert later.superseded == [f"{out / f'{stem}_1.nxs'}: {stem}_1.ser is now converted with {stem}.emi"]
    assert sorted(p.name for p in out.iterdir()) == [f"{stem}.nxs"]
    assert _input_names(out / f"{stem}.nxs") == [f"{stem}.emi", f"{stem}_1.ser"]


def test_session_records_are_written_when_the_gap_has_passed_and_updated_by_a_late_acquisition(tmp_path):
    folder, out = tmp_path / "instrument", tmp_path / "out"
    folder.mkdir()
    dm3 = em_file("gatan/2D/test_STEM_image.dm3").read_bytes()
    _write(folder / "a.dm3", dm3, HOUR_AGO)
    _write(folder / "b.dm3", em_file("gatan/2D/test_diffraction_pattern.dm3").read_bytes(), HOUR_AGO + 20)
    _write(folder / "now.dm3", dm3)  # a session still going on
    watcher = Watcher(folder, out, settle=0.0, session_gap=60)
    first = watcher.poll()
    assert _converted(first) == ["a.dm3", "b.dm3", "now.dm3"]
    [record] = first.sessions
    assert record.status == "converted" and record.output.parent == out / "sessions"
    assert _input_names(record.output) == ["a.dm3", "b.dm3"]
    with h5py.File(record.output, "r") as h5:
        assert sorted(k for k in h5["entry1/measurement"] if k.startswith("event")) == ["event1", "event2"]
    assert watcher.poll().sessions == []

    _write(folder / "late.dm3", em_file("gatan/2D/test_dm_image_um_unit.dm3").read_bytes(), HOUR_AGO + 10)
    second = watcher.poll()
    assert _converted(second) == ["late.dm3"]
    assert [s.output for s in second.sessions] == [record.output]  # the same session, written again
    assert _input_names(record.output) == ["a.dm3", "late.dm3", "b.dm3"]
    assert Watcher(folder, out, settle=0.0, session_gap=60).poll().sessions == []  # a restart: up to date


def test_watch_command_once(tmp_path):
    folder, out = tmp_path / "instrument", tmp_path / "out"
    folder.mkdir()
    _write(folder / "a.dm3", em_file("gatan/2D/test_STEM_image.dm3").read_bytes(), HOUR_AGO)
    result = CliRunner().invoke(main, ["watch", str(folder), "-o", str(out), "--settle", "1", "--once"])
    assert result.exit_code == 0, result.output
    assert f"OK      {folder / 'a.dm3'} -> {out / 'a.nxs'}" in result.output
    again = CliRunner().invoke(main, ["watch", str(folder), "-o", str(out), "--once"])
    assert "1 acquisitions already converted (up to date)" in again.output


@pytest.mark.parametrize("option", ["--settle", "--poll", "--session-gap"])
def test_watch_rejects_negative_times(tmp_path, option):
    result = CliRunner().invoke(main, ["watch", str(tmp_path), "-o", str(tmp_path / "out"), option, "-1"])
    assert result.exit_code == 2 and option in result.output
