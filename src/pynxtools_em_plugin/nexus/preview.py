"""Small previews of events: what H5Web and NOMAD can show at once for any data size.

Every event gets one (the first is its ``@default``, the full data stay next to it):

* an image: block means down to at most :data:`MAX_IMAGE` pixels a side;
* a complex image (an FFT): its amplitude, reduced like an image;
* a diffraction pattern (reciprocal axes): log10(1 + counts above the minimum), so
  that the weak reflections show beside the central beam (the full data stay linear);
* a colour image (channels first as read): the colour image with its channels last;
* an image stack (time/frames first): the mean frame, reduced like an image;
* a 4D data set (scan x detector): the virtual image summed over the detector;
* a spectrum: the spectrum; a spectrum image: the sum spectrum over all scan
  positions, and the map of the counts summed over energy;
* a one-dimensional signal (profile, log): block means down to :data:`MAX_POINTS`.

Source arrays are read a block of leading rows at a time (dask arrays and memory
maps are never loaded whole), so memory stays at one block plus the preview.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ..chunking import rows_per_block
from ..model import Axis, AxisKind, Signal
from .nxdata import is_colour_stack

#: Largest side of an image preview, in pixels.
MAX_IMAGE = 256
#: Largest number of points of a one-dimensional preview (spectra keep every channel).
MAX_POINTS = 2048
_SPECTRAL = (AxisKind.ENERGY, AxisKind.WAVELENGTH)


def previews_of(signal: Signal) -> list[Signal]:
    """Small signals standing for ``signal``, the most telling first; none for data of no previewable shape."""
    first = preview_of(signal)
    if first is None:
        return []
    spectral = [i for i, kind in enumerate(signal.axis_kinds()) if kind in _SPECTRAL]
    if spectral and len(signal.shape) >= 3:
        return [first, _map_of(signal, spectral[-1])]
    return [first]


def _map_of(signal: Signal, spectral: int) -> Signal:
    """The counts of a spectrum image summed over its spectral axis, one value per scan position."""
    navigation = tuple(d for d in range(len(signal.shape)) if d != spectral)
    data = _sum_over_others(signal.data, navigation)
    axes = [signal.axes[d] for d in navigation]
    if data.ndim > 2:  # a 3D scan: the map of its first plane
        data, axes = data.reshape(-1, *data.shape[-2:])[0], axes[-2:]
    data, axes = block_mean(data, axes, MAX_IMAGE)
    return _small(signal, data, axes, "map of the counts summed over energy")


def preview_of(signal: Signal) -> Signal | None:
    """A small signal standing for ``signal``; None for data of no previewable shape."""
    kinds = signal.axis_kinds()
    rank = len(kinds)
    spectral = [i for i, kind in enumerate(kinds) if kind in _SPECTRAL]
    if rank == 0 or 0 in signal.shape:
        return None
    if spectral:
        keep = spectral[-1]
        data, axes, what = _sum_over_others(signal.data, keep), [signal.axes[keep]], "sum spectrum"
        if rank == 1:
            what = "spectrum"
    elif is_colour_stack(signal):
        return _colour_preview(signal)
    elif rank == 4:
        data, axes, what = _sum_trailing(signal.data, 2), signal.axes[:2], "virtual image (sum over the detector)"
    elif rank == 3:
        data, axes, what = _sum_over_others(signal.data, (1, 2)) / signal.shape[0], signal.axes[1:], "mean frame"
    elif rank <= 2:
        data, axes, what = _loaded(signal.data), signal.axes, "amplitude" if signal.is_complex else "downsampled"
    else:
        return None
    if not spectral:
        limit = MAX_POINTS if data.ndim == 1 else MAX_IMAGE
        full_size = data.shape
        data, axes = block_mean(data, axes, limit)
        what = "full size" if what == "downsampled" and data.shape == full_size else what
    quantity = f"amplitude of {signal.quantity or 'the complex values'}" if signal.is_complex else signal.quantity
    if _is_diffraction(axes):
        data, quantity = np.log10(1 + data - data.min()), f"log10(1 + {quantity or 'intensity'} above its minimum)"
        what = f"{what}, log scale"
    return _small(signal, data, axes, what, quantity)


def _is_diffraction(axes: list[Axis]) -> bool:
    """A pattern in reciprocal space: intensities over decades, best seen on a log scale."""
    return len(axes) == 2 and all(axis.kind is AxisKind.RECIPROCAL for axis in axes)


def _colour_preview(signal: Signal) -> Signal:
    """The colour image with its channels last and without alpha (viewers draw R, G, B pixels), its
    block means back in the image's integer type."""
    channel = signal.axes[0]
    rgb = Axis(channel.name, channel.values[:3], channel.units, channel.kind)
    pixels = np.moveaxis(_loaded(signal.data[:3]), 0, -1)
    means, axes = block_mean(pixels, [*signal.axes[1:], rgb], MAX_IMAGE)
    dtype = np.dtype(signal.data.dtype)
    if np.issubdtype(dtype, np.integer):
        means = np.clip(np.rint(means), 0, np.iinfo(dtype).max).astype(dtype)
    return _small(signal, means, axes, "colour image")


