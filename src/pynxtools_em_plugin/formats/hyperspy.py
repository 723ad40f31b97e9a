"""HyperSpy's own files: ``.hspy`` (HDF5) and ``.zspy`` (Zarr, in a zip store).

Reading is RosettaSciIO's (``rsciio.hspy``, ``rsciio.zspy``: the ``zspy`` extra brings
zarr), lazily: every signal of the file (``Experiments/<title>``) with its axes, its
data read block by block when written. A ``.zspy`` written as a directory store is a
folder, not a file: zip it (HyperSpy's ``ZipStore``) or save it as ``.hspy``.

Three trees, three places:

* ``original_metadata`` (what the vendor file HyperSpy loaded held) is
  ``Signal.metadata``, the vendor tree, as RosettaSciIO returned it;
* HyperSpy's ``metadata`` tree is ``Signal.derived["hyperspy_metadata"]``, what the
  mapping table reads (beam energy, magnification, camera length, detector, elements,
  angles, dwell time, date/time...). Older files (format < 2) write a unit next to a
  value (``beam_energy_units: "kV"``, ``dwell_time_units: "ms"``); such values are
  brought into the unit HyperSpy defines for the key (:data:`HYPERSPY_UNITS`, ``mR``
  read as mrad), so that one rule per key suffices; ``start_time`` joins
  ``General/date``, ``time`` and ``time_zone``; ``atom_types`` lists ``Sample/elements``;
* the processing the file records (HyperSpy's ``General/FileIO`` load/save log, the
  package that wrote the signal, decomposition / blind-source-separation results,
  fitted models, folding and stacking) is ``Signal.history``, written as notes of the
  data's provenance.
"""

from __future__ import annotations

import json
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConversionError
from ..model import ProcessingStep, Signal
from ..units import convert_values, parse_unit
from . import HDF5_MAGIC
from ._rsciio import call_reader, lazily, normalised_metadata, signal_from_rsciio

NAME = "hyperspy"
TITLE = "HyperSpy HDF5/Zarr"
EXTENSIONS = (".hspy", ".hdf5", ".zspy")

_ZIP_MAGIC = b"PK\x03\x04"
_FILE_FORMATS = {"HyperSpy", "ZSpy"}
#: The units HyperSpy's metadata conventions define for its keys.
HYPERSPY_UNITS = {
    "beam_energy": "kV",
    "beam_current": "nA",
    "convergence_angle": "mrad",
    "collection_angle": "mrad",
    "camera_length": "mm",
    "dwell_time": "s",
    "exposure": "s",
    "live_time": "s",
    "real_time": "s",
    "thickness": "nm",
    "azimuth_angle": "degree",
    "elevation_angle": "degree",
    "energy_resolution_MnKa": "eV",
    "tilt_alpha": "degree",
    "tilt_beta": "degree",
    "rotation": "degree",
    "working_distance": "mm",
}
#: Unit spellings of older files that pint reads otherwise (mR: milliröntgen).
_UNIT_ALIASES = {"mr": "mrad", "dg": "degree", "deg": "degree"}


def sniff(path: Path, head: bytes) -> bool:
    if head.startswith(HDF5_MAGIC):
        return _hdf5_file_format(path) == "HyperSpy"
    return head.startswith(_ZIP_MAGIC) and b".zgroup" in head[:64] and b"zarr_format" in head


def _hdf5_file_format(path: Path) -> str | None:
    import h5py

    try:
        with h5py.File(path, "r") as h5:
            value = h5.attrs.get("file_format")
    except Exception:  # damaged HDF5: h5py raises many kinds; sniffing never fails
        return None
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def read(path: Path, companions: list[Path]) -> list[Signal]:
    with open(path, "rb") as handle:
        is_hdf5 = handle.read(len(HDF5_MAGIC)) == HDF5_MAGIC
    if is_hdf5:
        from rsciio.hspy import file_reader
    else:
        _check_zip_store(path)
        from rsciio.zspy import file_reader
    dicts = call_reader(path, TITLE, lazily(file_reader, signal_dims=1))
    signals = []
    for index, entry in enumerate(d for d in dicts if d.get("data") is not None):
        warnings: list[str] = []
        derived = derived_values(normalised_metadata(entry), path, warnings)
        signal = signal_from_rsciio(entry, path, NAME, context=f"Experiments signal {index}", derived=derived)
        signal.history = history(entry)
        signal.warnings.extend(warnings)
        signals.append(signal)
    if not signals:
        raise ConversionError(path, "is a HyperSpy file without signals (only models or analysis results)")
    return signals


def _check_zip_store(path: Path) -> None:
    """A zip that is a HyperSpy Zarr store: readable, with ``file_format`` ZSpy (or HyperSpy) at its root."""
    try:
        with zipfile.ZipFile(path) as store:
            attributes = json.loads(store.read(".zattrs"))
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError) as exc:
        reason = f"looks like a Zarr zip store but cannot be read: truncated or damaged ({exc})"
        raise ConversionError(path, reason) from exc
    if not isinstance(attributes, dict) or attributes.get("file_format") not in _FILE_FORMATS:
        raise ConversionError(path, "is a Zarr zip store, but not one written by HyperSpy (no file_format ZSpy)")


