"""FAIR provenance: inputs with checksums, converter and mapping versions, ELN fields,
acquisition end times, anonymisation, and no details of the converting machine in the output."""

from __future__ import annotations

import getpass
import hashlib
import os
import re
import socket
from datetime import datetime, timedelta
from importlib.metadata import version
from pathlib import Path

import h5py
import numpy as np
import pytest
from click.testing import CliRunner
from pynxtools.dataconverter.template import Template

from conftest import EM_DATA, EXAMPLES, REPO, assert_clean_nxem, em_file, known_gap, validate_file
from pynxtools_em_plugin import provenance
from pynxtools_em_plugin.conversion import ConversionSettings, convert
from pynxtools_em_plugin.eln import eln_entries
from pynxtools_em_plugin.errors import ConversionError
from pynxtools_em_plugin.mapping.engine import parse_table, personal_keys_for, without_personal
from pynxtools_em_plugin.provenance import ConversionOptions, without_keys
from pynxtools_em_plugin.reader import fill_template

REAL_USER, REAL_HOST = getpass.getuser(), socket.gethostname()  # before any test plants others

#: Vendor files that record an operator, with the name they record.
OPERATOR_FILES = {
    "gatan/2D/multi_signal.dm3": "JohnDoe",
    "tia/128x128-TEM_search.emi": "ERIC",
    "tiff/test_tiff_Zeiss_SEM_512pix.tif": "LIBERATO",
    "velox/example_velox_EELS_EDS.emd": "ortega",
    "msa/example1.msa": "EMSA/MAS TASK FORCE",  # OWNER, also in the derived keywords
    "protochips/protochips_gas_cell.csv": "eric",
}


def _with_companions(relative: str) -> list[Path]:
    """A vendor file and the files read with it (TIA .ser next to the .emi)."""
    main = em_file(relative)
    return [main, *sorted(main.parent.glob(f"{main.stem}_*.ser"))] if main.suffix == ".emi" else [main]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _text(h5, path: str) -> str:
    value = h5[path][()]
    return value.decode() if isinstance(value, bytes) else str(value)


def all_strings(path: Path) -> list[tuple[str, str]]:
    """(where, text) for every name, string dataset (scalar or array) and attribute in the file."""
    found: list[tuple[str, str]] = []

    def texts(value) -> list[str]:
        array = np.asarray(value)
        if array.dtype.kind in "SO":
            return [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in array.ravel()]
        if array.dtype.kind == "U":
            return [str(v) for v in array.ravel()]
        return []

    def visit(name: str, obj) -> None:
        found.append((name, name))
        for key, value in obj.attrs.items():
            found.extend((f"{name}@{key}", text) for text in [key, *texts(value)])
        if isinstance(obj, h5py.Dataset) and obj.dtype.kind in "SOU":
            found.extend((name, text) for text in texts(obj[()]))

    with h5py.File(path, "r") as h5:
        visit("/", h5)
        h5.visititems(visit)
    return found


#: A user and host name no file can hold by chance, planted for the conversions of the privacy tests.
PLANTED_USER, PLANTED_HOST = "qzuser7x", "qzhost7x.lab.example"


@pytest.fixture
def planted_identity(monkeypatch, tmp_path):
    """The converting process sees a unique user, host and home folder; a leak of any of them is certain
    to be found, unlike the real names, which may be common words ("root", "vm")."""
    home = tmp_path / f"home-{PLANTED_USER}"
    home.mkdir()
    monkeypatch.setattr(getpass, "getuser", lambda: PLANTED_USER)
    monkeypatch.setattr(os, "getlogin", lambda: PLANTED_USER)
    monkeypatch.setattr(socket, "gethostname", lambda: PLANTED_HOST)
    for name, value in (("USER", PLANTED_USER), ("LOGNAME", PLANTED_USER), ("HOSTNAME", PLANTED_HOST)):
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HOME", str(home))
    return home


