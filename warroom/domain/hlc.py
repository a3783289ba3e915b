"""Hybrid logical clock (Kulkarni et al.): wall milliseconds plus a counter.

Last-writer-wins needs an order that every client agrees on and that never runs backwards,
even when a laptop's clock jumps back or two people act in the same millisecond. An HLC value
is the larger of the wall clock and the latest value seen, plus a counter to break ties; the
node (a short client id) and then the actor break any remaining tie.

Values are fixed-width strings (``000001743343920000-0000-ab12cd34``) so they compare
correctly as plain strings in Python, SQLite and JSON alike.

Time is bounded. A remote value more than ``MAX_CLOCK_SKEW`` ahead of our own clock is never
adopted: one event stamped in the year 2100 (or at the largest value the format can hold)
would otherwise drag every later local value along with it, so that nothing written here
could ever win a last-writer-wins field again, and the fixed-width wall field would finally
overflow and make every local write invalid. The arithmetic itself never leaves the format:
values saturate at ``WALL_MAX`` instead of growing a digit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from warroom.domain.clock import Clock

_WALL_DIGITS = 18
_COUNTER_DIGITS = 4
_COUNTER_LIMIT = 10**_COUNTER_DIGITS
WALL_MAX = 10**_WALL_DIGITS - 1
"""The largest wall value the fixed-width format can hold."""

_TIMEDELTA_MAX_MS = int(timedelta.max.total_seconds() * 1000) - 1

MAX_CLOCK_SKEW = timedelta(minutes=5)
"""How far ahead of our clock another client's (or the server's) clock may run before we
refuse its times: wide enough for laptops with a drifting clock, far too narrow for an event
to bury everyone's later changes."""


@dataclass(frozen=True, order=True)
class HlcValue:
    wall_ms: int
    counter: int
    node: str

    def encode(self) -> str:
        return f"{self.wall_ms:0{_WALL_DIGITS}d}-{self.counter:0{_COUNTER_DIGITS}d}-{self.node}"

    @classmethod
    def decode(cls, text: str) -> "HlcValue":
        try:
            wall, counter, node = text.split("-", 2)
        except ValueError:
            raise ValueError(f"not an HLC value: {text!r}") from None
        if (
            len(wall) != _WALL_DIGITS
            or len(counter) != _COUNTER_DIGITS
            or not node
            or not (wall.isdigit() and counter.isdigit())
        ):
            raise ValueError(f"not an HLC value: {text!r}")
        return cls(int(wall), int(counter), node)


def is_hlc(text: str) -> bool:
    try:
        HlcValue.decode(text)
    except ValueError:
        return False
    return True


def wall_ms(moment: datetime) -> int:
    """A datetime as HLC wall milliseconds, clamped to what the format can hold."""
    return max(0, min(WALL_MAX, int(moment.timestamp() * 1000)))


def hlc_time(text: str) -> datetime | None:
    """The wall-clock moment an HLC value claims (None for a value that is not an HLC or
    lies beyond any date Python can represent)."""
    from datetime import timezone

    try:
        value = HlcValue.decode(text)
        return datetime.fromtimestamp(value.wall_ms / 1000, timezone.utc)
    except (ValueError, OverflowError, OSError):
        return None


def ahead_by(text: str, now: datetime) -> timedelta | None:
    """How far an HLC value runs ahead of ``now`` (None when it does not)."""
    try:
        value = HlcValue.decode(text)
    except ValueError:
        return None
    ahead_ms = value.wall_ms - wall_ms(now)
    if ahead_ms <= 0:
        return None
    # Up to the end of the format is far past what a timedelta holds: saturate.
    return timedelta(milliseconds=min(ahead_ms, _TIMEDELTA_MAX_MS))


class HybridClock:
    """Issues monotonic HLC values for one client (``node``)."""

    def __init__(self, clock: Clock, node: str, max_skew: timedelta = MAX_CLOCK_SKEW) -> None:
        self._clock = clock
        self._node = node
        self.max_skew = max_skew
        self._last = HlcValue(0, 0, node)

    def tick(self) -> str:
        """A new value, strictly greater than every value issued or observed before (and
        never outside the format: at ``WALL_MAX`` it stays there, counting up)."""
        wall = wall_ms(self._clock.now())
        last = self._last
        if wall > last.wall_ms:
            self._last = HlcValue(wall, 0, self._node)
        elif last.counter + 1 < _COUNTER_LIMIT:
            self._last = HlcValue(last.wall_ms, last.counter + 1, self._node)
        elif last.wall_ms < WALL_MAX:
            # The counter is fixed-width; rather than overflow it, run one millisecond ahead
            # of the wall clock (only happens with a frozen clock or a huge burst).
            self._last = HlcValue(last.wall_ms + 1, 0, self._node)
        else:
            # Unreachable unless a value at the very end of time was adopted, which
            # observe() refuses; stay valid rather than grow a digit.
            self._last = HlcValue(WALL_MAX, _COUNTER_LIMIT - 1, self._node)
        return self._last.encode()

    @property
    def node(self) -> str:
        return self._node

    def resume(self, own: str) -> None:
        """Continue after a value this clock issued in an earlier session (read back from
        our own journal): adopted even when our wall clock has since jumped back, since it
        is our own history, not another machine's claim."""
        try:
            value = HlcValue.decode(own)
        except ValueError:
            return
        if (value.wall_ms, value.counter) > (self._last.wall_ms, self._last.counter):
            self._last = HlcValue(value.wall_ms, value.counter, self._node)

    def observe(self, remote: str) -> bool:
        """Fold in a value seen from another client, so our next tick orders after it.

        Returns False (and changes nothing) for a value that is not an HLC or that runs more
        than ``max_skew`` ahead of our clock: such a value is kept in the event it came with,
        never adopted as our own time."""
        try:
            other = HlcValue.decode(remote)
        except ValueError:
            return False
        if other.wall_ms > wall_ms(self._clock.now() + self.max_skew):
            return False
        if (other.wall_ms, other.counter) > (self._last.wall_ms, self._last.counter):
            self._last = HlcValue(other.wall_ms, other.counter, self._node)
        return True

    def observe_many(self, remotes) -> int:
        """Observe the largest acceptable value among ``remotes``; returns how many were
        refused for running too far ahead (one poisoned value must not hide the others)."""
        limit = f"{wall_ms(self._clock.now() + self.max_skew):0{_WALL_DIGITS}d}"
        refused = 0
        best = None
        for value in remotes:
            if value[:_WALL_DIGITS] > limit:
                refused += 1
            elif best is None or value > best:
                best = value
        if best is not None:
            self.observe(best)
        return refused
