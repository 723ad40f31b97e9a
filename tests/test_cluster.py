"""``em-plugin convert --scheduler``: conversions as tasks on a real Dask cluster (a scheduler and two
worker processes on localhost, started here), including a worker killed in the middle of a task."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import pytest
from click.testing import CliRunner

from conftest import EM_DATA, em_file
from pynxtools_em_plugin.batch import plan
from pynxtools_em_plugin.cli import main

pytest.importorskip("distributed")

SHARED = ["gatan/2D", "tia", "tiff", "quantumdetector"]
DASK = str(Path(sys.executable).with_name("dask"))


def _start(command: list[str], log: Path) -> subprocess.Popen:
    with open(log, "wb") as handle:
        return subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory):
    """The address of a scheduler with two single-threaded workers (w1, w2); all stopped afterwards."""
    from distributed import Client

    folder = tmp_path_factory.mktemp("cluster")
    info = folder / "scheduler.json"
    processes = [
        _start(
            [DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file", str(info)],
            folder / "scheduler.log",
        )
    ]
    try:
        processes += [
            _start(
                [
                    DASK,
                    "worker",
                    "--scheduler-file",
                    str(info),
                    "--nthreads",
                    "1",
                    "--name",
                    name,
                    "--no-dashboard",
                    "--local-directory",
                    str(folder / name),
                ],
                folder / f"{name}.log",
            )
            for name in ("w1", "w2")
        ]
        with Client(scheduler_file=str(info), timeout="60s") as client:
            client.wait_for_workers(2, timeout=60)
            address = client.scheduler.address
        yield address
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            process.wait(timeout=30)


def _recorded_checksum(output: Path) -> str:
    with h5py.File(output, "r") as handle:
        assert handle["entry1/definition"][()].decode() == "NXem"
        return handle["entry1/note_input1/checksum"][()].decode()


def test_shared_files_convert_on_the_workers(scheduler, tmp_path):
    folders = [EM_DATA / name for name in SHARED]
    if not all(folder.is_dir() for folder in folders):
        pytest.skip("shared EM test data not available")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["convert", *map(str, folders), "-o", str(out), "--scheduler", scheduler])
    assert result.exit_code == 0, result.output
    jobs = plan(folders, out).jobs
    lines = [line for line in result.output.splitlines() if line.startswith("[")]
    assert len(lines) == len(jobs) >= 20
    assert all(" OK " in line for line in lines), result.output
    assert {line.split(" on ")[1].split(",")[0] for line in lines} == {"w1", "w2"}  # both workers, nothing here
    assert result.output.splitlines()[-1].startswith(f"{len(jobs)} converted, 0 up to date")
    for job in jobs:
        assert _recorded_checksum(job.output) == hashlib.sha256(job.main.read_bytes()).hexdigest(), job.main
    assert not list(out.rglob(".*.part"))

    again = CliRunner().invoke(main, ["convert", *map(str, folders), "-o", str(out), "--scheduler", scheduler])
    assert again.output.splitlines()[-1].startswith(f"0 converted, {len(jobs)} up to date")  # nothing submitted


def test_a_worker_killed_mid_task_leaves_no_partial_output_and_the_task_runs_again(scheduler, tmp_path):
    import numpy as np
    import tifffile

    source = tmp_path / "big.tif"
    tifffile.imwrite(source, np.random.default_rng(0).random((3072, 4096)))  # 96 MiB that gzip cannot shrink
    shutil.copy(em_file("gatan/2D/test_STEM_image.dm3"), tmp_path / "small.dm3")
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "pynxtools_em_plugin.cli",
        "convert",
        str(source),
        str(tmp_path / "small.dm3"),
        "-o",
        str(out),
        "--scheduler",
        scheduler,
    ]
    client = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    while not (parts := list(out.glob(".big.nxs.*.part"))) and client.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert parts, "the conversion ended before its worker could be killed"
    victim = int(parts[0].name.split(".")[-2])  # the worker process writing it
    os.kill(victim, signal.SIGKILL)
    output, _ = client.communicate(timeout=120)
    assert client.returncode == 0, output
    assert "2 converted" in output.splitlines()[-1]
    assert sorted(p.name for p in out.iterdir()) == ["big.nxs", "small.nxs"]  # the killed worker's part removed
    with h5py.File(out / "big.nxs", "r") as handle:
        assert handle["entry1/note_input1/checksum"][()].decode() == hashlib.sha256(source.read_bytes()).hexdigest()


def test_an_unreachable_scheduler_is_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.setattr("pynxtools_em_plugin.cluster.CONNECT_TIMEOUT", "1s")
    dm3 = em_file("gatan/2D/test_STEM_image.dm3")
    result = CliRunner().invoke(main, ["convert", str(dm3), "-o", str(tmp_path), "--scheduler", "tcp://127.0.0.1:9"])
    assert result.exit_code != 0
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in result.output
    assert not list(tmp_path.iterdir())
