"""JEOL Analysis Station projects (``.ASW``) and their ``.img``, ``.map``, ``.pts`` and ``.eds`` files.

Binary parsing is RosettaSciIO's (``rsciio.jeol``). An ``.ASW`` project names
the files of its ``Sample/`` folder; read through the ``.ASW``, every file of
the project becomes one signal and carries the project tree (``asw``) and its
own ``ViewData`` record (``asw_viewdata``); the ``ViewInfo`` and ``SampleInfo``
records it belongs to are picked out of the project tree here, into
``Signal.derived`` (``asw_viewinfo``, ``asw_sample``).
Each ``.img``/``.map``/``.pts``/``.eds`` file also converts on its own. Given
together with the ``.ASW``, the files it names are its companions and are read
once, through the ``.ASW``.

The ``.pts`` EDS spectrum image (e.g. 512 x 512 pixels x 4096 channels) is read
dense with every channel, pixel and count: no energy rebinning, cropping or
spatial downsampling (all lossy). The sweeps (frames) are summed, as the JEOL
software shows them; a partially acquired last sweep is left out by
RosettaSciIO and reported as a warning. Counts are held in the smallest integer
type that fits: 1 byte per channel first (1 GiB for 512 x 512 x 4096), and only
if a channel reaches the limit (RosettaSciIO refuses to overflow) the file is
read again with 2, then 4 bytes. Memory is about pixels x channels x 1 byte.
Measured on the shared 512 x 512 x 4096 file: reading 0.3 s and 1.2 GB peak;
the whole project converted (7 signals, written gzip-compressed to 12 MB and
validated) in 7 s with 1.5 GB peak. RosettaSciIO's lazy (sparse) mode needs
2.4 GB and 6 s for the same cube once it is made dense for writing, so it is
not used.

Element maps (``.map``) are titled with their element and X-ray line
(``"C K element map"``); element, line, atomic number and the channel window
are recorded as ``element_map`` in ``Signal.derived``, next to
``acquisition_date``/``acquisition_time`` (RosettaSciIO's decoding of the
file's OLE date). ``Signal.metadata`` is RosettaSciIO's ``original_metadata``.

RosettaSciIO picks the sub-format by the file-name ending, so a JEOL file that
was renamed is reported as such instead of being read as something else.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import numpy as np

from ..compat.rsciio import parse_jeol_tree, reader_logger
from ..errors import ConversionError
from ..model import Signal
from ..parsing import read_head
from ._rsciio import call_reader, normalised_metadata, rsciio_log, signal_from_rsciio, vendor_tree

NAME = "jeol"
TITLE = "JEOL Analysis Station"
EXTENSIONS = (".ASW", ".img", ".map", ".pts", ".EDS")

#: Sub-format -> the file-name endings RosettaSciIO reads it under.
_SUFFIXES = {"asw": (".asw",), "img": (".img", ".map"), "pts": (".pts",), "eds": (".eds",)}
_IMG_FORM = b"JED-2200:LibJxImageForm"
_PTS_FORM = b"PTTDFILE"
#: ``.img``: magic (4 bytes) and form name (32 bytes), then header position, length, data position.
_IMG_POSITIONS_AT = 36
#: Integer types tried for the summed spectrum image, smallest first.
_SI_DTYPES = (np.uint8, np.uint16, np.uint32)
#: What RosettaSciIO logs when it leaves out a partially acquired last sweep.
_PARTIAL_SWEEP = "frame (sweep) is incomplete"


def sniff(path: Path, head: bytes) -> bool:
    return _kind(head) is not None


def _kind(head: bytes) -> str | None:
    """Which JEOL file the first bytes belong to."""
    if len(head) < 16:
        return None
    magic = struct.unpack("<I", head[:4])[0]
    if magic == 0 and b"FileType" in head[:64] and b"Analysis Station" in head[:128]:
        return "asw"
    if magic == 52 and head[4:].startswith(_IMG_FORM):
        return "img"
    if magic == 304 and head[4:].startswith(_PTS_FORM):
        return "pts"
    if magic == 2 and _is_eds_layout(head):
        return "eds"
    return None


def _is_eds_layout(head: bytes) -> bool:
    """``.eds`` spectrum: constant markers 1 and 7 around the 10 header doubles, and an
    OLE date (days since 1899) at byte 10, as RosettaSciIO's reader expects them."""
    if len(head) < 218:
        return False
    days = struct.unpack("<d", head[10:18])[0]
    markers = struct.unpack("<i", head[130:134])[0], struct.unpack("<i", head[214:218])[0]
    return markers == (1, 7) and 1.0 < days < 1e5


def companions(path: Path, candidates: list[Path]) -> list[Path]:
    """The files of an ``.ASW`` project among the given files (named in the project)."""
    if _kind(read_head(path, 256)) != "asw":
        return []
    try:
        project = path.read_bytes().lower()
        folder = path.resolve().parent
    except OSError:
        return []
    return [c for c in candidates if c != path and _named_in(project, c, folder)]


