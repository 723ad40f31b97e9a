"""A one-line progress bar for ``em-plugin convert`` that never garbles the status lines.

In a terminal the bar sits on the last line and is redrawn in place (carriage
return, no newline); each file's status line is printed above it. When the
output is not a terminal (a log file, a pipe, CI) nothing but the status lines
is written, one per file, so logs stay line-based and greppable.
"""

from __future__ import annotations

import shutil
import sys
import time
from typing import TextIO


class Progress:
    """Status lines plus, on a terminal, a redrawn ``[####....] 12/40  3.1 s`` bar."""

    def __init__(self, total: int, stream: TextIO | None = None, interactive: bool | None = None):
        self.total, self.done = total, 0
        self.stream = stream or sys.stdout
        self.interactive = self.stream.isatty() if interactive is None else interactive
        self.started = time.perf_counter()

    def line(self, text: str) -> None:
        """Print one status line (above the bar on a terminal)."""
        self._clear()
        self.stream.write(text + "\n")
        self._draw()

    def advance(self) -> None:
        self.done += 1
        self._draw()

    def close(self) -> None:
        """Remove the bar; the summary line follows on a clean line."""
        self._clear()

    def bar(self) -> str:
        """The bar text, fitted to the terminal width."""
        width = max(10, min(40, shutil.get_terminal_size((80, 20)).columns - 30))
        filled = width * self.done // max(self.total, 1)
        elapsed = time.perf_counter() - self.started
        return f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total}  {elapsed:.1f} s"

    def _draw(self) -> None:
        if self.interactive:
            self.stream.write("\r" + self.bar())
            self.stream.flush()

    def _clear(self) -> None:
        if self.interactive:
            self.stream.write("\r\033[K")
