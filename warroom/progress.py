"""Progress bars for long command-line work (reading a big journal, importing a big file).

On a terminal, Rich draws a bar per step on stderr and removes it when the step is done; when
stderr is piped or redirected (scripts, CI, ``2>log``) nothing at all is printed, so output
stays clean. Library code never draws: it takes an optional ``progress(done, total)``
callback, and the front end passes one from here.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

ProgressCallback = Callable[[int, int], None]
"""``progress(done, total)``: how far a step has got, in its own units (bytes, lines, events)."""

# Steps smaller than this many units finish before a bar would be worth drawing.
_WORTH_A_BAR = 20_000


@contextmanager
def progress_bar(description: str, *, stream: TextIO | None = None, minimum: int = _WORTH_A_BAR) -> Iterator[ProgressCallback]:
    """A callback that drives one bar on ``stream`` (stderr) while the block runs.

    Nothing is drawn when ``stream`` is not a terminal or the step is smaller than
    ``minimum`` units."""
    stream = stream if stream is not None else sys.stderr
    if not getattr(stream, "isatty", lambda: False)():
        yield _ignore
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

    console = Console(file=stream)
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )
    task = None

    def update(done: int, total: int) -> None:
        nonlocal task
        if total < minimum:
            return
        if task is None:
            bar.start()
            task = bar.add_task(description, total=total)
        bar.update(task, completed=done, total=total)

    try:
        yield update
    finally:
        if task is not None:
            bar.stop()


def _ignore(done: int, total: int) -> None:
    """The callback when nothing is drawn."""


__all__ = ["ProgressCallback", "progress_bar"]
