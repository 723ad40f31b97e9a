"""Writing large lazy arrays chunk by chunk instead of through pynxtools' in-memory template.

pynxtools' writer takes whole arrays (``h5py.create_dataset(data=...)``), so a
4D-STEM series or a spectrum image read lazily (dask / memory map) would be
loaded whole. Where we control the writing (``em-plugin convert``, the NOMAD
parser: :func:`pynxtools_em_plugin.conversion.convert`), large lazy arrays
are *deferred*: the template gets a one-element placeholder of the same rank and
dtype (so validation sees the field), and after pynxtools has written the file
the placeholder is replaced by a chunked, compressed dataset filled block by
block. Memory then stays at one block, whatever the data size.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import numpy as np

from ..chunking import blocks, frame_chunks, rows_per_block

#: Lazy arrays at least this large are streamed (when streaming is active).
STREAM_MIN_BYTES = 64 * 1024 * 1024
#: gzip level 1: fast, and readable by H5Web, NOMAD and every HDF5 build.
GZIP_LEVEL = 1

_deferred: ContextVar[dict[str, Any] | None] = ContextVar("em_plugin_deferred_arrays", default=None)


@contextmanager
def deferred_arrays() -> Iterator[dict[str, Any]]:
    """Within this context, large lazy arrays are deferred; yields {template path: array}."""
    deferred: dict[str, Any] = {}
    token = _deferred.set(deferred)
    try:
        yield deferred
    finally:
        _deferred.reset(token)


def defer_if_large(template_path: str, data: Any) -> Any | None:
    """A placeholder for ``data`` if it is lazy, large and streaming is active; else None."""
    deferred = _deferred.get()
    if deferred is None or not is_lazy(data) or _nbytes(data) < STREAM_MIN_BYTES:
        return None
    deferred[template_path] = data
    return np.zeros((1,) * len(data.shape), dtype=data.dtype)


def is_lazy(data: Any) -> bool:
    """Not yet in memory: a dask array, a memory map, or a reader's decode-on-demand wrapper."""
    return isinstance(data, np.memmap) or not isinstance(data, np.ndarray)


def _nbytes(data: Any) -> int:
    return int(np.prod(data.shape, dtype=np.int64)) * np.dtype(data.dtype).itemsize


def hdf5_path(template_path: str) -> str:
    """``/ENTRY[entry1]/a/eventID[event2]/b`` -> ``/entry1/a/event2/b``."""
    return re.sub(r"[^/\[\]]+\[([^/\]]+)\]", r"\1", template_path)


def fill_deferred(nexus_file: Path, deferred: dict[str, Any]) -> None:
    """Replace each placeholder by the full array, written block by block."""
    if not deferred:
        return
    import h5py

    with h5py.File(nexus_file, "r+") as h5:
        for template_path, array in deferred.items():
            _replace_placeholder(h5, hdf5_path(template_path), array)


def _replace_placeholder(h5, path: str, array: Any) -> None:
    placeholder = h5[path]
    attributes = dict(placeholder.attrs)
    parent, name = placeholder.parent, path.rsplit("/", 1)[-1]
    del parent[name]
    dtype = np.dtype(array.dtype)
    dataset = parent.create_dataset(
        name,
        shape=tuple(array.shape),
        dtype=dtype,
        chunks=frame_chunks(tuple(array.shape), dtype.itemsize),
        compression="gzip",
        compression_opts=GZIP_LEVEL,
    )
    _copy_into(dataset, array)
    dataset.attrs.update(attributes)


def _copy_into(dataset, array: Any) -> None:
    """Dask arrays chunk by chunk (their own chunks: a reader decoding in one piece is
    decoded once), memory maps and readers that decode by block (``decodes_by_block``)
    block by block, anything else decoded once."""
    if hasattr(array, "compute"):
        import dask.array as da

        # one block at a time, in the reader's own chunks cut to BLOCK_BYTES at most
        rows = rows_per_block(tuple(array.shape), dataset.dtype.itemsize)
        if array.numblocks[0] > 0 and array.chunks[0][0] > rows:
            array = array.rechunk({0: rows})
        client = _distributed_client()
        if client is None:
            da.store(array, dataset, lock=True, scheduler="synchronous")
            return
        for block in blocks(tuple(array.shape), dataset.dtype.itemsize):  # decoded on the cluster, written here
            dataset[block] = client.compute(array[block]).result()
        return
    by_block = isinstance(array, np.memmap) or getattr(array, "decodes_by_block", False)
    source = array if by_block else np.asarray(array)
    for block in blocks(tuple(array.shape), dataset.dtype.itemsize):
        dataset[block] = source[block]


def _distributed_client() -> Any | None:
    """The dask-distributed client the user started, if any.

    With one, blocks are decoded by the cluster's workers and sent back to this
    process, which alone holds the HDF5 file (h5py datasets cannot travel to
    workers); one block at a time, so memory stays bounded here too. Without
    one, dask's synchronous scheduler: one block in memory, no thread pool.
    """
    import sys

    if "distributed" not in sys.modules:  # never imported: no client can exist (and no import cost)
        return None
    from distributed import default_client

    try:
        return default_client()
    except ValueError:  # no client started
        return None
