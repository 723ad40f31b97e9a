"""Where things go in the NXem file: template paths (pynxtools notation) and their HDF5 names.

One place for the layout's names, used by the builder (template.py), the session
code and the streaming writer, so that none of them has to import another to
know a path.
"""

from __future__ import annotations

import re

ENTRY_NAME = "entry1"
ENTRY = f"/ENTRY[{ENTRY_NAME}]"
MEASUREMENT = f"{ENTRY}/measurement"
INSTRUMENT = f"{MEASUREMENT}/instrument"
#: Event settings below this (relative) path may be shared by the events of an activity.
SETTINGS_PREFIX = "instrument/"

_CONCEPT_NAME = re.compile(r"[^/\[\]]+\[([^/\]]+)\]")


def hdf5_path(template_path: str) -> str:
    """``/ENTRY[entry1]/a/eventID[event2]/b`` -> ``/entry1/a/event2/b``."""
    return _CONCEPT_NAME.sub(r"\1", template_path)


def event_path(number: int) -> str:
    return f"{MEASUREMENT}/eventID[event{number}]"


def data_group_path(number: int, kind: str, name: str) -> str:
    """An event's NXimage (``kind`` "image") or NXspectrum group called ``name``."""
    concept = "imageID" if kind == "image" else "spectrumID"
    return f"{event_path(number)}/{concept}[{name}]"


def ebsd_roi_path(event_number: int) -> str:
    """The NXroi_process holding an EBSD map's indexing results (NXem ``roiID/ebsd``)."""
    return f"{ENTRY}/roiID[roi{event_number}]"


def activity_path(number: int) -> str:
    """Template path of a session activity's NXprocess."""
    return f"{ENTRY}/PROCESS[activity{number}]"


def shared_settings_path(activity_number: int) -> str:
    return f"{activity_path(activity_number)}/COLLECTION[shared_settings]"


def setting_name(relative_path: str) -> str:
    """``instrument/ebeam_column/electron_source/voltage`` -> ``ebeam_column_electron_source_voltage``."""
    return hdf5_path(relative_path).removeprefix(SETTINGS_PREFIX).replace("/", "_")
