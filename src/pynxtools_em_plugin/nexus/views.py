"""Viewer hints written after pynxtools has written the file: how H5Web first draws each NXdata.

H5Web (the viewer NOMAD embeds) reads NeXus' ``@interpretation`` on an NXdata's
signal field (``image``, ``spectrum``, ``rgb-image``). NXdata in pynxtools 0.16's
NeXus definitions does not document it, so template validation would report each
one as undocumented to the user; the hints are therefore noted while the template
is built and added to the written file (by :func:`pynxtools_em_plugin.conversion.convert`,
which also streams large arrays and restores links). Validating the written file
still notes them as undocumented attributes (a warning, not an error). Through
plain ``dataconverter`` the hints are absent and H5Web chooses by rank.

H5Web's ``SILX_style`` attribute (a log intensity scale) is not written: pynxtools
reports the ``SILX_`` prefix as an error in NXem; diffraction previews carry
log-compressed values instead (:mod:`.preview`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from .paths import hdf5_path

_hints: ContextVar[dict[str, dict[str, str]] | None] = ContextVar("em_plugin_view_hints", default=None)


@contextmanager
def collected_view_hints() -> Iterator[dict[str, dict[str, str]]]:
    """Within this context, viewer hints are collected; yields {template path: {attribute: value}}."""
    hints: dict[str, dict[str, str]] = {}
    token = _hints.set(hints)
    try:
        yield hints
    finally:
        _hints.reset(token)


def note_view(template_path: str, attributes: dict[str, str]) -> None:
    """Hints for the group or field at ``template_path``; dropped when no conversion collects them."""
    hints = _hints.get()
    if hints is not None and attributes:
        hints.setdefault(template_path, {}).update(attributes)


def write_view_hints(nexus_file: Path, hints: dict[str, dict[str, str]]) -> None:
    """The collected hints as attributes of the written file."""
    if not hints:
        return
    import h5py

    with h5py.File(nexus_file, "r+") as h5:
        for template_path, attributes in hints.items():
            node = h5.get(hdf5_path(template_path))
            if node is not None:
                node.attrs.update(attributes)
