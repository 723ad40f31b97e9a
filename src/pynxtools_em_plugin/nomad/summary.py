"""What an NXem file says about its acquisitions: techniques, modes, signals, instrument, elements.

Read from the NeXus/HDF5 file by NeXus classes and NXem concept names, never by
this package's group names, so that NXem files of other writers are summarised
too. Per event (``NXem_event_data``; the whole entry if a writer has none):

* **signal kind** of every ``NXdata``: a spectrum (an energy or wavelength axis)
  without or with scan dimensions (``spectrum`` / ``spectrum image``); an image
  with two reciprocal-space axes (``diffraction``); four dimensions (``4D``);
  a one-dimensional signal over time (``time series``) or space (``line profile``);
  else ``image``.
* **imaging mode**: the words STEM/SEM/TEM of ``ebeam_column/operation_mode``;
  otherwise from the high tension (at most 30 kV: an SEM) and scanning evidence
  (a scan controller's dwell time, a scanning detector, scan dimensions): STEM,
  else TEM. Unknown without a high tension.
* **technique**: the label stored as the event's ``type`` by this package's rules
  (:mod:`pynxtools_em_plugin.classify`) when it is one of them; otherwise
  ``<mode> imaging``, ``Electron diffraction``, ``4D-STEM``, and for
  spectra EELS / EDS / Cathodoluminescence from the words of the signal's title and
  axis names, then of the detector, then of the operation mode; failing words, from
  the energy range (below 10 eV: photon energies of CL; above 5 keV: X-rays; else
  energy losses).
* **elements**: every ``atom_types`` field (sample, EDS/EELS indexing); element maps
  (an image titled with an element, e.g. ``Fe``, ``Fe-EELS``, ``C K element map``,
  taken as such when its title names a line/technique or the entry holds EDS/EELS
  spectra); element-named groups of ``NXem_eds``/``NXem_eels`` indexing.
* **settings** in SI units (:data:`SETTING_PLACES`: high tension, magnification, camera
  length, field of view, dwell time, probe current, convergence and collection
  angles), converted with pint from the unit each field states; the pixel size from
  the spacing of the first spatial axis of the event's first image.
* **EBSD**: an ``NXem_ebsd`` group makes its event (or the entry's first) an EBSD
  acquisition; the phases are the ``name`` fields of ``NXphase`` groups below it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import h5py
import numpy as np

from ..classify import (
    DIFFRACTION,
    EBSD,
    EDS,
    EELS,
    EELS_WORDS,
    FOUR_D_STEM,
    LABELS,
    TECHNIQUES,
    imaging_mode,
    spectroscopy_of_energy,
    spectroscopy_of_words,
)
from ..model import AxisKind
from ..units import classify_units, convert_values, parse_unit, ureg

ELECTRON_MICROSCOPY = "Electron microscopy"
#: Image/spectrum groups ``*_preview`` hold a small copy of an event's data (every conversion): no signal of their own.
PREVIEW_SUFFIX = "_preview"
SIGNAL_KINDS = ("image", "spectrum", "spectrum image", "diffraction", "4D", "time series", "line profile")

#: Symbols of the chemical elements, for atom types and element map titles.
_SYMBOLS = (
    "H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se Br Kr Rb Sr Y Zr Nb "
    "Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb Dy Ho Er Tm Yb Lu Hf Ta W Re Os Ir Pt Au "
    "Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U Np Pu Am Cm Bk Cf Es Fm Md No Lr Rf Db Sg Bh Hs Mt Ds Rg Cn Nh Fl Mc "
    "Lv Ts Og"
)
CHEMICAL_SYMBOLS = frozenset(_SYMBOLS.split())

_RECIPROCAL_NAME = re.compile(r"(?<![A-Za-z])(k[ _]?[xy]|detector k[xy]?|q[ _]?[xy])(?![A-Za-z])|reciprocal", re.I)
_SPECTRAL_NAME = re.compile(r"energy|wavelength", re.IGNORECASE)
#: An element map title: symbol, optionally a separator and a line / technique / description.
_ELEMENT_TITLE = re.compile(r"^(?P<symbol>[A-Z][a-z]?)(?:[\s_-]+(?P<rest>.+))?$")
_LINE_OR_MAP = re.compile(r"^(K|L|M|N)([a-zαβ]\d*)?(?![A-Za-z])|EELS|EDS|EDX|map", re.IGNORECASE)

#: Instrument settings by NXem concept: name -> (SI unit, places as (NeXus class, field below a group of it)).
SETTING_PLACES: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "high_tension": ("V", (("NXsource", "voltage"),)),
    "magnification": ("dimensionless", (("NXem_optical_system", "magnification"),)),
    "camera_length": ("m", (("NXem_optical_system", "camera_length"),)),
    "field_of_view": ("m", (("NXem_optical_system", "field_of_view"),)),
    "dwell_time": ("s", (("NXscan_controller", "dwell_time"),)),
    "probe_current": ("A", (("NXem_optical_system", "probe_current"), ("NXebeam_column", "probe_current"))),
    "convergence_semi_angle": ("rad", (("NXem_optical_system", "semi_convergence_angle"),)),
    "collection_inner_angle": ("rad", (("NXdetector", "collection_semi_angle/inner"),)),
    "collection_outer_angle": ("rad", (("NXdetector", "collection_semi_angle/outer"),)),
}


@dataclass
class SignalSummary:
    path: str
    title: str
    kind: str
    technique: str | None
    scanning: bool
    element: str | None = None  # an element map's element (accepted later per entry)
    strong_element: bool = False  # the title itself says it is a map / line
    shape: tuple[int, ...] = ()
    pixel_size_m: float | None = None


@dataclass
class EventSummary:
    path: str
    mode: str | None
    techniques: list[str]
    signal_kinds: list[str]
    start_time: datetime | None
    settings: dict[str, float] = field(default_factory=dict)  # SI units, see SETTING_PLACES
    detector_name: str | None = None
    detector_type: str | None = None
    data_shape: tuple[int, ...] = ()


@dataclass
class EmSummary:
    """The union over all NXem entries of a file."""

    events: list[EventSummary] = field(default_factory=list)
    instruments: list[str] = field(default_factory=list)
    elements: list[str] = field(default_factory=list)
    sample_names: list[str] = field(default_factory=list)
    vendors: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    phases: list[str] = field(default_factory=list)
    start_time: datetime | None = None
    end_time: datetime | None = None

    @property
    def modes(self) -> list[str]:
        return _unique(e.mode for e in self.events if e.mode)

    @property
    def techniques(self) -> list[str]:
        return _unique(t for e in self.events for t in e.techniques)

    @property
    def signal_kinds(self) -> list[str]:
        return _unique(k for e in self.events for k in e.signal_kinds)

    @property
    def methods(self) -> list[str]:
        """Values for NOMAD's ``results.eln.methods``: the field, the modes, the techniques."""
        return [ELECTRON_MICROSCOPY, *self.modes, *self.techniques]


