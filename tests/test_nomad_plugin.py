"""The plugin inside NOMAD (nomad-lab 2.x, installed with the extra [nomad]): entry points,
raw vendor files parsed and normalised by NOMAD's own machinery, the NXem normaliser on
files of other writers, the search app's quantities, the example upload.

Skipped when nomad-lab is not installed. NOMAD builds pynxtools' NeXus metainfo once per
process (about 30 s): archives are parsed once per session and shared by the tests.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

pytest.importorskip("nomad.client", reason="nomad-lab is not installed (pip install '.[nomad]')")

from conftest import EXAMPLES, REPO, em_file
from pynxtools_em_plugin.conversion import convert
from pynxtools_em_plugin.nomad.matching import kept_name
from test_nomad_matching import write_other_writer_nxem

PREFIX = "pynxtools_em_plugin.nomad.entry_points:"
PARSER_ID = PREFIX + "em_raw_parser"
SCHEMA = "pynxtools.nomad.schema.Root"

#: Raw files of six formats (more below): high tension (kV), imaging modes, techniques, signal kinds, elements.
RAW_FILES = {
    "gatan/2D/test_STEM_image.dm3": (200.0, ["STEM"], ["STEM imaging"], ["image"], []),
    "velox/example_velox_EELS_EDS.emd": (
        300.0,
        ["STEM"],
        ["EDS", "STEM imaging", "EELS"],
        ["spectrum", "image", "spectrum image"],
        ["Co", "Fe", "O"],
    ),
    "tia/64x64_TEM_images_acquire.emi": (200.0, ["TEM"], ["TEM imaging"], ["image"], []),
    "tiff/FEI-Helios-Ebeam-16bits.tif": (5.0, ["SEM"], ["SEM imaging"], ["image"], []),
    "bruker/test_TEM.bcf": (
        200.0,
        ["STEM"],
        ["STEM imaging", "EDS"],
        ["image", "spectrum image"],
        ["Cu", "O", "Pd", "Ti"],
    ),
    "msa/example1.msa": (120.0, ["TEM"], ["EELS"], ["spectrum"], []),
}


class RecordingLogger:
    """A structlog-like logger that keeps every event (level, message, bound and given fields)."""

    def __init__(self, records: list[dict] | None = None, **bound):
        self.records = [] if records is None else records
        self.bound = bound

    def bind(self, **fields) -> RecordingLogger:
        return RecordingLogger(self.records, **{**self.bound, **fields})

    def __getattr__(self, level: str):
        def log(event="", *args, **fields):
            exc = fields.get("exc_info")
            self.records.append({"level": level, "event": str(event), **self.bound, **fields, "exc": repr(exc)})

        return log


#: Log records of every NOMAD parse and normalisation of this test session.
NOMAD_LOGS: list[dict] = []


@pytest.fixture(scope="session")
def nomad_parse():
    """NOMAD's own parsing (matching included) and normalisation, once per file and context."""
    from nomad.client import normalize_all, parse

    cache = {}

    def run(path: Path, server_context: bool = False):
        key = (str(path), server_context)
        if key not in cache:
            logger = RecordingLogger(NOMAD_LOGS, mainfile=str(path))
            archive = parse(str(path), server_context=server_context, logger=logger)[0]
            normalize_all(archive, logger=logger)
            archive.metadata.apply_archive_metadata(archive)
            cache[key] = archive
        return cache[key]

    return run


@pytest.fixture(scope="session")
def example_upload(tmp_path_factory) -> Path:
    """The example upload as NOMAD instantiates it: the entry point copies its resources."""
    from nomad.config import config

    config.load_plugins()
    target = tmp_path_factory.mktemp("example_upload")
    config.plugins.entry_points.options[PREFIX + "em_example_upload"].load(str(target))
    return target


def _match(path: Path):
    from nomad.parsing.parsers import match_parser

    parser, _ = match_parser(str(path))
    return None if parser is None else parser.name


