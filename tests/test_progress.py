"""The batch progress bar: redrawn in place on a terminal, absent from logs and pipes."""

from __future__ import annotations

import io
import re

from pynxtools_em_plugin.progress import Progress


def _run(interactive: bool) -> str:
    stream = io.StringIO()
    progress = Progress(3, stream, interactive=interactive)
    for name in ("a.dm3", "b.emd", "c.tif"):
        progress.advance()
        progress.line(f"OK {name}")
    progress.close()
    stream.write("3 converted\n")
    return stream.getvalue()


def test_not_a_terminal_gets_one_plain_line_per_file():
    assert _run(interactive=False) == "OK a.dm3\nOK b.emd\nOK c.tif\n3 converted\n"


def test_terminal_bar_is_redrawn_in_place_and_erased_before_each_line():
    output = _run(interactive=True)
    assert "\n[" not in output  # the bar never gets a line of its own
    bars = re.findall(r"\r(\[[#.]+\] \d/3)", output)
    assert [b.split()[-1] for b in bars] == ["1/3", "1/3", "2/3", "2/3", "3/3", "3/3"]
    assert bars[-1].startswith("[" + "#" * (len(bars[-1].split("]")[0]) - 1) + "]")  # full at the end
    visible = re.sub(r"\r\033\[K|\r\[[#.]+\] \d/3  [\d.]+ s", "", output)  # what remains on screen
    assert visible == "OK a.dm3\nOK b.emd\nOK c.tif\n3 converted\n"


def test_terminal_detection_follows_the_stream():
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert Progress(1, Tty()).interactive and not Progress(1, io.StringIO()).interactive
