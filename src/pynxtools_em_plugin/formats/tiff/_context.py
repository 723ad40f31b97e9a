"""What every flavour handler works with: the per-file context, one RosettaSciIO signal, the flavour interface."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from ...errors import ConversionError
from ...parsing import decode_text, parse_number
from ._sidecar import is_sidecar, sibling_sidecar

TITLE = "TIFF microscope image"

#: Tags whose raw bytes are needed (text RosettaSciIO does not parse, or parses lossily).
RAW_TAGS = (34680, 34682, 34683, 50431, 65027)

#: Numbers in vendor text: some vendor software writes the decimal comma of the Windows locale.
vendor_number = partial(parse_number, decimal_comma=True)


@dataclass
class Context:
    """What the flavour handlers need besides one RosettaSciIO signal dict."""

    path: Path
    tags: dict[int, Any]  # tag code -> tifffile value, over the first page of every series (first wins)
    raw: dict[int, bytes]  # raw bytes of the tags in RAW_TAGS
    byteorder: str
    sidecar: Path | None = None
    warnings: list[str] = field(default_factory=list)

    def text(self, code: int) -> str:
        return decode_text(self.raw.get(code, b"")).strip("\x00").strip()

    def warn(self, message: str) -> None:
        self.warnings.append(f"{self.path.name}: {message}")


@dataclass
class Item:
    """One RosettaSciIO signal dict and what the handlers add to it.

    ``entry["original_metadata"]`` is never changed; vendor blocks parsed here go to
    ``blocks`` (stored next to it), computed and repaired values to ``derived``. The image
    axes in ``entry["axes"]`` are the handlers' to calibrate.
    """

    entry: dict[str, Any]
    blocks: dict[str, Any] = field(default_factory=dict)
    derived: dict[str, Any] = field(default_factory=dict)
    preview: bool = False

    @property
    def original(self) -> dict[str, Any]:
        return self.entry["original_metadata"]

    def metadata(self) -> dict[str, Any]:
        """The vendor tree: RosettaSciIO's original_metadata plus the blocks parsed here."""
        return {**self.original, **self.blocks}


@dataclass(frozen=True)
class Flavour:
    """A TIFF flavour: its name (``tiff_flavour``), how it is recognised, what is done with it."""

    name: str
    detect: Callable[[Context], bool]
    prepare: Callable[[Item, Context], None]
    #: after every signal was prepared (e.g. one signal's calibration given to another)
    finish: Callable[[list[Item]], None] | None = None


def read_context(path: Path, companion_files: list[Path]) -> Context:
    """Tags of the file and the sidecar that comes with it (given, or lying next to it)."""
    import tifffile

    tags: dict[int, Any] = {}
    raw: dict[int, bytes] = {}
    try:
        with tifffile.TiffFile(path) as tiff:
            for page in [series.keyframe for series in tiff.series] or [tiff.pages.first]:
                for tag in page.tags:
                    tags.setdefault(tag.code, tag.value)
                    if tag.code in RAW_TAGS and tag.code not in raw:
                        raw[tag.code] = _raw_tag_bytes(tiff, tag)
            byteorder = tiff.byteorder
    except Exception as exc:  # RosettaSciIO read the file, so this is unexpected
        raise ConversionError(path, f"looks like {TITLE} but its tags cannot be read ({exc})") from exc
    sidecar = next((c for c in companion_files if is_sidecar(c)), None) or sibling_sidecar(path)
    return Context(path, tags, raw, byteorder, sidecar)


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


def read_sidecar_text(path: Path) -> str:
    try:
        return decode_text(path.read_bytes())
    except OSError as exc:
        raise ConversionError(path, f"cannot be read ({exc.strerror or exc})") from exc


# ---- image axes ------------------------------------------------------------------------------


def image_axes(entry: dict[str, Any]) -> list[dict[str, Any]]:
    return [axis for axis in entry["axes"] if axis.get("name") in ("height", "width")]


def uncalibrated(entry: dict[str, Any]) -> bool:
    return any(not axis.get("units") for axis in image_axes(entry))


def calibrate(entry: dict[str, Any], scales: tuple[float, float] | None, units: str, replace: bool = False) -> None:
    """Set the (height, width) pixel sizes of uncalibrated axes (of all image axes with ``replace``)."""
    if not scales or not all(s and math.isfinite(s) and s > 0 for s in scales):
        return
    for axis in image_axes(entry):
        if replace or not axis.get("units"):
            axis.update(scale=scales[0] if axis["name"] == "height" else scales[1], offset=0.0, units=units)
