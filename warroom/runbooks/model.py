"""Data model for parsed runbooks and role checklists.

The models are plain data: the parser builds them, the UI renders them, and
live checklist state (which steps a responder has ticked) lives elsewhere,
keyed by `Step.id`. They are frozen so one parsed runbook can be shared by
several views without one of them editing it under the others.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, computed_field


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)


class Step(_Frozen):
    """One actionable item of a runbook: a list item in the Markdown source."""

    id: str
    """Stable id `<section-slug>/<step-text-slug>`, e.g. `roll-back/undo-the-rollout`.

    Built from the section title and the step text rather than the position,
    so ticks recorded against an id survive steps being reordered or inserted
    above. Duplicates within a runbook get `-2`, `-3`... suffixes in document
    order. Editing a step's wording changes its id, which is what we want:
    a tick on the old wording does not apply to a different instruction.
    """

    text: str
    """The step's prose, with inline code kept in backticks and links as `text (url)`."""

    code: list[str] = []
    """The commands of the step: fenced blocks first (in order), then inline code spans
    that read as commands (see ``warroom.runbooks.code``); console prompts removed.

    Blocks come first because a fenced block is what an author means to be run.
    """

    snippets: list[str] = []
    """Code kept with the step that is not a command (output, YAML, JSON), fenced as written."""

    checked: bool = False
    """True when the source marks the step done (`- [x]`); lets a checklist ship pre-ticked items."""

    depth: int = 0
    """Nesting level: 0 for a top-level list item, 1 for an item in a sub-list, and so on."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def command(self) -> str | None:
        """The code to offer for "copy to clipboard": the first fenced block, else the first inline code."""
        return self.code[0] if self.code else None


class Section(_Frozen):
    """A heading and what follows it up to the next heading."""

    slug: str
    """URL-style slug of the title, unique within the runbook; the first part of each step id."""

    title: str
    """Heading text; `Introduction` for content that precedes the first heading."""

    level: int
    """Heading level 1-6, or 0 for the introduction section."""

    body: str = ""
    """The section's prose (paragraphs, quotes, unattached code), paragraphs separated by blank lines."""

    steps: list[Step] = []
    """Steps of the section in document order; nested items follow their parent."""

    found: list[str] = []
    """What the parser found here, as short phrases ("2 steps from list items", "1 quote
    (a prompt, not steps)"): ``warroom runbooks lint`` shows it."""


class Runbook(_Frozen):
    """A parsed runbook or role checklist."""

    id: str
    """Where the runbook comes from: the slug of its path under its runbook directory
    (``kafka/consumer-lag``; a folder's ``README.md`` is the folder, ``kafka``). A later
    directory's runbook with the same id overrides an earlier one's."""

    title: str
    """The first level-1 heading, or the file stem when there is none."""

    path: str
    """Where the runbook came from (a file path, or whatever `source` the caller gave)."""

    service: str | None = None
    """Front matter `service`: the service this runbook is about."""

    incident_type: str | None = None
    """Front matter `incident_type`: the kind of incident it applies to."""

    tags: list[str] = []
    """Front matter `tags`, in source order without duplicates."""

    extra: dict[str, Any] = {}
    """Front matter keys this version does not use, as JSON values, kept so nothing is lost."""

    sections: list[Section] = []
    """Sections in document order."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def step_count(self) -> int:
        """Number of steps across all sections."""
        return sum(len(section.steps) for section in self.sections)

    def iter_steps(self) -> Iterator[Step]:
        """Yield every step of every section, in document order."""
        for section in self.sections:
            yield from section.steps