def machine_details(*paths: Path, real_names: tuple[str, ...] = ()) -> list[tuple[re.Pattern, bool]]:
    """What the converting machine must not leave in a file, each with whether it is searched in the raw
    vendor metadata too: paths (as given and resolved, and the home folder) and the planted names
    everywhere; real user and host names (3 characters or more) as whole words outside the vendor's
    own metadata, where e.g. RosettaSciIO names a DM tag group "root"."""
    found = [(re.compile(re.escape(str(p))), True) for path in paths for p in {path, path.resolve()}]
    if str(Path.home()) != "/":
        found.append((re.compile(re.escape(str(Path.home())) + r"(?=/|$)"), True))
    found += _word_patterns(PLANTED_USER, PLANTED_HOST, PLANTED_HOST.split(".")[0])
    return found + [(p, False) for p, _ in _word_patterns(*real_names)]


def _word_patterns(*names: str) -> list[tuple[re.Pattern, bool]]:
    return [(re.compile(rf"(?<![\w.-]){re.escape(n)}(?![\w-])"), True) for n in dict.fromkeys(names) if len(n) >= 3]


def leaks(path: Path, patterns: list[tuple[re.Pattern, bool]]) -> list[str]:
    return [
        f"{where}: {p.pattern} in {text[:80]!r}"
        for where, text in all_strings(path)
        for p, everywhere in patterns
        if (everywhere or "vendor_metadata" not in where) and p.search(text)
    ]


def test_example_records_inputs_programs_and_eln_fields(convert):
    vendor, eln, table = EXAMPLES / "example_haadf.emd", EXAMPLES / "eln.yaml", EXAMPLES / "my_mapping.json"
    result = convert(vendor, eln, config=table)
    assert_clean_nxem(result)
    with result.h5() as h5:
        entry = h5["entry1"]
        expected = [(vendor, "vendor file (velox)"), (eln, "ELN/metadata YAML"), (table, "user mapping table (-c)")]
        for index, (path, role) in enumerate(expected, start=1):
            note = entry[f"note_input{index}"]
            assert note.attrs["NX_class"] == "NXnote"
            assert _text(note, "file_name") == path.name
            assert _text(note, "checksum") == _sha256(path) and _text(note, "algorithm") == "sha256"
            assert _text(note, "description").startswith(role)
            assert _text(note, "description").endswith(f"; {path.stat().st_size} bytes")
            assert note["sequence_index"][()] == index
        assert "note_input4" not in entry
        # the event points at its input by name and checksum
        event_input = entry["measurement/event1/image1/process/input"]
        assert _text(event_input, "file_name") == vendor.name
        assert _text(event_input, "checksum") == _sha256(vendor)
        assert _text(event_input, "context") == "signal 0"

        programs = {
            _text(g, "program"): g["program"].attrs["version"]
            for g in entry["profiling"].values()
            if isinstance(g, h5py.Group)
        }
        assert programs["pynxtools-em-plugin"] == version("pynxtools-em-plugin")
        assert programs["pynxtools"] == version("pynxtools") and programs["rosettasciio"] == version("rosettasciio")
        assert programs["mapping table facility-velox (my_mapping.json)"] == "2024.1"
        assert programs["mapping table velox (velox.json)"] == "1.0.0"
        start = datetime.fromisoformat(_text(entry, "profiling/start_time"))
        end = datetime.fromisoformat(_text(entry, "profiling/end_time"))
        assert start.tzinfo is not None and end.tzinfo is not None and start <= end
        elapsed = entry["profiling/total_elapsed_time"]
        assert elapsed.attrs["units"] == "s" and elapsed[()] == pytest.approx((end - start).total_seconds(), abs=1e-5)

        assert _text(entry, "identifier_experiment") == "EXP-2024-0042"
        assert _text(entry, "experiment_alias") == "Lattice imaging of SrTiO3"
        assert _text(entry, "sample/name") == "SrTiO3 lamella A3"
        assert _text(entry, "sample/identifier_sample") == "SAMPLE-0815"
        orcid = entry["user1/identifier_orcid"]
        assert orcid[()] == b"https://orcid.org/0000-0002-1825-0097" and orcid.attrs["type"] == "ORCID"
        assert _text(entry, "project/name") == "FAIR microscopy pilot"
        assert _text(entry, "project/description").startswith("Pilot of FAIR data publication")
        assert _text(entry, "note_licence/description") == "CC-BY-4.0"
        assert _text(entry, "note_licence/file_name") == "https://creativecommons.org/licenses/by/4.0/"
        assert _text(entry, "cite1/doi") == "https://doi.org/10.1038/sdata.2016.18"
        assert _text(entry, "cite1/author") == "Wilkinson, M. D. et al."


