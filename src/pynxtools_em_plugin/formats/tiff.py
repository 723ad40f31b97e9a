"""TIFF images from electron microscopes, recognised by their private tags.

Pixel data, standard tags and the vendor tags tifffile knows are read by
RosettaSciIO (``rsciio.tiff``). A file is claimed by its TIFF/BigTIFF magic;
which vendor wrote it (the *flavour*, recorded as the top-level metadata key
``tiff_flavour``) is decided from its tags, never from its name:

==========================  ======================================================
flavour                     evidence
==========================  ======================================================
FEI/Thermo Fisher TEM       tag 34683 (FEI_TITAN) holding XML
FEI/Thermo Fisher SEM/FIB   tag 34682 (FEI_HELIOS) or 34680 (FEI_SFEG), INI text
Zeiss SEM                   tag 34118 (CZ_SEM)
TESCAN                      tag 50431, or a ``<name>.hdr`` / ``<name>-tif.hdr``
TVIPS                       tag 37706
Olympus SIS                 tag 33560 / 33471
JEOL SightX                 Make "JEOL Ltd." with the TemReporter XML description
DigitalMicrograph export    DM's private tags 65003-65027
Hitachi                     a ``<name>.txt`` sidecar starting with [SemImageFile]
ImageJ                      ImageJ description (RosettaSciIO reads its calibration)
plain TIFF                  none of these: pixel-index axes and a warning
==========================  ======================================================

Text this module parses itself, because RosettaSciIO 0.15 does not: the FEI
INI tag (re-read from the raw tag so that repeated sections such as
``[MultiGISGas1]`` and an appended XML block are kept), the TESCAN tag 50431
(blocks of ``uint32 size, uint16 type`` framing ``key=value`` text, as
published by Gwyddion's tescan module) and its ``.hdr`` sidecar, the Hitachi
``.txt`` sidecar, the FEI_TITAN XML and the DigitalMicrograph tag group in tag
65027 (decoded with RosettaSciIO's own DM tag reader). Published units: TESCAN
SI units (m, V, s, A, stage angles in degrees); Hitachi ``PixelSize`` in nm,
other Hitachi values carry their unit (``15000 Volt``, ``8000 um``).

Values the mapping table must read with a unit are normalised under the
top-level key ``normalised`` and never converted by hand: values written with
their unit (Zeiss ``[label, value, unit]``, Hitachi ``"8000 um"``, the JEOL
selector) are split into ``normalised/by_unit/<vendor key>/<unit>`` so that
``tiff.json`` names the unit it expects; numbers the table reads that a vendor
wrote with a decimal comma are repaired, and non-numbers (e.g. ``1.#QNAN``)
are blanked with a warning, the original text kept under
``values_as_written``.

Corrections of RosettaSciIO, each pinned by a test:

* JEOL SightX: RosettaSciIO derives the pixel size from the TIFF resolution
  tag (an integer dpi, 93); SightX's own calibration is ``PixelsPerMeter``
  (3642 px/m = 92.5 dpi), the one its measurement overlays use. The scale is
  rescaled by that ratio (0.5 %).
* FEI, TVIPS and Olympus SIS: RosettaSciIO gives the x pixel size
  (PixelWidth, PixelSizeX, pixelsizex; FEI nav-cam HFW / ResolutionX) to the
  image *height*. The pixel sizes are set from the vendor values here, x to
  the width axis, y to the height axis (visible on the FEI nav-cam image,
  whose pixels are not square; SIS also unrounded, RosettaSciIO rounds to
  1e-15 m).
* A calibration RosettaSciIO could not read (FEI value with a decimal comma,
  FEI TEM XML, TESCAN, Hitachi) is taken from the vendor text here.
* TVIPS diffraction images (TemMode 3): the file does not say in which unit
  ``PixelSizeX`` is then (RosettaSciIO labels it nm, a real-space length);
  the axes are kept as pixel indices with a warning.
* TVIPS date: the packed value ``year << 16 | month << 8 | day`` (RosettaSciIO
  leaves it undecoded) and ``Time`` in seconds since midnight.
* Olympus SIS files hold an RGB preview of the same field of view as the
  data; the preview gets the data's calibration.

FEI images keep their data bar (the rows below ``[Image] ResolutionY``), as
the vendor saved it. Only the FEI ``[EBeam]``/``[EScan]`` groups feed the
electron-column fields, so ion-beam (FIB) and nav-cam images never get ion or
optical settings written as electron-beam ones (their values stay in the raw
metadata).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from ..errors import ConversionError
from ..model import Signal
from ._rsciio import call_reader, refuse_oversized, signal_from_rsciio
from .image import exif_datetime, uncalibrated_warning

NAME = "tiff"
TITLE = "TIFF microscope image"
EXTENSIONS = (".tif", ".tiff", ".hdr", ".txt")

TIFF_MAGICS = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")

#: First section of a sidecar -> vendor.
_SIDECAR_SECTIONS = {"[MAIN]": "TESCAN", "[SemImageFile]": "Hitachi", "[TemImageFile]": "Hitachi"}

#: Tags whose raw bytes are needed (text RosettaSciIO does not parse, or parses lossily).
_RAW_TAGS = (34680, 34682, 34683, 50431, 65027)
_DM_TAGS = (65003, 65004, 65006, 65007, 65009, 65010, 65022, 65024, 65025, 65027)
_TESCAN_SECTIONS = {2: "MAIN", 3: "SEM", 4: "GAMA", 5: "FIB"}
_TESCAN_THUMBNAIL, _TESCAN_LAST = 1, 0
_DECIMAL_COMMA = re.compile(r"^[-+]?\d+,\d+(?:[eE][-+]?\d+)?$")
_VALUE_WITH_UNIT = re.compile(r"^([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([^\d\s].*)$")
_ZEISS_MAG = re.compile(r"^([\d.]+)\s*([KM]?)\s*X$", re.IGNORECASE)
_MAG_PREFIX = {"": 1.0, "K": 1e3, "M": 1e6}
_TVIPS_DIFFRACTION = 3
_PLAIN = "plain TIFF"


def sniff(path: Path, head: bytes) -> bool:
    return head[:4] in TIFF_MAGICS or sidecar_kind(head) is not None


def sidecar_kind(head: bytes) -> str | None:
    """'TESCAN' or 'Hitachi' if ``head`` starts like their metadata sidecar."""
    text = head.decode("latin-1").replace("\xef\xbb\xbf", "")
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";")):
            kind = _SIDECAR_SECTIONS.get(line)
            return kind if kind and "=" in text else None
    return None


def companions(path: Path, candidates: list[Path]) -> list[Path]:
    """The TESCAN ``.hdr`` / Hitachi ``.txt`` sidecar of a TIFF among the given files."""
    if _head(path)[:4] not in TIFF_MAGICS:
        return []
    names = _sidecar_names(path)
    return [c for c in candidates if c.parent == path.parent and c.name.lower() in names and _is_sidecar(c)]


def _sidecar_names(path: Path) -> set[str]:
    stem, ext = path.stem.lower(), path.suffix.lower().lstrip(".")
    return {f"{stem}.txt", f"{stem}.hdr", f"{stem}-{ext}.hdr"}


def _is_sidecar(path: Path) -> bool:
    return path.is_file() and sidecar_kind(_head(path)) is not None


def _head(path: Path, size: int = 1024) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(size)
    except OSError:
        return b""


# ---- reading ---------------------------------------------------------------


@dataclass
class _Context:
    """What the flavour handlers need besides one RosettaSciIO signal dict."""

    path: Path
    tags: dict[int, Any]  # tag code -> tifffile value, over the first page of every series (first wins)
    raw: dict[int, bytes]  # raw bytes of the tags in _RAW_TAGS
    byteorder: str
    sidecar: Path | None = None
    warnings: list[str] = field(default_factory=list)

    def text(self, code: int) -> str:
        return _decode(self.raw.get(code, b"")).strip("\x00").strip()

    def warn(self, message: str) -> None:
        self.warnings.append(f"{self.path.name}: {message}")


def read(path: Path, companion_files: list[Path]) -> list[Signal]:
    head = _head(path)
    if head[:4] not in TIFF_MAGICS:
        kind = sidecar_kind(head) or "metadata"
        raise ConversionError(
            path, f"is a {kind} metadata sidecar, not an image; convert it together with its TIFF image file"
        )
    from rsciio.tiff import file_reader

    _check_data_sizes(path)
    dicts = call_reader(path, TITLE, file_reader)
    ctx = _context(path, companion_files)
    flavour, handler = _flavour(ctx)
    for entry in dicts:
        handler(entry, ctx)
        _finish_metadata(entry, ctx, flavour)
    if flavour == "Olympus SIS":
        _calibrate_sis_preview(dicts)
    signals = [_signal(entry, index, ctx, flavour, len(dicts)) for index, entry in enumerate(dicts)]
    if signals:
        signals[0].warnings[:0] = list(dict.fromkeys(ctx.warnings))
    return signals


def _check_data_sizes(path: Path) -> None:
    """Strips and tiles inside the file, image sizes the stored bytes can hold: tifffile allocates
    what a damaged byte count or image size declares before it reads."""
    import tifffile

    size = path.stat().st_size
    try:
        with tifffile.TiffFile(path) as tiff:
            pages = [(p.shape, p.dtype, p.dataoffsets, p.databytecounts) for p in tiff.pages if hasattr(p, "shape")]
    except Exception:  # unreadable directories: RosettaSciIO reports them
        return
    for number, (shape, dtype, offsets, counts) in enumerate(pages):
        if any(offset + count > size for offset, count in zip(offsets, counts, strict=False)):
            raise ConversionError(path, f"page {number} has image data past the end of the file: truncated or damaged")
        declared = math.prod(shape) * (dtype.itemsize if dtype is not None else 1)
        refuse_oversized(path, f"page {number} ({' x '.join(map(str, shape))})", declared, sum(counts))


def _context(path: Path, companion_files: list[Path]) -> _Context:
    import tifffile

    tags: dict[int, Any] = {}
    raw: dict[int, bytes] = {}
    try:
        with tifffile.TiffFile(path) as tiff:
            for page in [series.keyframe for series in tiff.series] or [tiff.pages.first]:
                for tag in page.tags:
                    tags.setdefault(tag.code, tag.value)
                    if tag.code in _RAW_TAGS and tag.code not in raw:
                        raw[tag.code] = _raw_tag_bytes(tiff, tag)
            byteorder = tiff.byteorder
    except Exception as exc:  # RosettaSciIO read the file, so this is unexpected
        raise ConversionError(path, f"looks like {TITLE} but its tags cannot be read ({exc})") from exc
    sidecar = next((c for c in companion_files if _is_sidecar(c)), None) or _sibling_sidecar(path)
    return _Context(path, tags, raw, byteorder, sidecar)


def _raw_tag_bytes(tiff: Any, tag: Any) -> bytes:
    """The tag's bytes as stored (tifffile parses some vendor tags lossily)."""
    if isinstance(tag.value, bytes):
        return tag.value
    handle = tiff.filehandle
    position = handle.tell()
    try:
        handle.seek(tag.valueoffset)
        return handle.read(tag.valuebytecount)
    finally:
        handle.seek(position)


