"""Which technique an acquisition is: explicit, ordered rules over a signal's axes and mapped metadata.

Every event gets one label (``TEM imaging``, ``EELS``, ``4D-STEM``...) and the
rule that decided it, so that a search hit can be explained and a wrong label
traced to its rule. The rules look at what the converter knows independently of
file names: the axes' kinds and units (energy, wavelength, reciprocal length,
time), the vendor's signal type, the mapped column settings (operation mode,
high tension, dwell time) and detector names. The first rule that applies wins;
:data:`RULES` lists them in that order.

The NOMAD summary (:mod:`.nomad.summary`) reads the stored label and uses the
same word lists and mode rule for files of other writers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .model import AxisKind, Signal

MODES = ("TEM", "STEM", "SEM")
DIFFRACTION = "Electron diffraction"
FOUR_D_STEM = "4D-STEM"
EDS, EELS, CL = "EDS", "EELS", "Cathodoluminescence"
IN_SITU_LOG = "In-situ log"
CL_HYPERSPECTRAL = "Cathodoluminescence (hyperspectral)"
CL_ANGLE_RESOLVED = "Cathodoluminescence (angle-resolved)"
CL_TIME_RESOLVED = "Cathodoluminescence (time-resolved)"
EBSD = "EBSD"  # orientation maps and Kikuchi pattern files
IMAGING = "Imaging"  # an image whose column mode is unknown (no high tension, no mode word)
#: The labels that name a technique (searchable in NOMAD).
TECHNIQUES = (
    *(f"{mode} imaging" for mode in MODES),
    DIFFRACTION,
    EELS,
    EDS,
    CL,
    FOUR_D_STEM,
    IN_SITU_LOG,
    CL_HYPERSPECTRAL,
    CL_ANGLE_RESOLVED,
    CL_TIME_RESOLVED,
    EBSD,
)
#: Every label :func:`classify` can give.
LABELS = (*TECHNIQUES, IMAGING)

#: Highest high tension of a scanning electron microscope.
SEM_MAX_KV = 30.0
#: Spectra whose highest energy is below this are photon energies (CL), in eV.
CL_MAX_EV = 10.0
#: Spectra reaching this are X-ray (EDS) spectra, in eV.
EDS_MIN_EV = 5000.0

EELS_WORDS = re.compile(r"EELS|energy[\s_-]*loss|(?<![A-Za-z])(GIF|ELS)(?![A-Za-z])", re.IGNORECASE)
EDS_WORDS = re.compile(
    r"(?<![A-Za-z])(EDS|EDX|EDXS|XEDS|SDD|(SI|GE|SD)(BEW|UTW|WLS))(?![A-Za-z])|X-?ray|XFlash", re.IGNORECASE
)
CL_WORDS = re.compile(r"(?<![A-Za-z])CL(?![A-Za-z])|cathodo|luminescence|photon energy|wavelength", re.IGNORECASE)
SPECTROSCOPIES = ((EELS, EELS_WORDS), (EDS, EDS_WORDS), (CL, CL_WORDS))

_SPECTRAL = (AxisKind.ENERGY, AxisKind.WAVELENGTH)
_VOLTAGE = "instrument/ebeam_column/electron_source/voltage"
_OPERATION_MODE = "instrument/ebeam_column/operation_mode"
_DWELL = "instrument/ebeam_column/scan_controller/dwell_time"
_DETECTOR_WORDS = ("instrument/detectorID[detector]/type", "instrument/detectorID[detector]/local_name")


@dataclass(frozen=True)
class Facts:
    """What the rules look at, taken from one signal and its mapped event values."""

    kinds: tuple[AxisKind, ...]
    signal_type: str  # the vendor's / RosettaSciIO's hint (EELS, EDS_TEM, CL...)
    title: str
    operation_mode: str
    detector_text: str
    high_tension_kv: float | None
    scanning: bool  # a dwell time or a scanning detector
    energy_max_ev: float | None  # highest value of an energy axis
    has_units: bool  # the values are a physical quantity (an in-situ log), not counts

    @property
    def spectral(self) -> bool:
        """One spectral axis: a spectrum (several make an image, as nexus/nxdata.py lays it out)."""
        return sum(kind in _SPECTRAL for kind in self.kinds) == 1


@dataclass(frozen=True)
class Rule:
    identifier: str
    description: str
    decide: Callable[[Facts], str | None]  # the label, or None when the rule does not apply


@dataclass(frozen=True)
class Classification:
    label: str
    rule: Rule


def classify(signal: Signal, event_values: dict[str, Any]) -> Classification:
    """The technique label of one signal and the rule that gave it (the last rule always applies)."""
    facts = facts_of(signal, event_values)
    for rule in RULES:
        label = rule.decide(facts)
        if label is not None:
            return Classification(label, rule)
    raise AssertionError("the last rule always applies")  # pragma: no cover


def facts_of(signal: Signal, values: dict[str, Any]) -> Facts:
    """``values``: the event's mapped values by NXem path relative to the event (value, units)."""
    detector_text = " ".join(str(values[p][0]) for p in _DETECTOR_WORDS if p in values)
    return Facts(
        kinds=tuple(signal.axis_kinds()),
        signal_type=signal.signal_type or "",
        title=signal.title or "",
        operation_mode=str(values.get(_OPERATION_MODE, ("", None))[0] or ""),
        detector_text=detector_text,
        high_tension_kv=_kilovolts(values.get(_VOLTAGE)),
        scanning=_DWELL in values or "scanning" in detector_text.lower(),
        energy_max_ev=_energy_max(signal),
        has_units=bool(signal.units),
    )


