"""Synthesise large vendor files in the layout of the real samples in ../shared/em-data.

Merlin 4D-STEM: the sample ``quantumdetector/001_4x2_6bit.mib`` holds 8 frames of
384 header bytes + 256x256 u8 pixels. The large file repeats those frames (each
shifted by a few pixels so that no two neighbouring chunks are identical) with
frame numbers and time stamps rewritten in place (same widths), and a fly-back
pause at every scan-line start, as a real scan has: RosettaSciIO finds the scan
width from those time stamps, exactly as for a real acquisition. The ``.hdr`` is
the sample's with the frame count replaced.

Usage: python benchmarks/make_large.py [OUT_DIR=/tmp/em-bench] [--scan 128x256]
"""

from __future__ import annotations

import argparse
import re
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from _measure import EM_DATA

SAMPLE = EM_DATA / "quantumdetector" / "001_4x2_6bit"
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", nargs="?", type=Path, default=Path("/tmp/em-bench"))
    parser.add_argument("--scan", default="128x256", help="Merlin scan rows x columns (128x256: 2 GiB of frames)")
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    rows, cols = (int(n) for n in args.scan.split("x"))
    path = make_merlin(args.out_dir, rows, cols)
    print(f"{path}  {path.stat().st_size / 2**30:.2f} GiB  ({rows}x{cols} frames of 256x256 u8)")


if __name__ == "__main__":
    main()
