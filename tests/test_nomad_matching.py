"""The NOMAD integration's plain parts (no nomad-lab needed): which uploaded files are
claimed, what is read with them, what the NXem summary says, the example upload data,
and nomad_plugin.yaml against pyproject.toml."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

from conftest import EXAMPLES, REPO, em_file, shared_files
from fixtures_tiff import write_hitachi, write_plain_tiff, write_png, write_tescan
from pynxtools_em_plugin.nomad.matching import claims, conversion_inputs, eln_files, kept_name
from pynxtools_em_plugin.nomad.summary import summarize_file

EXAMPLE_UPLOAD = REPO / "src" / "pynxtools_em_plugin" / "nomad" / "example_upload"


def _copy(tmp_path: Path, *relative: str) -> list[Path]:
    copies = []
    for name in relative:
        target = tmp_path / Path(name).name
        shutil.copy(em_file(name), target)
        copies.append(target)
    return copies


# ---- matching -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "relative",
    [
        "gatan/2D/test_STEM_image.dm3",
        "velox/fei_example_tem_stack.emd",
        "tia/64x64_TEM_images_acquire.emi",
        "tiff/FEI-Helios-Ebeam-16bits.tif",
        "tiff/test_tiff_Zeiss_SEM_512pix.tif",
        "bruker/test_TEM.bcf",
        "phenom/Elid2Version0.elid",
        "msa/example1.msa",
        "mrc/HAADFscan.mrc",
        "quantumdetector/001_4x2_6bit.mib",
        "blockfile/test1.blo",
        "ncem_emd/example_image.emd",
        "tvips/test_tvips_2345_000.tvips",
        "protochips/protochips_gas_cell.csv",
        "jeol/rawdata.ASW",
        "edax/647_leo_edax_test.spc",
        "hspy/example2_v3.1.hspy",
        "zspy/signal1d_10x10-ZipStore.zspy",
        "arina/test_00_master.h5",
    ],
)
def test_vendor_files_are_claimed(relative):
    assert claims(em_file(relative))


def test_renamed_vendor_file_is_claimed_by_content(tmp_path):
    renamed = tmp_path / "scan_0815.bin"
    shutil.copy(em_file("gatan/2D/test_STEM_image.dm3"), renamed)
    assert claims(renamed)


def test_files_that_are_not_em_data_are_not_claimed(tmp_path, convert):
    photo = write_plain_tiff(tmp_path)
    png = write_png(tmp_path)
    random_hdf5 = tmp_path / "measurement.h5"
    with h5py.File(random_hdf5, "w") as h5:
        h5.create_dataset("data/temperature", data=np.linspace(290, 300, 50))
        h5["data"].attrs["instrument"] = "cryostat"
    notes = tmp_path / "notes.txt"
    notes.write_text("beam was unstable after lunch\n")
    eln = tmp_path / "eln.yaml"
    shutil.copy(EXAMPLES / "eln.yaml", eln)
    nexus = convert(em_file("gatan/2D/test_STEM_image.dm3")).path  # handled by pynxtools' NeXus parser
    hidden = tmp_path / kept_name(tmp_path / "x.dm3")
    shutil.copy(em_file("gatan/2D/test_STEM_image.dm3"), hidden)
    for path in (photo, png, random_hdf5, notes, eln, nexus, hidden, tmp_path / "missing.dm3", tmp_path):
        assert not claims(path), path


def test_vendor_tiffs_are_claimed_with_their_sidecar_as_companion(tmp_path):
    image, sidecar = write_hitachi(tmp_path)  # no private tag: Hitachi only through its sidecar
    assert claims(image) and not claims(sidecar)
    tescan = write_tescan(tmp_path, with_tag=False, with_hdr=True)
    assert claims(tescan) and not claims(tmp_path / "tescan-tif.hdr")
    _, companions, _ = conversion_inputs(image)
    assert companions == [sidecar]


def test_companions_are_not_claimed_and_are_read_with_their_main_file(tmp_path):
    emi, ser1, ser2 = _copy(
        tmp_path,
        "tia/16x16_STEM_BF_DF_acquire.emi",
        "tia/16x16_STEM_BF_DF_acquire_1.ser",
        "tia/16x16_STEM_BF_DF_acquire_2.ser",
    )
    mib, hdr = _copy(tmp_path, "quantumdetector/001_4x2_6bit.mib", "quantumdetector/001_4x2_6bit.hdr")
    assert [claims(p) for p in (emi, ser1, ser2, mib, hdr)] == [True, False, False, True, False]
    fmt, companions, eln = conversion_inputs(emi)
    assert fmt.NAME == "tia" and companions == [ser1, ser2] and eln == []
    assert conversion_inputs(mib)[1] == [hdr]


def test_companions_of_the_same_ending_are_not_claimed(tmp_path):
    """A Dectris master's data and side files end in .h5 like the master."""
    master, data, side = _copy(tmp_path, "arina/test_00_master.h5", "arina/test_00_data_000001.h5", "arina/test_00.h5")
    assert [claims(p) for p in (master, data, side)] == [True, False, False]
    assert sorted(conversion_inputs(master)[1]) == [side, data]


