"""Zeiss SEM (SmartSEM): tag 34118 (CZ_SEM).

What the vendor writes: entries ``[label, value(, unit)]`` (RosettaSciIO's parse, kept as
``CZ_SEM``), each value with its own unit ('EHT = 5.00 kV' -> ``5.0, "kV"``), the
magnification as text with a K/M multiplier ('50.00 K X').

What we do: every value with a unit is put in ``derived["by_unit"]["CZ_SEM"][<key>][<unit>]``
so that the mapping table names the unit it expects (the vendor picks kV or V, µm or mm...);
the magnification is read into ``by_unit/CZ_SEM/ap_mag/X``.
"""

from __future__ import annotations

from typing import Any

from ...keys import join_key, lookup, put
from ...parsing import split_value_unit
from ._context import Context, Flavour, Item, vendor_number

#: SmartSEM's magnification multipliers ('50.00 K X' = 50000).
_MAGNIFICATION_UNITS = {"X": 1.0, "KX": 1e3, "MX": 1e6}


def detect(ctx: Context) -> bool:
    return 34118 in ctx.tags


def prepare(item: Item, ctx: Context) -> None:
    cz_sem = item.original.get("CZ_SEM") or {}
    for key, value in cz_sem.items():
        if isinstance(value, (list, tuple)) and len(value) == 3 and isinstance(value[2], str):
            number = vendor_number(value[1])
            if number is not None:
                put(item.derived, join_key("by_unit", "CZ_SEM", key), {value[2].strip(): number})
    magnification = _magnification(lookup(cz_sem, "ap_mag/1"))
    if magnification is not None:
        put(item.derived, "by_unit/CZ_SEM/ap_mag", {"X": magnification})


def _magnification(text: Any) -> float | None:
    """'50.00 K X' -> 50000: SmartSEM writes magnification with a K/M multiplier."""
    parsed = split_value_unit(text) if isinstance(text, str) else None
    if parsed is None or parsed[0] < 0:
        return None
    factor = _MAGNIFICATION_UNITS.get("".join(parsed[1].split()).upper())
    return parsed[0] * factor if factor else None


FLAVOUR = Flavour("Zeiss SEM", detect, prepare)
