"""Hybrid logical clock (Kulkarni et al.): wall milliseconds plus a counter.

Last-writer-wins needs an order that every client agrees on and that never runs backwards,
even when a laptop's clock jumps back or two people act in the same millisecond. An HLC value
is the larger of the wall clock and the latest value seen, plus a counter to break ties; the
node (a short client id) and then the actor break any remaining tie.

Values are fixed-width strings (``000001743343920000-0000-ab12cd34``) so they compare
correctly as plain strings in Python, SQLite and JSON alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from warroom.domain.clock import Clock

_WALL_DIGITS = 18
_COUNTER_DIGITS = 4
_COUNTER_LIMIT = 10**_COUNTER_DIGITS


@dataclass(frozen=True, order=True)
class HlcValue:
    wall_ms: int
    counter: int
    node: str

    def encode(self) -> str:
        return f"{self.wall_ms:0{_WALL_DIGITS}d}-{self.counter:0{_COUNTER_DIGITS}d}-{self.node}"

    @classmethod
    def decode(cls, text: str) -> "HlcValue":
        wall, counter, node = text.split("-", 2)
        if len(wall) != _WALL_DIGITS or len(counter) != _COUNTER_DIGITS or not node:
            raise ValueError(f"not an HLC value: {text!r}")
        return cls(int(wall), int(counter), node)


def is_hlc(text: str) -> bool:
    try:
        HlcValue.decode(text)
    except ValueError:
        return False
    return True


class HybridClock:
    """Issues monotonic HLC values for one client (``node``)."""

    def __init__(self, clock: Clock, node: str) -> None:
        self._clock = clock
        self._node = node
        self._last = HlcValue(0, 0, node)

    def tick(self) -> str:
        """A new value, strictly greater than every value issued or observed before."""
        wall = int(self._clock.now().timestamp() * 1000)
        if wall > self._last.wall_ms:
            self._last = HlcValue(wall, 0, self._node)
        elif self._last.counter + 1 < _COUNTER_LIMIT:
            self._last = HlcValue(self._last.wall_ms, self._last.counter + 1, self._node)
        else:
            # The counter is fixed-width; rather than overflow it, run one millisecond ahead
            # of the wall clock (only happens with a frozen clock or a huge burst).
            self._last = HlcValue(self._last.wall_ms + 1, 0, self._node)
        return self._last.encode()

    def observe(self, remote: str) -> None:
        """Fold in a value seen from another client, so our next tick orders after it."""
        other = HlcValue.decode(remote)
        if (other.wall_ms, other.counter) > (self._last.wall_ms, self._last.counter):
            self._last = HlcValue(other.wall_ms, other.counter, self._node)
