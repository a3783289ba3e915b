"""Events: every change to an incident is one immutable, self-describing event.

The envelope is the same for every kind (id, incident, kind, actor, times, HLC); the payload is
validated by the model registered for the kind. Payload models forbid unknown fields and bound
every string, so a malformed event is refused at the edge (journal reader, server, importer)
rather than half-applied.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from warroom.domain.postmortem import POSTMORTEM_KEYS
from warroom.domain.models import (
    HUMAN_ENTRY_KINDS,
    ActionStatus,
    ActionType,
    Milestone,
    Priority,
    CommsChannel,
    ComponentState,
    PERSON_MAX,
    ROLE_NAME_MAX,
    EntryKind,
    Severity,
    Status,
)
from warroom.domain.records import RunOutcome, Verdict

UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
HLC_PATTERN = r"^[0-9]{18}-[0-9]{4}-[0-9A-Za-z]{1,40}$"
SIG_PATTERN = r"^[0-9a-f]{16}:[A-Za-z0-9_-]{86}$"
"""``<key id>:<Ed25519 signature, base64url>``; see ``warroom.domain.signing``."""
SEALED_PATTERN = r"^v1\.[A-Za-z0-9_-]{38,}$"
"""``v1.<nonce + AES-GCM ciphertext, base64url>``; see ``warroom.domain.sealing``."""
SEALED_MAX = 22_000
TRUSTED_CANONICAL = "trusted_canonical"
MADE_FROM_MODEL = "made_from_model"
"""Validation context of an event whose payload is the ``canonical()`` of a payload model
just validated (the event factory's): checking it again would only cost time."""

TITLE_MAX = 200
TEXT_MAX = 4000
ACTOR_MAX = PERSON_MAX

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TITLE_MAX)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TEXT_MAX)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=TEXT_MAX)]
Person = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=PERSON_MAX)]
RoleName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=ROLE_NAME_MAX)
]
ShortName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Ticket = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
"""A ticket key (``PAY-123``) or a link to where an action item is tracked."""
PostmortemKey = Literal[POSTMORTEM_KEYS]  # type: ignore[valid-type]


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: ClassVar[str]
    omit_when_none: ClassVar[frozenset[str]] = frozenset()
    """Optional fields added after events were first written: left out of the canonical
    form while unset, so events written before them keep their exact bytes (and
    signatures)."""

    def canonical(self) -> dict[str, Any]:
        """The payload as stored and signed."""
        data = self.model_dump(mode="json")
        for name in self.omit_when_none:
            if data.get(name, 0) is None:
                del data[name]
        return data


class IncidentDeclared(Payload):
    """The incident exists from this event on."""

    kind: ClassVar[str] = "incident.declared"
    title: Title
    severity: Severity
    status: Status = Status.INVESTIGATING
    summary: LongText = ""
    impact: LongText = ""
    incident_type: ShortName | None = None


class IncidentUpdated(Payload):
    """One or more fields set at once; each is a last-writer-wins register."""

    kind: ClassVar[str] = "incident.updated"
    title: Title | None = None
    severity: Severity | None = None
    status: Status | None = None
    summary: LongText | None = None
    impact: LongText | None = None

    @model_validator(mode="after")
    def _at_least_one(self) -> "IncidentUpdated":
        if not self.changed_fields():
            raise ValueError("an update must set at least one field")
        return self

    def changed_fields(self) -> dict[str, Any]:
        return {name: value for name, value in self if value is not None}


class RoleAssigned(Payload):
    """Someone takes a role (or it is left empty: ``person`` None)."""

    kind: ClassVar[str] = "role.assigned"
    role: RoleName
    person: Person | None


DETAILS_MAX = 1000
"""Most fields an entry may carry (an alert's labels and annotations, for one)."""
DetailKey = Annotated[str, StringConstraints(min_length=1, max_length=200)]
DetailValue = Annotated[str, StringConstraints(max_length=TEXT_MAX)]
Sealed = Annotated[str, StringConstraints(pattern=SEALED_PATTERN, max_length=SEALED_MAX)]


def _text_or_sealed(payload):
    if (payload.text is None) == (payload.sealed is None):
        raise ValueError("an entry needs its text (or its sealed text), not both")
    return payload


# Entry text travels either in the clear (``text``) or sealed under a key of its own
# (``sealed``), so that an admin can purge it later by destroying the key. Field order is
# the canonical order of the stored JSON: new fields go last.
_ENTRY_TEXT_FIELDS = frozenset({"text", "sealed"})