def summarize_file(source: Any) -> EmSummary | None:
    """Summary of an NXem file (path or binary file object); None if it holds no NXem entry."""
    with h5py.File(source, "r") as h5:
        return summarize(h5)


def summarize(h5: h5py.File) -> EmSummary | None:
    entries = [g for g in h5.values() if _is_group(g, "NXentry") and _text(g.get("definition")) == "NXem"]
    if not entries:
        return None
    summary = EmSummary()
    for entry in entries:
        _summarize_entry(_Tree(entry), summary)
    summary.instruments = _unique(summary.instruments)
    summary.elements = sorted(set(summary.elements))
    summary.sample_names = _unique(summary.sample_names)
    summary.vendors, summary.models = _unique(summary.vendors), _unique(summary.models)
    summary.phases = _unique(summary.phases)
    return summary


class _Tree:
    """The groups of one NXentry with their NeXus classes, collected in one walk."""

    def __init__(self, entry: h5py.Group):
        self.entry = entry
        self.groups: list[h5py.Group] = [entry]
        entry.visititems(lambda _, obj: self.groups.append(obj) if isinstance(obj, h5py.Group) else None)
        self._by_class: dict[str | None, list[h5py.Group]] = {}
        for group in self.groups:
            self._by_class.setdefault(_nx_class(group), []).append(group)

    def of_class(self, nx_class: str, below: h5py.Group | None = None) -> list[h5py.Group]:
        groups = self._by_class.get(nx_class, [])
        return groups if below is None else [g for g in groups if _inside(g, below)]

    def field(self, nx_class: str, name: str, below: h5py.Group | None = None) -> h5py.Dataset | None:
        for group in self.of_class(nx_class, below):
            if isinstance(group.get(name), h5py.Dataset):
                return group[name]
        return None

    def texts(self, nx_class: str, name: str, below: h5py.Group | None = None) -> list[str]:
        values = (_text(g.get(name)) for g in self.of_class(nx_class, below))
        return [v for v in values if v]


