"""The EM search app: NXem entries, filtered in the terms of electron microscopy.

Two kinds of search quantities are used, a short curated list (``SEARCH_QUANTITIES``):

* the ``results`` the EM normalizer fills (techniques and imaging modes in
  ``results.eln.methods``, signal kinds in ``results.eln.tags``, vendor/model in
  ``results.eln.instruments``, elements in ``results.material.elements``);
* the EM summary (``data.em_summary``, :mod:`.schema_package`): instrument settings
  stored in SI units whatever unit the NeXus file used, registered with their unit so
  the GUI shows them; filters and columns display them as microscopists read them
  (kV, mm, µs, nA, mrad). Range filters use the per-event values (an entry matches when
  one of its events does); columns show the entry-wide values.

Every name is checked by the test suite against NOMAD's registered search quantities
and against entries parsed from real files.
"""

from __future__ import annotations

from nomad.config.models.ui import (
    App,
    Axis,
    Column,
    Dashboard,
    Layout,
    Menu,
    MenuItemHistogram,
    MenuItemOption,
    MenuItemPeriodicTable,
    MenuItemTerms,
    MenuSizeEnum,
    Pagination,
    SearchQuantities,
    WidgetHistogram,
    WidgetPeriodicTable,
    WidgetTerms,
)

from ..classify import EBSD, MODES, TECHNIQUES
from .summary import SIGNAL_KINDS

#: The section pynxtools' NeXus parser puts into ``data`` (the ``#`` part of every ``data`` search name).
SCHEMA = "pynxtools.nomad.schema.Root"
#: The section of an NXentry whose definition is NXem: its presence locks the app.
NXEM_ENTRY_SECTION = "pynxtools.nomad.schema.Em__ENTRY"
#: Technique labels offered by the app (classify.py's, and EBSD).
TECHNIQUE_OPTIONS = tuple(dict.fromkeys((*TECHNIQUES, EBSD)))


def summary_quantity(name: str, per_event: bool = False) -> str:
    """A search quantity of the EM summary (entry-wide, or of its events)."""
    path = f"data.em_summary.events.{name}" if per_event else f"data.em_summary.{name}"
    return f"{path}#{SCHEMA}"


SEARCH_QUANTITIES: dict[str, str] = {
    "methods": "results.eln.methods",
    "signal_kinds": "results.eln.tags",
    "instruments": "results.eln.instruments",
    "elements": "results.material.elements",
    "acquisition_time": f"data.datetime#{SCHEMA}",
    "vendor": summary_quantity("vendor"),
    "model": summary_quantity("model"),
    "sample_name": summary_quantity("sample_name"),
    "phases": summary_quantity("phases"),
    "session": summary_quantity("session"),
    "record": summary_quantity("record"),
    "acquisition_end": summary_quantity("acquisition_end"),
    "detector": summary_quantity("detector_name", per_event=True),
    "detector_type": summary_quantity("detector_type", per_event=True),
    "data_shape": summary_quantity("data_shape"),
    **{name: summary_quantity(name, per_event=True) for name in ("high_tension", "magnification")},
    **{f"{name}_column": summary_quantity(name) for name in ("high_tension", "dwell_time", "camera_length")},
    **{
        name: summary_quantity(name, per_event=True)
        for name in (
            "camera_length",
            "field_of_view",
            "pixel_size",
            "dwell_time",
            "probe_current",
            "convergence_semi_angle",
            "collection_outer_angle",
        )
    },
}
Q = SEARCH_QUANTITIES

#: Display units of the settings (stored in SI units).
DISPLAY_UNITS = {
    "high_tension": "kV",
    "camera_length": "mm",
    "field_of_view": "µm",
    "pixel_size": "nm",
    "dwell_time": "µs",
    "probe_current": "nA",
    "convergence_semi_angle": "mrad",
    "collection_outer_angle": "mrad",
}

SEARCHABLE = [
    "entry_*",
    "upload_*",
    "mainfile",
    "authors*",
    "datasets*",
    "section_defs*",
    "results.eln.*",
    "results.material.elements",
    f"data.datetime#{SCHEMA}",
    f"data.em_summary.*#{SCHEMA}",
]


def _options(values) -> dict[str, MenuItemOption]:
    return {value: MenuItemOption(label=value) for value in values}


def _layout(x: int, y: int, w: int, h: int) -> dict:
    return {size: Layout(x=x, y=y, w=w, h=h, minW=3, minH=3) for size in ("sm", "md", "lg", "xl", "xxl")}


def _histogram(title: str, name: str, log: bool = False) -> MenuItemHistogram:
    """A range filter on a per-event setting, shown in its display unit."""
    unit = DISPLAY_UNITS.get(name)
    label = f"{title} ({unit})" if unit else title
    axis = Axis(search_quantity=Q[name], unit=unit, scale="log" if log else "linear")
    return MenuItemHistogram(title=label, x=axis, autorange=True)


