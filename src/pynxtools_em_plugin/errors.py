"""Errors the converter reports to its users.

``ConversionError`` derives from :class:`click.ClickException` on purpose:
pynxtools' ``dataconverter``/``pynx convert`` commands run inside click, and
click prints a ClickException as one ``Error: ...`` line with exit code 1
instead of a traceback. Called from Python (NOMAD, tests), it is an ordinary
exception carrying the same one-line message.
"""

from __future__ import annotations

from pathlib import Path

import click

from .text import printable


class ConversionError(click.ClickException):
    """A file cannot be converted; the message names the file and the reason."""

    def __init__(self, path: str | Path | None, reason: str):
        self.path = None if path is None else str(path)
        self.reason = _one_line(reason)
        message = self.reason if self.path is None else f"{self.path}: {self.reason}"
        super().__init__(message)


class UnrecognisedFile(ConversionError):
    """A file whose content is none of the supported formats (e.g. a note next to the data)."""


class MappingTableError(ConversionError):
    """A mapping table (shipped or user-given) is not valid."""

    def __init__(self, table: str, reason: str):
        super().__init__(None, f"mapping table '{table}': {reason}")


def _one_line(text: str) -> str:
    """Collapse a possibly multi-line library message into one printable line."""
    return printable(" ".join(str(text).split())) or "unknown error"