def _summarize_entry(tree: _Tree, summary: EmSummary) -> None:
    events = tree.of_class("NXem_event_data") or [tree.entry]
    shared = [g for g in tree.of_class("NXem_instrument") if not any(_inside(g, e) for e in events)]
    drafts = [_draft_event(tree, event, shared) for event in events]
    spectra = {s.technique for d in drafts for s in d.signals if s.kind in ("spectrum", "spectrum image")}
    map_technique = EDS if EDS in spectra or EELS not in spectra else EELS
    ebsd_events = _ebsd_events(tree, drafts)
    for draft in drafts:
        stored = _stored_label(draft.event)
        techniques = [stored] if stored in (*TECHNIQUES, EBSD) else []
        techniques += [EBSD] if draft.event in ebsd_events else []
        for signal in draft.signals:
            if signal.element and (signal.strong_element or spectra & {EDS, EELS}):
                summary.elements.append(signal.element)
                techniques.append(EELS if EELS_WORDS.search(signal.title) else map_technique)
            elif stored:  # labelled by the writer's rules (classify.py): not guessed again
                continue
            elif signal.technique == "imaging":
                techniques += [f"{draft.mode} imaging"] if draft.mode else []
            elif signal.technique:
                techniques.append(signal.technique)
        summary.events.append(_event_summary(tree, draft, _unique(techniques), shared))
    summary.elements += _atom_types(tree) + _indexing_elements(tree)
    summary.sample_names += tree.texts("NXsample", "name")
    summary.instruments += _instruments(tree, shared)
    fabrications = _instrument_fabrications(tree)
    summary.vendors += [v for g in fabrications if (v := _text(g.get("vendor")))]
    summary.models += [m for g in fabrications if (m := _text(g.get("model")))]
    summary.phases += [p for g in tree.of_class("NXem_ebsd") for p in _phase_names(tree, g)]
    times = [_time(tree.entry.get("start_time")), _time(tree.entry.get("end_time")), summary.start_time]
    times += [summary.end_time, *(e.start_time for e in summary.events)]
    known = sorted((t for t in times if t is not None), key=_sort_key)
    summary.start_time, summary.end_time = (known[0], known[-1]) if known else (None, None)


def _event_summary(tree: _Tree, draft: _EventDraft, techniques: list[str], shared: list[h5py.Group]) -> EventSummary:
    scopes = [draft.event, *shared]
    settings = {name: v for name in SETTING_PLACES if (v := _setting(tree, name, scopes)) is not None}
    first = draft.signals[0] if draft.signals else None
    pixel_size = next((s.pixel_size_m for s in draft.signals if s.pixel_size_m is not None), None)
    if pixel_size is not None:
        settings["pixel_size"] = pixel_size
    return EventSummary(
        path=draft.event.name,
        mode=draft.mode,
        techniques=techniques,
        signal_kinds=_unique(s.kind for s in draft.signals),
        start_time=_time(draft.event.get("start_time")),
        settings=settings,
        detector_name=next((t for s in scopes for t in tree.texts("NXdetector", "local_name", s)), None),
        detector_type=next((t for s in scopes for t in tree.texts("NXdetector", "type", s)), None),
        data_shape=first.shape if first else (),
    )


def _setting(tree: _Tree, name: str, scopes: list[h5py.Group]) -> float | None:
    """The first value of a setting found in the scopes (event first), in its SI unit."""
    unit, places = SETTING_PLACES[name]
    for scope in scopes:
        for nx_class, field_name in places:
            for group in tree.of_class(nx_class, scope):
                value = _in_unit(group.get(field_name), unit)
                if value is not None:
                    return value
    return None


def _ebsd_events(tree: _Tree, drafts: list[_EventDraft]) -> list[h5py.Group]:
    """Events holding an NXem_ebsd group; the first event when the groups lie outside all events."""
    groups = tree.of_class("NXem_ebsd")
    inside = [d.event for d in drafts if any(_inside(g, d.event) for g in groups)]
    return inside or ([drafts[0].event] if groups and drafts else [])


