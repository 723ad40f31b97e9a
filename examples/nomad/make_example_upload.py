"""Write the data of the NOMAD example upload (``src/pynxtools_em_plugin/nomad/example_upload``).

Everything is made here, from simulated signals of a SrTiO3 lamella; no vendor
file is copied:

* ``example_haadf.emd``: the HAADF-STEM lattice image of ``examples/make_example_velox.py``;
* ``example_eds.msa``: an EDS spectrum (EMSA/MSA, ISO 22029) with the O K, Sr L,
  Ti K and Sr K lines on a bremsstrahlung background;
* ``example_eels.msa``: an EELS spectrum with the Ti L2,3 and O K edges on a
  power-law background;
* ``eln.yaml``: a copy of ``examples/eln.yaml`` (sample, users, time zone), which
  applies to every raw file of its folder.

    python examples/nomad/make_example_upload.py [target folder]
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import numpy as np

EXAMPLES = Path(__file__).resolve().parents[1]
TARGET = EXAMPLES.parent / "src" / "pynxtools_em_plugin" / "nomad" / "example_upload"
SEED = 20241121

#: (line energy in eV, relative height) of the EDS lines of SrTiO3 (and the Cu grid).
EDS_LINES = [(525, 0.6), (1806, 1.0), (4511, 0.8), (4932, 0.12), (8048, 0.08), (14165, 0.35), (15835, 0.06)]
#: (edge onset in eV, jump ratio, width of the white line in eV) of the Ti L3, Ti L2 and O K edges.
EELS_EDGES = [(456.0, 0.55, 1.2), (461.5, 0.45, 1.4), (532.0, 0.35, 3.0)]


def _velox_module():
    spec = importlib.util.spec_from_file_location("make_example_velox", EXAMPLES / "make_example_velox.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def eds_counts(channels: int = 2048, width_ev: float = 10.0) -> np.ndarray:
    energy = (np.arange(channels) + 0.5) * width_ev
    background = 400 * np.exp(-energy / 4000.0) * np.clip(energy / 800.0, 0, 1)
    peaks = sum(h * 6000 * np.exp(-((energy - e) ** 2) / (2 * (55 + 0.015 * e) ** 2)) for e, h in EDS_LINES)
    return np.random.default_rng(SEED).poisson(background + peaks)


def eels_counts(channels: int = 1024, offset_ev: float = 400.0, width_ev: float = 0.5) -> np.ndarray:
    energy = offset_ev + np.arange(channels) * width_ev
    background = 4.0e9 * energy**-2.6
    signal = np.zeros(channels)
    for onset, jump, white_line in EELS_EDGES:
        above = energy >= onset
        signal[above] += jump * background[above] * (onset / energy[above]) ** 1.2
        signal += 3 * jump * 60 * np.exp(-((energy - onset - 2) ** 2) / (2 * white_line**2))
    return np.random.default_rng(SEED + 1).poisson(background + signal)


def emsa(keywords: list[tuple[str, str]], counts: np.ndarray) -> str:
    lines = [f"#{key:<12}: {value}" for key, value in keywords]
    lines.append("#SPECTRUM    : Spectral Data Starts Here")
    lines += [f"{int(c)}," for c in counts]
    lines.append("#ENDOFDATA   : ")
    return "\r\n".join(lines) + "\r\n"


def _header(title: str, time: str, npoints: int, per_channel: float, offset: float) -> list[tuple[str, str]]:
    return [
        ("FORMAT", "EMSA/MAS Spectral Data File"),
        ("VERSION", "1.0"),
        ("TITLE", title),
        ("DATE", "21-NOV-2024"),
        ("TIME", time),
        ("OWNER", "Jane Doe"),
        ("NPOINTS", f"{npoints}."),
        ("NCOLUMNS", "1."),
        ("XUNITS", "eV"),
        ("YUNITS", "counts"),
        ("DATATYPE", "Y"),
        ("XPERCHAN", f"{per_channel}"),
        ("OFFSET", f"{offset}"),
    ]


def write_eds(path: Path) -> Path:
    counts = eds_counts()
    keywords = [
        *_header("SrTiO3 lamella A3, EDS point spectrum", "10:52", counts.size, 10.0, 0.0),
        ("SIGNALTYPE", "EDS"),
        ("XLABEL", "X-ray energy"),
        ("BEAMKV   -kV", "300.0"),
        ("PROBECUR -nA", "0.05"),
        ("OPERMODE", "SCIMAG"),
        ("MAGCAM", "2550000."),
        ("LIVETIME  -s", "30.0"),
        ("REALTIME  -s", "32.5"),
        ("EDSDET", "SDUTW"),
    ]
    path.write_text(emsa(keywords, counts), encoding="ascii", newline="")
    return path


def write_eels(path: Path) -> Path:
    counts = eels_counts()
    keywords = [
        *_header("SrTiO3 lamella A3, EELS Ti L2,3 and O K edges", "10:58", counts.size, 0.5, 400.0),
        ("SIGNALTYPE", "ELS"),
        ("XLABEL", "Energy loss"),
        ("BEAMKV   -kV", "300.0"),
        ("OPERMODE", "SCIMAG"),
        ("CONVANGLE-mR", "21.4"),
        ("COLLANGLE-mR", "36.0"),
        ("INTEGTIME-ms", "50.0"),
        ("ELSDET", "PARALL"),
    ]
    path.write_text(emsa(keywords, counts), encoding="ascii", newline="")
    return path


def write_upload(target: Path = TARGET) -> list[Path]:
    target.mkdir(parents=True, exist_ok=True)
    written = [
        _velox_module().write_example(target / "example_haadf.emd"),
        write_eds(target / "example_eds.msa"),
        write_eels(target / "example_eels.msa"),
        Path(shutil.copyfile(EXAMPLES / "eln.yaml", target / "eln.yaml")),
    ]
    return written


if __name__ == "__main__":
    for path in write_upload(Path(sys.argv[1]) if len(sys.argv) > 1 else TARGET):
        print(path)
