"""The EM search app: NXem entries, filtered in the terms of electron microscopy.

Two kinds of search quantities are used:

* the ``results`` the EM normalizer fills (techniques and imaging modes in
  ``results.eln.methods``, signal kinds in ``results.eln.tags``, vendor/model in
  ``results.eln.instruments``, elements in ``results.material.elements``);
* NXem fields as pynxtools' NeXus parser maps them onto its schema
  (``pynxtools.nomad.schema.Root``), e.g. the high tension at
  ``data.ENTRY.measurement.eventID.instrument.ebeam_column.electron_source.voltage__field``.
  Fields deeper than NOMAD registers ahead of time are searched by NOMAD's
  dynamic NeXus search, for which the name ends with its data type (``#float``).

Every name is listed in ``SEARCH_QUANTITIES``; the test suite checks each one
against the schema and against entries parsed from real files.
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

from ..classify import MODES, TECHNIQUES
from .summary import SIGNAL_KINDS

#: The section pynxtools' NeXus parser puts into ``data``.
SCHEMA = "pynxtools.nomad.schema.Root"
#: The section of an NXentry whose definition is NXem: its presence locks the app.
NXEM_ENTRY_SECTION = "pynxtools.nomad.schema.Em__ENTRY"

_EVENT_INSTRUMENT = "ENTRY.measurement.eventID.instrument"


def nexus_quantity(path: str, dtype: str) -> str:
    """A search quantity of the NeXus schema, with the data type dynamic search needs."""
    return f"data.{path}#{SCHEMA}#{dtype}"


SEARCH_QUANTITIES: dict[str, str] = {
    "methods": "results.eln.methods",
    "signal_kinds": "results.eln.tags",
    "instruments": "results.eln.instruments",
    "elements": "results.material.elements",
    "acquisition_time": f"data.datetime#{SCHEMA}",
    "vendor": nexus_quantity("ENTRY.measurement.instrument.fabrication.vendor__field", "str"),
    "model": nexus_quantity("ENTRY.measurement.instrument.fabrication.model__field", "str"),
    "high_tension": nexus_quantity(f"{_EVENT_INSTRUMENT}.ebeam_column.electron_source.voltage__field", "float"),
    "magnification": nexus_quantity(f"{_EVENT_INSTRUMENT}.optics.magnification__field", "float"),
    "operation_mode": nexus_quantity(f"{_EVENT_INSTRUMENT}.ebeam_column.operation_mode__field", "str"),
    "detector": nexus_quantity(f"{_EVENT_INSTRUMENT}.detectorID.local_name__field", "str"),
    "detector_type": nexus_quantity(f"{_EVENT_INSTRUMENT}.detectorID.type__field", "str"),
    "sample_name": nexus_quantity("ENTRY.sampleID.name__field", "str"),
}
Q = SEARCH_QUANTITIES

#: What the app offers for search (glob patterns): NOMAD's entry metadata and results, and the NeXus schema.
SEARCHABLE = [
    "entry_*",
    "upload_*",
    "mainfile",
    "authors*",
    "datasets*",
    "section_defs*",
    "results.*",
    f"*#{SCHEMA}",
    f"*#{SCHEMA}#*",
]


def _options(values) -> dict[str, MenuItemOption]:
    return {value: MenuItemOption(label=value) for value in values}


def _layout(x: int, y: int, w: int, h: int) -> dict:
    return {size: Layout(x=x, y=y, w=w, h=h, minW=3, minH=3) for size in ("sm", "md", "lg", "xl", "xxl")}


def _menu() -> Menu:
    return Menu(
        title="Electron microscopy",
        size=MenuSizeEnum.MD,
        items=[
            Menu(
                title="Technique",
                items=[
                    MenuItemTerms(title="Technique", search_quantity=Q["methods"], options=_options(TECHNIQUES)),
                    MenuItemTerms(title="Imaging mode", search_quantity=Q["methods"], options=_options(MODES)),
                    MenuItemTerms(
                        title="Signal kind", search_quantity=Q["signal_kinds"], options=_options(SIGNAL_KINDS)
                    ),
                ],
            ),
            Menu(
                title="Instrument",
                items=[
                    MenuItemTerms(title="Vendor", search_quantity=Q["vendor"], options=8),
                    MenuItemTerms(title="Model", search_quantity=Q["model"], options=8),
                    MenuItemTerms(title="Instrument", search_quantity=Q["instruments"], options=8),
                    MenuItemHistogram(title="High tension (kV)", x=Axis(search_quantity=Q["high_tension"])),
                    MenuItemHistogram(
                        title="Magnification", x=Axis(search_quantity=Q["magnification"], scale="log"), autorange=True
                    ),
                    MenuItemTerms(title="Operation mode (as written)", search_quantity=Q["operation_mode"], options=8),
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
            "signal kind are derived from each event of the file; high tension and magnification are filtered "
            "per event, as written in the NeXus file (high tension in kV for files of this plugin)."
        ),
        search_quantities=SearchQuantities(include=SEARCHABLE),
        columns=[
            Column(title="Entry", search_quantity="entry_name", selected=True),
            Column(title="Acquired", search_quantity=Q["acquisition_time"], selected=True),
            Column(title="Techniques", search_quantity=Q["methods"], selected=True),
            Column(title="Signals", search_quantity=Q["signal_kinds"], selected=True),
            Column(title="Instrument", search_quantity=Q["instruments"], selected=True),
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