def _sibling_sidecar(path: Path) -> Path | None:
    """A sidecar lying next to the image although only the image was given."""
    names = _sidecar_names(path)
    try:
        siblings = sorted(p for p in path.parent.iterdir() if p.name.lower() in names)
    except OSError:
        return None
    return next((p for p in siblings if _is_sidecar(p)), None)


def _signal(entry: dict[str, Any], index: int, ctx: _Context, flavour: str, count: int) -> Signal:
    context = f"series {index}" if count > 1 else "image"
    signal = signal_from_rsciio(entry, ctx.path, NAME, context=context, metadata=entry["original_metadata"])
    if entry.get("_preview"):
        signal.title = f"{signal.title} (RGB preview)"
    if _uncalibrated(entry):
        what = "the file" if flavour == _PLAIN else f"the {flavour} metadata"
        signal.warnings.append(uncalibrated_warning(ctx.path, what))
    return signal


def _uncalibrated(entry: dict[str, Any]) -> bool:
    return any(not axis.get("units") for axis in _image_axes(entry))


def _image_axes(entry: dict[str, Any]) -> list[dict[str, Any]]:
    return [axis for axis in entry["axes"] if axis.get("name") in ("height", "width")]


def _finish_metadata(entry: dict[str, Any], ctx: _Context, flavour: str) -> None:
    """Flavour, TIFF date, and numbers the table reads made safe to read."""
    metadata = entry["original_metadata"]
    metadata["tiff_flavour"] = flavour
    stamp = exif_datetime(metadata.get("DateTime"))
    if stamp:
        _put(metadata, "normalised/tiff_datetime", stamp)
    _repair_numbers(metadata, ctx)


