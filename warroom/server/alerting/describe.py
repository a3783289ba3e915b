"""What an alert notification becomes in words: the incident title, the timeline line of
each alert, and the entry details that keep everything the alert carried.

* Title: the alert name plus what distinguishes the group (``KubeProxyDown on node-3``),
  from the group labels, else the labels all its alerts share (``instance``, ``pod``…) -
  never a generic annotation every alert of that kind carries. ``unique_title`` makes two
  groups' titles differ.
* Timeline line: ``Alert firing: KubeProxyDown [instance=node-3:10249]`` with the labels
  that tell the alert from the others of its group (or, alone, the labels that identify
  it), its summary and description, where it came from.
* Details: every label and annotation, fingerprint, generatorURL, externalURL, receiver,
  groupKey, times, severity and anything odd about it, as ``labels.instance`` → value.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import urlsplit

from warroom.domain.events import DETAILS_MAX, TEXT_MAX, TITLE_MAX
from warroom.server.alerting.payload import Alert, Notification

RUNBOOK_URL_ANNOTATION = "runbook_url"
RUNBOOK_LABEL = "runbook"
URL_MAX = 2000
# Labels that name the thing an alert is about, most telling first.
IDENTITY_LABELS = (
    "instance", "pod", "node", "host", "hostname", "container", "deployment", "statefulset",
    "daemonset", "job_name", "cronjob", "persistentvolumeclaim", "device", "mountpoint",
    "service", "endpoint", "queue", "topic", "namespace", "cluster", "job",
)  # fmt: skip
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
"""C0/C1 controls (terminal escapes) and bidi overrides: alert text is untrusted input shown
in people's terminals."""