def imaging_mode(operation_mode: str, high_tension_kv: float | None, scanning: bool) -> str | None:
    """STEM/SEM/TEM from the words of the operation mode, else from high tension and scanning evidence."""
    words = set(re.findall(r"[A-Z]+", operation_mode.upper()))
    for mode in ("STEM", "SEM", "TEM"):
        if mode in words:
            return mode
    if high_tension_kv is None:
        return None
    if high_tension_kv <= SEM_MAX_KV:
        return "SEM"
    return "STEM" if scanning or "SCANNING" in words else "TEM"


def spectroscopy_of_words(texts: list[str]) -> str | None:
    """EELS / EDS / CL from the first text that names one."""
    for text in texts:
        for technique, words in SPECTROSCOPIES:
            if words.search(text):
                return technique
    return None


def spectroscopy_of_energy(highest_ev: float | None) -> str | None:
    """Failing words, the energy range: photon energies (CL), X-rays (EDS), else energy losses."""
    if highest_ev is None:
        return None
    return CL if highest_ev < CL_MAX_EV else EDS if highest_ev >= EDS_MIN_EV else EELS


#: Vendor signal types of angle-resolved CL (Delmic's AR images and E-k spectra, see formats/delmic.py).
CL_ANGLE_RESOLVED_TYPES = ("CL_AR", "CL_EK")
#: Signal types of time-resolved luminescence (LumiSpy's, as RosettaSciIO gives them).
CL_TIME_RESOLVED_TYPES = ("LumiTransient", "LumiTransientSpectrum")


# ---- the rules, in the order they are tried ------------------------------------
def _cl_angle_resolved(f: Facts) -> str | None:
    return CL_ANGLE_RESOLVED if f.signal_type in CL_ANGLE_RESOLVED_TYPES else None


def _cl_time_resolved(f: Facts) -> str | None:
    streak = AxisKind.TIME in f.kinds and AxisKind.WAVELENGTH in f.kinds
    return CL_TIME_RESOLVED if streak or f.signal_type in CL_TIME_RESOLVED_TYPES else None


def _cl_panchromatic(f: Facts) -> str | None:
    return CL if f.signal_type == "CL" and not f.spectral else None


def _cl_hyperspectral(f: Facts) -> str | None:
    return CL_HYPERSPECTRAL if AxisKind.WAVELENGTH in f.kinds and AxisKind.SPACE in f.kinds else None


def _ebsd(f: Facts) -> str | None:
    return EBSD if f.signal_type == "EBSD" else None


def _in_situ_log(f: Facts) -> str | None:
    return IN_SITU_LOG if f.kinds == (AxisKind.TIME,) else None


def _four_d(f: Facts) -> str | None:
    return FOUR_D_STEM if len(f.kinds) == 4 and not f.spectral else None


def _wavelength(f: Facts) -> str | None:
    return CL if AxisKind.WAVELENGTH in f.kinds else None


