"""The one place that builds the NXem template from signals and mapped metadata.

Layout written (pynxtools template notation)::

    /ENTRY[entry1]/measurement/instrument/...        same for every event
    /ENTRY[entry1]/measurement/eventID[eventN]/
        start_time, end_time, instrument/...          per acquisition
        imageID[image1]/image_2d | stack_2d ...       or
        spectrumID[spectrum1]/spectrum_0d ... _3d     the data, as NXdata
        COLLECTION[vendor_metadata]/original_metadata the full vendor tree, JSON
        type                                          technique label (classify.py)
        imageID[image_preview] | spectrumID[spectrum_preview]   small previews, the event's default
    /ENTRY[entry1]/PROCESS[activityK]/                session records: notes, shared settings

and a ``@default`` chain from the file root to the most informative signal.

The builder only writes: what to write (:class:`~.record.Event`, :class:`~.record.Activity`,
layouts, labels, previews, warnings) is decided before (:mod:`pynxtools_em_plugin.reader`,
:mod:`pynxtools_em_plugin.session`), and nothing here changes those objects.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np

from ..model import AxisKind, Signal
from .ebsd import write_ebsd
from .nxdata import NXdataLayout
from .paths import (
    ENTRY,
    ENTRY_NAME,
    INSTRUMENT,
    MEASUREMENT,
    activity_path,
    ebsd_roi_path,
    hdf5_path,
    setting_name,
    shared_settings_path,
)
from .rawjson import to_json
from .record import Activity, Event, Preview, same_value
from .streaming import defer_if_large, is_lazy
from .views import note_view

#: What ``eventN/derived_metadata/values`` is, stored with it.
DERIVED_DESCRIPTION = (
    "Values computed or repaired by pynxtools-em-plugin from the vendor metadata (not written by the "
    "instrument): numbers parsed from vendor text, times combined from several vendor fields, the format "
    "library's normalised metadata. Mapping tables address them as '@derived/<key>'; the vendor's own "
    "tree is vendor_metadata/original_metadata."
)

#: Arrays at least this large are written gzip-compressed (level 1: fast, readable everywhere).
COMPRESS_MIN_BYTES = 64 * 1024


class TemplateBuilder:
    """Fills a pynxtools Template; collects warnings instead of failing on metadata."""

    def __init__(self, template):
        self.template = template
        self.warnings: list[str] = []

    def set(self, path: str, value: Any, units: str | None = None) -> None:
        self.template[path] = value
        if units is not None:
            self.template[f"{path}/@units"] = units

    # ---- events --------------------------------------------------------
    def add_event(self, event: Event) -> None:
        self._write_event_metadata(event)
        self._write_nxdata(event)
        self._write_value_log(event)
        self._write_provenance(event)
        self._write_vendor_metadata(event)
        self.set(f"{event.path}/@default", event.group_name)
        self.set(f"{event.group_path}/@default", event.layout.nxdata_name)
        self._write_classification(event)
        if event.ebsd is not None:
            self._write_ebsd(event)
        for preview in reversed(event.previews):  # the first written last: it is the event's default
            self._write_preview(event, preview)

    def _write_event_metadata(self, event: Event) -> None:
        for item in event.mapped:
            if item.scope != "event":
                continue
            if item.path in event.links:  # stored once for the activity / session
                # units too: pynxtools' validation turns the link into a copy of the value (see nexus/links.py)
                self.set(f"{event.path}/{item.path}", {"link": event.links[item.path]}, item.units)
            else:
                self.set(f"{event.path}/{item.path}", item.value, item.units)

    def _write_nxdata(self, event: Event) -> None:
        self._write_signal(event.group_path, event.signal, event.layout)

    def _write_signal(self, group_path: str, signal: Signal, layout: NXdataLayout, preview: bool = False) -> None:
        """The NXdata of a signal; a preview's values are labelled by their quantity alone (its title says
        what it previews), which keeps a viewer's axis label short."""
        base = f"{group_path}/{layout.nxdata_name}"
        data = _transposed(signal.data, layout.order)
        if signal.is_complex:
            self.set(f"{base}/real", _compressed(np.real(data)))
            self.set(f"{base}/imag", _compressed(np.imag(data)))
            self.set(f"{base}/@auxiliary_signals", ["imag"])
        else:
            path = f"{base}/{layout.signal_fields[0]}"
            placeholder = defer_if_large(path, data)
            self.set(path, _compressed(data) if placeholder is None else placeholder)
        for name in layout.signal_fields:
            long_name = (signal.quantity or "intensity") if preview else _signal_long_name(signal, name)
            self.set(f"{base}/{name}/@long_name", long_name)
        self.set(f"{base}/@signal", layout.signal_fields[0])
        self.set(f"{base}/@axes", [name for name, _ in layout.axes])
        note_view(f"{base}/{layout.signal_fields[0]}", {"interpretation": layout.interpretation})
        self.set(f"{base}/title", signal.title)
        for index, (name, axis) in enumerate(layout.axes):
            self.set(f"{base}/@AXISNAME_indices[{name}_indices]", np.uint32(index))
            if name.startswith("indices_"):  # a plain index: frames of a stack, colour channels
                self.set(f"{base}/{name}", np.arange(axis.size, dtype=np.int64))
                self.set(f"{base}/{name}/@long_name", "image index" if name == "indices_image" else axis.name)
                continue
            units = axis.units or None
            self.set(f"{base}/{name}", axis.values, units)
            label = axis.name if not units else f"{axis.name} ({units})"
            self.set(f"{base}/{name}/@long_name", label)

    def _write_value_log(self, event: Event) -> None:
        """A time series of a physical quantity (an in-situ log) as the event's sensor NXlog.

        NXem's image and spectrum fields are unitless (counts); a temperature or
        pressure keeps its units here, next to the plottable NXdata.
        """
        signal = event.signal
        if not signal.units or len(signal.axes) != 1 or signal.axes[0].kind is not AxisKind.TIME:
            return
        log = f"{event.path}/instrument/sensorID[sensor]/value_log"
        self.set(f"{log}/time", signal.axes[0].values, signal.axes[0].units)
        start = event.value("start_time")
        if start:
            self.set(f"{log}/time/@start", start)
        self.set(f"{log}/value", _compressed(signal.data), signal.units)

    def _write_provenance(self, event: Event) -> None:
        signal = event.signal
        process = f"{event.group_path}/PROCESS[process]"
        self.set(f"{process}/input/type", "file")
        self.set(f"{process}/input/file_name", event.file_name)
        self.set(f"{process}/input/context", signal.context or signal.title)
        if event.input_checksum:
            self.set(f"{process}/input/checksum", event.input_checksum)
            self.set(f"{process}/input/algorithm", "sha256")
        detector = event.value("instrument/detectorID[detector]/local_name")
        if detector is not None:
            self.set(f"{process}/detector_identifier", str(detector))
        for index, step in enumerate(signal.history, start=1):
            note = f"{process}/NOTE[history_step{index}]"
            self.set(f"{note}/type", step.operation)
            self.set(f"{note}/description", step.description)
            self.set(f"{note}/sequence_index", np.int64(index))
            if step.date:
                self.set(f"{note}/date", step.date)

    def _write_vendor_metadata(self, event: Event) -> None:
        """The vendor tree as the format library read it, as JSON next to the data; apart from it,
        what this package computed or repaired from it and the time zone assumed for vendor times
        written without one."""
        collection = f"{event.path}/COLLECTION[vendor_metadata]"
        self.set(f"{collection}/format", event.signal.format_name)
        self.set(f"{collection}/original_metadata", to_json(event.signal.metadata))
        derived = f"{event.path}/COLLECTION[derived_metadata]"
        if event.signal.derived:
            self.set(f"{derived}/values", to_json(event.signal.derived))
            self.set(f"{derived}/description", DERIVED_DESCRIPTION)
        if event.assumed_timezone:
            self.set(f"{derived}/assumed_time_zone", event.assumed_timezone)

    def _write_ebsd(self, event: Event) -> None:
        """The orientation map's indexing results, phases and IPF maps in ``roiN/ebsd`` (:mod:`.ebsd`),
        N the event's number, its phase map as the event's ``imageID[image_phase_map]``."""
        source = {"type": "file", "file_name": event.file_name}
        if event.input_checksum:
            source |= {"checksum": event.input_checksum, "algorithm": "sha256"}
        ebsd, phase_map = f"{ebsd_roi_path(event.number)}/ebsd", f"{event.path}/imageID[image_phase_map]"
        write_ebsd(self._set_compressed, ebsd, phase_map, event.ebsd, event.signal.derived, source)

    def _set_compressed(self, path: str, value: Any, units: str | None = None) -> None:
        """Like :meth:`set`, large arrays gzip-compressed."""
        self.set(path, _compressed(value) if isinstance(value, np.ndarray) and value.ndim else value, units)

    def _write_classification(self, event: Event) -> None:
        """The technique label as the event's ``type``; the rule that gave it in the data's provenance."""
        if not event.label:
            return
        self.set(f"{event.path}/type", event.label)
        note = f"{event.group_path}/PROCESS[process]/NOTE[classification]"
        self.set(f"{note}/type", event.label)
        self.set(f"{note}/description", f"technique rule {event.rule}")

    def _write_preview(self, event: Event, preview: Preview) -> None:
        """A small NXimage/NXspectrum ``<kind>_preview`` in the event, made its default plot."""
        layout = preview.layout
        concept = "imageID" if layout.kind == "image" else "spectrumID"
        name = f"{layout.kind}_preview"
        group = f"{event.path}/{concept}[{name}]"
        self._write_signal(group, preview.signal, layout, preview=True)
        self.set(f"{group}/@default", layout.nxdata_name)
        self.set(f"{event.path}/@default", name)

    # ---- shared levels -------------------------------------------------
    def add_shared(self, events: list[Event]) -> None:
        """Instrument- and entry-scope values; the first event's value wins."""
        seen: dict[tuple[str, str], Any] = {}
        for event in events:
            for item in event.mapped:
                if item.scope == "event":
                    continue
                key = (item.scope, item.path)
                if key in seen:
                    if not same_value(seen[key], item.value):
                        self.warnings.append(
                            f"{event.signal.source.name}: '{item.vendor_key}' = {item.value!r} differs "
                            f"from the first file's {seen[key]!r}; kept the first for {item.path}"
                        )
                    continue
                seen[key] = item.value
                root = INSTRUMENT if item.scope == "instrument" else ENTRY
                self.set(f"{root}/{item.path}", item.value, item.units)

    def add_activities(self, activities: list[Activity], gap_seconds: float) -> None:
        """One NXprocess per activity of a session: a note on the activity, one per event
        (label, rule, time), the settings its events share."""
        for activity in activities:
            process = activity_path(activity.number)
            names = ", ".join(f"event{e.number}" for e in activity.events)
            count = f"{len(activity.events)} event{'s' if len(activity.events) > 1 else ''}"
            techniques = ", ".join(dict.fromkeys(e.label for e in activity.events if e.label))
            self.set(f"{process}/sequence_index", np.int64(activity.number))
            self.set(f"{process}/date", activity.start.isoformat())
            self.set(f"{process}/NOTE[summary]/type", "activity")
            self.set(f"{process}/NOTE[summary]/date", activity.start.isoformat())
            self.set(
                f"{process}/NOTE[summary]/description",
                f"{count} ({names}) from {activity.start.isoformat()} to "
                f"{activity.end.isoformat()}; techniques: {techniques}; a pause of more than "
                f"{gap_seconds:g} s starts a new activity",
            )
            for event, start in zip(activity.events, activity.starts, strict=True):
                note = f"{process}/NOTE[event{event.number}]"
                when = " (the file's modification time)" if event.number in activity.file_times else ""
                self.set(f"{note}/type", event.label)
                self.set(f"{note}/sequence_index", np.int64(event.number))
                self.set(f"{note}/file_name", event.file_name)
                self.set(f"{note}/date", start.isoformat())
                self.set(f"{note}/description", f"{hdf5_path(event.path)}: {event.signal.title}{when}; {event.rule}")
            for item in activity.shared:
                path = f"{shared_settings_path(activity.number)}/{setting_name(item.path)}"
                self.set(path, item.value, item.units)
                self.set(f"{path}/@description", f"{item.path} of every event of the activity")

    def add_times(self, events: list[Event]) -> None:
        """Entry start/end: the earliest start and latest end of all events."""
        starts = [t for e in events if (t := e.value("start_time"))]
        ends = [t for e in events if (t := e.value("end_time"))]
        if starts:
            self.set(f"{ENTRY}/start_time", min(starts, key=_instant))
        if ends:
            self.set(f"{ENTRY}/end_time", max(ends, key=_instant))

    def add_default_chain(self, events: list[Event]) -> Event:
        """``@default`` from the root down to the most informative event."""
        best = max(events, key=lambda e: e.layout.score())
        self.set("/@default", ENTRY_NAME)
        maps = [e for e in events if e.ebsd is not None and e.ebsd.ipf]
        self.set(f"{ENTRY}/@default", f"roi{maps[0].number}" if maps else "measurement")  # the IPF map first
        self.set(f"{MEASUREMENT}/@default", f"event{best.number}")
        return best

    def add_programs(self, programs: list[tuple[str, str]]) -> None:
        for index, (name, version) in enumerate(programs, start=1):
            path = f"{ENTRY}/profiling/programID[program{index}]/program"
            self.set(path, name)
            self.set(f"{path}/@version", version)


