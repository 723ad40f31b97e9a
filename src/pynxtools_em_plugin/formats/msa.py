"""EMSA/MSA text spectra (ISO 22029): EELS, EDS and other 1-D spectra.

Parsing is RosettaSciIO's (``rsciio.msa``); its ``original_metadata`` holds
every ``#KEYWORD`` of the header under its raw name (with any unit suffix, e.g.
``"BEAMKV   -kV"``); it is ``Signal.metadata`` as RosettaSciIO returned it. Three
things are added or corrected here:

* ``keywords/<KEYWORD>`` in ``Signal.derived``: every keyword under its bare name, numbers in the
  unit ISO 22029 defines for it (kV, µA, nA, nm, mrad, ms, s, degree, mm...).
  A unit suffix that differs from the standard one is converted with pint; one
  that cannot be understood leaves the keyword out (with a warning). The
  mapping table reads these keys only, so it needs one rule per keyword, not
  one per spelling. ``MAGCAM`` is a magnification in imaging and a camera
  length (mm) in diffraction: it is split by ``OPERMODE`` into
  ``MAGNIFICATION`` or ``CAMERA_LENGTH``; ``BEAMDIAM`` also gives the probe
  semi-axes (half the diameter each) that NXem asks for. EDAX writes its own
  ``##`` keywords (``##Tilt Angle``, ``##TakeOff Angle``, ``##RESO (MnKa)``,
  ``##EDAX Detector``...), which RosettaSciIO keeps under their names; they
  arrive upper-cased (``TILT ANGLE``) and the mapping table puts them where their
  ISO equivalents go. ``##Elements`` lists atomic numbers: ``ATOM_TYPES`` holds
  their chemical symbols.
* The x unit: RosettaSciIO passes ``#XUNITS`` through, and ISO 22029:2022 writes
  it as ``"Energy Loss (eV)"``; the unit is the text in parentheses (and
  ``KeV`` means keV). Without this the energy axis would be uncalibrated.
* The x values of an ``XY`` file: RosettaSciIO drops the X column and builds
  ``OFFSET + i * XPERCHAN``. The X column is read here (a text parse of the
  data lines); where it disagrees with that calibration by more than 2 % of a
  channel, the axis holds the X column and a warning says by how much.

A physical ``#YUNITS`` (not counts, intensity or arbitrary units) is named in
the label of the values, not set as their units: NXem's spectrum intensity is
NX_UNITLESS and the NeXus validator rejects any other unit there.
"""

from __future__ import annotations

import logging
import re
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from ..compat.rsciio import element_symbol, msa_numeric_keywords, reader_logger
from ..errors import ConversionError
from ..model import Signal
from ..units import convert_values, parse_unit
from ._rsciio import call_reader, rsciio_log, signal_from_rsciio, vendor_tree

NAME = "msa"
TITLE = "EMSA/MSA spectrum (ISO 22029)"
EXTENSIONS = (".msa", ".ems", ".emsa")

#: Units ISO 22029 defines for its numeric keywords.
STANDARD_UNITS = {
    "BEAMKV": "kV",
    "EMISSION": "µA",
    "PROBECUR": "nA",
    "BEAMDIAM": "nm",
    "CONVANGLE": "mrad",
    "COLLANGLE": "mrad",
    "THICKNESS": "nm",
    "XTILTSTGE": "degree",
    "YTILTSTGE": "degree",
    "XPOSITION": "mm",
    "YPOSITION": "mm",
    "ZPOSITION": "mm",
    "INTEGTIME": "ms",
    "DWELLTIME": "ms",
    "LIVETIME": "s",
    "REALTIME": "s",
    "ELEVANGLE": "degree",
    "AZIMANGLE": "degree",
    "SOLIDANGLE": "sr",
    "FWHMMNKA": "eV",
    "TBEWIND": "cm",
    "TAUWIND": "cm",
    "TDEADLYR": "cm",
    "TACTLYR": "cm",
    "TALWIND": "cm",
    "TPYWIND": "cm",
    "TBNWIND": "cm",
    "TDIWIND": "cm",
    "THCWIND": "cm",
}
#: Unit spellings of MSA files that pint reads differently (dg would be decigram).
_UNIT_ALIASES = {"dg": "degree", "deg": "degree", "mr": "mrad", "ua": "µA", "us": "µs", "kev": "keV", "ev": "eV"}
_DIFFRACTION_MODES = {"DIFF", "SCDIFF"}
_IMAGING_MODES = {"IMAG", "SCIMAG"}
#: YUNITS that name no physical unit.
_NOT_PHYSICAL = {"", "counts", "count", "cts", "intensity", "a.u.", "au", "arb. units", "arbitrary units", "cps"}
_UNIT_IN_PARENTHESES = re.compile(r"\s*(.*?)\s*\(([^()]*)\)\s*")
_NUMBERS = re.compile(r"[,\s]+")
#: How far (in channels) the X column may differ from OFFSET + i * XPERCHAN (rounding of the printed values).
_X_TOLERANCE = 0.02
#: Keyword -> the axis field RosettaSciIO sets from it.
_CALIBRATION = {"XPERCHAN": "scale", "OFFSET": "offset"}