def test_lone_companion_is_claimed_so_its_entry_says_what_is_missing(tmp_path):
    (ser,) = _copy(tmp_path, "tia/64x64_TEM_images_acquire_1.ser")  # a .ser converts on its own
    (hdr,) = _copy(tmp_path, "quantumdetector/001_4x2_6bit.hdr")
    assert claims(ser) and claims(hdr)


def test_jeol_project_files_belong_to_the_asw_two_folders_up():
    asw = em_file("jeol/rawdata.ASW")
    members = shared_files("jeol/Sample/**/*.*")
    assert members and claims(asw)
    assert not any(claims(asw.parent / m.removeprefix("jeol/")) for m in members)
    assert len(conversion_inputs(asw)[1]) == len(members)


def test_eln_yaml_applies_to_its_folder_or_to_one_file(tmp_path):
    (dm3,) = _copy(tmp_path, "gatan/2D/test_STEM_image.dm3")
    assert eln_files(dm3) == []
    for name in ("eln.yaml", "test_STEM_image.dm3.eln.yaml", "other.eln.yaml"):
        shutil.copy(EXAMPLES / "eln.yaml", tmp_path / name)
    assert [p.name for p in eln_files(dm3)] == ["eln.yaml", "test_STEM_image.dm3.eln.yaml"]


# ---- summary --------------------------------------------------------------------------------


SUMMARIES = {
    # file: (modes, techniques, signal kinds, elements)
    "gatan/2D/test_STEM_image.dm3": (["STEM"], ["STEM imaging"], ["image"], []),
    "gatan/2D/test_diffraction_pattern.dm3": (["TEM"], ["Electron diffraction"], ["diffraction"], []),
    "gatan/1D/test-EELS_spectrum.dm3": (["STEM"], ["EELS"], ["spectrum"], []),
    "gatan/1D/test-EDS_spectrum.dm3": (["STEM"], ["EDS"], ["spectrum"], []),
    "gatan/2D/test-MonarcCL_spectrum-SI.dm4": (
        ["SEM"],
        ["Cathodoluminescence (hyperspectral)"],
        ["spectrum image"],
        [],
    ),
    "tiff/FEI-Helios-Ebeam-16bits.tif": (["SEM"], ["SEM imaging"], ["image"], []),
    "tia/64x64_TEM_images_acquire.emi": (["TEM"], ["TEM imaging"], ["image"], []),
    "quantumdetector/001_4x2_6bit.mib": (["STEM"], ["4D-STEM"], ["4D"], []),
    "bruker/test_TEM.bcf": (["STEM"], ["STEM imaging", "EDS"], ["image", "spectrum image"], ["Cu", "O", "Pd", "Ti"]),
    "velox/example_velox_EELS_EDS.emd": (
        ["STEM"],
        ["EDS", "STEM imaging", "EELS"],
        ["spectrum", "image", "spectrum image"],
        ["Co", "Fe", "O"],  # element maps titled Co, Fe, O, Fe-EELS...
    ),
    "protochips/protochips_gas_cell.csv": ([], ["In-situ log"], ["time series"], []),  # the stored label
    "delmic/sparc-angle-resolved.h5": ([], ["Cathodoluminescence (angle-resolved)"], ["4D", "image"], []),
    "hamamatsu/photon_counting.img": (
        [],
        ["Cathodoluminescence (time-resolved)"],
        ["spectrum image"],
        [],
    ),  # spectra over time
    "dens/file1.dens": ([], ["In-situ log"], ["time series"], []),
}


