"""Every pynxtools internal this package uses still exists and behaves as relied on (fails loudly on upgrade)."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path
from typing import ClassVar

import h5py
import pytest

from conftest import em_file
from pynxtools_em_plugin.compat import pynxtools as compat
from pynxtools_em_plugin.conversion import convert

#: A documented NXem field and a link to it from a second sample (validation copies it, see nexus/links.py).
THICKNESS = "/ENTRY[entry1]/sampleID[sample1]/thickness"
LINKED = "/ENTRY[entry1]/sampleID[sample2]/thickness"


def test_installed_pynxtools_is_in_the_tested_range():
    assert compat.version_supported(), compat.installed_version(compat.DISTRIBUTION)
    assert compat.in_range("0.16.3", compat.LOWEST, compat.BELOW)
    assert not compat.in_range("0.17.0", compat.LOWEST, compat.BELOW)


@pytest.mark.parametrize(("module", "name"), compat.PRIVATE_NAMES, ids=lambda item: str(item))
def test_every_private_name_resolves(module, name):
    assert compat.private(module, name) is not None


def test_a_missing_name_is_reported_with_the_supported_range():
    with pytest.raises(compat.UpstreamChanged, match=r"pynxtools .* has no pynxtools\.nowhere\.thing.*<0\.17"):
        compat.private("pynxtools.nowhere", "thing")


def _parameters(module: str, name: str) -> list[str]:
    return list(inspect.signature(compat.private(module, name)).parameters)


def test_the_wrapped_functions_take_the_arguments_we_pass():
    transfer = inspect.signature(compat.private("pynxtools.dataconverter.convert", "transfer_data_into_template"))
    assert list(transfer.parameters)[:4] == ["input_file", "reader", "nxdl_name", "nxdl_root"]
    assert any(p.kind is inspect.Parameter.VAR_KEYWORD for p in transfer.parameters.values())  # fail=, reader options
    assert _parameters("pynxtools.dataconverter.writer", "Writer")[:3] == ["data", "nxdl_f_path", "output_path"]
    assert "filename" in _parameters("pynxtools.dataconverter.helpers", "add_default_root_attributes")
    assert _parameters("pynxtools.dataconverter.helpers", "get_nxdl_root_and_path") == ["nxdl"]
    for module in ("pynxtools.dataconverter.helpers", "pynxtools.dataconverter.validation"):
        assert _parameters(module, "generate_tree_from") == ["nxdl", "set_root_attr"]
    lookup = ["nxdl_path", "nx_name", "elem", "exc"]
    assert _parameters("pynxtools.dataconverter.writer", "get_node_at_nxdl_path") == lookup
    inherited = compat.private("pynxtools.definitions.dev_tools.utils.nxdl_utils", "get_inherited_nodes")
    assert callable(inherited.cache_clear) and callable(inherited.cache_info)


def _linking_reader(seen: dict) -> type:
    """A pynxtools reader filling one documented field and a link to it; its options go to ``seen``."""
    from pynxtools.dataconverter.readers.base.reader import BaseReader

    class LinkingReader(BaseReader):
        supported_nxdls: ClassVar[list[str]] = ["NXem"]

        def read(self, template=None, file_paths=(), objects=None, **kwargs):
            seen.update(file_paths=file_paths, **kwargs)
            template.clear()
            template[THICKNESS], template[f"{THICKNESS}/@units"] = 5.0, "nm"
            template[LINKED], template[f"{LINKED}/@units"] = {"link": "/entry1/sample1/thickness"}, "nm"
            return template

    return LinkingReader


def _fill(patch: pytest.MonkeyPatch, strict: bool, **reader_options) -> tuple[dict, list[str], dict]:
    seen: dict = {}
    patch.setattr("pynxtools.dataconverter.convert.get_reader", lambda name: _linking_reader(seen))
    root, _ = compat.nxdl_definition("NXem")
    with compat.captured_warnings() as warnings:
        template = compat.filled_template(
            [Path("a.dm3")], "linking", "NXem", root, fail_if_invalid=strict, **reader_options
        )
    return template, warnings, seen


@pytest.fixture(scope="module")
def filled():
    """(template, warnings, reader options) of pynxtools' template filling and validation, run once."""
    with pytest.MonkeyPatch.context() as patch:
        return _fill(patch, strict=False, anonymize=True)