def test_multi_signal_file_is_hashed_once(monkeypatch):
    path = em_file("velox/example_velox_EELS_EDS.emd")
    hashed: list[Path] = []
    real = provenance.sha256_of
    monkeypatch.setattr(provenance, "sha256_of", lambda p: hashed.append(p) or real(p))
    template = fill_template(Template(), [path])
    assert hashed == [path]
    checksums = {v for k, v in template.items() if k.endswith("/input/checksum")}
    assert checksums == {_sha256(path)}
    assert len([k for k in template if k.endswith("/input/file_name")]) == 18
    assert [k for k in template if re.search(r"noteID\[note_input\d+\]/file_name$", k)] == [
        "/ENTRY[entry1]/noteID[note_input1]/file_name"
    ]


def test_companion_files_are_recorded_as_inputs(convert):
    inputs = _with_companions("tia/16x16_STEM_BF_DF_acquire.emi")
    result = convert(*inputs)
    assert_clean_nxem(result)
    with result.h5() as h5:
        notes = [h5[f"entry1/note_input{i}"] for i in range(1, len(inputs) + 1)]
        assert [_text(n, "file_name") for n in notes] == [p.name for p in inputs]
        assert [_text(n, "checksum") for n in notes] == [_sha256(p) for p in inputs]
        assert _text(notes[1], "description").startswith("companion of 16x16_STEM_BF_DF_acquire.emi (tia)")


@pytest.mark.parametrize(
    ("relative", "event", "seconds"),
    [
        ("jeol/Sample/00_View000/View000_0000006.pts", 1, 366.9),  # JEOL EDS map: real time
        ("velox/example_velox_EELS_EDS.emd", 1, 2.9071472),  # Velox EDS: detector real time
    ],
)
def test_end_time_is_start_plus_recorded_duration(relative, event, seconds):
    template = fill_template(Template(), [em_file(relative)])
    base = f"/ENTRY[entry1]/measurement/eventID[event{event}]"
    start = datetime.fromisoformat(template[f"{base}/start_time"])
    end = datetime.fromisoformat(template[f"{base}/end_time"])
    assert template[f"{base}/instrument/detectorID[detector]/real_time/@units"] == "s"
    assert end.tzinfo is not None and end - start == timedelta(seconds=seconds)
    assert template["/ENTRY[entry1]/end_time"] >= template[f"{base}/end_time"]


@pytest.mark.parametrize(
    ("relative", "start", "end"),
    [
        ("gatan/1D/test-EELS_spectrum.dm3", "2016-08-08T19:35:17+00:00", "2016-08-08T19:35:18+00:00"),
        ("protochips/protochips_gas_cell.csv", "2014-12-15T19:07:04.165000+00:00", "2014-12-15T19:21:20.217000+00:00"),
    ],
)
def test_vendor_recorded_end_time_is_kept(relative, start, end):
    template = fill_template(Template(), [em_file(relative)])
    assert template["/ENTRY[entry1]/measurement/eventID[event1]/start_time"] == start
    assert template["/ENTRY[entry1]/measurement/eventID[event1]/end_time"] == end
    assert template["/ENTRY[entry1]/end_time"] == end


