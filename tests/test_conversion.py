"""The one conversion function: outcomes, atomic output, and warnings captured per conversion
without touching the handlers of pynxtools' logger (a NOMAD worker's logging stays the host's)."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import pytest

from conftest import em_file
from pynxtools_em_plugin.compat.pynxtools import CAPTURED_LOGGERS, captured_warnings
from pynxtools_em_plugin.conversion import ConversionSettings, convert

MSA = "msa/example1.msa"  # reader warnings (NPOINTS, the X column) and validation warnings
TIFF = "tiff/FEI-Helios-navcam.tif"


class _Recorder(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage().removeprefix("WARNING: "))  # pynxtools' formatter prefixes it


def _logger_state() -> list[tuple]:
    return [(logger.handlers[:], logger.propagate, logger.level) for logger in map(logging.getLogger, CAPTURED_LOGGERS)]


@pytest.fixture
def recorder():
    """A handler on pynxtools' logger: what its console handler would print."""
    handler = _Recorder()
    logger = logging.getLogger("pynxtools")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def test_warnings_go_to_the_outcome_and_nothing_is_printed(recorder, tmp_path):
    import pynxtools  # noqa: F401  its import adds its console handler

    before = _logger_state()
    outcome = convert([em_file(MSA)], tmp_path / "out.nxs")
    assert outcome.status == "converted", outcome.message
    assert outcome.message == str(tmp_path / "out.nxs") and outcome.main == em_file(MSA)
    assert any("NPOINTS announces 20 points" in w for w in outcome.warnings)  # our reader's
    assert any("hasn't been supplied" in w for w in outcome.warnings)  # pynxtools' validation
    assert recorder.messages == []
    assert _logger_state() == before  # handlers, propagation, level untouched

    logging.getLogger("pynxtools").warning("outside a conversion")
    logging.getLogger("pynxtools.em_plugin").warning("ours, outside a conversion")
    assert recorder.messages == ["outside a conversion", "ours, outside a conversion"]


def test_the_capture_filter_is_installed_once(tmp_path):
    for name in ("a.nxs", "b.nxs"):
        convert([em_file(TIFF)], tmp_path / name)
    for logger in map(logging.getLogger, CAPTURED_LOGGERS):
        assert sum(type(f).__name__ == "_CaptureFilter" for f in logger.filters) == 1


def test_conversions_in_two_threads_collect_their_own_warnings(tmp_path):
    """Each gets its reader's warnings and none of the other's. (pynxtools' validation drops a message
    it logged already in a process-wide collector, so a validation warning of the same path may be
    reported by only one of two concurrent conversions: an upstream limit, not a mix-up.)"""
    names = (MSA, TIFF)
    alone = {name: convert([em_file(name)], tmp_path / f"alone{i}.nxs").warnings for i, name in enumerate(names)}
    together: dict[str, list[str]] = {}

    def run(name: str, number: int) -> None:
        together[name] = convert([em_file(name)], tmp_path / f"together{number}.nxs").warnings

    threads = [threading.Thread(target=run, args=(name, i)) for i, name in enumerate(names)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for name in names:
        own = [w for w in alone[name] if w.startswith(Path(name).name)]  # the reader's, naming the file
        assert own and set(own) <= set(together[name]) <= set(alone[name])


def test_a_capture_sees_only_its_own_thread(recorder):
    """Interleaved records of two captures and of a thread without one."""
    barrier = threading.Barrier(3)
    collected: dict[str, list[str]] = {}

    def log(name: str, capture: bool) -> None:
        logger = logging.getLogger("pynxtools")
        if not capture:
            barrier.wait()
            logger.warning(f"{name} 1")
            barrier.wait()
            return
        with captured_warnings() as messages:
            barrier.wait()
            logger.warning(f"{name} 1")
            logger.info(f"{name} info")  # dropped: not printed, not a warning
            barrier.wait()
        collected[name] = messages

    threads = [threading.Thread(target=log, args=args) for args in (("a", True), ("b", True), ("host", False))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert collected == {"a": ["a 1"], "b": ["b 1"]}
    assert recorder.messages == ["host 1"]


def test_an_existing_output_is_kept_unless_overwrite(tmp_path):
    output = tmp_path / "out.nxs"
    output.write_bytes(b"earlier")
    kept = convert([em_file(TIFF)], output)
    assert (kept.status, kept.message) == ("exists", f"{output} exists (use --overwrite)")
    assert output.read_bytes() == b"earlier"
    replaced = convert([em_file(TIFF)], output, ConversionSettings(overwrite=True))
    assert replaced.status == "converted" and output.read_bytes() != b"earlier"


def test_a_bad_input_fails_with_one_line_naming_the_file(tmp_path):
    broken = tmp_path / "broken.dm3"
    broken.write_bytes(em_file("gatan/2D/test_STEM_image.dm3").read_bytes()[:3000])
    outcome = convert([broken], tmp_path / "out" / "broken.nxs")
    assert outcome.status == "failed" and outcome.message.startswith(f"{broken}: ")
    assert "\n" not in outcome.message and outcome.warnings == []
    assert list((tmp_path / "out").iterdir()) == []


def test_strict_mode_fails_on_validation_problems(tmp_path):
    outcome = convert([em_file(MSA)], tmp_path / "out.nxs", ConversionSettings(strict=True))
    assert outcome.status == "failed"
    assert outcome.message == f"{em_file(MSA)}: the converted data do not validate against NXem (strict mode)"
    assert not (tmp_path / "out.nxs").exists()


def test_temporary_files_of_dead_processes_are_removed_those_of_live_ones_kept(tmp_path):
    dead, alive = tmp_path / ".out.nxs.999999999.part", tmp_path / f".out.nxs.{os.getppid()}.part"
    dead.write_bytes(b"abandoned")
    alive.write_bytes(b"another worker at work")
    assert convert([em_file(TIFF)], tmp_path / "out.nxs").status == "converted"
    assert sorted(p.name for p in tmp_path.iterdir()) == [alive.name, "out.nxs"]


def test_no_input_is_a_failed_outcome(tmp_path):
    outcome = convert([], tmp_path / "out.nxs")
    assert outcome.status == "failed" and outcome.main is None and "no input file given" in outcome.message


def test_settings_become_reader_options():
    settings = ConversionSettings(config_file="table.json", session_gap=60.0, anonymize=True)
    assert settings.reader_options() == {"anonymize": True, "session_gap": 60.0, "config_file": "table.json"}
    assert ConversionSettings().reader_options() == {}


def test_outcomes_travel_to_worker_processes_and_back(tmp_path):
    import pickle

    outcome = convert([], Path("x.nxs"))
    assert pickle.loads(pickle.dumps(outcome)) == outcome
