"""The incident domain: roles, timeline entries, checklists, comms, follow-ups and the incident state.

Incident state is never edited directly: it is what ``warroom.domain.fold`` computes from the
incident's events. These models are what the UI, the CLI and the exporters read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field
from pydantic.json_schema import SkipJsonSchema

from warroom.domain.ids import matches_ref
from warroom.domain.records import CommandRun, HypothesisVerdict
from warroom.domain.text import normalize_name

# Severity and lifecycle have their own modules; they are re-exported here because the
# incident state is made of them and most readers want all three at once.
from warroom.domain.lifecycle import Status, allowed_transitions  # noqa: F401
from warroom.domain.severity import SEVERITY_INFO, Impact, Scope, Severity, SeverityInfo, suggest_severity  # noqa: F401
# What a postmortem is made of has its own module too.
from warroom.domain.postmortem import POSTMORTEM_CREDITS, POSTMORTEM_HEADINGS, POSTMORTEM_SECTIONS  # noqa: F401

# Core roles of common incident-response practice. Custom roles are any other short name.
INCIDENT_COMMANDER = "Incident Commander"
TECH_LEAD = "Tech Lead"
COMMS_LEAD = "Communications Lead"
SCRIBE = "Scribe"
CORE_ROLES: tuple[str, ...] = (INCIDENT_COMMANDER, TECH_LEAD, COMMS_LEAD, SCRIBE)

_ROLE_ALIASES = {
    "ic": INCIDENT_COMMANDER,
    "commander": INCIDENT_COMMANDER,
    "incident commander": INCIDENT_COMMANDER,
    "tl": TECH_LEAD,
    "tech": TECH_LEAD,
    "tech lead": TECH_LEAD,
    "technical lead": TECH_LEAD,
    "comms": COMMS_LEAD,
    "cl": COMMS_LEAD,
    "comms lead": COMMS_LEAD,
    "communications": COMMS_LEAD,
    "communications lead": COMMS_LEAD,
    "scribe": SCRIBE,
}

ROLE_NAME_MAX = 40
PERSON_MAX = 64


_ROLE_LOOKALIKES = (*CORE_ROLES, *_ROLE_ALIASES)


def canonical_role(name: str) -> str:
    """``ic`` → ``Incident Commander``; a custom role keeps its own (trimmed, NFKC) name.

    Refuses (``ValueError``) names that could pass for another one on screen: invisible
    characters (``Incident Commander\u200b``), Latin mixed with look-alike Cyrillic or Greek
    (``Incident Cоmmander``), or a spelling that only looks like a core role (``ІС``)."""
    cleaned = normalize_name(name, what="role name", lookalike_of=_ROLE_LOOKALIKES)
    if not cleaned:
        raise ValueError("a role needs a name")
    if len(cleaned) > ROLE_NAME_MAX:
        raise ValueError(f"role names are at most {ROLE_NAME_MAX} characters")
    return _ROLE_ALIASES.get(cleaned.lower(), cleaned)


def canonical_person(name: str) -> str:
    """A person's (user's) name as stored: NFKC, whitespace collapsed; refuses invisible
    characters and look-alike letters (``ValueError``), so ``bob`` has no double."""
    cleaned = normalize_name(name, what="user name")
    if not cleaned:
        raise ValueError("a user name cannot be empty")
    if len(cleaned) > PERSON_MAX:
        raise ValueError(f"user names are at most {PERSON_MAX} characters")
    return cleaned


class EntryKind(StrEnum):
    """What a timeline entry records. The first five are typed by people; the rest are
    written automatically when the incident's state changes."""

    NOTE = "note"
    DECISION = "decision"
    ACTION = "action"
    HYPOTHESIS = "hypothesis"
    TODO = "todo"
    # automatic
    DECLARED = "declared"
    SEVERITY = "severity"
    STATUS = "status"
    TITLE = "title"
    ROLE = "role"
    SUMMARY = "summary"
    IMPACT = "impact"
    UPDATE = "update"
    RUNBOOK = "runbook"
    CHECKLIST = "checklist"
    COMMS = "comms"
    COMPONENT = "component"
    ACTION_ITEM = "action item"
    MILESTONE = "milestone"
    POSTMORTEM = "postmortem"
    VERDICT = "verdict"

    @property
    def is_automatic(self) -> bool:
        return self not in HUMAN_ENTRY_KINDS


