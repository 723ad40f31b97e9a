"""Default views without files: which previews a signal gets and how a viewer is told to draw them."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from pynxtools_em_plugin.model import Axis, AxisKind, Signal
from pynxtools_em_plugin.nexus.nxdata import layout_for
from pynxtools_em_plugin.nexus.preview import previews_of
from pynxtools_em_plugin.nexus.views import collected_view_hints, note_view, write_view_hints


def axis(name: str, n: int, units: str, kind: AxisKind, step: float = 1.0) -> Axis:
    return Axis(name, np.arange(n) * step, units, kind)


def signal(data: np.ndarray, *axes: Axis, quantity: str = "Intensity (counts)") -> Signal:
    return Signal("test", data, list(axes), Path("test.dm4"), "gatan", quantity=quantity)


X, Y = axis("x", 6, "nm", AxisKind.SPACE, 2.0), axis("y", 4, "nm", AxisKind.SPACE, 2.0)
ENERGY = axis("energy", 50, "eV", AxisKind.ENERGY, 10.0)


def views(s: Signal) -> list[tuple[str, tuple[int, ...]]]:
    """(interpretation, shape) of every preview, the default first."""
    return [(layout_for(p)[0].interpretation, p.shape) for p in previews_of(s)]


def test_spectrum_image_gives_the_sum_spectrum_then_the_map():
    cube = np.random.default_rng(0).poisson(3.0, (4, 6, 50)).astype(np.uint16)
    si = signal(cube, Y, X, ENERGY)
    spectrum, counts_map = previews_of(si)
    np.testing.assert_array_equal(spectrum.data, cube.sum(axis=(0, 1)))
    np.testing.assert_array_equal(counts_map.data, cube.sum(axis=2))
    assert [a.units for a in spectrum.axes] == ["eV"] and [a.units for a in counts_map.axes] == ["nm", "nm"]
    assert views(si) == [("spectrum", (50,)), ("image", (4, 6))]
    assert layout_for(si)[0].interpretation == "spectrum"  # the full cube: spectra, the scan as sliders


def test_diffraction_previews_on_a_log_scale_and_4d_stem_previews_the_virtual_image():
    k = [axis(n, 8, "1/nm", AxisKind.RECIPROCAL, 0.1) for n in ("ky", "kx")]
    counts = np.full((8, 8), 9.0)
    counts[4, 4] = 999.0  # the central beam
    pattern = signal(counts, *k)
    assert views(pattern) == [("image", (8, 8))]
    (preview,) = previews_of(pattern)
    assert preview.data[4, 4] == pytest.approx(np.log10(991.0)) and preview.data[0, 0] == 0.0
    assert preview.quantity == "log10(1 + Intensity (counts) above its minimum)" and "log scale" in preview.title
    frames = np.arange(2 * 3 * 8 * 8, dtype=float).reshape(2, 3, 8, 8)
    four_d = signal(frames, axis("y", 2, "nm", AxisKind.SPACE), axis("x", 3, "nm", AxisKind.SPACE), *k)
    assert views(four_d) == [("image", (2, 3))]
    np.testing.assert_allclose(previews_of(four_d)[0].data, frames.sum(axis=(2, 3)))  # linear: a real-space image


def test_stack_previews_the_mean_frame_and_a_log_is_a_line_over_time():
    stack = signal(np.arange(3 * 4 * 6, dtype=float).reshape(3, 4, 6), axis("frame", 3, "", AxisKind.INDEX), Y, X)
    assert layout_for(stack)[0].nxdata_name == "stack_2d" and layout_for(stack)[0].interpretation == "image"
    (mean,) = previews_of(stack)
    np.testing.assert_allclose(mean.data, stack.data.mean(axis=0))
    log = signal(np.linspace(20, 300, 10), axis("time", 10, "s", AxisKind.TIME), quantity="Temperature")
    assert views(log) == [("spectrum", (10,))]


def test_complex_fft_previews_its_amplitude():
    uv = [axis(n, 2, "1/nm", AxisKind.RECIPROCAL) for n in ("v", "u")]
    fft = signal(np.array([[3 + 4j, 1j], [-2, 0]], dtype=np.complex64), *uv)
    (amplitude,) = previews_of(fft)
    np.testing.assert_allclose(amplitude.data, np.log10(1 + np.array([[5, 1], [2, 0]])))  # reciprocal axes: log
    assert amplitude.quantity == "log10(1 + amplitude of Intensity (counts) above its minimum)"
    assert not amplitude.is_complex


@pytest.mark.parametrize("channels", [3, 4])
def test_colour_image_previews_rgb_channels_last(channels):
    pixels = np.random.default_rng(1).integers(0, 256, (channels, 4, 6), dtype=np.uint8)
    colour = signal(
        pixels, axis(f"colour channel ({', '.join('RGBA'[:channels])})", channels, "", AxisKind.INDEX), Y, X
    )
    assert views(colour) == [("rgb-image", (4, 6, 3))]
    (preview,) = previews_of(colour)
    assert preview.data.dtype == np.uint8
    np.testing.assert_array_equal(preview.data, np.moveaxis(pixels[:3], 0, -1))


def test_hints_are_collected_only_within_a_conversion_and_land_on_the_written_file(tmp_path):
    note_view("/ENTRY[entry1]/x", {"interpretation": "image"})  # outside a conversion: dropped
    path = tmp_path / "f.nxs"
    with h5py.File(path, "w") as h5:
        h5.create_dataset("entry1/measurement/event1/image1/image_2d/real", data=np.zeros((2, 2)))
    with collected_view_hints() as hints:
        note_view(
            "/ENTRY[entry1]/measurement/eventID[event1]/imageID[image1]/image_2d/real", {"interpretation": "image"}
        )
        note_view("/ENTRY[entry1]/measurement/eventID[event1]/imageID[missing]/x", {"interpretation": "image"})
    assert len(hints) == 2
    write_view_hints(path, hints)
    with h5py.File(path, "r") as h5:
        assert h5["entry1/measurement/event1/image1/image_2d/real"].attrs["interpretation"] == "image"
        assert "missing" not in h5["entry1/measurement/event1"]
