"""The small set of named transforms a mapping table may use.

A transform takes the list of source values of one mapping entry (one value
per ``src`` key), the entry's ``args``, and the conversion context, and returns
the value to store. Tables name transforms; they never contain code.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import numpy as np

#: A vendor number: the text starts with it; what follows is nothing, or a suffix after a space
#: or made of no digits ('22500 X', '15 kV', '5kV'); never a number picked out of other text.
_NUMBER = re.compile(r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(?:\s+.*|[^\d\s.#,:;/-][^\d]*)?", re.DOTALL)
_LIST_SEPARATOR = re.compile(r"[,;\s]+")
_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)
_OADATE_EPOCH = datetime(1899, 12, 30)


class TransformError(ValueError):
    """The vendor value cannot be transformed (reported as a warning)."""


@dataclass
class TransformContext:
    """What a transform may need besides the values: the zone assumed for naive times."""

    assumed_timezone: tzinfo = UTC
    assumed_timezone_name: str = "UTC"
    notes: list[str] = field(default_factory=list)


Transform = Callable[[list[Any], dict[str, Any], TransformContext], Any]


def to_float(value: Any) -> float:
    """A number from a vendor value: number, numeric string, or '22500 X' (see :data:`_NUMBER`).

    Text that merely contains a number ('Sun Feb 21 2016', '1.#QNAN', '12x0.0') is
    not one: it is reported, never read as 21, 1 or 12.
    """
    if isinstance(value, (bool, np.bool_)):
        raise TransformError(f"{value!r} is not a number")
    if isinstance(value, (int, float, np.integer, np.floating)):
        number = float(value)
    else:
        match = _NUMBER.fullmatch(str(value))
        if match is None:
            raise TransformError(f"{value!r} is not a number")
        number = float(match.group(1))
    if not np.isfinite(number):
        raise TransformError(f"{value!r} is not a finite number")
    return number


def _vector(values: list[Any], args: dict[str, Any], ctx: TransformContext) -> np.ndarray:
    return np.array([to_float(v) for v in values], dtype=np.float64)


def _number(values: list[Any], args: dict[str, Any], ctx: TransformContext) -> float:
    """A number; ``args.item``: the n-th of a list of numbers written as text ('40.0,511.0')."""
    value = values[0]
    if args.get("item") is not None:
        items = [part for part in _LIST_SEPARATOR.split(str(value).strip()) if part]
        if int(args["item"]) >= len(items):
            raise TransformError(f"{value!r} has no item {args['item']}")
        value = items[int(args["item"])]
    return to_float(value)


def _as_aware(moment: datetime, ctx: TransformContext) -> str:
    """ISO 8601 with zone; a naive time gets the assumed zone (noted once)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ctx.assumed_timezone)
        ctx.notes.append(f"time without a time zone; assumed {ctx.assumed_timezone_name}")
    return moment.isoformat()


def _epoch(values: list[Any], args: dict[str, Any], ctx: TransformContext) -> str:
    """Seconds since 1970 UTC; with ``{"local": true}`` the local wall-clock time
    encoded as if it were UTC (TIA's .ser 'Time'), which gets the assumed zone."""
    seconds = to_float(values[0])
    if seconds <= 0:
        raise TransformError(f"{values[0]!r} is not a valid time stamp")
    moment = datetime.fromtimestamp(seconds, tz=UTC)
    if args.get("local"):
        return _as_aware(moment.replace(tzinfo=None), ctx)
    return moment.isoformat()


def _filetime(values: list[Any], args: dict[str, Any], ctx: TransformContext) -> str:
    """Windows FILETIME: 100 ns ticks since 1601-01-01 UTC (DM's 'Acquisition Time (OS)')."""
    ticks = to_float(values[0])
    if ticks <= 0:
        raise TransformError(f"{values[0]!r} is not a valid time stamp")
    return (_FILETIME_EPOCH + timedelta(microseconds=ticks / 10)).isoformat()


def _oadate(values: list[Any], args: dict[str, Any], ctx: TransformContext) -> str:
    """OLE Automation date (Windows DATE, Excel serial date): days since
    1899-12-30, a local wall-clock time without zone, which gets the assumed zone."""
    days = to_float(values[0])
    if days <= 0:
        raise TransformError(f"{values[0]!r} is not a valid time stamp")
    return _as_aware(_OADATE_EPOCH + timedelta(days=days), ctx)


def _parse_datetime(text: str, dayfirst: bool) -> datetime:
    from dateutil import parser

    try:
        return parser.parse(text, dayfirst=dayfirst)
    except (ValueError, OverflowError) as exc:
        raise TransformError(f"{text!r} is not a date/time") from exc


def _datetime(values: list[Any], args: dict[str, Any], ctx: TransformContext) -> str:
    """One or more strings (e.g. date and time) read as one local date and time."""
    text = " ".join(str(v).strip() for v in values)
    return _as_aware(_parse_datetime(text, bool(args.get("dayfirst", False))), ctx)


def _lookup(values: list[Any], args: dict[str, Any], ctx: TransformContext) -> Any:
    table = args.get("table", {})
    key = str(values[0]).strip()
    if key not in table:
        raise TransformError(f"{values[0]!r} is not one of {sorted(table)}")
    return table[key]


def _text(values: list[Any], args: dict[str, Any], ctx: TransformContext) -> str:
    text = str(args.get("separator", " ")).join(str(v).strip() for v in values).strip()
    if not text:
        raise TransformError("empty text")
    return text


def _boolean(values: list[Any], args: dict[str, Any], ctx: TransformContext) -> bool:
    text = str(values[0]).strip().lower()
    if text in {"true", "1", "yes", "on"}:
        return True
    if text in {"false", "0", "no", "off"}:
        return False
    raise TransformError(f"{values[0]!r} is not a boolean")


TRANSFORMS: dict[str, Transform] = {
    "vector": _vector,
    "number": _number,
    "epoch_to_iso8601": _epoch,
    "filetime_to_iso8601": _filetime,
    "oadate_to_iso8601": _oadate,
    "datetime_to_iso8601": _datetime,
    "lookup": _lookup,
    "text": _text,
    "boolean": _boolean,
}
