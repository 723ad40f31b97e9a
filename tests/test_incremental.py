"""Incremental re-runs of ``em-plugin convert``: only acquisitions whose inputs, converter version or
mapping tables changed are converted again (the outputs' own records say what they were made from);
``--dry-run`` says what would be converted and why."""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import replace
from pathlib import Path

import h5py
import pytest
from click.testing import CliRunner

from conftest import em_file
from pynxtools_em_plugin.cli import main
from pynxtools_em_plugin.mapping import engine

TIA = ("16x16_STEM_BF_DF_acquire.emi", "16x16_STEM_BF_DF_acquire_1.ser", "16x16_STEM_BF_DF_acquire_2.ser")


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    """A folder (two DM3 images, a TIA acquisition), a user table for DM files, and its conversion."""
    folder = tmp_path_factory.mktemp("incremental")
    source, out = folder / "source", folder / "out"
    source.mkdir()
    (source / "a.dm3").write_bytes(em_file("gatan/2D/test_STEM_image.dm3").read_bytes())
    (source / "b.dm3").write_bytes(em_file("gatan/2D/test_diffraction_pattern.dm3").read_bytes())
    for name in TIA:
        (source / name).write_bytes(em_file(f"tia/{name}").read_bytes())
    _write_table(folder / "facility.json", "2024.1", "Our microscope")
    first = _run(source, out, "-c", str(folder / "facility.json"))
    assert first.output.splitlines()[-1].startswith("3 converted, 0 up to date"), first.output
    return folder


@pytest.fixture
def converted(first_run, tmp_path):
    """A copy of the first run (modification times kept) for one test to change."""
    copy = tmp_path / "copy"
    shutil.copytree(first_run, copy)
    return copy / "source", copy / "out", copy / "facility.json"


def _write_table(path: Path, version: str, instrument_name: str) -> None:
    entry = {"src": "ImageList/TagGroup0/ImageTags/Microscope Info/Name", "dst": "name", "scope": "instrument"}
    entry["value"] = instrument_name
    table = {"name": "facility-gatan", "version": version, "format": "gatan", "mappings": [entry]}
    path.write_text(json.dumps(table), encoding="utf-8")


def _run(source: Path, out: Path, *options: str):
    result = CliRunner().invoke(main, ["convert", str(source), "-o", str(out), *options])
    assert result.exit_code == 0, result.output
    return result


def _lines(result, label: str) -> list[str]:
    return [line for line in result.output.splitlines() if label in line]


def _stamps(out: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in out.glob("*.nxs")}


def test_unchanged_and_touched_inputs_are_up_to_date(converted):
    source, out, table = converted
    before = _stamps(out)
    later = time.time() + 5
    os.utime(source / "a.dm3", (later, later))  # touched, content unchanged: read again, found equal
    again = _run(source, out, "-c", str(table))
    assert again.output.splitlines()[-1].startswith("0 converted, 3 up to date, 0 skipped (output exists), 0 failed")
    assert len(_lines(again, "CURRENT")) == 3
    assert _stamps(out) == before


def test_a_changed_input_is_converted_again_and_dry_run_says_why(converted):
    source, out, table = converted
    before = _stamps(out)
    (source / "b.dm3").write_bytes(em_file("gatan/2D/test_dm_image_um_unit.dm3").read_bytes())
    dry = _run(source, out, "-c", str(table), "--dry-run")
    assert _lines(dry, "CONVERT") == [f"CONVERT {source / 'b.dm3'} -> {out / 'b.nxs'}: input b.dm3 changed"]
    assert dry.output.splitlines()[-1] == "1 to convert, 2 up to date (dry run: nothing written)"
    assert _stamps(out) == before

    again = _run(source, out, "-c", str(table))
    assert [line.split()[2] for line in _lines(again, "] OK")] == [str(source / "b.dm3")]
    after = _stamps(out)
    assert after["b.nxs"] != before["b.nxs"] and {k: after[k] for k in ("a.nxs", "16x16_STEM_BF_DF_acquire.nxs")} == {
        k: before[k] for k in ("a.nxs", "16x16_STEM_BF_DF_acquire.nxs")
    }
    with h5py.File(out / "b.nxs", "r") as h5:  # the new content, with its units
        assert h5["entry1/note_input1/checksum"][()].decode() == _sha256(source / "b.dm3")
    assert _run(source, out, "-c", str(table)).output.splitlines()[-1].startswith("0 converted, 3 up to date")


def test_a_file_restored_with_its_old_time_is_checked_with_checksums(converted):
    """Same size, different bytes, the old modification time (``rsync -a``, ``cp -p``): only ``--checksums``
    reads the files that were not modified since their conversion."""
    source, out, table = converted
    path = source / "a.dm3"
    stat = path.stat()
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert _lines(_run(source, out, "-c", str(table), "--dry-run"), "CONVERT") == []
    checked = _run(source, out, "-c", str(table), "--dry-run", "--checksums")
    assert [line.partition(": ")[2] for line in _lines(checked, "CONVERT")] == ["input a.dm3 changed"]


def test_a_changed_user_table_converts_the_files_it_applies_to(converted):
    source, out, table = converted
    _write_table(table, "2024.2", "Our microscope after the upgrade")
    dry = _run(source, out, "-c", str(table), "--dry-run")
    reasons = {line.split()[1]: line.partition(": ")[2] for line in _lines(dry, "CONVERT")}
    expected = "input facility.json changed; mapping table facility-gatan (facility.json) 2024.1 -> 2024.2"
    assert reasons == {str(source / "a.dm3"): expected, str(source / "b.dm3"): expected}
    assert "input facility.json changed" in reasons[str(source / "a.dm3")]
    _run(source, out, "-c", str(table))
    with h5py.File(out / "a.nxs", "r") as h5:
        name = h5["entry1/measurement/instrument/name"][()].decode()
    assert name == "Our microscope after the upgrade"


def test_a_new_shipped_table_version_or_converter_version_converts_again(converted, monkeypatch):
    source, out, table = converted
    shipped = engine.shipped_table

    def newer_tia_table(name: str):
        found = shipped(name)
        return replace(found, version="1.1.0") if name == "tia" else found

    monkeypatch.setattr(engine, "shipped_table", newer_tia_table)
    dry = _run(source, out, "-c", str(table), "--dry-run")
    assert [line.partition(": ")[2] for line in _lines(dry, "CONVERT")] == [
        "mapping table tia (tia.json) 1.0.0 -> 1.1.0"
    ]
    assert _run(source, out, "-c", str(table)).output.splitlines()[-1].startswith("1 converted, 2 up to date")

    monkeypatch.setattr("pynxtools_em_plugin.incremental.installed_version", lambda name, missing: "99.0")
    dry = _run(source, out, "-c", str(table), "--dry-run")
    assert len(_lines(dry, "CONVERT")) == 3 and "pynxtools-em-plugin" in _lines(dry, "CONVERT")[0]


def test_an_output_not_written_by_em_plugin_is_kept(converted):
    source, out, table = converted
    (out / "a.nxs").write_bytes(b"someone else's file")
    result = _run(source, out, "-c", str(table))
    assert "SKIPPED" in _lines(result, "a.dm3")[0] and "exists" in _lines(result, "a.dm3")[0]
    assert (out / "a.nxs").read_bytes() == b"someone else's file"


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()
