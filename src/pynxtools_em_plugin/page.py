"""One self-contained HTML page of an NXem file, in the spirit of a NexusLIMS record.

``em-plugin view FILE.nxs --html OUT`` and ``em-plugin session DIR -o F.nxs --html OUT``:
a summary (instrument, times, sample, users), the activities with their technique labels,
a gallery of the event previews paged by activity, the settings each activity's events
share and each file's own settings with units, the vendor metadata as collapsible JSON,
and the input files with their checksums. Everything is read back from the NeXus file
(what a colleague receives), nothing from the vendor files. Pictures are inline PNG
(written here with zlib: no imaging library) and SVG; the script is inline: the page
works offline and loads nothing.
"""

from __future__ import annotations

import base64
import json
import struct
import zlib
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

import numpy as np

#: Displayed size of a gallery picture, in CSS pixels.
THUMB = 220


@dataclass
class Setting:
    name: str
    value: str
    units: str = ""


@dataclass
class EventView:
    number: int
    label: str
    title: str
    file_name: str
    start: str
    pictures: list[str]  # HTML (img / svg) of the previews
    settings: list[Setting]
    vendor_json: str
    derived_json: str


@dataclass
class ActivityView:
    number: int
    date: str
    description: str
    events: list[EventView]
    shared: list[Setting] = field(default_factory=list)


@dataclass
class Record:
    file_name: str
    summary: list[Setting]
    activities: list[ActivityView]
    inputs: list[Setting]  # name, checksum, role


def write_page(nexus_file: Path, output: Path) -> Path:
    """The record page of ``nexus_file`` written to ``output`` (written whole, then renamed)."""
    html = render(read_record(Path(nexus_file)))
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    temporary = output.with_name(f".{output.name}.part")
    temporary.write_text(html, encoding="utf-8")
    temporary.replace(output)
    return output


# ---- reading the NeXus file ------------------------------------------------
def read_record(nexus_file: Path) -> Record:
    import h5py

    with h5py.File(nexus_file, "r") as h5:
        entry = h5["entry1"]
        events = {int(k.removeprefix("event")): _event(g) for k, g in entry["measurement"].items() if _is_event(k, g)}
        activities = [_activity(entry[k], events) for k in _numbered(entry, "activity")]
        if not activities:  # a single file or batch output: one activity of all events
            times = [e.start for e in events.values() if e.start]
            activities = [ActivityView(1, min(times, default=""), "", [events[n] for n in sorted(events)])]
        return Record(nexus_file.name, _summary(entry, len(events)), activities, _inputs(entry))


def _is_event(name: str, group: Any) -> bool:
    return name.startswith("event") and name.removeprefix("event").isdigit() and hasattr(group, "keys")


def _numbered(group: Any, prefix: str) -> list[str]:
    names = [k for k in group if k.startswith(prefix) and k.removeprefix(prefix).isdigit()]
    return sorted(names, key=lambda k: int(k.removeprefix(prefix)))


def _text(group: Any, path: str) -> str:
    node = group.get(path)
    if node is None or not hasattr(node, "shape"):
        return ""
    value = node[()]
    return value.decode() if isinstance(value, bytes) else str(value)


def _summary(entry: Any, events: int) -> list[Setting]:
    users = [_text(entry, f"{k}/name") for k in entry if k.startswith("user")]
    rows = [
        Setting("session", _text(entry, "title")),
        Setting("instrument", _text(entry, "measurement/instrument/name")),
        Setting("start", _text(entry, "start_time")),
        Setting("end", _text(entry, "end_time")),
        Setting("sample", _text(entry, "sample/name")),
        Setting("users", ", ".join(u for u in users if u)),
        Setting("events", str(events)),
    ]
    return [row for row in rows if row.value]


def _activity(group: Any, events: dict[int, EventView]) -> ActivityView:
    members = [int(k.removeprefix("event")) for k in _numbered(group, "event")]
    shared = _settings(group["shared_settings"]) if "shared_settings" in group else []
    return ActivityView(
        int(group["sequence_index"][()]),
        _text(group, "date"),
        _text(group, "summary/description"),
        [events[n] for n in members if n in events],
        shared,
    )


