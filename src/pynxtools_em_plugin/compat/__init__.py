"""Every use of a private name of an upstream library, one module per library.

``compat.rsciio`` (RosettaSciIO) and ``compat.pynxtools`` (pynxtools) are the
only modules that import underscore names, monkeypatch functions or rely on
undocumented behaviour of those libraries. Each states the version range it was
written and tested for (pyproject pins the same range), warns once when it runs
against another version, and lists its private names so that
tests/test_compat.py fails loudly, naming the name, when an upstream release
removes or changes one. Where a correction belongs upstream, the function's
docstring says which.
"""

from __future__ import annotations

import logging
from importlib.metadata import PackageNotFoundError, version

logger = logging.getLogger("pynxtools.em_plugin")


class UpstreamChanged(RuntimeError):
    """A private name or behaviour this package relies on is gone from the installed library."""


def installed_version(distribution: str) -> str:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "not installed"


def in_range(found: str, lowest: str, below: str) -> bool:
    """Whether version ``found`` is >= ``lowest`` and < ``below`` (release segments compared as numbers)."""

    def key(text: str) -> tuple[int, ...]:
        parts = []
        for part in text.split(".")[:3]:
            digits = "".join(ch for ch in part if ch.isdigit())
            if not digits:
                break
            parts.append(int(digits))
        return tuple(parts)

    return key(lowest) <= key(found) < key(below)