# ---- flavour detection -------------------------------------------------------


Handler = Callable[[dict[str, Any], _Context], None]


def _flavour(ctx: _Context) -> tuple[str, Handler]:
    for name, applies, handler in _FLAVOURS:
        if applies(ctx):
            return name, handler
    return _PLAIN, _no_vendor_metadata


def _has_titan_xml(ctx: _Context) -> bool:
    return ctx.text(34683).lstrip("\ufeff").startswith("<")


def _has_fei_ini(ctx: _Context) -> bool:
    return "[" in ctx.text(34682) or "[" in ctx.text(34680)


def _has_tescan(ctx: _Context) -> bool:
    return 50431 in ctx.tags or _sidecar_vendor(ctx) == "TESCAN"


def _has_hitachi(ctx: _Context) -> bool:
    return _sidecar_vendor(ctx) == "Hitachi"


def _sidecar_vendor(ctx: _Context) -> str | None:
    return sidecar_kind(_head(ctx.sidecar)) if ctx.sidecar else None


def _is_sightx(ctx: _Context) -> bool:
    description = ctx.tags.get(270)
    return ctx.tags.get(271) == "JEOL Ltd." and isinstance(description, str) and "TemReporter" in description


def _is_imagej(ctx: _Context) -> bool:
    description = ctx.tags.get(270)
    return isinstance(description, str) and description.startswith("ImageJ=")


