"""Every private RosettaSciIO name and behaviour the format modules rely on (compat/rsciio.py).

A RosettaSciIO release that renames, removes or changes one of them fails here,
naming it, instead of somewhere inside a conversion. Each check reads a small
shared file or a tiny synthetic input.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import subprocess
import sys
from datetime import datetime

import numpy as np
import pytest

from conftest import em_file
from pynxtools_em_plugin.compat import rsciio as compat
from pynxtools_em_plugin.formats._velox_stream import StreamSpectrumImage, decoded_on_demand

BCF = "bruker/30x30_instructively_packed_16bit_compressed.bcf"
SPX = "bruker/bruker_nano.spx"
ELID = "phenom/Elid2Version0.elid"
ASW = "jeol/rawdata.ASW"
JEOL_MAP = "jeol/Sample/00_View000/View000_0000001.map"
MIB = "quantumdetector/001_4x2_6bit.mib"
MIB_HDR = "quantumdetector/001_4x2_6bit.hdr"


def test_installed_version_is_in_the_supported_range():
    assert compat.version_supported(), compat.installed_version(compat.DISTRIBUTION)


@pytest.mark.parametrize(("module", "name"), compat.PRIVATE_NAMES, ids=lambda v: str(v))
def test_every_private_name_resolves(module, name):
    assert compat.private(module, name) is not None


def test_a_missing_name_is_reported_naming_it():
    with pytest.raises(compat.UpstreamChanged, match=r"rsciio\.msa\._api\.no_such_name"):
        compat.private("rsciio.msa._api", "no_such_name")


@pytest.mark.parametrize("module", ["jeol", "msa", "protochips"])
def test_reader_logger_is_the_logger_the_reader_module_logs_to(module):
    name = compat.reader_logger(module)
    assert importlib.import_module(f"rsciio.{module}._api")._logger is logging.getLogger(name)


# ---- velox ----------------------------------------------------------------------------
def test_velox_stream_decoder_signature_is_the_one_passed_on():
    original = compat.private("rsciio.utils._fei_stream_readers", "stream_to_array")
    assert tuple(inspect.signature(original).parameters) == compat.VELOX_STREAM_PARAMETERS


def test_velox_reader_decodes_streams_through_the_method_we_replace():
    """The replacement works only because rsciio.emd decodes every stream (the first and the ones
    added to it) through ``FeiSpectrumStream.stream_to_array``, whose reader holds the decoder's
    arguments; RosettaSciIO's stream module (sparse, numba) is then never imported."""
    velox = importlib.import_module("rsciio.emd._emd_velox")
    stream_class = compat.private("rsciio.emd._emd_velox", "FeiSpectrumStream")
    method = stream_class.stream_to_array
    assert tuple(inspect.signature(method).parameters) == compat.VELOX_STREAM_METHOD_PARAMETERS
    source = inspect.getsource(velox)
    assert "self.stream_to_array(stream_data=stream_data)" in source
    assert "s0.stream_to_array(" in source
    for attribute in ("spatial_shape", "last_frame", "first_frame", "rebin_energy", "sum_frames", "SI_data_dtype"):
        assert f"self.reader.{attribute}" in inspect.getsource(method), attribute
    with decoded_on_demand():
        assert stream_class.stream_to_array is not method
    assert stream_class.stream_to_array is method


def test_velox_stream_decoding_is_what_the_stream_image_reproduces():
    """Two frames of 1 x 2 pixels, 4 channels; 65535 ends a pixel. RosettaSciIO's dense
    decoding and :class:`StreamSpectrumImage` must agree (summed frames, rebinned by 2)."""
    stream = np.array([1, 65535, 2, 2, 65535, 3, 65535, 0, 1, 65535], dtype=np.uint16)
    original = compat.private("rsciio.utils._fei_stream_readers", "stream_to_array")
    dense = np.asarray(original(stream, (1, 2), 4, 2, 0, 2, True, "uint16"))
    np.testing.assert_array_equal(dense, [[[1, 1], [2, 2]]])
    image = StreamSpectrumImage((1, 2), 4, range(0, 2), 2, "uint16")
    image.add_stream(stream)
    np.testing.assert_array_equal(np.asarray(image), dense)


# ---- bruker ---------------------------------------------------------------------------
def test_bcf_and_spx_readers_return_signal_dictionaries():
    dicts = compat.read_bcf(str(em_file(BCF)), lazy=True, index="all")
    assert dicts and all({"data", "axes", "metadata", "original_metadata"} <= set(d) for d in dicts)
    assert "DSP Configuration" in dicts[-1]["original_metadata"]
    (spectrum,) = compat.read_spx(str(em_file(SPX)))
    assert spectrum["axes"][0]["units"] == "keV"


def test_bcf_hypermap_streams_give_blocks_to_walk():
    rows, columns, streams = compat.bcf_hypermap_streams(str(em_file(BCF)))
    assert rows > 0 and columns > 0
    index, blocks, block_size = next(iter(streams))
    assert isinstance(index, int) and block_size > 0
    assert isinstance(next(iter(blocks)), bytes)


# ---- phenom ---------------------------------------------------------------------------
def test_elid_reader_internals_we_override_exist_with_their_signatures():
    reader = compat.private("rsciio.phenom._api", "ElidReader")
    for name in compat.ELID_READER_INTERNALS:
        assert hasattr(reader, name), name
    assert list(inspect.signature(reader._read).parameters) == ["self", "size"]
    assert list(inspect.signature(reader._read_MapAnalysis).parameters) == ["self", "label", "am"]
    assert list(inspect.signature(reader._read_float64s).parameters) == ["self"]
    instance = reader(str(em_file(ELID)))
    assert {"_decompressor", "_file", "_block_size", "dictionaries"} <= set(vars(instance))