def sniff(path: Path, head: bytes) -> bool:
    """ISO 22029 files start with ``#FORMAT : EMSA/MAS Spectral Data File``."""
    first = head.removeprefix(b"\xef\xbb\xbf").lstrip().split(b"\n", 1)[0].upper()
    return first.startswith(b"#FORMAT") and b"EMSA" in first


def read(path: Path, companions: list[Path]) -> list[Signal]:
    from rsciio.msa import file_reader

    with rsciio_log(reader_logger("msa"), logging.WARNING) as records:
        entry = call_reader(path, TITLE, file_reader)[0]
    if np.size(entry["data"]) == 0:
        raise ConversionError(path, "has an EMSA/MSA header but no spectrum data: truncated?")
    raw = vendor_tree(entry)
    warnings = [f"{path.name}: {' '.join(record.getMessage().split())}" for record in records]
    _check_npoints(raw, np.size(entry["data"]), path, warnings)
    keywords = normalised_keywords(raw, path, warnings)
    _fix_x_axis(entry, keywords, path, warnings)
    signal = signal_from_rsciio(entry, path, NAME, context="spectrum", derived={"keywords": keywords})
    units = physical_units(keywords.get("YUNITS"))
    if units:
        signal.quantity = f"{keywords.get('YLABEL') or 'intensity'} ({units})"
    signal.warnings.extend(warnings)
    return [signal]


def _check_npoints(keywords: dict[str, Any], size: int, path: Path, warnings: list[str]) -> None:
    """NPOINTS announces the number of data points; a different count hints at a damaged file."""
    announced = next((v for k, v in keywords.items() if split_keyword(k)[0] == "NPOINTS"), None)
    if _is_number(announced) and int(announced) != size:
        warnings.append(f"{path.name}: NPOINTS announces {int(announced)} points; the file holds {size}, all kept")


def split_keyword(raw: str) -> tuple[str, str]:
    """``"BEAMKV   -kV"`` -> ``("BEAMKV", "kV")``; ``"OWNER"`` -> ``("OWNER", "")``."""
    name, _, units = raw.partition("-")
    return name.strip().upper(), units.strip()


def msa_unit(units: str) -> str:
    """An MSA unit spelling as pint reads it."""
    return _UNIT_ALIASES.get(units.strip().lower(), units.strip())


def normalised_keywords(keywords: dict[str, Any], path: Path, warnings: list[str]) -> dict[str, Any]:
    """Every keyword under its bare name, numbers in their ISO 22029 unit (``keywords`` is the vendor tree)."""
    result: dict[str, Any] = {}
    for raw, value in keywords.items():
        if value is None:
            continue
        name, units = split_keyword(raw)
        if name in _numeric_keywords() and not _is_number(value):
            continue  # RosettaSciIO could not read the number and warned, naming the keyword; kept raw
        standard = STANDARD_UNITS.get(name)
        if standard and units and parse_unit(msa_unit(units)) != parse_unit(standard):
            try:
                value = convert_values(float(value), msa_unit(units), standard)
            except (TypeError, ValueError, ArithmeticError) as exc:
                warnings.append(f"{path.name}: keyword '{raw}' = {value!r}: unit not understood ({exc}); not mapped")
                continue
        result.setdefault(name, value)
    _split_magcam(result)
    _edax_elements(result)
    if _is_number(result.get("BEAMDIAM")):
        radius = float(result["BEAMDIAM"]) / 2
        result["PROBE_SEMIAXES"] = np.array([radius, radius])
    return result


def _split_magcam(result: dict[str, Any]) -> None:
    """MAGCAM is a magnification in imaging and a camera length (mm) in diffraction."""
    mode = str(result.get("OPERMODE", "")).strip().upper()
    if not _is_number(result.get("MAGCAM")):
        return
    if mode in _IMAGING_MODES:
        result["MAGNIFICATION"] = result["MAGCAM"]
    elif mode in _DIFFRACTION_MODES:
        result["CAMERA_LENGTH"] = result["MAGCAM"]


