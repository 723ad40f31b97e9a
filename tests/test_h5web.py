"""What a person sees: converted shared files opened in H5Web, the viewer NOMAD embeds.

``tests/h5web/setup.sh`` (run by ``.ci/run``) bundles H5Web with h5wasm from the npm
registry and installs headless Chromium (Debian) and playwright (PyPI, driving that
Chromium: no browser download). Each converted file is served from 127.0.0.1 and opened
at its root, as NOMAD does; the test reads from the rendered page which visualisation
H5Web chose, the axis labels with units, and that no error shows. One
screenshot per signal kind goes to ``$EM_PLUGIN_SCREENSHOTS`` (default
``tests/h5web/screenshots``) for a human look. Skips where the harness is not built.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import EM_DATA, FORMAT_TESTS, REPO, one_file_per_format, resolve_default
from pynxtools_em_plugin.batch import plan
from pynxtools_em_plugin.conversion import ConversionSettings, convert

HARNESS = REPO / "tests" / "h5web"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS = Path(os.environ.get("EM_PLUGIN_SCREENSHOTS", HARNESS / "screenshots"))
#: What H5Web's tab says for each @interpretation we write.
VISUALISATION = {"image": "NX Heatmap", "spectrum": "NX Line", "rgb-image": "NX RGB"}
#: Files chosen for the kind of signal they hold, besides one file of every format.
KINDS = {
    "diffraction": "gatan/2D/test_diffraction_pattern.dm3",
    "complex FFT": "gatan/2D/test_fft_packed_complex8.dm4",
    "EDS spectrum image": "velox/Test SI 16x16 215 kx.emd",
    "EELS spectrum image": "gatan/3D/EELS_SI.dm4",
    "image stack": "velox/fei_example_tem_stack.emd",
    "4D-STEM": "quantumdetector/001_4x2_6bit.mib",
    "in-situ log": "protochips/protochips_gas_cell.csv",
    "spectrum": "gatan/1D/test-EELS_spectrum.dm3",
}
pytestmark = pytest.mark.skipif(
    not (HARNESS / "dist" / "main.js").exists() or CHROMIUM is None,
    reason="H5Web harness not built (bash tests/h5web/setup.sh) or no chromium",
)


def companions_of(relative: str, output: Path) -> list[Path]:
    (job,) = [job for job in plan([EM_DATA / relative], output).jobs]
    return job.inputs


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The harness and the converted files on a local HTTP server: (base URL, {case: file name})."""
    if not EM_DATA.is_dir():
        pytest.skip(f"real data not available: {EM_DATA}")
    root = tmp_path_factory.mktemp("h5web")
    shutil.copytree(HARNESS / "dist", root / "dist")
    shutil.copy(HARNESS / "index.html", root)
    cases = {f"format {name}": inputs for name, inputs in one_file_per_format(root).items()}
    cases |= {kind: companions_of(relative, root) for kind, relative in KINDS.items() if (EM_DATA / relative).exists()}
    files, converted = {}, {}
    for index, (case, inputs) in enumerate(cases.items()):
        if tuple(inputs) not in converted:  # a kind's file may be its format's file too
            outcome = convert(inputs, root / f"case{index}.nxs", ConversionSettings(overwrite=True))
            assert outcome.status == "converted", outcome.message
            converted[tuple(inputs)] = outcome.output.name
        files[case] = converted[tuple(inputs)]
    quiet = type("Quiet", (http.server.SimpleHTTPRequestHandler,), {"log_message": lambda *args: None})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", files, root
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


class Seen:
    """What the page shows once H5Web has drawn the file's default plot."""

    def __init__(self, browser, url: str, screenshot: Path | None = None):
        page = browser.new_page(viewport={"width": 1000, "height": 700})
        self.problems: list[str] = []
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("console", lambda m: self.problems.append(f"console: {m.text}") if m.type == "error" else None)
        page.goto(url)
        page.wait_for_selector(".visx-axis-label", timeout=30_000)
        page.wait_for_timeout(300)  # the canvas drawn after the axes
        self.visualisation = page.locator("[role=tab][aria-selected=true]", has_text="NX").inner_text().strip()
        self.axis_labels = [" ".join(t.split()) for t in page.locator(".visx-axis-label").all_text_contents()]
        self.text = page.locator("body").inner_text()
        self.errors = [t for t in page.locator("[class*=_error], [role=alert]").all_inner_texts() if t.strip()]
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot))
        page.close()


