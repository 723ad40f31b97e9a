"""Module-level imports that format libraries make for their large-file code paths only, deferred
until something is used from them.

RosettaSciIO's readers import ``dask.array`` (DigitalMicrograph, through ``rsciio.utils.file``),
and ``sparse`` (Velox EDS streams) at module level, for reading large files lazily. Importing
``dask.array`` imports ``sparse`` (and with it ``numba``/``llvmlite``), ``xarray`` (and
``pandas``) and ``scipy.fft`` just to register their array types: about 1 s of CPU, as much as
the whole rest of a small file's conversion, which never uses any of them.

Within :func:`deferred_imports` the *first* import of one of :data:`DEFERRED` creates the module
without running it (:class:`importlib.util.LazyLoader`): ``import dask.array as da`` binds ``da``
at once, and the module's code runs on first attribute access, i.e. when a large file is really
read lazily. Nothing changes but when the import is paid. A module imported before (or used
inside the context) is the real one, as always. (Before Python 3.12 a lazy module must not be
first used by two threads at once; the first use is the reading thread's, before dask starts any.)

A submodule imported while its deferred package has not run yet (``import dask.array.core``
with a lazy ``dask.array``) makes the import system run the package on its way (it reads the
package's ``__path__``), and the package imports that very submodule; the import system,
having checked ``sys.modules`` before, would then run the submodule a second time, leaving two
``dask.array.core`` modules whose ``Array`` classes differ (dask's ``map_blocks`` then rejects
its own arrays). :class:`_ReuseImported`, installed with the first deferral and kept for the
process (a lazy module may be first used after the context), hands back the submodule
already imported instead.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager

#: Modules whose import is deferred to first use within :func:`deferred_imports`.
DEFERRED: tuple[str, ...] = ("dask.array", "sparse", "xarray", "numba")

_lock = threading.Lock()
_depth = 0


class WrappingFinder(importlib.abc.MetaPathFinder):
    """Finds the modules ``names`` as the normal path finder does, their loader wrapped by ``wrap``
    (an import hook on those modules only; put it first on ``sys.meta_path`` while it applies)."""

    def __init__(self, names: Iterable[str], wrap: Callable[[importlib.abc.Loader], importlib.abc.Loader]):
        self.names, self.wrap = frozenset(names), wrap

    def find_spec(self, name, path, target=None):
        if name not in self.names:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or not hasattr(spec.loader, "exec_module"):
            return None
        spec.loader = self.wrap(spec.loader)
        return spec


class _ReuseImported(importlib.abc.MetaPathFinder):
    """A submodule of a deferred package that is in ``sys.modules`` by the time the import system
    looks for it (its package imported it while being run) is that module, not a second copy."""

    def __init__(self, names: Sequence[str]):
        self.prefixes = tuple(f"{name}." for name in names)

    def find_spec(self, name, path, target=None):
        module = sys.modules.get(name)
        if module is None or target is not None or not name.startswith(self.prefixes):
            return None
        return importlib.machinery.ModuleSpec(name, _Imported(module))


class _Imported(importlib.abc.Loader):
    """Loads a module that is imported already: the module itself, its own spec kept."""

    def __init__(self, module):
        self.module, self.spec = module, module.__spec__

    def create_module(self, spec):
        return self.module

    def exec_module(self, module) -> None:
        module.__spec__ = self.spec  # the import system set the spec it was given


_finder = WrappingFinder(DEFERRED, importlib.util.LazyLoader)
_reuse = _ReuseImported(DEFERRED)


@contextmanager
def deferred_imports() -> Iterator[None]:
    """Within the context, first imports of :data:`DEFERRED` modules run on first use (re-entrant)."""
    global _depth
    with _lock:
        if _reuse not in sys.meta_path:
            sys.meta_path.insert(0, _reuse)
        if _depth == 0:
            sys.meta_path.insert(0, _finder)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                sys.meta_path.remove(_finder)


def is_loaded(name: str) -> bool:
    """Whether module ``name`` was imported and its code has run (not merely deferred)."""
    module = sys.modules.get(name)
    return module is not None and not isinstance(module, importlib.util._LazyModule)
