"""Lazy reads of large files stay on file: converting one must not copy its data into memory.

dask 2026 ``from_array`` copies a memory map whole (compat/dask.py); a reader handing one to
dask used to hold the whole file in anonymous memory (a 256 MiB TVIPS file: +700 MiB).
A child process reads a generated ~200 MiB file with the format module and streams the array
into HDF5 (``nexus.streaming.fill_deferred``); its anonymous memory (``/proc/<pid>/status``
RssAnon, sampled; file pages of the map are RssFile, which the kernel can drop) must stay
within a few streaming blocks plus a tenth of the file size above what it held before reading
(measured: +56 MiB for 200 MiB files, the same for 400 MiB; before the fix +262 MiB for TVIPS).
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import em_file
from pynxtools_em_plugin.chunking import BLOCK_BYTES
from pynxtools_em_plugin.compat import dask as compat
from pynxtools_em_plugin.compat.dask import memmaps_stay_on_file

FRAMES, SIDE = 3200, 256  # 3200 frames of 256 x 256 u8: 200 MiB
MiB = 2**20
RIPPLE = "test_ripple_sdim-1_ndim-2_float64_meta"
CHILD = """
import json, sys
from pathlib import Path
import h5py, importlib
import dask.array
from pynxtools_em_plugin.nexus import streaming
module = importlib.import_module("pynxtools_em_plugin.formats." + sys.argv[1])
importlib.import_module("rsciio." + sys.argv[4])  # its imports are not the data
def anon():
    with open("/proc/self/status") as status:
        return next(int(l.split()[1]) * 1024 for l in status if l.startswith("RssAnon:"))
before = anon()
(signal,) = module.read(Path(sys.argv[2]), [])
with h5py.File(sys.argv[3], "w") as h5:
    h5["data"] = 0
streaming.fill_deferred(Path(sys.argv[3]), {"/data": signal.data})
with h5py.File(sys.argv[3], "r") as h5:
    last = h5["data"][-1]
print(json.dumps({"before": before, "shape": list(signal.data.shape), "last_sum": int(last.sum())}))
"""


def _frames() -> np.ndarray:
    """Frame i is the ramp 0..255 along x plus i (mod 256): each frame distinct, cheap to check."""
    ramp = np.arange(SIDE, dtype=np.uint8)[None, :].repeat(SIDE, axis=0)
    return ramp[None] + (np.arange(FRAMES) % 256).astype(np.uint8)[:, None, None]


def _tvips(folder: Path) -> Path:
    from rsciio.tvips import file_writer

    axes = [
        {"name": n, "size": s, "scale": 1.0, "offset": 0.0, "units": u, "navigate": nav}
        for n, s, u, nav in (("time", FRAMES, "s", True), ("y", SIDE, "nm", False), ("x", SIDE, "nm", False))
    ]
    signal = {"data": _frames(), "axes": axes, "metadata": {"General": {"title": "t"}, "Signal": {}},
              "original_metadata": {}, "attributes": {"_lazy": False}}  # fmt: skip
    file_writer(str(folder / "big.tvips"), signal, max_file_size=2**40)
    return folder / "big_000.tvips"


def _mrc(folder: Path) -> Path:
    """An MRC2014 file of FRAMES frames, mode 0 (int8, the ramp stays below 128 after a shift)."""
    header = bytearray(1024)
    struct.pack_into("<10i", header, 0, SIDE, SIDE, FRAMES, 0, 0, 0, 0, SIDE, SIDE, FRAMES)
    struct.pack_into("<6f3i", header, 40, SIDE, SIDE, FRAMES, 90, 90, 90, 1, 2, 3)
    header[208:216] = b"MAP DD\0\0"
    path = folder / "big.mrc"
    with open(path, "wb") as out:
        out.write(bytes(header))
        out.write((_frames() >> 1).tobytes())
    return path


def _ripple(folder: Path) -> Path:
    """A Ripple stack of FRAMES images (``record-by image``): the text header and its headerless ``.raw``."""
    keys = {"width": SIDE, "height": SIDE, "depth": FRAMES, "offset": 0, "data-length": 1,
            "data-type": "unsigned", "byte-order": "dont-care", "record-by": "image"}  # fmt: skip
    header = folder / "big.rpl"
    header.write_text("key\tvalue\n" + "".join(f"{key}\t{value}\n" for key, value in keys.items()))
    _frames().tofile(folder / "big.raw")
    return header


def _tia(folder: Path) -> Path:
    """A TIA ``.ser`` series of FRAMES uint8 images (series version 0x0210: 4-byte offsets; image
    elements, each followed by its time tag), laid out as RosettaSciIO's reader reads it."""
    dimension = struct.pack("<IddII", FRAMES, 0.0, 0.5, 0, 0) + struct.pack("<I", 1) + b"s"
    offset_table = 30 + len(dimension)
    first = offset_table + 8 * FRAMES  # after the data and the tag offset arrays
    element = struct.pack("<ddIddIHII", 0.0, 2e-9, 0, 0.0, 2e-9, 0, 1, SIDE, SIDE)  # calibrations, u8, X, Y
    stride = len(element) + SIDE * SIDE + 8
    starts = first + stride * np.arange(FRAMES, dtype=np.uint32)
    path = folder / "big_1.ser"
    with open(path, "wb") as out:
        out.write(struct.pack("<HHHIIIIII", 0x4949, 0x0197, 0x0210, 0x4122, 0x4152, FRAMES, FRAMES, offset_table, 1))
        out.write(dimension + starts.tobytes() + (starts + stride - 8).tobytes())
        for index, frame in enumerate(_frames()):
            out.write(element + frame.tobytes() + struct.pack("<HHI", 0x4152, 0, index))
    return path