HUMAN_ENTRY_KINDS = frozenset(
    {EntryKind.NOTE, EntryKind.DECISION, EntryKind.ACTION, EntryKind.HYPOTHESIS, EntryKind.TODO}
)

KEY_ENTRY_KINDS = HUMAN_ENTRY_KINDS | frozenset(
    {EntryKind.DECLARED, EntryKind.SEVERITY, EntryKind.STATUS, EntryKind.TITLE, EntryKind.ROLE, EntryKind.MILESTONE}
)
"""What a postmortem reader needs from the timeline: what people wrote, plus the declaration,
SEV, status, title and role changes and milestones; checklist ticks, comms and other
bookkeeping are left out."""


@dataclass(slots=True)
class EntryRevision:
    """One version of an entry's text: the original, an amendment, or a redaction."""

    at: datetime
    """When this revision was logged (UTC)."""
    actor: str
    """Who wrote it."""
    text: str
    """The text as of this revision (a redaction keeps the reason here)."""
    event_id: str
    """The event that made this revision."""
    redaction: bool = False
    """True when this revision redacted the entry."""


# Timeline entries are plain slotted dataclasses rather than pydantic models: a timeline may
# hold 100,000 of them, and building pydantic instances was most of the cost of a fold (and
# several times the memory). Pydantic still validates and serializes them as fields of
# ``Incident``.
@dataclass(slots=True, eq=True)
class TimelineEntry:
    """One line of the incident timeline."""

    id: str
    """The id of the event that created the entry (amendments point at it)."""
    at: datetime
    """When it happened (UTC); may be earlier than ``logged_at`` when backdated."""
    logged_at: datetime
    """When it was typed (UTC)."""
    actor: str
    """Who logged it (for automatic entries: who made the change)."""
    kind: EntryKind
    """Note, decision, action, hypothesis, todo, or an automatic state-change kind."""
    text: str
    """The current text (after amendments); empty when redacted."""
    hlc: str
    """Hybrid logical clock of the creating event; breaks ties between equal ``at``."""
    redacted: bool = False
    """Redacted entries stay in the timeline (nothing is deleted) but their text is hidden."""
    history: list[EntryRevision] | None = None
    """Every version once the entry has been amended or redacted (the original first);
    None while it has only its original text, which saves a list per entry."""
    markdown: bool = False
    """The text is Markdown (imported from a postmortem): exported as Markdown, not escaped."""
    details: dict[str, str] | None = None
    """Named fields behind the line (an alert's labels, annotations and links), if any."""
    sealed_text: Annotated[Callable[[str], str] | None, Field(exclude=True), SkipJsonSchema()] = field(
        default=None, repr=False, compare=False
    )
    """Opens the entry's sealed text from its id, while not opened yet (see ``_read_text``)."""

    @property
    def revisions(self) -> list[EntryRevision]:
        """Every version, oldest first; more than one means amended or redacted."""
        if self.history is not None:
            return self.history
        return [EntryRevision(self.logged_at, self.actor, self.text, self.id)]

    def add_revision(self, revision: EntryRevision) -> None:
        if self.history is None:
            self.history = self.revisions
        self.history.append(revision)

    @property
    def amended(self) -> bool:
        return self.history is not None and len(self.history) > 1

    @property
    def backdated(self) -> bool:
        return (self.logged_at - self.at).total_seconds() >= 60


# A 100,000-entry incident would open every sealed text when it loads, though only a screenful
# is drawn: ``text`` opens it when first read (drawn, searched, exported) and keeps it. Opening
# asks the key store at that moment, so a purged key leaves the text unreadable.
_text_slot = TimelineEntry.text  # type: ignore[attr-defined]


