"""Bad input ends in one clear line naming the file, a non-zero exit, no traceback, no output."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import EM_DATA, EXAMPLES, run_dataconverter


def make_inputs(folder: Path) -> dict[str, Path]:
    """Broken files built from the project's own example (and real data where present)."""
    example = (EXAMPLES / "example_haadf.emd").read_bytes()
    files = {
        "empty.dm3": b"",
        "random.emd": os.urandom(4096),
        "text.dm3": b"hello microscope\n",
        "truncated.emd": example[: len(example) // 3],
        "dm-header-only.dm4": b"\x00\x00\x00\x04" + b"\x00" * 8 + b"\x00\x00\x00\x01" + b"\x00" * 20,
        "ser-header-only.ser": b"II\x97\x01\x10\x02" + b"\x00" * 10,
    }
    stem_image = EM_DATA / "gatan/2D/test_STEM_image.dm3"
    if stem_image.exists():
        files["truncated.dm3"] = stem_image.read_bytes()[:3000]
    tia = EM_DATA / "tia/128x128-TEM_search_1.ser"
    if tia.exists():
        files["truncated.ser"] = tia.read_bytes()[:30000]
    paths = {}
    for name, content in files.items():
        paths[name] = folder / name
        paths[name].write_bytes(content)
    return paths


@pytest.mark.parametrize(
    "name",
    [
        "empty.dm3",
        "random.emd",
        "text.dm3",
        "truncated.emd",
        "dm-header-only.dm4",
        "ser-header-only.ser",
        "truncated.dm3",
        "truncated.ser",
    ],
)
def test_bad_file_gives_one_clear_error_line(name, tmp_path):
    inputs = make_inputs(tmp_path)
    if name not in inputs:
        pytest.skip("needs the real data folder")
    result = run_dataconverter(name, "--output", "out.nxs", cwd=tmp_path)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith(f"Error: {name}: ")
    assert len(last_line) > len(f"Error: {name}: ") + 10
    assert not (tmp_path / "out.nxs").exists()


def test_missing_file_and_bad_eln_are_clear(tmp_path):
    (tmp_path / "eln.yaml").write_text("sample: [not, a, mapping]\n")
    result = run_dataconverter(str(EXAMPLES / "example_haadf.emd"), "eln.yaml", "--output", "out.nxs", cwd=tmp_path)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "'sample' must be a mapping" in result.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "out.nxs").exists()


def test_bad_user_mapping_table_names_table_and_entry(tmp_path):
    table = tmp_path / "facility.json"
    table.write_text(
        '{"name": "f", "version": "1", "format": "velox", "mappings": [{"src": "a", "dst": "b", '
        '"src_unit": "V", "dst_unit": "m"}]}'
    )
    emd = str(EXAMPLES / "example_haadf.emd")
    result = run_dataconverter(emd, "-c", str(table), "--output", "out.nxs", cwd=tmp_path)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    last_line = result.stderr.strip().splitlines()[-1]
    assert "facility.json, entry 0" in last_line and "cannot convert 'V' into 'm'" in last_line
