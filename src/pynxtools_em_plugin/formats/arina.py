"""Dectris ARINA 4D-STEM acquisitions: ``<name>_master.h5`` + ``<name>_data_NNNNNN.h5`` + ``<name>.h5``.

One acquisition, three kinds of file: the master (NeXus NXmx: detector description and
settings; ``entry/data/data_NNNNNN`` are external links into the data files), the data
files (the frames, compressed with the bitshuffle/LZ4 HDF5 filter, which ``hdf5plugin``
provides: RosettaSciIO's ``arina`` extra) and the side file the acquisition software
writes (attributes of its ``STEM Metadata`` group: scan size, high tension, camera
length, magnification, pixel size, dwell time). The master is what converts; the
others are its companions, and alone they are refused naming the master.

Our own reader (h5py, with RosettaSciIO's ``hdf5plugin`` dependency): RosettaSciIO's
``arina`` reader loads every frame into memory (it has no lazy mode), returns neither
the master's detector settings nor the side file's STEM metadata, and stores uint32
counts as uint16. Here the frames of every data file are one dask array, blocks of
whole scan rows, read when written (streamed), kept in their stored type, shaped
(scan y, scan x, detector y, detector x) from the side file's ``NumPixelsY``/``X``; without
a side file a square scan is assumed only when the frame count is a square, with a
warning, else the frames stay a stack.

``Signal.metadata`` is what this module reads: ``master`` (the master file's ``entry``
tree, small datasets as values, a dataset attribute ``units`` as ``<name>@units``,
arrays of more than :data:`MAX_ELEMENTS` values (flat field, pixel mask,
count-rate tables) described, not copied) and ``side_file`` (its ``STEM Metadata``
attributes, one-element arrays as numbers). The scan axes are in nm (the side file's
``Pixel Size``, which RosettaSciIO also reads as nm); the detector axes stay pixel indices
(neither file calibrates them in reciprocal space).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from .. import chunking
from ..errors import ConversionError
from ..model import Axis, AxisKind, Signal
from ..parsing import parse_number
from . import HDF5_MAGIC

NAME = "arina"
TITLE = "Dectris ARINA 4D-STEM"
EXTENSIONS = (".h5",)

#: Both files and blocks this module reads itself and adds to the (empty) tree RosettaSciIO returns.
PARSED_VENDOR_BLOCKS = ("master", "side_file")
#: Datasets of the master with more values than this are described in the vendor tree, not copied.
MAX_ELEMENTS = 64
_MASTER = re.compile(r"(?P<stem>.+)_master\.h5", re.IGNORECASE)
_DATA = re.compile(r"(?P<stem>.+)_data_\d{6}\.h5", re.IGNORECASE)
_SIDE_GROUP = "STEM Metadata"
_SCAN_NAMES = ("scan y", "scan x")
_DETECTOR_NAMES = ("detector ky", "detector kx")


# ---- recognising the three kinds of file --------------------------------------------------------
def sniff(path: Path, head: bytes) -> bool:
    return head.startswith(HDF5_MAGIC) and _kind(path) is not None


def _kind(path: Path) -> str | None:
    """``master``, ``data`` or ``side``, from the HDF5 layout (never raises)."""
    import h5py

    try:
        with h5py.File(path, "r") as h5:
            if _SIDE_GROUP in h5 and "NumPixelsX" in h5[_SIDE_GROUP].attrs:
                return "side"
            specific = h5.get("entry/instrument/detector/detectorSpecific", getlink=True)
            if specific is not None and "entry/data" in h5:
                return "master"
            frames = h5.get("entry/data/data")
            if isinstance(frames, h5py.Dataset) and "image_nr_low" in frames.attrs and "entry/instrument" not in h5:
                return "data"
    except Exception:  # damaged HDF5: h5py raises many kinds; sniffing never fails
        return None
    return None


def companions(path: Path, candidates: list[Path]) -> list[Path]:
    """The data files and the side file of a master, by name, in the master's folder."""
    match = _MASTER.fullmatch(path.name)
    if not match:
        return []
    stem = match["stem"].lower()
    return [
        c
        for c in candidates
        if c.parent == path.parent
        and (c.name.lower() == f"{stem}.h5" or ((m := _DATA.fullmatch(c.name)) and m["stem"].lower() == stem))
    ]


