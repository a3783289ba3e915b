"""Commands: what a person asks for, checked against the current state, becomes events.

The fold accepts any valid event (it must, to converge); rules such as allowed status
transitions are enforced here, where a person asks for the change, so they get an immediate,
readable refusal instead of a surprising state.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from pydantic import ValidationError

from warroom.domain.clock import Clock
from warroom.domain.events import (
    MADE_FROM_MODEL,
    ActionItemAdded,
    ActionItemUpdated,
    AttachedStep,
    CommandRan,
    HypothesisJudged,
    UpdateDelivered,
    MilestoneSet,
    PostmortemSectionSet,
    ComponentSet,
    DraftSaved,
    UpdateSent,
    RunbookAttached,
    StepTicked,
    StepUnticked,
    EntryAmended,
    EntryLogged,
    EntryPurged,
    EntryRedacted,
    Event,
    EventVoided,
    IncidentDeclared,
    IncidentUpdated,
    Payload,
    RoleAssigned,
    describe_validation_error,
)
from warroom.domain.hlc import HybridClock
from warroom.domain.ids import uuid7
from warroom.domain.records import Verdict
from warroom.domain.sealing import SEALABLE_KINDS, TextSealer
from warroom.domain.signing import Signer
from warroom.domain.text import clean
from warroom.domain.postmortem import POSTMORTEM_KEYS
from warroom.domain.scribe import FUTURE_SLACK
from warroom.domain.models import (
    CORE_ROLES,
    INCIDENT_COMMANDER,
    Milestone,
    CommsChannel,
    ComponentState,
    EntryKind,
    Incident,
    Severity,
    Status,
    allowed_transitions,
    canonical_person,
    canonical_role,
)


class DomainError(Exception):
    """A refused action; the message is shown to the person as is."""


class EventFactory:
    """Stamps payloads into events for one actor on one client; signs them with the actor's
    key and seals timeline text when given a ``signer`` and a ``sealer``."""

    def __init__(
        self,
        actor: str,
        clock: Clock,
        hlc: HybridClock,
        new_id: Callable[[datetime], str] = uuid7,
        *,
        signer: Signer | None = None,
        sealer: TextSealer | None = None,
    ) -> None:
        self.actor = actor
        self.clock = clock
        self.hlc = hlc
        self.new_id = new_id
        """Id generator; tests and the sample-data generator pass a seeded one."""
        self.signer = signer
        self.sealer = sealer

    def make(
        self, incident_id: str, payload: Payload, at: datetime | None = None, *, event_id: str | None = None
    ) -> Event:
        """The event (signed and sealed as set up); ``event_id`` gives it a chosen id (one
        that stands for something already, such as a delivery) instead of a new one."""
        now = self.clock.now()
        data = payload.canonical()
        if self.sealer is not None and payload.kind in SEALABLE_KINDS:
            event_id = event_id or self.sealer.next_event_id() or self.new_id(now)
            data = self.sealer.seal_payload(event_id, data)
        else:
            event_id = event_id or self.new_id(now)
        event = Event.model_validate(
            {
                "id": event_id,
                "incident_id": incident_id,
                "kind": payload.kind,
                "actor": self.actor,
                "at": at if at is not None else now,
                "logged_at": now,
                "hlc": self.hlc.tick(),
                "payload": data,
            },
            context={MADE_FROM_MODEL: True},
        )
        return self.signer.sign(event) if self.signer is not None else event

    def new_incident_id(self) -> str:
        return self.new_id(self.clock.now())


_MULTILINE_FIELDS = frozenset({"text", "summary", "impact", "reason", "skipped_reason", "code", "command", "output"})
_NAME_FIELDS = frozenset({"person", "owner"})


def _cleaned(name: str, value):
    """Text as people meant it: escape sequences and control characters taken out (a pasted
    coloured log line keeps its words), names normalised."""
    if isinstance(value, str):
        if name in _NAME_FIELDS:
            try:
                return canonical_person(clean(value, multiline=False))
            except ValueError as exc:
                raise DomainError(str(exc)) from None
        return clean(value, multiline=name in _MULTILINE_FIELDS)
    if isinstance(value, list):
        return [_cleaned(name, item) for item in value]
    if isinstance(value, dict):
        return {key: _cleaned(key, item) for key, item in value.items()}
    return value


def _payload(model: type[Payload], **fields) -> Payload:
    fields = {name: _cleaned(name, value) for name, value in fields.items()}
    try:
        return model(**fields)
    except ValidationError as exc:
        raise DomainError(describe_validation_error(exc)) from None


def declare(
    factory: EventFactory,
    *,
    title: str,
    severity: Severity,
    commander: str | None = None,
    summary: str = "",
    impact: str = "",
    incident_type: str | None = None,
    at: datetime | None = None,
) -> list[Event]:
    """A new incident: the declaration, then the IC (the declarer unless someone is named)."""
    incident_id = factory.new_incident_id()
    declared = factory.make(
        incident_id,
        _payload(
            IncidentDeclared,
            title=title,
            severity=severity,
            summary=summary,
            impact=impact,
            incident_type=incident_type,
        ),
        at=at,
    )
    ic = _payload(RoleAssigned, role=INCIDENT_COMMANDER, person=commander or factory.actor)
    return [declared, factory.make(incident_id, ic)]


def roles_to_fill(factory: EventFactory, incident_id: str, roles: list[str]) -> list[Event]:
    """Custom roles an incident type wants filled: listed as unassigned in the roster (the
    core roles are always listed)."""
    events = []
    for role in roles:
        role = canonical_role(role)
        if role not in CORE_ROLES:
            events.append(factory.make(incident_id, _payload(RoleAssigned, role=role, person=None)))
    return events


def update(
    factory: EventFactory,
    incident: Incident,
    *,
    title: str | None = None,
    severity: Severity | None = None,
    status: Status | None = None,
    summary: str | None = None,
    impact: str | None = None,
) -> Event:
    """Set one or more fields; refuses no-ops and disallowed status transitions."""
    changes = {
        name: value
        for name, value in dict(
            title=title, severity=severity, status=status, summary=summary, impact=impact
        ).items()
        if value is not None and value != getattr(incident, name)
    }
    if not changes:
        raise DomainError("nothing to change: the incident already has those values")
    if "status" in changes and changes["status"] not in allowed_transitions(incident.status):
        allowed = ", ".join(sorted(s.value for s in allowed_transitions(incident.status)))
        raise DomainError(
            f"cannot go from {incident.status.value} to {changes['status'].value}; "
            f"allowed: {allowed}"
        )
    return factory.make(incident.id, _payload(IncidentUpdated, **changes))


def assign_role(factory: EventFactory, incident: Incident, role: str, person: str | None) -> Event:
    """Give a role to someone (or clear it with ``person=None``)."""
    try:
        role = canonical_role(clean(role, multiline=False))
        person = clean(person, multiline=False) if person else None
        person = canonical_person(person) if person and person.strip() else None  # blank: nobody
    except ValueError as exc:
        raise DomainError(str(exc)) from None
    if incident.roles.get(role) == person:  # includes clearing a role nobody ever held
        who = person or "nobody"
        raise DomainError(f"{role} is already {who}")
    if role == INCIDENT_COMMANDER and person is None:
        raise DomainError("an incident always has a commander: hand the role over instead")
    return factory.make(incident.id, _payload(RoleAssigned, role=role, person=person))


def log_entry(
    factory: EventFactory,
    incident: Incident,
    text: str,
    kind: EntryKind = EntryKind.NOTE,
    at: datetime | None = None,
    *,
    markdown: bool = False,
) -> Event:
    """A timeline entry; ``at`` backdates it. A time at most ``FUTURE_SLACK`` ahead (a
    colleague's clock running fast, ``14:33`` typed at 14:32:40) is taken as now.
    ``markdown``: the text is Markdown (imported), so exports keep its formatting."""
    now = factory.clock.now()
    if at is not None and at > now:
        if at > now + FUTURE_SLACK:
            raise DomainError("an entry cannot be dated in the future")
        at = now
    fields = {"markdown": True} if markdown else {}
    return factory.make(incident.id, _payload(EntryLogged, entry_kind=kind, text=text, **fields), at=at)


def _editable_entry(incident: Incident, entry_id: str):
    entry = incident.entry(entry_id)
    if entry is None:
        raise DomainError(f"no entry {entry_id!r} in this incident")
    if entry.kind.is_automatic:
        raise DomainError("automatic entries record state changes and cannot be edited")
    return entry


def amend_entry(factory: EventFactory, incident: Incident, entry_id: str, text: str) -> Event:
    entry = _editable_entry(incident, entry_id)
    if entry.redacted:
        raise DomainError("this entry was redacted; log a new entry instead")
    if text.strip() == entry.text:
        raise DomainError("the text is unchanged")
    return factory.make(incident.id, _payload(EntryAmended, entry_id=entry.id, text=text))


def redact_entry(factory: EventFactory, incident: Incident, entry_id: str, reason: str) -> Event:
    entry = _editable_entry(incident, entry_id)
    if entry.redacted:
        raise DomainError("this entry is already redacted")
    return factory.make(incident.id, _payload(EntryRedacted, entry_id=entry.id, reason=reason))


def purge_entry(factory: EventFactory, incident: Incident, entry_id: str, reason: str) -> Event:
    """An admin destroys the keys of a redacted entry's texts, everywhere (the server keeps
    the authority: it refuses this from anyone but an admin)."""
    entry = incident.entry(entry_id)
    if entry is None:
        raise DomainError(f"no entry {entry_id!r} in this incident")
    if not entry.redacted:
        raise DomainError("only a redacted entry can be purged: redact it first")
    if any(r.redaction and r.text.startswith("purged:") for r in entry.revisions):
        raise DomainError("this entry is already purged")
    return factory.make(incident.id, _payload(EntryPurged, entry_id=entry.id, reason=reason))


def void_event(factory: EventFactory, incident: Incident, target: Event, reason: str) -> Event:
    """An admin takes an accepted event out of the fold (say one stamped far in the future);
    the log keeps both."""
    if target.incident_id != incident.id:
        raise DomainError("that event belongs to another incident")
    if target.kind == "event.voided":
        raise DomainError("a void cannot be voided; record the change again instead")
    return factory.make(incident.id, _payload(EventVoided, event_id=target.id, reason=reason))


# --- checklists ----------------------------------------------------------------------------


def attach_runbook(
    factory: EventFactory,
    incident: Incident,
    *,
    runbook_id: str,
    title: str,
    steps: list[dict],
    source: str = "",
) -> Event:
    """Attach a runbook's steps (dicts with id, text, section, depth, code) as a checklist."""
    try:
        specs = [AttachedStep(**_cleaned("step", step)) for step in steps]
    except ValidationError as exc:
        raise DomainError(f"runbook {title!r}: {describe_validation_error(exc)}") from None
    return factory.make(
        incident.id,
        _payload(RunbookAttached, runbook_id=runbook_id, title=title, source=source, steps=specs),
    )