# ---- HyperSpy's metadata, for the mapping table ---------------------------------------------
def derived_values(metadata: dict[str, Any], path: Path, warnings: list[str]) -> dict[str, Any]:
    """``hyperspy_metadata`` (values in HyperSpy's units), ``start_time``, ``atom_types``."""
    derived: dict[str, Any] = {"hyperspy_metadata": _in_standard_units(metadata, path, warnings, "")}
    general = metadata.get("General", {})
    start = _start_time(general)
    if start:
        derived["start_time"] = start
    elements = metadata.get("Sample", {}).get("elements")
    if elements is not None and np.size(elements):
        derived["atom_types"] = ", ".join(sorted(str(e) for e in np.atleast_1d(elements)))
    return derived


def _in_standard_units(node: dict[str, Any], path: Path, warnings: list[str], where: str) -> dict[str, Any]:
    """A copy of ``node`` whose ``<key>`` with a ``<key>_units`` sibling is in HyperSpy's unit for the key."""
    result: dict[str, Any] = {}
    for key, value in node.items():
        if isinstance(value, dict):
            result[key] = _in_standard_units(value, path, warnings, f"{where}{key}/")
            continue
        units = node.get(f"{key}_units")
        target = HYPERSPY_UNITS.get(key)
        if units is None or target is None or key.endswith("_units"):
            result[key] = value
            continue
        source = _UNIT_ALIASES.get(str(units).strip().lower(), str(units).strip())
        try:
            result[key] = convert_values(float(value), source, target) if parse_unit(source) else None
        except (TypeError, ValueError, ArithmeticError):
            result[key] = None
        if result[key] is None:
            del result[key]
            reason = f"metadata {where}{key} = {value!r} {units!r}: unit not understood; not mapped"
            warnings.append(f"{path.name}: {reason}")
    return result


def _start_time(general: dict[str, Any]) -> str | None:
    """``date`` + ``time`` (+ ``time_zone`` where HyperSpy recorded one, an IANA name or an offset)."""
    date, time = general.get("date"), general.get("time")
    if not date:
        return None
    text = f"{date}T{time}" if time else str(date)
    zone = str(general.get("time_zone") or "").strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text  # the table's transform reads other spellings, or reports them
    if zone and moment.tzinfo is None:
        moment = _with_zone(moment, zone)
    return moment.isoformat()


def _with_zone(moment: datetime, zone: str) -> datetime:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return moment.replace(tzinfo=ZoneInfo(zone))
    except (ZoneInfoNotFoundError, ValueError):
        pass
    try:
        return datetime.fromisoformat(f"{moment.isoformat()}{zone}")
    except ValueError:
        return moment  # an abbreviation such as CET names no unique offset: the assumed zone applies


# ---- processing history ---------------------------------------------------------------------
def history(entry: dict[str, Any]) -> list[ProcessingStep]:
    """What the file records of how the signal was made, oldest first."""
    metadata = normalised_metadata(entry)
    steps = _file_io(metadata.get("General", {}).get("FileIO", {}))
    package = str(entry.get("package") or "").strip()
    if package:
        version = str(entry.get("package_version") or "").strip()
        steps.append(ProcessingStep("signal class", f"signal written by {package} {version}".strip()))
    steps += _analysis_results(entry.get("attributes", {}))
    steps += [ProcessingStep("model", f"fitted model '{name}'") for name in entry.get("models") or {}]
    steps += _reshaping(metadata.get("_HyperSpy", {}))
    return steps


def _file_io(records: dict[str, Any]) -> list[ProcessingStep]:
    """HyperSpy's ``General/FileIO``: one numbered record per load or save."""
    steps = []
    for key in sorted(records, key=lambda k: int(k) if str(k).isdigit() else 0):
        record = records[key]
        if not isinstance(record, dict):
            continue
        program = f"HyperSpy {record.get('hyperspy_version', '')}".strip()
        plugin = record.get("io_plugin")
        description = f"{program} through {plugin}" if plugin else program
        steps.append(ProcessingStep(str(record.get("operation") or "file i/o"), description, _aware(record)))
    return steps


def _aware(record: dict[str, Any]) -> str:
    """The record's time stamp if it states its zone (HyperSpy writes ISO 8601 with offset), else ""."""
    try:
        moment = datetime.fromisoformat(str(record.get("timestamp", "")))
    except ValueError:
        return ""
    return moment.isoformat() if moment.tzinfo is not None else ""


def _analysis_results(attributes: dict[str, Any]) -> list[ProcessingStep]:
    """Decomposition / BSS results stored with the signal (``learning_results``)."""
    steps = []
    for name in ("learning_results", "peak_learning_results"):
        results = attributes.get(name) or {}
        for kind in ("decomposition", "bss"):
            algorithm = results.get(f"{kind}_algorithm")
            if algorithm:
                details = {k: results[k] for k in ("output_dimension", "poissonian_noise_normalized") if k in results}
                described = ", ".join(f"{k} {v}" for k, v in details.items())
                steps.append(ProcessingStep(kind, f"{algorithm}" + (f" ({described})" if described else "")))
    return steps


def _reshaping(internal: dict[str, Any]) -> list[ProcessingStep]:
    """An unfolded signal and the signals a stack was made of (HyperSpy's ``_HyperSpy`` group)."""
    steps = []
    folding = internal.get("Folding", {})
    if folding.get("unfolded") or folding.get("signal_unfolded"):
        steps.append(ProcessingStep("unfold", f"unfolded from shape {folding.get('original_shape')}"))
    stacking = internal.get("Stacking_history", {})
    if stacking:
        described = f"stacked along axis {stacking.get('axis')} ({stacking.get('step_sizes')})"
        steps.append(ProcessingStep("stack", described))
    return steps
