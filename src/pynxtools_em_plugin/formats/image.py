"""Plain raster images: PNG, JPEG and BMP without vendor metadata.

Decoding is RosettaSciIO's (``rsciio.image``, which uses imageio/Pillow).
These formats carry no electron-microscopy calibration, so the image converts
with pixel-index axes and a warning says so (an EXIF focal-plane resolution,
which RosettaSciIO reads, does calibrate it). Colour images become a leading
channel axis in the core.

One correction, pinned by a test: RosettaSciIO 0.15 decides that an RGB image
is "really grey" by comparing the G and B channels only (it compares them
twice), so an image whose red channel differs (G == B, e.g. a red overlay)
loses its colour. Such files are re-decoded here and kept as RGB(A).

``Signal.metadata`` is RosettaSciIO's ``original_metadata`` (the EXIF tags it
read). ``Signal.derived`` holds ``pillow`` (Pillow's ``image_format``, colour
``mode`` and ``info``: PNG text chunks, dpi...) and ``exif_datetime`` (the EXIF
time as ISO 8601, see :func:`exif_datetime`). A plain image is never claimed as
a NOMAD entry of its own (:func:`nomad_claims`).

The small helpers :func:`exif_datetime` and :func:`uncalibrated_warning` are
shared with the TIFF module.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from ..model import Signal
from ._rsciio import call_reader, signal_from_rsciio, vendor_tree

NAME = "image"
TITLE = "Plain image (PNG, JPEG, BMP)"
EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp")

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC = b"\xff\xd8\xff"
_BMP_DIB_HEADER_SIZES = (12, 40, 52, 56, 64, 108, 124)
_EXIF_FORMAT = "%Y:%m:%d %H:%M:%S"
_COLOUR_MODES = ("RGB", "RGBA", "P", "PA", "CMYK", "YCbCr", "LAB", "HSV")


def sniff(path: Path, head: bytes) -> bool:
    return head.startswith(_PNG_MAGIC) or head.startswith(_JPEG_MAGIC) or _is_bmp(head)


def _is_bmp(head: bytes) -> bool:
    """'BM', then a DIB header whose size is one of the defined BMP versions."""
    if len(head) < 18 or head[:2] != b"BM":
        return False
    return int.from_bytes(head[14:18], "little") in _BMP_DIB_HEADER_SIZES


def read(path: Path, companions: list[Path]) -> list[Signal]:
    from rsciio.image import file_reader

    entry = call_reader(path, TITLE, file_reader)[0]
    derived = _derived(path, vendor_tree(entry))
    note = _keep_colour(path, entry)
    image_format = derived.get("pillow", {}).get("image_format") or "image"
    signal = signal_from_rsciio(entry, path, NAME, context=image_format, derived=derived)
    if note:
        signal.warnings.append(f"{path.name}: {note}")
    if not any(axis.get("units") for axis in entry["axes"]):
        signal.warnings.append(uncalibrated_warning(path, f"a plain {image_format} file"))
    return [signal]


def nomad_claims(path: Path) -> bool:
    """Never: a plain photo is not an electron-microscopy acquisition of its own."""
    return False


def _derived(path: Path, tree: dict[str, Any]) -> dict[str, Any]:
    """Pillow's facts about the file and the EXIF time as ISO 8601."""
    derived: dict[str, Any] = {}
    pillow = _pillow_info(path)
    if pillow:
        derived["pillow"] = pillow
    exif = tree.get("exif_tags")
    if isinstance(exif, dict):
        stamp = exif_datetime(exif.get("DateTimeOriginal") or exif.get("DateTime"))
        if stamp:
            derived["exif_datetime"] = stamp
    return derived


def exif_datetime(value: Any) -> str | None:
    """The TIFF/EXIF 'YYYY:MM:DD HH:MM:SS' time as naive ISO 8601, or None.

    dateutil misreads this layout (2018:11:15 becomes a date in the current
    year), so it is parsed with its exact format here.
    """
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value.strip().rstrip("\x00"), _EXIF_FORMAT).isoformat()
    except ValueError:
        return None


def uncalibrated_warning(path: Path, what: str) -> str:
    """The one wording for an image whose pixel size is unknown."""
    return f"{path.name}: no spatial calibration found in {what}; the image axes are stored as pixel indices"


def _pillow_info(path: Path) -> dict[str, Any]:
    """Format, colour mode and Pillow's info (PNG text chunks, dpi, ...) of the file."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            return {"image_format": image.format, "mode": image.mode, "info": dict(image.info)}
    except Exception:  # RosettaSciIO already decoded it; the extra facts are optional
        return {}


def _keep_colour(path: Path, entry: dict[str, Any]) -> str | None:
    """Undo RosettaSciIO's grey-scale guess when the red channel differs."""
    data = entry["data"]
    if np.ndim(data) != 2 or getattr(data.dtype, "names", None):
        return None
    from PIL import Image

    with Image.open(path) as image:
        if image.mode not in _COLOUR_MODES:
            return None
    import imageio.v3 as iio
    from rsciio.utils import rgb

    pixels = np.squeeze(iio.imread(path))
    if pixels.ndim != 3 or pixels.shape[-1] < 3:
        return None
    if np.array_equal(pixels[..., 0], pixels[..., 1]) and np.array_equal(pixels[..., 1], pixels[..., 2]):
        return None
    entry["data"] = rgb.regular_array2rgbx(pixels)
    return "colour image kept as RGB (RosettaSciIO would have kept only its red channel)"