def _read_text(entry: TimelineEntry) -> str:
    opener = entry.sealed_text
    if opener is not None:
        _text_slot.__set__(entry, opener(entry.id))
        entry.sealed_text = None
    return _text_slot.__get__(entry)


def _write_text(entry: TimelineEntry, text: str) -> None:
    entry.sealed_text = None
    _text_slot.__set__(entry, text)


TimelineEntry.text = property(_read_text, _write_text, doc="The current text (after amendments); empty when redacted.")  # type: ignore[assignment]


@dataclass(slots=True)
class Tick:
    """One person marking a checklist step done (or skipped, with a reason)."""

    id: str
    """The event id; an untick names the tick ids it saw, so a concurrent tick survives."""
    actor: str
    at: datetime
    skipped_reason: str | None = None
    """Set when the step was skipped rather than done."""


class ChecklistStep(BaseModel):
    """A runbook step as attached to this incident, with its ticks."""

    id: str
    """Stable step id from the runbook (``section/step-text-slug``)."""
    text: str
    section: str = ""
    """Title of the runbook section the step belongs to."""
    depth: int = 0
    """Nesting level in the runbook's lists."""
    code: list[str] = Field(default_factory=list)
    """Commands attached to the step; the first is what "copy" copies."""
    ticks: dict[str, Tick] = Field(default_factory=dict)
    """Live ticks by tick id; several people ticking at once all count."""

    @property
    def done(self) -> bool:
        return bool(self.ticks)

    @property
    def skipped(self) -> bool:
        """Done only by skipping (every live tick is a skip)."""
        return bool(self.ticks) and all(t.skipped_reason is not None for t in self.ticks.values())

    @property
    def last_tick(self) -> Tick | None:
        return max(self.ticks.values(), key=lambda t: (t.at, t.id)) if self.ticks else None

    @property
    def command(self) -> str | None:
        return self.code[0] if self.code else None


class Checklist(BaseModel):
    """A runbook or role checklist attached to the incident."""

    runbook_id: str
    title: str
    source: str = ""
    """Where the runbook came from (file name), for people, not for logic."""
    attached_by: str = ""
    attached_at: datetime | None = None
    steps: list[ChecklistStep] = Field(default_factory=list)

    @property
    def progress(self) -> tuple[int, int]:
        return sum(1 for s in self.steps if s.done), len(self.steps)

    def step(self, step_id: str) -> ChecklistStep | None:
        for step in self.steps:
            if step.id == step_id:
                return step
        return None

    def next_open(self) -> ChecklistStep | None:
        return next((s for s in self.steps if not s.done), None)


class ComponentState(StrEnum):
    """Status-page states (the usual statuspage vocabulary)."""

    OPERATIONAL = "operational"
    DEGRADED = "degraded performance"
    PARTIAL_OUTAGE = "partial outage"
    MAJOR_OUTAGE = "major outage"
    MAINTENANCE = "under maintenance"

    @classmethod
    def parse(cls, text: str) -> "ComponentState":
        cleaned = " ".join(text.strip().lower().replace("_", " ").replace("-", " ").split())
        matches = [state for state in cls if state.value.startswith(cleaned) or state.name.lower().startswith(cleaned.replace(" ", "_"))]
        if cleaned and len(matches) == 1:
            return matches[0]
        names = ", ".join(state.value for state in cls)
        raise ValueError(f"unknown component state {text!r}: use one of {names}")


class CommsChannel(StrEnum):
    """Where an update was sent."""

    INTERNAL = "internal"
    STATUS_PAGE = "status page"
    CUSTOMERS = "customers"
    EXEC = "exec"


class DraftVersion(BaseModel):
    """One saved version of a comms draft. Every version is kept."""

    id: str
    """The event id."""
    template_id: str
    actor: str
    at: datetime
    text: str
    bases: list[str] = Field(default_factory=list)
    """The versions this one was edited from; a version nobody built on is a head."""