def _peak_anon(format_name: str, source: Path, output: Path) -> tuple[int, dict]:
    """Peak RssAnon of the child (sampled every 10 ms) and what it printed."""
    library = {"gatan": "digitalmicrograph"}.get(format_name, format_name)
    command = [sys.executable, "-c", CHILD, format_name, str(source), str(output), library]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    while child.poll() is None:
        try:
            with open(f"/proc/{child.pid}/status") as status:
                peak = max(peak, *(int(line.split()[1]) * 1024 for line in status if line.startswith("RssAnon:")))
        except (FileNotFoundError, ProcessLookupError, ValueError, TypeError):
            pass
        time.sleep(0.01)
    out, err = child.communicate()
    assert child.returncode == 0, err[-2000:]
    return peak, json.loads(out.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("format_name", "make"), [("tvips", _tvips), ("mrc", _mrc), ("ripple", _ripple), ("tia", _tia)]
)
def test_lazy_read_of_a_large_file_stays_on_file(tmp_path, format_name, make):
    source = make(tmp_path)
    last = _frames()[-1] >> 1 if format_name == "mrc" else _frames()[-1]
    peak, report = _peak_anon(format_name, source, tmp_path / "out.h5")
    assert report["shape"][-2:] == [SIDE, SIDE] and int(np.prod(report["shape"])) == FRAMES * SIDE * SIDE
    assert report["last_sum"] == int(last.astype(np.int64).sum())  # the data written is the file's
    grown = peak - report["before"]
    allowed = 4 * BLOCK_BYTES + 0.1 * source.stat().st_size  # a few blocks in flight, never the file
    assert grown < allowed, f"{format_name}: +{grown / MiB:.0f} MiB anonymous memory"


def test_dask_still_copies_memory_maps_which_the_workaround_avoids(tmp_path):
    """If dask stops copying, compat/dask.py can go; while inside it a map is wrapped, not copied."""
    import dask.array as da

    path = tmp_path / "map.u8"
    np.arange(4096, dtype=np.uint8).tofile(path)
    memmap = np.memmap(path, dtype=np.uint8, mode="r", shape=(16, 256))
    plain = da.from_array(memmap, chunks=(4, 256))
    held = [v for v in dict(plain.__dask_graph__()).values() if isinstance(v, np.ndarray)]
    assert held and all(not np.shares_memory(v, memmap) for v in held)  # dask's own copy
    with memmaps_stay_on_file():
        wrapped = da.asarray(memmap)
    held = [v for v in dict(wrapped.__dask_graph__()).values() if isinstance(v, np.ndarray)]
    assert not held and wrapped.name.startswith("memmap-") and wrapped.chunks == ((16,), (256,))
    assert np.array_equal(wrapped.compute(), memmap) and np.array_equal(plain.compute(), memmap)
    assert da.from_array(memmap).name.startswith("array-")  # dask is itself again outside


def test_the_replaced_dask_names_exist():
    assert compat.version_supported()  # the installed dask is one this was written for
    for module, name in compat.PRIVATE_NAMES:
        assert callable(compat.private(module, name)), f"{module}.{name}"


@pytest.mark.parametrize("inputs", [("gatan/3D/EELS_SI.dm4",), (f"ripple/{RIPPLE}.rpl", f"ripple/{RIPPLE}.raw")])
def test_lazy_reads_convert_when_the_conversion_deferred_dask(inputs, tmp_path):
    """A conversion defers ``dask.array`` (lazy_imports) until a file is read lazily; RosettaSciIO's
    memory-mapped reads (``map_blocks``) must then work: dask.array.core ran once, one ``Array`` class.
    A fresh process (dask not imported before), the file read the large-file way."""
    code = (
        "from pathlib import Path; from pynxtools_em_plugin.conversion import convert; "
        "from pynxtools_em_plugin.formats import _rsciio; from pynxtools_em_plugin.lazy_imports import is_loaded; "
        "_rsciio.LAZY_MIN_BYTES = -1; assert not is_loaded('dask.array'); "
        f"outcome = convert({[str(em_file(p)) for p in inputs]!r}, Path({str(tmp_path / 'out.nxs')!r})); "
        "print(outcome.status, outcome.message, is_loaded('dask.array'))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("converted") and done.stdout.strip().endswith("True"), done.stdout
