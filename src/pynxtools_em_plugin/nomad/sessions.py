"""Which uploaded files form a microscope session, made into one extra NOMAD entry.

A *session* in an upload is one folder (of the upload, or of a zip/tar NOMAD
unpacked) holding at least two EM acquisitions this plugin claims (companions
and ELN YAML files do not count), at most :data:`MAX_SESSION_FILES`. Its entry is
built like ``em-plugin session``: every acquisition of the folder (with its
companions and the folder's ``eln.yaml``) converted into one NXem session record,
events in time order, grouped into activities, labelled, with previews.

The session entry is a child entry (key :data:`SESSION_KEY`) of the folder's first
acquisition by name (the *owner*), so it is made once per folder. Every entry of the
folder, the session entry included, carries the session's name (the folder's path in
the upload) in ``data.em_summary.session``: one search for it lists the session and
its files.

The folder's ``eln.yaml`` may decide: ``session: false`` (no session entry, whatever
the folder holds), ``session: true`` (the default), ``session: {name: ...}`` (the
session's name instead of the folder's path). An ``eln.yaml`` this package cannot
read leaves the default.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from ..eln import eln_session_name, load_eln, session_choice
from ..errors import ConversionError
from .matching import FOLDER_ELN_NAMES, claims

#: Mainfile key of the session entry (a child entry of the owner's).
SESSION_KEY = "session"
#: A bigger folder is no session (one record of thousands of acquisitions helps nobody and costs long).
MAX_SESSION_FILES = 200


def session_members(path: Path) -> list[Path]:
    """The acquisitions of the session ``path`` belongs to, by name; empty when its folder is no session."""
    folder = Path(path).parent
    try:
        stamp = folder.stat().st_mtime_ns
    except OSError:
        return []
    members = _members(str(folder), stamp, _eln_stamp(folder))
    return list(members) if Path(path) in members else []


def folder_choice(folder: Path) -> bool | str | None:
    """The ``session`` of the folder's ``eln.yaml`` (see the module docstring); None without a readable one."""
    return session_choice(_folder_eln_content(folder))


def _folder_eln_content(folder: Path) -> dict:
    """The folder's ``eln.yaml``; empty when there is none or this package cannot read it."""
    try:
        return load_eln(_folder_eln(folder))
    except ConversionError:
        return {}


def _folder_eln(folder: Path) -> list[Path]:
    return [folder / name for name in FOLDER_ELN_NAMES if (folder / name).is_file()]


def _eln_stamp(folder: Path) -> tuple[int, ...]:
    """Modification times of the folder's ELN YAML: editing it changes the session (not the folder's time)."""
    return tuple(path.stat().st_mtime_ns for path in _folder_eln(folder))


@lru_cache(maxsize=256)
def _members(folder: str, mtime_ns: int, eln_stamp: tuple[int, ...]) -> tuple[Path, ...]:
    if folder_choice(Path(folder)) is False:
        return ()
    try:
        with os.scandir(folder) as entries:
            names = sorted(e.name for e in entries if e.is_file() and e.name.lower() not in FOLDER_ELN_NAMES)
    except OSError:
        return ()
    if len(names) < 2:
        return ()
    members: list[Path] = []
    for name in names:
        if claims(Path(folder) / name):
            members.append(Path(folder) / name)
            if len(members) > MAX_SESSION_FILES:
                return ()
    return tuple(members) if len(members) >= 2 else ()


def owns_session(path: Path) -> bool:
    """Whether ``path`` is the acquisition whose child entry is its folder's session entry."""
    members = session_members(path)
    return bool(members) and members[0] == Path(path)


def session_name(mainfile: str | None, path: Path) -> str:
    """The session's name: the folder's ``eln.yaml`` ``session: {name: ...}``, else its folder's path in
    the upload (``.`` for the upload's top folder)."""
    folder = Path(path).parent
    in_upload = (os.path.dirname(mainfile) or ".") if mainfile and not os.path.isabs(mainfile) else folder.name
    return eln_session_name(_folder_eln_content(folder), default=in_upload)
