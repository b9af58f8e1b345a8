"""A plain text progress bar for long maintenance commands.

On a terminal it redraws one line; in a log (not a terminal) it writes a
line at every tenth of the work so the log stays short.
"""
from __future__ import annotations

from typing import TextIO


class ProgressBar:
    def __init__(self, total: int, stream: TextIO, label: str = "", width: int = 30):
        self.total = max(total, 1)
        self.stream = stream
        self.label = label
        self.width = width
        self.interactive = stream.isatty()
        self._last_tenth = -1

    def update(self, done: int) -> None:
        done = min(done, self.total)
        fraction = done / self.total
        if self.interactive:
            self.stream.write("\r" + self._render(done, fraction))
            self.stream.flush()
            return
        tenth = int(fraction * 10)
        if tenth > self._last_tenth:
            self._last_tenth = tenth
            self.stream.write(self._render(done, fraction) + "\n")
            self.stream.flush()

    def finish(self) -> None:
        if self.interactive:
            self.stream.write("\n")
            self.stream.flush()

    def _render(self, done: int, fraction: float) -> str:
        filled = int(fraction * self.width)
        bar = "#" * filled + "." * (self.width - filled)
        prefix = f"{self.label} " if self.label else ""
        return f"{prefix}[{bar}] {fraction:4.0%} {done}/{self.total}"
