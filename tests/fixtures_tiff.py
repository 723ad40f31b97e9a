"""Small synthetic TIFF-family files, written with tifffile / Pillow at test time.

The vendor layouts follow what the vendors publish (TESCAN tag 50431 blocks
and ``.hdr`` ini text, Hitachi ``[SemImageFile]`` sidecars, FEI INI and TIA
XML tags); no real vendor bytes are copied. The numbers are chosen so that a
wrong unit conversion shows (e.g. 15000 V is 15 kV, 0.0051 m is 5.1 mm).
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

SHAPE = (48, 64)  # rows, columns

TESCAN_MAIN = {
    "AccFrames": "1",
    "Date": "2019-03-15",
    "Device": "MIRA3 TESCAN",
    "DeviceModel": "MIRA3 LMU",
    "Magnification": "25000.0",
    "PixelSizeX": "5.0e-09",
    "PixelSizeY": "5.0e-09",
    "SerialNumber": "123-0045",
    "SoftwareVersion": "4.2.27.0",
    "Time": "10:31:53",
    "UserName": "alice",
}
TESCAN_SEM = {
    "Detector": "SE",
    "DwellTime": "3.2e-06",
    "EmissionCurrent": "0.00018",
    "Gun": "Schottky",
    "HV": "15000.0",
    "PredictedBeamCurrent": "1.2e-10",
    "StageRotation": "45.0",
    "StageTilt": "10.0",
    "StageX": "0.012",
    "StageY": "-0.003",
    "StageZ": "0.0095",
    "WD": "0.0051",
}

HITACHI_TXT = """[SemImageFile]
InstructName=SU8230
SerialNumber=123189-06
Date=06/27/2017
Time=15:53:47
DataSize=64x48
PixelSize=12.40234
SignalName=SE(U)
AcceleratingVoltage=3000 Volt
DecelerationVoltage=0 Volt
Magnification=10000
WorkingDistance=8000 um
EmissionCurrent=10000 nA
SampleName=Sample A
"""

#: FEI INI with the faults real files show: decimal commas, a Windows NaN,
#: repeated [MultiGISGas1] sections and an XML block after the INI text.
FEI_MALFORMED = """[User]
Date=03/02/2021
Time=10:15:00 AM
User=bob
[System]
SystemType=Quanta 250 FEG
Dnumber=9923001
Software=6.2.6.3123
Source=FEG
[Beam]
HV=15000
Beam=EBeam
[EBeam]
HV=15000,5
WD=1.#QNAN
HFW=0,0000016
BeamCurrent=2.1e-010
[Scan]
PixelWidth=2,5e-008
PixelHeight=2,5e-008
[EScan]
Dwell=3e-006
[Stage]
StageX=0.001
StageY=0.002
StageZ=0.003
StageR=0.5
StageT=0.1
StageTb=0
[Detectors]
Name=LFD
Mode=SE
[MultiGISUnit1]
Port=4
[MultiGISGas1]
GasName=Pt
[MultiGISUnit2]
Port=5
[MultiGISGas1]
GasName=C
<?xml version="1.0" encoding="utf-8"?><Extra><Chamber>xT-SDB</Chamber></Extra>
"""

TITAN_XML = """<?xml version="1.0" encoding="utf-8"?>
<ObjectInfo>
  <AcquireDate>Thu Jun 11 14:22:33 2015</AcquireDate>
  <ExperimentalDescription><Root>
    <Data><Label>Microscope</Label><Value>Titan 80-300</Value><Unit></Unit></Data>
    <Data><Label>High tension</Label><Value>300</Value><Unit>kV</Unit></Data>
    <Data><Label>Magnification</Label><Value>225000</Value><Unit>x</Unit></Data>
    <Data><Label>Mode</Label><Value>TEM</Value><Unit></Unit></Data>
    <Data><Label>User</Label><Value>carol</Value><Unit></Unit></Data>
  </Root></ExperimentalDescription>
  <PixelSize><X>2,5E-11</X><Y>2,5E-11</Y></PixelSize>
