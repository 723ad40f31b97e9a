"""NORDIF Kikuchi-pattern files: ``Pattern.dat`` with its ``Setting.txt``.

A ``.dat`` is headerless: 8-bit patterns one after the other, row by row of the scan
(kikuchipy's ``nordif`` plugin layout). What the patterns are (scan rows x columns,
pattern size, step) is only in the ``Setting.txt`` next to it: tab-separated
``key, value, unit`` lines in ``[sections]`` (latin-1). So a ``.dat`` is recognised by
its companion: a NORDIF ``Setting.txt`` in the same folder whose scan and pattern
sizes the ``.dat`` does not exceed. A ``.dat`` without one is no file this package
can recognise (the registry says so); a ``Setting.txt`` given alone is refused as a
companion without data (:func:`lone_companion`).

Read by kikuchipy's ``nordif`` plugin (memory map, lazy), imported inside :func:`read`
only: it imports orix, matplotlib, numba and diffsims (some 740 modules, 2-3 s), not
HyperSpy. ``Signal.metadata`` is kikuchipy's original metadata (``nordif_header``:
the lines of ``Setting.txt``) and, under ``nordif_settings``, the same lines parsed
here into ``{section: {key: value}}`` (values as written; NORDIF's units are fixed and
stated in the mapping table): kikuchipy keeps only some of them (it drops e.g. the
exposure time, gain, detector model, specimen name and software version). The scan
step is NORDIF's ``[Area] Step size`` (µm, the same in x and y, as kikuchipy reads
it); kikuchipy's detector gives the detector tilt (minus NORDIF's elevation) and azimuth.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConversionError
from ..model import Signal
from ..parsing import read_head
from ._kikuchi import SQUARE, ScanGrid, pattern_signal, refuse
from ._rsciio import call_reader, lazily, vendor_tree

NAME = "nordif"
TITLE = "NORDIF EBSD patterns"
EXTENSIONS = (".dat", ".txt")
PARSED_VENDOR_BLOCKS = ("nordif_settings",)

SETTINGS_NAME = "Setting.txt"
_MAGIC = b"[NORDIF]"
_SECTION = re.compile(r"^\[(.+)\]$")
_SIZE = re.compile(r"^\s*(\d+)\s*x\s*(\d+)\s*$")
_MAX_SETTINGS_BYTES = 1 << 20


def sniff(path: Path, head: bytes) -> bool:
    if head.startswith(_MAGIC):
        return True
    settings = _settings_beside(path)
    if settings is None:
        return False
    try:
        shape = _pattern_block_shape(_parse(settings))
        size = path.stat().st_size
    except (OSError, ValueError):
        return False
    expected = int(np.prod(shape))
    return 0 < size <= expected and (size == expected or path.suffix.lower() == ".dat")


def companions(path: Path, candidates: list[Path]) -> list[Path]:
    """The ``Setting.txt`` of the same folder, read with the patterns."""
    if _is_settings(path):
        return []
    return [c for c in candidates if c.parent == path.parent and c.name.lower() == SETTINGS_NAME.lower()]


def lone_companion(path: Path) -> str | None:
    """A ``Setting.txt`` holds no patterns: the ``.dat`` beside it is what converts."""
    if not _is_settings(path):
        return None
    return "is a NORDIF settings file (Setting.txt) without patterns; pass the Pattern.dat beside it"


def read(path: Path, companions: list[Path]) -> list[Signal]:
    from kikuchipy.io.plugins.nordif import file_reader

    settings_path = companions[0] if companions else _settings_beside(path)
    if settings_path is None:
        raise refuse(path, TITLE, f"has no NORDIF {SETTINGS_NAME} beside it, which gives its scan and pattern size")
    settings = _sections(_lines(settings_path))
    try:
        rows, cols, height, width = _pattern_block_shape(settings)
    except ValueError as exc:
        raise ConversionError(settings_path, f"is a NORDIF settings file but {exc}") from exc
    expected, size = rows * cols * height * width, path.stat().st_size
    if size < expected:
        needs = f"the {rows} x {cols} scan of {height} x {width} patterns in {settings_path.name} needs {expected}"
        raise refuse(path, TITLE, f"is truncated: {size} bytes, {needs}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # kikuchipy's note on a missing background pattern image
        (entry,) = call_reader(path, TITLE, lazily(file_reader), setting_file=str(settings_path))
    step = float(entry["axes"][0]["scale"])
    grid = ScanGrid(SQUARE, rows, cols, step_x=step, step_y=step, extra=_detector_facts(entry.get("detector")))
    metadata = {**vendor_tree(entry), "nordif_settings": settings}
    return [pattern_signal(path, NAME, entry["data"], grid, metadata)]


def _is_settings(path: Path) -> bool:
    return read_head(path, len(_MAGIC)) == _MAGIC


def _settings_beside(path: Path) -> Path | None:
    """The NORDIF ``Setting.txt`` in the folder of ``path`` (by name: no folder listing per sniffed file)."""
    for name in (SETTINGS_NAME, SETTINGS_NAME.lower()):
        candidate = path.parent / name
        if candidate != path and candidate.is_file() and _is_settings(candidate):
            return candidate
    return None


def _lines(path: Path) -> list[str]:
    """The lines of a settings file as kikuchipy keeps them (latin-1, line ends removed)."""
    with open(path, "rb") as handle:
        raw = handle.read(_MAX_SETTINGS_BYTES + 1)
    if len(raw) > _MAX_SETTINGS_BYTES:
        raise ConversionError(path, "is far larger than a NORDIF settings file: not one")
    return raw.decode("latin-1").splitlines()


def _parse(path: Path) -> dict[str, dict[str, str]]:
    return _sections(_lines(path))


def _sections(lines: list[str]) -> dict[str, dict[str, str]]:
    """``{section: {key: value}}`` from ``key<TAB>value<TAB>unit`` lines; the first of a repeated key wins."""
    tree: dict[str, dict[str, str]] = {}
    section: dict[str, str] = {}
    for line in lines:
        cells = [cell.strip() for cell in line.split("\t")]
        match = _SECTION.match(cells[0])
        if match:
            section = tree.setdefault(match.group(1), {})
        elif cells[0] and len(cells) > 1:
            section.setdefault(cells[0], cells[1])
    return tree


def _pattern_block_shape(settings: dict[str, dict[str, str]]) -> tuple[int, int, int, int]:
    """(scan rows, scan columns, pattern height, pattern width) as kikuchipy reads them."""
    rows, cols = _pair(settings, "Area", "Number of samples")  # written rows x columns
    width, height = _pair(settings, "Acquisition settings", "Resolution")  # written width x height
    return rows, cols, height, width


def _pair(settings: dict[str, dict[str, str]], section: str, key: str) -> tuple[int, int]:
    text = settings.get(section, {}).get(key, "")
    match = _SIZE.match(text)
    if not match or 0 in (int(match.group(1)), int(match.group(2))):
        raise ValueError(f"its [{section}] '{key}' ('{text}') is not a size like 60x60")
    return int(match.group(1)), int(match.group(2))


def _detector_facts(detector: Any) -> dict[str, Any]:
    """kikuchipy's detector tilt and azimuth (degrees) and the sample tilt it read."""
    if detector is None:
        return {}
    facts = {
        "detector_tilt": float(detector.tilt),
        "detector_azimuth": float(detector.azimuthal),
        "sample_tilt": float(detector.sample_tilt),
    }
    return {**facts, "units": dict.fromkeys(facts, "degree")}
