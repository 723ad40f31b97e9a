"""Chunk and block geometry of large arrays: one rule for the readers, the writer and the previews.

A lazy reader (dask, memory map) produces blocks of whole leading rows of about
:data:`BLOCK_BYTES`; the streaming writer (``nexus/streaming.py``) reads and
writes one such block at a time into HDF5 chunks of about :data:`CHUNK_BYTES`;
the previews (``nexus/preview.py``) reduce the same blocks. A base-layer module
(numpy only), so that format modules can cut their dask blocks to the writer's
without importing the NeXus layer.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

#: Target size of one HDF5 chunk (whole frames / whole spectra where they fit): as small and as fast
#: to write as 1 MiB, 4x faster to read one frame from (benchmarks/bench_compression.py, README).
CHUNK_BYTES = 256 * 1024
#: How much is read from the source and written at once.
BLOCK_BYTES = 16 * 1024 * 1024


def frame_chunks(shape: tuple[int, ...], itemsize: int, target: int | None = None) -> tuple[int, ...]:
    """Chunks of about ``target`` (default CHUNK_BYTES) bytes holding whole trailing dimensions
    (frames, spectra); with BLOCK_BYTES, the read blocks a lazy reader should produce."""
    target = CHUNK_BYTES if target is None else target
    chunks = [1] * len(shape)
    size = itemsize
    for dim in reversed(range(len(shape))):
        if size * shape[dim] <= target:
            chunks[dim] = shape[dim]
            size *= shape[dim]
        else:
            chunks[dim] = max(1, target // size)
            break
    return tuple(chunks)


def blocks(shape: tuple[int, ...], itemsize: int) -> Iterator[tuple[slice, ...]]:
    """Slices along the first dimension of about BLOCK_BYTES each (at least one row)."""
    if not shape:
        yield ()
        return
    row_bytes = itemsize * int(np.prod(shape[1:], dtype=np.int64))
    if row_bytes > BLOCK_BYTES and len(shape) > 1:  # one row is too large: split it too
        for index in range(shape[0]):
            for inner in blocks(shape[1:], itemsize):
                yield (slice(index, index + 1), *inner)
        return
    rows = rows_per_block(shape, itemsize)
    for start in range(0, shape[0], rows):
        yield (slice(start, min(start + rows, shape[0])),)


def rows_per_block(shape: tuple[int, ...], itemsize: int) -> int:
    """How many leading rows make about BLOCK_BYTES (at least one)."""
    row_bytes = itemsize * int(np.prod(shape[1:], dtype=np.int64))
    return max(1, BLOCK_BYTES // max(row_bytes, 1))


def is_file_memmap(array: object) -> bool:
    """A read-only memory map onto a file (or a view of one): a copy of it would be the whole file
    read into memory, while slicing it reads only the pages sliced."""
    return isinstance(array, np.memmap) and array.base is not None and not array.flags.writeable


def lazy_memmap(
    memmap: np.ndarray,
    chunks: object = None,
    order: np.ndarray | None = None,
    name: str | None = None,
    **from_array_options: object,
) -> object:
    """A dask array over a memory map that stays on file: blocks are sliced from the map when computed.

    ``dask.array.from_array`` (dask 2026) copies any array with a ``copy`` method first (for a
    memory map: the whole file read into anonymous memory) and, without a ``name``, hashes its
    bytes (the whole file read again). Here the map is handed over behind :class:`MemmapWindow`
    (no ``copy``) with a name made from where it lies. ``chunks`` defaults to blocks of whole
    trailing frames of about BLOCK_BYTES; ``order`` (one source row per output row) reorders the
    first axis, each block gathering its own rows."""
    import dask.array as da
    from dask.base import tokenize

    window = MemmapWindow(memmap, order)
    if chunks is None or chunks == "auto":
        chunks = frame_chunks(window.shape, memmap.dtype.itemsize, BLOCK_BYTES)
    if name in (None, True):
        interface = memmap.__array_interface__
        place = (getattr(memmap, "filename", None), getattr(memmap, "offset", None), interface["data"][0])
        layout = (window.shape, interface["strides"], memmap.dtype.str, order, chunks)
        name = f"memmap-{tokenize(*place, *layout, from_array_options)}"
    meta = from_array_options.pop("meta", None)
    meta = np.empty((0,) * window.ndim, dtype=memmap.dtype) if meta is None else meta
    return da.from_array(window, chunks=chunks, name=name, meta=meta, **from_array_options)


class MemmapWindow:
    """A memory map seen through indexing only (dask cannot copy it), its first axis optionally
    reordered by ``order`` (the source row of each output row)."""

    def __init__(self, memmap: np.ndarray, order: np.ndarray | None = None):
        if order is not None and np.array_equal(order, np.arange(len(order))):
            order = None
        self._memmap = memmap
        self._order = None if order is None else np.asarray(order, dtype=np.int64)
        self.shape = memmap.shape if order is None else (len(order), *memmap.shape[1:])
        self.dtype, self.ndim = memmap.dtype, memmap.ndim

    def __getitem__(self, key: object) -> np.ndarray:
        if self._order is None:
            return np.asarray(self._memmap[key])
        key = key if isinstance(key, tuple) else (key,)
        rows = np.atleast_1d(self._order[key[0]])
        gathered = self._memmap[np.sort(rows)][np.argsort(np.argsort(rows))]  # one forward pass over the file
        picked = gathered[(slice(None), *key[1:])]
        return picked if np.ndim(self._order[key[0]]) else picked[0]
