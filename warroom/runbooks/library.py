"""Where runbooks come from and how they become checklists of an incident.

Sources, later ones overriding earlier ones with the same id: the shipped samples
(``sample_data/runbooks`` and the role checklists in ``sample_data/checklists``), the user's
runbook dir under the platformdirs data dir, then any ``runbook_dirs`` from the config.
"""

from __future__ import annotations

from pathlib import Path

from warroom.runbooks.markdown import slugify
from warroom.runbooks.model import Runbook
from warroom.runbooks.parser import RunbookError, load_runbook_dir, search_runbooks
from warroom.store import paths

# Attached to every new incident: the IC's first minutes are the same whatever broke.
DECLARE_CHECKLIST_ID = "ic-first-five-minutes"
RESOLUTION_CHECKLIST_ID = "resolution"


def runbook_dirs(extra: list[Path] | None = None) -> list[Path]:
    return [*paths.shipped_runbook_dirs(), paths.user_runbook_dir(), *(extra or [])]


def load_library(extra: list[Path] | None = None) -> tuple[list[Runbook], list[RunbookError]]:
    """Every runbook that loads, and one error per file that does not."""
    return load_runbook_dir(runbook_dirs(extra))


def attach_fields(runbook: Runbook) -> dict:
    """The keyword arguments of ``commands.attach_runbook`` for this runbook."""
    steps = []
    for section in runbook.sections:
        for step in section.steps:
            steps.append(
                {
                    "id": step.id,
                    "text": step.text,
                    "section": section.title,
                    "depth": step.depth,
                    "code": list(step.code[:10]),
                }
            )
    name = Path(runbook.path).name
    # Collections repeat file names (etcd/README.md, kube/README.md): say which one.
    source = name if runbook.id == slugify(Path(runbook.path).stem) else f"{runbook.id} ({name})"
    return {"runbook_id": runbook.id, "title": runbook.title, "steps": steps, "source": source[:300]}


def runbooks_for_declare(runbooks: list[Runbook], incident_type: str | None, type_runbooks: list[str] | None = None) -> list[Runbook]:
    """What a new incident starts with: the IC checklist, the runbooks its type names, and
    the runbooks whose front matter says they are for that type."""
    chosen = [r for r in runbooks if r.id == DECLARE_CHECKLIST_ID]
    by_id = {r.id: r for r in runbooks}
    chosen += [by_id[i] for i in (type_runbooks or []) if i in by_id and by_id[i] not in chosen]
    if incident_type:
        wanted = incident_type.strip().lower()
        chosen += [r for r in runbooks if (r.incident_type or "").lower() == wanted and r not in chosen]
    return chosen


__all__ = [
    "DECLARE_CHECKLIST_ID",
    "RESOLUTION_CHECKLIST_ID",
    "attach_fields",
    "load_library",
    "runbook_dirs",
    "runbooks_for_declare",
    "search_runbooks",
]