def _first_event(archive):
    return archive.data.ENTRY[0].measurement.eventID[0]


def _search_values(archive) -> dict[str, list]:
    values: dict[str, list] = {}
    for quantity in archive.metadata.search_quantities:
        value = next(
            (v for v in (quantity.str_value, quantity.float_value, quantity.datetime_value) if v is not None), None
        )
        values.setdefault(quantity.id, []).append(value)
    return values


# ---- entry points --------------------------------------------------------------------------


def test_entry_points_are_listed_by_nomad_config_and_load():
    from nomad.config import config
    from nomad.normalizing import Normalizer
    from nomad.parsing.parser import Parser

    config.load_plugins()
    ours = {k: v for k, v in config.plugins.entry_points.filtered_items() if k.startswith(PREFIX)}
    described = yaml.safe_load((REPO / "nomad_plugin.yaml").read_text(encoding="utf-8"))["entry_points"]
    assert sorted(ours) == sorted(e["object"] for e in described)
    for entry in described:
        entry_point = ours[entry["object"]]
        assert entry_point.entry_point_type == entry["kind"]
        assert entry_point.plugin_package == "pynxtools_em_plugin"
    assert isinstance(ours[PARSER_ID].load(), Parser)
    assert isinstance(ours[PREFIX + "em_normalizer"].load(), Normalizer)
    assert ours[PREFIX + "em_app_entry_point"].app.path == "electron-microscopy"


def test_nomad_matches_raw_files_to_this_plugin_and_nexus_files_to_pynxtools(tmp_path):
    from nomad.parsing.parsers import parser_dict

    assert PARSER_ID in parser_dict
    assert _match(em_file("gatan/2D/test_STEM_image.dm3")) == PARSER_ID
    assert _match(em_file("tia/64x64_TEM_images_acquire.emi")) == PARSER_ID
    assert _match(em_file("tia/64x64_TEM_images_acquire_1.ser")) is None  # read with its .emi
    nexus = tmp_path / "converted.nxs"
    outcome = convert([em_file("gatan/2D/test_STEM_image.dm3")], nexus)
    assert outcome.status == "converted", outcome.message
    assert _match(nexus) == "pynxtools.nomad.parsers:nexus_parser"


def test_files_that_are_not_em_data_are_not_claimed(tmp_path):
    from fixtures_tiff import write_plain_tiff, write_png

    random_hdf5 = tmp_path / "random.h5"
    with h5py.File(random_hdf5, "w") as h5:
        h5["values"] = list(range(10))
    for path in (write_plain_tiff(tmp_path), write_png(tmp_path), random_hdf5):
        assert _match(path) != PARSER_ID, path


# ---- raw vendor files ------------------------------------------------------------------------


@pytest.mark.parametrize("relative", sorted(RAW_FILES))
def test_raw_vendor_file_becomes_an_nxem_entry_with_results(relative, nomad_parse):
    high_tension, modes, techniques, kinds, elements = RAW_FILES[relative]
    archive = nomad_parse(em_file(relative))
    assert archive.metadata.entry_type == "Em Experiment"
    assert archive.data.m_def.qualified_name() == SCHEMA
    entry = archive.data.ENTRY[0]
    assert entry.definition__field == "NXem"
    voltage = _first_event(archive).instrument.ebeam_column.electron_source.voltage__field
    assert voltage.to("kV").magnitude == pytest.approx(high_tension)
    assert str(voltage.units) == "kilovolt"
    eln = archive.results.eln
    assert eln.methods[-(1 + len(modes) + len(techniques)) :] == ["Electron microscopy", *modes, *techniques]
    assert eln.tags == kinds
    assert (archive.results.material.elements if archive.results.material else []) == elements
    assert archive.data.datetime == entry.start_time__field  # the acquisition, not the processing time
    sections = {s.definition_qualified_name for s in archive.metadata.section_defs}
    assert "pynxtools.nomad.schema.Em__ENTRY" in sections