def _menu() -> Menu:
    return Menu(
        title="Electron microscopy",
        size=MenuSizeEnum.MD,
        items=[
            Menu(
                title="Technique",
                items=[
                    MenuItemTerms(title="Technique", search_quantity=Q["methods"], options=_options(TECHNIQUE_OPTIONS)),
                    MenuItemTerms(title="Imaging mode", search_quantity=Q["methods"], options=_options(MODES)),
                    MenuItemTerms(
                        title="Signal kind", search_quantity=Q["signal_kinds"], options=_options(SIGNAL_KINDS)
                    ),
                    MenuItemTerms(title="EBSD phase", search_quantity=Q["phases"], options=8),
                ],
            ),
            Menu(
                title="Instrument",
                items=[
                    MenuItemTerms(title="Vendor", search_quantity=Q["vendor"], options=8),
                    MenuItemTerms(title="Model", search_quantity=Q["model"], options=8),
                    MenuItemTerms(title="Instrument", search_quantity=Q["instruments"], options=8),
                    _histogram("High tension", "high_tension"),
                    _histogram("Magnification", "magnification", log=True),
                    _histogram("Camera length", "camera_length"),
                    _histogram("Field of view", "field_of_view", log=True),
                    _histogram("Pixel size", "pixel_size", log=True),
                    _histogram("Dwell time", "dwell_time", log=True),
                    _histogram("Probe current", "probe_current", log=True),
                    _histogram("Convergence semi-angle", "convergence_semi_angle"),
                    _histogram("Outer collection angle", "collection_outer_angle"),
                ],
            ),
            Menu(
                title="Detector",
                items=[
                    MenuItemTerms(title="Detector", search_quantity=Q["detector"], options=10),
                    MenuItemTerms(title="Detector type", search_quantity=Q["detector_type"], options=8),
                ],
            ),
            Menu(
                title="Sample",
                size=MenuSizeEnum.XXL,
                items=[
                    MenuItemTerms(title="Sample name", search_quantity=Q["sample_name"], options=10),
                    MenuItemPeriodicTable(title="Elements", search_quantity=Q["elements"]),
                ],
            ),
            Menu(
                title="Session",
                items=[
                    MenuItemTerms(
                        title="Entry kind",
                        search_quantity=Q["record"],
                        options={"file": MenuItemOption(label="one file"), "session": MenuItemOption(label="session")},
                    ),
                    MenuItemTerms(title="Session", search_quantity=Q["session"], options=10),
                    MenuItemHistogram(
                        title="Last acquisition", x=Axis(search_quantity=Q["acquisition_end"]), autorange=True
                    ),
                ],
            ),
            MenuItemHistogram(title="Acquisition time", x=Axis(search_quantity=Q["acquisition_time"]), autorange=True),
        ],
    )


def _dashboard() -> Dashboard:
    return Dashboard(
        widgets=[
            WidgetPeriodicTable(title="Elements", search_quantity=Q["elements"], layout=_layout(0, 0, 12, 8)),
            WidgetTerms(title="Technique", search_quantity=Q["methods"], layout=_layout(12, 0, 6, 8)),
            WidgetTerms(title="Signal kind", search_quantity=Q["signal_kinds"], layout=_layout(18, 0, 6, 8)),
            WidgetHistogram(
                title="Acquisition time",
                x=Axis(search_quantity=Q["acquisition_time"]),
                autorange=True,
                layout=_layout(0, 8, 24, 4),
            ),
        ]
    )


def em_app() -> App:
    return App(
        label="Electron Microscopy",
        path="electron-microscopy",
        category="Experiment",
        description="Find electron-microscopy data (NXem) by technique, instrument, detector, sample and elements.",
        readme=(
            "Electron-microscopy entries: NeXus files following NXem and raw vendor files (Gatan, Velox, TIA, "
            "vendor TIFF, Bruker...) converted on upload by pynxtools-em-plugin. Technique, imaging mode and "
            "signal kind are derived from each event of the file. Instrument settings are stored in SI units "
            "whatever unit the file used, and filtered per event in the units shown (kV, mm, µs, nA, mrad)."
        ),
        search_quantities=SearchQuantities(include=SEARCHABLE),
        columns=[
            Column(title="Entry", search_quantity="entry_name", selected=True),
            Column(title="Acquired", search_quantity=Q["acquisition_time"], selected=True),
            Column(title="Techniques", search_quantity=Q["methods"], selected=True),
            Column(title="Signals", search_quantity=Q["signal_kinds"], selected=True),
            Column(title="Instrument", search_quantity=Q["instruments"], selected=True),
            Column(title="High tension", search_quantity=Q["high_tension_column"], unit="kV", selected=True),
            Column(title="Dwell time", search_quantity=Q["dwell_time_column"], unit="µs", selected=False),
            Column(title="Camera length", search_quantity=Q["camera_length_column"], unit="mm", selected=False),
            Column(title="Data shape", search_quantity=Q["data_shape"], selected=False),
            Column(title="Session", search_quantity=Q["session"], selected=False),
            Column(title="Entry kind", search_quantity=Q["record"], selected=False),
            Column(title="Elements", search_quantity=Q["elements"], selected=False),
            Column(title="File", search_quantity="mainfile", selected=False),
            Column(title="Authors", search_quantity="authors.name", selected=False),
            Column(title="Uploaded", search_quantity="upload_create_time", selected=False),
        ],
        pagination=Pagination(order_by="upload_create_time"),
        filters_locked={"section_defs.definition_qualified_name": [NXEM_ENTRY_SECTION]},
        menu=_menu(),
        dashboard=_dashboard(),
    )


def used_search_quantities(app: App) -> set[str]:
    """Every search quantity an app names (columns, menus, dashboard, locked filters)."""
    found: set[str] = set(app.filters_locked or {})
    found |= {c.search_quantity for c in app.columns or []}

    def walk(item) -> None:
        for attr in ("search_quantity",):
            if getattr(item, attr, None):
                found.add(getattr(item, attr))
        for attr in ("x", "y"):
            axis = getattr(item, attr, None)
            if axis is not None and getattr(axis, "search_quantity", None):
                found.add(axis.search_quantity)
        for child in getattr(item, "items", None) or []:
            walk(child)

    walk(app.menu)
    for widget in app.dashboard.widgets if app.dashboard else []:
        walk(widget)
    return found
