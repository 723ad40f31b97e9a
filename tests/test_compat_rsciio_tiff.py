"""Private RosettaSciIO names the tiff package uses (compat/rsciio.py, section "tiff"): each name
resolves, and the behaviour relied on holds on a shared DM-exported TIFF."""

from __future__ import annotations

import pytest

from conftest import em_file
from pynxtools_em_plugin.compat import rsciio as compat

DM_EXPORT = "tiff/test_loading_image_saved_with_DM.tif"
TIFF_NAMES = [("rsciio.digitalmicrograph._api", "DigitalMicrographReader")]


@pytest.mark.parametrize(("module", "name"), TIFF_NAMES)
def test_tiff_private_names_are_registered_and_resolve(module, name):
    assert (module, name) in compat.PRIVATE_NAMES
    assert compat.private(module, name) is not None


def _dm_tag_group_bytes() -> bytes:
    import tifffile

    with tifffile.TiffFile(em_file(DM_EXPORT)) as tiff:
        return tiff.pages.first.tags[65027].value


def test_dm_tag_group_of_a_dm_exported_tiff_decodes_to_dm_tags():
    tags = compat.dm_tag_group(_dm_tag_group_bytes())
    assert list(tags["Acquisition"]["Device"]["CCD"]["Pixel Size (um)"]) == [14.0, 14.0]
    assert tags["Microscope Info"]["Voltage"] == 200000.0
    assert "root" not in tags or tags["root"]


def test_dm_tag_group_of_damaged_bytes_raises():
    with pytest.raises(Exception):  # noqa: B017 - the reader raises anything; the caller warns
        compat.dm_tag_group(_dm_tag_group_bytes()[:40])