def _transposed(data: Any, order: list[int]) -> Any:
    """Dimensions reordered; lazily for dask arrays and memory maps."""
    if order == sorted(order):
        return data
    if is_lazy(data) and hasattr(data, "transpose"):
        return data.transpose(order)
    return np.transpose(np.asarray(data), order)


class SharedArray(np.ndarray):
    """An array that deep copies share instead of duplicating.

    pynxtools' template validation deep-copies every group's subtree on its way
    down (``_follow_link``), i.e. the data arrays once per level: a 1 GiB EDS
    spectrum image cost 8 GiB and 9 s. The validator only reads the arrays.
    """

    def __deepcopy__(self, memo: dict) -> SharedArray:
        return self


def _compressed(data: Any) -> Any:
    array = np.asarray(data)
    if array.nbytes < COMPRESS_MIN_BYTES:
        return array
    return {"compress": np.ascontiguousarray(array).view(SharedArray), "strength": 1}


def _signal_long_name(signal: Signal, field_name: str) -> str:
    quantity = signal.quantity or "intensity"
    if field_name == "imag":
        return f"{signal.title}: imaginary part"
    if signal.is_complex:
        return f"{signal.title}: real part"
    return f"{signal.title}: {quantity}"


def _instant(iso: str) -> datetime:
    return datetime.fromisoformat(iso)
