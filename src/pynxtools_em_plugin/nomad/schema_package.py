"""The EM summary: what a microscopist searches by, in fixed SI units, for every NXem entry.

Why this shape (checked in nomad-lab 2.x, ``nomad/datamodel/datamodel.py``
``apply_archive_metadata`` and ``nomad/metainfo/elasticsearch_extension.py``):

* NOMAD indexes a quantity for search only below ``archive.data``, only when it
  is a scalar (``shape == []``: lists and arrays are skipped), and names it
  ``<path>#<qualified name of archive.data's own section class>``. An NXem entry's
  ``data`` is pynxtools' NeXus root (``pynxtools.nomad.schema.Root``), so the
  summary hangs below it as ``data.em_summary`` and its names end with
  ``#pynxtools.nomad.schema.Root``.
* Search quantities with a unit (shown by the GUI, convertible in app columns and
  filters) exist only for definitions NOMAD registers ahead of time: it walks the
  sections of the schema packages registered as ``nomad.plugin`` entry points,
  pynxtools' NeXus root to three levels. This package is registered as one
  (``entry_points.em_schema``) and adds its ``em_summary`` sub-section to the root
  when it is loaded, so ``data.em_summary.<q>`` and ``data.em_summary.events.<q>``
  are registered with the units declared here.
* Hence two levels only: entry-wide values in :class:`EmSummary`, one
  :class:`EmEventSummary` per event (a range filter on an event quantity selects an
  entry when any of its events is in range). Lists are joined into one text.

Every number is converted with pint from the unit the NeXus file states (see
``summary.py``); a value whose unit is missing or of the wrong kind is left out
rather than guessed.
"""

from __future__ import annotations

from nomad.datamodel.data import ArchiveSection
from nomad.metainfo import Datetime, Quantity, SchemaPackage, Section, SubSection

m_package = SchemaPackage(name="pynxtools_em_plugin.nomad.schema_package")

#: The section pynxtools' NeXus parser puts into ``archive.data`` (the ``#`` part of search names).
NEXUS_ROOT = "pynxtools.nomad.schema.Root"
#: Name of the summary below ``archive.data``.
SUMMARY = "em_summary"

#: Quantities with a physical unit: name -> (SI unit of the schema, description).
SETTINGS: dict[str, tuple[str, str]] = {
    "high_tension": ("V", "Accelerating voltage of the electron source."),
    "magnification": ("dimensionless", "Magnification as the microscope reports it."),
    "camera_length": ("m", "Camera length of diffraction / STEM detector geometry."),
    "field_of_view": ("m", "Width of the imaged or scanned area."),
    "pixel_size": ("m", "Spacing of the first spatial axis of the event's image."),
    "dwell_time": ("s", "Time the beam stays on each scan position."),
    "probe_current": ("A", "Beam (probe) current."),
    "convergence_semi_angle": ("rad", "Semi-angle of beam convergence."),
    "collection_inner_angle": ("rad", "Inner collection semi-angle of the detector."),
    "collection_outer_angle": ("rad", "Outer collection semi-angle of the detector."),
}


def _setting(name: str) -> Quantity:
    unit, description = SETTINGS[name]
    return Quantity(type=float, unit=None if unit == "dimensionless" else unit, description=description)


def _text(description: str) -> Quantity:
    return Quantity(type=str, description=description)


class EmSettings(ArchiveSection):
    """Instrument settings in SI units, detector and data shape: of an event, or shared by all events of an entry."""

    m_def = Section(label="EM settings")
    vars().update({name: _setting(name) for name in SETTINGS})  # one float quantity per setting, in its SI unit
    detector_name = _text("Detector name (NXdetector local_name).")
    detector_type = _text("Detector type as written.")
    data_shape = _text("Shape of the (first event's) first signal, e.g. '512 x 512'.")


class EmEventSummary(EmSettings):
    """One acquisition (NXem_event_data) of the entry, or the whole NXentry when a writer has no events."""

    m_def = Section(label="EM event")
    name = _text("Path of the event in the NeXus file.")
    technique = _text("Technique label (STEM imaging, EDS, EELS, EBSD, 4D-STEM...).")
    imaging_mode = _text("TEM, STEM or SEM.")
    signal_kind = _text("Kind of the event's first signal: image, spectrum, spectrum image, diffraction, 4D...")
    start_time = Quantity(type=Datetime, description="Acquisition start of the event.")


class EmSummary(EmSettings):
    """The searchable summary of all NXem entries of one file (filled by the EM normalizer).

    A setting, detector or shape at this level is the value all events that record it
    share; it is empty when they differ (then only the events hold it).
    """

    m_def = Section(label="EM summary")
    techniques = _text("Technique labels of all events, comma separated.")
    imaging_modes = _text("Imaging modes of all events, comma separated.")
    signal_kinds = _text("Signal kinds of all events, comma separated.")
    vendor = _text("Microscope vendor (NXfabrication).")
    model = _text("Microscope model (NXfabrication).")
    instrument = _text("Vendor and model, or the instrument's name.")
    sample_name = _text("Sample name(s).")
    elements = _text("Elements of the sample, element maps and indexing, comma separated.")
    phases = _text("Phases an EBSD indexing used (NXem_ebsd, NXphase name), comma separated.")
    acquisition_start = Quantity(type=Datetime, description="Earliest start time of the entry and its events.")
    acquisition_end = Quantity(type=Datetime, description="Latest start time of the entry and its events.")
    n_events = Quantity(type=int, description="Number of events (acquisitions).")
    session = _text("Name of the session (its folder in the upload) this entry belongs to, if any.")
    record = _text("'session' for a session entry (all acquisitions of a folder), 'file' for one file's entry.")
    events = SubSection(section_def=EmEventSummary, repeats=True)


m_package.__init_metainfo__()


def attach_to_nexus_root() -> None:
    """Add ``em_summary`` to pynxtools' NeXus root section (once per process).

    Importing pynxtools' schema builds its metainfo (about 30 s the first time in a
    process; NOMAD does it anyway for every NeXus entry).
    """
    from pynxtools.nomad.schema_packages import schema as nexus_schema

    root = nexus_schema.Root
    if SUMMARY in root.m_def.all_sub_sections:
        return
    sub_section = SubSection(section_def=EmSummary.m_def, name=SUMMARY)
    root.m_def.m_add_sub_section(Section.sub_sections, sub_section)
    setattr(root, SUMMARY, sub_section)  # the descriptor a Python-defined section would have


attach_to_nexus_root()
