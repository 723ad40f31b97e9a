"""pynxtools internals and behaviours this package relies on (written for 0.16.x).

Documented pynxtools API is used directly where it is needed: the reader base
class (``pynxtools.dataconverter.readers.base.reader.BaseReader``), the unit
registry (``pynxtools.units.ureg``) and the NOMAD entry points
(``pynxtools.nomad.parsers:nexus_parser``). Everything below reaches into the
dataconverter's modules: its conversion steps (filling and validating a
template, writing it), the NXDL tree building and look-ups it repeats (shared
and memoised here, monkeypatched within a context), the unbounded cache it
leaks, the logger its validation reports on, and its copying of linked values
(undone by :mod:`..nexus.links`). Each name is listed in :data:`PRIVATE_NAMES`;
tests/test_compat_pynxtools.py resolves every one and checks the behaviours.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from functools import partial
from pathlib import Path
from typing import Any

from . import PrivateNames, UpstreamChanged, in_range, installed_version

__all__ = [
    "BELOW",
    "CAPTURED_LOGGERS",
    "LOWEST",
    "PRIVATE_NAMES",
    "TemplateNotValid",
    "UpstreamChanged",
    "captured_warnings",
    "filled_template",
    "import_converter",
    "in_range",
    "install_warning_capture",
    "installed_version",
    "memoise_next_write",
    "memoised_nexus_lookups",
    "nxdl_definition",
    "private",
    "release_nxdl_path_cache",
    "shared_nxdl_trees",
    "version_supported",
    "write_template",
]

DISTRIBUTION = "pynxtools"
#: The versions this module was written and tested for: >= LOWEST, < BELOW (pyproject pins the same).
LOWEST, BELOW = "0.16", "0.17"

_NAMES = PrivateNames(DISTRIBUTION, "pynxtools", LOWEST, BELOW)
#: (module, name) of every private pynxtools name used (tests/test_compat_pynxtools.py resolves each).
PRIVATE_NAMES: list[tuple[str, str]] = _NAMES.registered
#: ``module.name`` from pynxtools; :class:`UpstreamChanged` if this release no longer has it.
private: Callable[[str, str], Any] = _NAMES.get
version_supported: Callable[[], bool] = _NAMES.version_supported
_uses = _NAMES.uses

_CONVERT = "pynxtools.dataconverter.convert"
_HELPERS = "pynxtools.dataconverter.helpers"
_VALIDATION = "pynxtools.dataconverter.validation"
_WRITER = "pynxtools.dataconverter.writer"
_NXDL_UTILS = "pynxtools.definitions.dev_tools.utils.nxdl_utils"
_XML_UTILS = "pynxtools.definitions.dev_tools.utils.xml_utils"
_NEXUS = "pynxtools.nexus.nexus"


# ---- filling and validating the template --------------------------------------------------
_uses(_CONVERT, "transfer_data_into_template")
_uses(_CONVERT, "ValidationFailed")
_uses(_HELPERS, "get_nxdl_root_and_path")


class TemplateNotValid(Exception):
    """The filled template does not validate against its definition (raised only when asked to fail)."""


def import_converter() -> None:
    """Import pynxtools' converter now (about a second), e.g. once before forking workers that inherit it."""
    private(_CONVERT, "transfer_data_into_template")


def nxdl_definition(nxdl: str) -> tuple[Any, str]:
    """(XML root, file path) of the application definition ``nxdl``, e.g. ``"NXem"``."""
    return private(_HELPERS, "get_nxdl_root_and_path")(nxdl)


def filled_template(
    inputs: Sequence[Path], reader: str, nxdl: str, nxdl_root: Any, *, fail_if_invalid: bool, **reader_options: Any
) -> Any:
    """The template the pynxtools ``reader`` fills from ``inputs``, validated against ``nxdl``.

    This is ``dataconverter`` without the writing. The validation logs its findings as
    warnings on the ``pynxtools`` logger (see :func:`captured_warnings`) and, where a value
    is ``{"link": ...}``, replaces it by a copy of the target marked ``@target``;
    ``reader_options`` (``config_file``, the reader's own options) go to the reader.
    """
    transfer = private(_CONVERT, "transfer_data_into_template")
    validation_failed = private(_CONVERT, "ValidationFailed")
    paths = tuple(str(path) for path in inputs)
    try:
        return transfer(paths, reader, nxdl, nxdl_root, fail=fail_if_invalid, **reader_options)
    except validation_failed as exc:
        raise TemplateNotValid(f"the template does not validate against {nxdl}") from exc