@pytest.mark.parametrize("relative", sorted(SUMMARIES))
def test_summary_of_converted_vendor_files(relative, convert):
    modes, techniques, kinds, elements = SUMMARIES[relative]
    summary = summarize_file(convert(em_file(relative)).path)
    assert summary.methods == ["Electron microscopy", *modes, *techniques]
    assert summary.signal_kinds == kinds
    assert summary.elements == elements
    assert summary.start_time is not None and summary.start_time.tzinfo is not None


def test_summary_instrument_sample_and_earliest_time(convert):
    summary = summarize_file(convert(EXAMPLES / "example_haadf.emd", EXAMPLES / "eln.yaml").path)
    assert summary.instruments == ["FEI Company Themis Z"]
    assert summary.sample_names == ["SrTiO3 lamella A3"]
    assert summary.elements == ["O", "Sr", "Ti"]  # sample atom types from the ELN
    assert summary.start_time.isoformat() == "2024-11-21T10:40:00+00:00"


def write_other_writer_nxem(path: Path) -> Path:
    """An NXem file laid out unlike ours: other group names, high tension in V, Å axes,
    an NXem_eds group with element-named maps, atom types as a string array."""
    with h5py.File(path, "w") as h5:
        entry = _group(h5, "scan7", "NXentry")
        entry["definition"] = "NXem"
        sample = _group(entry, "specimen", "NXsample")
        sample["atom_types"] = np.array([b"Si", b"Ge"])
        sample["name"] = "SiGe multilayer"
        measurement = _group(entry, "measurement", "NXem_measurement")
        imaging = _group(measurement, "event_a", "NXem_event_data")
        imaging["start_time"] = "2023-03-01T09:00:00+01:00"
        column = _group(_group(imaging, "em", "NXem_instrument"), "column", "NXebeam_column")
        column["operation_mode"] = "TEM bright field"
        _group(column, "gun", "NXsource")["voltage"] = 200000.0
        column["gun/voltage"].attrs["units"] = "V"
        image = _group(_group(imaging, "img", "NXimage"), "overview", "NXdata")
        image.attrs.update(signal="counts", axes=["y", "x"])
        image["counts"] = np.zeros((4, 5))
        for name, size in (("y", 4), ("x", 5)):
            image[name] = np.arange(size) * 0.5
            image[name].attrs["units"] = "Å"
        spectroscopy = _group(measurement, "event_b", "NXem_event_data")
        spectroscopy["start_time"] = "2023-03-01T08:30:00+01:00"
        eds = _group(spectroscopy, "xray", "NXem_eds")
        spectrum = _group(eds, "sum", "NXdata")
        spectrum.attrs.update(signal="intensity", axes="energy")
        spectrum["intensity"] = np.ones(100)
        spectrum["energy"] = np.linspace(0, 20, 100)
        spectrum["energy"].attrs["units"] = "keV"
        indexing = _group(eds, "indexing", "NXprocess")
        for line in ("Si_K", "Al_K"):
            _group(indexing, line, "NXimage")
    return path


def _group(parent, name: str, nx_class: str):
    group = parent.create_group(name)
    group.attrs["NX_class"] = nx_class
    return group


def test_summary_of_an_nxem_file_from_another_writer(tmp_path):
    summary = summarize_file(write_other_writer_nxem(tmp_path / "other.nxs"))
    assert summary.modes == ["TEM"]  # from the operation mode words, 200000 V
    assert summary.techniques == ["TEM imaging", "EDS"]  # EDS from the NXem_eds class
    assert summary.signal_kinds == ["image", "spectrum"]
    assert summary.elements == ["Al", "Ge", "Si"]
    assert summary.sample_names == ["SiGe multilayer"]
    assert summary.start_time.isoformat() == "2023-03-01T08:30:00+01:00"


