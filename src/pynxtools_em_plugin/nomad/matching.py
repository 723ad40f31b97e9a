"""Which uploaded files are electron-microscopy acquisitions, and what goes with them.

NOMAD asks every parser about every file of an upload (in threads), so this
only sniffs file heads through the format registry (``formats.detect``), never
reads data. A file is claimed when:

* a format module recognises its content (not its name: a renamed file is
  still found, a ``.tif`` photo is not taken for an SEM image);
* its format's ``nomad_claims`` hook agrees (the format contract,
  ``formats/contract.py``): plain PNG/JPEG/BMP images are never claimed, a TIFF
  only when a microscope vendor's tags (or sidecar) are found;
* it is not the companion of another file nearby (an ``.emi``'s ``_N.ser``, a
  ``.mib``'s ``.hdr``, the ``Sample/`` files of a JEOL ``.ASW`` project...):
  the acquisition becomes one entry, under its main file, grouped by the
  registry's one grouping rule (``formats.group``).

A lone companion (e.g. a ``.hdr`` without its ``.mib``) is still claimed, so
that its entry tells the user what is missing instead of silently ignoring it.

An ELN/metadata YAML of this package (sample, users, time zone; see
``examples/eln.yaml``) applies to the raw files of its folder when it is
named ``eln.yaml`` / ``eln.yml``, or to one file when named
``<file name or stem>.eln.yaml``.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from ..errors import ConversionError
from ..formats import companions_of, detect, group, has_companions, lone_companion_reason, nomad_claims
from ..formats.contract import FormatModule

#: How many folders above a file may hold the main file it belongs to (JEOL: ASW/Sample/View/file).
MAX_LEVELS_UP = 2
#: Bounds of the folder walk that collects companion candidates for one conversion.
MAX_CANDIDATES = 20_000
MAX_DEPTH = 4
#: Names of ELN YAML files that apply to every raw file of their folder.
FOLDER_ELN_NAMES = ("eln.yaml", "eln.yml")


def claims(path: Path) -> bool:
    """Whether NOMAD should make an EM entry of ``path``; never raises."""
    try:
        return _claims(Path(path))
    except Exception:  # a matcher must not break NOMAD's matching of other files
        return False


def _claims(path: Path) -> bool:
    if _hidden(path) or not path.is_file():
        return False
    fmt = detect_cached(path)
    if fmt is None or not nomad_claims(fmt, path):
        return False
    return not is_companion_of_another(path, fmt)


def detect_cached(path: Path) -> FormatModule | None:
    """The format module recognising ``path``, or None; cached per file version."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return _detect(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8192)
def _detect(path: str, mtime_ns: int, size: int) -> FormatModule | None:
    try:
        return detect(Path(path))
    except ConversionError:
        return None


def is_companion_of_another(path: Path, fmt: FormatModule) -> bool:
    """Whether a file nearby, of the same format, reads ``path`` as its companion.

    Companions mostly have another ending than their main file (``.ser``/``.emi``,
    ``.hdr``/``.mib``, ``.txt``/``.mrc``, ``.img``/``.ASW``): with folder listings cached
    and grouped by ending, a folder of thousands of images costs one listing. Files of
    the same ending are looked at only for a file that holds no data of its own (a
    Dectris ``_data_``/side ``.h5`` next to its ``_master.h5``).
    """
    if not has_companions(fmt):
        return False
    suffix = path.suffix.lower()
    same_ending = lone_companion_reason(fmt, path) is not None
    for folder in [path.parent, *list(path.parent.parents)[:MAX_LEVELS_UP]]:
        for ending, others in _files_by_suffix(folder).items():
            if ending == suffix and not same_ending:
                continue
            for other in others:
                if detect_cached(other) is fmt and path in companions_of(fmt, other, [path]):
                    return True
    return False


def _files_by_suffix(folder: Path) -> dict[str, tuple[Path, ...]]:
    """The visible files of a folder by lower-case ending; cached until the folder changes."""
    try:
        return _listing(str(folder), folder.stat().st_mtime_ns)
    except OSError:
        return {}


@lru_cache(maxsize=256)
def _listing(folder: str, mtime_ns: int) -> dict[str, tuple[Path, ...]]:
    grouped: dict[str, list[Path]] = {}
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_file() and not entry.name.startswith("."):
                    path = Path(entry.path)
                    grouped.setdefault(path.suffix.lower(), []).append(path)
    except OSError:
        return {}
    return {suffix: tuple(sorted(paths)) for suffix, paths in grouped.items()}


def _hidden(path: Path) -> bool:
    return path.name.startswith((".", "~"))


def conversion_inputs(path: Path) -> tuple[FormatModule, list[Path], list[Path]]:
    """(format, companion files, ELN YAML files) for converting ``path``."""
    path = Path(path)
    acquisition = group([(detect(path), path)], candidates_below(path.parent))[0]
    return acquisition.format, acquisition.companions, eln_files(path)


def candidates_below(folder: Path) -> list[Path]:
    """Files below ``folder`` (bounded walk), in which companions are looked for."""
    found: list[Path] = []
    for root, dirs, files in os.walk(folder):
        depth = len(Path(root).relative_to(folder).parts)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")) if depth < MAX_DEPTH else []
        found += [Path(root) / name for name in sorted(files) if not name.startswith(".")]
        if len(found) >= MAX_CANDIDATES:
            break
    return found


def eln_files(path: Path) -> list[Path]:
    """ELN YAML files that apply to ``path``: folder-wide first, then file-specific (overrides)."""
    names = [*FOLDER_ELN_NAMES]
    for stem in dict.fromkeys((path.name, path.stem)):
        names += [f"{stem}.eln.yaml", f"{stem}.eln.yml"]
    return [path.parent / name for name in names if (path.parent / name).is_file()]


def kept_name(path: Path) -> str:
    """Name of the converted NeXus file kept next to ``path`` in an upload.

    Hidden (leading dot) on purpose: NOMAD does not match hidden files, so the kept
    copy never becomes a second entry holding the same data when the upload is
    processed again; it can still be downloaded from the upload's files.
    """
    return f".{path.name}.nxs"
