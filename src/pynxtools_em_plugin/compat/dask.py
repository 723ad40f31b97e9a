"""dask behaviour this package works around (written for dask 2024.x-2026.x).

``dask.array.from_array`` copies any array that has a ``copy`` method before wrapping it
(``x = x.copy()``, dask 2026.8): a memory map handed to it, or to ``da.asarray`` /
``da.concatenate`` (which call it), is read whole into anonymous memory at once, as the
RosettaSciIO TVIPS reader and kikuchipy's EDAX/Oxford pattern readers do in their lazy mode.
:func:`memmaps_stay_on_file` makes such a call wrap a read-only file memory map block by
block instead (``chunking.lazy_memmap``); every other array goes to dask unchanged. It replaces
``dask.array.core.from_array`` (and ``dask.array.from_array``) while a reader runs; upstream, a
memory map should not be copied (it cannot change under dask when opened read-only).
tests/test_lazy_memory.py checks that dask still copies (so that this is still needed) and that
lazy reads of large files stay on file.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ..chunking import is_file_memmap, lazy_memmap
from . import PrivateNames

DISTRIBUTION = "dask"
#: The versions this module was written and tested for: >= LOWEST, < BELOW.
LOWEST, BELOW = "2024.1", "2027"

_NAMES = PrivateNames(DISTRIBUTION, "dask", LOWEST, BELOW)
#: (module, name) of every dask name replaced here.
PRIVATE_NAMES: list[tuple[str, str]] = _NAMES.registered
private: Callable[[str, str], Any] = _NAMES.get
version_supported: Callable[[], bool] = _NAMES.version_supported
_CORE = "dask.array.core"
_NAMES.uses(_CORE, "from_array")
_NAMES.uses("dask.array", "from_array")

_lock = threading.Lock()
_active = 0
_original: Callable[..., Any] | None = None


@contextmanager
def memmaps_stay_on_file() -> Iterator[None]:
    """While inside, ``dask.array.from_array`` wraps read-only file memory maps without copying them
    (nested and concurrent uses share one replacement, removed when the last one leaves)."""
    global _active, _original
    import dask.array
    import dask.array.core as core  # one module even under a deferred dask.array (lazy_imports)

    with _lock:
        if _active == 0:
            _original = private(_CORE, "from_array")
            core.from_array = dask.array.from_array = _from_array
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0:
                core.from_array = dask.array.from_array = _original
                _original = None


def _from_array(x: Any, chunks: Any = "auto", name: Any = None, **options: Any) -> Any:
    if is_file_memmap(x):
        return lazy_memmap(x, chunks, name=name, **options)
    original = _original or private(_CORE, "from_array")
    return original(x, chunks, name=name, **options)
