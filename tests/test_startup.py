"""Start-up stays cheap: importing the reader and recognising a file import no format library
(RosettaSciIO, dask, HyperSpy, SciPy...); those come only when a file of that format is read."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import EM_DATA, em_file, one_file_per_format

HEAVY = {"rsciio", "dask", "hyperspy", "scipy", "skimage", "sparse", "numba", "pint", "orix", "kikuchipy", "diffpy"}


def test_reader_import_and_detection_load_no_format_library():
    sample = em_file("gatan/2D/test_STEM_image.dm3")
    code = (
        "import sys; from pathlib import Path; import pynxtools_em_plugin.reader; "
        "from pynxtools_em_plugin.formats import detect; "
        f"print(detect(Path({str(sample)!r})).NAME); print(' '.join(sys.modules))"
    )
    name, modules = _python(code).splitlines()
    assert name == "gatan"
    assert {m.split(".")[0] for m in modules.split()} & HEAVY == set()


#: The EBSD libraries (and the crystallography library orix brings) come only with an EBSD file.
EBSD_LIBRARIES = {"orix", "kikuchipy", "diffpy"}


def test_dm3_conversion_imports_no_ebsd_library(tmp_path):
    sample = em_file("gatan/2D/test_STEM_image.dm3")
    code = (
        "import sys; from pathlib import Path; from pynxtools_em_plugin.conversion import convert; "
        f"outcome = convert([Path({str(sample)!r})], Path({str(tmp_path / 'out.nxs')!r})); "
        "print(outcome.status); print(' '.join(sys.modules))"
    )
    status, modules = _python(code).splitlines()[-2:]
    assert (tmp_path / "out.nxs").is_file(), status
    assert {m.split(".")[0] for m in modules.split()} & EBSD_LIBRARIES == set()


DEFERRED_UNTIL_USED = {"dask.array", "sparse", "numba", "xarray", "pandas", "jsonschema"}


def test_converting_small_files_runs_no_large_file_machinery(tmp_path):
    """RosettaSciIO imports ``dask.array`` (-> sparse, numba, xarray, pandas) and ``sparse`` at module level
    for large files; converting small ones must not pay for them (lazy_imports), nor validate the shipped
    mapping tables with jsonschema (the tests do)."""
    samples = [em_file(f) for f in ("gatan/2D/test_STEM_image.dm3", "velox/Test SI 16x16 215 kx.emd")]
    code = (
        "import sys; from pathlib import Path; from pynxtools_em_plugin.conversion import convert; "
        "from pynxtools_em_plugin.lazy_imports import is_loaded; "
        f"out = Path({str(tmp_path)!r}); "
        f"outcomes = [convert([Path(p)], out / (Path(p).stem + '.nxs')) for p in {list(map(str, samples))!r}]; "
        "print(' '.join(o.status for o in outcomes)); "
        f"print(' '.join(m for m in {sorted(DEFERRED_UNTIL_USED)!r} if is_loaded(m)))"
    )
    statuses, loaded = [*_python(code).splitlines(), ""][:2]
    assert statuses == "converted converted"
    assert loaded == ""


def test_a_deferred_module_runs_on_first_use():
    """What the deferral must keep: a module imported within the context works as soon as it is used."""
    code = (
        "import sys; from pynxtools_em_plugin.lazy_imports import deferred_imports, is_loaded\n"
        "with deferred_imports():\n    import dask.array as da\n"
        "print(is_loaded('dask.array'), int(da.ones(4, chunks=2).sum().compute()), is_loaded('dask.array'))"
    )
    assert _python(code).split() == ["False", "4", "True"]


def test_a_submodule_of_a_deferred_package_is_imported_once():
    """``import dask.array.core`` while ``dask.array`` is deferred (inside the context, or after it,
    as the NeXus writer may) must give the one module dask's own functions use."""
    code = (
        "import sys; import numpy as np; from pynxtools_em_plugin.lazy_imports import deferred_imports, is_loaded\n"
        "with deferred_imports():\n    import dask.array as da\n    import dask.array.core as inside\n"
        "import dask.array.core as after\n"
        "core = sys.modules['dask.array.core']\n"
        "print(inside is after is core, core.map_blocks.__globals__ is vars(core), "
        "isinstance(da.from_array(np.ones(3)), core.Array), core.__spec__.name)"
    )
    assert _python(code).split() == ["True", "True", "True", "dask.array.core"]


def test_lazy_reads_in_a_fresh_process(tmp_path):
    """The user's path, not the test process's (where earlier tests imported dask): a Merlin file
    read lazily through dask as the first file of a process, then a DM3, then a blockfile."""
    samples = ("quantumdetector/001_4x2_6bit.mib", "gatan/2D/test_STEM_image.dm3", "blockfile/test1.blo")
    inputs = [str(em_file(f)) for f in samples]
    command = [sys.executable, "-m", "pynxtools_em_plugin.cli", "convert", *inputs, "-o", str(tmp_path)]
    result = subprocess.run(command, env=_env(), capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(p.name for p in tmp_path.glob("*.nxs")) == ["001_4x2_6bit.nxs", "test1.nxs", "test_STEM_image.nxs"]


def test_every_format_converts_as_the_first_file_of_a_fresh_process(tmp_path):
    """The suite converts in one process, where earlier tests have imported what a format needs; a user's
    ``em-plugin convert FILE`` starts from nothing. Each format's smallest shared acquisition, one fresh
    process each (two at a time)."""
    if not EM_DATA.is_dir():
        pytest.skip(f"real data not available: {EM_DATA}")
    chosen = one_file_per_format(tmp_path)
    assert len(chosen) >= 25

    def convert(name: str) -> str | None:
        command = [sys.executable, "-m", "pynxtools_em_plugin.cli", "convert", *map(str, chosen[name])]
        result = subprocess.run([*command, "-o", str(tmp_path / name)], env=_env(), capture_output=True, text=True)
        converted = result.returncode == 0 and any((tmp_path / name).glob("*.nxs"))
        return None if converted else f"{name}: {(result.stdout + result.stderr).strip()[-400:]}"

    with ThreadPoolExecutor(2) as pool:
        failures = [failure for failure in pool.map(convert, sorted(chosen)) if failure]
    assert failures == []


def _env() -> dict[str, str]:
    """This checkout's package first on the path of a child interpreter."""
    src = str(Path(__file__).resolve().parents[1] / "src")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}


def _python(code: str) -> str:
    """The output of ``code`` run by a fresh interpreter on this checkout's package."""
    return subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True, text=True, check=True).stdout
