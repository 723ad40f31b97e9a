"""Before/after comparison of what the converter writes, for behaviour-preserving refactoring.

``snapshot`` converts every acquisition below a folder with ``em-plugin convert`` (the user's
interface, stable across refactorings) and records every group, dataset and attribute of every
output: small values as they are, large arrays by dtype, shape and a SHA-256 of their bytes.
``compare`` lists what differs between two snapshots, ignoring what changes on every run
(conversion times, this package's version).

    python benchmarks/snapshot_outputs.py snapshot ../shared/em-data /tmp/before.json
    # ... change the code ...
    python benchmarks/snapshot_outputs.py snapshot ../shared/em-data /tmp/after.json
    python benchmarks/snapshot_outputs.py compare /tmp/before.json /tmp/after.json [--ignore REGEX ...]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import h5py
import numpy as np

#: Paths whose values change on every run, not with the code's behaviour.
VOLATILE = (
    r"/profiling/(start_time|end_time|total_elapsed_time)$",
    r"/profiling/program\d+/program/@version$",
    r"^/@(file_time|file_update_time|HDF5_Version|h5py_version|NeXus_version|file_name)$",
)
_SMALL = 64


def _value(obj: Any) -> Any:
    array = np.asarray(obj)
    if array.dtype.kind in "SOU":
        flat = [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in array.reshape(-1)]
        if array.ndim == 0:
            return flat[0]
        if len(flat) <= _SMALL:
            return flat
        return {"text_array": list(array.shape), "sha256": hashlib.sha256("\x00".join(flat).encode()).hexdigest()}
    if array.size <= _SMALL:
        return {"dtype": str(array.dtype), "shape": list(array.shape), "value": array.tolist()}
    digest = hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()
    return {"dtype": str(array.dtype), "shape": list(array.shape), "sha256": digest}


def describe(path: Path) -> dict[str, Any]:
    """Every group, dataset, soft link and attribute of a NeXus file, keyed by HDF5 path."""
    found: dict[str, Any] = {}
    with h5py.File(path, "r") as h5:
        for name, value in h5.attrs.items():
            found[f"/@{name}"] = _value(value)

        def visit(name: str, link: Any) -> None:
            where = f"/{name}"
            if isinstance(link, h5py.SoftLink):
                found[where] = {"soft_link": link.path}
                return
            obj = h5[name]
            found[where] = _value(obj[()]) if isinstance(obj, h5py.Dataset) else {"group": True}
            for attr, value in obj.attrs.items():
                found[f"{where}/@{attr}"] = _value(value)

        h5.visititems_links(visit) if hasattr(h5, "visititems_links") else _walk(h5, "", visit)
    return found


def _walk(group: h5py.Group, prefix: str, visit) -> None:
    for key in group:
        name = f"{prefix}{key}"
        link = group.get(key, getlink=True)
        visit(name, link)
        if not isinstance(link, h5py.SoftLink) and isinstance(group[key], h5py.Group):
            _walk(group[key], f"{name}/", visit)


def snapshot(data: Path, output: Path) -> None:
    with tempfile.TemporaryDirectory() as folder:
        command = ["em-plugin", "convert", str(data), "--output-dir", folder, "-j", "2"]
        run = subprocess.run(command, capture_output=True, text=True)
        files = sorted(Path(folder).rglob("*.nxs"))
        result = {
            "command": " ".join(command[:2]),
            "status_lines": sorted(_status(line, folder) for line in run.stdout.splitlines() if line.strip()),
            "files": {str(p.relative_to(folder)): describe(p) for p in files},
        }
    output.write_text(json.dumps(result, indent=1, sort_keys=True, default=str))
    print(f"{len(result['files'])} outputs described in {output}")


def _status(line: str, folder: str) -> str:
    """A status line without its position, timing and temporary output folder."""
    line = re.sub(r"^\[\s*\d+/\d+\]\s*", "", line.replace(folder, "OUT"))
    return re.sub(r"\d+(\.\d+)? s\b", "", line)


def compare(before: Path, after: Path, ignore: list[str]) -> int:
    old, new = json.loads(before.read_text()), json.loads(after.read_text())
    patterns = [re.compile(p) for p in (*VOLATILE, *ignore)]
    differences = 0
    for name in sorted(set(old["files"]) | set(new["files"])):
        a, b = old["files"].get(name), new["files"].get(name)
        if a is None or b is None:
            print(f"{name}: only {'after' if a is None else 'before'}")
            differences += 1
            continue
        for key in sorted(set(a) | set(b)):
            if any(p.search(key) for p in patterns) or a.get(key) == b.get(key):
                continue
            differences += 1
            print(f"{name}: {key}\n    before: {_short(a.get(key))}\n    after:  {_short(b.get(key))}")
    for line in sorted(set(old["status_lines"]) ^ set(new["status_lines"])):
        differences += 1
        print(f"status line only {'before' if line in old['status_lines'] else 'after'}: {line}")
    print(f"{differences} difference(s) in {len(new['files'])} outputs")
    return 1 if differences else 0


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) < 300 else text[:300] + "..."


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    snap = sub.add_parser("snapshot")
    snap.add_argument("data", type=Path)
    snap.add_argument("output", type=Path)
    comp = sub.add_parser("compare")
    comp.add_argument("before", type=Path)
    comp.add_argument("after", type=Path)
    comp.add_argument("--ignore", action="append", default=[], help="regular expression of paths to skip")
    args = parser.parse_args()
    if args.command == "snapshot":
        snapshot(args.data, args.output)
        return 0
    return compare(args.before, args.after, args.ignore)


if __name__ == "__main__":
    sys.exit(main())