def lone_companion(path: Path) -> str | None:
    kind = _kind(path)
    if kind == "data":
        return "is a Dectris data file (frames only); pass its _master.h5 file, with the data files beside it"
    if kind == "side":
        return "is the STEM metadata side file of a Dectris acquisition; pass its _master.h5 file"
    return None


# ---- reading --------------------------------------------------------------------------------
def read(path: Path, companions: list[Path]) -> list[Signal]:
    import h5py
    import hdf5plugin  # noqa: F401  registers the bitshuffle/LZ4 filter the data files use

    if _kind(path) != "master":
        raise ConversionError(path, "is not a Dectris master file")
    try:
        with h5py.File(path, "r") as h5:
            master = {"entry": _tree(h5["entry"])}
            links = _data_links(path, h5)
    except ConversionError:
        raise
    except Exception as exc:  # h5py raises KeyError, OSError... on damaged metadata
        raise ConversionError(path, f"is a damaged Dectris master file ({type(exc).__name__}: {exc})") from exc
    match = _MASTER.fullmatch(path.name)
    side_path = path.with_name(f"{match['stem'] if match else path.stem}.h5")
    side = _side_metadata(side_path) if side_path.is_file() and side_path != path else None
    frames = _frames(path, links)
    warnings: list[str] = []
    data, scan = _shaped(frames, side, path, warnings)
    axes = _axes(data.shape, scan, side)
    metadata = {"master": master, **({"side_file": {_SIDE_GROUP: side}} if side is not None else {})}
    if side is None:
        lacking = "no scan size, pixel size or STEM metadata"
        warnings.append(f"{path.name}: no side file {side_path.name} beside it: {lacking}")
    title = f"{path.stem.removesuffix('_master')} (ARINA 4D-STEM)"
    signal = Signal(title, data, axes, path, NAME, metadata, quantity="counts", context="entry/data")
    signal.warnings.extend(warnings)
    return [signal]


def _data_links(path: Path, h5: Any) -> list[tuple[Path, str]]:
    """(data file, dataset path) of every ``entry/data/data_NNNNNN`` link, in order; a missing
    data file is refused naming it."""
    import h5py

    links = []
    for name in sorted(h5["entry/data"]):
        link = h5["entry/data"].get(name, getlink=True)
        if isinstance(link, h5py.ExternalLink):
            target = path.with_name(Path(link.filename).name)
            if not target.is_file():
                raise ConversionError(path, f"its data file {target.name} is missing; it must sit beside the master")
            links.append((target, link.path))
    if not links:
        raise ConversionError(path, "is a Dectris master file that links no data file")
    return links


