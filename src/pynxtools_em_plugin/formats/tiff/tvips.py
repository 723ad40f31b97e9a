"""TVIPS cameras (EM-MENU): tag 37706, parsed by RosettaSciIO into ``TVIPS``.

What the vendor writes: binary fields: ``PixelSizeX/Y`` (nm in imaging mode), ``TemMode``
(3 = diffraction), ``TemMagnification``, the date packed as ``year << 16 | month << 8 | day``
and ``Time`` in seconds since midnight.

What we do: the date and time decoded to ``derived["acquisition_time"]`` (RosettaSciIO leaves
them undecoded); the magnification to ``derived["magnification"]`` in imaging mode only; pixel
sizes set x to the width axis (RosettaSciIO gives PixelSizeX to the height). Diffraction images:
the file does not say in which unit ``PixelSizeX`` is then (RosettaSciIO labels it nm, a
real-space length), so the axes are kept as pixel indices with a warning.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ._context import Context, Flavour, Item, calibrate, image_axes, vendor_number

_DIFFRACTION = 3


def detect(ctx: Context) -> bool:
    return 37706 in ctx.tags


def prepare(item: Item, ctx: Context) -> None:
    tvips = item.original.get("TVIPS") or {}
    moment = _datetime(tvips.get("Date"), tvips.get("Time"))
    if moment:
        item.derived["acquisition_time"] = moment
    x, y = vendor_number(tvips.get("PixelSizeX")), vendor_number(tvips.get("PixelSizeY"))
    if x and y:
        calibrate(item.entry, (y, x), "nm", replace=True)
    magnification = vendor_number(tvips.get("TemMagnification"))
    if tvips.get("TemMode") == _DIFFRACTION:
        for axis in image_axes(item.entry):
            axis.update(units=None, scale=1.0, offset=0.0)
        ctx.warn("TVIPS diffraction image: the unit of its pixel size is not recorded; axes stored as pixel indices")
    elif magnification:
        item.derived["magnification"] = magnification


def _datetime(date: Any, seconds: Any) -> str | None:
    if not isinstance(date, int) or not isinstance(seconds, (int, float)) or date <= 0:
        return None
    try:
        day = datetime(date >> 16, (date >> 8) & 0xFF, date & 0xFF)
    except ValueError:
        return None
    return (day + timedelta(seconds=int(seconds))).isoformat() if 0 <= seconds < 86400 else None


FLAVOUR = Flavour("TVIPS", detect, prepare)