def test_nxem_sub_sections_hold_values_with_units(nomad_parse):
    archive = nomad_parse(em_file("gatan/2D/test_STEM_image.dm3"))
    instrument = _first_event(archive).instrument
    assert instrument.ebeam_column.scan_controller.dwell_time__field.to("µs").magnitude == pytest.approx(3.5)
    assert instrument.optics.magnification__field == pytest.approx(225000.0)
    assert instrument.ebeam_column.operation_mode__field == "SCANNING"
    image = _first_event(archive).imageID[0].image_2d
    assert image.title__field == "test_STEM_image"
    velox = nomad_parse(em_file("velox/example_velox_EELS_EDS.emd"))
    fabrication = velox.data.ENTRY[0].measurement.instrument.fabrication
    assert (fabrication.vendor__field, fabrication.model__field) == ("FEI Company", "Spectra")
    assert "FEI Company Spectra" in velox.results.eln.instruments
    assert len(velox.data.ENTRY[0].measurement.eventID) == 18  # every signal of the file is its own event


@pytest.mark.parametrize(
    "inputs",
    [
        ["tia/64x64_TEM_images_acquire.emi", "tia/64x64_TEM_images_acquire_1.ser"],
        ["gatan/2D/test_diffraction_pattern.dm3"],
        ["tiff/test_tiff_Zeiss_SEM_512pix.tif"],
        ["bruker/bruker_nano.spx"],
        ["quantumdetector/001_4x2_6bit.mib", "quantumdetector/001_4x2_6bit.hdr"],
    ],
)
def test_raw_entry_equals_the_entry_of_its_converted_nexus_file(inputs, nomad_parse, tmp_path):
    raw = nomad_parse(em_file(inputs[0]))
    nexus = tmp_path / (Path(inputs[0]).stem + ".nxs")
    outcome = convert([em_file(name) for name in inputs], nexus)
    assert outcome.status == "converted", outcome.message
    converted = nomad_parse(nexus)  # an uploaded .nxs: pynxtools' own NeXus parser
    session = "data.em_summary.session"  # the raw file's folder of the shared data is a session, the .nxs not
    assert sorted(set(raw.metadata.quantities) - {session}) == sorted(converted.metadata.quantities)
    assert sorted(s.definition_qualified_name for s in raw.metadata.section_defs) == sorted(
        s.definition_qualified_name for s in converted.metadata.section_defs
    )
    assert _search_values(raw).keys() - {f"{session}#{SCHEMA}"} == _search_values(converted).keys()
    assert raw.results.eln.methods == converted.results.eln.methods
    assert raw.results.eln.tags == converted.results.eln.tags
    assert raw.data.datetime == converted.data.datetime


def test_memoised_nexus_lookups_leave_the_archive_of_pynxtools_parser_unchanged(nomad_parse, tmp_path):
    from nomad.datamodel import EntryArchive
    from pynxtools.nomad.parsers import nexus_parser

    from pynxtools_em_plugin.compat.pynxtools import memoised_nexus_lookups

    nexus = tmp_path / "tia.nxs"
    inputs = ["tia/64x64_TEM_images_acquire.emi", "tia/64x64_TEM_images_acquire_1.ser"]
    assert convert([em_file(name) for name in inputs], nexus).status == "converted"
    nomad_parse(em_file("gatan/2D/test_STEM_image.dm3"))  # NOMAD's metainfo built (shared by the session)
    parser = nexus_parser.load()

    def parsed() -> EntryArchive:
        archive = EntryArchive()
        parser.parse(str(nexus), archive, RecordingLogger())
        return archive

    plain = parsed()
    with memoised_nexus_lookups():
        memoised = parsed()
    assert plain.data.ENTRY[0].definition__field == "NXem"
    assert _first_event(plain).instrument.ebeam_column.electron_source.voltage__field.to("kV").magnitude == 200
    assert memoised.m_to_dict() == plain.m_to_dict()