def _frames(path: Path, links: list[tuple[Path, str]]) -> Any:
    """The frames of all data files, lazily (one dask array, blocks of whole frames)."""
    import dask.array as da
    import h5py

    from ._hdf5_probe import check_hdf5_structure

    stacks = []
    for target, inside in links:
        check_hdf5_structure(target)  # a damaged data file must not hang or crash the HDF5 library
        try:
            dataset = _Frames(target, h5py.File(target, "r")[inside])  # stays open while the array is read
            per_block = max(1, chunking.BLOCK_BYTES // max(1, int(np.prod(dataset.shape[1:])) * dataset.dtype.itemsize))
            stack = da.from_array(dataset, chunks=(per_block, -1, -1), asarray=False)
            np.asarray(stack[-1])  # decode one frame now: a missing filter or a truncated file fails here
        except ConversionError:
            raise
        except Exception as exc:
            reason = f"its data file {target.name} cannot be read: truncated or damaged ({type(exc).__name__}: {exc})"
            raise ConversionError(path, reason) from exc
        if stack.ndim != 3:
            raise ConversionError(path, f"its data file {target.name} holds {stack.ndim}-D data, not a frame stack")
        stacks.append(stack)
    if len({s.shape[1:] for s in stacks}) > 1:
        raise ConversionError(path, "its data files hold frames of different sizes")
    return stacks[0] if len(stacks) == 1 else da.concatenate(stacks)


class _Frames:
    """A data file's frame dataset whose damaged chunks, met while the data is written, end the
    conversion with one clear error naming the file (the HDF5 filter's error otherwise)."""

    def __init__(self, path: Path, dataset: Any):
        self.path, self.dataset = path, dataset
        self.shape, self.dtype, self.ndim = dataset.shape, dataset.dtype, dataset.ndim

    def __getitem__(self, key: Any) -> np.ndarray:
        try:
            return self.dataset[key]
        except Exception as exc:
            reason = f"holds frames that cannot be decoded: damaged ({type(exc).__name__}: {exc})"
            raise ConversionError(self.path, reason) from exc


def _shaped(frames: Any, side: dict[str, Any] | None, path: Path, warnings: list[str]) -> tuple[Any, int]:
    """(scan y, scan x, ky, kx) frames and the number of scan axes (2, or 1 for a plain stack)."""
    count = int(frames.shape[0])
    rows, columns = _scan_size(side)
    if rows is None or columns is None:
        side_count = None
        root = math.isqrt(count)
        if root * root != count:
            warnings.append(f"{path.name}: {count} frames, no scan size recorded: stored as a frame stack")
            return frames, 1
        rows = columns = root
        warnings.append(f"{path.name}: no scan size recorded; {count} frames taken as a square {root} x {root} scan")
    else:
        side_count = rows * columns
    if side_count is not None and side_count != count:
        if side_count > count or count % columns:
            warnings.append(
                f"{path.name}: the side file's {rows} x {columns} scan does not match the {count} frames "
                "(interrupted acquisition?): stored as a frame stack"
            )
            return frames, 1
        rows = count // columns
    per_block = max(1, int(frames.chunks[0][0]) // columns) * columns
    frames = frames.rechunk((per_block, -1, -1))
    return frames.reshape(rows, columns, *frames.shape[1:]), 2


def _scan_size(side: dict[str, Any] | None) -> tuple[int | None, int | None]:
    if side is None:
        return None, None
    try:
        rows, columns = int(side["NumPixelsY"]), int(side["NumPixelsX"])
    except (KeyError, TypeError, ValueError):
        return None, None
    return (rows, columns) if rows > 0 and columns > 0 else (None, None)


def _axes(shape: tuple[int, ...], scan_axes: int, side: dict[str, Any] | None) -> list[Axis]:
    """Scan axes in nm from the side file's pixel size (else indices); detector axes as indices."""
    step = _number((side or {}).get("Pixel Size"))
    axes = []
    names = _SCAN_NAMES if scan_axes == 2 else ("frame",)
    for name, size in zip(names, shape[:scan_axes], strict=True):
        if step and name != "frame":
            axes.append(Axis(name, step * np.arange(size, dtype=np.float64), "nm", AxisKind.SPACE))
        else:
            axes.append(Axis(name, np.arange(size, dtype=np.float64), "", AxisKind.INDEX))
    for name, size in zip(_DETECTOR_NAMES, shape[scan_axes:], strict=True):
        axes.append(Axis(name, np.arange(size, dtype=np.float64), "", AxisKind.INDEX))
    return axes


def _number(value: Any) -> float | None:
    """A positive, finite side-file number (a pixel size), else None."""
    number = parse_number(value)
    return number if number is not None and number > 0 else None


# ---- metadata trees -------------------------------------------------------------------------
def _side_metadata(path: Path) -> dict[str, Any] | None:
    """The side file's ``STEM Metadata`` attributes (one-element arrays as numbers); None if unreadable."""
    import h5py

    try:
        with h5py.File(path, "r") as h5:
            return {key: _plain(value) for key, value in h5[_SIDE_GROUP].attrs.items()}
    except Exception:
        return None


def _tree(group: Any) -> dict[str, Any]:
    """A group as nested dicts: small datasets as values, ``<name>@units`` for their units; links
    to other files and large arrays described."""
    import h5py

    tree: dict[str, Any] = {}
    for name in group:
        link = group.get(name, getlink=True)
        if isinstance(link, h5py.ExternalLink):
            tree[name] = f"external link to {link.filename}:{link.path}"
            continue
        node = group[name]
        if isinstance(node, h5py.Group):
            tree[name] = _tree(node)
            continue
        tree[name] = _dataset_value(node)
        units = node.attrs.get("units")
        if units is not None:
            tree[f"{name}@units"] = _plain(units)
    return tree


def _dataset_value(dataset: Any) -> Any:
    if dataset.size > MAX_ELEMENTS:
        return f"array {dataset.dtype} {tuple(dataset.shape)}, not copied"
    return _plain(dataset[()])


def _plain(value: Any) -> Any:
    """Bytes as text, one-element arrays and numpy scalars as Python values."""
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(-1)[0]
    if isinstance(value, (bytes, np.bytes_)):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, np.generic):
        return value.item()
    return value