# ---- FEI / Thermo Fisher -----------------------------------------------------


def _fei_sem(entry: dict[str, Any], ctx: _Context) -> None:
    """INI tag re-parsed losslessly; pixel sizes from it, x to the width axis."""
    metadata = entry["original_metadata"]
    text = ctx.text(34682) or ctx.text(34680)
    ini_text, _, xml_text = text.partition("<?xml")
    metadata["fei_metadata"] = _parse_ini(ini_text, typed=True)
    metadata["fei_metadata_text"] = text
    if xml_text:
        metadata["fei_xml_metadata"] = _xml_tree("<?xml" + xml_text, ctx)
    _calibrate(entry, _fei_pixel_size(metadata["fei_metadata"]), "m", replace=True)


def _fei_pixel_size(fei: dict[str, Any]) -> tuple[float, float] | None:
    """[Scan] (or the beam's own scan group) PixelHeight/PixelWidth in m, else field width / pixels."""
    for group in ("Scan", "EScan", "IScan"):
        width = clean_number(_get(fei, f"{group}/PixelWidth"))
        height = clean_number(_get(fei, f"{group}/PixelHeight"))
        if width and height:
            return height, width
    beam = str(_get(fei, "Beam/Beam") or "")
    hfw, vfw = clean_number(_get(fei, f"{beam}/HFW")), clean_number(_get(fei, f"{beam}/VFW"))
    nx, ny = clean_number(_get(fei, "Image/ResolutionX")), clean_number(_get(fei, "Image/ResolutionY"))
    if hfw and vfw and nx and ny:
        return vfw / ny, hfw / nx
    return None


def _fei_tem(entry: dict[str, Any], ctx: _Context) -> None:
    """FEI_TITAN XML (TIA's ``Data/Label/Value/Unit`` style or named elements) as a tree."""
    metadata = entry["original_metadata"]
    metadata.pop("fei_metadata", None)  # RosettaSciIO's parse of the (usually empty) FEI_HELIOS tag
    if _has_fei_ini(ctx):
        _fei_sem(entry, ctx)
    tree = _xml_tree(ctx.text(34683), ctx)
    metadata["FEI_TITAN_metadata"] = tree
    if _uncalibrated(entry):
        _calibrate(entry, _xml_pixel_size(tree), "m")


def _xml_pixel_size(tree: Any) -> tuple[float, float] | None:
    """The first ``PixelSize`` element with X/Y (or width/height) lengths, in m."""
    node = _find_key(tree, "PixelSize")
    if not isinstance(node, dict):
        return None
    lower = {str(k).lower(): v for k, v in node.items()}
    x, y = _length_m(lower.get("x", lower.get("width"))), _length_m(lower.get("y", lower.get("height")))
    return (y, x) if x and y else None


def _length_m(value: Any) -> float | None:
    """A length element: a bare number (metres) or ``{"#value": n, "unit": u}``."""
    from ..units import convert_values, parse_unit

    unit = "m"
    if isinstance(value, dict):
        unit, value = str(value.get("unit") or "m"), value.get("#value")
    number = clean_number(value)
    parsed = parse_unit(unit)
    if number is None or parsed is None or parsed.dimensionality != parse_unit("m").dimensionality:
        return None
    return float(convert_values(number, unit, "m"))


