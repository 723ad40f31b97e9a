"""Start-up stays cheap: importing the reader and recognising a file import no format library
(RosettaSciIO, dask, HyperSpy, SciPy...); those come only when a file of that format is read."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import em_file

HEAVY = {"rsciio", "dask", "hyperspy", "scipy", "skimage", "sparse", "numba", "pint", "orix", "kikuchipy", "diffpy"}


def test_reader_import_and_detection_load_no_format_library():
    sample = em_file("gatan/2D/test_STEM_image.dm3")
    code = (
        "import sys; from pathlib import Path; import pynxtools_em_plugin.reader; "
        "from pynxtools_em_plugin.formats import detect; "
        f"print(detect(Path({str(sample)!r})).NAME); print(' '.join(sys.modules))"
    )
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    name, modules = result.stdout.splitlines()
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
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    status, modules = result.stdout.splitlines()[-2:]
    assert (tmp_path / "out.nxs").is_file(), status
    assert {m.split(".")[0] for m in modules.split()} & EBSD_LIBRARIES == set()