def _small(signal: Signal, data: np.ndarray, axes: list[Axis], what: str, quantity: str | None = None) -> Signal:
    return Signal(
        title=f"preview of {signal.title}: {what}",
        data=data,
        axes=axes,
        source=signal.source,
        format_name=signal.format_name,
        signal_type=signal.signal_type,
        quantity=signal.quantity if quantity is None else quantity,
        context=signal.context,
        simulated=signal.simulated,
    )


def block_mean(data: np.ndarray, axes: list[Axis], limit: int) -> tuple[np.ndarray, list[Axis]]:
    """Means over blocks of ``ceil(n / limit)`` samples along every axis (edges padded by the mean)."""
    factors = [max(1, -(-n // limit)) for n in data.shape]
    if all(f == 1 for f in factors):
        return data, axes
    for dim, factor in enumerate(factors):
        data = _mean_along(data, dim, factor)
    reduced = [
        Axis(axis.name, _mean_along(np.asarray(axis.values, dtype=float), 0, f), axis.units, axis.kind)
        for axis, f in zip(axes, factors, strict=True)
    ]
    return data, reduced


def _mean_along(data: np.ndarray, dim: int, factor: int) -> np.ndarray:
    if factor == 1:
        return data
    n = data.shape[dim]
    whole = n // factor * factor
    moved = np.moveaxis(data, dim, 0)
    means = moved[:whole].reshape(whole // factor, factor, *moved.shape[1:]).mean(axis=1)
    if whole < n:
        means = np.concatenate([means, moved[whole:].mean(axis=0, keepdims=True)])
    return np.moveaxis(means, 0, dim)


def _sum_over_others(data: Any, keep: int | tuple[int, ...]) -> np.ndarray:
    """Sum over every dimension but ``keep``, one block of leading rows at a time."""
    kept = (keep,) if isinstance(keep, int) else keep
    rank = len(data.shape)
    if 0 in kept:  # the leading dimension is kept: blocks along it are parts of the result
        parts = [_reduce(block, tuple(d for d in range(rank) if d not in kept)) for block in _row_blocks(data)]
        return np.concatenate(parts, axis=0)
    total = None
    for block in _row_blocks(data):
        part = _reduce(block, tuple(d for d in range(rank) if d not in kept))
        total = part if total is None else total + part
    return total


def _sum_trailing(data: Any, count: int) -> np.ndarray:
    """Sum over the last ``count`` dimensions (the detector of a 4D data set), row block by row block."""
    rank = len(data.shape)
    trailing = tuple(range(rank - count, rank))
    return np.concatenate([_reduce(block, trailing) for block in _row_blocks(data)], axis=0)


def _reduce(block: np.ndarray, dims: tuple[int, ...]) -> np.ndarray:
    values = np.abs(block) if np.iscomplexobj(block) else block
    return values.sum(axis=dims, dtype=np.float64) if dims else values.astype(np.float64)


def _loaded(data: Any) -> np.ndarray:
    """A small (rank <= 2) array as float64; read block by block so a lazy source is never whole twice."""
    return np.concatenate([_reduce(block, ()) for block in _row_blocks(data)], axis=0)


def _row_blocks(data: Any) -> Iterator[np.ndarray]:
    """Blocks of whole leading rows of about chunking.BLOCK_BYTES, loaded (dask computed, memory map read)."""
    shape = tuple(int(n) for n in data.shape)
    rows = rows_per_block(shape, np.dtype(data.dtype).itemsize)
    for start in range(0, shape[0], rows):
        block = data[start : min(start + rows, shape[0])]
        yield np.asarray(block.compute() if hasattr(block, "compute") else block)
