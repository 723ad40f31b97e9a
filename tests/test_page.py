"""The record page (``em-plugin session --html``, ``em-plugin view --html``): read from the NXem
file, one offline page; checked as text and in headless Chromium (paging, no console error,
no request beyond the page itself)."""

from __future__ import annotations

import hashlib
import re
import shutil
import zlib

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import em_file
from pynxtools_em_plugin.cli import main
from pynxtools_em_plugin.page import png, read_record

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: Three activities at a 300 s gap: diffraction (2014), STEM image then EELS spectrum (2016, 4 h apart).
FILES = ["gatan/2D/test_diffraction_pattern.dm3", "gatan/2D/test_STEM_image.dm3", "gatan/1D/test-EELS_spectrum.dm3"]


@pytest.fixture(scope="module")
def session_page(tmp_path_factory):
    """A session folder converted with --html: (folder, NeXus file, page, CLI output)."""
    root = tmp_path_factory.mktemp("page")
    folder = root / "session"
    folder.mkdir()
    for relative in FILES:
        shutil.copyfile(em_file(relative), folder / relative.rsplit("/", 1)[-1])
    nexus, page = root / "record.nxs", root / "record.html"
    result = CliRunner().invoke(main, ["session", str(folder), "-o", str(nexus), "--gap", "300", "--html", str(page)])
    assert result.exit_code == 0, result.output
    return folder, nexus, page, result.output


def test_session_html_holds_the_record(session_page):
    folder, nexus, page, output = session_page
    assert f"page    {page}" in output
    html = page.read_text("utf-8")
    assert not re.search(r"""(src|href)=["']https?:""", html)  # nothing loaded from elsewhere
    record = read_record(nexus)
    summary = {row.name: row.value for row in record.summary}
    assert summary["instrument"] == "FEI Tecnai" and summary["events"] == "3"
    assert summary["session"] == folder.name  # no ELN names the session
    assert summary["start"] == "2014-07-09T18:56:37+00:00"
    assert [[e.label for e in a.events] for a in record.activities] == [
        ["Electron diffraction"],
        ["STEM imaging"],
        ["EELS"],
    ]
    stem = record.activities[1].events[0]
    settings = {s.name: (s.value, s.units) for s in stem.settings}
    assert settings["instrument/ebeam_column/electron_source/voltage"] == ("200", "kV")
    assert stem.file_name == "test_STEM_image.dm3" and '"ImageList"' in stem.vendor_json
    assert [p[:30] for p in stem.pictures] == ['<img class="preview" alt="prev']
    eels = record.activities[2].events[0]
    assert eels.pictures[0].startswith("<svg") and "Energy loss (eV)" in eels.pictures[0]
    checksums = {i.name: i.value for i in record.inputs}
    for name in checksums:
        assert checksums[name] == hashlib.sha256((folder / name).read_bytes()).hexdigest()
    assert '200 <span class="units">kV</span>' in html and html.count('<div class="page"') == 3


def test_view_command_and_a_file_that_is_not_nexus(session_page, tmp_path):
    folder, nexus, _, _ = session_page
    out = tmp_path / "again.html"
    result = CliRunner().invoke(main, ["view", str(nexus), "--html", str(out)])
    assert result.exit_code == 0 and out.read_text("utf-8").count("<figure") == 3
    vendor = next(folder.glob("*.dm3"))
    bad = CliRunner().invoke(main, ["view", str(vendor), "--html", str(tmp_path / "bad.html")])
    assert bad.exit_code == 1 and "not a readable NXem record" in bad.output and "Traceback" not in bad.output
    assert not (tmp_path / "bad.html").exists()


def test_png_is_a_valid_image():
    grey = np.arange(12, dtype=np.uint8).reshape(3, 4)
    data = png(grey)
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (4, 3)
    start = data.index(b"IDAT") + 4
    rows = zlib.decompress(data[start : start + int.from_bytes(data[start - 8 : start - 4], "big")])
    assert rows == b"".join(b"\x00" + bytes(row) for row in grey.tolist())


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium (bash tests/h5web/setup.sh installs it)")
def test_page_in_headless_chromium_pages_the_gallery(session_page):
    playwright_api = pytest.importorskip("playwright.sync_api")
    _, _, page_file, _ = session_page
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        problems, requests = [], []
        page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("request", lambda request: requests.append(request.url))
        page.goto(page_file.as_uri())
        for selector in ("#summary table", "#activities li", "#gallery .page", "#inputs table"):
            assert page.locator(selector).count() > 0, selector

        def visible():
            shown = [p for p in page.locator("#gallery .page").all() if p.is_visible()]
            return [p.get_attribute("data-activity") for p in shown]

        assert visible() == ["1"] and page.inner_text("#page-number") == "Activity 1 of 3"
        assert page.locator("#previous").is_disabled()
        page.click("#next")
        assert visible() == ["2"] and page.locator("#gallery .page").nth(1).locator("img.preview").count() == 1
        page.click("#activities li[data-activity='3']")
        assert visible() == ["3"] and page.locator("#next").is_disabled()
        assert page.locator("#gallery .page").nth(2).locator("svg.preview").is_visible()
        page.locator("#event3 details summary").first.click()
        assert page.locator("#event3 details table").first.is_visible()
        browser.close()
    assert problems == []
    assert requests == [page_file.as_uri()]  # images and script are inline: nothing else is fetched
