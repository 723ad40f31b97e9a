"""What one NXem file records, decided before anything is written.

The reader turns each signal into an :class:`Event` (its mapped metadata, the
NXdata layout, the technique label and rule, its preview, every warning about
it); the session code orders events and groups them into :class:`Activity`
objects. The builder (:mod:`.template`) only writes these: it computes nothing
and changes nothing in them, so every warning exists before writing starts and
reaches the user.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from ..mapping.engine import MappedValue
from ..model import Signal
from .ebsd import EbsdMaps
from .nxdata import NXdataLayout
from .paths import data_group_path, event_path


@dataclass(frozen=True)
class Preview:
    """A small copy of a signal for the viewer (:mod:`.preview`), with its layout."""

    signal: Signal
    layout: NXdataLayout


@dataclass(frozen=True)
class Event:
    """One signal with everything the builder writes for it."""

    number: int
    signal: Signal
    mapped: list[MappedValue]
    layout: NXdataLayout
    label: str = ""  # technique (classify.py)
    rule: str = ""  # "<rule id>: <description>" of the rule that gave the label
    input_checksum: str = ""
    input_file_name: str = ""  # as recorded: the base name unless absolute paths were asked for
    assumed_timezone: str | None = None  # set when a vendor time had no zone
    warnings: tuple[str, ...] = ()
    preview: Preview | None = None
    links: dict[str, str] = field(default_factory=dict)  # event-relative path -> HDF5 path of a shared value
    ebsd: EbsdMaps | None = None  # IPF and phase maps of an EBSD orientation map (nexus/ebsd.py)

    @property
    def file_name(self) -> str:
        """The name its input is recorded by (base name unless absolute paths were asked for)."""
        return self.input_file_name or self.signal.source.name

    @property
    def path(self) -> str:
        return event_path(self.number)

    @property
    def group_name(self) -> str:
        return f"{self.layout.kind}1"

    @property
    def group_path(self) -> str:
        return data_group_path(self.number, self.layout.kind, self.group_name)

    def value(self, relative_path: str) -> Any:
        """The mapped event value at ``relative_path`` (e.g. ``start_time``), or None."""
        for item in self.mapped:
            if item.scope == "event" and item.path == relative_path:
                return item.value
        return None

    def settings(self) -> dict[str, tuple[Any, str | None]]:
        """Event-scope values by path, with units (what classification looks at)."""
        return {item.path: (item.value, item.units) for item in self.mapped if item.scope == "event"}


@dataclass(frozen=True)
class Activity:
    """Consecutive events of a session without a pause longer than the gap."""

    number: int
    events: list[Event]
    start: datetime
    end: datetime
    shared: list[MappedValue] = field(default_factory=list)
    starts: list[datetime] = field(default_factory=list)  # of the events: the times they were ordered by
    file_times: frozenset[int] = frozenset()  # numbers of events ordered by their file's modification time

    @property
    def name(self) -> str:
        return f"activity{self.number}"


def same_value(a: Any, b: Any) -> bool:
    try:
        return bool(np.all(np.asarray(a) == np.asarray(b)))
    except (TypeError, ValueError):
        return False