def _phase_names(tree: _Tree, ebsd: h5py.Group) -> list[str]:
    """Names of the NXphase groups of an EBSD indexing; phase 0 (not indexed) is no phase."""
    names = []
    for phase in tree.of_class("NXphase", ebsd):
        name = _text(phase.get("name"))
        identifier = phase.get("phase_id")
        unindexed = isinstance(identifier, h5py.Dataset) and identifier.size == 1 and int(identifier[()]) == 0
        if name and not unindexed and name.lower() not in ("notindexed", "not indexed"):
            names.append(name)
    return names


def _instrument_fabrications(tree: _Tree) -> list[h5py.Group]:
    """NXfabrication groups of the microscope (not of a detector or a stage)."""
    return [g for g in tree.of_class("NXfabrication") if _nx_class(g.parent) == "NXem_instrument"]


def _stored_label(event: h5py.Group) -> str | None:
    """The technique label an em-plugin writer stored as the event's ``type`` (one of :data:`LABELS`)."""
    label = _text(event.get("type")) if _nx_class(event) == "NXem_event_data" else None
    return label if label in LABELS else None


@dataclass
class _EventDraft:
    event: h5py.Group
    mode: str | None
    signals: list[SignalSummary]


def _draft_event(tree: _Tree, event: h5py.Group, shared: list[h5py.Group]) -> _EventDraft:
    settings = _Settings.of(tree, event, shared)
    groups = [g for g in tree.of_class("NXdata", event) if not g.parent.name.endswith(PREVIEW_SUFFIX)]
    signals = [s for g in groups if (s := _summarize_signal(g, settings)) is not None]
    scanning = settings.scanning or any(s.scanning for s in signals)
    mode = imaging_mode(settings.operation_mode, settings.high_tension_kv, scanning)
    four_d_stem = _stored_label(event) in (None, FOUR_D_STEM)  # not a 4D angle-resolved CL map
    if mode is None and four_d_stem and any(s.technique == FOUR_D_STEM for s in signals):
        mode = "STEM"
    return _EventDraft(event, mode, signals)


@dataclass
class _Settings:
    """Instrument settings of one event (falling back to the entry's shared instrument)."""

    high_tension_kv: float | None
    operation_mode: str
    scanning: bool
    detector_text: str
    context_text: str

    @classmethod
    def of(cls, tree: _Tree, event: h5py.Group, shared: list[h5py.Group]) -> _Settings:
        scopes = [event, *shared]
        voltage = next((v for s in scopes if (v := tree.field("NXsource", "voltage", s)) is not None), None)
        mode = next((m for s in scopes for m in tree.texts("NXebeam_column", "operation_mode", s)), "")
        detector_types = [t for s in scopes for t in tree.texts("NXdetector", "type", s)]
        detector_words = detector_types + [n for s in scopes for n in tree.texts("NXdetector", "local_name", s)]
        dwell = any(tree.field("NXscan_controller", "dwell_time", s) is not None for s in scopes)
        scanning_detector = any("scanning" in t.lower() for t in detector_types)
        classes = " ".join(
            name for name, tag in (("EDS", "NXem_eds"), ("EELS", "NXem_eels")) if tree.of_class(tag, event)
        )
        context = " ".join([classes, _text(event.get("type")) or "", *tree.texts("NXem_img", "imaging_mode", event)])
        return cls(_kilovolts(voltage), mode, dwell or scanning_detector, " ".join(detector_words), context)


