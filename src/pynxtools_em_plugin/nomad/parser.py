"""NOMAD parser for raw vendor files: convert to NXem, then map it like any ``.nxs``.

The archive is made by pynxtools' own NeXus parser from the converted file, so
an entry of a raw ``.dm3`` holds exactly the sections and quantities that the
upload of the converted ``.nxs`` would give (and the EM app and normalizer see
no difference). Where the processing context may write into the upload (NOMAD
processing a staging upload, or ``nomad parse --server-context``), the NeXus
file is kept next to the raw file as ``.<name>.nxs`` for download; otherwise
it is written to a temporary folder that lives as long as the archive.
pynxtools' parser runs with its NXDL look-ups memoised
(:func:`.compat.pynxtools.memoised_nexus_lookups`: the 18-event Velox file in a
third of the time).

Companions and the ELN YAML of the folder are found by ``matching.py``; an
``eln.yaml`` this package cannot read (another tool's) is ignored with a
warning rather than failing the entry. The first acquisition of a folder that is
a session (``sessions.py``) also makes the session entry, as its child entry.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from pathlib import Path

from nomad.datamodel import EntryArchive
from nomad.parsing import MatchingParser
from nomad.utils import get_logger

from ..compat.pynxtools import memoised_nexus_lookups, shared_nxdl_trees
from ..conversion import ConversionSettings, convert
from ..eln import load_eln
from ..errors import ConversionError
from .matching import FOLDER_ELN_NAMES, claims, conversion_inputs, eln_files, kept_name
from .sessions import SESSION_KEY, owns_session, session_members, session_name

#: NeXus file each archive of this parser was made from (read by the normalizer).
CONVERTED: weakref.WeakKeyDictionary[EntryArchive, Path] = weakref.WeakKeyDictionary()
#: Session (name) each archive of this parser belongs to, and which archive is the session entry itself.
SESSIONS: weakref.WeakKeyDictionary[EntryArchive, tuple[str, bool]] = weakref.WeakKeyDictionary()

#: pynxtools' validation messages about required fields a vendor file does not record.
_NOT_SUPPLIED = "hasn't been supplied"


class EmRawParser(MatchingParser):
    """Electron-microscopy vendor files (every format of ``em-plugin formats``) -> NXem archive."""

    creates_children = True  # the session entry of a folder (sessions.py)

    def __init__(self, **kwargs):
        kwargs.setdefault("domain", "nexus")
        super().__init__(**kwargs)
        self._nexus_parser = None

    def is_mainfile(self, filename, mime, buffer, decoded_buffer, compression=None) -> bool | set[str]:
        if not claims(Path(filename)):
            return False
        return {SESSION_KEY} if owns_session(Path(filename)) else True

    def parse(self, mainfile: str, archive: EntryArchive, logger=None, child_archives=None) -> None:
        with shared_nxdl_trees():  # the writer's NXDL look-ups memoised, as in em-plugin convert's batches
            self._parse(mainfile, archive, logger or get_logger(__name__), child_archives)

    def _parse(self, mainfile: str, archive: EntryArchive, logger, child_archives) -> None:
        path = Path(mainfile)  # as NOMAD gives it: pynxtools derives the upload path from it
        fmt, companions, eln = conversion_inputs(path)
        eln = _readable_eln(eln, logger)
        output = _output_path(archive, path, kept_name(path))
        outcome = convert([path, *companions, *eln], output, ConversionSettings(overwrite=True))
        _log(logger, outcome, fmt.NAME, companions, eln)
        if outcome.status != "converted":
            raise ConversionError(None, outcome.message)
        CONVERTED[archive] = output
        self._map_nexus(output, archive, logger)
        members = session_members(path)
        if members:
            name = session_name(archive.metadata.mainfile if archive.metadata else None, path)
            SESSIONS[archive] = (name, False)
            session = (child_archives or {}).get(SESSION_KEY)
            if session is not None:
                self._parse_session(members, name, archive, session, logger)

    def _parse_session(self, members: list[Path], name: str, owner: EntryArchive, session, logger) -> None:
        """The session entry: every acquisition of the folder in one NXem session record (``em-plugin session``).

        A failing session record is logged and leaves the file entries as they are.
        """
        inputs = [p for member in members for p in (member, *conversion_inputs(member)[1])]
        eln = _readable_eln([p for p in eln_files(members[0]) if p.name in FOLDER_ELN_NAMES], logger)
        output = _output_path(owner, members[0], f".{members[0].parent.name or 'upload'}.session.nxs")
        settings = ConversionSettings(overwrite=True, session_name=name)  # the record titled as the entry
        outcome = convert([*dict.fromkeys(inputs), *eln], output, settings)
        _log(logger, outcome, "session", [p for p in inputs if p not in members], eln)
        if outcome.status != "converted":
            logger.warning("no session entry", session=name, reason=outcome.message)
            return
        if session.m_context is None:
            session.m_context = owner.m_context
        CONVERTED[session] = output
        SESSIONS[session] = (name, True)
        self._map_nexus(output, session, logger)

    def _map_nexus(self, nexus: Path, archive: EntryArchive, logger) -> None:
        """pynxtools' NeXus parser on the converted file, its NXDL look-ups memoised (same archive, faster)."""
        with memoised_nexus_lookups():
            self.nexus_parser.parse(str(nexus), archive, logger)

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


def _output_path(archive: EntryArchive, path: Path, kept: str) -> Path:
    """``kept`` (a hidden name) next to the raw file when the upload may be written to, else a temporary folder."""
    if writable_upload(archive):
        return path.parent / kept
    folder = Path(tempfile.mkdtemp(prefix="em-plugin-"))
    weakref.finalize(archive, shutil.rmtree, folder, True)
    return folder / kept.lstrip(".")


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
