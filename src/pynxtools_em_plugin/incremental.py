"""Whether an existing output is up to date, from what the output itself records.

Every NXem file this package writes records its inputs (``note_inputN``: name, size,
SHA-256; vendor files, companions, ELN YAML, user mapping table) and the programs that
made it (``profiling/programN``: this package, pynxtools, RosettaSciIO and every mapping
table with its version), see :mod:`.provenance`. A re-run compares that record with the
inputs and programs it would use now and converts again only when something differs; no
state is kept anywhere else, so moving or copying the output folder keeps the record.

Checksums are computed only for an input whose size or modification time says it may
have changed (modified after the output was written): an untouched archive costs one
``stat`` per file; a touched but unchanged file costs one read, and stays up to date.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from .compat import installed_version
from .mapping.engine import MappingTable, load_table, tables_for
from .provenance import ConversionOptions, sha256_of

if TYPE_CHECKING:
    from .conversion import ConversionSettings

#: The distributions whose versions count as "the converter" (a new release may write differently).
CONVERTER_PROGRAMS = ("pynxtools-em-plugin", "pynxtools", "rosettasciio")


@dataclass(frozen=True)
class RecordedInput:
    checksum: str
    size: int | None


@dataclass(frozen=True)
class Record:
    """What an output says it was made from."""

    inputs: dict[str, RecordedInput]  # by recorded file name
    programs: dict[str, str]  # program name -> version
    started: float  # when the conversion began reading its inputs (s since the epoch)


def programs_used(formats: Sequence[str], user_tables: list[MappingTable]) -> list[tuple[str, str]]:
    """The converter, its libraries and every mapping table applied to ``formats``, with versions
    (what :mod:`.reader` records and what a re-run compares)."""
    programs = [(name, installed_version(name, missing="unknown")) for name in CONVERTER_PROGRAMS]
    tables = {id(t): t for name in dict.fromkeys(formats) for t in tables_for(name, user_tables)}
    programs += [(f"mapping table {t.name} ({t.origin})", t.version) for t in tables.values()]
    return programs


def read_record(output: Path) -> Record | None:
    """The record of an NXem file written by this package; None if it has none (or cannot be read)."""
    import h5py

    try:
        with h5py.File(output, "r") as handle:
            entry = next((g for g in handle.values() if _nx_class(g) == "NXentry"), None)
            if entry is None or "profiling" not in entry:
                return None
            inputs = dict(_inputs(entry))
            programs = dict(_programs(entry["profiling"]))
            started = _started(entry["profiling"], output)
    except (OSError, KeyError, ValueError):
        return None
    if not programs:
        return None
    return Record(inputs, programs, started)


def _started(profiling, output: Path) -> float:
    """The recorded start of the conversion; the output's modification time if it records none."""
    if "start_time" in profiling:
        return datetime.fromisoformat(_text(profiling["start_time"][()])).timestamp()
    return output.stat().st_mtime


def _nx_class(node) -> str:
    return _text(node.attrs.get("NX_class", b""))


def _text(value) -> str:
    if hasattr(value, "shape") and value.shape:  # a one-element array of text
        value = value.flat[0]
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _inputs(entry):
    for name, group in entry.items():
        if name.startswith("note_input") and _nx_class(group) == "NXnote" and "checksum" in group:
            description = _text(group["description"][()]) if "description" in group else ""
            size = description.rpartition("; ")[2].removesuffix(" bytes")
            yield (
                _text(group["file_name"][()]),
                RecordedInput(_text(group["checksum"][()]), int(size) if size.isdigit() else None),
            )


def _programs(profiling):
    for group in profiling.values():
        if _nx_class(group) == "NXprogram" and "program" in group:
            program = group["program"]
            yield _text(program[()]), _text(program.attrs.get("version", ""))


def changes(
    inputs: Sequence[Path],
    format_names: Sequence[str],
    record: Record,
    settings: ConversionSettings,
    always_hash: bool = False,
) -> list[str]:
    """Why the output ``record`` describes must be made again from ``inputs`` (vendor files of the
    formats named, then ELN YAML files): empty when it is up to date. The user mapping table (-c)
    is an input too, where it applies to one of the formats (it is recorded in every output).
    ``always_hash``: hash inputs not modified since the conversion too (restored with old times)."""
    config = settings.config_file
    user_tables = [load_table(config)] if config else []
    naming = ConversionOptions(absolute_paths=settings.absolute_paths)
    current = {naming.file_name(p): p for p in inputs}
    if config and any(t.format in (*format_names, "*") for t in user_tables):
        current[naming.file_name(Path(config))] = Path(config)
    elif config:
        record = replace(record, inputs={k: v for k, v in record.inputs.items() if k != naming.file_name(Path(config))})
    reasons = _input_changes(current, record, always_hash)
    return reasons + _program_changes(dict(programs_used(format_names, user_tables)), record.programs)


def _input_changes(current: dict[str, Path], record: Record, always_hash: bool) -> list[str]:
    reasons = [f"new input {name}" for name in current if name not in record.inputs]
    reasons += [f"input {name} no longer present" for name in record.inputs if name not in current]
    for name, path in current.items():
        recorded = record.inputs.get(name)
        if recorded is not None and _changed(path, recorded, None if always_hash else record.started):
            reasons.append(f"input {name} changed")
    return reasons


def _changed(path: Path, recorded: RecordedInput, started: float | None) -> bool:
    """Size first (free), then the checksum, read only when the file was modified after the conversion
    ``started`` (always when None)."""
    try:
        status = path.stat()
    except OSError:
        return True
    if recorded.size is not None and status.st_size != recorded.size:
        return True
    if started is not None and status.st_mtime < started:
        return False
    return sha256_of(path) != recorded.checksum


def _program_changes(expected: dict[str, str], recorded: dict[str, str]) -> list[str]:
    reasons = []
    for name, version in expected.items():
        before = recorded.get(name)
        if before is None:
            reasons.append(f"{name} {version} not used before")
        elif before != version:
            reasons.append(f"{name} {before} -> {version}")
    return reasons
