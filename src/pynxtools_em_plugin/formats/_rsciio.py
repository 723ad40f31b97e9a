"""Shared conversion of RosettaSciIO signal dictionaries into :class:`Signal`.

RosettaSciIO readers return, per signal, ``{"data", "axes", "metadata",
"original_metadata"}``. This module turns those into our model once, so that
format modules only add what is specific to their vendor.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from ..chunking import BLOCK_BYTES
from ..compat.dask import memmaps_stay_on_file
from ..errors import ConversionError
from ..model import Axis, AxisKind, Signal
from ..units import canonical_axis_units, classify_units, convert_values

#: Axis names that mean a photon wavelength although their unit is a length.
_WAVELENGTH_NAMES = {"wavelength", "lambda", "λ"}

#: Decoded bytes a file may declare per stored byte: deflate, the strongest compression
#: in these formats, stays below about 1030:1.
MAX_EXPANSION = 2000
_SIZE_ALLOWANCE = 64 << 20

#: Data files up to this size are read whole: they are one streaming block (nothing to gain from
#: a memory map), and reading them lazily would import ``dask.array`` (about 1 s of CPU,
#: ``lazy_imports.py``) for a file that converts in a fraction of that.
LAZY_MIN_BYTES = BLOCK_BYTES


def most_declared(stored: int) -> int:
    """The most decoded bytes ``stored`` bytes can hold."""
    return MAX_EXPANSION * max(stored, 0) + _SIZE_ALLOWANCE


def is_oversized(declared: int, stored: int) -> bool:
    """Whether ``declared`` decoded bytes are more than ``stored`` bytes can hold."""
    return declared > most_declared(stored)


def refuse_oversized(path: Path, what: str, declared: int, stored: int) -> None:
    """Refuse, before anything is allocated, a header that declares far more data than the
    stored bytes can hold (a damaged size or dimension field)."""
    if is_oversized(declared, stored):
        reason = f"{what} declares {declared} bytes of data, the file stores {stored}: damaged header"
        raise ConversionError(path, reason)


def call_reader(path: Path, title: str, reader: Callable[..., list[dict]], **kwargs: Any) -> list[dict]:
    """Run a RosettaSciIO reader; any failure becomes one clear ConversionError.

    Vendor readers raise anything (struct.error, ValueError, IndexError...) on
    truncated or damaged bytes, hence the broad except.
    """
    try:
        dicts = reader(str(path), **kwargs)
    except ConversionError:
        raise
    except MemoryError as exc:
        raise ConversionError(path, f"declares more data than fits in memory; not a valid {title} file") from exc
    except Exception as exc:
        detail = f"{type(exc).__name__}: {exc}"
        raise ConversionError(path, f"looks like {title} but cannot be read: truncated or damaged ({detail})") from exc
    if not dicts:
        raise ConversionError(path, f"looks like {title} but holds no readable data set")
    return dicts


class _RecordList(logging.Handler):
    def __init__(self, level: int):
        super().__init__(level)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def rsciio_log(module: str, level: int = logging.INFO) -> Iterator[list[logging.LogRecord]]:
    """Collect what a RosettaSciIO reader module logs instead of printing it.

    Some readers report facts through their logger only (a skipped sub-file, a
    dropped partial frame, an extrapolated axis); the caller turns the records
    into signal warnings, or drops those it corrects itself. ``module`` is the
    reader's logger name (:func:`pynxtools_em_plugin.compat.rsciio.reader_logger`).
    """
    logger = logging.getLogger(module)
    handler = _RecordList(level)
    saved = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(min(level, logger.getEffectiveLevel()))
    logger.propagate = False
    try:
        yield handler.records
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]


def axis_from_rsciio(axis: dict[str, Any]) -> Axis:
    """A calibrated :class:`Axis` from a RosettaSciIO axis dictionary."""
    name = str(axis.get("name") or "")
    units = str(axis.get("units") or "").strip()
    values = _axis_values(axis)
    kind = classify_units(units)
    if kind is AxisKind.SPACE and name.strip().lower() in _WAVELENGTH_NAMES:
        kind = AxisKind.WAVELENGTH
    target = canonical_axis_units(kind)
    if target is not None:
        values = convert_values(values, units, target)
        units = target
    elif kind is AxisKind.INDEX:
        units = ""
    return Axis(name=name or "index", values=values, units=units, kind=kind)


def _axis_values(axis: dict[str, Any]) -> np.ndarray:
    """Coordinates of every index: explicit ``axis`` array or offset + i * scale.

    A calibration that is not a finite number (damaged header, text a reader
    could not parse) gives NaN coordinates, which :func:`_replace_degenerate_axes`
    turns into a plain index with a warning; never a silent guess.
    """
    if axis.get("axis") is not None:
        try:
            return np.asarray(axis["axis"], dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            return np.full(len(axis["axis"]), np.nan)
    size = int(axis.get("size", 1))
    scale, offset = _number(axis.get("scale", 1.0)), _number(axis.get("offset", 0.0))
    if not (math.isfinite(scale) and math.isfinite(offset)):
        return np.full(size, np.nan)
    return offset + scale * np.arange(size, dtype=np.float64)


def _number(value: Any) -> float:
    """A calibration value as float; NaN if it is not a number (None counts as 0, as RosettaSciIO means it)."""
    try:
        return float(value or 0.0)
    except (TypeError, ValueError):
        return math.nan


def signal_from_rsciio(
    entry: dict[str, Any],
    source: Path,
    format_name: str,
    context: str,
    derived: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
) -> Signal:
    """One :class:`Signal` from one RosettaSciIO signal dictionary.

    Its ``metadata`` is the dictionary's ``original_metadata``, the very tree RosettaSciIO
    returned; ``derived`` is what the format module computed (:attr:`Signal.derived`).
    ``metadata`` replaces that tree only where a module adds the vendor blocks it parses itself,
    under their own keys (``PARSED_VENDOR_BLOCKS``, formats/contract.py; the TIFF flavours).
    """
    md = normalised_metadata(entry)
    signal_type = str(md.get("Signal", {}).get("signal_type") or "")
    data, axis_dicts = _channels_as_axis(entry["data"], list(entry.get("axes", [])))
    _check_axes_match(source, data, axis_dicts)  # before the coordinates are computed: sizes may be damaged
    axes = [axis_from_rsciio(ax) for ax in axis_dicts]
    axes, warnings = _replace_degenerate_axes(source, axes)
    title = str(md.get("General", {}).get("title") or "").strip()
    return Signal(
        title=title or source.stem,
        data=data,
        axes=axes,
        source=source,
        format_name=format_name,
        metadata=metadata if metadata is not None else vendor_tree(entry),
        derived=derived or {},
        signal_type=signal_type,
        quantity=str(md.get("Signal", {}).get("quantity") or ""),
        context=context,
        warnings=warnings,
    )


def vendor_tree(entry: dict[str, Any]) -> dict[str, Any]:
    """The ``original_metadata`` of a RosettaSciIO dictionary, as it is (an empty tree if it has none)."""
    tree = entry.get("original_metadata")
    return tree if tree is not None else {}


def normalised_metadata(entry: dict[str, Any]) -> dict[str, Any]:
    """RosettaSciIO's own normalised ``metadata`` of a dictionary (HyperSpy layout)."""
    return entry.get("metadata") or {}