# ---- writing ------------------------------------------------------------------------------
_uses(_HELPERS, "add_default_root_attributes")
_uses(_WRITER, "Writer")


def write_template(template: Any, nxdl_path: str, path: Path, file_name: str) -> None:
    """pynxtools' writer: ``template`` into the new HDF5 file ``path``, with the NXroot attributes
    (``file_name`` is the name recorded, the final one when ``path`` is a temporary file)."""
    private(_HELPERS, "add_default_root_attributes")(data=template, filename=file_name)
    private(_WRITER, "Writer")(data=template, nxdl_f_path=nxdl_path, output_path=str(path)).write()


# ---- NXDL trees shared, writer look-ups memoised ------------------------------------------
#: pynxtools modules that build the NexusNode tree of a definition per conversion.
_TREE_USERS = (_HELPERS, _VALIDATION)
#: The trees :func:`shared_nxdl_trees` built, per user module and (definition, options), for the process.
_TREES: dict[str, dict[tuple, Any]] = {module: {} for module in _TREE_USERS}
_uses(_HELPERS, "generate_tree_from")
_uses(_VALIDATION, "generate_tree_from")
_uses(_WRITER, "get_node_at_nxdl_path")
_uses(_NXDL_UTILS, "NxdlAttributeNotFoundError")


@contextmanager
def shared_nxdl_trees() -> Iterator[None]:
    """One NXDL tree per process instead of two per converted file; the writer's NXDL look-ups memoised.

    pynxtools builds the NexusNode tree of NXem from the NXDL files twice per conversion
    (the template, then the validation): about 0.5 s of the 0.9 s a small file costs in a
    warm process. Within this context each user module gets one tree per (definition,
    options), built on first use, kept for the process (the next context, e.g. the next
    file a NOMAD worker parses, reuses it) and inherited by forked workers. pynxtools extends a tree
    lazily as it resolves names, always with nodes of the same definition, so a tree
    extended by an earlier file describes the same definition for the next
    (tests/test_trees.py: outputs and warnings stay those of fresh conversions).

    The writer resolves the NXDL concept of every group it writes (``get_node_at_nxdl_path``)
    on a fresh deep copy of the definition, so pynxtools' own cache never hits: a third of
    the writing time of a small file. Within the context these look-ups are memoised by
    (path, definition): the writer only reads the node it gets, and the same path of the
    same definition always resolves to the same concept. (Upstream, both belong in
    pynxtools: a cached tree per definition, a look-up that does not deep-copy.)
    """
    with ExitStack() as stack:
        for module in _TREE_USERS:
            stack.enter_context(_replaced(module, "generate_tree_from", partial(_cached, trees=_TREES[module])))
        stack.enter_context(_replaced(_WRITER, "get_node_at_nxdl_path", _memoised_lookup))
        yield


@contextmanager
def _replaced(module: str, name: str, wrap: Callable[[Any], Any]) -> Iterator[None]:
    """``module.name`` replaced by ``wrap(original)`` within the context."""
    original = private(module, name)
    target = importlib.import_module(module)
    setattr(target, name, wrap(original))
    try:
        yield
    finally:
        setattr(target, name, original)


def _cached(generate: Callable[..., Any], trees: dict[tuple, Any]) -> Callable[..., Any]:
    def generate_tree_from(nxdl: str, set_root_attr: bool = True) -> Any:
        key = (nxdl, set_root_attr)
        if key not in trees:
            trees[key] = generate(nxdl, set_root_attr)
        return trees[key]

    return generate_tree_from


#: Attribute marking the functions of ours that memoise pynxtools' writer look-ups.
_MEMOISED = "_em_plugin_memoised"
_write_hook_lock = threading.Lock()