def _step(incident: Incident, runbook_id: str, step_id: str):
    checklist = incident.checklists.get(runbook_id)
    if checklist is None:
        raise DomainError(f"no checklist {runbook_id!r} attached to this incident")
    step = checklist.step(step_id)
    if step is None:
        raise DomainError(f"checklist {checklist.title!r} has no step {step_id!r}")
    return step


def tick_step(
    factory: EventFactory,
    incident: Incident,
    runbook_id: str,
    step_id: str,
    *,
    skipped_reason: str | None = None,
) -> Event:
    """Mark a step done (or skipped, with a reason)."""
    step = _step(incident, runbook_id, step_id)
    if step.done:
        raise DomainError(f"already done: {step.text}")
    return factory.make(
        incident.id,
        _payload(StepTicked, runbook_id=runbook_id, step_id=step_id, skipped_reason=skipped_reason),
    )


def untick_step(factory: EventFactory, incident: Incident, runbook_id: str, step_id: str) -> Event:
    """Undo the ticks on a step that this person can see."""
    step = _step(incident, runbook_id, step_id)
    if not step.done:
        raise DomainError(f"not ticked: {step.text}")
    return factory.make(
        incident.id,
        _payload(StepUnticked, runbook_id=runbook_id, step_id=step_id, tick_ids=sorted(step.ticks)),
    )


