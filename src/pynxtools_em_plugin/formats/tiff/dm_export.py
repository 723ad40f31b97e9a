"""TIFF exported by Gatan DigitalMicrograph: DM's private tags 65003-65027.

What the vendor writes: DM's calibration tags (read by RosettaSciIO: scale, origin, units) and
its whole tag group, in DM's binary tag format, in tag 65027 (which tifffile calls
'JEOL_Header': RosettaSciIO keeps it as bytes under that name).

What we do: the tag group is decoded with RosettaSciIO's own DM tag reader
(:func:`pynxtools_em_plugin.compat.rsciio.dm_tag_group`) and stored as the vendor block
``DigitalMicrograph``; a group that cannot be decoded stays bytes, with a warning.
"""

from __future__ import annotations

from ...compat.rsciio import dm_tag_group
from ._context import Context, Flavour, Item

_DM_TAGS = (65003, 65004, 65006, 65007, 65009, 65010, 65022, 65024, 65025, 65027)


def detect(ctx: Context) -> bool:
    return any(code in ctx.tags for code in _DM_TAGS)


def prepare(item: Item, ctx: Context) -> None:
    blob = item.original.get("JEOL_Header") or ctx.raw.get(65027)
    if not isinstance(blob, bytes):
        return
    try:
        item.blocks["DigitalMicrograph"] = dm_tag_group(blob)
    except Exception as exc:  # damaged bytes: RosettaSciIO's reader raises anything
        ctx.warn(f"the DigitalMicrograph tag group (tag 65027) cannot be decoded ({type(exc).__name__}); kept as bytes")


FLAVOUR = Flavour("DigitalMicrograph export", detect, prepare)
