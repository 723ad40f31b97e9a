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
usual. The probe (:mod:`._hdf5_walk`) runs as a script that imports only h5py: the
check costs about 0.1 s per HDF5 file, once per file content in a process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from ..errors import ConversionError
from ._hdf5_walk import REFUSED
from ._rsciio import most_declared

PROBE_SECONDS_ENV = "EM_PLUGIN_HDF5_PROBE_SECONDS"
_DEFAULT_SECONDS = 30.0
#: The probe script; ``-P``: its folder (this package's formats) is not put on the module path.
_PROBE = [sys.executable, "-P", str(Path(__file__).with_name("_hdf5_walk.py"))]
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
            [*_PROBE, str(path), str(seconds), str(most_declared(stat.st_size))],
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
    if result.returncode == REFUSED:
        reason = result.stdout.decode("utf-8", "replace").strip() or "damaged"
        raise ConversionError(path, f"is a damaged HDF5 file: {reason}")
    _checked.add(identity)


def _hangs(path: Path, seconds: float) -> ConversionError:
    reason = f"is an HDF5 file whose structure the HDF5 library does not finish reading in {seconds:g} s: damaged"
    return ConversionError(path, reason)