def slug(case: str) -> str:
    return case.lower().replace(" ", "-")


def expected_view(path: Path) -> dict:
    """What the default plot should look like, from the file: visualisation and axis labels."""
    with h5py.File(path, "r") as h5:
        nxdata = resolve_default(h5)
        signal = nxdata[nxdata.attrs["signal"]]
        # without the hint (a writer that does not add it) H5Web chooses by rank: lines for 1D, else a heatmap
        interpretation = signal.attrs.get("interpretation", "spectrum" if signal.ndim == 1 else "image")
        axes = list(nxdata.attrs["axes"])
        shown = axes[-1:] if interpretation == "spectrum" else axes[:2] if interpretation == "rgb-image" else axes[-2:]
        labels = [nxdata[name].attrs["long_name"] for name in shown if "units" in nxdata[name].attrs]
        units = {nxdata[name].attrs["units"] for name in shown if "units" in nxdata[name].attrs}
        return {
            "visualisation": VISUALISATION[interpretation],
            "labels": labels,
            "units": units,
            "path": nxdata.name,
        }


CASES = [f"format {name}" for name, (folder, _) in FORMAT_TESTS.items() if folder] + list(KINDS)


@pytest.mark.parametrize("case", CASES)
def test_default_plot_as_a_person_sees_it(served, browser, case):
    base, files, root = served
    if case not in files:
        pytest.skip(f"{case}: no shared file")
    expected = expected_view(root / files[case])
    screenshot = SCREENSHOTS / f"{slug(case)}.png" if case in KINDS else None  # one per signal kind
    seen = Seen(browser, f"{base}/index.html?file={files[case]}", screenshot)
    assert seen.problems == [] and seen.errors == []
    assert seen.visualisation == expected["visualisation"], expected["path"]
    for label in expected["labels"]:
        assert label in seen.axis_labels  # e.g. "X-ray energy (eV)", "x (nm)"
    assert all(any(f"({unit})" in label for label in seen.axis_labels) for unit in expected["units"])


def test_spectrum_image_full_data_are_spectra_not_a_striped_heatmap(served, browser):
    """One click from the sum spectrum: the full EDS cube, drawn as a spectrum with the scan as sliders."""
    base, files, root = served
    if "EDS spectrum image" not in files:
        pytest.skip("no Velox spectrum image")
    with h5py.File(root / files["EDS spectrum image"], "r") as h5:
        event = resolve_default(h5).parent.parent
        cube = event["spectrum1/spectrum_2d"]
        assert cube["intensity"].shape == (16, 16, 4096)
        path, energy = cube.name, cube["axis_energy"].attrs["long_name"]
        siblings = sorted(event)
    assert {"spectrum_preview", "image_preview", "spectrum1"} <= set(siblings)
    url = f"{base}/index.html?file={files['EDS spectrum image']}&path={path}"
    seen = Seen(browser, url, SCREENSHOTS / "eds-spectrum-image-full-data.png")
    assert seen.problems == [] and seen.errors == []
    assert seen.visualisation == "NX Line"
    assert energy in seen.axis_labels


def test_colour_image_is_drawn_as_rgb(tmp_path, served, browser):
    """A colour photograph (PNG, made here) opens in H5Web as RGB pixels, not as a stack of three channels."""
    image = pytest.importorskip("PIL.Image")
    base, _, root = served
    pixels = np.zeros((40, 60, 3), dtype=np.uint8)
    pixels[:, :20, 0], pixels[:, 20:40, 1], pixels[:, 40:, 2] = 255, 255, 255
    source = tmp_path / "colour.png"
    image.fromarray(pixels).save(source)
    outcome = convert([source], root / "colour.nxs")
    assert outcome.status == "converted", outcome.message
    with h5py.File(outcome.output, "r") as h5:
        preview = resolve_default(h5)
        assert preview["real"].shape == (40, 60, 3) and preview["real"].attrs["interpretation"] == "rgb-image"
        assert np.array_equal(preview["real"][0, :, :], pixels[0])
    seen = Seen(browser, f"{base}/index.html?file=colour.nxs", SCREENSHOTS / "rgb-image.png")
    assert seen.problems == [] and seen.errors == []
    assert seen.visualisation == "NX RGB"