# ---- Zeiss -------------------------------------------------------------------


def _zeiss(entry: dict[str, Any], ctx: _Context) -> None:
    """CZ_SEM values are ``[label, value(, unit)]``: split by unit, magnification parsed."""
    cz_sem = entry["original_metadata"].get("CZ_SEM") or {}
    for key, value in cz_sem.items():
        if isinstance(value, (list, tuple)) and len(value) == 3 and isinstance(value[2], str):
            number = clean_number(value[1])
            if number is not None:
                _put(entry["original_metadata"], f"normalised/by_unit/CZ_SEM/{key}", {value[2].strip(): number})
    magnification = _zeiss_magnification(_get(cz_sem, "ap_mag/1"))
    if magnification is not None:
        _put(entry["original_metadata"], "normalised/by_unit/CZ_SEM/ap_mag", {"X": magnification})


def _zeiss_magnification(text: Any) -> float | None:
    """'50.00 K X' -> 50000: SmartSEM writes magnification with a K/M multiplier."""
    match = _ZEISS_MAG.match(str(text or "").strip())
    if not match or clean_number(match.group(1)) is None:
        return None
    return float(match.group(1)) * _MAG_PREFIX[match.group(2).upper()]


# ---- TESCAN ------------------------------------------------------------------


def _tescan(entry: dict[str, Any], ctx: _Context) -> None:
    """Tag 50431 blocks (and/or the .hdr sidecar) as ``TESCAN/<section>/<key>``."""
    metadata = entry["original_metadata"]
    from_tag = _tescan_blocks(ctx.raw.get(50431, b""), ctx) if 50431 in ctx.raw else {}
    from_sidecar = _parse_ini(_read_text(ctx.sidecar), typed=True) if _sidecar_vendor(ctx) == "TESCAN" else {}
    metadata["TESCAN"] = from_tag or from_sidecar
    if from_sidecar:
        metadata["sidecar_file"] = ctx.sidecar.name
    if from_tag and from_sidecar:
        metadata["TESCAN_sidecar"] = from_sidecar
    if _uncalibrated(entry):
        main = metadata["TESCAN"].get("MAIN", {})
        x, y = clean_number(main.get("PixelSizeX")), clean_number(main.get("PixelSizeY"))
        _calibrate(entry, (abs(y), abs(x)) if x and y else None, "m")


def _tescan_blocks(payload: bytes, ctx: _Context) -> dict[str, Any]:
    """``uint32 size, uint16 type, size - 2 bytes`` blocks; text blocks are key=value lines."""
    order = "little" if ctx.byteorder == "<" else "big"
    sections: dict[str, Any] = {}
    position = 0
    while position + 6 <= len(payload):
        size = int.from_bytes(payload[position : position + 4], order)
        kind = int.from_bytes(payload[position + 4 : position + 6], order)
        if size < 2 or position + 4 + size > len(payload):
            ctx.warn("TESCAN tag 50431 has a damaged block layout; its text was read without it")
            return _parse_ini("[MAIN]\n" + _decode(payload), typed=True)
        body = payload[position + 6 : position + 4 + size]
        if kind == _TESCAN_LAST:
            break
        if kind in _TESCAN_SECTIONS:
            parsed = _parse_ini(_decode(body), typed=True)
            sections[_TESCAN_SECTIONS[kind]] = {k: v for values in parsed.values() for k, v in values.items()}
        elif kind != _TESCAN_THUMBNAIL:
            sections[f"block type {kind}"] = _decode(body)
        position += 4 + size
    return sections


# ---- Hitachi -----------------------------------------------------------------


def _hitachi(entry: dict[str, Any], ctx: _Context) -> None:
    """The .txt sidecar; ``value unit`` strings split by unit; PixelSize is in nm."""
    metadata = entry["original_metadata"]
    hitachi = _parse_ini(_read_text(ctx.sidecar), typed=False)
    metadata["Hitachi"] = hitachi
    metadata["sidecar_file"] = ctx.sidecar.name
    for section, values in hitachi.items():
        for key, value in values.items():
            match = _VALUE_WITH_UNIT.match(str(value).strip())
            if match:
                _put(metadata, f"normalised/by_unit/Hitachi/{section}/{key}", {match.group(2): float(match.group(1))})
    if _uncalibrated(entry):
        section = next(iter(hitachi.values()), {})
        size = clean_number(section.get("PixelSize"))
        _calibrate(entry, (size, size) if size else None, "nm")