def _named_in(project: bytes, candidate: Path, folder: Path) -> bool:
    """The ``.ASW`` stores ``.\\Sample\\00_View000\\View000_0000000.img``-style names."""
    try:
        relative = candidate.resolve().relative_to(folder)
    except (OSError, ValueError):
        return False
    name = "\\" + "\\".join(relative.parts) + "\x00"
    for encoding in ("utf-8", "shift_jis"):
        try:
            if name.lower().encode(encoding) in project:
                return True
        except UnicodeEncodeError:
            continue
    return False


def read(path: Path, companions: list[Path]) -> list[Signal]:
    kind = _kind(read_head(path, 256))
    if kind is None:
        raise ConversionError(path, f"is not a {TITLE} file")
    if path.suffix.lower() not in _SUFFIXES[kind]:
        endings = " or ".join(_SUFFIXES[kind])
        raise ConversionError(
            path, f"is a JEOL {kind} file named '{path.suffix}'; RosettaSciIO reads it only as {endings}: rename it"
        )
    _check_image_sizes(path, kind)
    with rsciio_log(reader_logger("jeol")) as records:
        dicts = _read_dicts(path, records)
    partial = any(_PARTIAL_SWEEP in record.getMessage() for record in records)
    signals = [_signal(entry, path, index) for index, entry in enumerate(dicts)]
    if partial:
        for entry, signal in zip(dicts, signals, strict=True):
            if "PTTD Data" in vendor_tree(entry):
                signal.warnings.extend(_partial_sweep_note(_pts_path(path, entry), signal))
    messages = (record.getMessage() for record in records)
    signals[0].warnings.extend(f"{path.name}: {m}" for m in messages if _PARTIAL_SWEEP not in m)
    return signals


def _check_image_sizes(path: Path, kind: str) -> None:
    """RosettaSciIO resizes an image's pixel array in place to the size its header declares,
    zero-filling or cutting it: a damaged size would allocate without bound, or pad or cut the
    image silently. The sizes of the image (or of every image of a project) are checked first."""
    images = [path] if kind == "img" else list(_project_images(path)) if kind == "asw" else []
    for image in images:
        size, pixels = _image_size(image)
        if size is not None and size[0] * size[1] != pixels:
            raise ConversionError(
                image, f"declares a {size[0]} x {size[1]} image but holds {pixels} pixels: damaged header"
            )


def _image_size(path: Path) -> tuple[tuple[int, int] | None, int]:
    """(width, height) the header of an ``.img``/``.map`` declares and the number of pixels it holds."""
    try:
        with open(path, "rb") as handle:
            handle.seek(_IMG_POSITIONS_AT)
            data_position = struct.unpack("<3I", handle.read(12))[2]
            handle.seek(data_position + 12)
            image = parse_jeol_tree(handle)["Image"]
        width, height = (int(n) for n in image["Size"])
        return (width, height), int(np.size(image["Bits"]))
    except Exception:  # unreadable header: RosettaSciIO reports it
        return None, 0


def _project_images(path: Path):
    """The ``.img``/``.map`` files an ``.ASW`` project names, as RosettaSciIO finds them."""
    try:
        with open(path, "rb") as handle:
            handle.seek(12)
            tree = parse_jeol_tree(handle)
        for sample in (tree.get("SampleInfo") or {}).values():
            for view in (sample.get("ViewInfo") or {}).values():
                for item in (view.get("ViewData") or {}).values():
                    image = path.parent.joinpath(*str(item["Filename"]).split("\\"))
                    if image.suffix.lower() in _SUFFIXES["img"] and image.is_file():
                        yield image
    except Exception:  # unreadable project: RosettaSciIO reports it
        return


def _read_dicts(path: Path, records: list) -> list[dict]:
    """Every signal, with the spectrum image in the smallest integer type that holds it."""
    from rsciio.jeol import file_reader

    for dtype in _SI_DTYPES:
        records.clear()  # keep what the successful attempt logged
        try:
            return call_reader(path, TITLE, file_reader, SI_dtype=dtype)
        except ConversionError as exc:
            cause = exc.__cause__
            if isinstance(cause, ValueError) and "SI_dtype" in str(cause) and dtype is not _SI_DTYPES[-1]:
                continue
            if isinstance(cause, FileNotFoundError):
                missing = Path(cause.filename or str(cause)).name
                raise ConversionError(
                    path, f"names '{missing}', which does not exist: keep the project file and its folders together"
                ) from cause
            if records and "holds no readable data set" in exc.reason:
                messages = "; ".join(record.getMessage() for record in records)
                raise ConversionError(path, f"{exc.reason} (RosettaSciIO: {messages})") from cause
            raise
    raise AssertionError("unreachable")  # pragma: no cover