def test_spectrum_live_time_is_not_taken_for_a_duration():
    """An MSA spectrum records live time (count_time) but no real time: no end_time is made up."""
    template = fill_template(Template(), [em_file("msa/example1.msa")])
    assert "/ENTRY[entry1]/measurement/eventID[event1]/start_time" in template
    assert not [k for k in template if k.endswith("end_time") and "profiling" not in k]


@pytest.mark.parametrize("relative", sorted(OPERATOR_FILES))
def test_operator_names_are_kept_by_default_and_dropped_when_anonymising(relative, tmp_path):
    name = OPERATOR_FILES[relative]
    inputs = _with_companions(relative)
    kept, anonymised = tmp_path / "kept.nxs", tmp_path / "anonymised.nxs"
    for output, settings in [(kept, ConversionSettings()), (anonymised, ConversionSettings(anonymize=True))]:
        outcome = convert(inputs, output, settings)
        assert outcome.status == "converted", outcome.message
    with h5py.File(kept, "r") as h5:
        assert _text(h5, "entry1/user_operator/name") == name
    assert any(name in text for _, text in all_strings(kept))  # also in the raw vendor metadata dump
    with h5py.File(anonymised, "r") as h5:
        assert "user_operator" not in h5["entry1"]
    assert [where for where, text in all_strings(anonymised) if name in text] == []
    _, problems = validate_file(anonymised)
    assert [
        p for p in problems if "hasn't been supplied" not in p and "does not match" not in p and not known_gap(p)
    ] == []


def test_anonymize_and_absolute_paths_from_the_eln_in_dataconverter(convert, tmp_path):
    eln = tmp_path / "eln.yaml"
    eln.write_text("conversion: {anonymize: true, record_absolute_paths: true}\n", encoding="utf-8")
    vendor = em_file("gatan/2D/multi_signal.dm3")
    result = convert(vendor, eln)
    assert_clean_nxem(result)
    assert [w for w, text in all_strings(result.path) if "JohnDoe" in text] == []
    with result.h5() as h5:
        assert _text(h5, "entry1/note_input1/file_name") == str(vendor.resolve())
        assert _text(h5, "entry1/note_input2/file_name") == str(eln.resolve())
        assert _text(h5, "entry1/measurement/event1/image1/process/input/file_name") == str(vendor.resolve())


def test_cli_flags_anonymize_and_absolute_paths(tmp_path):
    from pynxtools_em_plugin.cli import main

    vendor = em_file("tia/128x128-TEM_search.emi")
    inputs = _with_companions("tia/128x128-TEM_search.emi")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["convert", *map(str, inputs), "-o", str(out), "--anonymize", "--absolute-paths"])
    assert result.exit_code == 0, result.output
    written = out / "128x128-TEM_search.nxs"
    with h5py.File(written, "r") as h5:
        assert _text(h5, "entry1/note_input1/file_name") == str(vendor.resolve())
        assert _text(h5, "entry1/note_input2/file_name") == str(inputs[1].resolve())
        assert "user_operator" not in h5["entry1"]
    assert [w for w, text in all_strings(written) if "ERIC" in text] == []


SHARED_FOR_PRIVACY = [
    ["gatan/2D/multi_signal.dm3"],
    ["tia/16x16_STEM_BF_DF_acquire.emi"],
    ["tiff/test_tiff_Zeiss_SEM_512pix.tif"],
    ["msa/example1.msa"],
    ["protochips/protochips_gas_cell.csv"],
    ["jeol/Sample/00_View000/View000_0000006.pts"],
]


