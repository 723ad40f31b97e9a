"""NXDL trees and writer look-ups shared by the conversions of one batch process change nothing in the output."""

from __future__ import annotations

from pathlib import Path

import h5py

from conftest import em_file
from pynxtools_em_plugin.batch import plan
from pynxtools_em_plugin.compat import pynxtools as compat
from pynxtools_em_plugin.compat.pynxtools import shared_nxdl_trees
from pynxtools_em_plugin.conversion import convert

SAMPLES = (
    "velox/Test SI 16x16 215 kx.emd",
    "gatan/2D/test_STEM_image.dm3",
    "msa/example1.msa",
    "tiff/FEI-Helios-navcam.tif",
)


def _convert_all(out: Path) -> list[tuple[str, list[str], list[str]]]:
    results = []
    for job in plan([em_file(s) for s in SAMPLES], out).jobs:
        outcome = convert(job.inputs, job.output)
        results.append((outcome.status, sorted(outcome.warnings), _objects(job.output)))
    return results


def _objects(path: Path) -> list[tuple[str, dict]]:
    objects: list[tuple[str, dict]] = []
    with h5py.File(path) as h5:
        h5.visititems(lambda name, item: objects.append((name, _comparable(item.attrs))))
    return objects


def _comparable(attributes) -> dict:
    """Attributes (NX_class, units... written from the NXDL look-ups) without the file's own name and times."""
    return {key: str(value) for key, value in attributes.items() if key not in ("file_name", "file_time")}


def test_shared_trees_give_the_output_and_warnings_of_fresh_conversions(tmp_path):
    fresh = _convert_all(tmp_path / "fresh")
    with shared_nxdl_trees():
        shared = _convert_all(tmp_path / "shared")
    with shared_nxdl_trees():  # the trees the first context built and extended (a NOMAD worker's next file)
        again = _convert_all(tmp_path / "again")
    assert [status for status, _, _ in shared] == ["converted"] * len(SAMPLES)
    assert shared == fresh
    assert again == fresh


def test_each_pynxtools_user_builds_its_tree_once(monkeypatch):
    import pynxtools.dataconverter.helpers as helpers
    import pynxtools.dataconverter.validation as validation

    built = []
    monkeypatch.setattr(compat, "_TREES", {module: {} for module in compat._TREES})  # none built yet
    monkeypatch.setattr(helpers, "generate_tree_from", lambda nxdl, set_root_attr=True: built.append(nxdl) or object())
    with shared_nxdl_trees():
        first, second = helpers.generate_tree_from("NXem"), helpers.generate_tree_from("NXem")
        assert first is second and built == ["NXem"]
        assert validation.generate_tree_from is not helpers.generate_tree_from  # one tree per user
    assert helpers.generate_tree_from.__name__ == "<lambda>"  # restored
    with shared_nxdl_trees():
        assert helpers.generate_tree_from("NXem") is first and built == ["NXem"]  # kept for the process
