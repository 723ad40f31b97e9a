"""The batch command: grouping related files, continue-on-error, skipping up-to-date
outputs (tests/test_incremental.py for the rest), atomic writing (no partial file under the target name)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import em_file
from pynxtools_em_plugin.batch import plan
from pynxtools_em_plugin.cli import main
from pynxtools_em_plugin.conversion import convert


@pytest.fixture
def folder(tmp_path) -> Path:
    """A small instrument-PC folder: a TIA acquisition (.emi + 2 .ser), a DM image, a bad file, a note."""
    source = tmp_path / "session"
    (source / "sub").mkdir(parents=True)
    for name in ("16x16_STEM_BF_DF_acquire.emi", "16x16_STEM_BF_DF_acquire_1.ser", "16x16_STEM_BF_DF_acquire_2.ser"):
        shutil.copy(em_file(f"tia/{name}"), source / name)
    shutil.copy(em_file("gatan/2D/test_STEM_image.dm3"), source / "sub" / "test_STEM_image.dm3")
    (source / "sub" / "broken.dm3").write_bytes(em_file("gatan/2D/test_STEM_image.dm3").read_bytes()[:3000])
    (source / "notes.txt").write_text("beam was unstable after lunch\n")
    return source


def test_plan_groups_companions_and_ignores_other_files(folder, tmp_path):
    batch = plan([folder], tmp_path / "out")
    jobs = {job.main.name: job for job in batch.jobs}
    assert sorted(jobs) == ["16x16_STEM_BF_DF_acquire.emi", "broken.dm3", "test_STEM_image.dm3"]
    assert [c.name for c in jobs["16x16_STEM_BF_DF_acquire.emi"].companions] == [
        "16x16_STEM_BF_DF_acquire_1.ser",
        "16x16_STEM_BF_DF_acquire_2.ser",
    ]
    assert jobs["test_STEM_image.dm3"].output == tmp_path / "out" / "sub" / "test_STEM_image.nxs"
    assert [p.name for p in batch.ignored] == ["notes.txt"]


def test_explicitly_named_unknown_file_is_reported(folder, tmp_path):
    batch = plan([folder / "notes.txt"], tmp_path / "out")
    assert batch.jobs == [] and batch.rejected[0][0].name == "notes.txt"
    assert "supported formats" in batch.rejected[0][1]


def test_batch_converts_continues_after_errors_and_skips_existing(folder, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["convert", str(folder), "-o", str(out), "-j", "2"])
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert sum("OK" in line for line in lines) == 2
    failed = [line for line in lines if "FAILED" in line]
    assert len(failed) == 1 and "broken.dm3" in failed[0] and "truncated or damaged" in failed[0]
    assert lines[-1].startswith("2 converted, 0 up to date, 0 skipped (output exists), 1 failed, 1 other files ignored")
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "16x16_STEM_BF_DF_acquire.nxs",
        "sub/test_STEM_image.nxs",
    ]
    again = CliRunner().invoke(main, ["convert", str(folder / "sub" / "test_STEM_image.dm3"), "-o", str(out / "sub")])
    assert again.exit_code == 0 and "CURRENT" in again.output and "up to date" in again.output


def test_interrupted_write_leaves_no_file_under_the_target_name(folder, tmp_path, monkeypatch):
    from pynxtools.dataconverter.writer import Writer

    def crash(self):
        Path(self.output_path).write_bytes(b"half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(Writer, "write", crash)
    job = plan([folder / "sub" / "test_STEM_image.dm3"], tmp_path / "out").jobs[0]
    with pytest.raises(KeyboardInterrupt):
        convert(job.inputs, job.output)
    assert list((tmp_path / "out").iterdir()) == []


def test_killed_conversion_leaves_no_file_under_the_target_name_and_the_next_run_cleans_up(tmp_path):
    """A real SIGKILL while the output is being written (no Python clean-up can run)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    import numpy as np
    import tifffile

    source = tmp_path / "big.tif"
    tifffile.imwrite(source, np.random.default_rng(0).random((4096, 4096)))  # 128 MiB that gzip cannot shrink
    out = tmp_path / "out"
    command = [sys.executable, "-m", "pynxtools_em_plugin.cli", "convert", str(source), "-o", str(out)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while not list(out.glob(".big.nxs.*.part")) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert process.poll() is None, "the conversion ended before it could be interrupted"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert not (out / "big.nxs").exists()
    assert len(list(out.glob(".big.nxs.*.part"))) == 1  # the abandoned temporary file, hidden

    result = CliRunner().invoke(main, ["convert", str(source), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["big.nxs"]