# --- comms -----------------------------------------------------------------------------------


def save_draft(factory: EventFactory, incident: Incident, template_id: str, text: str, bases: list[str]) -> Event:
    """Save a version of a draft, edited from ``bases`` (the versions on screen)."""
    heads = incident.draft_heads(template_id)
    if len(heads) == 1 and heads[0].text == text and heads[0].id in bases:
        raise DomainError("no changes since the last saved version")
    return factory.make(incident.id, _payload(DraftSaved, template_id=template_id, text=text, bases=bases))


def mark_sent(factory: EventFactory, incident: Incident, template_id: str, channel: CommsChannel, text: str) -> Event:
    """Record that an update went out (the cadence timer restarts)."""
    return factory.make(incident.id, _payload(UpdateSent, template_id=template_id, channel=channel, text=text))


def set_component(factory: EventFactory, incident: Incident, component: str, state: ComponentState) -> Event:
    component = " ".join(component.split())
    if incident.components.get(component) is state:
        raise DomainError(f"{component} is already {state.value}")
    return factory.make(incident.id, _payload(ComponentSet, component=component, state=state))


# --- follow-up and postmortem -------------------------------------------------------------


def add_action_item(factory: EventFactory, incident: Incident, text: str, **fields) -> Event:
    """A follow-up: ``owner``, ``due`` (date), ``priority``, ``type``, ``ticket``, ``from_entry``."""
    return factory.make(incident.id, _payload(ActionItemAdded, text=text, **fields))


def promote_todo(factory: EventFactory, incident: Incident, entry_id: str) -> Event:
    """Turn a scribe's /todo entry into an action item (one key in the timeline)."""
    entry = incident.entry(entry_id)
    if entry is None:
        raise DomainError(f"no entry {entry_id!r} in this incident")
    if entry.kind is not EntryKind.TODO:
        raise DomainError("only /todo entries become action items")
    if any(item.from_entry == entry.id for item in incident.action_items.values()):
        raise DomainError("this todo is already an action item")
    return add_action_item(factory, incident, entry.text[:200], from_entry=entry.id)