# ---- JEOL SightX -------------------------------------------------------------


def _jeol_sightx(entry: dict[str, Any], ctx: _Context) -> None:
    """Selector split by unit (X = magnification, mm/cm = camera length); SightX pixel size."""
    metadata = entry["original_metadata"]
    description = metadata.get("ImageDescription")
    if not isinstance(description, dict):
        return
    value = _get(description, "ImageFormingSystem/SelectorValue")
    unit = str(_get(description, "ImageFormingSystem/SelectorUnitString") or "").strip()
    if clean_number(value) is not None and unit:
        _put(metadata, "normalised/by_unit/ImageDescription/ImageFormingSystem/SelectorValue", {unit: float(value)})
    _use_sightx_pixels_per_meter(entry, description)


def _use_sightx_pixels_per_meter(entry: dict[str, Any], description: dict[str, Any]) -> None:
    """Rescale RosettaSciIO's dpi-based scale to SightX's PixelsPerMeter."""
    metadata = entry["original_metadata"]
    resolution_m = 0.0254 if int(metadata.get("ResolutionUnit", 2)) == 2 else 0.01
    for axis in _image_axes(entry):
        if not axis.get("units"):
            continue
        tag, direction = ("XResolution", "Horizontal") if axis["name"] == "width" else ("YResolution", "Vertical")
        ppm = _sightx_pixels_per_meter(description, direction)
        numerator, denominator = metadata.get(tag, (0, 1))
        if ppm and numerator and denominator:
            tag_pixels_per_meter = numerator / denominator / resolution_m
            axis["scale"] = float(axis["scale"]) * tag_pixels_per_meter / ppm


def _sightx_pixels_per_meter(description: dict[str, Any], direction: str) -> float | None:
    for path in (
        "Measurement/MeasurementFormat/DrawImageInformation/PixelsPerMeter",
        "JemBaumerCamera/Parameter/ImageDataInformation/PixelsPerMeter",
    ):
        value = clean_number(_get(description, f"{path}/{direction}"))
        if value and value > 0:
            return value
    return None


# ---- TVIPS -------------------------------------------------------------------


def _tvips(entry: dict[str, Any], ctx: _Context) -> None:
    """Packed date + seconds since midnight; magnification vs diffraction by TemMode."""
    metadata = entry["original_metadata"]
    tvips = metadata.get("TVIPS") or {}
    moment = _tvips_datetime(tvips.get("Date"), tvips.get("Time"))
    if moment:
        _put(metadata, "normalised/acquisition_time", moment)
    x, y = clean_number(tvips.get("PixelSizeX")), clean_number(tvips.get("PixelSizeY"))
    if x and y:
        _calibrate(entry, (y, x), "nm", replace=True)
    if tvips.get("TemMode") == _TVIPS_DIFFRACTION:
        for axis in _image_axes(entry):
            axis.update(units=None, scale=1.0, offset=0.0)
        ctx.warn("TVIPS diffraction image: the unit of its pixel size is not recorded; axes stored as pixel indices")
    elif clean_number(tvips.get("TemMagnification")):
        _put(metadata, "normalised/magnification", float(tvips["TemMagnification"]))


def _tvips_datetime(date: Any, seconds: Any) -> str | None:
    if not isinstance(date, int) or not isinstance(seconds, (int, float)) or date <= 0:
        return None
    try:
        day = datetime(date >> 16, (date >> 8) & 0xFF, date & 0xFF)
    except ValueError:
        return None
    return (day + timedelta(seconds=int(seconds))).isoformat() if 0 <= seconds < 86400 else None


# ---- Olympus SIS, DigitalMicrograph, plain -------------------------------------


def _olympus_sis(entry: dict[str, Any], ctx: _Context) -> None:
    """Pixel size from the SIS tag, x to width; the camera is the Model tag."""
    metadata = entry["original_metadata"]
    if metadata.get("Model"):
        _put(metadata, "normalised/camera", metadata["Model"])
    sis = metadata.get("Olympus_SIS_metadata") or {}
    x, y = clean_number(sis.get("pixelsizex")), clean_number(sis.get("pixelsizey"))
    if x and y:
        _calibrate(entry, (y, x), "m", replace=True)