def _summarize_signal(group: h5py.Group, settings: _Settings) -> SignalSummary | None:
    signal = _signal_dataset(group)
    if signal is None:
        return None
    axes = [_axis(group, name) for name in _axis_names(group)]
    title = _text(group.get("title")) or _text(group.parent.get("title")) or ""
    words = " ".join([title, str(signal.attrs.get("long_name", "")), *(a.long_name for a in axes)])
    spectral = [a for a in axes if a.spectral]
    rank = signal.ndim
    shape = tuple(int(n) for n in signal.shape)
    if spectral:
        navigation = max(sum(n > 1 for n in signal.shape) - 1, 0)  # a 1 x 1024 "line" is one spectrum
        kind = "spectrum" if navigation == 0 else "spectrum image"
        texts = [words, settings.detector_text + " " + settings.context_text, settings.operation_mode]
        technique = _spectroscopy(texts, spectral[-1].energy_range)
        return SignalSummary(group.name, title, kind, technique, scanning=navigation >= 1, shape=shape)
    reciprocal = sum(a.reciprocal for a in axes)
    space = sum(a.kind is AxisKind.SPACE for a in axes)
    pixel = next((a.step_m for a in axes if a.step_m is not None), None)
    if rank == 4:
        return SignalSummary(group.name, title, "4D", FOUR_D_STEM, scanning=True, shape=shape, pixel_size_m=pixel)
    if reciprocal >= 2 or (reciprocal == 0 and space == 0 and "diffraction" in settings.operation_mode.lower()):
        return SignalSummary(group.name, title, "diffraction", DIFFRACTION, scanning=space > 0, shape=shape)
    if rank == 1:
        if axes and axes[0].kind is AxisKind.TIME:
            return SignalSummary(group.name, title, "time series", None, scanning=False, shape=shape)
        return SignalSummary(group.name, title, "line profile", "imaging", scanning=False, shape=shape)
    summary = SignalSummary(group.name, title, "image", "imaging", scanning=False, shape=shape, pixel_size_m=pixel)
    summary.element, summary.strong_element = _element_of_title(title)
    return summary


@dataclass
class _Axis:
    kind: AxisKind
    long_name: str
    spectral: bool
    reciprocal: bool
    energy_range: tuple[float, float] | None
    step_m: float | None = None  # spacing of a spatial axis, in metres


def _axis(group: h5py.Group, name: str) -> _Axis:
    dataset = group.get(name)
    if not isinstance(dataset, h5py.Dataset):
        return _Axis(AxisKind.INDEX, "", False, False, None)
    units = _text(dataset.attrs.get("units")) or ""
    long_name = _text(dataset.attrs.get("long_name")) or name
    kind = classify_units(units)
    spectral = kind is AxisKind.ENERGY or bool(_SPECTRAL_NAME.search(long_name))
    reciprocal = kind is AxisKind.RECIPROCAL or bool(_RECIPROCAL_NAME.search(long_name))
    step = _step_m(dataset, units) if kind is AxisKind.SPACE else None
    return _Axis(kind, long_name, spectral, reciprocal and not spectral, _energy_range(dataset, units, kind), step)


def _step_m(dataset: h5py.Dataset, units: str) -> float | None:
    """Spacing of the first two values of a spatial axis, in metres (reads two values only)."""
    if dataset.ndim != 1 or dataset.size < 2 or dataset.dtype.kind not in "iuf":
        return None
    first, second = (float(v) for v in dataset[:2])
    return _converted(abs(second - first), units, "m")


def _energy_range(dataset: h5py.Dataset, units: str, kind: AxisKind) -> tuple[float, float] | None:
    if kind is not AxisKind.ENERGY or dataset.ndim != 1 or dataset.size == 0 or dataset.dtype.kind not in "iuf":
        return None
    values = ureg().Quantity(np.asarray(dataset[()], dtype=float), parse_unit(units)).to("eV").magnitude
    return float(np.nanmin(values)), float(np.nanmax(values))


def _spectroscopy(texts: list[str], energy_range: tuple[float, float] | None) -> str | None:
    return spectroscopy_of_words(texts) or spectroscopy_of_energy(energy_range[1] if energy_range else None)


def _element_of_title(title: str) -> tuple[str | None, bool]:
    match = _ELEMENT_TITLE.match(title.strip())
    if match is None or match["symbol"] not in CHEMICAL_SYMBOLS:
        return None, False
    rest = match["rest"]
    if rest is None:
        return match["symbol"], False
    return (match["symbol"], True) if _LINE_OR_MAP.search(rest) else (None, False)


def _atom_types(tree: _Tree) -> list[str]:
    found = []
    for group in tree.groups:
        value = group.get("atom_types")
        if isinstance(value, h5py.Dataset):
            found += [s for s in re.split(r"[\s,;]+", _text(value) or "") if s in CHEMICAL_SYMBOLS]
    return found


