"""Every use of a private name of an upstream library, one module per library.

``compat.rsciio`` (RosettaSciIO), ``compat.pynxtools`` (pynxtools), ``compat.kikuchipy``
(kikuchipy, EBSD patterns) and ``compat.dask`` (dask copying memory maps) are the only modules
that import underscore names, monkeypatch functions or rely on undocumented behaviour of those
libraries. Each states the version range it was
written and tested for (pyproject pins the same range), warns once when it runs
against another version, and lists its private names so that
tests/test_compat_rsciio.py, tests/test_compat_pynxtools.py, tests/test_lazy_memory.py and
tests/test_format_ebsd_patterns.py fail loudly, naming the name, when an upstream release
removes or changes one. Where a correction belongs upstream, the function's
docstring says which.
"""

from __future__ import annotations

import importlib
import logging
from importlib.metadata import PackageNotFoundError, version
from typing import Any

logger = logging.getLogger("pynxtools.em_plugin")


class UpstreamChanged(RuntimeError):
    """A private name or behaviour this package relies on is gone from the installed library."""


def installed_version(distribution: str, missing: str = "not installed") -> str:
    """The installed version of ``distribution``, or ``missing``."""
    try:
        return version(distribution)
    except PackageNotFoundError:
        return missing


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


class PrivateNames:
    """The private names used from one upstream library: their registry, their look-up, and one
    warning when the installed release is outside the range they were tested with."""

    def __init__(self, distribution: str, title: str, lowest: str, below: str):
        self.distribution, self.title, self.lowest, self.below = distribution, title, lowest, below
        self.registered: list[tuple[str, str]] = []
        self._warned = False

    def uses(self, module: str, name: str) -> None:
        """Register ``module.name`` (tests resolve every registered name)."""
        self.registered.append((module, name))

    def version_supported(self) -> bool:
        return in_range(installed_version(self.distribution), self.lowest, self.below)

    def get(self, module: str, name: str) -> Any:
        """``module.name``; :class:`UpstreamChanged`, naming it, if this release no longer has it."""
        self._warn_if_untested()
        try:
            return getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as exc:
            raise UpstreamChanged(
                f"{self.title} {installed_version(self.distribution)} has no {module}.{name}, which "
                f"pynxtools-em-plugin uses (written for {self.lowest}.x); "
                f"install {self.distribution}>={self.lowest},<{self.below}"
            ) from exc

    def _warn_if_untested(self) -> None:
        if not self._warned and not self.version_supported():
            self._warned = True
            logger.warning(
                "%s %s is outside the tested range >=%s,<%s; private names may behave differently",
                self.title,
                installed_version(self.distribution),
                self.lowest,
                self.below,
            )