def _calibrate_sis_preview(dicts: list[dict[str, Any]]) -> None:
    """The RGB preview page shows the data's field of view: same pixel grid, same calibration."""
    calibrated = [d for d in dicts if not _uncalibrated(d)]
    for entry in dicts:
        if not calibrated or not _uncalibrated(entry) or getattr(entry["data"].dtype, "names", None) is None:
            continue
        source = calibrated[0]
        if [a["size"] for a in _image_axes(entry)] == [a["size"] for a in _image_axes(source)]:
            for axis, reference in zip(_image_axes(entry), _image_axes(source), strict=True):
                axis.update(scale=reference["scale"], offset=reference["offset"], units=reference["units"])
            entry["_preview"] = True


def _dm_export(entry: dict[str, Any], ctx: _Context) -> None:
    """DM's tag group (tifffile calls tag 65027 'JEOL_Header') decoded by RosettaSciIO's DM reader."""
    metadata = entry["original_metadata"]
    blob = metadata.pop("JEOL_Header", None) or ctx.raw.get(65027)
    if not isinstance(blob, bytes):
        return
    metadata["65027"] = blob
    import io

    from rsciio.digitalmicrograph._api import DigitalMicrographReader

    reader = DigitalMicrographReader(io.BytesIO(blob))
    try:
        reader.parse_file()
    except Exception as exc:
        ctx.warn(f"the DigitalMicrograph tag group (tag 65027) cannot be decoded ({type(exc).__name__}); kept as bytes")
        return
    tags = dict(reader.tags_dict or {})
    if not tags.get("root"):
        tags.pop("root", None)
    metadata["DigitalMicrograph"] = tags


def _no_vendor_metadata(entry: dict[str, Any], ctx: _Context) -> None:
    """Plain and ImageJ TIFFs: RosettaSciIO already read what there is."""


_FLAVOURS: list[tuple[str, Callable[[_Context], bool], Handler]] = [
    ("FEI/Thermo Fisher TEM", _has_titan_xml, _fei_tem),
    ("FEI/Thermo Fisher SEM/FIB", _has_fei_ini, _fei_sem),
    ("Zeiss SEM", lambda ctx: 34118 in ctx.tags, _zeiss),
    ("TESCAN", _has_tescan, _tescan),
    ("TVIPS", lambda ctx: 37706 in ctx.tags, _tvips),
    ("Olympus SIS", lambda ctx: 33560 in ctx.tags or 33471 in ctx.tags, _olympus_sis),
    ("JEOL SightX", _is_sightx, _jeol_sightx),
    ("DigitalMicrograph export", lambda ctx: any(code in ctx.tags for code in _DM_TAGS), _dm_export),
    ("Hitachi", _has_hitachi, _hitachi),
    ("ImageJ", _is_imagej, _no_vendor_metadata),
]


# ---- shared helpers ------------------------------------------------------------


def _calibrate(entry: dict[str, Any], scales: tuple[float, float] | None, units: str, replace: bool = False) -> None:
    """Set the (height, width) pixel sizes of uncalibrated axes (of all image axes with ``replace``)."""
    if not scales or not all(s and math.isfinite(s) and s > 0 for s in scales):
        return
    for axis in _image_axes(entry):
        if replace or not axis.get("units"):
            axis.update(scale=scales[0] if axis["name"] == "height" else scales[1], offset=0.0, units=units)


