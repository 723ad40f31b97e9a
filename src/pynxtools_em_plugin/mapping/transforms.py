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

from ..parsing import parse_number

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


def to_float(value: Any, *, decimal_comma: bool = False, suffix: bool = True) -> float:
    """A number from a vendor value (:func:`~pynxtools_em_plugin.parsing.parse_number`).

    The default policy reads a number that the text starts with, followed by nothing or a
    unit/suffix ('22500 X', '15 kV'); a rule may ask for a decimal comma or for the whole text
    to be the number (``args``: ``decimal_comma``, ``suffix``). Text that merely contains a
    number ('Sun Feb 21 2016', '1.#QNAN', '12x0.0') is not one: it is reported, never read as
    21, 1 or 12.
    """
    if isinstance(value, (bool, np.bool_)):
        raise TransformError(f"{value!r} is not a number")
    text_or_number = value if isinstance(value, (int, float, np.integer, np.floating)) else str(value)
    number = parse_number(text_or_number, decimal_comma=decimal_comma, suffix=suffix, finite=False)
    if number is None:
        raise TransformError(f"{value!r} is not a number")
    if not np.isfinite(number):
        raise TransformError(f"{value!r} is not a finite number")
    return number


def number_policy(args: dict[str, Any]) -> dict[str, bool]:
    """The number-reading policy a rule's ``args`` state (``decimal_comma``, ``suffix``), for :func:`to_float`."""
    return {name: bool(args[name]) for name in _NUMBER_POLICY if name in args}


def _vector(values: list[Any], args: dict[str, Any], ctx: TransformContext) -> np.ndarray:
    policy = number_policy(args)
    return np.array([to_float(v, **policy) for v in values], dtype=np.float64)


def _number(values: list[Any], args: dict[str, Any], ctx: TransformContext) -> float:
    """A number; ``args.item``: the n-th of a list of numbers written as text ('40.0,511.0');
    ``args.decimal_comma`` / ``args.suffix``: the number policy (:func:`to_float`)."""
    value = values[0]
    if args.get("item") is not None:
        items = [part for part in _LIST_SEPARATOR.split(str(value).strip()) if part]
        if int(args["item"]) >= len(items):
            raise TransformError(f"{value!r} has no item {args['item']}")
        value = items[int(args["item"])]
    return to_float(value, **number_policy(args))


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


#: The policy arguments of the number-reading transforms (see :func:`to_float`).
_NUMBER_POLICY = {"decimal_comma": bool, "suffix": bool}

#: The arguments each transform accepts, with their JSON types.
TRANSFORM_ARGS: dict[str, dict[str, type]] = {
    "vector": dict(_NUMBER_POLICY),
    "number": {"item": int, **_NUMBER_POLICY},
    "epoch_to_iso8601": {"local": bool},
    "filetime_to_iso8601": {},
    "oadate_to_iso8601": {},
    "datetime_to_iso8601": {"dayfirst": bool},
    "lookup": {"table": dict},
    "text": {"separator": str},
    "boolean": {},
}


def args_problem(transform: str, args: dict[str, Any]) -> str | None:
    """What is wrong with the ``args`` of a rule using ``transform`` (unknown name, wrong type), or None."""
    accepted = TRANSFORM_ARGS[transform]
    for name, value in args.items():
        if name not in accepted:
            known = ", ".join(sorted(accepted)) or "none"
            return f"transform '{transform}' has no argument '{name}' (known: {known})"
        expected = accepted[name]
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            return f"argument '{name}' of transform '{transform}' must be a JSON {_JSON_TYPES[expected]}"
    return None


_JSON_TYPES = {bool: "boolean", int: "integer", dict: "object", str: "string"}