def test_converted_file_is_kept_where_the_context_allows_writing(nomad_parse, tmp_path):
    writable, read_only = tmp_path / "staging", tmp_path / "elsewhere"
    for folder in (writable, read_only):
        folder.mkdir()
        shutil.copy(em_file("gatan/2D/test_STEM_image.dm3"), folder / "test_STEM_image.dm3")
    nomad_parse(writable / "test_STEM_image.dm3", server_context=True)
    kept = writable / kept_name(writable / "test_STEM_image.dm3")
    with h5py.File(kept, "r") as h5:
        assert h5["entry1/definition"][()] == b"NXem"
    assert _match(kept) is None  # hidden: never a second entry of the same data
    nomad_parse(read_only / "test_STEM_image.dm3")
    assert sorted(p.name for p in read_only.iterdir()) == ["test_STEM_image.dm3"]


def test_only_staging_uploads_are_written_to():
    from types import SimpleNamespace

    from nomad.datamodel import EntryArchive
    from nomad.datamodel.context import ClientContext, ServerContext, ServerLocalContext

    from pynxtools_em_plugin.nomad.parser import writable_upload

    def archive(context):
        return EntryArchive(m_context=context)

    assert writable_upload(archive(ServerContext(SimpleNamespace(published=False))))
    assert not writable_upload(archive(ServerContext(SimpleNamespace(published=True))))
    assert not writable_upload(archive(ServerContext(None)))
    assert writable_upload(archive(ServerLocalContext("/tmp")))  # nomad parse --server-context
    assert not writable_upload(archive(ClientContext(local_dir="/tmp")))


def test_eln_yaml_of_the_folder_is_read_and_a_foreign_one_ignored(nomad_parse, tmp_path):
    ours, foreign = tmp_path / "ours", tmp_path / "foreign"
    for folder in (ours, foreign):
        folder.mkdir()
        shutil.copy(em_file("gatan/2D/test_STEM_image.dm3"), folder / "test_STEM_image.dm3")
    shutil.copy(EXAMPLES / "eln.yaml", ours / "eln.yaml")
    (foreign / "eln.yaml").write_text("definitions:\n  sections: {}\n", encoding="utf-8")
    archive = nomad_parse(ours / "test_STEM_image.dm3")
    assert archive.data.ENTRY[0].sampleID[0].name__field == "SrTiO3 lamella A3"
    assert archive.results.material.elements == ["O", "Sr", "Ti"]
    archive = nomad_parse(foreign / "test_STEM_image.dm3")  # converted without it
    assert archive.data.ENTRY[0].definition__field == "NXem"
    assert archive.data.ENTRY[0].sampleID[0].name__field is None


def test_damaged_vendor_file_fails_with_a_clear_message(tmp_path):
    from nomad.client import parse

    broken = tmp_path / "broken.dm3"
    broken.write_bytes(em_file("gatan/2D/test_STEM_image.dm3").read_bytes()[:3000])
    assert _match(broken) == PARSER_ID
    with pytest.raises(Exception, match="truncated or damaged"):
        parse(str(broken))


# ---- normalizer on NXem files of other writers ------------------------------------------------


def test_normalizer_fills_results_for_an_nxem_file_of_another_writer(nomad_parse, tmp_path):
    archive = nomad_parse(write_other_writer_nxem(tmp_path / "other_writer.nxs"))
    assert archive.metadata.entry_type == "Em Experiment"  # parsed by pynxtools' NeXus parser
    assert archive.results.eln.methods[-4:] == ["Electron microscopy", "TEM", "TEM imaging", "EDS"]
    assert archive.results.eln.tags == ["image", "spectrum"]
    assert archive.results.material.elements == ["Al", "Ge", "Si"]
    assert archive.data.datetime.isoformat() == "2023-03-01T07:30:00+00:00"


# ---- app -------------------------------------------------------------------------------------


