"""JEOL SightX (TEM camera software): Make "JEOL Ltd." with the TemReporter XML description.

What the vendor writes: the image description (tag 270) is XML, parsed by RosettaSciIO into
``ImageDescription``; the magnification or camera length is one selector value with its unit
(``SelectorValue`` + ``SelectorUnitString``: X, mm, cm); the calibration is ``PixelsPerMeter``.

What we do: the selector value goes to
``derived["by_unit"]["ImageDescription"]["ImageFormingSystem"]["SelectorValue"][<unit>]``
(the table maps X to magnification, mm/cm to camera length). RosettaSciIO derives the pixel
size from the TIFF resolution tag, an integer dpi (93); SightX's own calibration, used by its
measurement overlays, is ``PixelsPerMeter`` (3642 px/m = 92.5 dpi): the scale is rescaled by that
ratio (0.5 %).
"""

from __future__ import annotations

from typing import Any

from ...keys import lookup, put
from ._context import Context, Flavour, Item, image_axes, vendor_number


def detect(ctx: Context) -> bool:
    description = ctx.tags.get(270)
    return ctx.tags.get(271) == "JEOL Ltd." and isinstance(description, str) and "TemReporter" in description


def prepare(item: Item, ctx: Context) -> None:
    description = item.original.get("ImageDescription")
    if not isinstance(description, dict):
        return
    value = vendor_number(lookup(description, "ImageFormingSystem/SelectorValue"))
    unit = str(lookup(description, "ImageFormingSystem/SelectorUnitString") or "").strip()
    if value is not None and unit:
        put(item.derived, "by_unit/ImageDescription/ImageFormingSystem/SelectorValue", {unit: value})
    _use_pixels_per_meter(item, description)


def _use_pixels_per_meter(item: Item, description: dict[str, Any]) -> None:
    """Rescale RosettaSciIO's dpi-based scale to SightX's PixelsPerMeter."""
    resolution_m = 0.0254 if int(item.original.get("ResolutionUnit", 2)) == 2 else 0.01
    for axis in image_axes(item.entry):
        if not axis.get("units"):
            continue
        tag, direction = ("XResolution", "Horizontal") if axis["name"] == "width" else ("YResolution", "Vertical")
        ppm = _pixels_per_meter(description, direction)
        numerator, denominator = item.original.get(tag, (0, 1))
        if ppm and numerator and denominator:
            tag_pixels_per_meter = numerator / denominator / resolution_m
            axis["scale"] = float(axis["scale"]) * tag_pixels_per_meter / ppm


def _pixels_per_meter(description: dict[str, Any], direction: str) -> float | None:
    for path in (
        "Measurement/MeasurementFormat/DrawImageInformation/PixelsPerMeter",
        "JemBaumerCamera/Parameter/ImageDataInformation/PixelsPerMeter",
    ):
        value = vendor_number(lookup(description, f"{path}/{direction}"))
        if value and value > 0:
            return value
    return None


FLAVOUR = Flavour("JEOL SightX", detect, prepare)
