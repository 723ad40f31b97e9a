"""Lossless JSON of vendor metadata trees.

Vendor trees hold numpy scalars and arrays, tuples, bytes and strings with
control characters. JSON keeps all of them: numbers as numbers, arrays as
lists, text as escaped Unicode, and bytes that are not UTF-8 as base64 under
``{"__bytes_base64__": ...}`` so that nothing the vendor wrote is lost.
"""

from __future__ import annotations

import base64
import json
import math
from typing import Any

import numpy as np


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "biu" or (value.dtype.kind == "f" and np.isfinite(value).all()):
            return value.tolist()  # already plain: no walk over every element (large vendor tables)
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        return _plain(value.item())
    if isinstance(value, (bytes, bytearray)):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return {"__bytes_base64__": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, float) and not math.isfinite(value):
        return {"__float__": repr(value)}
    if isinstance(value, complex):
        return {"__complex__": [value.real, value.imag]}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def to_json(tree: Any) -> str:
    """The tree as a JSON string (ASCII-safe, keys in vendor order)."""
    return json.dumps(_plain(tree), ensure_ascii=True, allow_nan=False)
