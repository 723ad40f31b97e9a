"""The pynxtools reader plugin ``em_plugin``.

``dataconverter --reader em_plugin --nxdl NXem FILES... [-c table.json] --output out.nxs``

FILES are vendor files (recognised by content), optionally an ELN/metadata
YAML; ``-c`` adds a user mapping table that overrides the shipped ones.
"""

from __future__ import annotations

import logging
import os
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pynxtools.dataconverter.readers.base.reader import BaseReader

from .classify import classify
from .compat.pynxtools import memoise_next_write, release_nxdl_path_cache
from .eln import eln_entries, eln_session_name, is_eln_file, load_eln
from .errors import ConversionError
from .formats import Acquisition, all_formats, detect, group, read_signals
from .incremental import programs_used
from .keys import split_by_tree
from .mapping.engine import (
    MappedValue,
    MappingTable,
    apply_rules,
    load_table,
    personal_keys_for,
    rules_for,
    without_personal,
)
from .mapping.transforms import TransformContext
from .model import Signal
from .nexus.ebsd import ebsd_maps
from .nexus.nxdata import layout_for
from .nexus.paths import ENTRY
from .nexus.preview import previews_of
from .nexus.record import Event, Preview
from .nexus.template import TemplateBuilder
from .provenance import (
    ConversionOptions,
    InputRecord,
    acquisition_end,
    anonymised,
    input_entries,
    personal_names,
    profiling_entries,
    record_input,
    sha256_of,
)
from .session import build_session, gap_seconds
from .text import printable, storable

logger = logging.getLogger("pynxtools.em_plugin")

TIMEZONE_ENV = "EM_PLUGIN_TIMEZONE"
__all__ = ["READER", "EmPluginReader", "fill_template", "group_inputs", "sha256_of"]


class EmPluginReader(BaseReader):
    """Electron-microscopy vendor files (Gatan DM, Velox EMD, TIA...) to NXem."""

    supported_nxdls: ClassVar[list[str]] = ["NXem"]
    supported_file_extensions: ClassVar[list[str]] = sorted(
        {ext for fmt in all_formats() for ext in fmt.EXTENSIONS} | {".yaml", ".yml"}
    )

    def read(
        self,
        template: dict | None = None,
        file_paths: tuple[str, ...] | None = None,
        objects: tuple[Any, ...] | None = None,
        **kwargs: Any,
    ) -> dict:
        config = kwargs.get("config_file")
        options = {
            key: kwargs[key] for key in ("anonymize", "absolute_paths", "session_gap", "session_name") if key in kwargs
        }
        filled = fill_template(template, [Path(p) for p in file_paths or ()], config, **options)
        memoise_next_write()  # dataconverter writes next: its NXDL look-ups once each
        return filled


READER = EmPluginReader


def fill_template(template, paths: list[Path], config_file: str | None = None, **options: Any):
    """Read the vendor files and fill ``template`` (a pynxtools Template).

    ``options``: ``anonymize`` and ``absolute_paths`` (see :class:`ConversionOptions`), ``session_gap``,
    ``session_name`` (the record's title; default: the ELN's ``session: {name: ...}`` for a session record).
    Several vendor files (not counting companions) make a session record
    (:mod:`.session`): events in time order, activities split at pauses longer
    than ``session_gap`` seconds, shared settings stored once. Every event gets small previews, the first
    its default plot (:mod:`.nexus.preview`).
    """
    started = datetime.now(UTC)
    session_gap = options.pop("session_gap", None)
    session_name = options.pop("session_name", None)
    release_nxdl_path_cache()  # pynxtools' cache that never hits: ~15 MB per converted file otherwise
    eln_paths = [p for p in paths if is_eln_file(p)]
    eln = load_eln(eln_paths)
    data_paths = [p for p in paths if not is_eln_file(p)]
    if not data_paths:
        raise ConversionError(None, "no electron-microscopy file given (only ELN/YAML files)")
    user_tables = [load_table(config_file)] if config_file else []
    context = _transform_context(eln)
    conversion = ConversionOptions.from_sources(eln, options)

    template.clear()  # drop pynxtools' pre-filled None keys (ENTRY[entry], NXroot attributes)
    builder = TemplateBuilder(template)
    groups = group_inputs(data_paths)
    events, inputs, formats = _read_events(groups, user_tables, context, conversion)
    inputs += [record_input(p, "ELN/metadata YAML") for p in eln_paths]
    if config_file:
        inputs.append(record_input(Path(config_file), f"user mapping table (-c) {user_tables[0].name}"))
    session = build_session(events, context.assumed_timezone, _gap(session_gap)) if len(groups) > 1 else None
    events = [_with_previews(event) for event in (session.events if session is not None else events)]
    for event in events:
        builder.add_event(event)
    builder.add_shared(events)
    if session is not None:
        builder.add_activities(session.activities, session.gap_seconds)
    if title := session_name or (eln_session_name(eln) if session is not None else None):
        builder.set(f"{ENTRY}/title", title)
    builder.add_times(events)
    for path, value in eln_entries(eln, source="ELN YAML").items():
        builder.set(f"{ENTRY}/{path}", value)
    builder.set(f"{ENTRY}/sampleID[sample]/is_simulation", any(e.signal.simulated for e in events))
    builder.set(f"{ENTRY}/definition", "NXem")
    builder.add_default_chain(events)
    builder.add_programs(programs_used(formats, user_tables))
    for path, value in input_entries(inputs, conversion).items():
        builder.set(f"{ENTRY}/{path}", value)
    for path, value in profiling_entries(started, datetime.now(UTC)).items():
        builder.set(f"{ENTRY}/profiling/{path}", value)
    session_warnings = session.warnings if session is not None else []
    _report([*builder.warnings, *session_warnings, *(w for e in events for w in e.warnings), *_make_storable(template)])
    return template


