"""Reading an HDF5 file's structure in a short-lived process before this one touches it.

The HDF5 C library (2.0, under h5py 3.16) loops forever on some damaged files,
e.g. a global heap (where variable-length strings live) whose object sizes no
longer add up, allocates whatever a damaged chunk index declares, and can
crash. Inside the C library none of this can be interrupted, so a damaged Velox
or Berkeley EMD file could hang the converter or exhaust the memory (the fuzz
tests found each). A separate process therefore first visits every group and
dataset (external links, i.e. other files, are not followed), reads every
attribute, the small datasets and the first and last element of the large
ones, and checks that every dataset's storage lies inside the file and that no
dataset declares far more data than the file can hold (``_rsciio.MAX_EXPANSION``
times its size, deflate's limit being about 1000). It
runs under a time limit (``EM_PLUGIN_HDF5_PROBE_SECONDS``, default 30 s) and a
memory limit; a file it cannot finish is refused with one clear error. Python
exceptions in the probe are left to the format readers, which report them as
usual. The check costs about 0.2 s per HDF5 file, once per file content in a
process.
"""

from __future__ import annotations

import math
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from ..errors import ConversionError
from ._rsciio import is_oversized

PROBE_SECONDS_ENV = "EM_PLUGIN_HDF5_PROBE_SECONDS"
_DEFAULT_SECONDS = 30.0
#: Address space the probe may add to what it has after importing h5py.
_PROBE_MEMORY = 1 << 30
#: Datasets up to this size (or this many elements) are read whole.
_SMALL_BYTES = 1 << 20
_SMALL_ELEMENTS = 10_000
_REFUSED = 3
_checked: set[tuple[str, int, int]] = set()


def check_hdf5_structure(path: Path) -> None:
    """Refuse an HDF5 file whose structure hangs, crashes or overwhelms the HDF5 library."""
    stat = path.stat()
    identity = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if identity in _checked:
        return
    seconds = float(os.environ.get(PROBE_SECONDS_ENV) or _DEFAULT_SECONDS)
    try:
        result = subprocess.run(
            [sys.executable, "-m", __name__, str(path), str(seconds)],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=seconds,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise _hangs(path, seconds) from exc
    if result.returncode == -signal.SIGXCPU:
        raise _hangs(path, seconds)
    if result.returncode < 0:
        name = signal.Signals(-result.returncode).name
        raise ConversionError(path, f"is an HDF5 file whose structure crashes the HDF5 library ({name}): damaged")
    if result.returncode == _REFUSED:
        reason = result.stdout.decode("utf-8", "replace").strip() or "damaged"
        raise ConversionError(path, f"is a damaged HDF5 file: {reason}")
    _checked.add(identity)


def _hangs(path: Path, seconds: float) -> ConversionError:
    reason = f"is an HDF5 file whose structure the HDF5 library does not finish reading in {seconds:g} s: damaged"
    return ConversionError(path, reason)


# ---- the probe process ------------------------------------------------------------------


class _Refused(Exception):
    """The file declares or needs what no intact file of its size could."""


def _probe(path: str, seconds: float) -> None:
    import h5py

    _limit_memory()
    _limit_cpu(seconds)
    size = os.path.getsize(path)
    with h5py.File(path, "r") as h5:
        _walk(h5, set(), size)


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


def _walk(group: Any, seen: set[int], size: int) -> None:
    """Every node once (hard links may form cycles); a node that cannot be opened is skipped,
    not the rest of the file."""
    import h5py

    _touch(group, size)
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
            _walk(node, seen, size)
        else:
            _touch(node, size)


def _touch(node: Any, size: int) -> None:
    """Check a dataset's storage, then read what the format readers read of it."""
    import h5py

    for key in list(node.attrs):
        _read(lambda key=key: node.attrs[key])
    if not isinstance(node, h5py.Dataset) or node.shape is None or not node.size:
        return
    _check_storage(node, size)
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


def _check_storage(node: Any, size: int) -> None:
    """The dataset's bytes lie inside the file and its declared size is possible for the file size."""
    if is_oversized(node.nbytes, size):
        raise _Refused(f"dataset '{node.name}' declares {node.nbytes} bytes ({node.shape}) in a file of {size}")
    if node.chunks is None:
        offset = node.id.get_offset()
        if offset is not None and offset + node.id.get_storage_size() > size:
            raise _Refused(f"dataset '{node.name}' lies beyond the end of the file (truncated?)")
        return
    chunk_bytes = math.prod(node.chunks) * node.dtype.itemsize
    if is_oversized(chunk_bytes, size):
        raise _Refused(f"dataset '{node.name}' declares chunks of {chunk_bytes} bytes in a file of {size}")
    chunks: list[Any] = []
    try:
        node.id.chunk_iter(chunks.append)
    except Exception:
        return
    if any(info.byte_offset + info.size > size for info in chunks):
        raise _Refused(f"dataset '{node.name}' has chunks beyond the end of the file (truncated?)")


def main(path: str, seconds: float) -> int:
    try:
        _probe(path, seconds)
    except _Refused as exc:
        print(str(exc))
        return _REFUSED
    except Exception:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], float(sys.argv[2])))
