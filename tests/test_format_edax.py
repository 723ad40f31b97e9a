"""EDAX EDS: the real ``.spc`` spectrum and its EDAX ``.msa`` export, and ``.spd`` spectrum images.

No real ``.spd`` map is among the shared files: :func:`write_map` writes a small
``.spd`` + ``.spc`` + ``.ipr`` set with this test's own writer, byte for byte in
the layout RosettaSciIO's ``edax`` reader reads (``get_spd_dtype_list``,
``get_spc_dtype_list``, ``get_ipr_dtype_list``: field offsets written out below).
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from conftest import assert_clean_nxem, em_file, full_data, run_dataconverter, scalar
from pynxtools_em_plugin.errors import ConversionError, UnrecognisedFile
from pynxtools_em_plugin.formats import Acquisition, detect, edax, group, msa, read_signals

SPC = "edax/647_leo_edax_test.spc"
MSA = "edax/647_leo_edax_test.msa"
EVENT = "entry1/measurement/event1"
INSTRUMENT = f"{EVENT}/instrument"
EDS = f"{INSTRUMENT}/detector/eds_detector"
#: Map geometry of the generated set: lines x points x channels, 10 eV per channel.
LINES, POINTS, CHANNELS = 3, 4, 64
#: EDAX records the stage tilt, not its position.
NO_POSITION = (r"measurement/event\d+/instrument/stage/position",)


# ---- a small EDAX map, written in RosettaSciIO's layout -----------------------------------
def spc_header(channels: int = CHANNELS) -> bytes:
    """A version 0.61 ``.spc`` header (20736 bytes; RosettaSciIO's full header layout)."""
    header = bytearray(20736)
    struct.pack_into("<f", header, 0, 0.61)  # fVersion
    struct.pack_into("<hbbbbbb", header, 16, 2024, 17, 3, 25, 14, 0, 42)  # 2024-03-17 14:25:42
    struct.pack_into("<ih", header, 28, 3840, channels)  # dataStart, numPts
    struct.pack_into("<i", header, 384, 10)  # evPerChan
    # start and end energy (keV), live time (s), tilt, take-off angle
    struct.pack_into("<5f", header, 448, 0.0, channels * 0.01, 12.5, 70.0, 34.5)
    struct.pack_into("<f", header, 472, 128.0)  # detReso (eV at Mn K-alpha)
    struct.pack_into("<2f", header, 508, 45.0, 30.0)  # azimuth, elevation
    struct.pack_into("<f", header, 532, 20.0)  # kV
    struct.pack_into("<h3H", header, 638, 3, 26, 8, 14)  # numElem, at: Fe, O, Si
    return bytes(header)


def ipr_header() -> bytes:
    """A version 334 ``.ipr`` (264 bytes): electron image of the map, 0.25 x 0.5 µm pixels."""
    header = bytearray(264)
    struct.pack_into("<2H8s4HI", header, 0, 334, 1, b"SE", 0, 255, 0, 1, 50)  # ..., presetMode live, 50 ms
    struct.pack_into("<H2hIH2f", header, 52, 200, 70, 35, 5000, 10, 0.25, 0.5)  # accV (100 V), tilt, take-off, mag, wd
    return bytes(header)


def spd_file(counts: np.ndarray, image_name: str) -> bytes:
    """A ``.spd``: 1068-byte header (tag ... fName, filler), then the uint16 counts."""
    lines, points, channels = counts.shape
    header = bytearray(1068)
    struct.pack_into("<16s3i5I", header, 0, b"MAPSPECTRA_DATA", 1, lines * points, points, lines, channels, 2, 1068, 1)
    name = image_name.encode()
    header[48 : 48 + len(name)] = name
    return bytes(header) + counts.astype("<u2").tobytes()


def write_map(folder: Path, spc: bool = True, ipr: bool = True) -> tuple[Path, np.ndarray]:
    """``map.spd`` (with ``map.spc`` and ``map_Img.ipr``, the image its header names) and its counts."""
    counts = np.random.default_rng(7).integers(0, 200, (LINES, POINTS, CHANNELS), dtype=np.uint16)
    (folder / "map.spd").write_bytes(spd_file(counts, "map_Img.bmp"))
    if spc:
        (folder / "map.spc").write_bytes(spc_header() + bytes(4 * CHANNELS))
    if ipr:
        (folder / "map_Img.ipr").write_bytes(ipr_header())
    return folder / "map.spd", counts


# ---- the real spectrum ------------------------------------------------------------------
def test_spc_spectrum_energy_axis_and_settings(convert):
    result = convert(em_file(SPC))
    assert_clean_nxem(result, also_lacking=NO_POSITION)
    with result.h5() as h5:
        spectrum = full_data(h5)
        assert spectrum.name.endswith("spectrum_0d")
        assert spectrum["intensity"].shape == (4096,)
        energy = spectrum["axis_energy"]
        assert energy.attrs["units"] == "eV"
        assert (energy[0], energy[1]) == (pytest.approx(0.0), pytest.approx(5.0))
        assert scalar(h5, f"{EVENT}/type")[0] == "EDS"
        assert scalar(h5, f"{INSTRUMENT}/ebeam_column/electron_source/voltage") == (pytest.approx(10.0), "kV")
        assert scalar(h5, f"{INSTRUMENT}/detector/count_time") == (pytest.approx(30.0), "s")
        assert scalar(h5, f"{EDS}/energy_resolution") == (pytest.approx(125.16, abs=0.01), "eV")
        assert scalar(h5, f"{EDS}/elevation_angle") == (pytest.approx(35.0), "degree")
        assert scalar(h5, f"{EVENT}/start_time")[0] == "2022-08-29T10:14:08+00:00"
        assert scalar(h5, f"{EVENT}/derived_metadata/assumed_time_zone")[0] == "UTC"
        raw = json.loads(h5[f"{EVENT}/vendor_metadata/original_metadata"][()])
        assert raw["spc_header"]["numPts"] == 4096
    counts = np.fromfile(em_file(SPC), dtype="<u4", offset=3840, count=4096)
    signal = edax.read(em_file(SPC), [])[0]
    np.testing.assert_array_equal(np.asarray(signal.data), counts)


def mapped(h5, with_units: bool = True) -> dict[str, tuple]:
    paths = {
        "beam energy": f"{INSTRUMENT}/ebeam_column/electron_source/voltage",
        "tilt": f"{INSTRUMENT}/stage/tilt1",
        "take-off angle": f"{EDS}/take_off_angle",
        "live time": f"{INSTRUMENT}/detector/count_time",
        "energy resolution": f"{EDS}/energy_resolution",
        "amplifier time": f"{EDS}/amplifier_time",
        "elements": "entry1/roi1/eds/indexing/atom_types",
    }
    return {name: scalar(h5, path) for name, path in paths.items()}


def test_spc_and_its_edax_msa_export_give_the_same_values(convert):
    """The EDAX '##' keywords of the .msa land where the .spc header's values land."""
    with convert(em_file(SPC)).h5() as h5:
        from_spc = mapped(h5)
    msa_result = convert(em_file(MSA))
    assert_clean_nxem(msa_result, also_lacking=NO_POSITION)
    with msa_result.h5() as h5:
        from_msa = mapped(h5)
        assert scalar(h5, f"{INSTRUMENT}/detector/local_name")[0] == "Octane Elite 25"
    assert from_spc["elements"] == from_msa["elements"] == ("Co, O, S", None)
    assert from_spc["tilt"] == from_msa["tilt"] == (pytest.approx(-1.0), "degree")
    assert from_msa["take-off angle"] == (pytest.approx(35.5), "degree")
    for name, (value, units) in from_spc.items():
        assert from_msa[name][1] == units, name
        assert from_msa[name][0] == (value if isinstance(value, str) else pytest.approx(value, abs=0.1)), name


def test_msa_edax_keywords_are_normalised():
    keywords = msa.read(em_file(MSA), [])[0].derived["keywords"]
    assert keywords["TILT ANGLE"] == "-1.0" and keywords["ATOM_TYPES"] == "Co, O, S"


# ---- a spectrum image -------------------------------------------------------------------
def test_spd_map_with_its_spc_and_ipr_is_one_calibrated_acquisition(tmp_path, convert):
    spd, counts = write_map(tmp_path)
    files = sorted(tmp_path.iterdir())
    assert {detect(f) for f in files} == {edax}
    (acquisition,) = group([(edax, f) for f in files], files)
    assert acquisition.main == spd
    assert sorted(acquisition.companions) == [tmp_path / "map.spc", tmp_path / "map_Img.ipr"]
    signal = read_signals(acquisition)[0]
    assert type(signal.data).__module__.startswith("dask")  # memory-mapped, read in blocks when written
    result = convert(*files)
    assert_clean_nxem(result, also_lacking=NO_POSITION)
    with result.h5() as h5:
        image = full_data(h5)
        assert image.name.endswith("spectrum_2d")
        np.testing.assert_array_equal(image["intensity"][()], counts)
        assert image["axis_i"].attrs["units"] == image["axis_j"].attrs["units"] == "nm"  # the .ipr's µm per pixel
        np.testing.assert_allclose(image["axis_i"][()], 250.0 * np.arange(POINTS))
        np.testing.assert_allclose(image["axis_j"][()], 500.0 * np.arange(LINES))
        np.testing.assert_allclose(image["axis_energy"][()], 10.0 * np.arange(CHANNELS))
        assert image["axis_energy"].attrs["units"] == "eV"
        assert scalar(h5, f"{INSTRUMENT}/ebeam_column/electron_source/voltage") == (pytest.approx(20.0), "kV")
        assert scalar(h5, f"{INSTRUMENT}/optics/magnification")[0] == pytest.approx(5000)
        assert scalar(h5, f"{INSTRUMENT}/ebeam_column/scan_controller/dwell_time") == (pytest.approx(50000.0), "µs")
        assert scalar(h5, f"{INSTRUMENT}/stage/tilt1") == (pytest.approx(70.0), "degree")
        assert scalar(h5, f"{EDS}/take_off_angle") == (pytest.approx(34.5), "degree")
        assert scalar(h5, f"{INSTRUMENT}/detector/count_time") == (pytest.approx(12.5), "s")
        assert scalar(h5, "entry1/roi1/eds/indexing/atom_types")[0] == "Fe, O, Si"
        assert scalar(h5, f"{EVENT}/start_time")[0] == "2024-03-17T14:25:42+00:00"
        assert list(h5["entry1/measurement"]) == ["event1"]  # one event: the .spc and .ipr are companions


def test_spd_without_its_calibration_files_converts_uncalibrated_with_warnings(tmp_path):
    spd, counts = write_map(tmp_path, spc=False, ipr=False)
    signal = edax.read(spd, [])[0]
    np.testing.assert_array_equal(np.asarray(signal.data), counts)
    assert [axis.units for axis in signal.axes] == ["", "", ""]
    np.testing.assert_array_equal(signal.axes[2].values, np.arange(CHANNELS))
    assert any("no .spc file" in w for w in signal.warnings) and any("no .ipr file" in w for w in signal.warnings)


def test_ipr_alone_is_refused_naming_the_spd(tmp_path):
    write_map(tmp_path)
    ipr = tmp_path / "map_Img.ipr"
    assert detect(ipr) is edax
    with pytest.raises(ConversionError, match=r"\.ipr\) without data; pass the \.spd"):
        read_signals(Acquisition(edax, ipr, []))


@pytest.mark.parametrize(
    ("name", "cut"),
    [("map.spd", -10)],
)
def test_truncated_or_empty_edax_file_is_one_clear_line(tmp_path, name, cut):
    write_map(tmp_path)
    source = {"cut.spc": em_file(SPC), "map.spd": tmp_path / "map.spd", "empty.spd": tmp_path / "map.spd"}[name]
    content = source.read_bytes()
    (tmp_path / f"bad_{name}").write_bytes(content[:cut])
    result = run_dataconverter(f"bad_{name}", "--output", "out.nxs", cwd=tmp_path)
    assert result.returncode != 0 and "Traceback" not in result.stderr + result.stdout
    assert result.stderr.strip().splitlines()[-1].startswith(f"Error: bad_{name}: ")
    assert not (tmp_path / "out.nxs").exists()


@pytest.mark.parametrize("cut", [34, 100, 400, 535, 3839, 20993])
def test_spc_cut_inside_its_header_is_named_as_a_truncated_spc(tmp_path, cut):
    """Claimed by the fields its first bytes still hold; one line naming the file, exit 1, no output."""
    from click.testing import CliRunner

    from pynxtools_em_plugin.cli import main

    bad = tmp_path / "cut.spc"
    bad.write_bytes(em_file(SPC).read_bytes()[:cut])
    assert detect(bad) is edax
    result = CliRunner().invoke(main, ["convert", str(bad), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1 and "Traceback" not in result.output
    (line,) = [line for line in result.output.splitlines() if "FAILED" in line]
    assert line.endswith(
        f"FAILED  {bad}: is an EDAX .spc file cut short: holds {cut} bytes, "
        "its header and 4096 channels of counts take 20994: truncated or damaged"
    )
    assert not any(p.is_file() for p in tmp_path.rglob("*") if p != bad)


def test_a_short_file_without_the_spc_acquisition_date_is_not_claimed(tmp_path):
    header = bytearray(spc_header()[:400])  # version 0.61: a second layout, the same signature
    short = tmp_path / "short.spc"
    short.write_bytes(header)
    assert detect(short) is edax
    header[16:24] = bytes(8)  # no date: too little to tell a cut .spc from another short file
    short.write_bytes(header)
    with pytest.raises(UnrecognisedFile):
        detect(short)
    short.write_bytes(spc_header()[:33])  # with its date, but not even the channel count
    with pytest.raises(UnrecognisedFile):
        detect(short)


@pytest.mark.parametrize(
    ("name", "cut", "reason"),
    [
        ("map.spd", 40, "inside its header"),
        ("cut.spc", 3000, "truncated"),
        ("cut.spc", 20000, "truncated"),
        ("map.spd", 0, "empty"),
    ],
)
def test_edax_file_cut_short_is_refused(tmp_path, name, cut, reason):
    write_map(tmp_path)
    source = em_file(SPC) if name == "cut.spc" else tmp_path / name
    bad = tmp_path / f"bad_{name}"
    bad.write_bytes(source.read_bytes()[:cut])
    with pytest.raises(ConversionError, match=reason):
        read_signals(Acquisition(detect(bad), bad, []))