def _spectrum_signal_type(f: Facts) -> str | None:
    return spectroscopy_of_words([f.signal_type]) if f.spectral and f.signal_type else None


def _spectrum_words(f: Facts) -> str | None:
    return spectroscopy_of_words([f.title, f.detector_text, f.operation_mode]) if f.spectral else None


def _spectrum_energy(f: Facts) -> str | None:
    return spectroscopy_of_energy(f.energy_max_ev) if f.spectral else None


def _spectrum_unknown(f: Facts) -> str | None:
    return EELS if f.spectral else None


def _diffraction_axes(f: Facts) -> str | None:
    return DIFFRACTION if f.kinds.count(AxisKind.RECIPROCAL) >= 2 else None


def _diffraction_mode(f: Facts) -> str | None:
    uncalibrated = AxisKind.SPACE not in f.kinds
    return DIFFRACTION if uncalibrated and "diffraction" in f.operation_mode.lower() else None


def _imaging(f: Facts) -> str | None:
    mode = imaging_mode(f.operation_mode, f.high_tension_kv, f.scanning)
    return f"{mode} imaging" if mode else None


def _imaging_unknown(f: Facts) -> str:
    return IMAGING


RULES: tuple[Rule, ...] = (
    Rule("ebsd.signal_type", "the format read an EBSD orientation map or Kikuchi patterns", _ebsd),
    Rule(
        "cl.angle_resolved",
        "the signal type names angle-resolved CL (back-focal-plane images, E-k)",
        _cl_angle_resolved,
    ),
    Rule(
        "cl.time_resolved",
        "a time and a wavelength axis (streak camera), or a transient-luminescence signal type",
        _cl_time_resolved,
    ),
    Rule("log.time_axis", "one time axis: a time series of a sensor (in-situ log)", _in_situ_log),
    Rule("4dstem.rank4", "four dimensions without an energy axis: scan x detector (4D-STEM)", _four_d),
    Rule(
        "cl.hyperspectral", "a wavelength axis and a scan (space) axis: a CL spectrum per position", _cl_hyperspectral
    ),
    Rule("spectrum.wavelength_axis", "a wavelength axis: photon spectrum (CL)", _wavelength),
    Rule(
        "spectrum.signal_type", "an energy axis and the vendor's signal type names the technique", _spectrum_signal_type
    ),
    Rule("spectrum.words", "an energy axis; title, detector or operation mode names the technique", _spectrum_words),
    Rule(
        "spectrum.energy_range",
        f"an energy axis ending below {CL_MAX_EV:g} eV (CL), at {EDS_MIN_EV:g} eV or above (EDS), else EELS",
        _spectrum_energy,
    ),
    Rule("spectrum.default", "an energy axis without calibrated range or words: EELS", _spectrum_unknown),
    Rule("cl.panchromatic", "the signal type is CL, without a spectral axis: a CL intensity map", _cl_panchromatic),
    Rule("diffraction.reciprocal_axes", "two reciprocal-length axes (1/m)", _diffraction_axes),
    Rule("diffraction.operation_mode", "uncalibrated axes and 'diffraction' in the operation mode", _diffraction_mode),
    Rule(
        "imaging.mode",
        f"an image; STEM/SEM/TEM named by the operation mode, else high tension <= {SEM_MAX_KV:g} kV: SEM, "
        "else a dwell time or scanning detector: STEM, else TEM",
        _imaging,
    ),
    Rule("imaging.unknown_mode", "an image without operation mode or high tension", _imaging_unknown),
)


def _kilovolts(value_units: tuple[Any, str | None] | None) -> float | None:
    if value_units is None:
        return None
    value, units = value_units
    return _converted(value, units or "V", "kV")


def _energy_max(signal: Signal) -> float | None:
    energy = [axis for axis in signal.axes if axis.kind is AxisKind.ENERGY]
    if not energy or energy[-1].size == 0:
        return None
    return _converted(np.nanmax(energy[-1].values), energy[-1].units or "eV", "eV")


def _converted(value: Any, units: str, target: str) -> float | None:
    """A number in ``target`` units; None for text or units pint cannot convert."""
    from .units import convert_values, parse_unit

    try:
        return float(convert_values(float(value), units, target)) if parse_unit(units) is not None else None
    except Exception:  # pint's DimensionalityError, a text value
        return None
