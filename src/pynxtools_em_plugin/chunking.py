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
