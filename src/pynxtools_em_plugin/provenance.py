"""Where an NXem file's content came from, and what it must not say about the converting machine.

Written per conversion (see README, "Provenance")::

    /ENTRY/noteID[note_inputN]     every input: base name, size, SHA-256 (vendor files, companions,
                                   ELN YAML, user mapping table), in the order they were read
    /ENTRY/profiling               conversion start/end/elapsed time; programs: this package,
                                   pynxtools, rosettasciio and every mapping table used, with versions

Options (:class:`ConversionOptions`): ``anonymize`` drops the operator names vendors record
(the ``personal_keys`` of each mapping table, in the mapped fields and in the raw vendor
metadata dump); ``absolute_paths`` records input paths instead of base names. Both come
from the ELN YAML (``conversion: {anonymize: true, record_absolute_paths: true}``) or from
reader keyword arguments (``em-plugin convert --anonymize --absolute-paths``).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ConversionError

_HASH_CHUNK = 8 * 1024 * 1024
_OPTION_KEYS = {"anonymize": "anonymize", "record_absolute_paths": "absolute_paths"}


@dataclass(frozen=True)
class ConversionOptions:
    """What the user asked for about personal and machine details in the output."""

    anonymize: bool = False  # drop vendor-recorded operator names
    absolute_paths: bool = False  # record input paths as given (resolved), not base names

    @classmethod
    def from_sources(cls, eln: dict[str, Any], kwargs: dict[str, Any]) -> ConversionOptions:
        """ELN ``conversion:`` keys, or reader keyword arguments (either one switches an option on)."""
        section = eln.get("conversion") or {}
        if not isinstance(section, dict) or set(section) - set(_OPTION_KEYS):
            raise ConversionError("ELN YAML", f"'conversion' must be a mapping with keys {sorted(_OPTION_KEYS)}")
        values = {field: _flag(section.get(key), key) for key, field in _OPTION_KEYS.items()}
        return cls(
            anonymize=values["anonymize"] or bool(kwargs.get("anonymize")),
            absolute_paths=values["absolute_paths"] or bool(kwargs.get("absolute_paths")),
        )

    def file_name(self, path: Path) -> str:
        """The name recorded for an input: its base name unless absolute paths were asked for."""
        return str(path.resolve()) if self.absolute_paths else path.name


def _flag(value: Any, key: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ConversionError("ELN YAML", f"conversion.{key} must be true or false, not {value!r}")
    return value


@dataclass(frozen=True)
class InputRecord:
    """One input file as read: what it was, how big, its SHA-256."""

    path: Path
    role: str  # e.g. "vendor file (velox)", "ELN/metadata YAML"
    size: int
    checksum: str


def sha256_of(path: Path) -> str:
    """Not cached: a long-running process (NOMAD, a batch) may see new content under the same path."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def record_input(path: Path, role: str) -> InputRecord:
    return InputRecord(path, role, path.stat().st_size, sha256_of(path))


def input_entries(records: list[InputRecord], options: ConversionOptions) -> dict[str, Any]:
    """NXnote per input at the entry (NXem ``noteID``: serialized resources of the experiment).

    NXem has no concept for a file's size; it is stated in ``description`` ("N bytes").
    """
    entries: dict[str, Any] = {}
    for index, record in enumerate(records, start=1):
        base = f"noteID[note_input{index}]"
        entries[f"{base}/type"] = "file"
        entries[f"{base}/file_name"] = options.file_name(record.path)
        entries[f"{base}/checksum"] = record.checksum
        entries[f"{base}/algorithm"] = "sha256"
        entries[f"{base}/description"] = f"{record.role}; {record.size} bytes"
        entries[f"{base}/sequence_index"] = index
    return entries


def profiling_entries(started: datetime, ended: datetime) -> dict[str, Any]:
    """When the conversion (reading and mapping; the writing follows) ran, timezone-aware."""
    return {
        "start_time": started.isoformat(),
        "end_time": ended.isoformat(),
        "total_elapsed_time": round((ended - started).total_seconds(), 6),
        "total_elapsed_time/@units": "s",
    }


def personal_names(trees: list[Any], keys: set[str]) -> set[str]:
    """The names held at the personal ``keys`` of any of the trees (the signals of one file)."""
    from .keys import lookup

    return {
        value.strip() for tree in trees for key in keys if isinstance(value := lookup(tree, key), str) and value.strip()
    }


def anonymised(tree: Any, keys: set[str], names: set[str]) -> Any:
    """``tree`` without the personal ``keys`` and without the ``names`` wherever else the vendor
    repeats them (DM's custom tag list, the JSON text Velox keeps): every whole-word occurrence
    in a string is removed. The original tree is not modified."""
    pruned = without_keys(tree, keys)
    if not names:
        return pruned
    alternatives = "|".join(re.escape(name) for name in sorted(names, key=len, reverse=True))
    return _scrubbed(pruned, re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)"))


def _scrubbed(node: Any, pattern: re.Pattern) -> Any:
    if isinstance(node, str):
        return pattern.sub("", node)
    if isinstance(node, bytes):
        text = node.decode("utf-8", "surrogateescape")
        return pattern.sub("", text).encode("utf-8", "surrogateescape") if pattern.search(text) else node
    if isinstance(node, dict):
        return {key: _scrubbed(value, pattern) for key, value in node.items()}
    if isinstance(node, (list, tuple)):
        return type(node)(_scrubbed(value, pattern) for value in node)
    if isinstance(node, np.ndarray) and node.dtype.kind in "USO":
        return np.array([_scrubbed(value, pattern) for value in node.ravel()], dtype=node.dtype).reshape(node.shape)
    return node


def without_keys(tree: Any, keys: set[str]) -> Any:
    """``tree`` with the given '/'-separated keys removed; the original is not modified
    (only the dicts on the way to a removed key are copied)."""
    from .keys import key_segments

    result = tree
    for key in keys:
        result = _remove(result, key_segments(key))
    return result


def _remove(node: Any, segments: list[str]) -> Any:
    if not isinstance(node, dict) or segments[0] not in node:
        return node
    head, rest = segments[0], segments[1:]
    if not rest:
        return {k: v for k, v in node.items() if k != head}
    child = _remove(node[head], rest)
    if child is node[head]:
        return node
    return {**node, head: child}


_REAL_TIME = "instrument/detectorID[detector]/real_time"
_COUNT_TIME = "instrument/detectorID[detector]/count_time"
_FRAME_KINDS = {"space", "reciprocal", "index"}


def acquisition_end(mapped: list[Any], frame_kinds: list[str]) -> Any:
    """``end_time`` (a MappedValue) from the start and the duration the vendor records, when it
    records no end itself: the detector's real (elapsed) time, else, for one single 2D frame
    (``frame_kinds``: its axis kinds), the exposure. Live time of a spectrum is not elapsed time."""
    from .mapping.engine import MappedValue
    from .units import convert_values

    event = {item.path: item for item in mapped if item.scope == "event"}
    start = event.get("start_time")
    if start is None or "end_time" in event:
        return None
    duration = event.get(_REAL_TIME)
    if duration is None and len(frame_kinds) == 2 and set(frame_kinds) <= _FRAME_KINDS:
        duration = event.get(_COUNT_TIME)
    if duration is None or not duration.units:
        return None
    seconds = float(convert_values(duration.value, duration.units, "s"))
    if not seconds > 0:
        return None
    end = datetime.fromisoformat(start.value) + timedelta(seconds=seconds)
    return MappedValue("event", "end_time", end.isoformat(), None, f"{start.vendor_key} + {duration.vendor_key}")
