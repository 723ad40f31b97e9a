"""Vendor text made safe to store and to print.

Vendor strings may hold anything: control characters, NUL bytes, text decoded
from invalid UTF-8 with ``surrogateescape``. HDF5 cannot store a NUL inside a
string (pynxtools then writes an empty value) nor a lone surrogate (not UTF-8),
so :func:`storable` replaces those by U+FFFD in the template; the complete
vendor tree keeps every character, escaped, in the ``original_metadata`` JSON.
Messages printed to a terminal get control characters escaped by
:func:`printable`, so that a vendor string cannot move the cursor or recolour
the console of a facility pipeline.
"""

from __future__ import annotations

import re
from typing import Any

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def storable(value: Any) -> Any:
    """``value`` with every text in it storable in HDF5 (the same object if nothing changes)."""
    if isinstance(value, str):
        return _UNSTORABLE.sub("\ufffd", value) if _UNSTORABLE.search(value) else value
    if isinstance(value, (list, tuple)) and any(isinstance(item, str) for item in value):
        cleaned = [storable(item) for item in value]
        if any(new is not old for new, old in zip(cleaned, value, strict=True)):
            return type(value)(cleaned)
    return value


def printable(text: str) -> str:
    """``text`` with control characters (but not tab and newline) shown as escapes, e.g. ``\\x1b``."""
    return _CONTROL.sub(lambda match: match.group().encode("unicode_escape", "backslashreplace").decode(), text)
