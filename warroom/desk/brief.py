"""The situation brief for one incident, with the cadence its type and the config give it."""

from __future__ import annotations

from datetime import datetime

from warroom.comms.brief import situation_brief
from warroom.domain.cadence import overrides_for
from warroom.domain.models import Incident
from warroom.store.config import Config


def brief_text(incident: Incident, now: datetime, config: Config, incident_types: dict | None = None) -> str:
    """The brief as the console and ``warroom brief`` show it (same text from both)."""
    kind = (incident_types or {}).get(incident.incident_type or "")
    overrides = overrides_for(incident, config.cadence_minutes, kind.cadence_minutes if kind else None)
    return situation_brief(incident, now, cadence_overrides=overrides)
