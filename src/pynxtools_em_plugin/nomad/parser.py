"""NOMAD parser for raw vendor files: convert to NXem, then map it like any ``.nxs``.

The archive is made by pynxtools' own NeXus parser from the converted file, so
an entry of a raw ``.dm3`` holds exactly the sections and quantities that the
upload of the converted ``.nxs`` would give (and the EM app and normalizer see
no difference). Where the processing context may write into the upload (NOMAD
processing a staging upload, or ``nomad parse --server-context``), the NeXus
file is kept next to the raw file as ``.<name>.nxs`` for download; otherwise
it is written to a temporary folder that lives as long as the archive.

Companions and the ELN YAML of the folder are found by ``matching.py``; an
``eln.yaml`` this package cannot read (another tool's) is ignored with a
warning rather than failing the entry.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from pathlib import Path

from nomad.datamodel import EntryArchive
from nomad.parsing import MatchingParser
from nomad.utils import get_logger

from ..conversion import ConversionSettings, convert
from ..eln import load_eln
from ..errors import ConversionError
from .matching import claims, conversion_inputs, kept_name

#: NeXus file each archive of this parser was made from (read by the normalizer).
CONVERTED: weakref.WeakKeyDictionary[EntryArchive, Path] = weakref.WeakKeyDictionary()

#: pynxtools' validation messages about required fields a vendor file does not record.
_NOT_SUPPLIED = "hasn't been supplied"


class EmRawParser(MatchingParser):
    """Electron-microscopy vendor files (every format of ``em-plugin formats``) -> NXem archive."""

    def __init__(self, **kwargs):
        kwargs.setdefault("domain", "nexus")
        super().__init__(**kwargs)
        self._nexus_parser = None

    def is_mainfile(self, filename, mime, buffer, decoded_buffer, compression=None) -> bool:
        return claims(Path(filename))

    def parse(self, mainfile: str, archive: EntryArchive, logger=None, child_archives=None) -> None:
        logger = logger or get_logger(__name__)
        path = Path(mainfile)  # as NOMAD gives it: pynxtools derives the upload path from it
        fmt, companions, eln = conversion_inputs(path)
        eln = _readable_eln(eln, logger)
        output = _output_path(archive, path)
        outcome = convert([path, *companions, *eln], output, ConversionSettings(overwrite=True))
        _log(logger, outcome, fmt.NAME, companions, eln)
        if outcome.status != "converted":
            raise ConversionError(None, outcome.message)
        CONVERTED[archive] = output
        self.nexus_parser.parse(str(output), archive, logger)

    @property
    def nexus_parser(self):
        """pynxtools' NeXus parser, through its public NOMAD entry point (building its metainfo the first
        time, about 30 s)."""
        if self._nexus_parser is None:
            from pynxtools.nomad.parsers import nexus_parser

            self._nexus_parser = nexus_parser.load()
        return self._nexus_parser


def _readable_eln(files: list[Path], logger) -> list[Path]:
    """ELN YAML files this package can read; another tool's ``eln.yaml`` must not fail the entry."""
    readable = []
    for path in files:
        try:
            load_eln([path])
        except ConversionError as exc:
            logger.warning("ELN YAML not used", file=path.name, reason=exc.reason)
        else:
            readable.append(path)
    return readable


def _output_path(archive: EntryArchive, path: Path) -> Path:
    """Next to the raw file when the upload may be written to, else a temporary folder."""
    if writable_upload(archive):
        return path.parent / kept_name(path)
    folder = Path(tempfile.mkdtemp(prefix="em-plugin-"))
    weakref.finalize(archive, shutil.rmtree, folder, True)
    return folder / f"{path.name}.nxs"


def writable_upload(archive: EntryArchive) -> bool:
    """Whether this processing may add files to the upload (never to a published one)."""
    from nomad.datamodel.context import ServerContext, ServerLocalContext

    context = archive.m_context
    if isinstance(context, ServerLocalContext):
        return True
    if isinstance(context, ServerContext):
        upload = context.upload
        return upload is not None and not getattr(upload, "published", True)
    return False


def _log(logger, outcome, format_name: str, companions: list[Path], eln: list[Path]) -> None:
    for message in dict.fromkeys(outcome.warnings):
        (logger.info if _NOT_SUPPLIED in message else logger.warning)(message)
    logger.info(
        "converted vendor file to NXem",
        format=format_name,
        companions=[p.name for p in companions],
        eln=[p.name for p in eln],
        status=outcome.status,
        seconds=round(outcome.seconds, 2),
    )
