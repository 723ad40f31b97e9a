"""The ELN / metadata YAML a user may add to the vendor files.

It supplies what no vendor file knows: the sample, the people, the project,
and the time zone of the instrument PC. Example: ``examples/eln.yaml``::

    timezone: Europe/Berlin        # assumed for vendor times without a zone
    experiment: {identifier: ..., alias: ..., description: ...}
    sample: {name: ..., identifier: ... or {value: ..., type: DOI}, atom_types: [Si, O],
             preparation_date: 2024-05-01T09:00:00+02:00, physical_form: foil,
             thickness: {value: 50, unit: nm}, description: ...}
    users: [{name: ..., affiliation: ..., email: ..., orcid: 0000-..., role: ...}]
    project: {name: ..., description: ...}
    licence: CC-BY-4.0 or {name: CC-BY-4.0, url: https://creativecommons.org/licenses/by/4.0/}
    citations: [{doi: 10.xxxx/..., author: ..., description: ..., url: ...}]
    conversion: {anonymize: false, record_absolute_paths: false}   # see provenance.py
    session: false                 # NOMAD: this folder is no session; or true (the default for 2+
                                   # acquisitions), or {name: Lamella A3 day 1} (the session's name:
                                   # the title of session records, em-plugin session and NOMAD alike)

The file is read with ``yaml.safe_load`` (no Python objects from YAML).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

from .errors import ConversionError
from .units import parse_unit

_TOP_LEVEL = {"timezone", "experiment", "sample", "users", "project", "licence", "citations", "conversion", "session"}
_ORCID = re.compile(r"^(?:https?://orcid\.org/)?(\d{4}-\d{4}-\d{4}-\d{3}[\dX])$")
_EXPERIMENT_FIELDS = {
    "identifier": "identifier_experiment",
    "alias": "experiment_alias",
    "description": "experiment_description",
}
_SAMPLE_TEXT_FIELDS = ("name", "description", "physical_form")
_USER_FIELDS = ("name", "affiliation", "address", "email", "telephone_number", "role")
_SPDX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+-]*$")
_CITATION_FIELDS = ("doi", "author", "description", "url")
_DOI = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:)?(10\.\d{4,9}/\S+)$", re.IGNORECASE)


def is_eln_file(path: Path) -> bool:
    return path.suffix.lower() in (".yaml", ".yml")


def load_eln(paths: list[Path]) -> dict[str, Any]:
    """Merge the given YAML files (later files override earlier keys)."""
    import yaml

    merged: dict[str, Any] = {}
    for path in paths:
        try:
            content = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise ConversionError(path, f"is not a readable YAML file ({_first_line(exc)})") from exc
        if content is None:
            continue
        if not isinstance(content, dict):
            raise ConversionError(path, "must hold a mapping of keys (timezone, sample, users...)")
        unknown = set(content) - _TOP_LEVEL
        if unknown:
            raise ConversionError(path, f"unknown keys {sorted(unknown)}; allowed: {sorted(_TOP_LEVEL)}")
        session_choice(content, path)  # checked here: read again where sessions are named or matched
        merged.update(content)
    return merged


def session_choice(eln: dict[str, Any], source: Path | str = "ELN") -> bool | str | None:
    """What a folder's ELN says of its session in NOMAD: ``False`` (none), ``True`` (one), a name, or nothing."""
    choice = eln.get("session")
    if choice is None or isinstance(choice, bool):
        return choice
    if isinstance(choice, dict) and set(choice) == {"name"} and isinstance(choice["name"], str) and choice["name"]:
        return choice["name"].strip()
    raise ConversionError(source, "'session' must be true, false or {name: ...}")


def eln_session_name(eln: dict[str, Any], default: str | None = None) -> str | None:
    """The session's name the ELN gives (``session: {name: ...}``), else ``default``: one rule for
    ``em-plugin session``, ``dataconverter`` and NOMAD's session entries."""
    choice = session_choice(eln)
    return choice if isinstance(choice, str) else default


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def eln_entries(eln: dict[str, Any], source: str = "ELN") -> dict[str, Any]:
    """Template entries (paths relative to the NXentry) for the ELN content."""
    entries: dict[str, Any] = {}
    for key, target in _EXPERIMENT_FIELDS.items():
        if (value := _section(eln, "experiment", source).get(key)) is not None:
            entries[target] = str(value)
    entries.update(_sample_entries(_section(eln, "sample", source), source))
    for index, user in enumerate(_list_of_mappings(eln, "users", source), start=1):
        entries.update(_user_entries(user, index, source))
    for key, value in _section(eln, "project", source).items():
        if key in ("name", "description") and value is not None:
            entries[f"project/{key}"] = str(value)
    entries.update(_licence_entries(eln.get("licence"), source))
    for index, citation in enumerate(_list_of_mappings(eln, "citations", source), start=1):
        entries.update(_citation_entries(citation, index, source))
    return entries


