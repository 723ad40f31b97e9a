"""Digital Surf (MountainsMap) files (``.sur``, ``.pro``): here Attolight cathodoluminescence maps and spectra.

Parsing is RosettaSciIO's (``rsciio.digitalsurf``): the 512-byte object header
(object type, sizes, axis spacings, offsets and units, the spectral axis), the
zlib-compressed data blocks of ``DSCOMPRESSED`` files, and the comment, whose
Attolight acquisition settings (``$key = value`` lines in ``$_SEM``,
``$_CCD``, ``$_SPECTROMETER``, ``$_SCAN`` blocks) RosettaSciIO parses into
``Object_0_Channel_0/Parsed/<block>`` with a ``<key>_units`` entry beside each
number; the mapping table reads those. ``Signal.metadata`` is RosettaSciIO's
``original_metadata``. The spectral axis is written in mm (``H59_T_Step_Unit``):
a wavelength by its name, stored in nm.
"""

from __future__ import annotations

from pathlib import Path

from ..model import Signal
from ._rsciio import call_reader, signals_from_rsciio

NAME = "digitalsurf"
TITLE = "Digital Surf (MountainsMap)"
EXTENSIONS = (".sur", ".pro")

_SIGNATURES = (b"DIGITAL SURF", b"DSCOMPRESSED")


def sniff(path: Path, head: bytes) -> bool:
    return head.startswith(_SIGNATURES)


def read(path: Path, companions: list[Path]) -> list[Signal]:
    from rsciio.digitalsurf import file_reader

    dicts = call_reader(path, TITLE, file_reader)
    return signals_from_rsciio(dicts, path, NAME)
