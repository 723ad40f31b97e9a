"""RosettaSciIO private names and behaviours this package relies on (written for 0.15.x).

Public RosettaSciIO API (``rsciio.<format>.file_reader``, ``rsciio.utils...`` that
carry no underscore) is used directly by the format modules; everything below
reaches into ``rsciio.<format>._api`` modules or patches their functions.
Each name is listed in :data:`PRIVATE_NAMES`; tests/test_compat.py imports every
one of them and checks the behaviours the format modules rely on.
"""

from __future__ import annotations

import importlib
from typing import Any

from . import UpstreamChanged, in_range, installed_version, logger

DISTRIBUTION = "rosettasciio"
#: The versions this module was written and tested for: >= LOWEST, < BELOW (pyproject pins the same).
LOWEST, BELOW = "0.15", "0.16"

#: (module, name) of every private RosettaSciIO name used (tests/test_compat.py resolves each).
PRIVATE_NAMES: list[tuple[str, str]] = []

_warned = False


def version_supported() -> bool:
    return in_range(installed_version(DISTRIBUTION), LOWEST, BELOW)


def private(module: str, name: str) -> Any:
    """``module.name`` from RosettaSciIO; a clear error if this release no longer has it."""
    _warn_if_untested()
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise UpstreamChanged(
            f"RosettaSciIO {installed_version(DISTRIBUTION)} has no {module}.{name}, which pynxtools-em-plugin "
            f"uses (written for {LOWEST}.x); install rosettasciio>={LOWEST},<{BELOW}"
        ) from exc


def _warn_if_untested() -> None:
    global _warned
    if not _warned and not version_supported():
        _warned = True
        logger.warning(
            "RosettaSciIO %s is outside the tested range >=%s,<%s; private names may behave differently",
            installed_version(DISTRIBUTION),
            LOWEST,
            BELOW,
        )


def _uses(module: str, name: str) -> None:
    PRIVATE_NAMES.append((module, name))


# ---- names used by the format modules, one section per module ---------------------------------


# ---- tiff
_uses("rsciio.digitalmicrograph._api", "DigitalMicrographReader")


def dm_tag_group(blob: bytes) -> dict[str, Any]:
    """The DigitalMicrograph tag group a DM-exported TIFF keeps in tag 65027, as nested dicts.

    Decoded with RosettaSciIO's DM reader (its private ``DigitalMicrographReader``: the public
    reader only opens whole .dm3/.dm4 files); the group has a DM file's layout (version, sizes,
    root tag directory). An empty ``root`` entry is dropped. Raises whatever the reader raises on
    damaged bytes. Upstream: a public function decoding a DM tag group from bytes.
    """
    import io

    reader = private("rsciio.digitalmicrograph._api", "DigitalMicrographReader")(io.BytesIO(blob))
    reader.parse_file()
    tags = dict(reader.tags_dict or {})
    if not tags.get("root"):
        tags.pop("root", None)
    return tags
