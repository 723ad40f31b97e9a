"""NOMAD normalizer: ``results`` for every NXem entry, whoever wrote the NeXus file.

Runs after NOMAD's own normalizers (entry point ``execution_order``) on entries
made by pynxtools' NeXus parser (an uploaded ``.nxs``) or by this package's raw
file parser, reads the NeXus file through ``summary.py`` and adds:

* ``results.eln.methods``: ``Electron microscopy``, the imaging modes (TEM, STEM,
  SEM) and the technique of each event (``STEM imaging``, ``EDS``, ``EELS``...);
* ``results.eln.tags``: the signal kinds (image, spectrum, spectrum image,
  diffraction, 4D...);
* ``results.eln.instruments``: vendor and model;
* ``results.material.elements``: sample atom types, EDS/EELS element maps and indexing;
* ``data.datetime`` (the acquisition time NOMAD shows and the EM app's histogram
  uses): the earliest start time of an entry or event. pynxtools takes it from
  the entries only and falls back to the processing time, which is no
  acquisition time.
"""

from __future__ import annotations

import os
from contextlib import contextmanager, suppress
from pathlib import Path

from nomad.datamodel import EntryArchive
from nomad.normalizing import Normalizer

from .summary import EmSummary, summarize_file

#: Endings of files the NeXus parsers read.
_NEXUS_SUFFIXES = (".nxs", ".nx", ".h5", ".hdf5", ".nx5")


class EmNormalizer(Normalizer):
    domain = None  # every entry; NXem entries are recognised by their data

    def normalize(self, archive: EntryArchive, logger=None) -> None:
        super().normalize(archive, logger)
        if not _from_nexus(archive):
            return
        try:
            with _nexus_file(archive) as source:
                summary = summarize_file(source) if source is not None else None
        except Exception as exc:  # a damaged file must not fail the entry: the parser reported it
            self.logger.warning("could not summarise the NeXus file for the EM results", exc_info=exc)
            return
        if summary is not None:
            apply_summary(archive, summary)


def apply_summary(archive: EntryArchive, summary: EmSummary) -> None:
    eln = archive.m_setdefault("results.eln")
    eln.methods = _merged(eln.methods, summary.methods)
    eln.tags = _merged(eln.tags, summary.signal_kinds)
    eln.instruments = _merged(eln.instruments, summary.instruments)
    if summary.elements:
        material = archive.m_setdefault("results.material")
        material.elements = sorted(set(material.elements or []) | set(summary.elements))
    data = archive.data
    if summary.start_time and "datetime" in data.m_def.all_quantities:
        data.datetime = summary.start_time


def _merged(existing, new) -> list[str]:
    return list(dict.fromkeys([*(existing or []), *new]))


def _from_nexus(archive: EntryArchive) -> bool:
    data = archive.data
    return data is not None and data.m_def.qualified_name().startswith("pynxtools.")


@contextmanager
def _nexus_file(archive: EntryArchive):
    """The entry's NeXus file, as a path or an open binary file; None if not found.

    Tried in order: the file this package's raw-file parser converted; the file
    pynxtools' parser recorded on ``data`` (absolute, or relative to the upload);
    the mainfile, if it is a NeXus file.
    """
    from .parser import CONVERTED

    if (converted := CONVERTED.get(archive)) is not None and converted.is_file():
        yield converted
        return
    for name in _recorded_names(archive):
        if os.path.isabs(name) and os.path.isfile(name):
            yield Path(name)
            return
        try:
            handle = archive.m_context.raw_file(name, "rb")
        except Exception:
            continue
        with handle:
            yield handle
        return
    yield None


def _recorded_names(archive: EntryArchive) -> list[str]:
    names = []
    with suppress(Exception):
        names.append(archive.data.m_get_section_attribute("m_nx_data_file"))
    mainfile = archive.metadata.mainfile if archive.metadata else None
    if mainfile and mainfile.lower().endswith(_NEXUS_SUFFIXES):
        names.append(mainfile)
    return [n for n in dict.fromkeys(names) if n]
