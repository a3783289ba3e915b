"""Alertmanager's webhook notification (payload version 4), read the way Alertmanager and
its look-alikes really send it.

Alertmanager does not retry a 4xx, so anything it could send must be taken: any number of
alerts, ``truncatedAlerts``, an ``endsAt`` of ``0001-01-01T00:00:00Z`` while firing, an empty
``groupKey`` or group labels, offsets such as ``-07:00``, nine fractional digits, Unicode,
fields this version does not know. What is odd is noted (``problems``) and shown with the
alert, never a reason to refuse it. Only a body that is not a notification at all (not an
object, no ``alerts`` list, an alert that is not an object) is refused (``PayloadError``).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# Fixed forever: changing it would make every re-delivery look new.
_NAMESPACE = uuid.UUID("5b0c3f7e-8a51-4c1e-9d0a-6f1f4a2e9b37")
_KNOWN_ALERT_FIELDS = {"status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"}
_KNOWN_FIELDS = {
    "version", "groupKey", "truncatedAlerts", "status", "receiver", "groupLabels", "commonLabels",
    "commonAnnotations", "externalURL", "alerts",
}  # fmt: skip


class PayloadError(ValueError):
    """The body is not an Alertmanager notification at all (it can never be taken)."""


@dataclass(frozen=True)
class Alert:
    status: str
    """``firing`` or ``resolved``."""
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime | None
    """UTC; None when missing or unreadable (then logged at its arrival, and said)."""
    ends_at: datetime | None
    """UTC, as sent (a firing alert's is when Alertmanager would time it out); None for Go's
    zero time or when missing."""
    generator_url: str
    fingerprint: str
    extra: dict[str, Any] = field(default_factory=dict)
    """Fields of the alert this version does not know (``silencedBy``…), kept."""
    problems: tuple[str, ...] = ()

    @property
    def alertname(self) -> str:
        return self.labels.get("alertname", "")

    @property
    def ended_at(self) -> datetime | None:
        """When a resolved alert ended."""
        return self.ends_at if self.status == "resolved" else None


@dataclass(frozen=True)
class Notification:
    group_key: str
    """As sent (may be empty)."""
    group_id: str
    """What tells this group apart here: the groupKey, or (without one) the receiver and
    group labels."""
    status: str
    receiver: str
    version: str
    group_labels: dict[str, str]
    common_labels: dict[str, str]
    common_annotations: dict[str, str]
    external_url: str
    truncated: int
    alerts: list[Alert]
    extra: dict[str, Any] = field(default_factory=dict)
    problems: tuple[str, ...] = ()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _labels(value: Any, name: str, problems: list[str]) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.append(f"{name} was not an object: {_text(value)[:200]}")
        return {}
    return {str(key): _text(item) for key, item in value.items()}


def _time(value: Any, name: str, problems: list[str]) -> datetime | None:
    """A time as Go writes it (RFC 3339, up to nine fractional digits); None for Go's zero
    time, a missing value or one that cannot be read (said in ``problems``)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        problems.append(f"{name} {_text(value)[:80]} is not a time")
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("z", "Z"))
    except ValueError:
        problems.append(f"{name} {value[:80]!r} is not a time")
        return None
    if moment.year <= 1:
        return None  # Go's zero time: not set
    if moment.tzinfo is None:
        problems.append(f"{name} {value[:80]!r} has no offset: read as UTC")
        moment = moment.replace(tzinfo=timezone.utc)
    try:
        return moment.astimezone(timezone.utc)
    except OverflowError:
        problems.append(f"{name} {value[:80]!r} is out of range")
        return None


def _alert(raw: Any, index: int, now: datetime) -> Alert:
    if not isinstance(raw, dict):
        raise PayloadError(f"alerts[{index}] is not an object: every alert of a notification is a JSON object")
    problems: list[str] = []
    labels = _labels(raw.get("labels"), "labels", problems)
    annotations = _labels(raw.get("annotations"), "annotations", problems)
    starts = _time(raw.get("startsAt"), "startsAt", problems)
    if starts is None and not any(p.startswith("startsAt") for p in problems):
        problems.append("no startsAt: logged when it arrived")
    ends = _time(raw.get("endsAt"), "endsAt", problems)
    status = raw.get("status")
    if status not in ("firing", "resolved"):
        status = "resolved" if ends is not None and ends <= now else "firing"
        problems.append(f"status {_text(raw.get('status'))[:40]!r} is neither firing nor resolved: read as {status}")
    return Alert(
        status=status,
        labels=labels,
        annotations=annotations,
        starts_at=starts,
        ends_at=ends,
        generator_url=_text(raw.get("generatorURL")),
        fingerprint=_text(raw.get("fingerprint")),
        extra={key: value for key, value in raw.items() if key not in _KNOWN_ALERT_FIELDS},
        problems=tuple(problems),
    )


