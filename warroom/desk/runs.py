"""Running a runbook step's command: what to show before asking, and what to log after.

``plan_run`` gathers everything a person needs to decide: the exact command, the step, the
runbook's file and who attached it, whether it matches this machine's own copy of that
runbook, and how it will run (shell, directory, timeout). Nothing runs here; the front end
shows the plan, asks, and only then builds a ``CommandRunner`` from it; ``Desk.record_run``
logs the result as an action entry with the output attached.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from warroom.domain.commands import DomainError
from warroom.domain.models import Incident
from warroom.runbooks.execute import CommandRefused, CommandRunner, check_command, user_shell
from warroom.runbooks.model import Runbook
from warroom.store.config import Config

OUTPUT_DIR = "command-output"
"""Under the data dir: whole outputs too large for their record."""


@dataclass(frozen=True)
class RunPlan:
    """One command, ready to be shown and confirmed."""

    incident_id: str
    runbook_id: str
    step_id: str
    step_text: str
    section: str
    command: str
    """Exactly what will run."""
    runbook_title: str
    source: str
    """The runbook file, as recorded when it was attached."""
    attached_by: str
    attached_at: datetime | None
    local_copy: str
    """How the command compares with this machine's own copy of the runbook."""
    shell: str
    cwd: Path
    timeout: float

    def describe_origin(self) -> str:
        when = f" at {self.attached_at:%H:%M} UTC" if self.attached_at else ""
        return f"{self.runbook_title} ({self.source or 'no file recorded'}), attached by {self.attached_by or 'unknown'}{when}"

    def describe_how(self) -> str:
        minutes, seconds = divmod(int(self.timeout), 60)
        limit = f"{minutes}m {seconds:02d}s" if minutes else f"{seconds}s"
        return f"{self.shell} -c, in {self.cwd}, with your environment; stopped after {limit}"


def runnable_step(incident: Incident, preferred: tuple[str, str] | None = None) -> tuple[str, str] | None:
    """The step whose command to run: ``preferred`` (the one under the cursor) if it has a
    command, else the first open step with a command, checklist by checklist."""
    if preferred is not None:
        checklist = incident.checklists.get(preferred[0])
        step = checklist.step(preferred[1]) if checklist else None
        if step is not None and step.code:
            return preferred
    for checklist in incident.checklists.values():
        for step in checklist.steps:
            if step.code and not step.done:
                return checklist.runbook_id, step.id
    return None


def plan_run(
    incident: Incident,
    runbook_id: str,
    step_id: str,
    *,
    config: Config,
    library: Iterable[Runbook] = (),
    cwd: Path | None = None,
) -> RunPlan:
    """Everything to show before asking; raises DomainError when it cannot run at all."""
    if config.no_exec:
        raise DomainError("running commands is turned off here (no_exec in the config); copy the command instead")
    checklist = incident.checklists.get(runbook_id)
    step = checklist.step(step_id) if checklist else None
    if checklist is None or step is None:
        raise DomainError("that step is not in this incident's checklists")
    if not step.code:
        raise DomainError(f"this step has no command: {step.text}")
    command = step.code[0]
    try:
        check_command(command)
    except CommandRefused as exc:
        raise DomainError(f"will not run this command: {exc}") from None
    return RunPlan(
        incident_id=incident.id,
        runbook_id=runbook_id,
        step_id=step_id,
        step_text=step.text,
        section=step.section,
        command=command,
        runbook_title=checklist.title,
        source=checklist.source,
        attached_by=checklist.attached_by,
        attached_at=checklist.attached_at,
        local_copy=_compare_with_local(runbook_id, step_id, command, checklist.source, library),
        shell=user_shell(),
        cwd=cwd or Path(os.getcwd()),
        timeout=config.command_timeout_seconds,
    )


def _compare_with_local(runbook_id: str, step_id: str, command: str, source: str, library: Iterable[Runbook]) -> str:
    """The attached checklist travelled in an event, possibly from someone else's machine:
    say whether this machine's own runbook agrees with it."""
    local = next((r for r in library if r.id == runbook_id), None)
    if local is None:
        return f"no runbook {runbook_id!r} on this machine to compare with"
    name = Path(local.path).name
    for section in local.sections:
        for step in section.steps:
            if step.id == step_id:
                if step.code and step.code[0] == command:
                    return f"same as your copy ({name})"
                return f"DIFFERS from your copy ({name}): read it carefully"
    return f"not in your copy ({name}): read it carefully"


def runner_for(plan: RunPlan, data_dir: Path, on_output: Callable[[str], None] | None = None) -> CommandRunner:
    """The runner for a confirmed plan (call only after the person said yes)."""
    return CommandRunner(
        plan.command,
        timeout=plan.timeout,
        on_output=on_output,
        shell=plan.shell,
        cwd=plan.cwd,
        spool_dir=data_dir / OUTPUT_DIR,
    )
