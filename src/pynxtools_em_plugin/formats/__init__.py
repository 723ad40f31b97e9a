"""The registry of supported vendor formats, and the one way files are grouped into acquisitions.

Every format is one module in this package satisfying the contract in
:mod:`.contract` (``NAME``, ``TITLE``, ``EXTENSIONS``, ``sniff``, ``read`` and
optional hooks). Adding a format is one line in :data:`FORMAT_MODULES` (plus the
module, its mapping table and its tests; tests/test_format_contract.py says what
is missing).

Format modules import their heavy readers (RosettaSciIO) inside ``read`` only,
so that importing this registry and sniffing files stays cheap.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import cast

from ..compat.rsciio import shared_unit_registry
from ..errors import ConversionError, UnrecognisedFile
from ..lazy_imports import deferred_imports
from ..model import Signal
from ..parsing import HEAD_SIZE
from ..units import ureg
from .contract import FormatModule

#: Module names, in the order in which files are tested against them: the first module whose
#: ``sniff`` says yes reads the file. The order decides nothing for a real file: no two sniffers
#: claim the same file (tests/test_format_contract.py runs every sniffer on every shared file).
#: It is an order of cost and specificity: byte signatures at fixed offsets (DM, TIA, TIFF and the
#: plain images) first; the HDF5 sniffers (Velox, Berkeley EMD) open the file only after the HDF5
#: signature matched; loosely structured text (EMSA keywords, Protochips CSV, a DE ``_info.txt``)
#: comes after the binary formats, so that a binary file that happens to hold such text in its
#: first bytes is never taken for text. A new format goes where its signature is as specific as
#: its neighbours'.
FORMAT_MODULES: tuple[str, ...] = (
    "gatan",
    "velox",
    "tia",
    "tiff",
    "image",
    "bruker",
    "edax",
    "phenom",
    "jeol",
    "msa",
    "protochips",
    "dens",
    "impulse",
    "quantumdetector",
    "mrc",
    "blockfile",
    "ncem_emd",
    "hyperspy",
    "arina",
    "ebsd",
    "tvips",
    "delmic",
    "hamamatsu",
    "pantarhei",
    "semper",
    "digitalsurf",
    "ripple",
    "oxford_ebsp",
    "edax_up",
    "nordif",
    "kikuchipy_h5",
    "emsoft_ebsd",
)

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


@cache
def all_formats() -> tuple[FormatModule, ...]:
    """The format modules, imported once."""
    return tuple(cast(FormatModule, importlib.import_module(f"{__name__}.{name}")) for name in FORMAT_MODULES)


def format_named(name: str) -> FormatModule:
    """The registered format module called ``name``."""
    for fmt in all_formats():
        if name == fmt.NAME:
            return fmt
    raise KeyError(name)


# ---- optional hooks (contract.OptionalHooks), with their defaults ---------------------------
def companions_of(fmt: FormatModule, path: Path, candidates: Iterable[Path]) -> list[Path]:
    """The files ``fmt`` reads together with ``path`` (none if the format has no companions)."""
    finder = getattr(fmt, "companions", None)
    return finder(path, list(candidates)) if finder else []


def lone_companion_reason(fmt: FormatModule, path: Path) -> str | None:
    """Why ``path`` cannot be converted on its own (a companion without its main file), or None."""
    hook = getattr(fmt, "lone_companion", None)
    return hook(path) if hook else None


def nomad_claims(fmt: FormatModule, path: Path) -> bool:
    """Whether NOMAD should make an EM entry of a file ``fmt`` recognised."""
    hook = getattr(fmt, "nomad_claims", None)
    return hook(path) if hook else True


def has_companions(fmt: FormatModule) -> bool:
    return getattr(fmt, "companions", None) is not None


# ---- acquisitions ------------------------------------------------------------------------
@dataclass
class Acquisition:
    """A main file, its format and the companion files read together with it."""

    format: FormatModule
    main: Path
    companions: list[Path] = field(default_factory=list)

    @property
    def paths(self) -> list[Path]:
        return [self.main, *self.companions]


def group(detected: Iterable[tuple[FormatModule, Path]], candidates: Iterable[Path]) -> list[Acquisition]:
    """The acquisitions among recognised files: each with the companions its format finds among
    ``candidates``; a file that is another's companion is not an acquisition of its own.

    The one grouping rule of the package: ``dataconverter`` (the files given), ``em-plugin
    convert`` (the files of the folders walked) and NOMAD (the files of an upload folder) use it.
    """
    pool = list(candidates)
    found = [Acquisition(fmt, path, companions_of(fmt, path, pool)) for fmt, path in detected]
    consumed = {c for acquisition in found for c in acquisition.companions}
    return [a for a in found if a.main not in consumed]


def read_signals(acquisition: Acquisition) -> list[Signal]:
    """Every signal of an acquisition; a companion given without its main file is refused here.

    The format library's module-level imports for large files (``dask.array``...) run only if
    the file is read lazily (:mod:`..lazy_imports`); RosettaSciIO's unit conversions use the
    registry already built (:func:`..compat.rsciio.shared_unit_registry`)."""
    reason = lone_companion_reason(acquisition.format, acquisition.main)
    if reason is not None:
        raise ConversionError(acquisition.main, reason)
    with deferred_imports(), shared_unit_registry(ureg):
        return acquisition.format.read(acquisition.main, acquisition.companions)


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


def detect(path: Path) -> FormatModule:
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
