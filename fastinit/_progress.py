"""A progress line for terminals: done / total, elapsed time, rate and an
estimate of the time left, redrawn in place.  Used by the command line, by
:func:`fastinit.sweep` and by the sweep benchmark."""
from __future__ import annotations

import sys
import time
from typing import IO, Callable, Optional


def _clock(seconds: float) -> str:
    """``75.2`` -> ``"1:15"``, ``3725`` -> ``"1:02:05"``."""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class ProgressLine:
    """``progress(done, total)`` callback that draws, on a terminal,

        training  9 / 16  0:12 elapsed, 0.75/s, about 0:09 left

    redrawn at most 10 times a second, with the cursor left at the line's
    start; erased when ``done == total``, and by :meth:`clear` before another
    line is printed (:func:`fastinit.train` calls it before each cost line).
    Silent when the stream is not a terminal (a log file, a pipe, a notebook)
    or when not ``enabled``.

    Parameters
    ----------
    enabled : bool
        False: draw nothing (``--quiet``).
    label : str
        What is counted ("iteration", "training", ...).
    stream : file, default sys.stderr
    """

    def __init__(self, enabled: bool = True, label: str = "iteration",
                 stream: Optional[IO[str]] = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        isatty = getattr(self.stream, "isatty", None)
        self.enabled = bool(enabled) and callable(isatty) and bool(isatty())
        self.label = label
        self.start: Optional[float] = None
        self.last = 0.0
        self.width = 0

    def text(self, done: int, total: int, elapsed: float) -> str:
        """The line for ``done`` of ``total`` after ``elapsed`` seconds."""
        line = f"  {self.label} {done:>{len(str(total))}} / {total}  {_clock(elapsed)} elapsed"
        if done > 0 and elapsed > 0:
            rate = done / elapsed
            line += f", {rate:.3g}/s" if rate < 1000 else f", {rate:,.0f}/s"
            if done < total:
                line += f", about {_clock((total - done) / rate)} left"
        return line

    def clear(self) -> None:
        """Erase the line (the next redraw draws it again)."""
        if self.enabled and self.width:
            self.stream.write(" " * self.width + "\r")
            self.stream.flush()
            self.width = 0

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if self.start is None:
            self.start = now
        if now - self.last < 0.1 and done < total:
            return
        self.last = now
        if done < total:
            text = self.text(done, total, now - self.start)
            self.stream.write(text.ljust(self.width) + "\r")
            self.width = len(text)
        else:
            self.stream.write(" " * self.width + "\r")
            self.width = 0
        self.stream.flush()


def terminal_progress(label: str) -> Optional[Callable[[int, int], None]]:
    """A :class:`ProgressLine` when standard error is a terminal, else None."""
    line = ProgressLine(True, label)
    return line if line.enabled else None
