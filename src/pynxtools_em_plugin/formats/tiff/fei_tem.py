"""FEI / Thermo Fisher TEM (TIA, Velox export): XML in tag 34683 (FEI_TITAN).

What the vendor writes: XML, either TIA's ``ObjectInfo`` with ``Root/Data`` lists of
``Label, Value, Unit`` or named elements (``Metadata/Optics/AccelerationVoltage``), sometimes
with decimal commas; often also an empty or INI FEI_HELIOS tag.

What we do: the XML is parsed here (RosettaSciIO 0.15 does not) and stored as
``FEI_TITAN_metadata``: namespaces dropped and TIA's ``Label/Value/Unit`` lists flattened to
``{"Label_Unit": value}`` (RosettaSciIO's naming for TIA), numeric text read as numbers (a
decimal comma too, as RosettaSciIO does for the XML it parses). An INI tag, if
any, is read as for SEM images. The pixel size is the first ``PixelSize`` element, used when
RosettaSciIO found no calibration.
"""

from __future__ import annotations

from typing import Any

from ...keys import find_key
from ...units import convert_values, parse_unit
from . import fei_sem
from ._context import Context, Flavour, Item, calibrate, uncalibrated, vendor_number


def detect(ctx: Context) -> bool:
    return ctx.text(34683).lstrip("\ufeff").startswith("<")


def prepare(item: Item, ctx: Context) -> None:
    if fei_sem.detect(ctx):
        fei_sem.prepare(item, ctx)
    tree = item.blocks["FEI_TITAN_metadata"] = _flatten_label_values(fei_sem.xml_block(ctx.text(34683), ctx))
    if uncalibrated(item.entry):
        calibrate(item.entry, _xml_pixel_size(tree), "m")


def _flatten_label_values(node: Any) -> Any:
    """TIA ``Root/Data[Label, Value, Unit]`` lists -> ``{"Label_Unit": value}`` (RosettaSciIO's TIA naming)."""
    if isinstance(node, list):
        return [_flatten_label_values(item) for item in node]
    if not isinstance(node, dict):
        return node
    data = node.get("Root", {}).get("Data") if isinstance(node.get("Root"), dict) and len(node) == 1 else None
    if data is not None:
        items = data if isinstance(data, list) else [data]
        if all(isinstance(item, dict) and "Label" in item for item in items):
            return {_label_key(item): item.get("Value") for item in items}
    return {key: _flatten_label_values(value) for key, value in node.items()}


def _label_key(item: dict[str, Any]) -> str:
    unit = item.get("Unit")
    return f"{item['Label']}_{unit}" if unit not in (None, "") else str(item["Label"])


def _xml_pixel_size(tree: Any) -> tuple[float, float] | None:
    """The first ``PixelSize`` element with X/Y (or width/height) lengths, in m."""
    node = find_key(tree, "PixelSize")
    if not isinstance(node, dict):
        return None
    lower = {str(k).lower(): v for k, v in node.items()}
    x, y = _length_m(lower.get("x", lower.get("width"))), _length_m(lower.get("y", lower.get("height")))
    return (y, x) if x and y else None


def _length_m(value: Any) -> float | None:
    """A length element: a bare number (metres) or ``{"#value": n, "unit": u}``."""
    unit = "m"
    if isinstance(value, dict):
        unit, value = str(value.get("unit") or "m"), value.get("#value")
    number = vendor_number(value)
    parsed = parse_unit(unit)
    if number is None or parsed is None or parsed.dimensionality != parse_unit("m").dimensionality:
        return None
    return float(convert_values(number, unit, "m"))


FLAVOUR = Flavour("FEI/Thermo Fisher TEM", detect, prepare)
