"""One NXDL tree per process instead of two per converted file.

pynxtools builds the NexusNode tree of NXem from the NXDL files twice per
conversion (the template, then the validation): about 0.5 s of the 0.9 s a small
file costs in a warm process, more than the file's own reading. A batch process
(``em-plugin convert``) builds each tree once: :func:`shared_nxdl_trees` gives
pynxtools' template generation and its validation each their own cached tree
(built on first use, inherited by forked workers). pynxtools extends a tree
lazily as it resolves names, always with nodes of the same definition, so a
tree extended by an earlier file describes the same definition for the next;
tests/test_trees.py checks that outputs and warnings stay those of a fresh
conversion.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

#: pynxtools modules that call ``generate_tree_from`` per conversion.
_USERS = ("pynxtools.dataconverter.helpers", "pynxtools.dataconverter.validation")


@contextmanager
def shared_nxdl_trees() -> Iterator[None]:
    """Within this context, each user module gets one tree per (definition, options)."""
    import importlib

    modules = [importlib.import_module(name) for name in _USERS]
    originals = [module.generate_tree_from for module in modules]
    for module, original in zip(modules, originals, strict=True):
        module.generate_tree_from = _cached(original)
    try:
        yield
    finally:
        for module, original in zip(modules, originals, strict=True):
            module.generate_tree_from = original


def _cached(generate: Callable[..., Any]) -> Callable[..., Any]:
    trees: dict[tuple, Any] = {}

    def generate_tree_from(nxdl: str, set_root_attr: bool = True) -> Any:
        key = (nxdl, set_root_attr)
        if key not in trees:
            trees[key] = generate(nxdl, set_root_attr)
        return trees[key]

    return generate_tree_from