def _indexing_elements(tree: _Tree) -> list[str]:
    """Element-named maps / peaks / atoms below NXem_eds and NXem_eels groups (other NXem writers)."""
    found = []
    for parent in tree.of_class("NXem_eds") + tree.of_class("NXem_eels"):
        for nx_class in ("NXimage", "NXpeak", "NXatom"):
            for group in tree.of_class(nx_class, parent):
                symbol, _ = _element_of_title(group.name.rsplit("/", 1)[-1].replace("_", " "))
                if symbol:
                    found.append(symbol)
    return found


def _instruments(tree: _Tree, shared: list[h5py.Group]) -> list[str]:
    names = []
    for group in tree.of_class("NXfabrication"):
        vendor, model = _text(group.get("vendor")), _text(group.get("model"))
        if vendor and model:
            names.append(model if model.lower().startswith(vendor.lower()) else f"{vendor} {model}")
        elif vendor or model:
            names.append(vendor or model)
    if not names:
        names = [n for g in shared if (n := _text(g.get("name")))]
    return names


def _signal_dataset(group: h5py.Group) -> h5py.Dataset | None:
    name = _text(group.attrs.get("signal"))
    if name and isinstance(group.get(name), h5py.Dataset):
        return group[name]
    for dataset in group.values():  # NeXus before 2014: @signal=1 on the dataset
        if isinstance(dataset, h5py.Dataset) and str(_text(dataset.attrs.get("signal"))) == "1":
            return dataset
    return None


def _axis_names(group: h5py.Group) -> list[str]:
    axes = group.attrs.get("axes")
    if axes is None:
        return []
    names = [_text(a) for a in np.atleast_1d(axes)]
    if len(names) == 1 and ":" in (names[0] or ""):
        names = names[0].split(":")
    return [n for n in names if n and n != "."]


def _kilovolts(dataset: h5py.Dataset | None) -> float | None:
    return _in_unit(dataset, "kV")


def _in_unit(dataset: Any, unit: str) -> float | None:
    """A scalar numeric field converted from its ``@units`` to ``unit``; None without a convertible unit.

    A dimensionless target accepts a field without units (a magnification), a finite value only.
    """
    if not isinstance(dataset, h5py.Dataset) or dataset.size != 1 or dataset.dtype.kind not in "iuf":
        return None
    value = float(np.asarray(dataset[()]).reshape(-1)[0])
    units = _text(dataset.attrs.get("units")) or ""
    if unit == "dimensionless" and not units.strip():
        return value if np.isfinite(value) else None
    return _converted(value, units, unit)


def _converted(value: float, units: str, unit: str) -> float | None:
    if parse_unit(units) is None or not np.isfinite(value):
        return None
    try:
        return float(convert_values(value, units, unit))  # 320 mm -> 0.32 m, not 0.32000000000000006
    except Exception:  # another dimension (a voltage in m): not this setting
        return None


def _time(dataset: Any) -> datetime | None:
    text = _text(dataset) if isinstance(dataset, h5py.Dataset) else None
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        return None


def _sort_key(moment: datetime) -> float:
    """Naive times (no zone) are compared as UTC."""
    return moment.timestamp() if moment.tzinfo else moment.replace(tzinfo=None).toordinal() * 86400.0


def _text(value: Any) -> str | None:
    """A NeXus string (field, attribute, array of one) as str; None if absent or not text."""
    if isinstance(value, h5py.Dataset):
        if value.dtype.kind not in "SOU" or value.size == 0:
            return None
        value = value[()]
    if isinstance(value, np.ndarray):
        if value.size == 0:
            return None
        value = ", ".join(str(_text(v)) for v in value.reshape(-1)) if value.size > 1 else value.reshape(-1)[0]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.generic):
        value = value.item()
    return value if isinstance(value, str) else None if value is None else str(value)


def _nx_class(group: Any) -> str | None:
    return _text(group.attrs.get("NX_class")) if isinstance(group, h5py.Group) else None


def _is_group(node: Any, nx_class: str) -> bool:
    return isinstance(node, h5py.Group) and _nx_class(node) == nx_class


def _inside(node: h5py.Group, ancestor: h5py.Group) -> bool:
    return node.name.startswith(ancestor.name.rstrip("/") + "/")


def _unique(values) -> list[str]:
    return list(dict.fromkeys(values))
