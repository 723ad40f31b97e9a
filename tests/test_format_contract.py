"""The format contract, checked over the registry: every registered format is complete.

A registered format that lacks its mapping table, its fuzz seeds, its real-file tests (index
``FORMAT_TESTS`` in conftest.py) or its README row FAILS here, it does not skip. Every sniffer is run
on every shared file: no file may be claimed by two formats (so detection order never decides).
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

import test_fuzz
from conftest import EM_DATA, FORMAT_TESTS, REPO
from pynxtools_em_plugin.formats import FORMAT_MODULES, HEAD_SIZE, all_formats, format_named
from pynxtools_em_plugin.formats.contract import OPTIONAL_HOOKS, FormatModule
from pynxtools_em_plugin.mapping.engine import shipped_table

NAMES = [fmt.NAME for fmt in all_formats()]
TESTS = Path(__file__).parent


def test_registry_names_are_the_module_names():
    assert list(FORMAT_MODULES) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_module_satisfies_the_protocol(name):
    fmt = format_named(name)
    assert isinstance(fmt, FormatModule)
    assert fmt.TITLE and isinstance(fmt.EXTENSIONS, tuple) and all(e.startswith(".") for e in fmt.EXTENSIONS)
    assert list(inspect.signature(fmt.sniff).parameters) == ["path", "head"]
    assert list(inspect.signature(fmt.read).parameters) == ["path", "companions"]
    for hook, parameters in OPTIONAL_HOOKS.items():
        if hasattr(fmt, hook):
            assert tuple(inspect.signature(getattr(fmt, hook)).parameters) == parameters, f"{name}.{hook}"


@pytest.mark.parametrize("name", NAMES)
def test_format_has_its_mapping_table(name):
    table = shipped_table(name)
    assert table.format == name and table.rules


@pytest.mark.parametrize("name", NAMES)
def test_format_has_fuzz_seeds(name):
    assert test_fuzz.SEEDS.get(name) or test_fuzz.GENERATED_SEEDS.get(name), f"no fuzz seeds for {name}"
    for group in test_fuzz.SEEDS.get(name, []):
        assert all(relative.startswith(f"{FORMAT_TESTS[name][0]}/") for relative in group)


def _string_constants(module: Path) -> list[str]:
    tree = ast.parse(module.read_text("utf-8"))
    return [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)]


@pytest.mark.parametrize("name", NAMES)
def test_format_has_real_file_tests(name):
    assert name in FORMAT_TESTS, f"add {name} to FORMAT_TESTS in tests/conftest.py with its test modules"
    folder, modules = FORMAT_TESTS[name]
    extensions = format_named(name).EXTENSIONS
    for module in modules:
        path = TESTS / module
        assert path.is_file(), f"{module} (listed for {name}) does not exist"
        strings = _string_constants(path)
        if folder is not None:
            assert any(s.startswith(f"{folder}/") for s in strings), f"{module} names no file of {folder}/"
        else:
            assert any(s in extensions for s in strings), f"{module} makes no {extensions} file"
        assert re.search(r"^def test_", path.read_text("utf-8"), re.MULTILINE)


@pytest.mark.parametrize("name", NAMES)
def test_format_has_a_readme_row(name):
    readme = (REPO / "README.md").read_text("utf-8")
    fmt = format_named(name)
    assert re.search(rf"^\| {re.escape(name)} \|", readme, re.MULTILINE), f"README formats table lacks {name}"
    assert re.search(rf"^{re.escape(name)}\s+{re.escape(fmt.TITLE)}\s", readme, re.MULTILINE), (
        f"README's `em-plugin formats` listing lacks {name}"
    )


@pytest.mark.parametrize("name", [n for n in NAMES if FORMAT_TESTS.get(n, (None,))[0]])
def test_shared_files_of_the_format_are_recognised_as_it(name):
    folder = EM_DATA / FORMAT_TESTS[name][0]
    if not folder.is_dir():
        pytest.skip("needs the real data folder")
    fmt = format_named(name)
    claimed = [p for p in folder.rglob("*") if p.is_file() and fmt.sniff(p, p.read_bytes()[:HEAD_SIZE])]
    assert claimed, f"no file of {folder} is recognised as {name}"


def test_no_shared_file_is_claimed_by_two_formats():
    if not EM_DATA.is_dir():
        pytest.skip("needs the real data folder")
    doubles = []
    for path in sorted(p for p in EM_DATA.rglob("*") if p.is_file() and p.name != "MANIFEST.md"):
        with open(path, "rb") as handle:
            head = handle.read(HEAD_SIZE)
        claimants = [fmt.NAME for fmt in all_formats() if fmt.sniff(path, head)]
        if len(claimants) > 1:
            doubles.append(f"{path.relative_to(EM_DATA)}: {claimants}")
    assert not doubles, "\n".join(doubles)


def test_nomad_parser_description_lists_every_format():
    pytest.importorskip("nomad")
    from pynxtools_em_plugin.nomad.entry_points import em_raw_parser

    for fmt in all_formats():
        assert fmt.TITLE in em_raw_parser.description
