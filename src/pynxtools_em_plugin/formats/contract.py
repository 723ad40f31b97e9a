"""The format contract: what every module of :mod:`pynxtools_em_plugin.formats` provides.

A format module is a plain Python module registered by one line in
``formats/__init__.py`` (:data:`~pynxtools_em_plugin.formats.FORMAT_MODULES`). It
recognises its files by content and reads them into :class:`~pynxtools_em_plugin.model.Signal`
objects; it knows nothing of mapping tables, NeXus or NOMAD (tests/test_layers.py).

Required (:class:`FormatModule`)
    ``NAME``        short name; also the name of its mapping table ``mapping/tables/<NAME>.json``.
    ``TITLE``       what a microscopist calls the format (messages, ``em-plugin formats``).
    ``EXTENSIONS``  usual file endings: informative only, detection is by content.
    ``sniff(path, head) -> bool``
                    whether ``path`` is of this format, from ``head`` (its first
                    :data:`~pynxtools_em_plugin.formats.HEAD_SIZE` bytes) and at most a cheap look
                    into the file (HDF5 layout). Never raises; never imports a format library.
    ``read(path, companions) -> list[Signal]``
                    every signal of the file, ``companions`` being what :func:`companions`
                    returned. Raises :class:`~pynxtools_em_plugin.errors.ConversionError`
                    (naming the file and the reason) for a file it cannot read; anything
                    else it reports as signal warnings. ``Signal.metadata`` is the vendor tree
                    as the format library returned it; what the module computes goes to
                    ``Signal.derived``. Format libraries are imported here, not at module level.

Optional constant
    ``PARSED_VENDOR_BLOCKS``  top-level keys that a module adds to the library's vendor tree because
                    they hold vendor-written blocks the library does not parse (e.g. a TIFF's FEI INI
                    text), values as the vendor wrote them; tests/test_vendor_metadata.py allows
                    exactly these next to the library's tree. Default: none.

Optional hooks (:class:`OptionalHooks`; the registry supplies the defaults)
    ``companions(path, candidates) -> list[Path]``
                    files among ``candidates`` read together with ``path`` (a TIA ``.emi``'s
                    ``_N.ser``, a ``.mib``'s ``.hdr``). Default: none. A companion is never a
                    main file of its own: the grouping (:func:`~pynxtools_em_plugin.formats.group`)
                    drops it from the list of acquisitions.
    ``lone_companion(path) -> str | None``
                    for a file this format recognises but that holds no data of its own
                    (a ``.hdr`` without its ``.mib``): what the user must pass instead. The
                    registry refuses such a file with that message before ``read``. Default: never.
    ``nomad_claims(path) -> bool``
                    whether NOMAD should make an entry of a recognised file (plain photos and
                    TIFFs without microscope metadata are not EM acquisitions). Default: yes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

from ..model import Signal

#: The optional hooks and their parameter names (checked by tests/test_format_contract.py).
OPTIONAL_HOOKS: dict[str, tuple[str, ...]] = {
    "companions": ("path", "candidates"),
    "lone_companion": ("path",),
    "nomad_claims": ("path",),
}


@runtime_checkable
class FormatModule(Protocol):
    """What every registered format module provides (see the module docstring)."""

    NAME: str
    TITLE: str
    EXTENSIONS: tuple[str, ...]

    def sniff(self, path: Path, head: bytes) -> bool: ...

    def read(self, path: Path, companions: list[Path]) -> list[Signal]: ...


class OptionalHooks(Protocol):
    """Hooks a format module may define; :mod:`pynxtools_em_plugin.formats` supplies the defaults."""

    def companions(self, path: Path, candidates: list[Path]) -> list[Path]: ...

    def lone_companion(self, path: Path) -> str | None: ...

    def nomad_claims(self, path: Path) -> bool: ...