def _event(group: Any) -> EventView:
    data = [g for k, g in group.items() if (k.startswith(("image", "spectrum"))) and not k.endswith("_preview")]
    process = data[0].get("process/input") if data else None
    previews = [group[k] for k in ("spectrum_preview", "image_preview") if k in group]
    if group.attrs.get("default") == "image_preview":
        previews.reverse()
    nxdata = [p[p.attrs["default"]] for p in previews]
    title = _text(data[0][data[0].attrs["default"]], "title") if data else ""
    return EventView(
        number=int(group.name.rsplit("event", 1)[-1]),
        label=_text(group, "type"),
        title=title,
        file_name=_text(process, "file_name") if process is not None else "",
        start=_text(group, "start_time"),
        pictures=[picture(n) for n in nxdata],
        settings=[*_settings(group, ("start_time", "end_time")), *_settings_below(group.get("instrument"))],
        vendor_json=_pretty_json(_text(group, "vendor_metadata/original_metadata")),
        derived_json=_pretty_json(_text(group, "derived_metadata/values")),
    )


def _settings(group: Any, names: tuple[str, ...] | None = None, prefix: str = "") -> list[Setting]:
    """Fields of ``group`` (or only ``names``) with their units; linked ones (shared) left out."""
    import h5py

    found = []
    for name in names or list(group):
        if name not in group or isinstance(group.get(name, getlink=True), h5py.SoftLink):
            continue
        node = group[name]
        if isinstance(node, h5py.Dataset) and node.size <= 16:
            found.append(Setting(f"{prefix}{name}", _value(node[()]), _units(node)))
    return found


def _settings_below(group: Any, prefix: str = "instrument/") -> list[Setting]:
    if group is None:
        return []
    found = _settings(group, prefix=prefix)
    for name, node in group.items():
        if hasattr(node, "keys"):
            found += _settings_below(node, f"{prefix}{name}/")
    return found


def _units(node: Any) -> str:
    units = node.attrs.get("units", "")
    return units.decode() if isinstance(units, bytes) else str(units)


