"""The incident lifecycle: statuses in their usual order and which moves are allowed."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """The incident lifecycle, in its usual order."""

    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"

    @property
    def is_active(self) -> bool:
        return self is not Status.RESOLVED

    @classmethod
    def parse(cls, text: str) -> "Status":
        cleaned = text.strip().lower()
        found = [status for status in cls if cleaned and status.value.startswith(cleaned)]
        if len(found) == 1:
            return found[0]
        names = ", ".join(s.value for s in (found if len(found) > 1 else cls))
        what = "ambiguous" if len(found) > 1 else "unknown"
        raise ValueError(f"{what} status {text!r}: use one of {names}")


def allowed_transitions(current: Status) -> frozenset[Status]:
    """Where an incident may go next.

    An active incident may move to any other status: forward as the work progresses, or back
    (a mitigation that did not hold sends ``monitoring`` back to ``investigating``). A resolved
    incident may only be reopened, to ``investigating`` or ``identified``; reopening is logged.
    """
    if current is Status.RESOLVED:
        return frozenset({Status.INVESTIGATING, Status.IDENTIFIED})
    return frozenset(s for s in Status if s is not current)
