"""FEI / Thermo Fisher SEM and FIB (xT software): INI text in tag 34682 (FEI_HELIOS) or 34680 (FEI_SFEG).

What the vendor writes: ``[Section]`` / ``key=value`` text in SI units (V, m, s, A; stage
angles in rad), sometimes with sections repeated (``[MultiGISGas1]``), an XML block appended
after the INI text, values with the decimal comma of the Windows locale ('15000,5') or the
Windows NaN ('1.#QNAN'). Nav-cam (optical) images write the same groups without an e-beam
scan: their field width is in the beam's own group (``[IRBeam] HFW``).

What we do: RosettaSciIO's own parse (``fei_metadata``, which merges repeated sections) is kept;
the tag text is stored as written (``fei_metadata_text``) and parsed here losslessly
(``fei_ini``, repeated sections as ``name (2)``; the mapping table reads it) with the appended XML
(``fei_xml_metadata``). Malformed numbers stay as written; the table reads them with the
``decimal_comma`` number policy, and refuses non-numbers with a warning. The pixel sizes are set
from ``[Scan]`` PixelWidth / PixelHeight (x to the width axis: RosettaSciIO gives it to the
height), else field width over pixels.
"""

from __future__ import annotations

from typing import Any

from ...keys import lookup
from ...parsing import parse_ini, xml_to_dict
from ._context import Context, Flavour, Item, calibrate, vendor_number


def detect(ctx: Context) -> bool:
    return "[" in ctx.text(34682) or "[" in ctx.text(34680)


def prepare(item: Item, ctx: Context) -> None:
    text = ctx.text(34682) or ctx.text(34680)
    ini_text, _, xml_text = text.partition("<?xml")
    fei = item.blocks["fei_ini"] = parse_ini(ini_text, typed=True)
    item.blocks["fei_metadata_text"] = text
    if xml_text:
        item.blocks["fei_xml_metadata"] = xml_block("<?xml" + xml_text, ctx)
    calibrate(item.entry, pixel_size(fei), "m", replace=True)


def pixel_size(fei: dict[str, Any]) -> tuple[float, float] | None:
    """[Scan] (or the beam's own scan group) PixelHeight/PixelWidth in m, else field width / pixels."""
    for group in ("Scan", "EScan", "IScan"):
        width = vendor_number(lookup(fei, f"{group}/PixelWidth"))
        height = vendor_number(lookup(fei, f"{group}/PixelHeight"))
        if width and height:
            return height, width
    beam = str(lookup(fei, "Beam/Beam") or "")
    hfw, vfw = vendor_number(lookup(fei, f"{beam}/HFW")), vendor_number(lookup(fei, f"{beam}/VFW"))
    nx, ny = vendor_number(lookup(fei, "Image/ResolutionX")), vendor_number(lookup(fei, "Image/ResolutionY"))
    if hfw and vfw and nx and ny:
        return vfw / ny, hfw / nx
    return None


def xml_block(text: str, ctx: Context) -> dict[str, Any]:
    """Vendor XML as nested dicts, decimal commas read as numbers (not as pairs of numbers); kept
    as text (with a warning) when it is not well-formed."""
    try:
        return xml_to_dict(text, decimal_comma=True)
    except ValueError as exc:
        ctx.warn(f"vendor XML metadata cannot be parsed ({exc}); kept as text")
        return {"text": text}


FLAVOUR = Flavour("FEI/Thermo Fisher SEM/FIB", detect, prepare)
