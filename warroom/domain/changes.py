"""What a change to an incident will do, in words, for the confirmation people see first.

Each function returns a :class:`ChangeSummary`: a title, the ``old → new`` lines, and warnings
worth reading before confirming (resolving with open checklist steps or drafts never sent).
Pure: the front end shows it and waits for an explicit confirmation; nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from warroom.domain.models import INCIDENT_COMMANDER, Incident, Severity, Status, TimelineEntry, canonical_role

_QUOTE_MAX = 70


@dataclass(frozen=True)
class ChangeSummary:
    title: str
    """What is being done, e.g. ``Resolve the incident``."""
    lines: list[str]
    """``Severity: SEV1 → SEV2``-style lines, old value first."""
    warnings: list[str] = field(default_factory=list)
    """Things to know before confirming; empty when there is nothing to add."""


def _quote(text: str) -> str:
    flat = " ".join(text.split())
    return f"“{flat[:_QUOTE_MAX - 1]}…”" if len(flat) > _QUOTE_MAX else f"“{flat}”"


def severity_change(incident: Incident, new: Severity) -> ChangeSummary:
    old = incident.severity
    verb = "Raise" if new.rank < old.rank else "Lower"
    return ChangeSummary(
        f"{verb} the severity",
        [f"Severity: {old.value} → {new.value} ({new.info.label})"],
    )


def open_steps(incident: Incident) -> tuple[int, list[str]]:
    """How many checklist steps are still open, and ``Title 2/6`` for each unfinished list."""
    count = 0
    unfinished = []
    for checklist in incident.checklists.values():
        done, total = checklist.progress
        if done < total:
            count += total - done
            unfinished.append(f"{checklist.title} {done}/{total}")
    return count, unfinished


def unsent_drafts(incident: Incident) -> list[str]:
    """Templates whose latest saved draft was never marked as sent (by template id)."""
    last_sent: dict[str, object] = {}
    for sent in incident.sent_updates:
        last_sent[sent.template_id] = sent.at
    unsent = []
    for template_id in incident.drafts:
        heads = incident.draft_heads(template_id)
        sent_at = last_sent.get(template_id)
        if heads and (sent_at is None or any(head.at > sent_at for head in heads)):
            unsent.append(template_id)
    return unsent


def status_change(incident: Incident, new: Status) -> ChangeSummary:
    old = incident.status
    warnings: list[str] = []
    if new is Status.RESOLVED:
        title = "Resolve the incident"
        count, unfinished = open_steps(incident)
        if count:
            warnings.append(f"{count} checklist step(s) still open: {', '.join(unfinished)}")
        drafts = unsent_drafts(incident)
        if drafts:
            warnings.append(f"Update draft(s) saved but never sent: {', '.join(drafts)}")
        if not incident.sent_updates:
            warnings.append("No update has been sent for this incident")
    elif old is Status.RESOLVED:
        title = "Reopen the incident"
        warnings.append("It becomes active again for everyone; the reopening is logged")
    else:
        title = "Change the status"
    return ChangeSummary(title, [f"Status: {old.value} → {new.value}"], warnings)


def role_change(incident: Incident, role: str, person: str | None) -> ChangeSummary:
    try:
        role = canonical_role(role)
    except ValueError:
        pass  # the command refuses it with its own sentence
    old = incident.roles.get(role)
    new = " ".join((person or "").split()) or None
    if role == INCIDENT_COMMANDER:
        title = "Hand over Incident Commander"
    elif old:
        title = f"Hand over {role}"
    else:
        title = f"Assign {role}"
    return ChangeSummary(title, [f"{role}: {old or 'nobody'} → {new or 'nobody'}"])


def amendment(entry: TimelineEntry, text: str) -> ChangeSummary:
    return ChangeSummary(
        "Amend the entry (the original is kept in its history)",
        [f"{_quote(entry.text)}", f"→ {_quote(text)}"],
    )


def redaction(entry: TimelineEntry, reason: str) -> ChangeSummary:
    return ChangeSummary(
        "Redact the entry",
        [f"{_quote(entry.text)} → [redacted: {' '.join(reason.split())}]"],
        ["The text is hidden from every view and export; the entry and its history remain"],
    )


def declaration(title: str, severity: Severity, commander: str) -> ChangeSummary:
    return ChangeSummary(
        "Declare a new incident",
        [f"{severity.value} ({severity.info.label}): {_quote(title)}", f"Incident Commander: {commander}"],
    )
