"""Ripple (Lispix) raw data: a ``.rpl`` text header and its headerless ``.raw`` binary.

Parsing is RosettaSciIO's (``rsciio.ripple``): the tab-separated ``key value``
header (width, height, depth, data type and length, byte order, record-by, per-axis
name/scale/origin/units, and the keys HyperSpy adds: beam energy, angles, signal
type, date, time, title) and the ``.raw`` it names by the header's stem. A user
passes both files: the ``.raw`` is the ``.rpl``'s companion (:func:`companions`);
a ``.raw`` is recognised only beside a Ripple header of the same stem, and alone
it is refused with what to pass instead (:func:`lone_companion`).

A ``.raw`` larger than :data:`~._rsciio.LAZY_MIN_BYTES` (a spectrum image: GBs) is read
lazily, as a memory map in dask blocks.

``Signal.metadata`` is RosettaSciIO's ``original_metadata`` (the header keys).
``Signal.derived``: ``start`` (the header's date and time, local time without zone).
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ConversionError
from ..model import Signal
from ..parsing import read_head
from ._rsciio import call_reader, lazily, signals_from_rsciio, worth_reading_lazily
from .semper import general_start

NAME = "ripple"
TITLE = "Ripple (Lispix) .rpl + .raw"
EXTENSIONS = (".rpl", ".raw")

#: Header keys every Ripple header has (RosettaSciIO's reader needs them).
_REQUIRED_KEYS = ("width", "height", "depth", "data-type", "data-length", "byte-order", "record-by")
_RAW = ".raw"


def sniff(path: Path, head: bytes) -> bool:
    """A Ripple header; or its ``.raw`` (no signature of its own), when the header of the same stem is beside it."""
    if path.suffix.lower() == _RAW:
        header = _header_of(path)
        return header is not None and _is_header(read_head(header))
    return _is_header(head)


def _is_header(head: bytes) -> bool:
    keys = {line.split("\t", 1)[0].strip().lower() for line in head.decode("latin-1").splitlines() if "\t" in line}
    return all(key in keys for key in _REQUIRED_KEYS)


def _header_of(raw: Path) -> Path | None:
    for suffix in (".rpl", ".RPL"):
        header = raw.with_suffix(suffix)
        if header.is_file():
            return header
    return None


def companions(path: Path, candidates: list[Path]) -> list[Path]:
    if path.suffix.lower() == _RAW:
        return []
    raw = {path.with_suffix(s).resolve() for s in (".raw", ".RAW")}
    return [c for c in candidates if c.resolve() in raw]


def lone_companion(path: Path) -> str | None:
    if path.suffix.lower() != _RAW:
        return None
    return f"is the raw data of a Ripple file and has no header of its own; convert '{path.stem}.rpl' (with this file)"


def read(path: Path, companions: list[Path]) -> list[Signal]:
    from rsciio.ripple import file_reader

    raws = [raw for raw in (path.with_suffix(_RAW), path.with_suffix(".RAW")) if raw.is_file()]
    if not raws:
        raise ConversionError(path, f"is a Ripple header; its data file '{path.stem}{_RAW}' is missing beside it")
    reader = lazily(file_reader, signal_dims=1) if worth_reading_lazily(raws[0]) else file_reader
    dicts = call_reader(path, TITLE, reader)
    return signals_from_rsciio(dicts, path, NAME, derive=general_start)