def _edax_elements(result: dict[str, Any]) -> None:
    """EDAX's ``##Elements : 8,27,16`` (atomic numbers) as ``ATOM_TYPES = "Co, O, S"``."""
    items = [item.strip() for item in str(result.get("ELEMENTS", "")).split(",") if item.strip()]
    if not items or not all(item.isdigit() for item in items):
        return
    symbols = [element_symbol(int(item)) for item in items]
    if all(symbols):
        result["ATOM_TYPES"] = ", ".join(sorted(symbols))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def physical_units(yunits: Any) -> str:
    """``#YUNITS`` as a unit pint reads, or "" for counts, intensity and arbitrary units."""
    text = str(yunits or "").strip()
    if text.lower() in _NOT_PHYSICAL:
        return ""
    units = msa_unit(text)
    return units if parse_unit(units) is not None else ""


def _fix_x_axis(entry: dict[str, Any], keywords: dict[str, Any], path: Path, warnings: list[str]) -> None:
    """Unit from ``"Label (unit)"``; the file's X column where the calibration disagrees or is unreadable
    (``keywords``: the normalised keywords)."""
    axis = entry["axes"][0]
    match = _UNIT_IN_PARENTHESES.fullmatch(str(axis.get("units") or ""))
    if match:
        label, units = match.groups()
        axis["units"] = units
        if label and not axis.get("name"):
            axis["name"] = label
    axis["units"] = msa_unit(str(axis.get("units") or ""))
    unreadable = {key: axis.get(field) for key, field in _CALIBRATION.items() if not _is_number(axis.get(field, 0.0))}
    xy = str(keywords.get("DATATYPE", "")).strip().upper() == "XY"
    from_x_column = xy and _use_x_column(axis, path, warnings, check=not unreadable)
    if unreadable:
        _report_unreadable(axis, unreadable, from_x_column, path, warnings)


def _report_unreadable(
    axis: dict[str, Any], unreadable: dict[str, Any], from_x_column: bool, path: Path, warnings: list[str]
) -> None:
    """One warning per calibration keyword RosettaSciIO could not read (replacing its own), saying
    what the axis holds instead: the X column of an XY file, else the channel index."""
    consequence = "the axis holds the X column" if from_x_column else "the axis is stored as channel index"
    for key, value in unreadable.items():
        warnings[:] = [w for w in warnings if f"The {key} keyword value" not in w]
        warnings.append(f"{path.name}: keyword {key} = {value!r} is not a number; {consequence}")
    if not from_x_column:
        axis.update(scale=1.0, offset=0.0, units="", name="channel")


def _use_x_column(axis: dict[str, Any], path: Path, warnings: list[str], check: bool = True) -> bool:
    """Whether the axis holds the X column: where it differs from the calibration, or unchecked."""
    x = x_column(path)
    size = int(axis["size"])
    if x is None or x.size != size or size < 2 or not np.all(np.diff(x) > 0):
        return False
    if check:
        scale, offset = float(axis.get("scale", 1.0)), float(axis.get("offset", 0.0))
        deviation = float(np.max(np.abs(x - (offset + scale * np.arange(size)))))
        if deviation <= _X_TOLERANCE * abs(scale):
            return False
        warnings.append(
            f"{path.name}: the X column differs from OFFSET + i * XPERCHAN by up to {deviation:.4g} "
            f"{axis.get('units') or '(no unit)'}; the axis holds the X column"
        )
    axis["axis"] = x
    return True


@cache
def _numeric_keywords() -> frozenset[str]:
    """Keywords RosettaSciIO reads as numbers (a value it cannot read stays text)."""
    return msa_numeric_keywords()


def x_column(path: Path) -> np.ndarray | None:
    """The x values of the data lines of an XY file (``x, y`` or ``x1, y1, x2, y2`` per line)."""
    values: list[float] = []
    in_data = False
    with open(path, encoding="latin-1", errors="replace") as handle:
        for line in handle:
            stripped = line.strip()
            if stripped.startswith("#"):
                keyword = stripped[1:].split(":", 1)[0].strip().upper()
                if in_data:
                    break
                in_data = keyword.startswith("SPECTRUM")
                continue
            if not in_data or not stripped:
                continue
            try:
                numbers = [float(n) for n in _NUMBERS.split(stripped) if n]
            except ValueError:
                return None
            values.extend(numbers[0::2])
    return np.asarray(values, dtype=np.float64) if values else None