def _memoised_lookup(lookup: Callable[..., Any]) -> Callable[..., Any]:
    """``get_node_at_nxdl_path`` answering each (path, definition) once, its error included."""
    not_found = private(_NXDL_UTILS, "NxdlAttributeNotFoundError")
    found: dict[tuple, tuple[Any, Exception | None]] = {}

    def get_node_at_nxdl_path(nxdl_path=None, nx_name=None, elem=None, exc=True):
        key = (nxdl_path, nx_name, None if elem is None else elem.get("name"), exc)
        if key not in found:
            try:
                found[key] = (lookup(nxdl_path, nx_name, elem, exc), None)
            except not_found as error:
                found[key] = (None, error)
        node, error = found[key]
        if error is not None:
            raise error
        return node

    setattr(get_node_at_nxdl_path, _MEMOISED, True)
    return get_node_at_nxdl_path


def memoise_next_write() -> None:
    """The next ``Writer.write`` of the process (the one ``dataconverter`` is about to run after our
    reader) looks each NXDL concept up once, as in :func:`shared_nxdl_trees`.

    ``dataconverter`` calls the reader, validates and writes; the reader is the only code of
    ours it runs, so it cannot wrap the writing in a context. Instead the writer class gets a
    one-shot ``write`` that puts its own method back first, then writes with the memoised
    look-up (0.2 s of the 0.5 s writing of a small 10-signal Velox file). A conversion that never
    writes (invalid, with ``--fail``) leaves it for the process's next write, which it speeds up
    alike and ends. Nothing is done where the look-up is memoised already (our batches, NOMAD).
    """
    writer = private(_WRITER, "Writer")
    lookup = private(_WRITER, "get_node_at_nxdl_path")
    with _write_hook_lock:
        if getattr(lookup, _MEMOISED, False) or getattr(writer.write, _MEMOISED, False):
            return
        write = writer.write

        def write_once(self: Any, *args: Any, **kwargs: Any) -> Any:
            writer.write = write
            with _replaced(_WRITER, "get_node_at_nxdl_path", _memoised_lookup):
                return write(self, *args, **kwargs)

        setattr(write_once, _MEMOISED, True)
        writer.write = write_once


# ---- the NXDL path cache that never hits --------------------------------------------------
_uses(_NXDL_UTILS, "get_inherited_nodes")


def release_nxdl_path_cache() -> None:
    """Empty the unbounded cache of pynxtools' NXDL path look-up (call before each conversion).

    pynxtools 0.16's writer calls the ``lru_cache(maxsize=None)`` function
    ``get_inherited_nodes`` with a fresh deep copy of the NXDL tree for every group
    it writes, so the cache never hits and keeps every copy: about 15 MB per
    converted file, without bound in a process that converts many files
    (``em-plugin convert``, NOMAD, the fuzz tests). Cleared, memory stays at one
    conversion's worth; nothing is lost, as no entry is ever reused. A release
    without the function or its cache has no such leak: nothing to do then.
    """
    try:
        lookup = private(_NXDL_UTILS, "get_inherited_nodes")
    except UpstreamChanged:  # pragma: no cover - a pynxtools without it has no such leak
        return
    clear = getattr(lookup, "cache_clear", None)
    if clear is not None:
        clear()


# ---- the NeXus parser's look-ups of one file memoised --------------------------------------
#: Functions of an HDF5 node (given as pynxtools' ``hdf_info`` dict) that the NeXus parser's
#: ``get_nxdl_doc`` calls again and again for the same node: the name of the node's application
#: definition, its path of NeXus classes, its parent (each walking up the file from the root).
_PER_NODE = ((_NEXUS, "get_nxdl_entry"), (_NEXUS, "get_nx_class_path"), (_NEXUS, "get_hdf_info_parent"))
#: Functions of a name only: where a definition file is, the parsed XML of a file (already
#: cached by pynxtools under the resolved path: resolving it was the cost).
_PER_NAME = ((_NXDL_UTILS, "find_definition_file"), (_XML_UTILS, "read_xml_file"))
for _module, _name in (*_PER_NODE, *_PER_NAME, (_NEXUS, "_get_inherited_hdf_nodes")):
    _uses(_module, _name)


