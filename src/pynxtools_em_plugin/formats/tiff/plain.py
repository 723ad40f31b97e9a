"""TIFFs without a microscope vendor's metadata: ImageJ and plain TIFF.

What the file holds: standard TIFF tags only, or ImageJ's description (``ImageJ=...``), whose
calibration RosettaSciIO reads itself.

What we do: nothing beyond RosettaSciIO; an image without calibration keeps pixel-index axes
and gets a warning. Neither is claimed by NOMAD as an electron-microscopy acquisition.
"""

from __future__ import annotations

from ._context import Context, Flavour, Item


def is_imagej(ctx: Context) -> bool:
    description = ctx.tags.get(270)
    return isinstance(description, str) and description.startswith("ImageJ=")


def nothing_to_add(item: Item, ctx: Context) -> None:
    """RosettaSciIO already read what there is."""


IMAGEJ = Flavour("ImageJ", is_imagej, nothing_to_add)
#: The fallback when no flavour is recognised.
PLAIN = Flavour("plain TIFF", lambda ctx: True, nothing_to_add)