def _resolve(section_def, path: str):
    """A quantity definition by its dotted path (sub-sections, or references to follow)."""
    *steps, last = path.split(".")
    for step in steps:
        if step in section_def.all_sub_sections:
            section_def = section_def.all_sub_sections[step].sub_section
        else:
            section_def = section_def.all_quantities[step].type.target_section_def
    return section_def.all_quantities[last]


@pytest.fixture(scope="session")
def registered_search_quantities():
    """The search quantities NOMAD registers ahead of time from the plugins' schema packages."""
    from nomad.config import config
    from nomad.metainfo.elasticsearch_extension import entry_type

    config.load_plugins()
    entry_type.reload_quantities_dynamic()
    return entry_type.quantities


def write_volts_writer_nxem(path: Path) -> Path:
    """A STEM image of another NXem writer: high tension in V, dwell time in ms, camera length in m,
    its own group names, pixel axes in nm."""
    with h5py.File(path, "w") as h5:
        entry = _nx_group(h5, "run3", "NXentry")
        entry["definition"] = "NXem"
        entry["start_time"] = "2024-05-02T10:00:00+02:00"
        event = _nx_group(_nx_group(entry, "acquisitions", "NXem_measurement"), "haadf", "NXem_event_data")
        instrument = _nx_group(event, "tem", "NXem_instrument")
        column = _nx_group(instrument, "column", "NXebeam_column")
        _quantity(_nx_group(column, "gun", "NXsource"), "voltage", 200000.0, "V")
        _quantity(_nx_group(column, "scan", "NXscan_controller"), "dwell_time", 0.0035, "ms")
        _quantity(_nx_group(instrument, "lenses", "NXem_optical_system"), "camera_length", 0.135, "m")
        _nx_group(instrument, "haadf", "NXdetector")["local_name"] = "HAADF"
        image = _nx_group(_nx_group(event, "img", "NXimage"), "frame", "NXdata")
        image.attrs.update(signal="intensity", axes=["y", "x"])
        image["intensity"] = np.zeros((6, 8))
        for name, size in (("y", 6), ("x", 8)):
            _quantity(image, name, np.arange(size) * 0.25, "nm")
    return path


def _nx_group(parent, name: str, nx_class: str):
    group = parent.create_group(name)
    group.attrs["NX_class"] = nx_class
    return group


def _quantity(group, name: str, value, units: str) -> None:
    group[name] = value
    group[name].attrs["units"] = units


#: The same settings written in kV/µs/mm (DM3), by Velox, and in V/ms/m by another writer: SI in the index.
SI_SETTINGS = {
    "high_tension": ("kV", (150, 350), {"dm3": 200000.0, "velox": 300000.0, "volts": 200000.0}),
    "dwell_time": ("µs", (1, 10000), {"dm3": 3.5e-6, "velox": 9.083668253125e-3, "volts": 3.5e-6}),
    "camera_length": ("mm", (100, 500), {"dm3": 0.135, "velox": 0.434912, "volts": 0.135}),
}


@pytest.fixture(scope="session")
def three_writers(nomad_parse, tmp_path_factory):
    volts = write_volts_writer_nxem(tmp_path_factory.mktemp("volts") / "volts_writer.nxs")
    return {
        "dm3": nomad_parse(em_file("gatan/2D/test_STEM_image.dm3")),
        "velox": nomad_parse(em_file("velox/example_velox_EELS_EDS.emd")),
        "volts": nomad_parse(volts),
    }


