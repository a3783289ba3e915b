"""Severity: SEV1-SEV4 with what each means, and the impact × scope matrix that suggests one.

Definitions, response times and update cadences follow common SRE practice; the cadence
defaults live here so ``warroom.domain.cadence`` and the declare dialog read the same table.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Severity(StrEnum):
    """SEV1 is the worst. Definitions and response times follow common SRE practice."""

    SEV1 = "SEV1"
    SEV2 = "SEV2"
    SEV3 = "SEV3"
    SEV4 = "SEV4"

    @property
    def rank(self) -> int:
        return int(self.value[3])

    @property
    def info(self) -> "SeverityInfo":
        return SEVERITY_INFO[self]

    @classmethod
    def parse(cls, text: str | int) -> "Severity":
        """Accepts ``1``, ``"1"``, ``"sev1"``, ``"SEV-1"``, ``"Sev 1"``."""
        cleaned = str(text).strip().upper().replace("-", "").replace(" ", "")
        if cleaned.isdigit():
            cleaned = f"SEV{cleaned}"
        try:
            return cls(cleaned)
        except ValueError:
            raise ValueError(f"unknown severity {text!r}: use 1-4 or SEV1-SEV4") from None


class SeverityInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    label: str
    """One word: Critical, High, Medium, Low."""
    definition: str
    """What makes an incident this severe."""
    example: str
    """A typical incident of this severity."""
    response_minutes: int | None
    """How soon someone must respond; None means the next business day."""
    update_every_minutes: int | None
    """Default cadence of status updates; None means no cadence is enforced."""


SEVERITY_INFO: dict[Severity, SeverityInfo] = {
    Severity.SEV1: SeverityInfo(
        label="Critical",
        definition="Complete outage, data loss or security breach; all users affected",
        example="Site down, payments failing for everyone",
        response_minutes=5,
        update_every_minutes=15,
    ),
    Severity.SEV2: SeverityInfo(
        label="High",
        definition="Major feature broken or degraded; significant share of users affected",
        example="Login failing for a fifth of users",
        response_minutes=15,
        update_every_minutes=30,
    ),
    Severity.SEV3: SeverityInfo(
        label="Medium",
        definition="Degraded performance or a minor feature broken; limited impact",
        example="Search slow, a non-critical feature down",
        response_minutes=60,
        update_every_minutes=60,
    ),
    Severity.SEV4: SeverityInfo(
        label="Low",
        definition="Minor issue with a workaround; little or no user impact",
        example="UI glitch, a non-critical error spike",
        response_minutes=None,
        update_every_minutes=None,
    ),
}


class Impact(StrEnum):
    """How badly the affected users are hit (rows of the severity matrix)."""

    COMPLETE_LOSS = "complete loss"
    DEGRADED = "degraded"
    INCONVENIENCE = "inconvenience"


class Scope(StrEnum):
    """How many users or how much of the service is hit (columns of the severity matrix)."""

    WIDESPREAD = "widespread"
    LIMITED = "limited"
    MINIMAL = "minimal"


_MATRIX: dict[tuple[Impact, Scope], Severity] = {
    (Impact.COMPLETE_LOSS, Scope.WIDESPREAD): Severity.SEV1,
    (Impact.COMPLETE_LOSS, Scope.LIMITED): Severity.SEV2,
    (Impact.COMPLETE_LOSS, Scope.MINIMAL): Severity.SEV3,
    (Impact.DEGRADED, Scope.WIDESPREAD): Severity.SEV2,
    (Impact.DEGRADED, Scope.LIMITED): Severity.SEV3,
    (Impact.DEGRADED, Scope.MINIMAL): Severity.SEV4,
    (Impact.INCONVENIENCE, Scope.WIDESPREAD): Severity.SEV3,
    (Impact.INCONVENIENCE, Scope.LIMITED): Severity.SEV4,
    (Impact.INCONVENIENCE, Scope.MINIMAL): Severity.SEV4,
}


def suggest_severity(impact: Impact, scope: Scope) -> Severity:
    """The severity matrix: impact × scope → SEV (the declare dialog's suggestion)."""
    return _MATRIX[(impact, scope)]
