"""The probe process of :mod:`._hdf5_probe`: visit every node of an HDF5 file, under limits.

Run as a script (``python -P _hdf5_walk.py FILE SECONDS MOST_DECLARED``), it imports nothing
but the standard library and h5py, so that it starts in a tenth of a second; exit status 3
and one line on stdout: the file is refused (damaged); 1: a Python error, left to the format
readers to report. ``MOST_DECLARED``: the most bytes a dataset or chunk of this file may declare
(``formats._rsciio.most_declared`` of its size).
"""

from __future__ import annotations

import math
import os
import resource
import sys
from typing import Any, NamedTuple

#: Address space the probe may add to what it has after importing h5py.
_PROBE_MEMORY = 1 << 30
#: Datasets up to this size (or this many elements) are read whole.
_SMALL_BYTES = 1 << 20
_SMALL_ELEMENTS = 10_000
#: Exit status: the file is refused.
REFUSED = 3


class _File(NamedTuple):
    size: int  # bytes stored
    most: int  # bytes a dataset or chunk may declare


class _Refused(Exception):
    """The file declares or needs what no intact file of its size could."""


def _probe(path: str, seconds: float, most: int) -> None:
    import h5py

    _limit_memory()
    _limit_cpu(seconds)
    file = _File(os.path.getsize(path), most)
    with h5py.File(path, "r") as h5:
        _walk(h5, set(), file)


def _limit_memory() -> None:
    """Address space: what the probe has now plus :data:`_PROBE_MEMORY` (within any inherited limit)."""
    try:
        with open("/proc/self/status") as status:
            used = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        wanted = used + _PROBE_MEMORY
        if soft == resource.RLIM_INFINITY or wanted < soft:
            resource.setrlimit(resource.RLIMIT_AS, (wanted, hard))
    except (OSError, ValueError, StopIteration):  # no /proc (not Linux): the time limit still applies
        pass


def _limit_cpu(seconds: float) -> None:
    """The kernel ends the probe after its time limit even if the converter is gone meanwhile
    (a loop inside the HDF5 library would otherwise spin on)."""
    try:
        limit = int(seconds) + 2
        resource.setrlimit(resource.RLIMIT_CPU, (limit, limit + 1))
    except (OSError, ValueError):
        pass


def _walk(group: Any, seen: set[int], file: _File) -> None:
    """Every node once (hard links may form cycles); a node that cannot be opened is skipped,
    not the rest of the file."""
    import h5py

    _touch(group, file)
    try:
        names = list(group)
    except Exception:
        return
    for name in names:
        try:
            if isinstance(group.get(name, getlink=True), h5py.ExternalLink):
                continue  # another file (a Dectris master's data files): probed on its own when read
            node = group[name]
            identity = hash(node.id)
        except Exception:
            continue
        if identity in seen:
            continue
        seen.add(identity)
        if isinstance(node, h5py.Group):
            _walk(node, seen, file)
        else:
            _touch(node, file)


def _touch(node: Any, file: _File) -> None:
    """Check a dataset's storage, then read what the format readers read of it."""
    import h5py

    for key in list(node.attrs):
        _read(lambda key=key: node.attrs[key])
    if not isinstance(node, h5py.Dataset) or node.shape is None or not node.size:
        return
    _check_storage(node, file)
    if node.ndim == 0 or (node.nbytes <= _SMALL_BYTES and node.size <= _SMALL_ELEMENTS):
        _read(lambda: node[()])
    if node.ndim:
        _read(lambda: node[(0,) * node.ndim])
        _read(lambda: node[tuple(n - 1 for n in node.shape)])


def _read(action: Any) -> None:
    """Run one read; running out of memory is the file's fault, other errors are the readers' to report."""
    try:
        action()
    except MemoryError as exc:
        raise _Refused("reading it needs more memory than any intact file of its size") from exc
    except Exception as exc:
        if "memory allocation failed" in str(exc):
            raise _Refused(f"reading it needs more memory than any intact file of its size ({exc})") from exc


def _check_storage(node: Any, file: _File) -> None:
    """The dataset's bytes lie inside the file and its declared size is possible for the file size."""
    size = file.size
    if node.nbytes > file.most:
        raise _Refused(f"dataset '{node.name}' declares {node.nbytes} bytes ({node.shape}) in a file of {size}")
    if node.chunks is None:
        offset = node.id.get_offset()
        if offset is not None and offset + node.id.get_storage_size() > size:
            raise _Refused(f"dataset '{node.name}' lies beyond the end of the file (truncated?)")
        return
    chunk_bytes = math.prod(node.chunks) * node.dtype.itemsize
    if chunk_bytes > file.most:
        raise _Refused(f"dataset '{node.name}' declares chunks of {chunk_bytes} bytes in a file of {size}")
    chunks: list[Any] = []
    try:
        node.id.chunk_iter(chunks.append)
    except Exception:
        return
    if any(info.byte_offset + info.size > size for info in chunks):
        raise _Refused(f"dataset '{node.name}' has chunks beyond the end of the file (truncated?)")


def main(path: str, seconds: float, most: int) -> int:
    try:
        _probe(path, seconds, most)
    except _Refused as exc:
        print(str(exc))
        return REFUSED
    except Exception:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], float(sys.argv[2]), int(sys.argv[3])))
