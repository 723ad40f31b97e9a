"""Unit tests of the format-independent signal handling: axis kinds, colour images,
degenerate calibrations, units of the values, the format listing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from pynxtools_em_plugin.cli import main
from pynxtools_em_plugin.formats import FORMAT_MODULES, all_formats
from pynxtools_em_plugin.formats._rsciio import signal_from_rsciio
from pynxtools_em_plugin.model import AxisKind
from pynxtools_em_plugin.nexus.nxdata import layout_for
from pynxtools_em_plugin.nexus.record import Event
from pynxtools_em_plugin.nexus.template import TemplateBuilder
from pynxtools_em_plugin.units import classify_units


@pytest.mark.parametrize(
    ("units", "kind"),
    [
        ("mrad", AxisKind.ANGLE),
        ("degree", AxisKind.ANGLE),
        ("nm^-1", AxisKind.RECIPROCAL),
        ("keV", AxisKind.ENERGY),
        ("ms", AxisKind.TIME),
        ("µm", AxisKind.SPACE),
        ("", AxisKind.INDEX),
        ("points", AxisKind.INDEX),
    ],
)
def test_axis_kinds_from_units(units, kind):
    assert classify_units(units) is kind


def rsciio_dict(data, *axes):
    return {"data": data, "axes": list(axes), "metadata": {"General": {"title": "t"}}, "original_metadata": {"k": 1}}


def test_angle_axis_is_kept_in_mrad():
    entry = rsciio_dict(np.zeros(3), {"name": "angle", "size": 3, "scale": 0.5, "offset": 0.0, "units": "degree"})
    axis = signal_from_rsciio(entry, Path("f.x"), "test", "signal 0").axes[0]
    assert axis.kind is AxisKind.ANGLE and axis.units == "mrad"
    np.testing.assert_allclose(axis.values, np.deg2rad([0.0, 0.5, 1.0]) * 1000)


def test_rgb_image_gets_a_leading_channel_axis():
    rgb = np.zeros((2, 3), dtype=[("R", "u1"), ("G", "u1"), ("B", "u1")])
    rgb["G"] = 7
    entry = rsciio_dict(rgb, {"size": 2, "units": "µm"}, {"size": 3, "units": "µm"})
    signal = signal_from_rsciio(entry, Path("f.x"), "test", "signal 0")
    assert signal.shape == (3, 2, 3)
    assert signal.axes[0].kind is AxisKind.INDEX and "R, G, B" in signal.axes[0].name
    assert np.all(signal.data[1] == 7) and np.all(signal.data[0] == 0)


def test_zero_scale_axis_becomes_index_with_a_warning():
    entry = rsciio_dict(
        np.zeros((4, 2)),
        {"name": "time", "size": 4, "scale": 0.0, "offset": 7.0, "units": "s"},
        {"size": 2, "scale": 1.0, "units": "nm"},
    )
    signal = signal_from_rsciio(entry, Path("series.x"), "test", "signal 0")
    assert signal.axes[0].kind is AxisKind.INDEX
    np.testing.assert_array_equal(signal.axes[0].values, [0, 1, 2, 3])
    assert len(signal.warnings) == 1 and "series.x" in signal.warnings[0] and "'time'" in signal.warnings[0]


def test_a_log_keeps_the_units_of_its_values_in_the_sensor_nxlog():
    entry = rsciio_dict(np.arange(5.0), {"name": "Time", "size": 5, "scale": 0.25, "units": "s"})
    signal = signal_from_rsciio(entry, Path("log.csv"), "test", "signal 0")
    signal.units = "degC"
    template: dict = {}
    TemplateBuilder(template).add_event(Event(1, signal, [], layout_for(signal)[0]))
    log = "/ENTRY[entry1]/measurement/eventID[event1]/instrument/sensorID[sensor]/value_log"
    assert template[f"{log}/value/@units"] == "degC"
    np.testing.assert_array_equal(template[f"{log}/value"], np.arange(5.0))
    assert template[f"{log}/time/@units"] == "s"
    np.testing.assert_allclose(template[f"{log}/time"], [0, 0.25, 0.5, 0.75, 1.0])
    assert not [k for k in template if k.endswith("/real/@units")]  # NXdata image fields stay unitless


def test_format_listing_names_every_registered_format():
    result = CliRunner().invoke(main, ["formats"])
    assert result.exit_code == 0
    lines = result.output.splitlines()[1:]
    assert [line.split()[0] for line in lines] == list(FORMAT_MODULES)
    for fmt, line in zip(all_formats(), lines, strict=True):
        assert fmt.TITLE in line and all(ext in line for ext in fmt.EXTENSIONS)


CL_MSA_WAVELENGTH_THROUGH_ZERO = """#FORMAT      : EMSA/MAS Spectral Data File
#VERSION     : 1.0
#TITLE       : CL spectrum
#DATE        : 01-JAN-2020
#TIME        : 10:00
#NPOINTS     : 5
#NCOLUMNS    : 1
#XUNITS      : nm
#YUNITS      : counts
#DATATYPE    : Y
#XPERCHAN    : 100.0
#OFFSET      : -200.0
#XLABEL      : Wavelength
#SPECTRUM    : Spectral Data Starts Here
1, 2, 3, 4, 5
#ENDOFDATA   :
"""


def test_the_layout_warning_of_a_wavelength_axis_through_zero_reaches_the_user(tmp_path, convert):
    """A wavelength axis with non-positive values cannot become photon energy: the signal is written
    as an image, and the user is told (the warning is decided before writing, not lost in it)."""
    source = tmp_path / "cl.msa"
    source.write_text(CL_MSA_WAVELENGTH_THROUGH_ZERO)
    result = convert(source)
    expected = "cl.msa: wavelength axis 'Wavelength' has non-positive values; written as an image"
    assert any(expected in message for message in result.conversion_warnings), result.conversion_warnings
    with result.h5() as h5:
        assert "image_1d" in h5["entry1/measurement/event1/image1"]
