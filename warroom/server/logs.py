"""The server's log: a few lines of each kind, then a count, never a flood.

Under attack the same line repeats thousands of times a second (a refused connection, a
malformed request, asyncio's "out of system resource"), and writing them all costs more than
the attack and fills the disk. ``RateLimitFilter`` lets ``burst`` lines of each kind through
per ``window`` seconds and counts the rest; ``flush`` (called every window by the server, and
when the window of that kind rolls over) writes one summary line per kind that was held back.
A kind is the logger plus the first line of the message template, so lines that differ only
in their arguments (a client address) count as one kind.
"""

from __future__ import annotations

import logging
import sys
import threading
import time

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class RateLimitFilter(logging.Filter):
    """Passes ``burst`` records of each kind per ``window`` seconds; counts the others."""

    def __init__(self, burst: int = 5, window: float = 10.0, clock=time.monotonic) -> None:
        super().__init__()
        self.burst = burst
        self.window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._kinds: dict[tuple[str, str], list] = {}  # kind -> [window start, passed, held, level]
        self._out: logging.Logger | None = None

    @staticmethod
    def kind_of(record: logging.LogRecord) -> tuple[str, str]:
        return record.name, str(record.msg).split("\n", 1)[0][:120]

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "warroom_summary", False):
            return True
        kind = self.kind_of(record)
        now = self._clock()
        summary = None
        with self._lock:
            state = self._kinds.get(kind)
            if state is None or now - state[0] >= self.window:
                if state is not None and state[2]:
                    summary = (kind, state[2], now - state[0], state[3])
                state = self._kinds[kind] = [now, 0, 0, record.levelno]
            if state[1] < self.burst:
                state[1] += 1
                passed = True
            else:
                state[2] += 1
                passed = False
        if summary is not None:
            self._summarise(*summary)
        return passed

    def flush(self, *, everything: bool = False) -> int:
        """Write a summary for every kind held back in a window that has ended (``everything``:
        in any window, as the server stops); returns how many lines they stand for."""
        now = self._clock()
        due = []
        with self._lock:
            for kind, state in list(self._kinds.items()):
                if everything or now - state[0] >= self.window:
                    if state[2]:
                        due.append((kind, state[2], now - state[0], state[3]))
                    del self._kinds[kind]
        for item in due:
            self._summarise(*item)
        return sum(item[1] for item in due)

    def _summarise(self, kind: tuple[str, str], held: int, seconds: float, level: int) -> None:
        name, first_line = kind
        logging.getLogger(name).log(
            level,
            "... and %d more like %r in the last %.0f s (not written one by one)",
            held,
            first_line,
            seconds,
            extra={"warroom_summary": True},
        )


def install(level: int = logging.WARNING, *, burst: int = 5, window: float = 10.0) -> RateLimitFilter:
    """Send every logger (ours, uvicorn's, asyncio's) through one rate-limited handler on
    stderr; returns the filter so the server can ``flush`` it periodically."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    limiter = RateLimitFilter(burst=burst, window=window)
    handler.addFilter(limiter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "asyncio"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        logger.setLevel(level)
    return limiter
