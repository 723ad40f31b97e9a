"""Shared test helpers: the real-data folder, conversions, validation capture."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import h5py
import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
EM_DATA = Path(os.environ.get("EM_PLUGIN_TEST_DATA", REPO.parent / "shared" / "em-data"))

#: Validation messages about required NXem fields the vendor files do not hold.
MISSING_REQUIRED = "hasn't been supplied"


def em_file(relative: str) -> Path:
    """A file of the shared real-data folder; skips the test when it is absent."""
    path = EM_DATA / relative
    if not path.exists():
        pytest.skip(f"real data not available: {path}")
    return path


def shared_files(pattern: str) -> list[str]:
    """Relative paths under the real-data folder (empty list when it is absent)."""
    if not EM_DATA.is_dir():
        return []
    return sorted(str(p.relative_to(EM_DATA)) for p in EM_DATA.glob(pattern))


@dataclass
class Converted:
    path: Path
    conversion_warnings: list[str]  # everything the conversion logged
    valid: bool  # pynxtools' validate_hdf_group_against on the written file
    validation_warnings: list[str]  # what that validation logged

    def h5(self) -> h5py.File:
        return h5py.File(self.path, "r")

    def missing_required(self) -> set[str]:
        """NXem concepts the validator reports as required but not supplied."""
        return {_concept(w) for w in self.validation_warnings if MISSING_REQUIRED in w}

    def other_validation_problems(self) -> list[str]:
        return [w for w in self.validation_warnings if MISSING_REQUIRED not in w]


def _concept(message: str) -> str:
    """'The required field /entry1/a/b hasn't been supplied.' -> 'a/b' (HDF5 names)."""
    return message.split(" /entry1/", 1)[-1].split(" hasn't", 1)[0]


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _captured(logger_name: str, action):
    handler = _Capture()
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    try:
        result = action()
    finally:
        logger.removeHandler(handler)
    return result, handler.messages


def validate_file(path: Path) -> tuple[bool, list[str]]:
    """pynxtools' own validation of a written NeXus file, and what it logged."""
    from pynxtools.dataconverter.validation import validate_hdf_group_against

    def run():
        with h5py.File(path, "r") as h5:
            return validate_hdf_group_against("NXem", h5["entry1"], str(path))

    return _captured("pynxtools", run)


def convert_files(inputs: list[Path], output: Path, config: Path | None = None) -> Converted:
    """Run pynxtools' own conversion (reader em_plugin, NXem), then validate the file."""
    from pynxtools.dataconverter.convert import convert

    kwargs = {"config_file": str(config)} if config else {}
    _, logged = _captured(
        "pynxtools",
        lambda: convert(tuple(str(p) for p in inputs), "em_plugin", "NXem", str(output), **kwargs),
    )
    valid, validation = validate_file(output)
    return Converted(output, logged, valid, validation)


@pytest.fixture
def convert(tmp_path):
    counter = iter(range(10_000))

    def run(*inputs: Path, config: Path | None = None) -> Converted:
        return convert_files(list(inputs), tmp_path / f"out{next(counter)}.nxs", config)

    return run
