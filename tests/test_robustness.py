"""Robustness guarantees besides fuzzing (``test_fuzz.py``): inputs are never modified,
untrusted text is handled safely, an invalid vendor value gives one warning naming its
key, strict modes fail on invalid output, and the fixes for what the fuzzing found."""

from __future__ import annotations

import ast
import hashlib
import json
import shutil
import struct
from pathlib import Path

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from conftest import EM_DATA, EXAMPLES, REPO, convert_files, em_file, full_data, run_dataconverter
from fixtures_tiff import write_png
from pynxtools_em_plugin.cli import main
from pynxtools_em_plugin.errors import ConversionError, MappingTableError
from pynxtools_em_plugin.formats import _bcf_check, _hdf5_probe
from pynxtools_em_plugin.formats._rsciio import signal_from_rsciio
from pynxtools_em_plugin.mapping.engine import parse_table
from pynxtools_em_plugin.model import AxisKind
from pynxtools_em_plugin.reader import sha256_of
from test_fuzz import SEEDS, mutate

MSA = "msa/example1.msa"


def msa_with(tmp_path: Path, old: bytes, new: bytes, name: str = "spectrum.msa") -> Path:
    """The shared EMSA example with one line changed."""
    content = em_file(MSA).read_bytes()
    assert old in content
    path = tmp_path / name
    path.write_bytes(content.replace(old, new))
    return path


# ---- inputs are never modified -------------------------------------------------------------