def _value(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    if isinstance(value, np.ndarray):
        return ", ".join(_value(v) for v in value.ravel())
    if isinstance(value, float | np.floating):
        return f"{value:.6g}"
    return str(value)


def _pretty_json(text: str) -> str:
    if not text:
        return ""
    try:
        return json.dumps(json.loads(text), indent=1, ensure_ascii=False)
    except ValueError:
        return text


def _inputs(entry: Any) -> list[Setting]:
    return [
        Setting(_text(entry[k], "file_name"), _text(entry[k], "checksum"), _text(entry[k], "description"))
        for k in _numbered(entry, "note_input")
    ]


# ---- pictures --------------------------------------------------------------
def picture(nxdata: Any) -> str:
    """An inline picture of a preview NXdata: a line plot (SVG) for 1D data, else a PNG."""
    signal = nxdata[nxdata.attrs["signal"]]
    values = np.asarray(signal[()], dtype=float if signal.ndim < 3 else None)
    axes = [a for a in nxdata.attrs.get("axes", []) if a in nxdata]
    title = escape(_text(nxdata, "title"))
    if values.ndim == 1:
        x = np.asarray(nxdata[axes[0]][()], dtype=float) if axes else np.arange(values.size, dtype=float)
        label = nxdata[axes[0]].attrs.get("long_name", axes[0]) if axes else "index"
        return line_svg(x, values, str(label), title)
    if values.ndim == 3 and values.shape[-1] == 3:
        pixels = np.asarray(values, dtype=np.uint8)
    else:
        pixels = grey_levels(np.asarray(values, dtype=float).reshape(values.shape[-2:]))
    encoded = base64.b64encode(png(pixels)).decode()
    return f'<img class="preview" alt="{title}" title="{title}" src="data:image/png;base64,{encoded}">'


def grey_levels(values: np.ndarray) -> np.ndarray:
    """8-bit grey levels between the 0.5th and 99.5th percentiles."""
    values = np.where(np.isfinite(values), values, np.nan)
    low, high = np.nanpercentile(values, [0.5, 99.5]) if np.isfinite(values).any() else (0.0, 1.0)
    span = high - low if high > low else 1.0
    return np.nan_to_num(np.clip((values - low) / span * 255, 0, 255)).astype(np.uint8)


def png(pixels: np.ndarray) -> bytes:
    """A PNG of 8-bit grey (2D) or RGB (rows x columns x 3) pixels."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    height, width = pixels.shape[:2]
    colour_type = 2 if pixels.ndim == 3 else 0
    rows = b"".join(b"\x00" + row.tobytes() for row in pixels)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


def line_svg(x: np.ndarray, y: np.ndarray, x_label: str, title: str, width: int = 300, height: int = 170) -> str:
    """A small line plot with its x-axis range and label (e.g. "energy loss (eV)")."""
    finite = np.isfinite(x) & np.isfinite(y)
    x, y = x[finite], y[finite]
    if x.size < 2:
        return f'<p class="preview">{title}: no finite values</p>'
    y, scale = _compressed_range(y)
    left, bottom = 8, height - 34
    sx = (width - 2 * left) / (np.ptp(x) or 1.0)
    sy = (bottom - 8) / (np.ptp(y) or 1.0)
    points = " ".join(
        f"{left + (a - x.min()) * sx:.1f},{bottom - (b - y.min()) * sy:.1f}" for a, b in zip(x, y, strict=True)
    )
    return (
        f'<svg class="preview" role="img" aria-label="{title}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}"><title>{title}</title>'
        f'<polyline fill="none" stroke="#1f4e8c" stroke-width="1" points="{points}"/>'
        f'<line x1="{left}" y1="{bottom}" x2="{width - left}" y2="{bottom}" stroke="#444"/>'
        f'<text x="{left}" y="{bottom + 13}" font-size="10">{x.min():.4g}</text>'
        f'<text x="{width - left}" y="{bottom + 13}" font-size="10" text-anchor="end">{x.max():.4g}</text>'
        f'<text class="x-label" x="{width / 2}" y="{height - 4}" font-size="11" text-anchor="middle">'
        f'{escape(x_label)}</text><text x="{width - left}" y="16" font-size="10" text-anchor="end">{scale}</text></svg>'
    )


def _compressed_range(y: np.ndarray) -> tuple[np.ndarray, str]:
    """Counts spanning decades (an EDS zero-energy peak beside the lines) on a log(1 + y) scale, else as they are."""
    low = np.min(y)
    shifted = y - low
    typical = np.median(shifted[shifted > 0]) if np.any(shifted > 0) else 0.0
    if typical > 0 and np.max(shifted) / typical > 100:
        return np.log1p(shifted), "log scale"
    return y, ""


# ---- HTML ------------------------------------------------------------------
STYLE = (
    """
body{font-family:system-ui,sans-serif;margin:0;color:#222;background:#f6f7f9}
header{background:#1f4e8c;color:#fff;padding:12px 24px}header h1{margin:0;font-size:1.3em}
main{display:grid;grid-template-columns:300px 1fr;gap:16px;padding:16px 24px}
section,nav{background:#fff;border:1px solid #d8dce3;border-radius:6px;padding:12px}
table{border-collapse:collapse;font-size:.9em}td,th{padding:2px 8px;text-align:left;vertical-align:top}
tr:nth-child(even){background:#f3f5f8}.units{color:#666}td{word-break:break-word}
#activities li{cursor:pointer;padding:4px;border-radius:4px;list-style:none}
#activities li.current{background:#dde7f5}#activities ul{padding:0;margin:0}
.label{display:inline-block;background:#e8eef7;border-radius:3px;padding:0 5px;margin:1px;font-size:.85em}
.page{display:none}.page.current{display:block}
.gallery{display:flex;flex-wrap:wrap;gap:12px}
figure{margin:0;width:"""
    + str(THUMB + 80)
    + """px}figcaption{font-size:.85em}
img.preview{width:"""
    + str(THUMB)
    + """px;image-rendering:pixelated;border:1px solid #ccc}
svg.preview{border:1px solid #ccc;background:#fff}
pre{max-height:300px;overflow:auto;background:#f3f5f8;font-size:.8em}
.pager button{margin-right:6px}code{font-size:.85em;word-break:break-all}
"""
)

SCRIPT = """
(function () {
  const pages = Array.from(document.querySelectorAll('.page'));
  const items = Array.from(document.querySelectorAll('#activities li'));
  let current = 0;
  function show(index) {
    current = Math.max(0, Math.min(pages.length - 1, index));
    pages.forEach((p, i) => p.classList.toggle('current', i === current));
    items.forEach((li, i) => li.classList.toggle('current', i === current));
    document.getElementById('page-number').textContent = 'Activity ' + (current + 1) + ' of ' + pages.length;
    document.getElementById('previous').disabled = current === 0;
    document.getElementById('next').disabled = current === pages.length - 1;
  }
  items.forEach((li, i) => li.addEventListener('click', () => show(i)));
  document.getElementById('previous').addEventListener('click', () => show(current - 1));
  document.getElementById('next').addEventListener('click', () => show(current + 1));
  const linked = items.findIndex((li) => '#activity' + li.dataset.activity === window.location.hash);
  show(linked >= 0 ? linked : 0);  // record.html#activity3 opens that activity's page
})();
"""


def render(record: Record) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(record.file_name)}: session record</title><style>{STYLE}</style></head><body>"
        f"<header><h1>Session record: {escape(record.file_name)}</h1></header><main>"
        f'<div><section id="summary"><h2>Summary</h2>{_table(record.summary)}</section>'
        f'<nav id="activities"><h2>Activities</h2><ul>{"".join(_activity_item(a) for a in record.activities)}'
        f"</ul></nav></div>"
        f'<div><section id="gallery"><h2>Gallery</h2><div class="pager"><button id="previous">Previous</button>'
        f'<button id="next">Next</button><span id="page-number"></span></div>'
        f"{''.join(_activity_page(a) for a in record.activities)}</section>"
        f'<section id="inputs"><h2>Input files</h2>{_inputs_table(record.inputs)}</section></div>'
        f"</main><script>{SCRIPT}</script></body></html>"
    )


def _table(rows: list[Setting], head: tuple[str, ...] = ()) -> str:
    header = f"<tr>{''.join(f'<th>{h}</th>' for h in head)}</tr>" if head else ""
    body = "".join(
        f'<tr><th>{escape(r.name)}</th><td>{escape(r.value)} <span class="units">{escape(r.units)}</span></td></tr>'
        for r in rows
    )
    return f"<table>{header}{body}</table>"


def _labels(activity: ActivityView) -> str:
    labels = dict.fromkeys(e.label for e in activity.events if e.label)
    return "".join(f'<span class="label">{escape(label)}</span>' for label in labels)


def _activity_item(activity: ActivityView) -> str:
    count = len(activity.events)
    return (
        f'<li data-activity="{activity.number}"><b>Activity {activity.number}</b> {escape(activity.date)}<br>'
        f"{count} event{'s' if count != 1 else ''} {_labels(activity)}</li>"
    )


def _details(summary: str, body: str) -> str:
    """A collapsed block (vendor JSON, settings); nothing when there is nothing to show."""
    return f"<details><summary>{summary}</summary>{body}</details>" if body else ""


def _activity_page(activity: ActivityView) -> str:
    shared = f'<h3>Settings shared by its events</h3><div class="shared">{_table(activity.shared)}</div>'
    shared = shared if activity.shared else ""
    return (
        f'<div class="page" data-activity="{activity.number}"><h3>Activity {activity.number} {_labels(activity)}</h3>'
        f"<p>{escape(activity.description)}</p>{shared}"
        f'<div class="gallery">{"".join(_figure(e) for e in activity.events)}</div></div>'
    )


def _figure(event: EventView) -> str:
    vendor = _details("Vendor metadata (JSON)", f"<pre>{escape(event.vendor_json)}</pre>" if event.vendor_json else "")
    derived = _details(
        "Derived metadata (JSON)", f"<pre>{escape(event.derived_json)}</pre>" if event.derived_json else ""
    )
    return (
        f'<figure class="event" id="event{event.number}">{"".join(event.pictures)}'
        f"<figcaption><b>event{event.number}</b> {escape(event.title)} "
        f'<span class="label">{escape(event.label)}</span><br><code>{escape(event.file_name)}</code> '
        f"{escape(event.start)}{_details('Settings', _table(event.settings))}"
        f"{vendor}{derived}</figcaption></figure>"
    )


def _inputs_table(inputs: list[Setting]) -> str:
    rows = "".join(
        f"<tr><td><code>{escape(i.name)}</code></td><td>{escape(i.units)}</td><td><code>sha256:{escape(i.value)}"
        f"</code></td></tr>"
        for i in inputs
    )
    return f"<table><tr><th>file</th><th>role</th><th>checksum</th></tr>{rows}</table>"