class EntryLogged(Payload):
    """A line typed into the timeline; the envelope's ``at`` is when it happened."""

    kind: ClassVar[str] = "entry.logged"
    omit_when_none: ClassVar[frozenset[str]] = _ENTRY_TEXT_FIELDS
    entry_kind: EntryKind = EntryKind.NOTE
    text: Text | None = None
    markdown: bool = False
    """The text is Markdown (an imported postmortem timeline): exports keep its formatting
    instead of escaping it to render as typed."""
    details: dict[DetailKey, DetailValue] | None = Field(default=None, max_length=DETAILS_MAX)
    """Named fields behind the line, shown in the entry's detail (an alert's labels,
    annotations, fingerprint and links)."""
    sealed: Sealed | None = None

    @model_serializer(mode="wrap")
    def _leave_out_defaults(self, handler):
        # Entries without these fields keep the exact bytes they always had.
        data = handler(self)
        if not data.get("markdown"):
            data.pop("markdown", None)
        for name in ("details", "text", "sealed"):
            if data.get(name, 0) is None:
                data.pop(name, None)
        return data

    @field_validator("entry_kind")
    @classmethod
    def _human_kind(cls, value: EntryKind) -> EntryKind:
        if value not in HUMAN_ENTRY_KINDS:
            raise ValueError(f"{value.value!r} entries are written automatically")
        return value

    _one_text = model_validator(mode="after")(_text_or_sealed)


class EntryAmended(Payload):
    """New text for an entry; the old text stays in the entry's history."""

    kind: ClassVar[str] = "entry.amended"
    omit_when_none: ClassVar[frozenset[str]] = _ENTRY_TEXT_FIELDS
    entry_id: str
    text: Text | None = None
    sealed: Sealed | None = None

    _one_text = model_validator(mode="after")(_text_or_sealed)


class EntryRedacted(Payload):
    """Hide an entry's text (it stays in the journal, the entry stays in the timeline)."""

    kind: ClassVar[str] = "entry.redacted"
    entry_id: str
    reason: Text


class EntryPurged(Payload):
    """An admin purges a redacted entry: the keys of its sealed texts are destroyed on the
    server and on every client that syncs afterwards, so the text is gone for good while
    the events themselves (and the journals) stay append-only."""

    kind: ClassVar[str] = "entry.purged"
    entry_id: str = Field(pattern=UUID_PATTERN)
    reason: Text


class EventVoided(Payload):
    """An admin voids an accepted event (say one stamped far in the future): the fold
    leaves it out, the log keeps it. A void cannot itself be voided."""

    kind: ClassVar[str] = "event.voided"
    event_id: str = Field(pattern=UUID_PATTERN)
    reason: Text


StepId = Annotated[str, StringConstraints(min_length=1, max_length=200)]
RunbookId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class AttachedStep(Payload):
    """A runbook step as snapshotted into the attach event."""

    id: StepId
    text: Text
    section: Annotated[str, StringConstraints(max_length=TITLE_MAX)] = ""
    depth: int = Field(default=0, ge=0, le=10)
    code: list[Annotated[str, StringConstraints(max_length=TEXT_MAX)]] = Field(default_factory=list, max_length=10)


class RunbookAttached(Payload):
    """A runbook (or role checklist) becomes a checklist of this incident.

    The steps are copied into the event, so every participant sees the same checklist
    whatever runbook files their own machine has. Attaching the same runbook again replaces
    its steps; ticks on steps that still exist are kept."""

    kind: ClassVar[str] = "runbook.attached"
    runbook_id: RunbookId
    title: Title
    source: Annotated[str, StringConstraints(max_length=300)] = ""
    steps: list[AttachedStep] = Field(max_length=500)


class StepTicked(Payload):
    """A step done (or skipped, with a reason)."""

    kind: ClassVar[str] = "checklist.ticked"
    runbook_id: RunbookId
    step_id: StepId
    skipped_reason: Text | None = None


class StepUnticked(Payload):
    """Undo: removes exactly the ticks the person saw (add-wins: a tick made concurrently,
    which they had not seen, survives)."""

    kind: ClassVar[str] = "checklist.unticked"
    runbook_id: RunbookId
    step_id: StepId
    tick_ids: list[str] = Field(min_length=1, max_length=100)


TemplateId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
DraftText = Annotated[str, StringConstraints(min_length=1, max_length=20_000)]
ComponentName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]


class DraftSaved(Payload):
    """A version of a comms draft. ``bases`` are the versions it was edited from; two
    versions saved from the same base are a conflict, shown to people."""

    kind: ClassVar[str] = "comms.draft_saved"
    template_id: TemplateId
    text: DraftText
    bases: list[str] = Field(default_factory=list, max_length=20)


class UpdateSent(Payload):
    """An update went out; the cadence timer restarts from here."""

    kind: ClassVar[str] = "comms.sent"
    template_id: TemplateId
    channel: CommsChannel
    text: DraftText


class ComponentSet(Payload):
    """A status-page component's state (last writer wins per component)."""

    kind: ClassVar[str] = "component.set"
    component: ComponentName
    state: ComponentState


