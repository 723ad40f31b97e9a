"""TIFF images from electron microscopes, recognised by their private tags.

Pixel data, standard tags and the vendor tags tifffile knows are read by RosettaSciIO
(``rsciio.tiff``). A file is claimed by its TIFF/BigTIFF magic (or as a TESCAN/Hitachi
sidecar); which vendor wrote it, the *flavour* (``derived["tiff_flavour"]``), is decided from
its tags and sidecar, never from its name. One module per flavour says what the vendor writes
and what is done with it:

==========================  ==================  ===================================================
flavour                     module              evidence
==========================  ==================  ===================================================
FEI/Thermo Fisher TEM       ``fei_tem``         tag 34683 (FEI_TITAN) holding XML
FEI/Thermo Fisher SEM/FIB   ``fei_sem``         tag 34682 (FEI_HELIOS) or 34680 (FEI_SFEG), INI text
Zeiss SEM                   ``zeiss``           tag 34118 (CZ_SEM)
TESCAN                      ``tescan``          tag 50431, or a ``<name>.hdr`` / ``<name>-tif.hdr``
TVIPS                       ``tvips``           tag 37706
Olympus SIS                 ``olympus_sis``     tag 33560 / 33471
JEOL SightX                 ``jeol_sightx``     Make "JEOL Ltd." with the TemReporter XML description
DigitalMicrograph export    ``dm_export``       DM's private tags 65003-65027
Hitachi                     ``hitachi``         a ``<name>.txt`` sidecar starting with [SemImageFile]
ImageJ                      ``plain``           ImageJ description (RosettaSciIO reads its calibration)
plain TIFF                  ``plain``           none of these: pixel-index axes and a warning
==========================  ==================  ===================================================

**Vendor tree and derived values.** ``Signal.metadata`` is RosettaSciIO's ``original_metadata``
for the image, unchanged, plus the vendor blocks RosettaSciIO does not parse (or parses
lossily), parsed here and stored under keys of their own, values as the vendor wrote them:
``fei_ini``, ``fei_metadata_text``, ``fei_xml_metadata`` (FEI INI tag), ``FEI_TITAN_metadata``
(FEI TEM XML), ``TESCAN`` and ``TESCAN_sidecar`` (TESCAN tag / ``.hdr``), ``Hitachi`` (``.txt``
sidecar), ``DigitalMicrograph`` (DM tag group). Vendor-written text merely parsed by us is
vendor tree; everything computed, decoded, split or repaired is in ``Signal.derived``:
``tiff_flavour``, ``tiff_datetime`` (the TIFF DateTime tag as ISO 8601), ``by_unit/<vendor
key>/<unit>`` (values the vendor wrote with their unit: Zeiss ``[label, value, unit]``, Hitachi
``"8000 um"``, the JEOL SightX selector), ``acquisition_time`` and ``magnification`` (TVIPS),
``camera`` (Olympus SIS), ``sidecar_file`` (the sidecar read). ``mapping/tables/tiff.json``
reads these as ``@derived/...``. Numbers written with a decimal comma or as text that is no
number ('1.#QNAN') stay as written: the table reads vendor numbers with the ``decimal_comma``,
``suffix: false`` number policy, so that '15000,5' is 15000.5 and '1.#QNAN' is refused with a
warning (never half-read as 1).

**Calibration.** The image axes are corrected where RosettaSciIO's are wrong or missing (each
flavour module says why): FEI, TVIPS and Olympus SIS pixel sizes x to the width axis (RosettaSciIO
gives x to the height), JEOL SightX's PixelsPerMeter instead of the integer dpi tag, TVIPS
diffraction images as pixel indices, FEI TEM / TESCAN / Hitachi calibrations from the vendor text,
the Olympus SIS RGB preview with the data's calibration. FEI images keep their data bar (the
rows below ``[Image] ResolutionY``), as the vendor saved it.
"""

from __future__ import annotations

import math
from pathlib import Path

from ...errors import ConversionError
from ...model import Signal
from ...parsing import read_head
from .._rsciio import call_reader, refuse_oversized, signal_from_rsciio
from ..image import exif_datetime, uncalibrated_warning
from . import dm_export, fei_sem, fei_tem, hitachi, jeol_sightx, olympus_sis, tescan, tvips, zeiss
from ._context import TITLE, Context, Flavour, Item, read_context, uncalibrated
from ._sidecar import is_sidecar, sidecar_kind, sidecar_names
from .plain import IMAGEJ, PLAIN

NAME = "tiff"
EXTENSIONS = (".tif", ".tiff", ".hdr", ".txt")

TIFF_MAGICS = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")

#: The flavours in the order they are tested; the first whose evidence is found reads the file,
#: PLAIN when none is. Files may carry the evidence of several: FEI TEM images also hold an
#: (often empty) FEI_HELIOS tag, so the TEM XML is tested before the SEM INI (and the TEM
#: module reads the INI too). Vendor tags written by the acquisition software come before
#: DigitalMicrograph's tags, which DM adds to any image it exports. Hitachi, the only flavour
#: known by a sidecar alone (a ``.txt`` file next to the image), comes after all in-file
#: evidence; ImageJ's description, which ImageJ writes into any image it saves, comes last.
FLAVOURS: tuple[Flavour, ...] = (
    fei_tem.FLAVOUR,
    fei_sem.FLAVOUR,
    zeiss.FLAVOUR,
    tescan.FLAVOUR,
    tvips.FLAVOUR,
    olympus_sis.FLAVOUR,
    jeol_sightx.FLAVOUR,
    dm_export.FLAVOUR,
    hitachi.FLAVOUR,
    IMAGEJ,
)

