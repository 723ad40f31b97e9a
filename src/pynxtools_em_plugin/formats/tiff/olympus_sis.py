"""Olympus Soft Imaging Solutions (iTEM, analySIS): tags 33560 / 33471, parsed by RosettaSciIO.

What the vendor writes: ``Olympus_SIS_metadata`` with ``pixelsizex/y`` (m), magnification and
date; the camera is the TIFF Model tag; an RGB preview page of the same field of view as the data.

What we do: pixel sizes set from ``pixelsizex/y`` unrounded (RosettaSciIO rounds to 1e-15 m and
gives x to the height axis), x to the width axis; the camera name to ``derived["camera"]``; the
RGB preview gets the data's calibration.
"""

from __future__ import annotations

from ._context import Context, Flavour, Item, calibrate, image_axes, uncalibrated, vendor_number


def detect(ctx: Context) -> bool:
    return 33560 in ctx.tags or 33471 in ctx.tags


def prepare(item: Item, ctx: Context) -> None:
    if item.original.get("Model"):
        item.derived["camera"] = item.original["Model"]
    sis = item.original.get("Olympus_SIS_metadata") or {}
    x, y = vendor_number(sis.get("pixelsizex")), vendor_number(sis.get("pixelsizey"))
    if x and y:
        calibrate(item.entry, (y, x), "m", replace=True)


def calibrate_preview(items: list[Item]) -> None:
    """The RGB preview page shows the data's field of view: same pixel grid, same calibration."""
    calibrated = [item.entry for item in items if not uncalibrated(item.entry)]
    for item in items:
        entry = item.entry
        if not calibrated or not uncalibrated(entry) or getattr(entry["data"].dtype, "names", None) is None:
            continue
        source = calibrated[0]
        if [a["size"] for a in image_axes(entry)] == [a["size"] for a in image_axes(source)]:
            for axis, reference in zip(image_axes(entry), image_axes(source), strict=True):
                axis.update(scale=reference["scale"], offset=reference["offset"], units=reference["units"])
            item.preview = True


FLAVOUR = Flavour("Olympus SIS", detect, prepare, finish=calibrate_preview)
