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
* ``data.em_summary``: the searchable EM summary in SI units
  (:mod:`pynxtools_em_plugin.nomad.schema_package`), per entry and per event.
"""

from __future__ import annotations

import os
from contextlib import contextmanager, suppress
from pathlib import Path

from nomad.datamodel import EntryArchive
from nomad.normalizing import Normalizer

from .summary import EmSummary, EventSummary, summarize_file

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
            _mark_session(archive)


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
    data.em_summary = summary_section(summary)


def _mark_session(archive: EntryArchive) -> None:
    """The session name on a session's entries (set by the raw-file parser, sessions.py)."""
    from .parser import SESSIONS

    section = archive.data.em_summary
    name, is_session = SESSIONS.get(archive, (None, False))
    section.session = name
    section.record = "session" if is_session else "file"


def summary_section(summary: EmSummary):
    """The schema section of a summary: entry-wide values, then one section per event."""
    from .schema_package import SETTINGS, EmEventSummary
    from .schema_package import EmSummary as EmSummarySection

    section = EmSummarySection(
        techniques=_joined(summary.techniques),
        imaging_modes=_joined(summary.modes),
        signal_kinds=_joined(summary.signal_kinds),
        vendor=_joined(summary.vendors),
        model=_joined(summary.models),
        instrument=_joined(summary.instruments),
        sample_name=_joined(summary.sample_names),
        elements=_joined(summary.elements),
        phases=_joined(summary.phases),
        acquisition_start=summary.start_time,
        acquisition_end=summary.end_time,
        n_events=len(summary.events),
        data_shape=_shape(summary.events[0].data_shape) if summary.events else None,
        detector_name=_shared([e.detector_name for e in summary.events]),
        detector_type=_shared([e.detector_type for e in summary.events]),
    )
    for name in SETTINGS:
        value = _shared([e.settings.get(name) for e in summary.events])
        if value is not None:
            setattr(section, name, value)
    section.events = [_event_section(EmEventSummary, event) for event in summary.events]
    return section


def _event_section(section_class, event: EventSummary):
    section = section_class(
        name=event.path,
        technique=event.techniques[0] if event.techniques else None,
        imaging_mode=event.mode,
        signal_kind=event.signal_kinds[0] if event.signal_kinds else None,
        data_shape=_shape(event.data_shape),
        detector_name=event.detector_name,
        detector_type=event.detector_type,
        start_time=event.start_time,
    )
    for name, value in event.settings.items():
        setattr(section, name, value)
    return section


def _shared(values: list):
    """The value all events that record it share; None if none records it or they differ."""
    known = {v for v in values if v is not None}
    return known.pop() if len(known) == 1 else None


def _joined(values) -> str | None:
    return ", ".join(values) or None


def _shape(shape: tuple[int, ...]) -> str | None:
    return " x ".join(str(n) for n in shape) or None


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