def write_other_writer_ebsd(path: Path) -> Path:
    """An NXem EBSD map of another writer, following NXem_ebsd (pynxtools 0.16): an SEM event at 20 kV and
    ENTRY/roi1/ebsd/indexing with a not-indexed phase 0 and two phases (NXphase, NXunit_cell)."""
    with h5py.File(path, "w") as h5:
        entry = _group(h5, "entry1", "NXentry")
        entry["definition"] = "NXem"
        event = _group(_group(entry, "measurement", "NXem_measurement"), "event1", "NXem_event_data")
        event["start_time"] = "2022-11-03T14:00:00+01:00"
        column = _group(_group(event, "instrument", "NXem_instrument"), "ebeam_column", "NXebeam_column")
        _group(column, "electron_source", "NXsource")["voltage"] = 20.0
        column["electron_source/voltage"].attrs["units"] = "kV"
        indexing = _group(_group(_group(entry, "roi1", "NXroi_process"), "ebsd", "NXem_ebsd"), "indexing", "NXprocess")
        indexing["number_of_scan_points"] = 12
        phases = ((0, "notIndexed", None), (1, "Iron alpha", "Im-3m"), (2, "Cementite", "Pnma"))
        for number, name, space_group in phases:
            phase = _group(indexing, f"phase{number}", "NXphase")
            phase["phase_id"] = number
            phase["name"] = name
            if space_group:
                _group(phase, "unit_cell", "NXunit_cell")["space_group"] = space_group
        ipf = _group(indexing, "roi", "NXdata")
        ipf.attrs.update(signal="data", axes=["axis_y", "axis_x"])
        ipf["data"] = np.zeros((3, 4), dtype=np.uint8)
        for name, size in (("axis_y", 3), ("axis_x", 4)):
            ipf[name] = np.arange(size) * 0.5
            ipf[name].attrs["units"] = "µm"
    return path


def test_summary_of_an_ebsd_map_from_another_writer(tmp_path):
    summary = summarize_file(write_other_writer_ebsd(tmp_path / "ebsd.nxs"))
    assert summary.techniques == ["EBSD"]
    assert summary.modes == ["SEM"]  # 20 kV
    assert summary.phases == ["Iron alpha", "Cementite"]  # phase 0 is the not-indexed null model
    assert summary.events[0].settings["high_tension"] == pytest.approx(20000.0)


def test_summary_settings_are_converted_to_si_units_or_left_out(tmp_path):
    path = write_other_writer_nxem(tmp_path / "other.nxs")
    with h5py.File(path, "a") as h5:
        optics = _group(h5["scan7/measurement/event_a/em"], "optics", "NXem_optical_system")
        optics["camera_length"] = 80.0
        optics["camera_length"].attrs["units"] = "cm"
        optics["probe_current"] = 1.5
        optics["probe_current"].attrs["units"] = "m"  # the wrong kind: not a current
        optics["magnification"] = 50000
    settings = summarize_file(path).events[0].settings
    assert settings["high_tension"] == pytest.approx(200000.0)
    assert settings["camera_length"] == pytest.approx(0.8)
    assert settings["magnification"] == pytest.approx(50000.0)
    assert "probe_current" not in settings
    assert settings["pixel_size"] == pytest.approx(0.5e-10)  # 0.5 Å steps


def test_summary_is_none_for_other_nexus_definitions(tmp_path):
    path = tmp_path / "iv.nxs"
    with h5py.File(path, "w") as h5:
        _group(h5, "entry", "NXentry")["definition"] = "NXiv_temp"
    assert summarize_file(path) is None


# ---- example upload and plugin description ----------------------------------------------------


