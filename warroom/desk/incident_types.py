"""Incident types from TOML: default SEV, runbooks to attach, roles to fill, cadence.

Sources, later overriding earlier by key: ``sample_data/incident_types.toml`` and
``incident_types.toml`` in the user's config dir. A broken file is reported (by name) and the
types of the other file still load.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from warroom.domain.models import Severity, canonical_role
from warroom.store import paths


class IncidentTypeError(Exception):
    """An incident-types file could not be used; the message names it."""


class IncidentType(BaseModel):
    """What a new incident of this type starts with."""

    model_config = ConfigDict(extra="forbid")

    key: str
    """The type itself (``payments``), stored on the incident."""
    name: str = ""
    """What the declare dialog shows."""
    severity: Severity | None = None
    """Suggested severity."""
    runbooks: list[str] = Field(default_factory=list)
    """Runbook ids attached at declaration."""
    roles: list[str] = Field(default_factory=list)
    """Roles to fill, shown as unassigned until someone takes them."""
    cadence_minutes: int | None = Field(default=None, ge=0, le=24 * 60)
    """Update cadence for incidents of this type; 0 turns it off."""

    @field_validator("severity", mode="before")
    @classmethod
    def _severity(cls, value):
        return Severity.parse(value) if value is not None else None

    @field_validator("roles")
    @classmethod
    def _roles(cls, roles: list[str]) -> list[str]:
        return [canonical_role(role) for role in roles]

    @property
    def label(self) -> str:
        return self.name or self.key


def type_files() -> list[Path]:
    return [paths.shipped_incident_types_file(), paths.user_incident_types_file()]


def load_incident_types(files: list[Path] | None = None) -> tuple[dict[str, IncidentType], list[IncidentTypeError]]:
    types: dict[str, IncidentType] = {}
    errors: list[IncidentTypeError] = []
    for path in files if files is not None else type_files():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            continue
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            errors.append(IncidentTypeError(f"{path}: {exc}"))
            continue
        for key, table in data.items():
            if not isinstance(table, dict):
                errors.append(IncidentTypeError(f"{path}: {key!r} must be a [table]"))
                continue
            try:
                types[key.lower()] = IncidentType(key=key.lower(), **table)
            except (ValidationError, ValueError) as exc:
                detail = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
                errors.append(IncidentTypeError(f"{path}: [{key}]: {detail}"))
    return types, errors