class SentUpdate(BaseModel):
    """An update marked as sent: what, where, by whom."""

    id: str
    at: datetime
    actor: str
    channel: CommsChannel
    template_id: str
    text: str
    destination: str = ""
    """Where it was delivered (``slack``, ``webhook``…); empty when marked sent by hand."""
    attempts: int = 0
    """Delivery attempts it took; 0 when marked sent by hand."""


class ActionStatus(StrEnum):
    TODO = "todo"
    IN_PROGRESS = "in progress"
    DONE = "done"


class ActionType(StrEnum):
    """Follow-up work by purpose (common postmortem practice)."""

    DETECTIVE = "detective"
    """Find it sooner next time (alerts, dashboards)."""
    PREVENTATIVE = "preventative"
    """Stop it happening again."""
    CORRECTIVE = "corrective"
    """Repair the damage or the root cause."""


class Priority(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class ActionItem(BaseModel):
    """A follow-up with an owner; every field is last-writer-wins."""

    id: str
    """The id of the event that created it."""
    text: str
    owner: str | None = None
    due: date | None = None
    priority: Priority = Priority.MEDIUM
    status: ActionStatus = ActionStatus.TODO
    type: ActionType = ActionType.CORRECTIVE
    ticket: str | None = None
    """Where the work is tracked: a ticket key (``PAY-123``) or a link."""
    created_by: str = ""
    created_at: datetime | None = None
    from_entry: str | None = None
    """The timeline entry (a /todo) it was promoted from, if any."""


class Milestone(StrEnum):
    """The moments incident metrics are measured between, in the order they must happen."""

    DETECTED = "detected"
    ACKNOWLEDGED = "acknowledged"
    DECLARED = "declared"
    MITIGATED = "mitigated"
    RESOLVED = "resolved"


class StateChange(BaseModel):
    """One severity or status change (old → new), for the postmortem's picture of phases."""

    at: datetime
    field: str
    """``severity`` or ``status``."""
    old: str
    new: str


class RoleChange(BaseModel):
    """One assignment or handover, for the roster's history."""

    at: datetime
    role: str
    old: str | None
    new: str | None
    actor: str


class Incident(BaseModel):
    """The folded state of one incident."""

    id: str
    """Client-generated UUIDv7 of the incident."""
    title: str = "(unknown incident)"
    severity: Severity = Severity.SEV4
    status: Status = Status.INVESTIGATING
    status_since: datetime | None = None
    """When the incident entered its current status."""
    summary: str = ""
    """What is happening, in a sentence or two."""
    impact: str = ""
    """Who is affected and how, as people would say it in an update."""
    incident_type: str | None = None
    """Optional category (``payments``, ``database``…) used to pre-attach runbooks."""
    declared_at: datetime | None = None
    """When the incident was declared; None until the declaring event has been seen."""
    declared_by: str | None = None
    resolved_at: datetime | None = None
    """When it was last set to resolved; None while active (reopening clears it)."""
    roles: dict[str, str | None] = Field(default_factory=dict)
    """Role name → person holding it (None: explicitly unassigned)."""
    role_history: list[RoleChange] = Field(default_factory=list)
    state_changes: list[StateChange] = Field(default_factory=list)
    """Every severity and status change after the declaration, in the order applied."""
    timeline: list[TimelineEntry] = Field(default_factory=list)
    """Entries sorted by (at, hlc)."""
    checklists: dict[str, Checklist] = Field(default_factory=dict)
    """Attached runbooks and role checklists by runbook id, in attach order."""
    drafts: dict[str, list[DraftVersion]] = Field(default_factory=dict)
    """Saved comms drafts by template id, every version, oldest first."""
    sent_updates: list[SentUpdate] = Field(default_factory=list)
    """Updates marked as sent, oldest first; the last one restarts the cadence."""
    components: dict[str, ComponentState] = Field(default_factory=dict)
    """Status-page components affected by the incident and their current state."""
    action_items: dict[str, ActionItem] = Field(default_factory=dict)
    """Follow-ups by id, in creation order."""
    milestones_set: dict[Milestone, datetime] = Field(default_factory=dict)
    """Milestones people set by hand; they override the automatic ones."""
    postmortem: dict[str, str] = Field(default_factory=dict)
    """Postmortem sections written so far (keys of POSTMORTEM_SECTIONS)."""
    verdicts: dict[str, HypothesisVerdict] = Field(default_factory=dict)
    """The latest verdict per /hypothesis entry id; an entry without one is open."""
    command_runs: dict[str, CommandRun] = Field(default_factory=dict)
    """Commands run from runbook steps, by event id (also their timeline entry's id)."""
    mitigated_at: datetime | None = None
    """First time the status became monitoring (impact stopped, watching)."""
    last_hlc: str = ""
    """The largest HLC applied; events arriving with a smaller one force a re-fold."""
    event_count: int = 0
    problems: list[str] = Field(default_factory=list)
    """Events that could not be applied (e.g. an amendment of an entry never seen)."""

    @property
    def is_active(self) -> bool:
        return self.status.is_active

    @property
    def commander(self) -> str | None:
        return self.roles.get(INCIDENT_COMMANDER)

    @property
    def milestones(self) -> dict[Milestone, datetime]:
        """Every known milestone: set by hand, else derived from the timeline and status
        changes (detected = the earliest entry, declared, mitigated = first monitoring,
        resolved)."""
        automatic: dict[Milestone, datetime | None] = {
            # The timeline is sorted by time: its first entry is the earliest known moment.
            Milestone.DETECTED: self.timeline[0].at if self.timeline else self.declared_at,
            Milestone.DECLARED: self.declared_at,
            Milestone.MITIGATED: self.mitigated_at,
            Milestone.RESOLVED: self.resolved_at,
        }
        found = {m: at for m, at in automatic.items() if at is not None}
        found.update(self.milestones_set)
        return {m: found[m] for m in Milestone if m in found}

    def draft_heads(self, template_id: str) -> list[DraftVersion]:
        """The latest versions of a draft: more than one means people saved concurrently
        (a conflict to show, never to resolve silently)."""
        versions = self.drafts.get(template_id, [])
        superseded = {base for version in versions for base in version.bases}
        return [v for v in versions if v.id not in superseded]

    @property
    def last_update_at(self) -> datetime | None:
        return self.sent_updates[-1].at if self.sent_updates else None

    def entry(self, entry_ref: str) -> TimelineEntry | None:
        """The entry with this id or short id; None if there is none or the ref is ambiguous."""
        found = [entry for entry in self.timeline if matches_ref(entry.id, entry_ref)]
        return found[0] if len(found) == 1 else None

    def elapsed_seconds(self, now: datetime) -> float:
        """The incident's duration, one definition for the header, the lists, the comms
        templates, the metrics and the postmortem: from detection (the earliest moment known,
        see ``milestones``) to resolution, or to ``now`` while it is still active."""
        if self.declared_at is None:
            return 0.0
        known = self.milestones
        start = known.get(Milestone.DETECTED, self.declared_at)
        end = known.get(Milestone.RESOLVED, now) if not self.is_active else now
        return max(0.0, (end - start).total_seconds())


def incident_sort_key(incident: Incident) -> tuple:
    """Active first, then most severe, then oldest (longest-burning) first; resolved last,
    most recently resolved first."""
    if incident.is_active:
        declared = incident.declared_at.timestamp() if incident.declared_at else 0.0
        return (0, incident.severity.rank, declared, incident.id)
    resolved = incident.resolved_at.timestamp() if incident.resolved_at else 0.0
    return (1, -resolved, 0, incident.id)


def format_duration(seconds: float) -> str:
    """``3725`` → ``1h 02m 05s``; short durations stay short (``42s``, ``5m 03s``)."""
    seconds = int(max(0, seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours >= 24:
        days, hours = divmod(hours, 24)
        return f"{days}d {hours:02d}h {minutes:02d}m"
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"
