"""kikuchipy private names this package relies on (written for 0.13.x).

kikuchipy's public pattern readers (``kikuchipy.io.plugins.<format>.file_reader``) are used
directly by the format modules. One reader cannot be used that way for large files: the
Oxford ``.ebsp`` reader hands its memory map to ``dask.array.from_array``, which (dask
2026) copies any array that has a ``copy`` method, i.e. reads every pattern of the file
into memory before anything is written. Its ``OxfordBinaryFileReader`` (``_api``) finds the
same layout, order and memory map without reading the patterns; the format module makes
the lazy array itself. tests/test_format_ebsd_patterns.py compares the result with
kikuchipy's ``file_reader``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, BinaryIO

from . import PrivateNames

DISTRIBUTION = "kikuchipy"
#: The versions this module was written and tested for: >= LOWEST, < BELOW.
LOWEST, BELOW = "0.11", "0.14"

_NAMES = PrivateNames(DISTRIBUTION, "kikuchipy", LOWEST, BELOW)
#: (module, name) of every private kikuchipy name used.
PRIVATE_NAMES: list[tuple[str, str]] = _NAMES.registered
private: Callable[[str, str], Any] = _NAMES.get

_OXFORD = "kikuchipy.io.plugins.oxford_binary._api"
_NAMES.uses(_OXFORD, "OxfordBinaryFileReader")


def oxford_binary_layout(handle: BinaryIO, n_patterns: int) -> Any:
    """kikuchipy's reading of an open ``.ebsp`` file's layout: ``memmap`` (the pattern records),
    ``pattern_order``/``pattern_is_present``, ``navigation_shape``, ``step_sizes``, ``n_patterns``;
    the patterns themselves are not read.

    ``n_patterns``, the length of the offset table, replaces kikuchipy's guess of it
    (``guess_number_of_patterns``: the table ends at the first jump between entries larger
    than 20 patterns of 1344 x 1024 pixels), which a table whose order wraps around in a
    large file ends after its first entry (kikuchipy upstream: the table ends where its
    smallest entry points)."""
    reader = private(_OXFORD, "OxfordBinaryFileReader")

    class KnownLength(reader):
        def guess_number_of_patterns(self, min_assumed_n_pixels: int = 1600) -> int:
            return n_patterns

    return KnownLength(handle)
