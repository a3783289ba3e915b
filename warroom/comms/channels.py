"""What each kind of destination receives: the request body for one update.

Built once, when the update is queued, and stored with the delivery, so retries send the same
bytes. Every body carries the delivery id where the receiver's format has room for it (the
HTTP ``Idempotency-Key`` header carries it for every type).

* Slack: ``{"text": …}`` (incoming webhooks take nothing else reliably).
* Mattermost: ``{"text": …, "props": {"warroom_delivery_id": …}}``.
* Teams (Workflows webhook): a message with one Adaptive Card.
* Generic webhook: warroom's own JSON (delivery id, incident, channel, text, who, when).
* Status page: components and the incident with this update, in the shape status pages use
  (``status_page.components`` / ``status_page.incidents[].updates``).
* Command: the text on stdin, or an RFC 5322 e-mail when ``email_to`` is set (its
  ``Message-ID`` holds the delivery id, so a mail system can drop a repeat).
"""

from __future__ import annotations

import json
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

from warroom.domain.models import CommsChannel, ComponentState, Incident, Severity
from warroom.store.config import ChannelDestination, DestinationKind

_COMPONENT_STATUS = {
    ComponentState.OPERATIONAL: "operational",
    ComponentState.DEGRADED: "degraded_performance",
    ComponentState.PARTIAL_OUTAGE: "partial_outage",
    ComponentState.MAJOR_OUTAGE: "major_outage",
    ComponentState.MAINTENANCE: "under_maintenance",
}
_IMPACT = {Severity.SEV1: "critical", Severity.SEV2: "major", Severity.SEV3: "minor", Severity.SEV4: "none"}


def _iso(at: datetime | None) -> str | None:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ") if at else None


def subject(text: str) -> str:
    """The first non-blank line, as a subject or card title."""
    return next((line.strip() for line in text.splitlines() if line.strip()), "(no text)")[:200]


def build_body(
    destination: ChannelDestination,
    *,
    delivery_id: str,
    incident: Incident,
    channel: CommsChannel,
    template_id: str,
    text: str,
    actor: str,
    now: datetime,
) -> tuple[str, str]:
    """The request body and its content type."""
    kind = destination.type
    if kind is DestinationKind.SLACK:
        return _json({"text": text}), "application/json"
    if kind is DestinationKind.MATTERMOST:
        return _json({"text": text, "props": {"warroom_delivery_id": delivery_id}}), "application/json"
    if kind is DestinationKind.TEAMS:
        return _json(teams_card(text, delivery_id)), "application/json"
    if kind is DestinationKind.STATUS_PAGE:
        return _json(status_page_document(incident, text, delivery_id, now)), "application/json"
    if kind is DestinationKind.WEBHOOK:
        return _json(
            {
                "delivery_id": delivery_id,
                "incident": {
                    "id": incident.id,
                    "title": incident.title,
                    "severity": incident.severity.value,
                    "status": incident.status.value,
                },
                "channel": channel.value,
                "template_id": template_id,
                "text": text,
                "sent_by": actor,
                "queued_at": _iso(now),
            }
        ), "application/json"
    if destination.email_to:
        return email_message(destination.email_to, text, delivery_id, actor, now), "message/rfc822"
    return text, "text/plain; charset=utf-8"


def _json(document: dict) -> str:
    return json.dumps(document, ensure_ascii=False, sort_keys=True)


def teams_card(text: str, delivery_id: str) -> dict:
    """A Teams message holding one Adaptive Card: the first line as its title, the rest as
    wrapped text, and the delivery id in small print."""
    lines = text.splitlines()
    title = subject(text)
    rest = "\n".join(lines[1:]).strip() if lines and lines[0].strip() == title else text
    body = [{"type": "TextBlock", "text": title, "weight": "Bolder", "size": "Medium", "wrap": True}]
    if rest:
        body.append({"type": "TextBlock", "text": rest, "wrap": True})
    body.append({"type": "TextBlock", "text": f"warroom delivery {delivery_id}", "isSubtle": True, "size": "Small", "wrap": True})
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": body,
                },
            }
        ],
    }


def status_page_document(incident: Incident, text: str, delivery_id: str, now: datetime) -> dict:
    """Components and the incident with this update, as a status page service takes them."""
    return {
        "delivery_id": delivery_id,
        "status_page": {
            "components": [
                {"name": name, "status": _COMPONENT_STATUS[state]} for name, state in incident.components.items()
            ],
            "incidents": [
                {
                    "id": incident.id,
                    "title": incident.title,
                    "status": incident.status.value,
                    "impact": _IMPACT[incident.severity],
                    "started_at": _iso(incident.declared_at),
                    "resolved_at": _iso(incident.resolved_at),
                    "body": text,
                    "updates": [
                        {"id": delivery_id, "status": incident.status.value, "body": text, "created_at": _iso(now)}
                    ],
                }
            ],
        },
    }


def email_message(to: list[str], text: str, delivery_id: str, actor: str, now: datetime) -> str:
    message = EmailMessage()
    message["To"] = ", ".join(to)
    message["Subject"] = subject(text)
    message["Date"] = format_datetime(now)
    message["Message-ID"] = f"<{delivery_id}@warroom.invalid>"
    message["X-Warroom-Sent-By"] = actor
    message.set_content(text)
    return message.as_string()
