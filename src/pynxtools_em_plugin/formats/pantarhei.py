"""CEOS Panta Rhei files (``.prz``): a NumPy ``.npz`` zip of the image and its metadata.

Parsing is RosettaSciIO's (``rsciio.pantarhei``), always with
``allow_restricted_pickle=False``: a ``.prz`` also holds ``meta_data.npy`` and
``data_model.npy``, pickled Python objects that must never be unpickled from a
file of unknown origin; the JSON members (``meta_data_json.npy``,
``data_model_json.npy``) carry the same information and are what RosettaSciIO
reads (NumPy with ``allow_pickle=False``). A file written before Panta Rhei 24.03
has no JSON members: its image converts without metadata, with a warning saying why
(RosettaSciIO's own advice to unpickle "trusted" files is not followed).

``Signal.metadata`` is RosettaSciIO's ``original_metadata``: the flat Panta Rhei
keys (``electron_gun.voltage`` in V, ``projector.camera_length`` in m,
``scan_driver.magnification``, ``scan_generator.dwell_time`` in s, optics modes,
the scan detector...), which the mapping table reads directly.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ..compat.rsciio import reader_logger
from ..model import Signal
from ._rsciio import call_reader, rsciio_log, signals_from_rsciio

NAME = "pantarhei"
TITLE = "CEOS Panta Rhei"
EXTENSIONS = (".prz",)

_ZIP = b"PK\x03\x04"
_MEMBERS = {"data.npy", "file_format_version.npy"}
_METADATA_MEMBERS = {"meta_data_json.npy", "meta_data.npy"}


def sniff(path: Path, head: bytes) -> bool:
    """A zip whose members are Panta Rhei's ``data.npy``, ``file_format_version.npy`` and metadata."""
    if not head.startswith(_ZIP) or b".npy" not in head[:128]:
        return False
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return False
    return names >= _MEMBERS and bool(_METADATA_MEMBERS & names)


def read(path: Path, companions: list[Path]) -> list[Signal]:
    from rsciio.pantarhei import file_reader

    with rsciio_log(reader_logger("pantarhei"), logging.WARNING) as records:
        dicts = call_reader(path, TITLE, file_reader, allow_restricted_pickle=False)
    signals = signals_from_rsciio(dicts, path, NAME)
    if any("allow_restricted_pickle" in record.getMessage() for record in records):
        signals[0].warnings.append(
            f"{path.name}: written before Panta Rhei 24.03, its metadata is only pickled, which is never unpickled "
            "from a file; the image is converted without metadata"
        )
    return signals