@contextmanager
def memoised_nexus_lookups() -> Iterator[None]:
    """pynxtools' NeXus parser (``pynxtools.nomad.parsers:nexus_parser``) with its repeated look-ups memoised.

    For every group, field and attribute of a file the parser resolves its NXDL concept
    (``pynxtools.nexus.nexus.get_nxdl_doc``), and each resolution walks the HDF5 file from the
    root again (parent by parent, to find the entry's definition and the path of NeXus classes)
    and checks on disk which folder holds each definition file: 18.6 of the 21.6 s the parser
    took for an 18-event Velox file. Within this context those functions answer each HDF5 node
    (by file, HDF5 name and path) or name once. They only read the HDF5 file, which nobody
    writes while it is parsed, and the definitions folder; the NXDL elements they hand on
    are the ones pynxtools caches itself, so what is parsed stays the same
    (tests/test_compat_pynxtools.py compares every node's resolution with and without).

    On leaving, pynxtools' own unbounded cache of node resolutions (keyed by h5py objects,
    which never match another opening of a file) is emptied: it would otherwise keep every
    node of every file a NOMAD worker parsed.
    """
    with ExitStack() as stack:
        for module, name in _PER_NODE:
            stack.enter_context(_replaced(module, name, _per_hdf_node))
        for module, name in _PER_NAME:
            stack.enter_context(_replaced(module, name, _per_argument))
        try:
            yield
        finally:
            private(_NEXUS, "_get_inherited_hdf_nodes").cache_clear()


def _per_hdf_node(lookup: Callable[[dict], Any]) -> Callable[[dict], Any]:
    """``lookup(hdf_info)`` answered once per node: its file, HDF5 name and the path it was reached by.

    An ``hdf_info`` with more than node and path (pynxtools' ``hdf_root``) is passed through.
    """
    found: dict[tuple, Any] = {}

    def memoised(hdf_info: dict) -> Any:
        if not hdf_info.keys() <= {"hdf_node", "hdf_path"}:
            return lookup(hdf_info)
        node = hdf_info["hdf_node"]
        key = (node.id.fileno, node.name, hdf_info.get("hdf_path"))
        if key not in found:
            found[key] = lookup(hdf_info)
        return found[key]

    return memoised


def _per_argument(lookup: Callable[[Any], Any]) -> Callable[[Any], Any]:
    found: dict[Any, Any] = {}

    def memoised(argument: Any) -> Any:
        if argument not in found:
            found[argument] = lookup(argument)
        return found[argument]

    return memoised


# ---- warnings of one conversion -----------------------------------------------------------
#: Loggers whose warnings a conversion collects: pynxtools' (its validation logs on it directly,
#: not on a child logger) and this package's reader.
CAPTURED_LOGGERS = ("pynxtools", "pynxtools.em_plugin")

_captured: ContextVar[list[str] | None] = ContextVar("em_plugin_captured_warnings", default=None)
_install_lock = threading.Lock()


class _CaptureFilter(logging.Filter):
    """While a capture is active in the current context: collect warnings, print nothing.

    Outside a capture (another thread, the host application's own use of pynxtools)
    every record passes unchanged.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        messages = _captured.get()
        if messages is None:
            return True
        if record.levelno >= logging.WARNING:
            messages.append(record.getMessage())
        return False


_FILTER = _CaptureFilter()


def install_warning_capture() -> None:
    """Add the capture filter to :data:`CAPTURED_LOGGERS` (once; handlers and propagation untouched)."""
    with _install_lock:
        for name in CAPTURED_LOGGERS:
            logger = logging.getLogger(name)
            if _FILTER not in logger.filters:
                logger.addFilter(_FILTER)


@contextmanager
def captured_warnings() -> Iterator[list[str]]:
    """Within this context, warnings logged on :data:`CAPTURED_LOGGERS` in the current thread
    (or asyncio task) are collected into the yielded list instead of printed, and their INFO
    records dropped: one status line per file, not a flood. Other threads are not affected,
    and no handler, level or propagation of a logger is changed, so a host application
    (a NOMAD worker) keeps its own logging of pynxtools. (pynxtools' validation skips a message
    it logged already in a process-wide collector: of two conversions validating at the same time
    in one process, only one may report a shared message. Parallel conversions use processes.)
    """
    install_warning_capture()
    messages: list[str] = []
    token = _captured.set(messages)
    try:
        yield messages
    finally:
        _captured.reset(token)