def test_example_upload_data_is_made_by_the_project(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_example_upload", EXAMPLES / "nomad" / "make_example_upload.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fresh = module.write_upload(tmp_path)
    assert sorted(p.name for p in fresh) == ["eln.yaml", "example_eds.msa", "example_eels.msa", "example_haadf.emd"]
    for path in fresh:
        assert path.read_bytes() == (EXAMPLE_UPLOAD / path.name).read_bytes(), path.name
    assert sorted(p.name for p in EXAMPLE_UPLOAD.iterdir()) == sorted([*(p.name for p in fresh), "README.md"])


def test_example_upload_files_are_claimed_except_the_eln(tmp_path):
    for path in EXAMPLE_UPLOAD.iterdir():
        shutil.copy(path, tmp_path / path.name)
    claimed = sorted(p.name for p in tmp_path.iterdir() if claims(p))
    assert claimed == ["example_eds.msa", "example_eels.msa", "example_haadf.emd"]
    assert all(eln_files(tmp_path / name) == [tmp_path / "eln.yaml"] for name in claimed)


def test_a_folder_of_two_or_more_acquisitions_is_a_session_owned_by_the_first(tmp_path):
    from pynxtools_em_plugin.nomad.sessions import owns_session, session_members, session_name

    for name in ("64x64_TEM_images_acquire.emi", "64x64_TEM_images_acquire_1.ser"):
        shutil.copy(em_file(f"tia/{name}"), tmp_path / name)
    shutil.copy(em_file("msa/example1.msa"), tmp_path / "spectrum.msa")
    shutil.copy(EXAMPLES / "eln.yaml", tmp_path / "eln.yaml")
    members = [tmp_path / "64x64_TEM_images_acquire.emi", tmp_path / "spectrum.msa"]  # no companion, no eln.yaml
    assert session_members(tmp_path / "spectrum.msa") == members
    assert session_members(tmp_path / "64x64_TEM_images_acquire_1.ser") == []  # a companion is no member
    assert [owns_session(p) for p in members] == [True, False]
    assert session_name("day1/run2/spectrum.msa", members[1]) == "day1/run2"
    assert session_name(str(members[1]), members[1]) == tmp_path.name  # local parsing: absolute mainfile
    (tmp_path / "spectrum.msa").unlink()
    assert session_members(tmp_path / "64x64_TEM_images_acquire.emi") == []  # one acquisition: no session


def test_the_folder_eln_yaml_names_or_refuses_its_session(tmp_path):
    from pynxtools_em_plugin.eln import load_eln
    from pynxtools_em_plugin.errors import ConversionError
    from pynxtools_em_plugin.nomad.sessions import session_members, session_name

    shutil.copy(em_file("msa/example1.msa"), tmp_path / "spectrum.msa")
    shutil.copy(em_file("gatan/2D/test_STEM_image.dm3"), tmp_path / "image.dm3")
    members = [tmp_path / "image.dm3", tmp_path / "spectrum.msa"]
    eln = tmp_path / "eln.yaml"
    eln.write_text("session: {name: Lamella A3 day 1}\nsample: {name: A3}\n", encoding="utf-8")
    assert session_members(members[1]) == members
    assert session_name("day1/run2/spectrum.msa", members[1]) == "Lamella A3 day 1"
    eln.write_text("session: false\n", encoding="utf-8")
    assert session_members(members[1]) == []  # the edited eln.yaml is read again
    eln.write_text("session: true\n", encoding="utf-8")
    assert session_members(members[1]) == members
    assert session_name("day1/run2/spectrum.msa", members[1]) == "day1/run2"
    eln.write_text("session: maybe\n", encoding="utf-8")
    with pytest.raises(ConversionError, match=r"'session' must be true, false or \{name: \.\.\.\}"):
        load_eln([eln])
    assert session_members(members[1]) == members  # an unreadable eln.yaml leaves the default


def test_nomad_plugin_yaml_matches_pyproject():
    plugin = yaml.safe_load((REPO / "nomad_plugin.yaml").read_text(encoding="utf-8"))
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert plugin["name"] == project["name"]
    assert plugin["description"] == project["description"]
    assert any(r.startswith("nomad-lab") and r in project["optional-dependencies"]["nomad"] for r in plugin["requires"])
    declared = project["entry-points"]["nomad.plugin"]
    assert {e["name"]: e["object"] for e in plugin["entry_points"]} == declared
    kinds = ("parser", "normalizer", "schema_package", "app", "example_upload")
    assert all(e["kind"] in kinds for e in plugin["entry_points"])


@pytest.mark.parametrize(
    ("relative", "phases", "settings"),
    [
        ("ebsd/ctf/twins.ctf", ["Magnesium"], {"high_tension": 20000.0}),
        ("ebsd/edax_h5ebsd/patterns.h5", ["Nickel"], {}),
    ],
)
def test_summary_of_our_own_ebsd_conversions(relative, phases, settings, convert):
    """What NOMAD shows of an EBSD file converted by this package: EBSD among the methods, the phases by name,
    the SEM settings of the header in SI units."""
    pytest.importorskip("orix")
    summary = summarize_file(convert(em_file(relative)).path)
    assert "EBSD" in summary.techniques
    assert summary.phases == phases
    for name, value in settings.items():
        assert summary.events[0].settings[name] == pytest.approx(value)
