"""How one event changes an incident's state: the handler of each event kind.

``warroom.domain.fold`` decides the order events are applied in (and which are left out);
this module applies one. Every text put into the state goes through
``warroom.domain.text.safe`` (events from older versions may carry terminal escapes), and
every state change writes its automatic timeline entry, old → new.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from datetime import date
from operator import attrgetter

from warroom.domain.events import Event
from warroom.domain.ids import short_id
from warroom.domain.records import CommandRun, HypothesisVerdict, Verdict
from warroom.domain.text import safe, safe_line, safe_name
from warroom.domain.models import (
    INCIDENT_COMMANDER,
    canonical_role,
    ActionItem,
    ActionStatus,
    ActionType,
    Checklist,
    Milestone,
    Priority,
    ChecklistStep,
    CommsChannel,
    ComponentState,
    DraftVersion,
    SentUpdate,
    Tick,
    EntryKind,
    EntryRevision,
    Incident,
    RoleChange,
    StateChange,
    Severity,
    Status,
    TimelineEntry,
)

_FIELD_LABELS = {
    "title": "Title",
    "severity": "Severity",
    "status": "Status",
    "summary": "Summary",
    "impact": "Impact",
}
_FIELD_KINDS = {
    "title": EntryKind.TITLE,
    "severity": EntryKind.SEVERITY,
    "status": EntryKind.STATUS,
    "summary": EntryKind.SUMMARY,
    "impact": EntryKind.IMPACT,
}


_timeline_key = attrgetter("at", "hlc")


def _describe(value: object) -> str:
    if value is None or value == "":
        return "—"
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "…"


# --- applying one event -------------------------------------------------------------------


def apply_event(state: Incident, event: Event) -> None:
    """Apply one event (already in fold order) to ``state``."""
    handler = _HANDLERS.get(event.kind)
    if handler is None:
        # A kind this build does not know (a newer client's event): keep the state as is but
        # make it visible rather than silently ignoring it.
        state.problems.append(f"event {short_id(event.id)} has unknown kind {event.kind!r}")
    else:
        handler(state, event)
    _counted(state, event)


def apply_logged(state: Incident, event: Event, text: str) -> None:
    """``apply_event`` of an ``entry.logged`` event whose sealed text was opened to ``text``
    (the fold of a big incident opens every entry: no opened copy of each event is made)."""
    _logged(state, event, event.payload, text)
    _counted(state, event)


def apply_sealed_logged(state: Incident, event: Event, opener: Callable[[str], str]) -> None:
    """``apply_logged`` with the text left sealed: ``opener`` opens it when first read."""
    _logged(state, event, event.payload, "").sealed_text = opener
    _counted(state, event)


def _counted(state: Incident, event: Event) -> None:
    # Straight into the model's __dict__: pydantic's __setattr__ costs more than the rest of
    # applying a typical event, and these two plain fields need no validation.
    fields = state.__dict__
    fields["event_count"] += 1
    if event.hlc > fields["last_hlc"]:
        fields["last_hlc"] = event.hlc


def _add_entry(state: Incident, event: Event, kind: EntryKind, text: str) -> TimelineEntry:
    entry = TimelineEntry(event.id, event.at, event.logged_at, safe_name(event.actor), kind, safe(text), event.hlc)
    timeline = state.timeline
    if not timeline or _timeline_key(timeline[-1]) <= _timeline_key(entry):
        timeline.append(entry)  # the live case: no search needed
    else:
        bisect.insort(timeline, entry, key=_timeline_key)
    return entry


def _on_declared(state: Incident, event: Event) -> None:
    p = event.payload
    state.title = safe_line(p["title"])
    state.severity = Severity(p["severity"])
    state.status = Status(p["status"])
    state.summary = safe(p.get("summary", ""))
    state.impact = safe(p.get("impact", ""))
    incident_type = p.get("incident_type")
    state.incident_type = safe_line(incident_type) if incident_type else incident_type
    state.declared_at = event.at
    state.declared_by = safe_name(event.actor)
    state.status_since = event.at
    _add_entry(
        state,
        event,
        EntryKind.DECLARED,
        f"{event.actor} declared {state.severity.value}: {state.title}",
    )


def _on_updated(state: Incident, event: Event) -> None:
    changes: list[tuple[str, object, object]] = []
    for field, value in event.payload.items():
        if value is None:
            continue
        old = getattr(state, field)
        if field == "severity":
            value = Severity(value)
        elif field == "status":
            value = Status(value)
        elif field == "title":
            value = safe_line(value)
        else:
            value = safe(value)
        if old == value:
            continue
        setattr(state, field, value)
        changes.append((field, old, value))
        if field in ("severity", "status"):
            state.state_changes.append(StateChange.model_construct(at=event.at, field=field, old=old.value, new=value.value))
        if field == "status":
            state.status_since = event.at
            if value is Status.MONITORING and state.mitigated_at is None:
                state.mitigated_at = event.at
            if value is Status.RESOLVED:
                state.resolved_at = event.at
            elif old is Status.RESOLVED:
                state.resolved_at = None
    if not changes:
        return  # a concurrent write already set the same value: nothing to log
    parts = []
    for field, old, new in changes:
        label = _FIELD_LABELS[field]
        if field == "status" and old is Status.RESOLVED:
            label = "Reopened: status"
        parts.append(f"{label} {_describe(getattr(old, 'value', old))} → {_describe(getattr(new, 'value', new))}")
    kind = _FIELD_KINDS[changes[0][0]] if len(changes) == 1 else EntryKind.UPDATE
    _add_entry(state, event, kind, "; ".join(parts))


def _on_role(state: Incident, event: Event) -> None:
    # Aliases ("ic", "commander") name the same slot however the event was written.
    try:
        role = canonical_role(event.payload["role"])
    except ValueError:
        # Refused today (invisible or look-alike letters) but accepted by an older version:
        # a role of its own, shown with the odd characters visible.
        role = safe_name(event.payload["role"])
    person = event.payload["person"]
    if person is not None:
        person = safe_name(person)
    old = state.roles.get(role)
    if old == person and role in state.roles:
        return
    state.roles[role] = person
    state.role_history.append(
        RoleChange.model_construct(at=event.at, role=role, old=old, new=person, actor=safe_name(event.actor))
    )
    if old and person:
        verb = "handed over" if role == INCIDENT_COMMANDER else "reassigned"
        text = f"{role} {verb}: {old} → {person}"
    elif person:
        text = f"{role}: {person}"
    elif old:
        text = f"{role} unassigned (was {old})"
    else:
        text = f"{role}: to be filled"
    _add_entry(state, event, EntryKind.ROLE, text)


_ENTRY_KINDS = {kind.value: kind for kind in EntryKind}  # a dict lookup beats Enum(value)


def _on_logged(state: Incident, event: Event) -> None:
    _logged(state, event, event.payload, event.payload["text"])


def _logged(state: Incident, event: Event, payload: dict, text: str) -> TimelineEntry:
    entry = _add_entry(state, event, _ENTRY_KINDS[payload["entry_kind"]], text)
    if len(payload) > 2:  # markdown or details: rare, so the common entry pays nothing
        entry.markdown = bool(payload.get("markdown", False))
        details = payload.get("details")
        entry.details = {safe_line(k): safe(v) for k, v in details.items()} if details else details
    return entry


def _find(state: Incident, entry_id: str) -> TimelineEntry | None:
    for entry in reversed(state.timeline):  # amendments are usually of recent entries
        if entry.id == entry_id:
            return entry
    return None


def _on_amended(state: Incident, event: Event) -> None:
    entry = _find(state, event.payload["entry_id"])
    if entry is None:
        state.problems.append(f"amendment {short_id(event.id)} points at unknown entry")
        return
    text = safe(event.payload["text"])
    # After a redaction, later amendments are hidden too: the entry stays redacted.
    entry.add_revision(EntryRevision(event.logged_at, safe_name(event.actor), "" if entry.redacted else text, event.id))
    if not entry.redacted:
        entry.text = text


def _on_redacted(state: Incident, event: Event) -> None:
    entry = _find(state, event.payload["entry_id"])
    if entry is None:
        state.problems.append(f"redaction {short_id(event.id)} points at unknown entry")
        return
    entry.add_revision(
        EntryRevision(event.logged_at, safe_name(event.actor), safe(event.payload["reason"]), event.id, redaction=True)
    )
    entry.redacted = True
    entry.text = ""
    run = state.command_runs.get(entry.id)
    if run is not None:  # a command's output can leak a secret as easily as a typed line
        run.command = ""
        run.output = ""
    # Hide every earlier version from views and exports too (the journal still holds them;
    # removing them from disk is a deliberate, separate act).
    for revision in entry.history:
        if not revision.redaction:
            revision.text = ""


def _on_purged(state: Incident, event: Event) -> None:
    entry = _find(state, event.payload["entry_id"])
    if entry is None:
        state.problems.append(f"purge {short_id(event.id)} points at unknown entry")
        return
    entry.add_revision(
        EntryRevision(event.logged_at, safe_name(event.actor), f"purged: {safe(event.payload['reason'])}", event.id, redaction=True)
    )
    entry.redacted = True
    entry.text = ""
    for revision in entry.history:
        if not revision.redaction:
            revision.text = ""


def _on_voided(state: Incident, event: Event) -> None:
    target = event.payload["event_id"]
    _add_entry(
        state,
        event,
        EntryKind.UPDATE,
        f"Voided event {short_id(target)}: {event.payload['reason']}",
    )


def _on_runbook_attached(state: Incident, event: Event) -> None:
    p = event.payload
    previous = state.checklists.get(p["runbook_id"])
    old_ticks = {step.id: step.ticks for step in previous.steps} if previous else {}
    steps = [
        ChecklistStep.model_construct(
            id=spec["id"],
            text=safe(spec["text"]),
            section=safe_line(spec.get("section", "")),
            depth=spec.get("depth", 0),
            # Commands stay exactly as written: they are run and copied, not just read, and
            # the runner (and the copy) refuse one that hides control or bidi characters.
            code=list(spec.get("code", [])),
            ticks=old_ticks.get(spec["id"], {}),
        )
        for spec in p["steps"]
    ]
    state.checklists[p["runbook_id"]] = Checklist.model_construct(
        runbook_id=p["runbook_id"],
        title=safe_line(p["title"]),
        source=safe_line(p.get("source", "")),
        attached_by=safe_name(event.actor),
        attached_at=event.at,
        steps=steps,
    )
    verb = "updated" if previous else "attached"
    _add_entry(state, event, EntryKind.RUNBOOK, f"Checklist {verb}: {safe_line(p['title'])} ({len(steps)} steps)")


def _checklist_step(state: Incident, event: Event) -> ChecklistStep | None:
    checklist = state.checklists.get(event.payload["runbook_id"])
    step = checklist.step(event.payload["step_id"]) if checklist else None
    if step is None:
        state.problems.append(f"{event.kind} {short_id(event.id)} points at an unknown step")
    return step


def _on_step_ticked(state: Incident, event: Event) -> None:
    step = _checklist_step(state, event)
    if step is None:
        return
    reason = event.payload.get("skipped_reason")
    reason = safe(reason) if reason is not None else None
    step.ticks[event.id] = Tick(event.id, safe_name(event.actor), event.at, reason)
    text = f"Skipped: {step.text} (why: {reason})" if reason else f"Done: {step.text}"
    _add_entry(state, event, EntryKind.CHECKLIST, text)


def _on_step_unticked(state: Incident, event: Event) -> None:
    step = _checklist_step(state, event)
    if step is None:
        return
    removed = [tick_id for tick_id in event.payload["tick_ids"] if step.ticks.pop(tick_id, None)]
    if removed:
        _add_entry(state, event, EntryKind.CHECKLIST, f"Unticked: {step.text}")


def _on_draft_saved(state: Incident, event: Event) -> None:
    p = event.payload
    state.drafts.setdefault(p["template_id"], []).append(
        DraftVersion.model_construct(
            id=event.id,
            template_id=p["template_id"],
            actor=safe_name(event.actor),
            at=event.at,
            text=safe(p["text"]),
            bases=list(p.get("bases", [])),
        )
    )
    # Drafts are work in progress: they do not clutter the timeline; sending does.


def _first_line(text: str, limit: int = 80) -> str:
    line = next((l.strip() for l in text.splitlines() if l.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _on_update_sent(state: Incident, event: Event) -> None:
    p = event.payload
    channel = CommsChannel(p["channel"])
    state.sent_updates.append(
        SentUpdate.model_construct(
            id=event.id, at=event.at, actor=safe_name(event.actor), channel=channel, template_id=p["template_id"], text=safe(p["text"])
        )
    )
    _add_entry(state, event, EntryKind.COMMS, f"Update sent ({channel.value}): {_first_line(p['text'])}")


def _on_component_set(state: Incident, event: Event) -> None:
    name = safe_line(event.payload["component"])
    new = ComponentState(event.payload["state"])
    old = state.components.get(name)
    if old is new:
        return
    state.components[name] = new
    _add_entry(state, event, EntryKind.COMPONENT, f"Status page: {name} {old.value if old else '—'} → {new.value}")


def _on_action_added(state: Incident, event: Event) -> None:
    p = event.payload
    item = ActionItem(
        id=event.id,
        text=safe_line(p["text"]),
        owner=safe_name(p["owner"]) if p.get("owner") else None,
        due=p.get("due"),
        priority=p.get("priority", "medium"),
        type=p.get("type", "corrective"),
        created_by=safe_name(event.actor),
        created_at=event.at,
        from_entry=p.get("from_entry"),
        ticket=p.get("ticket"),
    )
    state.action_items[event.id] = item
    owner = f" (owner: {item.owner})" if item.owner else ""
    _add_entry(state, event, EntryKind.ACTION_ITEM, f"Action item: {item.text}{owner}")


def _on_action_updated(state: Incident, event: Event) -> None:
    p = event.payload
    item = state.action_items.get(p["item_id"])
    if item is None:
        state.problems.append(f"action item update {short_id(event.id)} points at an unknown item")
        return
    old_status = item.status
    for field in ("text", "owner", "due", "priority", "status", "type", "ticket"):
        if p.get(field) is not None:
            value = p[field]
            if field == "due":
                value = date.fromisoformat(value)
            elif field == "status":
                value = ActionStatus(value)
            elif field == "priority":
                value = Priority(value)
            elif field == "type":
                value = ActionType(value)
            elif field == "owner":
                value = safe_name(value)
            else:
                value = safe_line(value)
            setattr(item, field, value)
    if p.get("clear_owner"):
        item.owner = None
    if p.get("clear_due"):
        item.due = None
    if p.get("clear_ticket"):
        item.ticket = None
    if item.status is not old_status:
        _add_entry(state, event, EntryKind.ACTION_ITEM, f"Action item {item.status.value}: {item.text}")


def _on_milestone_set(state: Incident, event: Event) -> None:
    milestone = Milestone(event.payload["milestone"])
    state.milestones_set[milestone] = event.at
    _add_entry(state, event, EntryKind.MILESTONE, f"Milestone: {milestone.value}")


_VERDICT_WORDS = {
    Verdict.CONFIRMED: "Hypothesis confirmed",
    Verdict.RULED_OUT: "Hypothesis ruled out",
    Verdict.OPEN: "Hypothesis reopened",
}


def _on_hypothesis_judged(state: Incident, event: Event) -> None:
    # Kept by entry id even when the entry is not (yet) known, so the latest verdict stands
    # whatever order the two arrive in.
    p = event.payload
    verdict = Verdict(p["verdict"])
    reason = safe(p.get("reason", ""))
    state.verdicts[p["entry_id"]] = HypothesisVerdict(p["entry_id"], verdict, safe_name(event.actor), event.at, event.id, reason)
    entry = _find(state, p["entry_id"])
    subject = _first_line(entry.text, 60) if entry is not None and not entry.redacted else f"entry {short_id(p['entry_id'])}"
    why = f" (why: {reason})" if reason else ""
    _add_entry(state, event, EntryKind.VERDICT, f"{_VERDICT_WORDS[verdict]}: {subject}{why}")


def _on_command_ran(state: Incident, event: Event) -> None:
    p = event.payload
    shown = {**p, "command": safe(p["command"]), "output": safe(p.get("output", "")), "full_output_at": safe_line(p.get("full_output_at", ""))}
    run = CommandRun.from_payload(event.id, safe_name(event.actor), event.at, shown)
    state.command_runs[event.id] = run
    _add_entry(state, event, EntryKind.ACTION, run.timeline_text())


def _on_update_delivered(state: Incident, event: Event) -> None:
    p = event.payload
    channel = CommsChannel(p["channel"])
    state.sent_updates.append(
        SentUpdate.model_construct(
            id=event.id,
            at=event.at,
            actor=safe_name(event.actor),
            channel=channel,
            template_id=p["template_id"],
            text=safe(p["text"]),
            destination=safe_line(p["destination"]),
            attempts=p["attempts"],
        )
    )
    tries = f", attempt {p['attempts']}" if p["attempts"] > 1 else ""
    _add_entry(state, event, EntryKind.COMMS, f"Update delivered ({channel.value} via {safe_line(p['destination'])}{tries}): {_first_line(p['text'])}")


def _on_postmortem_section(state: Incident, event: Event) -> None:
    # Written after the fact: kept out of the timeline, which is about the incident itself.
    state.postmortem[event.payload["section"]] = safe(event.payload["text"])


_HANDLERS = {
    "incident.declared": _on_declared,
    "incident.updated": _on_updated,
    "role.assigned": _on_role,
    "entry.logged": _on_logged,
    "entry.amended": _on_amended,
    "entry.redacted": _on_redacted,
    "entry.purged": _on_purged,
    "event.voided": _on_voided,
    "runbook.attached": _on_runbook_attached,
    "checklist.ticked": _on_step_ticked,
    "checklist.unticked": _on_step_unticked,
    "comms.draft_saved": _on_draft_saved,
    "comms.sent": _on_update_sent,
    "component.set": _on_component_set,
    "action_item.added": _on_action_added,
    "action_item.updated": _on_action_updated,
    "milestone.set": _on_milestone_set,
    "postmortem.section_set": _on_postmortem_section,
    "hypothesis.judged": _on_hypothesis_judged,
    "command.ran": _on_command_ran,
    "comms.delivered": _on_update_delivered,
}


def register_handler(kind: str, handler) -> None:
    """Later features register how their events change the state."""
    _HANDLERS[kind] = handler