@pytest.mark.parametrize("setting", sorted(SI_SETTINGS))
def test_one_range_filter_selects_files_of_every_writer_by_their_si_value(
    setting, three_writers, registered_search_quantities
):
    from nomad.units import ureg

    from pynxtools_em_plugin.nomad.app import DISPLAY_UNITS, SEARCH_QUANTITIES, em_app

    display_unit, (low, high), expected = SI_SETTINGS[setting]
    name = SEARCH_QUANTITIES[setting]
    assert DISPLAY_UNITS[setting] == display_unit
    filters = [item for menu in em_app().menu.items for item in getattr(menu, "items", None) or []]
    histogram = next(i for i in filters if getattr(getattr(i, "x", None), "search_quantity", None) == name)
    assert histogram.x.unit == display_unit
    registered = registered_search_quantities[name]
    stored_unit = str(registered.definition.unit)
    assert ureg.Unit(stored_unit) == ureg.Unit(schema_unit(setting))  # the SI unit the GUI converts from
    bounds = [ureg.Quantity(v, display_unit).to(stored_unit).magnitude for v in (low, high)]
    for writer, archive in three_writers.items():
        values = _search_values(archive)[name.split("#")[0] + "#" + SCHEMA]
        assert values[0] == pytest.approx(expected[writer], rel=1e-9), writer
        assert any(bounds[0] <= v <= bounds[1] for v in values), writer
    assert _search_values(three_writers["dm3"])[f"data.em_summary.{setting}#{SCHEMA}"] == pytest.approx(
        [expected["volts"]]
    )


def schema_unit(setting: str) -> str:
    from pynxtools_em_plugin.nomad.schema_package import SETTINGS

    return SETTINGS[setting][0]


def test_summary_of_a_dm3_holds_every_setting_in_si_units(nomad_parse):
    summary = nomad_parse(em_file("gatan/2D/test_STEM_image.dm3")).data.em_summary
    assert summary.high_tension.to("kV").magnitude == pytest.approx(200.0)
    assert str(summary.high_tension.units) == "volt"
    assert summary.camera_length.to("mm").magnitude == pytest.approx(135.0)
    assert summary.dwell_time.to("µs").magnitude == pytest.approx(3.5)
    assert summary.field_of_view.to("nm").magnitude == pytest.approx(509.005864461263)
    assert summary.magnification == pytest.approx(225000.0)
    # the axis calibration; the sample's pixels were cut to 68 x 68 from 2048 x 2048 (2048 x 0.2485 nm = field of view)
    assert summary.pixel_size.to("nm").magnitude == pytest.approx(0.2485380172729492)
    assert summary.pixel_size.to("nm").magnitude * 2048 == pytest.approx(summary.field_of_view.to("nm").magnitude)
    assert (summary.techniques, summary.imaging_modes, summary.signal_kinds) == ("STEM imaging", "STEM", "image")
    assert (summary.data_shape, summary.detector_name, summary.n_events) == ("68 x 68", "DigiScan", 1)
    assert summary.acquisition_start.isoformat() == "2016-08-08T15:26:37.000824+00:00"
    velox = nomad_parse(em_file("velox/example_velox_EELS_EDS.emd")).data.em_summary
    assert (velox.vendor, velox.model) == ("FEI Company", "Spectra")
    assert velox.probe_current is None  # differs between events: only the events hold it
    currents = {round(e.probe_current.to("nA").magnitude, 4) for e in velox.events if e.probe_current is not None}
    assert currents == {0.2009, 0.0007}
    angles = [e.collection_outer_angle.to("mrad").magnitude for e in velox.events if e.collection_outer_angle]
    assert sorted(round(a, 2) for a in angles)[-1] == pytest.approx(94.2)
    assert velox.convergence_semi_angle.to("mrad").magnitude == pytest.approx(21.43377827928146)