class ActionItemAdded(Payload):
    """A follow-up. ``from_entry`` links a promoted /todo entry."""

    kind: ClassVar[str] = "action_item.added"
    text: Title
    owner: Person | None = None
    due: date | None = None
    priority: Priority = Priority.MEDIUM
    type: ActionType = ActionType.CORRECTIVE
    from_entry: str | None = Field(default=None, max_length=64)
    ticket: Ticket | None = None


class ActionItemUpdated(Payload):
    """Change fields of an action item (each last-writer-wins). ``clear_owner`` /
    ``clear_due`` remove a value (None alone means "unchanged")."""

    kind: ClassVar[str] = "action_item.updated"
    item_id: str = Field(max_length=64)
    text: Title | None = None
    owner: Person | None = None
    due: date | None = None
    priority: Priority | None = None
    status: ActionStatus | None = None
    type: ActionType | None = None
    clear_owner: bool = False
    ticket: Ticket | None = None
    clear_due: bool = False
    clear_ticket: bool = False

    @model_validator(mode="after")
    def _something(self) -> "ActionItemUpdated":
        fields = self.model_dump(exclude={"item_id"}, exclude_defaults=True)
        if not fields:
            raise ValueError("an update must change at least one field")
        return self


class MilestoneSet(Payload):
    """A milestone set by hand; the envelope's ``at`` is the milestone's time."""

    kind: ClassVar[str] = "milestone.set"
    milestone: Milestone


class PostmortemSectionSet(Payload):
    """A postmortem section (root cause, what went well…), last writer wins."""

    kind: ClassVar[str] = "postmortem.section_set"
    section: PostmortemKey
    text: Annotated[str, StringConstraints(max_length=20_000)]


class HypothesisJudged(Payload):
    """A /hypothesis entry confirmed, ruled out, or opened again. The latest verdict (by
    HLC) stands; every verdict stays in the timeline."""

    kind: ClassVar[str] = "hypothesis.judged"
    entry_id: str = Field(max_length=64)
    verdict: Verdict
    reason: LongText = ""


# The whole output of a command travels inside its event, so it syncs and exports like any
# other fact. The cap keeps one event well inside a sync batch (1 MiB) even when JSON
# escaping doubles it; past the cap the event keeps the head and the tail.
OUTPUT_ATTACHMENT_MAX = 256 * 1024
SHA256_PATTERN = r"^[0-9a-f]{64}$"


class CommandRan(Payload):
    """Someone confirmed and ran a runbook step's command; the envelope's ``at`` is when it
    started. ``output`` is the attachment: the whole output up to the cap."""

    kind: ClassVar[str] = "command.ran"
    runbook_id: RunbookId
    step_id: StepId
    command: Annotated[str, StringConstraints(min_length=1, max_length=TEXT_MAX)]
    source: Annotated[str, StringConstraints(max_length=300)] = ""
    attached_by: Annotated[str, StringConstraints(max_length=PERSON_MAX)] = ""
    outcome: RunOutcome
    exit_code: int | None = Field(default=None, ge=-255, le=255)
    duration_ms: int = Field(ge=0, le=10**10)
    output: Annotated[str, StringConstraints(max_length=OUTPUT_ATTACHMENT_MAX)] = ""
    output_bytes: int = Field(ge=0)
    output_lines: int = Field(ge=0)
    output_sha256: str = Field(pattern=SHA256_PATTERN)
    truncated: bool = False
    full_output_at: Annotated[str, StringConstraints(max_length=500)] = ""


class UpdateDelivered(Payload):
    """An update reached a real destination (webhook, command). The event id is the
    delivery id the receiver saw, so a delivery is recorded once however often it is
    retried."""

    kind: ClassVar[str] = "comms.delivered"
    template_id: TemplateId
    channel: CommsChannel
    text: DraftText
    destination: ShortName
    """The kind of destination (``slack``, ``teams``, ``webhook``…), never its address."""
    attempts: int = Field(ge=1, le=1000)
    queued_at: AwareDatetime


PAYLOAD_MODELS: dict[str, type[Payload]] = {}


def register_payload(model: type[Payload]) -> type[Payload]:
    """Add an event kind. Later features (checklists, comms…) register theirs the same way."""
    PAYLOAD_MODELS[model.kind] = model
    return model


for _model in (
    IncidentDeclared,
    IncidentUpdated,
    RoleAssigned,
    EntryLogged,
    EntryAmended,
    EntryRedacted,
    EntryPurged,
    EventVoided,
    RunbookAttached,
    StepTicked,
    StepUnticked,
    DraftSaved,
    UpdateSent,
    ComponentSet,
    ActionItemAdded,
    ActionItemUpdated,
    MilestoneSet,
    PostmortemSectionSet,
    HypothesisJudged,
    CommandRan,
    UpdateDelivered,
):
    register_payload(_model)