@pytest.mark.parametrize("relatives", SHARED_FOR_PRIVACY, ids=lambda r: r[0])
def test_no_path_user_or_host_name_of_the_converting_machine(relatives, convert, tmp_path, planted_identity):
    """Every string and attribute of the output is scanned for the paths of this run (output folder,
    repository, data folder, home), the user name and the host name."""
    eln = tmp_path / "eln.yaml"
    eln.write_text((EXAMPLES / "eln.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    inputs = [p for relative in relatives for p in _with_companions(relative)]
    result = convert(*inputs, eln, config=EXAMPLES / "my_mapping.json")
    assert_clean_nxem(result, also_lacking=(r"measurement/event\d+/instrument/ebeam_column",))
    real = (REAL_USER, REAL_HOST, REAL_HOST.split(".")[0])
    patterns = machine_details(tmp_path, planted_identity, REPO, EM_DATA, *(p.parent for p in inputs), real_names=real)
    assert leaks(result.path, patterns) == []
    with result.h5() as h5:
        assert h5.attrs["file_name"] == result.path.name


def test_privacy_scan_finds_what_it_looks_for(tmp_path):
    """The scan itself: planted paths and names are found in values, string arrays and attributes."""
    path = tmp_path / "planted.nxs"
    with h5py.File(path, "w") as h5:
        h5["value"] = f"read from {tmp_path}/x.dm3"
        h5["array"] = np.array([b"ok", b"by jdoe7"])
        h5["value"].attrs["host"] = "built on lab-pc-12.example.org"
        h5["innocent"] = "jdoe70 on lab-pc-123"  # longer words only contain the names
    found = leaks(path, [*machine_details(tmp_path), *_word_patterns("jdoe7", "lab-pc-12")])
    with h5py.File(path, "a") as h5:
        h5["event/vendor_metadata/original_metadata"] = '{"root": {}}'  # a real name as vendor data
    assert leaks(path, machine_details(Path("/nonexistent"), real_names=("root",))) == []
    assert sorted(f.split(":")[0] for f in found) == ["array", "value", "value@host"]


def test_eln_licence_citation_and_options_are_checked():
    entries = eln_entries({"licence": "CC0-1.0", "citations": [{"doi": "doi:10.5281/zenodo.123"}]})
    assert entries["noteID[note_licence]/file_name"] == "https://spdx.org/licenses/CC0-1.0.html"
    assert entries["citeID[cite1]/doi"] == "https://doi.org/10.5281/zenodo.123"
    with pytest.raises(ConversionError, match="give its url"):
        eln_entries({"licence": "our own terms"})
    with pytest.raises(ConversionError, match="is not a DOI"):
        eln_entries({"citations": [{"doi": "0000-0002-1825-0097"}]})
    with pytest.raises(ConversionError, match="true or false"):
        ConversionOptions.from_sources({"conversion": {"anonymize": "yes"}}, {})
    with pytest.raises(ConversionError, match="must be a mapping with keys"):
        ConversionOptions.from_sources({"conversion": {"hide": True}}, {})
    assert ConversionOptions.from_sources({}, {"anonymize": True}) == ConversionOptions(anonymize=True)


def test_personal_keys_of_tables_drop_rules_and_raw_values():
    table = parse_table(
        '{"name": "t", "version": "1", "format": "tiff", "personal_keys": ["Op/Name"], '
        '"mappings": [{"src": "Op/Name/first", "dst": "userID[user_operator]/name", "scope": "entry"}, '
        '{"src": "Op/Id", "dst": "userID[user_operator]/role", "scope": "entry"}]}',
        "t.json",
    )
    keys = personal_keys_for("tiff", [table])
    assert "Op/Name" in keys and "fei_metadata/User/User" in keys  # the user's and the shipped table's
    assert [r.src for r in without_personal(table.rules, keys)] == [("Op/Id",)]
    tree = {"Op": {"Name": {"first": "Jane"}, "Id": 7}, "Other": {"x": 1}}
    pruned = without_keys(tree, {"Op/Name", "Missing/Key"})
    assert pruned == {"Op": {"Id": 7}, "Other": {"x": 1}}
    assert tree["Op"]["Name"] == {"first": "Jane"} and pruned["Other"] is tree["Other"]
