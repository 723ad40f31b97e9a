"""The registry of supported vendor formats.

Every format is one module in this package with the same small interface:

``NAME``         short name, also the name of its JSON mapping table;
``TITLE``        what a microscopist calls it;
``EXTENSIONS``   usual file name endings (informative: detection is by content);
``sniff(path, head) -> bool``  recognise a file from its first bytes / layout;
``companions(path, candidates) -> list[Path]``  optional: files that belong
                 to ``path`` and are read together with it (e.g. a TIA ``.emi``
                 and its ``_N.ser``); formats without companions omit it;
``read(path, companions) -> list[Signal]``  read every signal of the file.

Format modules import their heavy readers (RosettaSciIO) inside ``read`` only,
so that importing this registry and sniffing files stays cheap.
"""

from __future__ import annotations

import importlib
from functools import cache
from pathlib import Path
from types import ModuleType

from ..errors import ConversionError, UnrecognisedFile

#: Module names, in the order in which files are tested against them.
FORMAT_MODULES: tuple[str, ...] = (
    "gatan",
    "velox",
    "tia",
    "tiff",
    "image",
    "bruker",
    "phenom",
    "jeol",
    "msa",
    "protochips",
    "quantumdetector",
    "mrc",
    "blockfile",
    "ncem_emd",
    "tvips",
)

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"

#: Bytes read from the start of a file for content sniffing.
HEAD_SIZE = 1024


@cache
def all_formats() -> tuple[ModuleType, ...]:
    """The format modules, imported once."""
    return tuple(importlib.import_module(f"{__name__}.{name}") for name in FORMAT_MODULES)


def companions_of(fmt: ModuleType, path: Path, candidates: list[Path]) -> list[Path]:
    """The files ``fmt`` reads together with ``path`` (none if the format has no companions)."""
    finder = getattr(fmt, "companions", None)
    return finder(path, candidates) if finder else []


def formats_table() -> list[tuple[str, str, str]]:
    """(name, title, usual extensions) of every format, in detection order."""
    return [(fmt.NAME, fmt.TITLE, " ".join(fmt.EXTENSIONS)) for fmt in all_formats()]


def supported_formats_text() -> str:
    """One line per format, for error messages and ``--help``-style listings."""
    return "; ".join(f"{fmt.TITLE} ({', '.join(fmt.EXTENSIONS)})" for fmt in all_formats())


def read_head(path: Path) -> bytes:
    """The first bytes of a file, or a clear error if it cannot be opened."""
    try:
        with open(path, "rb") as handle:
            return handle.read(HEAD_SIZE)
    except OSError as exc:
        raise ConversionError(path, f"cannot be opened ({exc.strerror or exc})") from exc


def detect(path: Path) -> ModuleType:
    """The format module that recognises ``path`` by its content."""
    if path.is_dir():
        raise ConversionError(path, "is a folder, not a file")
    head = read_head(path)
    if not head:
        raise ConversionError(path, "is empty (0 bytes)")
    if head.startswith(HDF5_MAGIC):
        from ._hdf5_probe import check_hdf5_structure

        check_hdf5_structure(path)  # before any sniffer: the HDF5 library may hang on a damaged file
    for fmt in all_formats():
        if fmt.sniff(path, head):
            return fmt
    if head.startswith(HDF5_MAGIC):
        raise ConversionError(path, "is an HDF5 file but not one of a supported layout (or it is truncated or damaged)")
    raise UnrecognisedFile(
        path,
        "is not a recognised electron-microscopy file; supported formats: " + supported_formats_text(),
    )
