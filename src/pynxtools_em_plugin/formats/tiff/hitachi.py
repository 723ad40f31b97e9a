"""Hitachi SEM/TEM: a ``<name>.txt`` sidecar starting with ``[SemImageFile]`` (or ``[TemImageFile]``).

What the vendor writes: the TIFF holds no private tag; the sidecar is INI text whose values
carry their unit ('AcceleratingVoltage=15000 Volt', 'WorkingDistance=8000 um'), except
``PixelSize`` (nm) and ``Magnification``.

What we do: the sidecar is parsed here as text (``Hitachi``, values as written); every
``value unit`` string is split into ``derived["by_unit"]["Hitachi"][<section>][<key>][<unit>]``;
the sidecar's file name goes to ``derived["sidecar_file"]``; the pixel size is ``PixelSize`` (nm)
when RosettaSciIO found no calibration.
"""

from __future__ import annotations

from ...keys import join_key, put
from ...parsing import parse_ini, split_value_unit
from ._context import Context, Flavour, Item, calibrate, read_sidecar_text, uncalibrated, vendor_number
from ._sidecar import sidecar_vendor


def detect(ctx: Context) -> bool:
    return sidecar_vendor(ctx.sidecar) == "Hitachi"


def prepare(item: Item, ctx: Context) -> None:
    assert ctx.sidecar is not None  # detect() found it
    hitachi = item.blocks["Hitachi"] = parse_ini(read_sidecar_text(ctx.sidecar), typed=False)
    item.derived["sidecar_file"] = ctx.sidecar.name
    for section, values in hitachi.items():
        for key, value in values.items():
            parsed = split_value_unit(value)
            if parsed:
                number, unit = parsed
                put(item.derived, join_key("by_unit", "Hitachi", section, key), {unit: number})
    if uncalibrated(item.entry):
        section = next(iter(hitachi.values()), {})
        size = vendor_number(section.get("PixelSize"))
        calibrate(item.entry, (size, size) if size else None, "nm")


FLAVOUR = Flavour("Hitachi", detect, prepare)
