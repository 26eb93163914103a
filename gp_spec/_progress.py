"""One progress display for long commands (``train``, ``reproduce``, ``bench``).

On a terminal it redraws one bar line in place; otherwise (a CI log, a pipe) it prints a
plain line at most every ``every`` seconds and one at the end, so logs stay short and
readable. It writes to ``sys.stderr`` so that machine-readable output on stdout stays clean.
No third-party dependency.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import TextIO

__all__ = ["Progress"]

_WIDTH = 24


def _clock(seconds: float) -> str:
    s = int(max(seconds, 0.0))
    return f"{s // 3600:d}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 \
        else f"{s // 60:d}:{s % 60:02d}"


class Progress:
    """``with Progress(total, "train") as bar: bar.update(1, "loss 0.3")``.

    Args:
      total: the number of units of work, or None when unknown (then no bar or ETA).
      label: what is being done, printed first on every line.
      stream: where to write (default ``sys.stderr``).
      every: seconds between plain lines when ``stream`` is not a terminal.
      enabled: False turns every call into a no-op (``--quiet``).
    """

    def __init__(self, total: int | None, label: str, *, stream: TextIO | None = None,
                 every: float = 10.0, enabled: bool = True) -> None:
        self.total = total
        self.label = label
        self.stream: TextIO = sys.stderr if stream is None else stream
        self.every = every
        self.enabled = enabled
        self.done = 0
        self.info = ""
        self._start = time.monotonic()
        self._last = -float("inf")
        isatty = getattr(self.stream, "isatty", None)
        try:
            self.tty = bool(isatty()) if callable(isatty) else False
        except (ValueError, OSError):  # a closed stream
            self.tty = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def line(self) -> str:
        """The current status as one line (without a newline)."""
        elapsed = time.monotonic() - self._start
        parts = [self.label]
        if self.total:
            frac = min(self.done / self.total, 1.0)
            if self.tty:
                filled = round(frac * _WIDTH)
                parts.append("[" + "#" * filled + "." * (_WIDTH - filled) + "]")
            parts.append(f"{self.done}/{self.total}")
            eta = elapsed / self.done * (self.total - self.done) if self.done else None
            parts.append(f"{_clock(elapsed)} elapsed"
                         + ("" if eta is None else f", ETA {_clock(eta)}"))
        else:
            parts.append(f"{self.done} done, {_clock(elapsed)} elapsed")
        if self.info:
            parts.append(self.info)
        return " ".join(parts)

    def update(self, n: int = 1, info: str | None = None) -> None:
        """Count ``n`` more units done; ``info`` replaces the trailing detail."""
        self.done += n
        if info is not None:
            self.info = info
        if not self.enabled:
            return
        now = time.monotonic()
        if self.tty:
            if now - self._last >= 0.1 or (self.total is not None and self.done >= self.total):
                self._write("\r\x1b[2K" + self.line())
                self._last = now
        elif now - self._last >= self.every:
            self._write(self.line() + "\n")
            self._last = now

    def close(self, info: str | None = None) -> None:
        """Print the final state once (a newline ends the bar on a terminal)."""
        if info is not None:
            self.info = info
        if not self.enabled:
            return
        self.enabled = False
        self._write(("\r\x1b[2K" if self.tty else "") + self.line() + "\n")

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (ValueError, OSError):  # the stream was closed under us: stay silent
            self.enabled = False
