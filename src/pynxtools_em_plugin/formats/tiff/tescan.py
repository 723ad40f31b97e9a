"""TESCAN SEM/FIB: tag 50431 and/or a ``<name>.hdr`` / ``<name>-tif.hdr`` sidecar.

What the vendor writes: tag 50431 holds blocks of ``uint32 size, uint16 type, size - 2 bytes``
(as published by Gwyddion's tescan module): a JPEG thumbnail (type 1), ``key=value`` text of
the sections MAIN (2), SEM (3), GAMA (4), FIB (5), an end block (0). The ``.hdr`` sidecar holds
the same text as INI ``[MAIN]`` / ``[SEM]`` sections. SI units (m, V, s, A), stage angles in
degrees.

What we do: RosettaSciIO 0.15 reads neither; both are parsed here (values typed) and stored as
vendor blocks: ``TESCAN`` (the tag, else the sidecar) and, when both exist, ``TESCAN_sidecar``.
The sidecar's file name goes to ``derived["sidecar_file"]``. The pixel size is MAIN
PixelSizeX/Y when RosettaSciIO found no calibration.
"""

from __future__ import annotations

from typing import Any

from ...parsing import decode_text, parse_ini
from ._context import Context, Flavour, Item, calibrate, read_sidecar_text, uncalibrated, vendor_number
from ._sidecar import sidecar_vendor

_SECTIONS = {2: "MAIN", 3: "SEM", 4: "GAMA", 5: "FIB"}
_THUMBNAIL, _LAST = 1, 0


def detect(ctx: Context) -> bool:
    return 50431 in ctx.tags or sidecar_vendor(ctx.sidecar) == "TESCAN"


def prepare(item: Item, ctx: Context) -> None:
    from_tag = _blocks(ctx.raw.get(50431, b""), ctx) if 50431 in ctx.raw else {}
    from_sidecar = {}
    if ctx.sidecar and sidecar_vendor(ctx.sidecar) == "TESCAN":
        from_sidecar = parse_ini(read_sidecar_text(ctx.sidecar), typed=True)
    tescan = item.blocks["TESCAN"] = from_tag or from_sidecar
    if from_sidecar:
        item.derived["sidecar_file"] = ctx.sidecar.name
    if from_tag and from_sidecar:
        item.blocks["TESCAN_sidecar"] = from_sidecar
    if uncalibrated(item.entry):
        main = tescan.get("MAIN", {})
        x, y = vendor_number(main.get("PixelSizeX")), vendor_number(main.get("PixelSizeY"))
        calibrate(item.entry, (abs(y), abs(x)) if x and y else None, "m")


def _blocks(payload: bytes, ctx: Context) -> dict[str, Any]:
    """``uint32 size, uint16 type, size - 2 bytes`` blocks; text blocks are key=value lines."""
    order = "little" if ctx.byteorder == "<" else "big"
    sections: dict[str, Any] = {}
    position = 0
    while position + 6 <= len(payload):
        size = int.from_bytes(payload[position : position + 4], order)
        kind = int.from_bytes(payload[position + 4 : position + 6], order)
        if size < 2 or position + 4 + size > len(payload):
            ctx.warn("TESCAN tag 50431 has a damaged block layout; its text was read without it")
            return parse_ini("[MAIN]\n" + decode_text(payload), typed=True)
        body = payload[position + 6 : position + 4 + size]
        if kind == _LAST:
            break
        if kind in _SECTIONS:
            parsed = parse_ini(decode_text(body), typed=True)
            sections[_SECTIONS[kind]] = {k: v for values in parsed.values() for k, v in values.items()}
        elif kind != _THUMBNAIL:
            sections[f"block type {kind}"] = decode_text(body)
        position += 4 + size
    return sections


FLAVOUR = Flavour("TESCAN", detect, prepare)