def _read_events(
    groups: list[Acquisition], user_tables: list[MappingTable], ctx: TransformContext, options: ConversionOptions
) -> tuple[list[Event], list[InputRecord], list[str]]:
    """Events (one per signal), a record of every file read (each hashed once, whatever its
    number of signals), and the formats met, in order."""
    events: list[Event] = []
    inputs: list[InputRecord] = []
    formats: list[str] = []
    for acquisition in groups:
        fmt, path, companions = acquisition.format, acquisition.main, acquisition.companions
        signals = read_signals(acquisition)
        rules = rules_for(fmt.NAME, user_tables)
        personal = personal_keys_for(fmt.NAME, user_tables) if options.anonymize else set()
        rules = without_personal(rules, personal)
        vendor_personal, derived_personal = split_by_tree(personal)
        names = personal_names([s.metadata for s in signals], vendor_personal)
        names |= personal_names([s.derived for s in signals], derived_personal)
        main = record_input(path, f"vendor file ({fmt.NAME})")
        inputs += [main, *(record_input(c, f"companion of {path.name} ({fmt.NAME})") for c in companions)]
        formats.append(fmt.NAME)
        name = options.file_name(path)
        first = len(events)
        unmapped: dict[str, list[str]] = {}  # mapping warning -> titles of the signals it concerns
        for signal in signals:
            ctx.notes.clear()
            result = apply_rules(rules, signal.metadata, ctx, signal.derived)
            end = acquisition_end(result.values, [str(kind) for kind in signal.axis_kinds()])
            result.values += [end] if end is not None else []
            if personal:
                signal.metadata = anonymised(signal.metadata, vendor_personal, names)
                signal.derived = anonymised(signal.derived, derived_personal, names)
            for warning in result.warnings:
                unmapped.setdefault(warning, []).append(signal.title)
            warnings = [f"{path.name}: {note}" for note in dict.fromkeys(ctx.notes)]
            assumed = ctx.assumed_timezone_name if ctx.notes else None
            events.append(
                _event(
                    len(events) + 1, signal, result.values, main.checksum, name, assumed, [*warnings, *signal.warnings]
                )
            )
        if len(events) > first:
            per_file = tuple(_once_per_file(path, w, titles) for w, titles in unmapped.items())
            events[first] = replace(events[first], warnings=per_file + events[first].warnings)
    return events, inputs, formats


def _event(
    number: int,
    signal: Signal,
    mapped: list[MappedValue],
    checksum: str,
    file_name: str,
    assumed_timezone: str | None,
    warnings: list[str],
) -> Event:
    """Everything the builder writes for one signal, decided here: its NXdata layout and technique
    label, with the warnings either gave."""
    layout, layout_warnings = layout_for(signal)
    event = Event(
        number,
        signal,
        mapped,
        layout,
        input_checksum=checksum,
        input_file_name=file_name,
        assumed_timezone=assumed_timezone,
        warnings=(*warnings, *layout_warnings),
        ebsd=ebsd_maps(signal.orientation_map) if signal.orientation_map is not None else None,
    )
    result = classify(signal, event.settings())
    return replace(event, label=result.label, rule=f"{result.rule.identifier}: {result.rule.description}")


def _with_previews(event: Event) -> Event:
    """The event with small previews of its data (its default plot), their own layouts decided here."""
    previews, warnings = [], list(event.warnings)
    for preview in previews_of(event.signal):
        layout, layout_warnings = layout_for(preview)
        previews.append(Preview(preview, layout))
        warnings += layout_warnings
    return replace(event, previews=tuple(previews), warnings=tuple(warnings))


def _once_per_file(path: Path, warning: str, titles: list[str]) -> str:
    """One warning for a vendor value that every signal of a multi-signal file repeats."""
    if len(titles) == 1:
        return f"{path.name} ({titles[0]}): {warning}"
    return f"{path.name} ({len(titles)} signals, e.g. {titles[0]}): {warning}"


def group_inputs(paths: list[Path]) -> list[Acquisition]:
    """Each file with its format and the companion files read together with it."""
    for path in paths:
        if not path.exists():
            raise ConversionError(path, "does not exist")
    return group([(detect(path), path) for path in paths], paths)


def _transform_context(eln: dict[str, Any]) -> TransformContext:
    """The time zone assumed for vendor times without one: ELN, environment, else UTC."""
    name = str(eln.get("timezone") or os.environ.get(TIMEZONE_ENV) or "UTC")
    try:
        return TransformContext(ZoneInfo(name), name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConversionError(None, f"unknown time zone '{name}' (use an IANA name such as Europe/Berlin)") from exc


def _gap(value: float | None) -> float:
    try:
        return gap_seconds(value)
    except ValueError as exc:
        raise ConversionError(None, str(exc)) from exc


def _make_storable(template) -> list[str]:
    """Text values HDF5 cannot store (NUL, undecodable bytes) with U+FFFD in their place; one note."""
    changed = []
    for key in list(template.keys()):
        value = template[key]
        safe = storable(value)
        if safe is not value:
            template[key] = safe
            changed.append(key)
    if not changed:
        return []
    return [
        f"{len(changed)} text value(s) held NUL characters or undecodable bytes, stored with U+FFFD in their place "
        f"(e.g. {changed[0]}); vendor values are kept unchanged in vendor_metadata/original_metadata"
    ]


def _report(warnings: list[str]) -> None:
    """One log line per distinct warning, control characters escaped."""
    for message in dict.fromkeys(warnings):
        logger.warning(printable(message))
