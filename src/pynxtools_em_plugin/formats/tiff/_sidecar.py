"""TESCAN ``.hdr`` and Hitachi ``.txt`` sidecars: recognised by their first section, found by name."""

from __future__ import annotations

from pathlib import Path

from ...parsing import read_head

#: First section of a sidecar -> vendor.
_SIDECAR_SECTIONS = {"[MAIN]": "TESCAN", "[SemImageFile]": "Hitachi", "[TemImageFile]": "Hitachi"}


def sidecar_kind(head: bytes) -> str | None:
    """'TESCAN' or 'Hitachi' if ``head`` starts like their metadata sidecar."""
    text = head.decode("latin-1").replace("\xef\xbb\xbf", "")
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";")):
            kind = _SIDECAR_SECTIONS.get(line)
            return kind if kind and "=" in text else None
    return None


def sidecar_vendor(path: Path | None) -> str | None:
    """The vendor of the sidecar file ``path`` (None for no file or no sidecar)."""
    return sidecar_kind(read_head(path)) if path else None


def sidecar_names(path: Path) -> set[str]:
    """Lower-case names a sidecar of the image ``path`` may have."""
    stem, ext = path.stem.lower(), path.suffix.lower().lstrip(".")
    return {f"{stem}.txt", f"{stem}.hdr", f"{stem}-{ext}.hdr"}


def is_sidecar(path: Path) -> bool:
    return path.is_file() and sidecar_vendor(path) is not None


def sibling_sidecar(path: Path) -> Path | None:
    """A sidecar lying next to the image although only the image was given."""
    names = sidecar_names(path)
    try:
        siblings = sorted(p for p in path.parent.iterdir() if p.name.lower() in names)
    except OSError:
        return None
    return next((p for p in siblings if is_sidecar(p)), None)
