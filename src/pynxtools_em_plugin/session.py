"""A microscope session as one record: events in time order, grouped into activities.

Given the files of a session (``em-plugin session DIR`` or ``dataconverter`` with
several files), the events are ordered by acquisition start time (the mapped
vendor ``start_time``; the file's modification time, with a warning, where the
vendor recorded none) and numbered in that order. An *activity* is a run of
events without a pause longer than ``gap`` seconds between the end (or start) of
the latest event so far and the start of the next: one sort, then one linear pass.
Settings identical in every event of an activity (high tension, operation
mode, magnification...) are stored once with the activity; its events link to them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from .mapping.engine import MappedValue
from .nexus.streaming import hdf5_path
from .nexus.template import ENTRY, Event, same_value

#: Default pause (seconds) that starts a new activity: NexusLIMS-like, a few minutes.
DEFAULT_GAP_SECONDS = 300.0
#: Environment variable with the gap for ``dataconverter`` (which passes no reader options).
GAP_ENV = "EM_PLUGIN_SESSION_GAP"
#: Only settings of the event's instrument are factored out (times, identifiers stay per event).
_SETTINGS_PREFIX = "instrument/"


@dataclass
class Activity:
    """Consecutive events without a pause longer than the gap."""

    number: int
    events: list[Event]
    start: datetime
    end: datetime
    shared: list[MappedValue] = field(default_factory=list)
    starts: list[datetime] = field(default_factory=list)  # of the events: the times they were ordered by
    file_times: set[int] = field(default_factory=set)  # numbers of events ordered by their file's modification time

    @property
    def name(self) -> str:
        return f"activity{self.number}"


@dataclass
class Session:
    events: list[Event]  # in time order, numbered 1..n
    activities: list[Activity]
    gap_seconds: float
    warnings: list[str]


def gap_seconds(value: float | str | None = None) -> float:
    """The gap given, else ``$EM_PLUGIN_SESSION_GAP``, else :data:`DEFAULT_GAP_SECONDS`; must be > 0."""
    chosen = value if value is not None else os.environ.get(GAP_ENV) or DEFAULT_GAP_SECONDS
    try:
        seconds = float(chosen)
    except ValueError as exc:
        raise ValueError(f"the activity gap must be a number of seconds, not {chosen!r}") from exc
    if not seconds > 0:
        raise ValueError(f"the activity gap must be positive, not {seconds:g} s")
    return seconds


def build_session(events: list[Event], zone: tzinfo, gap: float) -> Session:
    """Order, renumber and group ``events``; factor each activity's common settings out."""
    warnings: list[str] = []
    spans = _time_spans(events, zone, warnings)
    order = sorted(range(len(events)), key=lambda i: spans[i][0])  # stable: a file's signals keep their order
    ordered = [events[i] for i in order]
    for number, event in enumerate(ordered, start=1):
        event.number = number
    starts = [spans[i][0].timestamp() for i in order]
    ends = [spans[i][1].timestamp() for i in order]
    activities = []
    for number, part in enumerate(split_by_gaps(starts, ends, gap), start=1):
        members = ordered[part.start : part.stop]
        start = spans[order[part.start]][0]
        end = max((spans[order[i]][1] for i in part), key=datetime.timestamp)
        starts_of = [spans[order[i]][0] for i in part]
        file_times = {ordered[i].number for i in part if ordered[i].value("start_time") is None}
        activities.append(Activity(number, members, start, end, common_settings(members), starts_of, file_times))
    session = Session(ordered, activities, gap, warnings)
    _link_shared_settings(session)
    return session


def setting_name(relative_path: str) -> str:
    """``instrument/ebeam_column/electron_source/voltage`` -> ``ebeam_column_electron_source_voltage``."""
    return hdf5_path(relative_path).removeprefix(_SETTINGS_PREFIX).replace("/", "_")


def activity_path(activity: Activity) -> str:
    """Template path of an activity's NXprocess."""
    return f"{ENTRY}/PROCESS[{activity.name}]"


def _link_shared_settings(session: Session) -> None:
    """Point each event's common settings at the one copy stored with its activity."""
    for activity in session.activities:
        target = hdf5_path(f"{activity_path(activity)}/COLLECTION[shared_settings]")
        for event in activity.events:
            event.links.update({item.path: f"{target}/{setting_name(item.path)}" for item in activity.shared})


def split_by_gaps(starts: Sequence[float], ends: Sequence[float], gap: float) -> list[range]:
    """Index ranges of sorted events; a new range where a start follows the latest end by more than ``gap``.

    One pass, constant work per event (no pairwise comparison): fit for sessions of any size.
    """
    if not starts:
        return []
    parts, first, latest_end = [], 0, ends[0]
    for index in range(1, len(starts)):
        if starts[index] - latest_end > gap:
            parts.append(range(first, index))
            first = index
            latest_end = ends[index]
        else:
            latest_end = max(latest_end, ends[index])
    parts.append(range(first, len(starts)))
    return parts


def common_settings(events: list[Event]) -> list[MappedValue]:
    """Event instrument settings with the same value and units in every one of ``events`` (at least two)."""
    if len(events) < 2:
        return []
    candidates = {
        item.path: item for item in events[0].mapped if item.scope == "event" and item.path.startswith(_SETTINGS_PREFIX)
    }
    for event in events[1:]:
        present = {item.path: item for item in event.mapped if item.scope == "event"}
        candidates = {
            path: item
            for path, item in candidates.items()
            if path in present and present[path].units == item.units and same_value(present[path].value, item.value)
        }
    return list(candidates.values())


def _time_spans(events: list[Event], zone: tzinfo, warnings: list[str]) -> list[tuple[datetime, datetime]]:
    """(start, end) of every event: vendor times, else the file's modification time (one warning per file)."""
    spans = []
    warned: set[Path] = set()
    for event in events:
        start = _parsed(event.value("start_time"), zone)
        if start is None:
            source = event.signal.source
            start = datetime.fromtimestamp(source.stat().st_mtime, tz=zone)
            if source not in warned:
                warned.add(source)
                warnings.append(
                    f"{source.name}: no acquisition time in the vendor metadata; ordered by the file's "
                    f"modification time {start.isoformat()}"
                )
        end = _parsed(event.value("end_time"), zone)
        spans.append((start, end if end is not None and end >= start else start))
    return spans


def _parsed(iso: Any, zone: tzinfo) -> datetime | None:
    """A zone-aware time from an ISO 8601 text (naive: in ``zone``); None for anything else."""
    if not isinstance(iso, str) or not iso:
        return None
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)