def _licence_entries(licence: Any, source: str) -> dict[str, Any]:
    """The data licence as an entry NXnote: NXem 2024.02 has no licence concept of its own, and its
    NXnote needs a ``file_name``: the licence text's address (the SPDX page for an SPDX identifier)."""
    if licence is None:
        return {}
    if isinstance(licence, str):
        licence = {"name": licence}
    if not isinstance(licence, dict) or not licence.get("name") or set(licence) - {"name", "url"}:
        raise ConversionError(source, "'licence' must be a name (e.g. CC-BY-4.0) or {name: ..., url: ...}")
    name = str(licence["name"]).strip()
    url = licence.get("url") or (f"https://spdx.org/licenses/{name}.html" if _SPDX.match(name) else None)
    if url is None:
        raise ConversionError(source, f"licence '{name}' is no SPDX identifier (e.g. CC-BY-4.0); give its url too")
    base = "noteID[note_licence]"
    return {f"{base}/type": "licence", f"{base}/description": name, f"{base}/file_name": str(url)}


def _citation_entries(citation: dict[str, Any], index: int, source: str) -> dict[str, Any]:
    """NXcite: NXem requires the DOI, stored as ``https://doi.org/10...``."""
    match = _DOI.match(str(citation.get("doi", "")).strip())
    if match is None:
        raise ConversionError(source, f"citations[{index - 1}].doi '{citation.get('doi')}' is not a DOI (10.xxxx/...)")
    base = f"citeID[cite{index}]"
    entries = {f"{base}/{key}": str(citation[key]) for key in _CITATION_FIELDS if citation.get(key) is not None}
    entries[f"{base}/doi"] = f"https://doi.org/{match.group(1)}"
    return entries


def _section(eln: dict[str, Any], key: str, source: str) -> dict[str, Any]:
    value = eln.get(key) or {}
    if not isinstance(value, dict):
        raise ConversionError(source, f"'{key}' must be a mapping")
    return value


def _list_of_mappings(eln: dict[str, Any], key: str, source: str) -> list[dict[str, Any]]:
    items = eln.get(key) or []
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise ConversionError(source, f"'{key}' must be a list of mappings")
    return items


def _sample_entries(sample: dict[str, Any], source: str) -> dict[str, Any]:
    base = "sampleID[sample]"
    entries: dict[str, Any] = {}
    for key in _SAMPLE_TEXT_FIELDS:
        if sample.get(key) is not None:
            entries[f"{base}/{key}"] = str(sample[key])
    if sample.get("identifier") is not None:
        value, kind = _identifier(sample["identifier"])
        entries[f"{base}/identifier_sample"] = value
        entries[f"{base}/identifier_sample/@type"] = kind
    if sample.get("atom_types") is not None:
        atoms = sample["atom_types"]
        entries[f"{base}/atom_types"] = ", ".join(atoms) if isinstance(atoms, list) else str(atoms)
    if sample.get("preparation_date") is not None:
        entries[f"{base}/preparation_date"] = _iso_datetime(
            sample["preparation_date"], "sample.preparation_date", source
        )
    if sample.get("thickness") is not None:
        value, unit = _quantity(sample["thickness"], "sample.thickness", source)
        entries[f"{base}/thickness"] = value
        entries[f"{base}/thickness/@units"] = unit
    return entries


def _user_entries(user: dict[str, Any], index: int, source: str) -> dict[str, Any]:
    base = f"userID[user{index}]"
    entries = {f"{base}/{key}": str(user[key]) for key in _USER_FIELDS if user.get(key) is not None}
    if user.get("orcid") is not None:
        match = _ORCID.match(str(user["orcid"]).strip())
        if match is None:
            raise ConversionError(source, f"users[{index - 1}].orcid '{user['orcid']}' is not an ORCID iD")
        entries[f"{base}/identifierNAME[identifier_orcid]"] = f"https://orcid.org/{match.group(1)}"
        entries[f"{base}/identifierNAME[identifier_orcid]/@type"] = "ORCID"
    return entries


def _identifier(value: Any) -> tuple[str, str]:
    """``{value, type}`` or a plain string, which is a facility-local identifier."""
    if isinstance(value, dict):
        return str(value.get("value", "")), str(value.get("type", "local"))
    return str(value), "local"


def _iso_datetime(value: Any, what: str, source: str) -> str:
    """A YAML date/datetime or ISO string as timezone-aware ISO 8601."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    else:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError as exc:
            raise ConversionError(source, f"{what} '{value}' is not an ISO 8601 date") from exc
    if moment.tzinfo is None:
        raise ConversionError(source, f"{what} '{value}' needs a time zone, e.g. 2024-05-01T09:00:00+02:00")
    return moment.isoformat()


def _quantity(value: Any, what: str, source: str) -> tuple[float, str]:
    if not isinstance(value, dict) or "value" not in value or "unit" not in value:
        raise ConversionError(source, f"{what} must be {{value: ..., unit: ...}}")
    if parse_unit(str(value["unit"])) is None:
        raise ConversionError(source, f"{what} unit '{value['unit']}' is not a known unit")
    try:
        return float(value["value"]), str(value["unit"])
    except (TypeError, ValueError) as exc:
        raise ConversionError(source, f"{what} value '{value['value']}' is not a number") from exc
