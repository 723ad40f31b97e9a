"""Synthesise large vendor files in the layout of the real samples in ../shared/em-data.

Merlin 4D-STEM: the sample ``quantumdetector/001_4x2_6bit.mib`` holds 8 frames of
384 header bytes + 256x256 u8 pixels. The large file repeats those frames (each
shifted by a few pixels so that no two neighbouring chunks are identical) with
frame numbers and time stamps rewritten in place (same widths), and a fly-back
pause at every scan-line start, as a real scan has: RosettaSciIO finds the scan
width from those time stamps, exactly as for a real acquisition. The ``.hdr`` is
the sample's with the frame count replaced.

Velox EDS spectrum image: the sample ``velox/Test SI 16x16 215 kx.emd`` (16 x 16
pixels, 2 frames, 4 detector streams of 4096 channels) becomes N x N pixels: every
event stream is rebuilt pixel by pixel from the sample pixel at (y mod 16, x mod 16)
of the same frame, every image (HAADF, element maps) is tiled the same way; all
other groups (metadata, spectra, displays) are the sample's. Its dense size is
N x N x 4096 x 2 bytes (2 GiB for N = 512); the file holds the event streams.

Usage: python benchmarks/make_large.py [OUT_DIR=/tmp/em-bench] [--scan 128x256] [--si 512]
"""

from __future__ import annotations

import argparse
import re
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from _measure import EM_DATA

SAMPLE = EM_DATA / "quantumdetector" / "001_4x2_6bit"
VELOX_SAMPLE = EM_DATA / "velox" / "Test SI 16x16 215 kx.emd"
HEADER = 384


def make_merlin(out_dir: Path, rows: int, cols: int) -> Path:
    raw = np.fromfile(SAMPLE.with_suffix(".mib"), dtype=np.uint8)
    frame_bytes = raw.size // 8
    frames = raw.reshape(8, frame_bytes)
    header = bytes(frames[0, :HEADER])
    pixels = frames[:, HEADER:].reshape(8, 256, 256)
    target = out_dir / f"merlin_{rows}x{cols}.mib"
    start = datetime(2021, 5, 7, 16, 51, 10)
    with open(target, "wb") as out:
        for row in range(rows):
            block = np.empty((cols, frame_bytes), dtype=np.uint8)
            for col in range(cols):
                index = row * cols + col
                stamp = start + timedelta(milliseconds=0.1 * index + 5.0 * row)  # 0.1 ms dwell, 5 ms fly-back
                block[col, :HEADER] = np.frombuffer(_frame_header(header, index + 1, stamp), dtype=np.uint8)
                block[col, HEADER:] = np.roll(pixels[index % 8], (index // 8) % 7, axis=1).reshape(-1)
            out.write(block.tobytes())
    hdr = SAMPLE.with_suffix(".hdr").read_bytes()
    hdr = re.sub(rb"(Frames in Acquisition \(Number\):\t)\d+", rb"\g<1>%d" % (rows * cols), hdr)
    target.with_suffix(".hdr").write_bytes(hdr)
    return target


def _frame_header(template: bytes, number: int, stamp: datetime) -> bytes:
    """The sample header with frame number and both time stamps replaced (same byte widths)."""
    fields = template.decode("ascii").split(",")
    fields[1] = f"{number:06d}"
    fields[9] = stamp.strftime("%Y-%m-%d %H:%M:%S.%f")
    fields[-4] = stamp.strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"
    text = ",".join(fields).encode("ascii")
    assert len(text) == len(template), "header width changed"
    return text


def make_velox(out_dir: Path, size: int) -> Path:
    import h5py

    target = out_dir / f"velox_si_{size}x{size}.emd"
    shutil.copyfile(VELOX_SAMPLE, target)
    with h5py.File(target, "r+") as h5:
        for group in h5["Data/Image"].values():
            _replace(group, "Data", _tiled(group["Data"][()], size), chunks=(size, size, 1))
        for group in h5["Data/SpectrumStream"].values():
            stream = group["Data"][()][:, 0]
            tiled, frame_starts = _tiled_stream(stream, size)
            _replace(group, "Data", tiled[:, None], chunks=(min(1 << 20, len(tiled)), 1))
            _replace(group, "FrameLocationTable", frame_starts[:, None], chunks=None)
    return target


def _tiled(image: np.ndarray, size: int) -> np.ndarray:
    """(16, 16, frames) -> (size, size, frames), pixel (y, x) from (y mod 16, x mod 16)."""
    rows, cols = np.arange(size) % image.shape[0], np.arange(size) % image.shape[1]
    return image[rows[:, None], cols[None, :]]


def _tiled_stream(stream: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The event stream of a size x size scan, each pixel's events (and end mark) those of
    sample pixel (y mod 16, x mod 16) in the same frame; and where each frame starts."""
    ends = np.flatnonzero(stream == 65535)
    starts = np.concatenate([[0], ends[:-1] + 1])
    lengths = ends - starts + 1
    side = round((len(ends) / 2) ** 0.5)  # 2 frames of side x side pixels
    frames = len(ends) // (side * side)
    y, x = np.meshgrid(np.arange(size) % side, np.arange(size) % side, indexing="ij")
    per_frame = (y * side + x).reshape(-1)
    source = np.concatenate([per_frame + f * side * side for f in range(frames)])
    out_lengths = lengths[source]
    out_starts = np.cumsum(out_lengths) - out_lengths
    positions = np.repeat(starts[source] - out_starts, out_lengths) + np.arange(out_lengths.sum())
    frame_starts = out_starts[:: size * size].astype(np.uint64)
    return stream[positions], frame_starts


def _replace(group, name: str, data: np.ndarray, chunks) -> None:
    attributes = dict(group[name].attrs)
    del group[name]
    group.create_dataset(name, data=data, chunks=chunks)
    group[name].attrs.update(attributes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", nargs="?", type=Path, default=Path("/tmp/em-bench"))
    parser.add_argument("--scan", default="128x256", help="Merlin scan rows x columns (128x256: 2 GiB of frames)")
    parser.add_argument("--si", type=int, default=512, help="Velox SI pixels per side (512: 2 GiB dense)")
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    rows, cols = (int(n) for n in args.scan.split("x"))
    path = make_merlin(args.out_dir, rows, cols)
    print(f"{path}  {path.stat().st_size / 2**30:.2f} GiB  ({rows}x{cols} frames of 256x256 u8)")
    path = make_velox(args.out_dir, args.si)
    dense = args.si**2 * 4096 * 2 / 2**30
    size = path.stat().st_size / 2**30
    print(f"{path}  {size:.2f} GiB  ({args.si}x{args.si} x 4096 channels, {dense:.2f} GiB dense)")


if __name__ == "__main__":
    main()