def test_reader_options_reach_the_reader(filled):
    _, _, options = filled
    assert options == {"file_paths": ("a.dm3",), "anonymize": True}


def test_validation_turns_a_link_into_a_copy_marked_with_target(filled):
    """What nexus/links.restore_links repairs; when this fails, pynxtools writes links itself."""
    template, _, _ = filled
    assert template[LINKED] == 5.0
    assert template[f"{LINKED}/@target"] == "/entry1/sample1/thickness"


def test_validation_logs_on_the_pynxtools_logger_itself(filled):
    """The capture filters the ``pynxtools`` logger, which sees only records logged on it directly
    (a logger's filters do not apply to records propagated from child loggers)."""
    _, warnings, _ = filled
    assert any("/ENTRY[entry1]/start_time hasn't been supplied" in w for w in warnings)


def test_strict_validation_failure_becomes_template_not_valid(monkeypatch):
    with pytest.raises(compat.TemplateNotValid):
        _fill(monkeypatch, strict=True)


def _resolutions(nexus: Path) -> list[tuple]:
    """What pynxtools' NeXus parser resolves for every group, field and attribute of ``nexus``
    (``get_nxdl_doc``: required-ness, definition, NXDL elements with their attributes at that moment)."""
    from pynxtools.nexus.nexus import get_nxdl_doc

    found: list[tuple] = []

    def resolve(name: str, node) -> None:
        info = {"hdf_path": f"/{name}", "hdf_node": node}
        for attr in (False, *node.attrs):
            required, definition, elements = get_nxdl_doc(info, doc=False, attr=attr)
            described = [e if isinstance(e, str) else (e.tag, sorted(e.attrib.items())) for e in elements or ()]
            found.append((name, attr, required, definition, described))

    with h5py.File(nexus, "r") as h5:
        h5.visititems(resolve)
    return found


def test_memoised_nexus_lookups_resolve_every_node_as_pynxtools_does(tmp_path):
    nexus = tmp_path / "tia.nxs"
    inputs = ["tia/64x64_TEM_images_acquire.emi", "tia/64x64_TEM_images_acquire_1.ser"]
    assert convert([em_file(name) for name in inputs], nexus).status == "converted"
    nexus_module = importlib.import_module("pynxtools.nexus.nexus")
    original = nexus_module.get_nxdl_entry
    plain = _resolutions(nexus)
    with compat.memoised_nexus_lookups():
        assert nexus_module.get_nxdl_entry is not original
        memoised = _resolutions(nexus)
    assert nexus_module.get_nxdl_entry is original
    assert nexus_module._get_inherited_hdf_nodes.cache_info().currsize == 0  # pynxtools' per-node cache released
    assert len(plain) > 100
    assert any(definition == "NXem" and elements for _, _, _, definition, elements in plain)
    assert memoised == plain


def test_dataconverter_writes_with_memoised_lookups_once_then_as_before(tmp_path, monkeypatch):
    """pynxtools' own ``convert`` (the ``dataconverter`` path) with our reader: the write after our
    reader resolves each NXDL concept once, and pynxtools' writer is as before afterwards."""
    from pynxtools.dataconverter import convert as pynxtools_convert
    from pynxtools.dataconverter import writer

    calls: list[str] = []
    lookup = writer.get_node_at_nxdl_path

    def counting(nxdl_path=None, nx_name=None, elem=None, exc=True):
        calls.append(nxdl_path)
        return lookup(nxdl_path, nx_name, elem, exc)

    monkeypatch.setattr(writer, "get_node_at_nxdl_path", counting)
    write = writer.Writer.write
    output = tmp_path / "out.nxs"
    velox = em_file("velox/Test SI 16x16 215 kx.emd")
    pynxtools_convert.convert(input_file=(str(velox),), reader="em_plugin", nxdl="NXem", output=str(output))
    with h5py.File(output) as h5:
        groups = []
        h5.visititems(lambda name, node: groups.append(name) if isinstance(node, h5py.Group) else None)
    assert len(groups) > 100  # ten events
    assert len(calls) == len(set(calls)) < len(groups) / 2  # each concept once, not once per group
    assert writer.Writer.write is write
    assert writer.get_node_at_nxdl_path is counting
