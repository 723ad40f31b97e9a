"""Hamamatsu HPD-TA streak-camera images (``.img``): intensity over time x wavelength.

Parsing is RosettaSciIO's (``rsciio.hamamatsu``): the ``IM`` binary header, the
INI-like comment (``[Application]``, ``[Acquisition]``, ``[Streak camera]``,
``[Spectrograph]``, ``[Scaling]``...) and the pixels. The time (rows) and
wavelength (columns) axes are the calibration tables HPD-TA stores after the
image (``ScalingYScalingFile``/``ScalingXScalingFile``), which RosettaSciIO
returns as explicit axes; they are stored as they are (time converted to s). A
wavelength table stored descending is reversed by RosettaSciIO together with the
image columns, so the axis ascends.

``Signal.metadata`` is RosettaSciIO's ``original_metadata`` (the comment as
sections of text values). ``Signal.derived`` holds the settings as RosettaSciIO
normalises them (``streak/acquisition_mode``: ``analog_integration``,
``photon_counting``...; ``streak/time_range_s``; ``streak/mcp_gain``;
``detector/frames``; ``detector/integration_time_s``, exposure x frames;
``spectrometer/central_wavelength_nm``, ``spectrometer/groove_density``,
lines/mm) and the acquisition start (``start``: the comment's date as
RosettaSciIO reads its two date styles, with the comment's time to the
millisecond; local time without zone). RosettaSciIO's note that LumiSpy is not
installed is dropped: the signal type is set here (``LumiTransientSpectrum``, as
RosettaSciIO gives it when LumiSpy is present).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from ..compat.rsciio import reader_logger
from ..model import Signal
from ..parsing import parse_number
from ..units import convert_values, parse_unit
from ._rsciio import call_reader, normalised_metadata, rsciio_log, signals_from_rsciio, vendor_tree

NAME = "hamamatsu"
TITLE = "Hamamatsu HPD-TA streak camera"
EXTENSIONS = (".img",)

_COMMENT_OFFSET = 64
_LUMISPY_NOTE = "lumispy"
SIGNAL_TYPE = "LumiTransientSpectrum"


def sniff(path: Path, head: bytes) -> bool:
    """``IM`` then, at byte 64, the comment's first section ``[Application]``."""
    return head.startswith(b"IM") and head[_COMMENT_OFFSET:].startswith(b"[Application]")


def read(path: Path, companions: list[Path]) -> list[Signal]:
    from rsciio.hamamatsu import file_reader

    with rsciio_log(reader_logger("hamamatsu"), logging.WARNING) as records:
        dicts = call_reader(path, TITLE, file_reader)
    notes = [f"{path.name}: {r.getMessage()}" for r in records if _LUMISPY_NOTE not in r.getMessage().lower()]
    signals = signals_from_rsciio(dicts, path, NAME, derive=_derived)
    for signal in signals:
        signal.signal_type = signal.signal_type or SIGNAL_TYPE
    signals[0].warnings.extend(notes)
    return signals


def _derived(entry: dict[str, Any]) -> dict[str, Any]:
    instrument = normalised_metadata(entry).get("Acquisition_instrument", {})
    detector, spectrometer = instrument.get("Detector", {}), instrument.get("Spectrometer", {})
    derived: dict[str, Any] = {
        "streak": _dropped_none(
            acquisition_mode=detector.get("acquisition_mode"),
            mcp_gain=detector.get("mcp_gain"),
            time_range_s=_seconds(detector.get("time_range"), detector.get("time_range_units")),
        ),
        "detector": _dropped_none(frames=detector.get("frames"), integration_time_s=detector.get("integration_time")),
        "spectrometer": _dropped_none(
            model=spectrometer.get("model"),
            central_wavelength_nm=spectrometer.get("central_wavelength"),
            groove_density=spectrometer.get("Grating", {}).get("groove_density"),
        ),
    }
    start = _start(entry)
    if start:
        derived["start"] = start
    return derived


def _dropped_none(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def _seconds(value: Any, units: Any) -> float | None:
    number = parse_number(value)
    if number is None or not units or parse_unit(str(units)) is None:
        return None
    return float(convert_values(number, str(units), "s"))


def _start(entry: dict[str, Any]) -> str | None:
    """RosettaSciIO's ISO date with the comment's own time (it drops the milliseconds)."""
    date = normalised_metadata(entry).get("General", {}).get("date")
    time = vendor_tree(entry).get("Comment", {}).get("Application", {}).get("Time")
    return f"{date}T{time}" if date and time else None