def clean_text(text: str, limit: int) -> str:
    """One line, no control characters, at most ``limit`` characters."""
    text = " ".join(_UNSAFE.sub(" ", text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _clip(text: str, limit: int) -> str:
    """Kept as written (newlines too) but without terminal escapes, at most ``limit``."""
    text = _UNSAFE.sub(lambda m: "\n" if m.group(0) == "\n" else " ", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def runbook_url(value: str) -> str | None:
    """An http(s) link fit to show, or None."""
    value = value.strip()
    if not value or len(value) > URL_MAX or _UNSAFE.search(value) or any(c.isspace() for c in value):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    return value if parts.scheme in ("http", "https") and parts.netloc else None


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


class Describer:
    """Titles and texts for one notification."""

    def __init__(self, notification: Notification, severity_label: str) -> None:
        self.hook = notification
        self.quiet = {"alertname", severity_label, RUNBOOK_LABEL}

    def alertname(self, labels: Mapping[str, str] | None = None) -> str:
        for source in (labels or {}, self.hook.common_labels, self.hook.group_labels):
            name = clean_text(source.get("alertname", ""), 120)
            if name:
                return name
        names = sorted({a.alertname for a in self.hook.alerts if a.alertname})
        if names:
            return clean_text(names[0] if len(names) == 1 else f"{len(names)} alerts ({', '.join(names)})", 160)
        return "alert"

    def _pairs(self, names: list[str], labels: Mapping[str, str]) -> str:
        pairs = [f"{clean_text(name, 60)}={clean_text(labels[name], 100)}" for name in names[:8]]
        if len(names) > 8:
            pairs.append(f"+{len(names) - 8} more")
        return ", ".join(pairs)

    def _ordered(self, names: list[str]) -> list[str]:
        rank = {name: i for i, name in enumerate(IDENTITY_LABELS)}
        return sorted(names, key=lambda name: (rank.get(name, len(rank)), name))

    def distinguishing(self, alert: Alert) -> list[str]:
        """The labels that tell this alert from the others of its notification; alone, the
        labels that identify what it is about (those the group is not keyed on)."""
        values: dict[str, set[str]] = {}
        for other in self.hook.alerts:
            for name, value in other.labels.items():
                values.setdefault(name, set()).add(value)
        differing = [
            name for name in alert.labels
            if name not in self.quiet and (len(values.get(name, ())) > 1 or any(name not in o.labels for o in self.hook.alerts))
        ]  # fmt: skip
        if differing:
            return self._ordered(differing)
        return [name for name in IDENTITY_LABELS if name in alert.labels and name not in self.hook.group_labels][:3]

    def title(self) -> str:
        """``KubeProxyDown on node-3``: the name and what distinguishes the group."""
        name = self.alertname()
        keyed = [n for n in self._ordered(list(self.hook.group_labels)) if n not in self.quiet and self.hook.group_labels[n]]
        values = [self.hook.group_labels[n] for n in keyed]
        if not values:
            common = self.hook.common_labels or _shared_labels(self.hook.alerts)
            values = [common[n] for n in IDENTITY_LABELS if common.get(n)][:2]
        if not values and len(self.hook.alerts) > 1:
            differing = self.distinguishing(self.hook.alerts[0])
            if differing:
                return clean_text(f"{name} on {len(self.hook.alerts)} {differing[0]}s", TITLE_MAX)
        return clean_text(f"{name} on {', '.join(values)}" if values else name, TITLE_MAX)

    def summary(self) -> str:
        parts = [self.hook.common_annotations.get(key, "") for key in ("summary", "description", "message")]
        return clean_text(" — ".join(dict.fromkeys(p.strip() for p in parts if p.strip())), TEXT_MAX)

    def alert_text(self, alert: Alert, severity_note: str | None) -> str:
        labels = self.distinguishing(alert)
        about = self.alertname(alert.labels) + (f" [{self._pairs(labels, alert.labels)}]" if labels else "")
        words = [alert.annotations.get(key, "") for key in ("summary", "description", "message", "title")]
        details = " — ".join(dict.fromkeys(clean_text(w, 1500) for w in words if w.strip()))
        if alert.status == "resolved":
            since = f" (firing since {_when(alert.starts_at)})" if alert.starts_at else ""
            text = f"Alert resolved: {about}{since}"
        else:
            text = f"Alert firing: {about}"
        if details:
            text += f" — {details}"
        source = clean_text(alert.generator_url, 500)
        if source and alert.status == "firing":
            text += f" (source: {source})"
        notes = [note for note in (severity_note, *alert.problems) if note]
        if notes:
            text += f" [{'; '.join(notes)}]"
        return clean_text(text, TEXT_MAX)

    def details(self, alert: Alert, severity: str, severity_note: str | None) -> dict[str, str]:
        """Every field the alert and its notification carried, by name."""
        fields: dict[str, str] = {"status": alert.status, "severity": severity}
        if severity_note:
            fields["severity.note"] = severity_note
        fields.update({f"labels.{k}": v for k, v in sorted(alert.labels.items())})
        fields.update({f"annotations.{k}": v for k, v in sorted(alert.annotations.items())})
        fields["startsAt"] = alert.starts_at.isoformat() if alert.starts_at else ""
        fields["endsAt"] = alert.ends_at.isoformat() if alert.ends_at else ""
        fields["fingerprint"] = alert.fingerprint
        fields["generatorURL"] = alert.generator_url
        fields["externalURL"] = self.hook.external_url
        fields["receiver"] = self.hook.receiver
        fields["groupKey"] = self.hook.group_key
        fields.update({f"groupLabels.{k}": v for k, v in sorted(self.hook.group_labels.items())})
        fields.update({f"alert.{k}": json.dumps(v, ensure_ascii=False) for k, v in sorted(alert.extra.items())})
        for number, problem in enumerate((*alert.problems, *self.hook.problems), start=1):
            fields[f"problem.{number}"] = problem
        kept: dict[str, str] = {}
        for key, value in fields.items():
            if len(kept) >= DETAILS_MAX - 1:
                kept["more"] = f"{len(fields) - len(kept)} more fields are in the stored delivery"
                break
            if value:
                kept[_clip(key, 200) or "?"] = _clip(value, TEXT_MAX)
        return kept


def _shared_labels(alerts: list[Alert]) -> dict[str, str]:
    if not alerts:
        return {}
    first = alerts[0].labels
    return {k: v for k, v in first.items() if all(a.labels.get(k) == v for a in alerts[1:])}


def unique_title(title: str, group_id: str, taken: set[str]) -> str:
    """``title``, or with the group's short hash when another group's incident has it."""
    if title not in taken:
        return title
    tag = hashlib.sha256(group_id.encode()).hexdigest()[:6]
    return clean_text(f"{title[: TITLE_MAX - 16]} (group {tag})", TITLE_MAX)


__all__ = ["IDENTITY_LABELS", "Describer", "clean_text", "runbook_url", "unique_title"]
