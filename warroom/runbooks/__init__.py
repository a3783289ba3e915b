"""Runbooks and role checklists: Markdown files parsed into sections and tickable steps.

This package is the pure parsing layer (no UI, no network). The lint command
(`warroom runbooks lint`) is part of the command line, in `warroom.cli.runbooks`.
"""

from warroom.runbooks.model import Runbook, Section, Step
from warroom.runbooks.parser import (
    MAX_RUNBOOK_BYTES,
    RunbookError,
    load_runbook,
    load_runbook_dir,
    parse_runbook,
    runbook_files,
    search_runbooks,
)

__all__ = [
    "MAX_RUNBOOK_BYTES",
    "Runbook",
    "RunbookError",
    "Section",
    "Step",
    "load_runbook",
    "load_runbook_dir",
    "parse_runbook",
    "runbook_files",
    "search_runbooks",
]