class Event(BaseModel):
    """The envelope every change travels in, to the journal and over the wire."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=UUID_PATTERN, description="Client-generated UUIDv7; also the idempotency key.")
    incident_id: str = Field(pattern=UUID_PATTERN, description="UUID of the incident this event belongs to.")
    kind: str = Field(description="Event kind, e.g. 'entry.logged'; selects the payload model.")
    actor: Person = Field(description="Who made the change; a sync server refuses events whose actor is not the token's user (admins excepted).")
    at: AwareDatetime = Field(description="When it happened (UTC); may be backdated.")
    logged_at: AwareDatetime = Field(description="When it was recorded (UTC).")
    hlc: str = Field(pattern=HLC_PATTERN, max_length=64, description="Hybrid logical clock value; orders last-writer-wins fields.")
    payload: dict[str, Any] = Field(description="Kind-specific fields.")
    sig: str | None = Field(
        default=None,
        pattern=SIG_PATTERN,
        description="The author's Ed25519 signature, '<key id>:<base64url>'; left out when unsigned.",
    )

    @model_serializer(mode="wrap")
    def _leave_out_unsigned(self, handler):
        # Unsigned events keep the exact bytes they had before signatures existed.
        data = handler(self)
        if data.get("sig", 0) is None:
            del data["sig"]
        return data

    @model_validator(mode="after")
    def _payload_matches_kind(self, info: ValidationInfo) -> "Event":
        model = PAYLOAD_MODELS.get(self.kind)
        if model is None:
            raise ValueError(f"unknown event kind {self.kind!r}")
        made_here = bool(info.context and info.context.get(MADE_FROM_MODEL))
        parsed = None if made_here else model.model_validate(self.payload)
        # Every replica must hold identical values: times are kept in UTC.
        for name in ("at", "logged_at"):
            value = getattr(self, name)
            if value.utcoffset():
                try:
                    object.__setattr__(self, name, value.astimezone(timezone.utc))
                except OverflowError:  # year 1 at +01:00 has no UTC equivalent
                    raise ValueError(f"{name}: time out of range once converted to UTC") from None
        if parsed is not None and not (info.context and info.context.get(TRUSTED_CANONICAL)):
            # Store the canonical form (stripped strings, defaults filled) so every replica
            # folds identical payloads. Lines read back from our own checksummed journal
            # were written canonical, so re-dumping them would only cost time.
            object.__setattr__(self, "payload", parsed.canonical())
        return self

    def body(self) -> Payload:
        """The payload as its typed model."""
        return PAYLOAD_MODELS[self.kind].model_validate(self.payload)

    def order_key(self) -> tuple[str, str, str]:
        """Total order used by the fold: HLC, then actor, then id."""
        return (self.hlc, self.actor, self.id)


# Pydantic keeps, per instance, the set of field names it was given: 728 bytes for nine names,
# more than the event's own fields, so a 100,000-event incident spent 70 MB on copies of one
# of two sets. Events are frozen and pydantic copies the set before changing a copy's, so
# every event shares the one for its shape.
_SHARED_FIELD_SETS = {True: set(Event.model_fields), False: set(Event.model_fields) - {"sig"}}
_set_attribute = object.__setattr__


def _shared_fields_set(event: Event) -> Event:
    fields_set = event.__pydantic_fields_set__
    shared = _SHARED_FIELD_SETS["sig" in fields_set]
    if fields_set == shared:
        _set_attribute(event, "__pydantic_fields_set__", shared)
    return event


def parse_event(data: dict[str, Any]) -> Event:
    """Validate a decoded event; raises ``ValueError`` with a readable message."""
    try:
        return _shared_fields_set(Event.model_validate(data))
    except ValidationError as exc:
        raise ValueError(describe_validation_error(exc)) from None


def parse_canonical_event_json(raw: bytes) -> Event:
    """Validate an event from JSON that warroom itself wrote in canonical form (a journal line
    whose checksum matched). Every field is still validated; only re-canonicalising the
    payload is skipped. Raises ``ValueError`` with a readable message."""
    try:
        return _shared_fields_set(Event.model_validate_json(raw, context={TRUSTED_CANONICAL: True}))
    except ValidationError as exc:
        raise ValueError(describe_validation_error(exc)) from None


def describe_validation_error(exc: ValidationError) -> str:
    """Pydantic's errors as one sentence a person can act on."""
    parts = []
    for error in exc.errors()[:3]:
        where = ".".join(str(p) for p in error["loc"]) or "event"
        parts.append(f"{where}: {error['msg']}")
    more = len(exc.errors()) - 3
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)


def event_time(event: Event) -> datetime:
    return event.at
