"""The one conversion of vendor files into an NXem file, used by ``em-plugin convert``,
``em-plugin session`` and the NOMAD parser.

:func:`convert` runs pynxtools' conversion with the ``em_plugin`` reader and adds
what a facility needs around it:

* the output is written to a hidden temporary file in the target folder and
  renamed when complete, so an interrupted conversion never leaves a partial
  file under the target name; temporary files of killed processes are removed
  by the next conversion to the same target;
* an existing output is kept unless ``overwrite``;
* large lazily read arrays are streamed into the file block by block
  (:mod:`.nexus.streaming`), pynxtools' copies of linked values become HDF5
  links again (:mod:`.nexus.links`), and the viewer hints NeXus does not document
  are added (:mod:`.nexus.views`);
* the warnings of the conversion (the reader's and pynxtools' validation's) are
  collected into the :class:`Outcome` instead of printed, without touching the
  handlers of any logger (:func:`.compat.pynxtools.captured_warnings`);
* a bad input never raises: the outcome says why, in one line naming the file.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .compat.pynxtools import TemplateNotValid, captured_warnings, filled_template, nxdl_definition, write_template
from .errors import ConversionError
from .nexus.links import restore_links
from .nexus.streaming import deferred_arrays, fill_deferred
from .nexus.views import collected_view_hints, write_view_hints

#: The pynxtools reader of this package and the application definition it writes.
READER, DEFINITION = "em_plugin", "NXem"

#: ``converted``: written; ``exists``: output present, kept (no ``overwrite``); ``failed``: see the message;
#: ``up_to_date``: output present and made from the same inputs and versions (:mod:`.incremental`).
Status = Literal["converted", "exists", "failed", "up_to_date"]


@dataclass(frozen=True)
class ConversionSettings:
    """What the user chose for a conversion (the same for every file of a batch)."""

    overwrite: bool = False  # replace an existing output
    strict: bool = False  # validation problems fail the conversion
    config_file: str | None = None  # user mapping table (-c)
    session_gap: float | None = None  # seconds between activities of a session record (default: the reader's)
    session_name: str | None = None  # the record's title (default: the ELN's session name, see the reader)
    anonymize: bool = False  # drop vendor-recorded operator names (provenance.ConversionOptions)
    absolute_paths: bool = False  # record input paths instead of base names

    def reader_options(self) -> dict[str, Any]:
        """Keyword arguments of the reader (the ELN ``conversion:`` keys are the dataconverter's way)."""
        options: dict[str, Any] = {key: True for key in ("anonymize", "absolute_paths") if getattr(self, key)}
        if self.session_gap is not None:
            options["session_gap"] = self.session_gap
        if self.session_name:
            options["session_name"] = self.session_name
        if self.config_file:
            options["config_file"] = self.config_file
        return options


@dataclass
class Outcome:
    """How one conversion ended."""

    inputs: tuple[Path, ...]
    output: Path
    status: Status
    seconds: float = 0.0
    message: str = ""  # the output path when converted, else why not (one line naming the file)
    warnings: list[str] = field(default_factory=list)  # of a converted file
    worker: str = ""  # the cluster worker that ran the conversion (``em-plugin convert --scheduler``)

    @property
    def main(self) -> Path | None:
        """The file the conversion is named after (the first input)."""
        return self.inputs[0] if self.inputs else None


def convert(inputs: Sequence[Path], output: Path, settings: ConversionSettings | None = None) -> Outcome:
    """Convert ``inputs`` (vendor files, their companions, ELN YAML files) into the NXem file ``output``.

    Never raises for a bad input or a failing conversion: the outcome says why. Only an
    interruption (``KeyboardInterrupt``, ``SystemExit``) goes through, leaving no file under
    the target name.
    """
    settings = settings or ConversionSettings()
    inputs, output = tuple(Path(p) for p in inputs), Path(output)
    if not inputs:
        return Outcome(inputs, output, "failed", message=f"{output}: no input file given")
    if output.exists() and not settings.overwrite:
        return Outcome(inputs, output, "exists", message=f"{output} exists (use --overwrite)")
    started = time.perf_counter()
    with captured_warnings() as warnings:
        try:
            _write_atomically(inputs, output, settings)
        except ConversionError as exc:
            return Outcome(inputs, output, "failed", time.perf_counter() - started, exc.format_message())
        except Exception as exc:  # a bug must not stop a batch or a NOMAD upload; report it as one line
            message = f"{inputs[0]}: {type(exc).__name__}: {exc}"
            return Outcome(inputs, output, "failed", time.perf_counter() - started, message)
    return Outcome(inputs, output, "converted", time.perf_counter() - started, str(output), warnings)


def _write_atomically(inputs: tuple[Path, ...], output: Path, settings: ConversionSettings) -> None:
    """The NeXus file written to a temporary file next to ``output``, renamed when complete."""
    output.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned_parts(output)
    temporary = output.parent / f".{output.name}.{os.getpid()}.part"
    try:
        _write(inputs, temporary, output.name, settings)
        os.replace(temporary, output)
    finally:
        temporary.unlink(missing_ok=True)


def _write(inputs: tuple[Path, ...], path: Path, file_name: str, settings: ConversionSettings) -> None:
    """Read and validate (large lazy arrays deferred), write, stream the deferred arrays, restore links."""
    nxdl_root, nxdl_path = nxdl_definition(DEFINITION)
    try:
        with deferred_arrays() as deferred, collected_view_hints() as hints:
            template = filled_template(
                inputs, READER, DEFINITION, nxdl_root, fail_if_invalid=settings.strict, **settings.reader_options()
            )
    except TemplateNotValid as exc:
        raise ConversionError(inputs[0], "the converted data do not validate against NXem (strict mode)") from exc
    write_template(template, nxdl_path, path, file_name)
    fill_deferred(path, deferred)
    restore_links(path)
    write_view_hints(path, hints)


def _remove_abandoned_parts(output: Path) -> None:
    """Temporary files of earlier conversions to ``output`` whose process was killed mid-write.

    A killed process cannot remove its own ``.part`` file; the next conversion to the same
    target does, unless the process that wrote it still runs (another worker at work).
    """
    for part in output.parent.glob(f".{output.name}.*.part"):
        pid = part.name.removeprefix(f".{output.name}.").removesuffix(".part")
        if pid.isdigit() and not _process_alive(int(pid)):
            part.unlink(missing_ok=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True
