"""Bruker Esprit ``.bcf`` spectrum images and ``.spx`` spectra.

Parsing is RosettaSciIO's (``rsciio.bruker``). A ``.bcf`` is an SFS container
(magic ``AAMVHFSS``) holding an XML header, the SEM/STEM images recorded with
the map and one or more EDS spectrum images; a ``.spx`` is one EDS spectrum as
XML (root element ``<TRTSpectrum>``). Recognition is by content; the reader is
chosen by content too (RosettaSciIO's ``file_reader`` would go by extension).

Spectrum images are read lazily (``lazy=True``): the hypermap is decoded when
the NeXus file is written, and a decoding failure then is one ConversionError
(:class:`_DecodedOnWrite`), as for any damaged file.

Corrections and additions, pinned by tests:

* RosettaSciIO 0.15 scales *both* navigation axes of a spectrum image with the
  pixel height ``DY``; the width axis gets the pixel width ``DX`` here.
* ``Signal.metadata`` is RosettaSciIO's ``original_metadata`` (the XML header).
  ``Signal.derived`` holds ``rosettasciio_metadata`` (its normalised metadata:
  the file header's date and time, which the images lack and get from the file
  header here, the element list of the map, the map's real time it computes),
  ``atom_types`` (the comma-separated elements) and ``dwell_time`` =
  ``PixelAverage`` x ``PixelTime`` in µs (the per-pixel time RosettaSciIO also
  uses for the map's real time): what the mapping table cannot compute.
* A ``.bcf`` spectrum-image stream is walked before decoding (``_bcf_check``):
  RosettaSciIO's decoder has no bounds checks and crashes the process on a
  truncated or damaged file.
* ``.spx``: RosettaSciIO drops the sample-information block (sample name and
  description) and the spectrum description; they are read here from the XML
  text (ElementTree) into ``Signal.derived``: ``sample_information``
  (``Name``, ``Description``) and ``spectrum_description``.

RosettaSciIO's ``.bcf``/``.spx`` readers and its container reader are private
names, used through :mod:`pynxtools_em_plugin.compat.rsciio`.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Any

import numpy as np

from ..compat.rsciio import bcf_hypermap_streams, read_bcf, read_spx
from ..errors import ConversionError
from ..model import Signal
from . import read_head
from ._bcf_check import DamagedStream, check_hypermap
from ._rsciio import call_reader, normalised_metadata, signal_from_rsciio, vendor_tree

NAME = "bruker"
TITLE = "Bruker Esprit"
EXTENSIONS = (".bcf", ".spx")

_BCF_MAGIC = b"AAMVHFSS"
_SPX_ROOT = re.compile(rb"<TRTSpectrum[\s>]")
_XML_LEAD = b"\xef\xbb\xbf \t\r\n"


def sniff(path: Path, head: bytes) -> bool:
    return is_bcf(head) or is_spx(head)


def is_bcf(head: bytes) -> bool:
    return head.startswith(_BCF_MAGIC)


def is_spx(head: bytes) -> bool:
    """XML whose root element is ``<TRTSpectrum>`` (a bcf header is ``<TRTSpectrumDatabase>``)."""
    text = head.lstrip(_XML_LEAD)
    return text.startswith(b"<") and _SPX_ROOT.search(text) is not None


def read(path: Path, companions: list[Path]) -> list[Signal]:
    if is_bcf(read_head(path)):
        return _read_bcf(path)
    return _read_spx(path)


# ---- .bcf ---------------------------------------------------------------
def _read_bcf(path: Path) -> list[Signal]:
    dicts = call_reader(path, TITLE, read_bcf, lazy=True, index="all")
    _check_spectrum_images(path)
    header = _file_header(dicts)
    signals = []
    for index, entry in enumerate(dicts):
        if _is_spectrum_image(entry):
            _fix_width_scale(entry)
            entry["data"] = _DecodedOnWrite(entry["data"], path)
        title = str(normalised_metadata(entry).get("General", {}).get("title") or "")
        context = f"signal {index} ({title})" if title else f"signal {index}"
        signals.append(signal_from_rsciio(entry, path, NAME, context=context, derived=_derived(entry, header)))
    return signals


def _check_spectrum_images(path: Path) -> None:
    """Refuse a damaged hypermap stream before RosettaSciIO's unchecked decoder reads it (see ``_bcf_check``)."""
    try:
        rows, columns, streams = bcf_hypermap_streams(str(path))
        for index, blocks, block_size in streams:
            _check_stream(path, index, blocks, block_size, rows, columns)
    except ConversionError:
        raise
    except Exception as exc:  # the container reader raises anything on damaged bytes
        detail = f"{type(exc).__name__}: {exc}"
        raise ConversionError(path, f"looks like {TITLE} but cannot be read: truncated or damaged ({detail})") from exc