</ObjectInfo>
"""


def image_data(dtype=np.uint8) -> np.ndarray:
    return (np.arange(SHAPE[0] * SHAPE[1]) % 251).astype(dtype).reshape(SHAPE)


def _write_tiff(path: Path, extratags: list | None = None, **kwargs) -> Path:
    import tifffile

    tifffile.imwrite(path, image_data(), extratags=extratags or [], metadata=None, software=None, **kwargs)
    return path


def _ini(sections: dict[str, dict[str, str]]) -> str:
    return "".join(
        f"[{name}]\r\n" + "".join(f"{k}={v}\r\n" for k, v in values.items()) for name, values in sections.items()
    )


def _tescan_block(kind: int, body: bytes) -> bytes:
    return struct.pack("<IH", len(body) + 2, kind) + body


def write_tescan(folder: Path, with_tag: bool = True, with_hdr: bool = False) -> Path:
    """A TESCAN TIFF: tag 50431 (thumbnail, MAIN, SEM, end blocks) and/or a ``-tif.hdr`` sidecar."""
    path = folder / "tescan.tif"
    tags = []
    if with_tag:
        payload = b"".join(
            [
                _tescan_block(1, b"\xff\xd8\xff\xe0 fake jpeg thumbnail \xff\xd9"),
                _tescan_block(2, _ini({"": TESCAN_MAIN}).replace("[]\r\n", "").encode() + b"\x00"),
                _tescan_block(3, _ini({"": TESCAN_SEM}).replace("[]\r\n", "").encode() + b"\x00"),
                _tescan_block(0, b""),
            ]
        )
        tags.append((50431, "B", len(payload), payload, True))
    _write_tiff(path, tags)
    if with_hdr:
        (folder / "tescan-tif.hdr").write_text(_ini({"MAIN": TESCAN_MAIN, "SEM": TESCAN_SEM}), encoding="utf-8")
    return path


def write_hitachi(folder: Path) -> tuple[Path, Path]:
    """A Hitachi TIFF (no private tag) and its ``.txt`` sidecar."""
    image = _write_tiff(folder / "hitachi.tif")
    sidecar = folder / "hitachi.txt"
    sidecar.write_bytes(HITACHI_TXT.replace("\n", "\r\n").encode("ascii"))
    return image, sidecar


def write_fei_malformed(folder: Path) -> Path:
    return _write_tiff(folder / "fei_quanta.tif", [(34682, "s", 0, FEI_MALFORMED, True)])


def write_titan(folder: Path) -> Path:
    """A FEI TEM TIFF: empty FEI_HELIOS tag plus TIA-style XML in FEI_TITAN (34683)."""
    return _write_tiff(folder / "titan.tif", [(34682, "s", 1, "", True), (34683, "s", 0, TITAN_XML, True)])


def write_plain_tiff(folder: Path, bigtiff: bool = False) -> Path:
    return _write_tiff(folder / ("plain_big.tif" if bigtiff else "plain.tif"), bigtiff=bigtiff)


def write_png(folder: Path, colour: bool = False, suffix: str = ".png") -> Path:
    """A grey image (PNG, or JPEG/BMP by suffix), or an RGB PNG whose green and blue channels are equal."""
    from PIL import Image

    grey = image_data()
    if colour:
        rgb = np.stack([255 - grey, grey, grey], axis=-1).astype(np.uint8)
        path = folder / "overlay.png"
        Image.fromarray(rgb).save(path)
    else:
        path = folder / f"plain{suffix}"
        Image.fromarray(grey).save(path)
    return path


def write_truncated_tiff(folder: Path) -> Path:
    """A TIFF cut in the middle of its pixel data (tifffile writes the directory first)."""
    full = _write_tiff(folder / "whole.tif").read_bytes()
    path = folder / "truncated.tif"
    path.write_bytes(full[: len(full) // 2])
    return path