def _snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    return {
        str(p.relative_to(folder)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_conversions_leave_every_input_byte_and_time_stamp_unchanged(tmp_path):
    """One acquisition per format (read-only copies), converted by the batch command and by
    pynxtools' conversion: no input changes, no file appears among the inputs."""
    if not EM_DATA.is_dir():
        pytest.skip("needs the real data folder")
    inputs = tmp_path / "in"
    for name, groups in SEEDS.items():
        for relative in groups[0]:
            target = inputs / name / Path(relative).name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(EM_DATA / relative, target)
    (inputs / "image").mkdir()
    write_png(inputs / "image")
    shutil.copy2(EXAMPLES / "eln.yaml", inputs / "eln.yaml")
    for path in inputs.rglob("*"):
        path.chmod(0o555 if path.is_dir() else 0o444)
    before = _snapshot(inputs)
    try:
        result = CliRunner().invoke(
            main, ["convert", str(inputs), "-o", str(tmp_path / "out"), "-j", "2", "--eln", str(inputs / "eln.yaml")]
        )
        tia = sorted((inputs / "tia").iterdir())
        convert_files(tia, tmp_path / "tia.nxs")
        after = _snapshot(inputs)
    finally:
        for path in inputs.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)
    assert result.exit_code == 0, result.output
    assert f"{len(SEEDS) + 1} converted" in result.output
    assert after == before


# ---- untrusted text -------------------------------------------------------------------------


def test_yaml_with_a_python_object_tag_is_refused_not_executed(tmp_path):
    marker = tmp_path / "executed"
    eln = tmp_path / "eln.yaml"
    eln.write_text(f'sample: !!python/object/apply:os.system ["touch {marker}"]\n')
    with pytest.raises(ConversionError, match=r"eln\.yaml: is not a readable YAML file .*python/object"):
        convert_files([EXAMPLES / "example_haadf.emd", eln], tmp_path / "out.nxs")
    assert not marker.exists()
    assert not (tmp_path / "out.nxs").exists()


def test_mapping_table_transforms_are_names_not_code(tmp_path):
    marker = tmp_path / "executed"
    table = {
        "name": "evil",
        "version": "1",
        "format": "velox",
        "mappings": [{"src": "a", "dst": "b", "transform": f"__import__('os').system('touch {marker}')"}],
    }
    with pytest.raises(MappingTableError, match="unknown transform"):
        parse_table(json.dumps(table), "evil.json")
    assert not marker.exists()


def test_the_package_never_evaluates_text_or_loads_unsafe_yaml():
    """No eval/exec/compile/__import__ builtins, no yaml.load/unsafe_load/full_load, no pickle."""
    builtins = {"eval", "exec", "compile", "__import__"}
    unsafe = {("yaml", "load"), ("yaml", "unsafe_load"), ("yaml", "full_load"), ("pickle", "load"), ("pickle", "loads")}
    found = []
    for path in (REPO / "src").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            function = node.func
            if isinstance(function, ast.Name) and function.id in builtins:
                found.append(f"{path.name}:{node.lineno} {function.id}")
            elif isinstance(function, ast.Attribute) and (getattr(function.value, "id", ""), function.attr) in unsafe:
                found.append(f"{path.name}:{node.lineno} {function.value.id}.{function.attr}")
    assert found == []


def test_control_characters_invalid_utf8_and_nul_in_a_vendor_title(tmp_path, convert):
    path = msa_with(tmp_path, b"NIO EELS OK SHELL", b"NIO \x01\x07\x1b[31m EELS \xff\xfe OK\x00 SHELL")
    result = convert(path)
    assert result.other_validation_problems() == []
    with result.h5() as h5:
        nxdata = full_data(h5)
        title = nxdata["title"][()].decode()
        raw = json.loads(h5["entry1/measurement/event1/vendor_metadata/original_metadata"][()])
    # RosettaSciIO reads EMSA text as Latin-1; HDF5 cannot hold the NUL, the JSON keeps it
    assert title == "NIO \x01\x07\x1b[31m EELS ÿþ OK\ufffd SHELL"
    assert raw["TITLE"] == "NIO \x01\x07\x1b[31m EELS ÿþ OK\x00 SHELL"
    assert [w for w in result.conversion_warnings if "U+FFFD" in w]
    assert not any("\x1b" in w or "\x00" in w for w in result.conversion_warnings)


def test_control_characters_and_invalid_utf8_in_a_tiff_description(tmp_path, convert):
    import tifffile

    path = tmp_path / "described.tif"
    tifffile.imwrite(path, np.zeros((8, 8), np.uint8), description=b"Probe \x1b[2J \x07 \xff\xfe end", metadata=None)
    result = convert(path)
    with result.h5() as h5:
        raw = json.loads(h5["entry1/measurement/event1/vendor_metadata/original_metadata"][()])
    assert raw["ImageDescription"] == "Probe \x1b[2J \x07 ÿþ end"  # tifffile decodes ASCII tags as cp1252
    assert not any("\x1b" in w for w in result.conversion_warnings)


def test_eln_text_with_control_characters_nul_and_undecodable_bytes(tmp_path, convert):
    eln = tmp_path / "eln.yaml"
    eln.write_text('sample:\n  name: "Probe \\x07 \\0 eins"\n  description: "bytes \\udcff here"\n')
    result = convert(EXAMPLES / "example_haadf.emd", eln)
    with result.h5() as h5:
        assert h5["entry1/sample/name"][()].decode() == "Probe \x07 \ufffd eins"
        assert h5["entry1/sample/description"][()].decode() == "bytes \ufffd here"


def test_paths_with_spaces_and_non_ascii_characters(tmp_path):
    folder = tmp_path / "Probe ü 1" / "Messung … Ω"
    folder.mkdir(parents=True)
    image = folder / "Bild 01 ä.emd"
    shutil.copy(EXAMPLES / "example_haadf.emd", image)
    result = run_dataconverter(str(image), "--output", "Ergebnis ü.nxs", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    with h5py.File(tmp_path / "Ergebnis ü.nxs", "r") as h5:
        assert h5["entry1/measurement/event1/image1/process/input/file_name"][()].decode() == "Bild 01 ä.emd"
    out = tmp_path / "Ausgabe ö"
    batch = CliRunner().invoke(main, ["convert", str(tmp_path / "Probe ü 1"), "-o", str(out)])
    assert batch.exit_code == 0, batch.output
    assert (out / "Messung … Ω" / "Bild 01 ä.nxs").is_file()


# ---- warnings ------------------------------------------------------------------------------


def test_a_vendor_value_that_cannot_be_read_gives_one_warning_naming_its_key(tmp_path, convert):
    path = msa_with(tmp_path, b"#BEAMKV   -kV: 120.0", b"#BEAMKV   -kV: 12x0.0")
    result = convert(path)
    about = [w for w in result.conversion_warnings if "BEAMKV" in w]
    assert len(about) == 1 and "12x0.0" in about[0]
    with result.h5() as h5:
        assert "voltage" not in h5["entry1/measurement/event1/instrument/ebeam_column/electron_source"]


def test_a_value_every_signal_repeats_gives_one_warning_per_file_not_per_signal(tmp_path, convert):
    """A TIA acquisition of two signals, both with the same acquisition date, read by a user rule as a voltage."""
    table = tmp_path / "facility.json"
    rule = {"src": "ObjectInfo/AcquireDate", "dst": "instrument/ebeam_column/electron_source/voltage", "src_unit": "V"}
    table.write_text(json.dumps({"name": "f", "version": "1", "format": "tia", "mappings": [rule]}))
    names = ["16x16_STEM_BF_DF_acquire.emi", "16x16_STEM_BF_DF_acquire_1.ser", "16x16_STEM_BF_DF_acquire_2.ser"]
    result = convert(*(em_file(f"tia/{name}") for name in names), config=table)
    about = [w for w in result.conversion_warnings if "ObjectInfo/AcquireDate" in w]
    assert len(about) == 1 and "(2 signals, e.g. " in about[0] and "Sun Feb 21 17:53:06 2016" in about[0]


def test_an_unreadable_calibration_gives_one_warning_and_an_index_axis(tmp_path, convert):
    path = msa_with(tmp_path, b"#XPERCHAN    : 3.1", b"#XPERCHAN    : 3.t")
    path.write_bytes(path.read_bytes().replace(b"520.13, 4066.0", b"52x.13, 4066.0"))  # no usable X column
    result = convert(path)
    about = [w for w in result.conversion_warnings if "XPERCHAN" in w]
    assert len(about) == 1
    expected = "keyword XPERCHAN = '3.t' is not a number; the axis is stored as channel index"
    assert about[0].endswith(f"{path.name}: {expected}")
    with result.h5() as h5:
        nxdata = full_data(h5)
        axis = nxdata[nxdata.attrs["axes"][0]]
        assert axis.attrs["long_name"] == "channel" and "units" not in axis.attrs
        assert list(axis[()]) == list(range(21))


def test_a_log_cell_that_is_not_a_number_is_nan_with_one_warning(tmp_path, convert):
    content = em_file("protochips/protochips_gas_cell.csv").read_bytes()
    path = tmp_path / "log.csv"
    path.write_bytes(content.replace(b"\n1121,,25,734.374996992,", b"\n1121,,25,734.37x996992,", 1))
    result = convert(path)
    about = [w for w in result.conversion_warnings if "not numbers" in w]
    assert len(about) == 1 and "'Holder Pressure'" in about[0] and "734.37x996992" in about[0]
    with result.h5() as h5:
        values = h5["entry1/measurement/event2/instrument/sensor/value_log/value"][()]
    assert np.isnan(values).sum() == 1


def test_strict_and_fail_modes_exit_non_zero_when_required_fields_are_missing(tmp_path):
    """The example lacks NXem-required fields no vendor file records (e.g. sample atom types)."""
    out = tmp_path / "out"
    batch = CliRunner().invoke(main, ["convert", "--strict", str(EXAMPLES / "example_haadf.emd"), "-o", str(out)])
    assert batch.exit_code == 1
    assert "FAILED" in batch.output and "do not validate against NXem (strict mode)" in batch.output
    assert not out.exists() or list(out.rglob("*")) == []
    result = run_dataconverter(str(EXAMPLES / "example_haadf.emd"), "--fail", "--output", "out.nxs", cwd=tmp_path)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("Error: Validation failed")
    assert not (tmp_path / "out.nxs").exists()


# ---- what the fuzzing found ----------------------------------------------------------------


def _bcf_stream(pixels: list[tuple[int, bytes]], lines: int = 1) -> bytes:
    """A spectrum-image stream: header, one line of 16-bit packed pixels (x, pulse channels)."""
    body = struct.pack("<I", len(pixels))
    for x, pulses in pixels:
        body += struct.pack("<IHHIHHHI", x, 10, 10, 0, 0, 0, len(pulses) // 2, len(pulses)) + pulses
    return struct.pack("<II", lines, 4).ljust(0x1A0, b"\0") + body


def test_bcf_stream_check_refuses_what_the_unchecked_decoder_would_crash_on():
    good = _bcf_stream([(0, b"\1\0\2\0"), (3, b"")])
    _bcf_check.check_hypermap(iter([good]), len(good), rows=1, columns=4)
    outside = _bcf_stream([(4, b"\1\0")])
    with pytest.raises(_bcf_check.DamagedStream, match="x = 4 lies outside the 4 image columns"):
        _bcf_check.check_hypermap(iter([outside]), len(outside), rows=1, columns=4)
    with pytest.raises(_bcf_check.DamagedStream, match="truncated"):
        _bcf_check.check_hypermap(iter([good[:-3]]), len(good), rows=1, columns=4)
    with pytest.raises(_bcf_check.DamagedStream, match="2 lines"):
        _bcf_check.check_hypermap(iter([_bcf_stream([], lines=2)]), len(good), rows=1, columns=4)


def test_truncated_bcf_that_crashed_the_decoder_is_one_error(tmp_path, convert):
    path = tmp_path / "test_TEM.bcf"
    path.write_bytes(em_file("bruker/test_TEM.bcf").read_bytes()[:182581])
    with pytest.raises(ConversionError, match=r"test_TEM\.bcf: .* spectrum image 0 is damaged"):
        convert(path)


def test_hdf5_file_that_hangs_the_hdf5_library_is_refused_in_time(tmp_path, monkeypatch):
    """A Velox version string made longer in place: its global heap no longer adds up and
    HDF5 2.0 loops forever reading it."""
    monkeypatch.setenv(_hdf5_probe.PROBE_SECONDS_ENV, "3")
    content, _ = mutate((EXAMPLES / "example_haadf.emd").read_bytes(), "x.emd", "digits", (1, "999999999999"))
    path = tmp_path / "hangs.emd"
    path.write_bytes(content)
    with pytest.raises(ConversionError, match=r"hangs\.emd: .* does not finish reading in 3 s"):
        convert_files([path], tmp_path / "out.nxs")


def test_hdf5_dataset_declaring_far_more_than_the_file_holds_is_refused(tmp_path):
    """Reading it would allocate the declared 8 TB (unwritten chunks are filled in)."""
    path = tmp_path / "sparse.h5"
    with h5py.File(path, "w") as h5:
        h5.attrs["version_major"], h5.attrs["version_minor"] = 0, 2
        h5.create_dataset("data", shape=(10**12,), dtype="f8", chunks=(1024,))
    expected = r"sparse\.h5: is a damaged HDF5 file: dataset '/data' declares 8000000000000 bytes"
    with pytest.raises(ConversionError, match=expected):
        _hdf5_probe.check_hdf5_structure(path)


def test_tiff_strip_byte_count_beyond_the_file_is_refused_before_reading(tmp_path):
    import tifffile

    from pynxtools_em_plugin.formats.tiff import read

    path = tmp_path / "strips.tif"
    tifffile.imwrite(path, np.zeros((64, 64), np.uint16), rowsperstrip=8, metadata=None)
    with tifffile.TiffFile(path) as tiff:
        counts = tiff.pages[0].tags["StripByteCounts"]
        offset, code = counts.valueoffset, "<H" if counts.dtype == 3 else "<I"  # TIFF SHORT or LONG
    content = bytearray(path.read_bytes())
    content[offset : offset + struct.calcsize(code)] = struct.pack(code, 0xFFF0)
    path.write_bytes(bytes(content))
    with pytest.raises(ConversionError, match="image data past the end of the file"):
        read(path, [])


def test_jeol_image_whose_header_declares_another_size_is_refused(tmp_path):
    from pynxtools_em_plugin.formats.jeol import read

    source = em_file("jeol/Sample/00_View000/View000_0000000.img")
    content, _ = mutate(source.read_bytes(), source.name, "dim", (30416, 4, "big", 2147483647))
    path = tmp_path / source.name
    path.write_bytes(content)
    with pytest.raises(ConversionError, match=r"declares a \d+ x \d+ image but holds 262144 pixels"):
        read(path, [])


def test_blockfile_offset_beyond_the_file_is_refused_before_reading(tmp_path):
    """Fuzzing found 2^32 - 1 in ``Data_offset_1`` making the reader allocate 4 GiB for the note."""
    from pynxtools_em_plugin.formats.blockfile import read

    content, name = mutate(em_file("blockfile/test1.blo").read_bytes(), "test1.blo", "dim", (8, 4, "little", 2**32 - 1))
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ConversionError, match=r"Data_offset_1 \(4294967295\) points beyond the end of the file"):
        read(path, [])


def test_an_axis_calibration_that_is_not_a_number_becomes_an_index_with_a_warning():
    entry = {"data": np.zeros(3), "axes": [{"name": "Energy", "size": 3, "scale": "3.t", "units": "eV"}]}
    signal = signal_from_rsciio(entry, Path("x.msa"), "msa", "spectrum")
    assert signal.axes[0].kind is AxisKind.INDEX and list(signal.axes[0].values) == [0, 1, 2]
    assert any("no usable calibration" in w for w in signal.warnings)


def test_many_conversions_in_one_process_do_not_accumulate_pynxtools_caches(tmp_path):
    from pynxtools.definitions.dev_tools.utils.nxdl_utils import get_inherited_nodes

    sizes = []
    for number in range(3):
        convert_files([EXAMPLES / "example_haadf.emd"], tmp_path / f"out{number}.nxs")
        sizes.append(get_inherited_nodes.cache_info().currsize)
    assert sizes[0] == sizes[1] == sizes[2] > 0


def test_input_checksum_follows_the_file_content(tmp_path):
    """Not cached by path: a long-running process may see a file replaced under the same name."""
    path = tmp_path / "file.bin"
    path.write_bytes(b"first")
    first = sha256_of(path)
    path.write_bytes(b"second")
    assert sha256_of(path) != first == hashlib.sha256(b"first").hexdigest()
