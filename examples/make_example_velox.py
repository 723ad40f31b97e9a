"""Write ``example_haadf.emd``: a small synthetic Velox EMD file made by this project.

It has the HDF5 layout Velox writes (``Version``, ``Data/Image/<id>/Data`` as
height x width x frames, ``Metadata`` as a JSON byte column) and the metadata
keys our Velox mapping table reads, so that a fresh clone can try the converter
without any vendor data. The image is a simulated HAADF lattice of atom columns.

    python examples/make_example_velox.py [output.emd]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import h5py
import numpy as np

IMAGE_ID = "6e1a1b6d0c2f4b7f9a2f3c1d4e5f6a7b"
SIZE = 128
PIXEL_SIZE_M = 1.2e-11  # 12 pm


def haadf_lattice(size: int = SIZE, spacing_px: float = 16.0, sigma_px: float = 2.2) -> np.ndarray:
    """Gaussian atom columns on a square lattice plus Poisson noise, as uint16 counts."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    image = np.zeros((size, size))
    centres = np.arange(spacing_px / 2, size, spacing_px)
    for cy in centres:
        for cx in centres:
            image += np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * sigma_px**2))
    rng = np.random.default_rng(20241121)
    return rng.poisson(200 + 3000 * image).astype(np.uint16)


def metadata() -> dict:
    """Velox-style per-image metadata (all values are strings in SI units, as Velox writes)."""
    return {
        "Core": {"MetadataDefinitionVersion": "7.9", "UserId": "example-operator"},
        "Instrument": {
            "Manufacturer": "FEI Company",
            "InstrumentModel": "Themis Z",
            "InstrumentClass": "Titan",
            "InstrumentId": "9999",
            "ControlSoftwareVersion": "3.16.1",
        },
        "Acquisition": {
            "AcquisitionStartDatetime": {"DateTime": "1732185600"},
            "SourceType": "XFEG",
        },
        "Optics": {
            "AccelerationVoltage": "300000",
            "ExtractorVoltage": "4100",
            "OperatingMode": "2",
            "NominalMagnification": "2550000",
            "CameraLength": "0.115",
            "BeamConvergence": "0.0214",
            "LastMeasuredScreenCurrent": "5.0e-11",
            "FullScanFieldOfView": {"x": f"{SIZE * PIXEL_SIZE_M!r}", "y": f"{SIZE * PIXEL_SIZE_M!r}"},
            "Defocus": "-2.0e-9",
        },
        "Stage": {
            "Position": {"x": "1.25e-05", "y": "-3.5e-06", "z": "2.0e-07"},
            "AlphaTilt": "0.0174532925",
            "BetaTilt": "-0.0087266463",
            "HolderType": "FEI Double Tilt",
        },
        "Scan": {"DwellTime": "2e-06", "FrameTime": "0.0328"},
        "Detectors": {
            "Detector-0": {
                "DetectorName": "HAADF",
                "DetectorType": "ScanningDetector",
                "CollectionAngleRange": {"begin": "0.065", "end": "0.2"},
            }
        },
        "BinaryResult": {
            "Detector": "HAADF",
            "DetectorIndex": "0",
            "PixelSize": {"width": f"{PIXEL_SIZE_M!r}", "height": f"{PIXEL_SIZE_M!r}"},
            "PixelUnitX": "m",
            "PixelUnitY": "m",
            "Offset": {"x": "0", "y": "0"},
        },
    }


def json_column(payload: dict) -> np.ndarray:
    """JSON as the (n, 1) uint8 column Velox stores metadata in."""
    raw = json.dumps(payload).encode("utf-8")
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, 1)


def write_example(path: Path) -> Path:
    with h5py.File(path, "w") as h5:
        version = json.dumps({"version": "11", "format": "Velox"}).encode()
        h5.create_dataset("Version", data=np.array([version], dtype=object), dtype=h5py.string_dtype("ascii"))
        group = h5.create_group(f"Data/Image/{IMAGE_ID}")
        group.create_dataset("Data", data=haadf_lattice()[:, :, np.newaxis])
        group.create_dataset("Metadata", data=json_column(metadata()))
        group.create_dataset("FrameLookupTable", data=np.zeros(1, dtype=np.uint64))
    return path


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("example_haadf.emd")
    print(write_example(target))
