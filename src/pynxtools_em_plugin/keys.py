"""Addressing values in metadata trees by '/'-separated keys: one rule for the whole package.

Vendor trees are nested dicts and lists (RosettaSciIO's ``original_metadata``,
our own parsers' trees). A key names a path through them: segments separated by
``/``, ``\\/`` for a slash inside a segment (vendor keys such as ``Beam\\/Spot``),
digits index lists. The mapping tables, anonymisation and the format modules all
use these functions, so a key means the same thing everywhere.

Values this package computes or repairs never go into the vendor tree: they live
in a signal's separate ``derived`` tree (:class:`pynxtools_em_plugin.model.Signal`),
which a key addresses by starting with :data:`DERIVED_ROOT`.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

#: First segment of a key that addresses the derived tree instead of the vendor tree.
DERIVED_ROOT = "@derived"

_KEY_SPLIT = re.compile(r"(?<!\\)/")


class _Missing:
    """The marker for "no value at this key" (distinct from a stored None)."""

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()


def key_segments(key: str) -> list[str]:
    """The segments of a '/'-separated key; ``\\/`` is a slash inside a segment."""
    return [segment.replace("\\/", "/") for segment in _KEY_SPLIT.split(key)]


def join_key(*segments: str) -> str:
    """The key of a path of segments, slashes inside a segment escaped (inverse of :func:`key_segments`)."""
    return "/".join(segment.replace("/", "\\/") for segment in segments)


def lookup(tree: Any, key: str) -> Any:
    """The value at ``key`` in nested dicts/lists, or :data:`MISSING`."""
    return lookup_segments(tree, key_segments(key))


def lookup_segments(tree: Any, segments: list[str]) -> Any:
    node = tree
    for segment in segments:
        if isinstance(node, dict) and segment in node:
            node = node[segment]
        elif _is_sequence(node) and segment.isdigit() and int(segment) < len(node):
            node = node[int(segment)]
        else:
            return MISSING
    return node


def lookup_in(vendor: Any, derived: Any, key: str) -> Any:
    """The value at ``key``: in the derived tree when the key starts with ``@derived/``, else in the vendor tree."""
    segments = key_segments(key)
    if segments[0] == DERIVED_ROOT:
        return lookup_segments(derived, segments[1:])
    return lookup_segments(vendor, segments)


def split_by_tree(keys: set[str]) -> tuple[set[str], set[str]]:
    """(vendor-tree keys, derived-tree keys without their ``@derived/`` prefix)."""
    prefix = f"{DERIVED_ROOT}/"
    return {k for k in keys if not k.startswith(prefix)}, {k.removeprefix(prefix) for k in keys if k.startswith(prefix)}


def put(tree: dict[str, Any], key: str, value: Any) -> None:
    """Store ``value`` at ``key`` in nested dicts, creating the dicts on the way (overwrites)."""
    segments = key_segments(key)
    node = tree
    for segment in segments[:-1]:
        child = node.get(segment)
        if not isinstance(child, dict):
            child = node[segment] = {}
        node = child
    node[segments[-1]] = value


def find_key(tree: Any, name: str) -> Any:
    """The value of the first dict key called ``name`` anywhere in ``tree`` (depth first), or MISSING."""
    if isinstance(tree, dict):
        if name in tree:
            return tree[name]
        children = tree.values()
    elif isinstance(tree, (list, tuple)):
        children = tree
    else:
        return MISSING
    for child in children:
        found = find_key(child, name)
        if found is not MISSING:
            return found
    return MISSING


def _is_sequence(node: Any) -> bool:
    return isinstance(node, (list, tuple)) or (isinstance(node, np.ndarray) and node.ndim == 1)