#: Flavours that hold no microscope vendor's metadata (not claimed by NOMAD).
WITHOUT_VENDOR_METADATA = (PLAIN.name, IMAGEJ.name)


def flavour_of(ctx: Context) -> Flavour:
    return next((flavour for flavour in FLAVOURS if flavour.detect(ctx)), PLAIN)


# ---- the format contract -------------------------------------------------------------------


#: Top-level keys of the vendor tree that hold vendor blocks parsed here (RosettaSciIO leaves them
#: unparsed or merges them lossily), next to RosettaSciIO's own ``original_metadata`` keys.
PARSED_VENDOR_BLOCKS = (
    "fei_ini",
    "fei_metadata_text",
    "fei_xml_metadata",
    "FEI_TITAN_metadata",
    "TESCAN",
    "TESCAN_sidecar",
    "Hitachi",
    "DigitalMicrograph",
)


def sniff(path: Path, head: bytes) -> bool:
    return head[:4] in TIFF_MAGICS or sidecar_kind(head) is not None


def companions(path: Path, candidates: list[Path]) -> list[Path]:
    """The TESCAN ``.hdr`` / Hitachi ``.txt`` sidecar of a TIFF among the given files."""
    if read_head(path, 4) not in TIFF_MAGICS:
        return []
    names = sidecar_names(path)
    return [c for c in candidates if c.parent == path.parent and c.name.lower() in names and is_sidecar(c)]


def lone_companion(path: Path) -> str | None:
    """A TESCAN/Hitachi sidecar given without its image holds no image of its own."""
    head = read_head(path)
    if head[:4] in TIFF_MAGICS:
        return None
    kind = sidecar_kind(head) or "metadata"
    return f"is a {kind} metadata sidecar, not an image; convert it together with its TIFF image file"


def nomad_claims(path: Path) -> bool:
    """A TIFF only when a microscope vendor's metadata is found (not plain, not ImageJ); a
    sidecar alone is claimed, so that its entry can say what is missing."""
    if read_head(path, 4) not in TIFF_MAGICS:
        return True
    try:
        flavour = flavour_of(read_context(path, []))
    except Exception:
        return False
    return flavour.name not in WITHOUT_VENDOR_METADATA


def read(path: Path, companions: list[Path]) -> list[Signal]:
    from rsciio.tiff import file_reader

    _check_data_sizes(path)
    dicts = call_reader(path, TITLE, file_reader)
    ctx = read_context(path, companions)
    flavour = flavour_of(ctx)
    items = [Item(entry) for entry in dicts]
    for item in items:
        flavour.prepare(item, ctx)
        _add_tiff_values(item, flavour)
    if flavour.finish:
        flavour.finish(items)
    signals = [_signal(item, index, ctx, flavour, len(items)) for index, item in enumerate(items)]
    if signals:
        signals[0].warnings[:0] = list(dict.fromkeys(ctx.warnings))
    return signals


def _check_data_sizes(path: Path) -> None:
    """Strips and tiles inside the file, image sizes the stored bytes can hold: tifffile allocates
    what a damaged byte count or image size declares before it reads."""
    import tifffile

    size = path.stat().st_size
    try:
        with tifffile.TiffFile(path) as tiff:
            pages = [(p.shape, p.dtype, p.dataoffsets, p.databytecounts) for p in tiff.pages if hasattr(p, "shape")]
    except Exception:  # unreadable directories: RosettaSciIO reports them
        return
    for number, (shape, dtype, offsets, counts) in enumerate(pages):
        if any(offset + count > size for offset, count in zip(offsets, counts, strict=False)):
            raise ConversionError(path, f"page {number} has image data past the end of the file: truncated or damaged")
        declared = math.prod(shape) * (dtype.itemsize if dtype is not None else 1)
        refuse_oversized(path, f"page {number} ({' x '.join(map(str, shape))})", declared, sum(counts))


def _add_tiff_values(item: Item, flavour: Flavour) -> None:
    """What every flavour gets: its name and the TIFF DateTime tag as ISO 8601."""
    item.derived["tiff_flavour"] = flavour.name
    stamp = exif_datetime(item.original.get("DateTime"))
    if stamp:
        item.derived["tiff_datetime"] = stamp


def _signal(item: Item, index: int, ctx: Context, flavour: Flavour, count: int) -> Signal:
    context = f"series {index}" if count > 1 else "image"
    signal = signal_from_rsciio(item.entry, ctx.path, NAME, context=context, metadata=item.metadata())
    signal.derived = item.derived
    if item.preview:
        signal.title = f"{signal.title} (RGB preview)"
    if uncalibrated(item.entry):
        what = "the file" if flavour is PLAIN else f"the {flavour.name} metadata"
        signal.warnings.append(uncalibrated_warning(ctx.path, what))
    return signal
