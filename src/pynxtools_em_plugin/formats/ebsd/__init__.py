"""EBSD orientation maps (and the Kikuchi patterns stored with them), recognised by content.

One format family with one dispatcher, like ``formats/tiff/``: every flavour reads into the
same :class:`~pynxtools_em_plugin.model.OrientationMap` and the same two signals (the map,
plotted as its best vendor quality measure, and the patterns when the file has them), and the
vendor trees of the flavours use disjoint keys, so one mapping table (``mapping/tables/ebsd.json``)
maps them all, one block per flavour. Which flavour wrote a file is decided from its content:

=========================  ====================  ==========================================
flavour                    module                evidence
=========================  ====================  ==========================================
EDAX/TSL ``.ang``          ``ang``               ``#`` header with OIM keys (x-star, GRID...)
Oxford Channel 5 ``.ctf``  ``ctf``               first line "Channel Text File"
EDAX OIM/APEX h5ebsd       ``edax_h5ebsd``       HDF5, root ``Manufacturer`` "EDAX"
Bruker Esprit h5ebsd       ``bruker_h5ebsd``     HDF5, root ``Manufacturer`` "Bruker Nano"
Oxford AZtec ``.h5oina``   ``h5oina``            HDF5, root ``Manufacturer`` "Oxford Instruments"
=========================  ====================  ==========================================

**Vendor tree.** orix and kikuchipy return no header tree for orientation maps, so each flavour
parses its header itself and stores it, values as written, under one block of its own
(:data:`PARSED_VENDOR_BLOCKS`): ``ang_header``, ``ctf_header``, ``hdf5_header`` (the root
manufacturer/version datasets and the header groups).

kikuchipy's own h5ebsd files and EMsoft's HDF5 (pattern files) are other formats' (their
``Manufacturer`` is "kikuchipy" / absent). orix and kikuchipy are imported by the flavour
modules' ``read`` only.
"""

from __future__ import annotations

from pathlib import Path

from ...model import Signal
from ...parsing import read_head
from .. import HDF5_MAGIC
from . import ang, bruker_h5ebsd, ctf, edax_h5ebsd, h5oina

NAME = "ebsd"
TITLE = "EBSD orientation map (ANG, CTF, h5ebsd, h5oina)"
EXTENSIONS = (".ang", ".ctf", ".h5", ".hdf5", ".h5ebsd", ".h5oina")

PARSED_VENDOR_BLOCKS = ("ang_header", "ctf_header", "hdf5_header")

_HDF5_FLAVOURS = {m.MANUFACTURER.lower(): m for m in (edax_h5ebsd, bruker_h5ebsd, h5oina)}


def sniff(path: Path, head: bytes) -> bool:
    return _flavour(path, head) is not None


def read(path: Path, companions: list[Path]) -> list[Signal]:
    flavour = _flavour(path, read_head(path))
    if flavour is None:  # the registry sniffed it: only a file changed meanwhile gets here
        from ...errors import ConversionError

        raise ConversionError(path, "is no longer an EBSD file")
    return flavour.read(path)


def _flavour(path: Path, head: bytes):
    if head.startswith(HDF5_MAGIC):
        from ._h5 import manufacturer

        found = manufacturer(path)
        return _HDF5_FLAVOURS.get(found[0].strip().lower()) if found else None
    if ang.sniff(head):
        return ang
    if ctf.sniff(head):
        return ctf
    return None