def update_action_item(factory: EventFactory, incident: Incident, item_id: str, **fields) -> Event:
    matches = [i for i in incident.action_items if i == item_id or (len(item_id) >= 4 and i.endswith(item_id))]
    if len(matches) != 1:
        raise DomainError(f"no action item {item_id!r} in this incident")
    item = incident.action_items[matches[0]]
    changes = {k: v for k, v in fields.items() if v is not None and getattr(item, k, None) != v}
    if not changes:
        raise DomainError("nothing to change: the action item already has those values")
    return factory.make(incident.id, _payload(ActionItemUpdated, item_id=item.id, **changes))


def set_milestone(factory: EventFactory, incident: Incident, milestone: Milestone, at: datetime) -> Event:
    """Set a milestone's time by hand; refuses an order that cannot be (mitigated before
    detected, …)."""
    if at > factory.clock.now() + FUTURE_SLACK:
        raise DomainError("a milestone cannot be in the future")
    order = list(Milestone)
    proposed = dict(incident.milestones)
    proposed[milestone] = at
    for earlier in order[: order.index(milestone)]:
        if earlier in proposed and proposed[earlier] > at:
            raise DomainError(f"{milestone.value} cannot precede {earlier.value} ({proposed[earlier]:%Y-%m-%d %H:%M} UTC)")
    for later in order[order.index(milestone) + 1:]:
        if later in proposed and proposed[later] < at:
            raise DomainError(f"{milestone.value} cannot follow {later.value} ({proposed[later]:%Y-%m-%d %H:%M} UTC)")
    return factory.make(incident.id, _payload(MilestoneSet, milestone=milestone), at=at)


def set_postmortem_section(factory: EventFactory, incident: Incident, section: str, text: str) -> Event:
    if section not in POSTMORTEM_KEYS:
        raise DomainError(f"unknown section {section!r}: use one of {', '.join(POSTMORTEM_KEYS)}")
    if incident.postmortem.get(section, "") == text:
        raise DomainError("the section already says that")
    return factory.make(incident.id, _payload(PostmortemSectionSet, section=section, text=text))


# --- hypotheses, command runs, deliveries --------------------------------------------------


def judge_hypothesis(factory: EventFactory, incident: Incident, entry_id: str, verdict: Verdict, reason: str = "") -> Event:
    """Mark a /hypothesis entry confirmed or ruled out (or open again)."""
    entry = incident.entry(entry_id)
    if entry is None:
        raise DomainError(f"no entry {entry_id!r} in this incident")
    if entry.kind is not EntryKind.HYPOTHESIS:
        raise DomainError("only /hypothesis entries can be confirmed or ruled out")
    current = incident.verdicts.get(entry.id)
    if (current.verdict if current else Verdict.OPEN) is verdict:
        raise DomainError(f"this hypothesis is already {verdict.value}")
    return factory.make(incident.id, _payload(HypothesisJudged, entry_id=entry.id, verdict=verdict, reason=reason))


def record_command_run(factory: EventFactory, incident: Incident, runbook_id: str, step_id: str, *, started_at: datetime, **result) -> Event:
    """Log a command someone ran from a runbook step: ``command``, ``outcome``,
    ``exit_code``, ``duration_ms``, ``output`` and its size and hash (see ``CommandRan``).
    The checklist's file and who attached it are recorded with it."""
    checklist = incident.checklists.get(runbook_id)
    step = _step(incident, runbook_id, step_id)
    if result.get("command") not in step.code:
        raise DomainError("that command is not one of the step's commands")
    return factory.make(
        incident.id,
        _payload(
            CommandRan,
            runbook_id=runbook_id,
            step_id=step_id,
            source=checklist.source if checklist else "",
            attached_by=checklist.attached_by if checklist else "",
            **result,
        ),
        at=started_at,
    )


def record_delivery(
    factory: EventFactory,
    incident: Incident,
    delivery_id: str,
    *,
    template_id: str,
    channel: CommsChannel,
    text: str,
    destination: str,
    attempts: int,
    queued_at: datetime,
) -> Event:
    """An update reached its destination. The event takes the delivery's id, so recording
    the same delivery twice (two processes, a crash in between) is one event."""
    payload = _payload(
        UpdateDelivered,
        template_id=template_id,
        channel=channel,
        text=text,
        destination=destination,
        attempts=attempts,
        queued_at=queued_at,
    )
    # The id is the event's before it is signed: a signature covers it.
    return factory.make(incident.id, payload, event_id=delivery_id)
