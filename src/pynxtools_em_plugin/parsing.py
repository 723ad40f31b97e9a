"""Reading vendor text: file heads, text decoding, INI and XML, numbers. One implementation each.

A base-layer module (stdlib and numpy only; RosettaSciIO's public XML helper is imported
inside :func:`xml_to_dict`): format modules use it to parse what vendors write, the mapping
transforms use :func:`parse_number` to read numbers, so that a number means the same thing
wherever it is read. Each caller states its policy (decimal comma? unit suffix?) in the call.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np

#: A number at the start of text: sign, digits with an optional point, optional exponent.
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
#: The same with a decimal comma instead of the point ('0,0000016', '2,5e-008').
_COMMA_NUMBER = r"[-+]?\d+,\d+(?:[eE][-+]?\d+)?"
#: What may follow a number as its unit/suffix: nothing, anything after whitespace, or text
#: without digits that does not start like more of a number or a list ('22500 X', '15 kV', '5kV';
#: never '1.#QNAN', '12x0.0', '40.0,511.0').
_SUFFIX = r"(?:\s+.*|[^\d\s.#,:;/-][^\d]*)?"
_WITH_SUFFIX = re.compile(rf"\s*({_NUMBER}){_SUFFIX}", re.DOTALL)
_COMMA_WITH_SUFFIX = re.compile(rf"\s*({_COMMA_NUMBER}){_SUFFIX}", re.DOTALL)
_COMMA_ALONE = re.compile(rf"\s*({_COMMA_NUMBER})\s*")
_VALUE_AND_UNIT = re.compile(rf"\s*({_NUMBER})\s*([^\d\s].*?)\s*", re.DOTALL)

#: Bytes read by default from the start of a file to recognise it.
HEAD_SIZE = 1024


# ---- files ---------------------------------------------------------------------------------


def read_head(path: Path, size: int = HEAD_SIZE) -> bytes:
    """The first ``size`` bytes of ``path``; empty bytes for a file that cannot be read.

    For sniffing and for recognising possible companion files, where an unreadable file is
    simply not one of ours (the registry reports unreadable main files itself).
    """
    try:
        with open(path, "rb") as handle:
            return handle.read(size)
    except OSError:
        return b""


def decode_text(data: bytes) -> str:
    """Vendor text: UTF-8 (with or without BOM), else Windows-1252, else Latin-1 (never fails)."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


# ---- numbers -------------------------------------------------------------------------------


def parse_number(value: Any, *, decimal_comma: bool = False, suffix: bool = False, finite: bool = True) -> float | None:
    """A float from a number or from text that is a number, else None. Policies:

    * ``decimal_comma``: text written with a decimal comma ('15000,5', '2,5e-008') is a number
      (vendor software on Windows with a European locale); off, such text is not a number.
    * ``suffix``: text may go on after the number with a unit or other suffix ('22500 X',
      '15 kV', '5kV'); off, the whole text (apart from surrounding white space) is the number,
      in Python's float syntax.
    * ``finite``: NaN and infinity ('nan', 'inf', '1e999', float NaN) are None; off, returned.

    Booleans are not numbers; neither are '1.#QNAN', '12x0.0', '' or other types.
    """
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)):
        return _finite_or_none(float(value), finite)
    if not isinstance(value, str):
        return None
    number = _number_from_text(value, decimal_comma, suffix)
    return None if number is None else _finite_or_none(number, finite)


def _number_from_text(text: str, decimal_comma: bool, suffix: bool) -> float | None:
    if suffix:
        match = _WITH_SUFFIX.fullmatch(text) or (_COMMA_WITH_SUFFIX.fullmatch(text) if decimal_comma else None)
        return float(match.group(1).replace(",", ".")) if match else None
    if decimal_comma and (match := _COMMA_ALONE.fullmatch(text)):
        return float(match.group(1).replace(",", "."))
    try:
        return float(text)
    except ValueError:
        return None


def _finite_or_none(number: float, finite: bool) -> float | None:
    return number if math.isfinite(number) or not finite else None


def split_value_unit(text: Any) -> tuple[float, str] | None:
    """``(value, unit)`` from text written as a number followed by its unit ('8000 um',
    '15000 Volt', '5kV', '50.00 K X'); None when there is no unit or no finite number first."""
    match = _VALUE_AND_UNIT.fullmatch(str(text)) if isinstance(text, str) else None
    if match is None:
        return None
    number = float(match.group(1))
    return (number, match.group(2)) if math.isfinite(number) else None


# ---- INI -----------------------------------------------------------------------------------


def parse_ini(text: str, *, typed: bool = False) -> dict[str, dict[str, Any]]:
    """``[section]`` / ``key=value`` text as ``{section: {key: value}}``.

    A repeated section is kept as ``name (2)``, ``name (3)``...; keys before the first
    section go to the section ``""``; lines starting with ``#`` or ``;`` are comments; NUL
    characters (C strings padded into a fixed-size field) are ignored. ``typed`` turns
    values that are integers or floats in Python's syntax into numbers (as tifffile does for
    FEI tags); otherwise every value stays text.
    """
    sections: dict[str, dict[str, Any]] = {}
    current: dict[str, Any] | None = None
    for line in text.replace("\x00", "").splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            current = sections[_unique_name(line[1:-1], sections)] = {}
        elif "=" in line and not line.startswith(("#", ";")):
            key, value = (part.strip() for part in line.split("=", 1))
            if current is None:
                current = sections.setdefault("", {})
            current[key] = typed_value(value) if typed else value
    return sections


def _unique_name(name: str, taken: dict[str, Any]) -> str:
    unique, count = name, 1
    while unique in taken:
        count += 1
        unique = f"{name} ({count})"
    return unique


def typed_value(text: str) -> int | float | str:
    """``int`` if the text is one, else ``float`` if it is one, else the text (Python's syntax)."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


# ---- XML -----------------------------------------------------------------------------------


def xml_to_dict(text: str, *, decimal_comma: bool = False, text_key: str = "#value") -> dict[str, Any]:
    """XML as nested dicts (RosettaSciIO's ``XmlToDict``: repeated elements become lists,
    attributes and text become entries, numeric text numbers), namespaces dropped from element
    and attribute names. Raises ValueError for text that is not well-formed XML.

    ``decimal_comma``: numbers written with a decimal comma (MSXML under a European locale)
    are read as numbers (RosettaSciIO's ``sanitize_msxml_float``); without it, ``XmlToDict``
    reads '2,5E-11' as the pair (2, 5e-11).
    """
    import xml.etree.ElementTree as ET

    from rsciio.utils.xml import XmlToDict, sanitize_msxml_float

    data = text.encode("utf-8")
    try:
        root = ET.fromstring(sanitize_msxml_float(data) if decimal_comma else data)
    except ET.ParseError as exc:
        raise ValueError(str(exc)) from exc
    for element in root.iter():
        element.tag = str(element.tag).rpartition("}")[2]
        element.attrib = {key.rpartition("}")[2]: value for key, value in element.attrib.items()}
    return XmlToDict(dub_text_str=text_key).dictionarize(root)