def test_every_app_search_quantity_is_registered_scalar_and_indexed(
    nomad_parse, example_upload, registered_search_quantities, three_writers, ebsd_entry
):
    from nomad.datamodel import EntryArchive, EntryMetadata
    from nomad.utils import glob

    from pynxtools_em_plugin.nomad.app import SEARCH_QUANTITIES, em_app, used_search_quantities

    app = em_app()
    used = used_search_quantities(app)
    assert set(SEARCH_QUANTITIES.values()) <= used
    assert len(SEARCH_QUANTITIES) <= 30  # curated, not every NeXus field
    assert all(glob(name, app.search_quantities.include, app.search_quantities.exclude) for name in used)
    archives = [nomad_parse(em_file(r)) for r in sorted(RAW_FILES)]
    archives += [nomad_parse(example_upload / "example_eds.msa"), *three_writers.values(), ebsd_entry]
    indexed: dict[str, list] = {}
    for archive in archives:
        for key, values in _search_values(archive).items():
            indexed.setdefault(key, []).extend(values)
    for name in sorted(used):
        if "#" not in name:  # NOMAD's own quantities: the results the normalizer fills, entry metadata
            root = EntryArchive.m_def if name.startswith("results.") else EntryMetadata.m_def
            assert _resolve(root, name).m_get_annotations("elasticsearch"), name
            continue
        assert name.endswith(f"#{SCHEMA}"), name  # the exact class of archive.data, no data-type suffix
        definition = registered_search_quantities[name].definition
        assert definition.shape == [], name
        assert indexed.get(name), f"{name}: no parsed entry holds it"


def test_processing_logs_no_missing_module(three_writers, nomad_parse):
    import importlib

    for module in ("fastapi", "pymongo", "structlog"):  # what an Oasis has (nomad-lab[infrastructure])
        importlib.import_module(module)
    nomad_parse(em_file("msa/example1.msa"))
    assert NOMAD_LOGS, "nothing was logged: the recording logger is not used"
    failures = [r for r in NOMAD_LOGS if "No module named" in f"{r['event']} {r['exc']}"]
    assert not failures, failures[:3]
    # Outside an upload (no main author, no database) pynxtools' normalizer of NeXus identifiers (from an eln.yaml)
    # cannot register them: its one error here; an Oasis upload has both.
    errors = [r for r in NOMAD_LOGS if r["level"] in ("error", "critical", "exception")]
    unexpected = [r for r in errors if "'user_id'" not in r["exc"]]
    assert not unexpected, unexpected[:3]


def test_app_is_locked_to_nxem_entries(nomad_parse, tmp_path):
    from pynxtools_em_plugin.nomad.app import em_app

    (key, values), *_ = em_app().filters_locked.items()
    archive = nomad_parse(em_file("gatan/2D/test_STEM_image.dm3"))
    attribute = key.split(".", 1)[1]
    assert any(getattr(s, attribute) in values for s in archive.metadata.section_defs)
    other = tmp_path / "iv_temp.nxs"
    with h5py.File(other, "w") as h5:
        entry = h5.create_group("entry")
        entry.attrs["NX_class"] = "NXentry"
        entry["definition"] = "NXiv_temp"
    archive = nomad_parse(other)
    assert not any(getattr(s, attribute) in values for s in archive.metadata.section_defs)
    assert archive.results.eln.tags in (None, [])  # the EM normalizer leaves other NeXus entries alone


@pytest.fixture(scope="session")
def ebsd_entry(nomad_parse, tmp_path_factory):
    from test_nomad_matching import write_other_writer_ebsd

    return nomad_parse(write_other_writer_ebsd(tmp_path_factory.mktemp("ebsd") / "ebsd_map.nxs"))


def test_ebsd_entry_of_another_writer_names_ebsd_and_its_phases(ebsd_entry):
    archive = ebsd_entry
    assert archive.results.eln.methods[-3:] == ["Electron microscopy", "SEM", "EBSD"]
    summary = archive.data.em_summary
    assert (summary.techniques, summary.phases) == ("EBSD", "Iron alpha, Cementite")
    assert summary.high_tension.to("kV").magnitude == pytest.approx(20.0)
    assert _search_values(archive)[f"data.em_summary.phases#{SCHEMA}"] == ["Iron alpha, Cementite"]


def test_app_offers_every_technique_label():
    from pynxtools_em_plugin.classify import TECHNIQUES
    from pynxtools_em_plugin.nomad.app import SEARCH_QUANTITIES, em_app

    menus = [item for menu in em_app().menu.items for item in getattr(menu, "items", None) or []]
    technique = next(m for m in menus if getattr(m, "title", None) == "Technique")
    assert technique.search_quantity == SEARCH_QUANTITIES["methods"]
    assert {*TECHNIQUES, "EBSD", "4D-STEM", "In-situ log"} <= set(technique.options)
    phases = next(m for m in menus if getattr(m, "title", None) == "EBSD phase")
    assert phases.search_quantity == SEARCH_QUANTITIES["phases"]


