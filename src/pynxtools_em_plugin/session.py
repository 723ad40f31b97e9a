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
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from .mapping.engine import MappedValue
from .nexus.paths import SETTINGS_PREFIX, hdf5_path, setting_name, shared_settings_path
from .nexus.record import Activity, Event, same_value

#: Default pause (seconds) that starts a new activity: NexusLIMS-like, a few minutes.
DEFAULT_GAP_SECONDS = 300.0
#: Environment variable with the gap for ``dataconverter`` (which passes no reader options).
GAP_ENV = "EM_PLUGIN_SESSION_GAP"


@dataclass(frozen=True)
class Session:
    """The events of a session in time order (numbered 1..n, linked to their activity's shared
    settings), its activities and warnings. New objects: the events given are not changed."""

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
    """Order and renumber ``events``, group them into activities, factor each activity's common
    settings out (the events link to the activity's copy)."""
    warnings: list[str] = []
    spans = _time_spans(events, zone, warnings)
    order = sorted(range(len(events)), key=lambda i: spans[i][0])  # stable: a file's signals keep their order
    starts = [spans[i][0].timestamp() for i in order]
    ends = [spans[i][1].timestamp() for i in order]
    ordered: list[Event] = []
    activities = []
    for number, part in enumerate(split_by_gaps(starts, ends, gap), start=1):
        originals = [events[order[i]] for i in part]
        shared = common_settings(originals)
        links = {item.path: f"{hdf5_path(shared_settings_path(number))}/{setting_name(item.path)}" for item in shared}
        first = len(ordered) + 1
        members = [replace(e, number=first + k, links=dict(links)) for k, e in enumerate(originals)]
        ordered += members
        start = spans[order[part.start]][0]
        end = max((spans[order[i]][1] for i in part), key=datetime.timestamp)
        starts_of = [spans[order[i]][0] for i in part]
        file_times = frozenset(m.number for m in members if m.value("start_time") is None)
        activities.append(Activity(number, members, start, end, shared, starts_of, file_times))
    return Session(ordered, activities, gap, warnings)


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
        item.path: item for item in events[0].mapped if item.scope == "event" and item.path.startswith(SETTINGS_PREFIX)
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