def _pts_path(path: Path, entry: dict[str, Any]) -> Path:
    """The ``.pts`` file of a signal: ``path`` itself or, in a project, the file it names."""
    filename = (vendor_tree(entry).get("asw_viewdata") or {}).get("Filename")
    if not filename:
        return path
    return path.parent.joinpath(*str(filename).split("\\"))


def _partial_sweep_note(pts: Path, signal: Signal) -> list[str]:
    """What the left-out partial last sweep held (often no counts at all).

    Re-reads the sweeps one by one, each binned to a single value (cheap), and
    compares their total with the summed spectrum image. A file without one
    complete sweep (truncated, or stopped in the first sweep) is refused: its
    spectrum image would be empty.
    """
    from rsciio.jeol import file_reader

    height, width = signal.shape[:2]
    try:
        with rsciio_log(reader_logger("jeol")):
            sweeps = file_reader(
                str(pts),
                sum_frames=False,
                only_valid_data=False,
                downsample=(width, height),
                rebin_energy=4096,
                SI_dtype=np.int64,
            )[0]["data"]
        dropped = int(np.sum(sweeps, dtype=np.int64)) - int(np.sum(signal.data, dtype=np.int64))
    except Exception as exc:  # a diagnostic only: never fail the conversion over it
        return [f"{pts.name}: a partially acquired last sweep is left out (its counts could not be told: {exc})"]
    if dropped <= 0:
        return []
    complete = len(sweeps) - 1
    announced = _sweeps_announced(signal.metadata)
    if complete < 1:
        raise ConversionError(
            pts, f"holds no complete sweep ({dropped} X-ray counts in a partial one): truncated or stopped early"
        )
    return [
        f"{pts.name}: the last of its {len(sweeps)} sweeps (the header announces {announced}) was stopped "
        f"part-way, by the operator or a truncation; its {dropped} X-ray counts are not in the spectrum "
        f"image, which sums the {complete} complete sweeps"
    ]


def _sweeps_announced(tree: dict[str, Any]) -> Any:
    return ((tree.get("PTTD Data") or {}).get("AnalyzableMap MeasData") or {}).get("Doc", {}).get("Sweep", "?")


def _signal(entry: dict[str, Any], path: Path, index: int) -> Signal:
    tree = vendor_tree(entry)
    general = normalised_metadata(entry).get("General", {})
    source = str(general.get("original_filename") or path.name)
    derived = _derived(tree, general)
    signal = signal_from_rsciio(entry, path, NAME, context=f"{source} (signal {index})", derived=derived)
    element = derived.get("element_map")
    if element:
        line = f"{element['element']} {element['line']}".strip()
        signal.title = f"{line} element map"
        signal.quantity = f"X-ray counts in the {line} window"
    elif "PTTD Data" in tree:
        signal.title = "EDS spectrum image"
    elif "Footer" in tree:
        signal.title = f"EDS spectrum {tree.get('Header', {}).get('sp_name', '')}".strip()
    return signal


def _derived(tree: dict[str, Any], general: dict[str, Any]) -> dict[str, Any]:
    """Values derived here for the mapping table: the acquisition date and time that
    RosettaSciIO decoded from the file's OLE date (local time, no zone), for an element
    map its element and line, and for a file of a project its view and sample records."""
    result: dict[str, Any] = {}
    if general.get("date") and general.get("time"):
        result["acquisition_date"] = general["date"]
        result["acquisition_time"] = general["time"]
    if "Map" in tree:
        result["element_map"] = _element_map(tree["Map"])
    if "asw" in tree:
        result.update(_project_records(tree["asw"], tree.get("asw_viewdata") or {}))
    return result


def _element_map(record: dict[str, Any]) -> dict[str, Any]:
    """``Map/Title`` reads ``"<element> <line>"`` (e.g. ``"Fe K"``)."""
    title = str(record.get("Title") or "").strip()
    element, _, line = title.partition(" ")
    result: dict[str, Any] = {"element": element, "line": line.strip()}
    if record.get("ElementNo") is not None:
        result["atomic_number"] = int(record["ElementNo"])
    if record.get("StartRoi") is not None and record.get("EndRoi") is not None:
        result["channel_window"] = [int(record["StartRoi"]), int(record["EndRoi"])]
    return result


def _project_records(project: dict[str, Any], view_data: dict[str, Any]) -> dict[str, Any]:
    """The ``ViewInfo`` and ``SampleInfo`` records holding this file's ``ViewData``
    (without their child lists, which ``asw`` keeps)."""
    filename = view_data.get("Filename")
    for sample in (project.get("SampleInfo") or {}).values():
        for view in (sample.get("ViewInfo") or {}).values():
            if any(item.get("Filename") == filename for item in (view.get("ViewData") or {}).values()):
                return {
                    "asw_viewinfo": {k: v for k, v in view.items() if k != "ViewData"},
                    "asw_sample": {k: v for k, v in sample.items() if k != "ViewInfo"},
                }
    return {}