def _check_stream(path: Path, index: int, blocks: Any, block_size: int, rows: int, columns: int) -> None:
    try:
        check_hypermap(blocks, block_size, rows, columns)
    except DamagedStream as exc:
        raise ConversionError(path, f"looks like {TITLE} but its spectrum image {index} is damaged: {exc}") from exc


def _is_spectrum_image(entry: dict[str, Any]) -> bool:
    return len(entry.get("axes", [])) == 3 and str(entry["axes"][-1].get("units")) == "keV"


def _file_header(dicts: list[dict[str, Any]]) -> dict[str, Any]:
    """Date and time of the bcf header; RosettaSciIO puts them on the spectrum images only."""
    for entry in dicts:
        general = entry.get("metadata", {}).get("General", {})
        if general.get("date"):
            return {key: general[key] for key in ("date", "time") if general.get(key)}
    return {}


def _fix_width_scale(entry: dict[str, Any]) -> None:
    """Width axis of a spectrum image: pixel width DX (RosettaSciIO 0.15 uses DY for both)."""
    pixel_width = vendor_tree(entry).get("Microscope", {}).get("DX")
    width = entry["axes"][1]
    if pixel_width is not None and width.get("units") == "µm":
        width["scale"] = float(pixel_width)


class _DecodedOnWrite:
    """A lazily decoded spectrum image whose decoding errors become one ConversionError."""

    def __init__(self, array: Any, path: Path):
        self._array = array
        self._path = path

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(int(n) for n in self._array.shape)

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self._array.dtype)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __getitem__(self, key: Any) -> np.ndarray:
        return self._decode(self._array[key])

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        values = self._decode(self._array)
        return values if dtype is None else values.astype(dtype)

    def _decode(self, array: Any) -> np.ndarray:
        try:
            return np.asarray(array.compute() if hasattr(array, "compute") else array)
        except MemoryError as exc:
            raise ConversionError(self._path, "spectrum image does not fit in memory") from exc
        except Exception as exc:  # the hypermap decoder raises anything on damaged bytes
            detail = f"{type(exc).__name__}: {exc}"
            raise ConversionError(
                self._path, f"looks like {TITLE} but its spectrum image cannot be decoded ({detail})"
            ) from exc


# ---- .spx ---------------------------------------------------------------
def _read_spx(path: Path) -> list[Signal]:
    dicts = call_reader(path, TITLE, read_spx)
    extras = _spx_extras(path)
    signals = []
    for index, entry in enumerate(dicts):
        derived = {**_derived(entry, {}), **extras}
        signals.append(signal_from_rsciio(entry, path, NAME, context=f"signal {index}", derived=derived))
    return signals


def _spx_extras(path: Path) -> dict[str, Any]:
    """Sample information and spectrum description, which RosettaSciIO does not return."""
    from xml.etree import ElementTree

    try:
        root = ElementTree.fromstring(path.read_bytes())
    except (OSError, ElementTree.ParseError):
        return {}
    spectrum = root.find("./ClassInstance[@Type='TRTSpectrum']")
    if spectrum is None:
        return {}
    extras: dict[str, Any] = {}
    description = spectrum.findtext("./TRTHeaderedClass/TRTBase/Description")
    if description:
        extras["spectrum_description"] = description.strip()
    sample = spectrum.find(".//ClassInstance[@Type='TSampleInformation']")
    if sample is not None:
        info = {"Name": sample.get("Name"), "Description": sample.findtext("./TRTBase/Description")}
        extras["sample_information"] = {key: value.strip() for key, value in info.items() if value}
    return extras


# ---- derived values ---------------------------------------------------------
def _derived(entry: dict[str, Any], header: dict[str, Any]) -> dict[str, Any]:
    """RosettaSciIO's normalised metadata (with the file header's date and time) and the
    values the table cannot compute."""
    normalised = {
        key: dict(value) if isinstance(value, dict) else value for key, value in normalised_metadata(entry).items()
    }
    general = normalised.setdefault("General", {})
    for key, value in header.items():
        general.setdefault(key, value)
    derived: dict[str, Any] = {"rosettasciio_metadata": normalised}
    elements = normalised.get("Sample", {}).get("elements")
    if elements:
        derived["atom_types"] = ", ".join(str(element) for element in elements)
    dsp = vendor_tree(entry).get("DSP Configuration", {})
    with contextlib.suppress(KeyError, TypeError, ValueError):
        derived["dwell_time"] = float(dsp["PixelAverage"]) * float(dsp["PixelTime"])
    return derived
