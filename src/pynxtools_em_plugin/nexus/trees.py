"""One NXDL tree per process instead of two per converted file; NXDL look-ups of the writer memoised.

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

pynxtools' writer also resolves the NXDL concept of every group it writes
(``get_node_at_nxdl_path``) on a fresh deep copy of the definition, so pynxtools'
own cache of that walk never hits: a third of the writing time of a small file.
Within the context the writer's look-ups are memoised by (path, definition);
the writer only reads the node it gets (its XML attributes and attribute
children), and the same path of the same definition always resolves to the same
concept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

#: pynxtools modules that call ``generate_tree_from`` per conversion.
_USERS = ("pynxtools.dataconverter.helpers", "pynxtools.dataconverter.validation")
_WRITER = "pynxtools.dataconverter.writer"


@contextmanager
def shared_nxdl_trees() -> Iterator[None]:
    """Within this context, each user module gets one tree per (definition, options)."""
    import importlib

    modules = [importlib.import_module(name) for name in _USERS]
    originals = [module.generate_tree_from for module in modules]
    writer = importlib.import_module(_WRITER)
    original_lookup = writer.get_node_at_nxdl_path
    for module, original in zip(modules, originals, strict=True):
        module.generate_tree_from = _cached(original)
    writer.get_node_at_nxdl_path = _memoised_lookup(original_lookup)
    try:
        yield
    finally:
        for module, original in zip(modules, originals, strict=True):
            module.generate_tree_from = original
        writer.get_node_at_nxdl_path = original_lookup


def _cached(generate: Callable[..., Any]) -> Callable[..., Any]:
    trees: dict[tuple, Any] = {}

    def generate_tree_from(nxdl: str, set_root_attr: bool = True) -> Any:
        key = (nxdl, set_root_attr)
        if key not in trees:
            trees[key] = generate(nxdl, set_root_attr)
        return trees[key]

    return generate_tree_from


def _memoised_lookup(lookup: Callable[..., Any]) -> Callable[..., Any]:
    """``get_node_at_nxdl_path`` answering each (path, definition) once, its error included."""
    from pynxtools.definitions.dev_tools.utils.nxdl_utils import NxdlAttributeNotFoundError

    found: dict[tuple, tuple[Any, Exception | None]] = {}

    def get_node_at_nxdl_path(nxdl_path=None, nx_name=None, elem=None, exc=True):
        key = (nxdl_path, nx_name, None if elem is None else elem.get("name"), exc)
        if key not in found:
            try:
                found[key] = (lookup(nxdl_path, nx_name, elem, exc), None)
            except NxdlAttributeNotFoundError as error:
                found[key] = (None, error)
        node, error = found[key]
        if error is not None:
            raise error
        return node

    return get_node_at_nxdl_path