def _channels_as_axis(data: Any, axes: list[dict[str, Any]]) -> tuple[Any, list[dict[str, Any]]]:
    """An RGB(A) image (numpy structured dtype) as an array with a leading channel axis.

    RosettaSciIO returns colour images (thumbnails, optical images) with fields
    R, G, B(, A); NeXus needs plain numbers, so each field becomes one slice.
    """
    names = getattr(getattr(data, "dtype", None), "names", None)
    if not names:
        return data, axes
    array = np.asarray(data)
    stacked = np.stack([array[name] for name in names])
    channel = {"name": f"colour channel ({', '.join(names)})", "size": len(names), "scale": 1, "offset": 0}
    return stacked, [channel, *axes]


def _replace_degenerate_axes(source: Path, axes: list[Axis]) -> tuple[list[Axis], list[str]]:
    """Axes whose coordinates do not increase (vendor scale 0 or NaN) become index axes."""
    fixed, warnings = [], []
    for axis in axes:
        steps = np.diff(axis.values)
        if not np.all(np.isfinite(axis.values)) or np.any(steps == 0):
            warnings.append(
                f"{source.name}: axis '{axis.name}' has no usable calibration (step 0 or not finite); "
                "stored as a plain index"
            )
            axis = Axis(name=axis.name, values=np.arange(axis.size, dtype=np.float64), units="", kind=AxisKind.INDEX)
        fixed.append(axis)
    return fixed, warnings


def _check_axes_match(source: Path, data: Any, axes: list[dict[str, Any]]) -> None:
    """Refuse a signal whose axes do not describe its array (corrupt header)."""
    shape = [int(n) for n in data.shape]
    sizes = [len(ax["axis"]) if ax.get("axis") is not None else int(ax.get("size", 1)) for ax in axes]
    if sizes != shape:
        raise ConversionError(source, f"axes {sizes} do not match the data shape {shape}")


def signals_from_rsciio(
    dicts: Iterable[dict[str, Any]],
    source: Path,
    format_name: str,
    prepare: Callable[[dict[str, Any]], list[str]] | None = None,
    derive: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> list[Signal]:
    """Every signal of a RosettaSciIO result, with its index as context.

    ``prepare`` lets a format module correct one RosettaSciIO dictionary's data and
    axes in place before it becomes a Signal (never its ``original_metadata``); it
    returns warnings. ``derive`` returns the signal's derived values from the
    (prepared) dictionary.
    """
    signals = []
    for index, entry in enumerate(dicts):
        warnings = prepare(entry) if prepare else []
        derived = derive(entry) if derive else None
        signal = signal_from_rsciio(entry, source, format_name, context=f"signal {index}", derived=derived)
        signal.warnings.extend(warnings)
        signals.append(signal)
    return signals


def worth_reading_lazily(*files: Path) -> bool:
    """Whether the data files of one conversion are too large to be read whole (:data:`LAZY_MIN_BYTES`)."""
    return sum(file.stat().st_size for file in files if file.is_file()) > LAZY_MIN_BYTES


def lazily(reader: Callable[..., list[dict]], signal_dims: int = 2) -> Callable[..., list[dict]]:
    """``reader`` run with ``lazy=True``, reading the last frame of each signal once.

    Memory-mapped (lazy) readers keep large 4D-STEM series out of memory while
    reading, but notice a truncated file only when the bytes are read: probing
    one frame here, inside :func:`call_reader`, turns that into the usual
    ConversionError instead of a failure while the NeXus file is written. Memory maps the
    reader hands to dask stay on file (``compat.dask.memmaps_stay_on_file``): dask would copy them.
    """

    def read(filename: str, **kwargs: Any) -> list[dict]:
        with memmaps_stay_on_file():
            dicts = reader(filename, lazy=True, **kwargs)
        for entry in dicts:
            data = entry["data"]
            if hasattr(data, "compute") and data.size:
                np.asarray(data[(-1,) * max(data.ndim - signal_dims, 0)])
        return dicts

    return read