def test_read_elid_keeps_map_rectangles_outside_the_vendor_tree():
    dicts = compat.read_elid(str(em_file(ELID)))
    maps = [d for d in dicts if compat.MAP_RECTANGLE in d]
    assert len(maps) == 3
    rectangles = [d[compat.MAP_RECTANGLE] for d in maps]
    assert any(r["left"] == pytest.approx(-0.3016949152542373) for r in rectangles)  # "Image 1, Map 3"
    assert all(r["right"] > r["left"] and r["bottom"] > r["top"] for r in rectangles)
    assert all("rectangle" not in d["original_metadata"]["acquisition"]["scan"]["detectors"]["EDS"] for d in maps)


def test_read_elid_fails_instead_of_looping_on_a_truncated_file(tmp_path):
    cut = tmp_path / "cut.elid"
    cut.write_bytes(em_file(ELID).read_bytes()[:20000])
    with pytest.raises(EOFError):
        compat.read_elid(str(cut))


# ---- jeol -----------------------------------------------------------------------------
def test_parse_jeol_tree_gives_the_project_and_image_keys_we_read():
    with open(em_file(ASW), "rb") as handle:
        handle.seek(12)
        project = compat.parse_jeol_tree(handle)
    sample = next(iter(project["SampleInfo"].values()))
    view = next(iter(sample["ViewInfo"].values()))
    assert "Memo" in view and "Filename" in next(iter(view["ViewData"].values()))
    with open(em_file(JEOL_MAP), "rb") as handle:
        handle.seek(36)
        data_position = int(np.frombuffer(handle.read(12), "<u4")[2])
        handle.seek(data_position + 12)
        image = compat.parse_jeol_tree(handle)["Image"]
    width, height = (int(n) for n in image["Size"])
    assert width * height == np.size(image["Bits"])


# ---- msa ------------------------------------------------------------------------------
def test_element_symbols_by_atomic_number():
    assert [compat.element_symbol(z) for z in (8, 27, 16)] == ["O", "Co", "S"]
    assert compat.element_symbol(0) is None


def test_msa_numeric_keywords():
    numeric = compat.msa_numeric_keywords()
    assert {"BEAMKV", "XPERCHAN", "OFFSET", "LIVETIME"} <= numeric
    assert not {"OWNER", "DATE", "OPERMODE"} & numeric


# ---- edax ---------------------------------------------------------------------------------
def test_spc_header_size_is_the_record_rsciio_reads_per_version():
    assert compat.spc_header_size(0.7) == compat.spc_header_size(0.7000000476837158) == 20994  # float32 0.7
    assert compat.spc_header_size(0.61) == 20736


# ---- quantumdetector ------------------------------------------------------------------
def test_merlin_header_parsers_give_the_fields_we_read():
    properties = compat.mib_properties(str(em_file(MIB)))
    assert properties.head_size > 0 and properties.offset >= 0 and properties.file_size > 0
    assert len(properties.merlin_size) == 2 and np.dtype(properties.dtype).itemsize > 0
    hdr = compat.parse_merlin_hdr(str(em_file(MIB_HDR)))
    assert int(hdr["Frames per Trigger (Number)"]) >= 1 and int(hdr["Frames in Acquisition (Number)"]) == 8
    with open(em_file(MIB), "rb") as handle:
        header = handle.read(properties.head_size)
    (stamp,) = compat.merlin_frame_times([header])
    assert isinstance(np.datetime64(str(stamp).rstrip("Z")), np.datetime64)
    assert datetime.fromisoformat(str(np.datetime64(str(stamp).rstrip("Z"), "us"))).year >= 2000


# ---- blockfile, tvips -----------------------------------------------------------------
def test_blockfile_header_layout_has_the_fields_we_read():
    dtype = compat.blockfile_header_dtype()
    assert {"Data_offset_1", "Data_offset_2", "Camera_length", "SDP"} <= set(dtype.names)
    assert dtype.isnative or dtype.byteorder in "<|="


def test_tvips_frame_header_layout_has_the_fields_we_read():
    dtype = compat.tvips_frame_header_dtype()
    assert {"timestamp", "ms", "mode", "rotidx"} <= set(dtype.names)
    assert dtype.itemsize == 60  # tests/test_format_4dstem.py writes records of 60 + image bytes


def test_rsciio_unit_registry_shared_and_converting_as_a_fresh_one():
    """A fresh process: reading a Velox file leaves RosettaSciIO with pynxtools' registry, and
    RosettaSciIO's unit conversions give what a registry of its own gives."""
    code = """
import sys, pint
from pynxtools.units import ureg
original = pint.UnitRegistry
from pynxtools_em_plugin.formats import Acquisition, detect, read_signals
from pathlib import Path
path = Path(sys.argv[1])
read_signals(Acquisition(detect(path), path, []))
from rsciio.utils import _units
assert _units._UREG is ureg, type(_units._UREG)
assert pint.UnitRegistry is original  # pint itself untouched after the import
fresh = pint.UnitRegistry()
cases = [(1.5, "nm", "m"), (2.0, "1 / nm", "1 / m"), (3.0, "µm", "nm"), (0.25, "ms", "s"), (7.0, "1/m", "1/nm")]
for value, unit, target in cases:
    assert _units.convert_units(value, unit, target) == (value * fresh(unit)).to(target).magnitude, unit
print("ok")
"""
    path = em_file("velox/Test SI 16x16 215 kx.emd")
    result = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
