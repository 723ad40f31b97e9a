"""Conversions as tasks on a running Dask distributed cluster (``em-plugin convert --scheduler``).

One task per acquisition; the workers must see the inputs and the output folder under the
same paths (a shared file system) and have this package installed. Each task is the same
:func:`.conversion.convert` as on one machine, so outputs are written atomically (a temporary
file renamed when complete). A worker that dies mid-task leaves only its hidden temporary
file; the scheduler runs the task again on another worker (up to its ``allowed-failures``,
then the acquisition is reported as failed), and the temporary files of dead workers are
removed once the batch is over (the killed process cannot, and its process id means
nothing on another machine).

Workers are best started with one thread each (``dask worker ADDRESS --nthreads 1
--nworkers N``): a conversion is mostly Python holding the GIL, and h5py serialises HDF5
calls anyway; a worker with more threads still converts one acquisition at a time.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from uuid import uuid4

from .compat.pynxtools import shared_nxdl_trees
from .conversion import ConversionSettings, Outcome, convert

#: Seconds to wait for the scheduler before giving up with a clear message.
CONNECT_TIMEOUT = "10s"

_worker_lock = threading.Lock()
_worker_context = ExitStack()
_worker_ready = False


class SchedulerUnreachable(Exception):
    """The scheduler address given cannot be reached (or Dask distributed is not installed)."""


def convert_on_worker(inputs: Sequence[Path], output: Path, settings: ConversionSettings) -> Outcome:
    """One conversion in a worker process, one at a time per process, with the NXDL trees built once
    for the worker's lifetime (:func:`.compat.pynxtools.shared_nxdl_trees`, as in the local batch)."""
    global _worker_ready
    import dask

    with _worker_lock:
        if not _worker_ready:
            _worker_context.enter_context(shared_nxdl_trees())
            _worker_ready = True
        with dask.config.set(scheduler="synchronous"):  # lazy arrays decoded in this task, block by block
            outcome = convert(inputs, output, settings)
    return replace(outcome, worker=_this_worker())


def _this_worker() -> str:
    from distributed import get_worker

    try:
        worker = get_worker()
    except ValueError:  # not in a worker (called directly)
        return ""
    return str(worker.name)


def run_on_cluster(address: str, tasks: Sequence[tuple[Sequence[Path], Path, ConversionSettings]]) -> Iterator[Outcome]:
    """Outcomes of ``tasks`` (inputs, output, settings) as the cluster completes them."""
    try:
        from distributed import Client, as_completed
    except ImportError as exc:
        needed = "--scheduler needs Dask distributed: pip install 'pynxtools-em-plugin[dask]'"
        raise SchedulerUnreachable(needed) from exc
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise SchedulerUnreachable(f"cannot reach the Dask scheduler at {address} ({exc})") from exc
    batch = uuid4().hex[:8]
    futures = {}
    try:
        futures = {
            client.submit(convert_on_worker, inputs, output, settings, key=f"em-plugin-{batch}-{n}", pure=False): (
                tuple(inputs),
                output,
            )
            for n, (inputs, output, settings) in enumerate(tasks)
        }
        for future in as_completed(futures, loop=client.loop):
            yield _outcome(future, *futures[future])
    finally:  # also when interrupted: tasks not yet run are cancelled
        client.cancel([future for future in futures if not future.done()])
        client.close()
        for _, output, _ in tasks:
            remove_temporary_files(output)


def _outcome(future, inputs: tuple[Path, ...], output: Path) -> Outcome:
    """The task's outcome; a task the cluster could not complete (its workers died) as a failure."""
    from distributed import KilledWorker

    try:
        return future.result()
    except KilledWorker:
        reason = "every worker that ran its conversion died (see the scheduler's log); no output written"
    except Exception as exc:  # the task could not run at all (e.g. this package missing on the worker)
        reason = f"the cluster could not run its conversion ({type(exc).__name__}: {exc})"
    return Outcome(inputs, output, "failed", message=f"{inputs[0]}: {reason}")


def remove_temporary_files(output: Path) -> None:
    """Hidden temporary files of conversions to ``output`` (left by killed workers, on any machine)."""
    for part in output.parent.glob(f".{output.name}.*.part"):
        part.unlink(missing_ok=True)
