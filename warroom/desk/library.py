"""What the desk works with besides the incidents: runbooks, comms templates, incident types.

Each part is read from its files the first time it is needed, so a command that never
touches templates never reads (or complains about) them. A file that cannot be used is a
``LibraryProblem``: reported once, by name, while the rest of the library loads.
``Library.load`` reads every part at once, for the TUI.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from warroom.domain.commands import DomainError
from warroom.store.config import Config

if TYPE_CHECKING:
    from warroom.comms.templates import Template
    from warroom.desk.incident_types import IncidentType
    from warroom.domain.models import Incident
    from warroom.runbooks.model import Runbook

RUNBOOKS = "runbook"
TEMPLATES = "template"
INCIDENT_TYPES = "incident type"


@dataclass(frozen=True)
class LibraryProblem:
    """One file of the library that could not be used."""

    part: str
    """``runbook``, ``template`` or ``incident type``."""
    message: str
    """Names the file and what is wrong with it."""


class Library:
    """The runbooks, comms templates and incident types of one configuration."""

    def __init__(self, config: Config | None = None, *, on_problem: Callable[[LibraryProblem], None] | None = None) -> None:
        self.config = config or Config()
        self.problems: list[LibraryProblem] = []
        """Every problem found so far, in the order the parts were read."""
        self._on_problem = on_problem

    @classmethod
    def load(cls, config: Config | None = None) -> tuple["Library", list[LibraryProblem]]:
        """Every part read now; the library and what could not be used."""
        library = cls(config)
        library.runbooks, library.templates, library.incident_types  # noqa: B018 - reads them
        return library, list(library.problems)

    def _report(self, part: str, errors) -> None:
        for error in errors:
            problem = LibraryProblem(part, str(error))
            self.problems.append(problem)
            if self._on_problem is not None:
                self._on_problem(problem)

    @cached_property
    def runbooks(self) -> list["Runbook"]:
        """Shipped runbooks and checklists, the user's, then the config's ``runbook_dirs``."""
        from warroom.runbooks.library import load_library

        runbooks, errors = load_library(self.config.runbook_dirs)
        self._report(RUNBOOKS, errors)
        return runbooks

    @cached_property
    def templates(self) -> dict[str, "Template"]:
        """Comms templates by id (later directories override earlier ones)."""
        from warroom.comms.templates import load_templates, template_dirs

        templates, errors = load_templates(template_dirs(self.config.template_dirs))
        self._report(TEMPLATES, errors)
        return templates

    @cached_property
    def incident_types(self) -> dict[str, "IncidentType"]:
        """Incident types by key (``payments``...)."""
        from warroom.desk.incident_types import load_incident_types

        types, errors = load_incident_types()
        self._report(INCIDENT_TYPES, errors)
        return types

    def incident_type(self, key: str | None) -> "IncidentType | None":
        return self.incident_types.get(key.lower()) if key else None

    def template(self, template_id: str) -> "Template":
        """The template, or a refusal naming the ones there are."""
        template = self.templates.get(template_id)
        if template is None:
            available = ", ".join(sorted(self.templates)) or "none"
            raise DomainError(f"no template {template_id!r}; available: {available}")
        return template

    def cadence_overrides(self, incident: "Incident") -> dict[str, int]:
        """Update cadence for this incident: its type's beats the config's per-SEV minutes."""
        from warroom.domain.cadence import overrides_for

        kind = self.incident_types.get(incident.incident_type or "")
        return overrides_for(incident, self.config.cadence_minutes, kind.cadence_minutes if kind else None)
