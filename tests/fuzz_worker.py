"""Runs fuzz cases for ``test_fuzz.py`` in a process of its own.

Started as ``python fuzz_worker.py``; reads one JSON case per line on stdin
(``{"inputs": [...], "output": "..."}``) and answers one JSON result per line
on stdout. One process serves many cases, so pynxtools and the readers are
imported once.

The process runs under an address-space limit (``RLIMIT_AS``): a reader that
trusts a damaged size field and allocates far more than the file could hold
then fails with a MemoryError, which counts as a failure here, instead of
exhausting the machine. The parent enforces the time limit of each case (it
kills and restarts a worker that does not answer in time).

Outcomes: ``converted`` (an NXem file whose ``@default`` chain ends at an
NXdata), ``refused`` (one ConversionError naming an input file, no output file
left behind), ``failure`` (anything else: another exception, a MemoryError
behind the ConversionError, a message without the file name, a changed input,
an unreadable output, a peak memory out of proportion to the input size).
"""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import os
import resource
import sys
import time
import traceback
from pathlib import Path
from typing import Any

MEMORY_LIMIT = int(os.environ.get("EM_PLUGIN_FUZZ_MEMORY_LIMIT", 4 << 30))
#: Extra memory a case may use: a fixed allowance plus a multiple of the input size.
MEMORY_ALLOWANCE = 512 << 20
MEMORY_PER_INPUT_BYTE = 64


def main() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # whatever a library prints goes to the log, not into the answers
    counter = _WarningCounter()
    logger = logging.getLogger("pynxtools")
    logger.handlers, logger.propagate = [counter], False
    from pynxtools.dataconverter.convert import convert

    from pynxtools_em_plugin.formats import all_formats

    all_formats()
    answers.write(json.dumps({"ready": os.getpid()}) + "\n")
    for line in sys.stdin:
        case = json.loads(line)
        counter.count = 0
        result = run_case(convert, case)
        result["warnings"] = counter.count
        answers.write(json.dumps(result) + "\n")


class _WarningCounter(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


def run_case(convert, case: dict[str, Any]) -> dict[str, Any]:
    from pynxtools_em_plugin.errors import ConversionError

    inputs = [Path(p) for p in case["inputs"]]
    output = Path(case["output"])
    before = {p: _sha256(p) for p in inputs}
    gc.collect()
    start_memory = _reset_peak()
    start = time.perf_counter()
    try:
        convert(tuple(str(p) for p in inputs), "em_plugin", "NXem", str(output))
    except ConversionError as exc:
        outcome, detail = _check_refusal(exc, inputs, output)
    except BaseException as exc:  # anything else is what the fuzzing looks for
        outcome, detail = "failure", f"{type(exc).__name__}: {exc} (at {_short_traceback(exc)})"
    else:
        outcome, detail = _check_output(output)
    seconds = time.perf_counter() - start
    extra_mib = (_peak() - start_memory) / (1 << 20)
    budget_mib = (MEMORY_ALLOWANCE + MEMORY_PER_INPUT_BYTE * sum(p.stat().st_size for p in inputs)) / (1 << 20)
    changed = [p.name for p in inputs if _sha256(p) != before[p]]
    if changed:
        outcome, detail = "failure", f"inputs modified: {changed}; {detail}"
    elif extra_mib > budget_mib:
        outcome, detail = "failure", f"peak memory +{extra_mib:.0f} MiB > budget {budget_mib:.0f} MiB; {detail}"
    output.unlink(missing_ok=True)
    return {"outcome": outcome, "detail": detail, "seconds": round(seconds, 3), "extra_mib": round(extra_mib, 1)}


def _check_refusal(exc: Exception, inputs: list[Path], output: Path) -> tuple[str, str]:
    message = exc.format_message()
    cause = exc
    while cause is not None:
        if isinstance(cause, MemoryError):
            return "failure", f"allocation beyond the memory limit behind: {message}"
        cause = cause.__cause__ or cause.__context__
    if not any(p.name in message for p in inputs):
        return "failure", f"error does not name the file: {message}"
    if "\n" in message:
        return "failure", f"error is not one line: {message!r}"
    if output.exists():
        return "failure", f"output file left behind after: {message}"
    return "refused", message


def _check_output(output: Path) -> tuple[str, str]:
    """The written file opens and its @default chain ends at an NXdata with its signal."""
    import h5py

    try:
        with h5py.File(output, "r") as h5:
            node = h5
            while "default" in node.attrs:
                node = node[node.attrs["default"]]
            if node.attrs.get("NX_class") != "NXdata":
                return "failure", f"@default chain ends at {node.name}, not at an NXdata"
            signal = node[node.attrs["signal"]]
            signal[(0,) * signal.ndim] if signal.ndim else signal[()]
            events = len(h5["entry1/measurement"])
    except Exception as exc:
        return "failure", f"written file unreadable: {type(exc).__name__}: {exc}"
    return "converted", f"{events} groups in measurement"


def _short_traceback(exc: BaseException) -> str:
    """Where it happened: the innermost frame of this package and the innermost frame overall."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "pynxtools_em_plugin" in f.filename]
    places = [f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in (*frames[-1:], *ours[-1:])]
    return " <- ".join(dict.fromkeys(places))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _status(key: str) -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0


def _reset_peak() -> int:
    """Reset the peak resident size (Linux ``clear_refs``); the resident size now."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        pass
    return _status("VmRSS")


def _peak() -> int:
    return _status("VmHWM")


if __name__ == "__main__":
    main()