def clean_number(value: Any) -> float | None:
    """A finite float from a number or a numeric string (decimal comma allowed), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if _DECIMAL_COMMA.match(text):
        text = text.replace(",", ".")
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


@cache
def _numeric_keys() -> tuple[str, ...]:
    """Vendor keys ``tiff.json`` reads as numbers (with a unit or a number transform)."""
    from ..mapping.engine import shipped_table

    keys = []
    for rule in shipped_table(NAME).rules:
        if rule.src_unit or rule.transform in ("number", "vector"):
            keys.extend(key for key in rule.src if "{" not in key)
    return tuple(dict.fromkeys(keys))


def _repair_numbers(metadata: dict[str, Any], ctx: _Context) -> None:
    """Decimal commas fixed, non-numbers blanked (never half-read as '1' from '1.#QNAN')."""
    for key in _numeric_keys():
        value = _get(metadata, key)
        if not isinstance(value, str) or not value.strip():
            continue
        number = clean_number(value)
        if number is not None and re.fullmatch(r"\s*[-+]?[\d.]+(?:[eE][-+]?\d+)?\s*", value):
            continue  # an ordinary numeric string
        if not _put(metadata, key, number):
            continue
        _put(metadata, f"values_as_written/{key}", value)
        if number is None:
            ctx.warn(f"'{key}' = {value!r} is not a number; not mapped")


def _get(tree: Any, key: str) -> Any:
    node = tree
    for segment in key.split("/"):
        if isinstance(node, dict) and segment in node:
            node = node[segment]
        elif isinstance(node, (list, tuple)) and segment.isdigit() and int(segment) < len(node):
            node = node[int(segment)]
        else:
            return None
    return node


def _put(tree: dict[str, Any], key: str, value: Any) -> bool:
    """Set a '/'-separated key, creating dicts on the way; False if a list is in the way."""
    *parents, last = key.split("/")
    node = tree
    for segment in parents:
        child = node.get(segment)
        if child is None:
            child = node[segment] = {}
        if not isinstance(child, dict):
            return False
        node = child
    node[last] = value
    return True


def _find_key(tree: Any, name: str) -> Any:
    """Depth-first search for the first dict entry called ``name``."""
    if isinstance(tree, dict):
        if name in tree:
            return tree[name]
        children = tree.values()
    elif isinstance(tree, list):
        children = tree
    else:
        return None
    for child in children:
        found = _find_key(child, name)
        if found is not None:
            return found
    return None


def _decode(data: bytes) -> str:
    """Vendor text: UTF-8 (with or without BOM), else Windows-1252 / Latin-1."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _read_text(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        return _decode(path.read_bytes())
    except OSError as exc:
        raise ConversionError(path, f"cannot be read ({exc.strerror or exc})") from exc


def _parse_ini(text: str, typed: bool) -> dict[str, Any]:
    """``[section]`` / ``key=value`` text; a repeated section is kept as ``name (2)``.

    Keys before the first section go to the section ``""``. ``typed`` turns
    numeric strings into numbers the way tifffile does for FEI tags.
    """
    from tifffile import astype

    sections: dict[str, Any] = {}
    current: dict[str, Any] | None = None
    for line in text.replace("\x00", "").splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            name = line[1:-1]
            unique, count = name, 1
            while unique in sections:
                count += 1
                unique = f"{name} ({count})"
            current = sections[unique] = {}
        elif "=" in line and not line.startswith(("#", ";")):
            key, value = (part.strip() for part in line.split("=", 1))
            if current is None:
                current = sections.setdefault("", {})
            current[key] = astype(value, (int, float)) if typed else value
    return sections


def _xml_tree(text: str, ctx: _Context) -> dict[str, Any]:
    """XML as nested dicts (namespaces dropped, decimal commas fixed, TIA Label/Value/Unit flattened)."""
    import xml.etree.ElementTree as ET

    from rsciio.utils.xml import XmlToDict, sanitize_msxml_float

    try:
        root = ET.fromstring(sanitize_msxml_float(text.encode("utf-8")))
    except ET.ParseError as exc:
        ctx.warn(f"vendor XML metadata cannot be parsed ({exc}); kept as text")
        return {"text": text}
    for element in root.iter():
        element.tag = str(element.tag).rpartition("}")[2]
        element.attrib = {k.rpartition("}")[2]: v for k, v in element.attrib.items()}
    return _flatten_label_values(XmlToDict(dub_text_str="#value").dictionarize(root))


def _flatten_label_values(node: Any) -> Any:
    """TIA ``Root/Data[Label, Value, Unit]`` lists -> ``{"Label_Unit": value}`` (RosettaSciIO's TIA naming)."""
    if isinstance(node, list):
        return [_flatten_label_values(item) for item in node]
    if not isinstance(node, dict):
        return node
    data = node.get("Root", {}).get("Data") if isinstance(node.get("Root"), dict) and len(node) == 1 else None
    if data is not None:
        items = data if isinstance(data, list) else [data]
        if all(isinstance(item, dict) and "Label" in item for item in items):
            return {_label_key(item): item.get("Value") for item in items}
    return {key: _flatten_label_values(value) for key, value in node.items()}


def _label_key(item: dict[str, Any]) -> str:
    unit = item.get("Unit")
    return f"{item['Label']}_{unit}" if unit not in (None, "") else str(item["Label"])
