"""Turning pynxtools' copies of linked fields back into HDF5 links.

A template value ``{"link": "/entry1/..."}`` should become an HDF5 soft link,
but pynxtools 0.16's template validation replaces it by a copy of the target's
value (with ``@target`` set to the target path, the NeXus mark of a link). Where
em-plugin controls the writing (:func:`pynxtools_em_plugin.conversion.convert`)
each such copy is replaced by a soft link after writing, so a shared setting is
stored once; through plain ``dataconverter`` the copies stay, marked by ``@target``.
"""

from __future__ import annotations

from pathlib import Path


def restore_links(nexus_file: Path) -> int:
    """Replace every dataset whose ``@target`` names another existing dataset by a soft link; how many."""
    import h5py

    with h5py.File(nexus_file, "r+") as h5:
        copies: list[tuple[str, str]] = []

        def collect(name: str, node) -> None:
            target = node.attrs.get("target") if isinstance(node, h5py.Dataset) else None
            if isinstance(target, bytes):
                target = target.decode()
            if isinstance(target, str) and target != node.name and isinstance(h5.get(target), h5py.Dataset):
                copies.append((node.name, target))

        h5.visititems(collect)
        for path, target in copies:
            del h5[path]
            h5[path] = h5py.SoftLink(target)
            h5[target].attrs["target"] = target  # NeXus: a link's target names itself
    return len(copies)