# ---- sessions --------------------------------------------------------------------------------


def test_a_folder_of_acquisitions_becomes_a_session_entry_that_its_file_entries_name(tmp_path):
    from nomad.client import normalize_all, parse

    from pynxtools_em_plugin.nomad.sessions import SESSION_KEY

    folder = tmp_path / "session_2016"
    folder.mkdir()
    shutil.copy(em_file("gatan/2D/test_STEM_image.dm3"), folder / "a_stem.dm3")
    shutil.copy(em_file("msa/example1.msa"), folder / "b_eels.msa")
    shutil.copy(EXAMPLES / "eln.yaml", folder / "eln.yaml")
    assert _match(folder / "a_stem.dm3") == PARSER_ID and _match(folder / "b_eels.msa") == PARSER_ID
    owner, session = parse(str(folder / "a_stem.dm3"))  # the first acquisition by name owns the session entry
    (member,) = parse(str(folder / "b_eels.msa"))
    for archive in (owner, session, member):
        normalize_all(archive)
        archive.metadata.apply_archive_metadata(archive)
    assert session.metadata.mainfile_key == SESSION_KEY
    summary = session.data.em_summary
    assert (summary.record, summary.session, summary.n_events) == ("session", "session_2016", 2)
    assert {"STEM imaging", "EELS"} <= set(session.results.eln.methods)
    assert summary.acquisition_start < summary.acquisition_end  # the time range of the whole session
    assert summary.sample_name == "SrTiO3 lamella A3"  # the folder's eln.yaml
    assert len(session.data.ENTRY[0].measurement.eventID) == 2
    assert session.data.ENTRY[0].title__field == "session_2016"  # the record titled as em-plugin session does
    for archive in (owner, member):
        assert (archive.data.em_summary.record, archive.data.em_summary.session) == ("file", "session_2016")
    indexed = _search_values(session)
    assert indexed[f"data.em_summary.session#{SCHEMA}"] == ["session_2016"]
    assert indexed[f"data.em_summary.acquisition_end#{SCHEMA}"][0] == summary.acquisition_end


def test_a_lone_file_is_no_session(nomad_parse, tmp_path):
    from pynxtools_em_plugin.nomad.sessions import session_members

    shutil.copy(em_file("msa/example1.msa"), tmp_path / "alone.msa")
    (tmp_path / "notes.txt").write_text("not a microscope file", encoding="utf-8")
    assert session_members(tmp_path / "alone.msa") == []
    archive = nomad_parse(tmp_path / "alone.msa")
    assert (archive.data.em_summary.record, archive.data.em_summary.session) == ("file", None)


# ---- example upload --------------------------------------------------------------------------


def test_example_upload_loads_and_every_raw_file_becomes_an_em_entry(example_upload, nomad_parse):
    files = sorted(p.name for p in example_upload.iterdir())
    assert files == ["README.md", "eln.yaml", "example_eds.msa", "example_eels.msa", "example_haadf.emd"]
    assert _match(example_upload / "eln.yaml") != PARSER_ID
    expected = {"example_haadf.emd": "STEM imaging", "example_eds.msa": "EDS", "example_eels.msa": "EELS"}
    for name, technique in expected.items():
        archive = nomad_parse(example_upload / name)
        assert technique in archive.results.eln.methods
        assert archive.results.material.elements == ["O", "Sr", "Ti"]  # from eln.yaml next to the files
        assert archive.data.ENTRY[0].sampleID[0].name__field == "SrTiO3 lamella A3"
    assert (example_upload / "eln.yaml").read_bytes() == (EXAMPLES / "eln.yaml").read_bytes()