def parse_notification(data: Any, now: datetime) -> Notification:
    """The notification in ``data`` (decoded JSON); ``PayloadError`` only when it is not one."""
    if not isinstance(data, dict):
        raise PayloadError("the body must be a JSON object: Alertmanager's webhook payload (version 4)")
    raw_alerts = data.get("alerts")
    if not isinstance(raw_alerts, list):
        raise PayloadError("the body has no 'alerts' list: it is not an Alertmanager webhook payload")
    problems: list[str] = []
    alerts = [_alert(raw, index, now) for index, raw in enumerate(raw_alerts)]
    version = _text(data.get("version"))
    if version != "4":
        problems.append(f"payload version {version[:20]!r}, not '4': read as version 4")
    receiver = _text(data.get("receiver"))
    group_labels = _labels(data.get("groupLabels"), "groupLabels", problems)
    group_key = _text(data.get("groupKey"))
    group_id = group_key
    if not group_key:
        group_id = "receiver+labels:" + json.dumps([receiver, sorted(group_labels.items())], ensure_ascii=False)
        problems.append("no groupKey: the group is told apart by its receiver and group labels")
    status = data.get("status")
    if status not in ("firing", "resolved"):
        status = "firing" if any(alert.status == "firing" for alert in alerts) else "resolved"
    truncated = data.get("truncatedAlerts")
    if not isinstance(truncated, int) or isinstance(truncated, bool) or truncated < 0:
        truncated = 0
    return Notification(
        group_key=group_key,
        group_id=group_id,
        status=status,
        receiver=receiver,
        version=version,
        group_labels=group_labels,
        common_labels=_labels(data.get("commonLabels"), "commonLabels", problems),
        common_annotations=_labels(data.get("commonAnnotations"), "commonAnnotations", problems),
        external_url=_text(data.get("externalURL")),
        truncated=truncated,
        alerts=alerts,
        extra={key: value for key, value in data.items() if key not in _KNOWN_FIELDS},
        problems=tuple(problems),
    )


# --- deterministic ids ------------------------------------------------------------------------


def stable_id(*parts: str) -> str:
    """A UUIDv5 of ``parts``: the same parts always give the same id."""
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join(parts)))


def incident_id_for(group_id: str, generation: int) -> str:
    return stable_id("incident", group_id, str(generation))


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def alert_fingerprint(alert: Alert) -> str:
    """Alertmanager's fingerprint, or a hash of the labels when a sender leaves it out."""
    if alert.fingerprint:
        return alert.fingerprint
    labels = json.dumps(sorted(alert.labels.items()), ensure_ascii=False)
    return "labels:" + hashlib.sha256(labels.encode()).hexdigest()[:32]


def alert_entry_id(group_id: str, alert: Alert) -> str:
    """The id of the entry an alert becomes: one per (group, alert, status, start/end)."""
    moment = (alert.ended_at or alert.starts_at) if alert.status == "resolved" else alert.starts_at
    when = _iso(moment) if moment is not None else "unknown"
    return stable_id("alert", group_id, alert_fingerprint(alert), alert.status, when)


# --- the documented shape (OpenAPI); the reading above is what decides ------------------------


class AlertmanagerAlert(BaseModel):
    """One alert of a notification. Every field may be missing or odd: it is still taken."""

    model_config = ConfigDict(extra="allow")

    status: str = Field(default="firing", description="firing or resolved")
    labels: dict[str, Any] = Field(default_factory=dict)
    annotations: dict[str, Any] = Field(default_factory=dict)
    startsAt: str = Field(default="", description="RFC 3339")
    endsAt: str = Field(default="", description="RFC 3339; 0001-01-01T00:00:00Z while firing")
    generatorURL: str = ""
    fingerprint: str = ""


class AlertmanagerWebhook(BaseModel):
    """Body of Alertmanager's webhook notification (``version`` "4"). Any number of alerts."""

    model_config = ConfigDict(extra="allow")

    version: str = "4"
    groupKey: str = ""
    truncatedAlerts: int = 0
    status: str = "firing"
    receiver: str = ""
    groupLabels: dict[str, Any] = Field(default_factory=dict)
    commonLabels: dict[str, Any] = Field(default_factory=dict)
    commonAnnotations: dict[str, Any] = Field(default_factory=dict)
    externalURL: str = ""
    alerts: list[AlertmanagerAlert]


__all__ = [
    "Alert",
    "AlertmanagerAlert",
    "AlertmanagerWebhook",
    "Notification",
    "PayloadError",
    "alert_entry_id",
    "alert_fingerprint",
    "incident_id_for",
    "parse_notification",
    "stable_id",
]
