"""Alert intake: ``POST /v1/hooks/alertmanager`` turns Prometheus Alertmanager notifications
(webhook payload version 4) into incident events.

* A notification whose group has a new firing alert opens an incident when none is open for
  its ``groupKey``, else it adds to the open one (and raises its severity when a new alert is
  more severe; it never lowers it: people may have decided otherwise).
* Every alert becomes a timeline note, backdated to when it started firing; a resolved alert
  becomes a note "Alert resolved: …" at its ``endsAt``. Nothing here resolves an incident:
  a person does.
* The ``runbook_url`` annotation is logged as a note with the link; a ``runbook`` label naming
  a runbook of the library (``warroom.runbooks.library``) attaches it as a checklist.
* Re-deliveries change nothing: every event id is a UUIDv5 of what the event stands for
  (``groupKey``, the alert's fingerprint, its status and start/end time...), so an event
  already stored is recognised and not made again.

Incidents are found without any table of their own: the incident of a group is
``uuid5(groupKey, generation)``; generation 0 is the first incident opened for the group, and
a new firing alert arriving after people resolved generation *n* opens *n + 1*. So the mapping
survives restarts and a restored database exactly as the events do.

The events go through ``Ledger.submit`` like any client's push (validation, append-only
storage, the feed's wake-up), signed by the token's user (``alertmanager`` with auth off).
Their HLC values come from the server's clock.

Severity mapping file (``warroom server --alert-severity-map PATH``), TOML::

    label = "severity"        # the alert label that picks the severity (default "severity")
    default = "SEV3"          # for values not in [map] and alerts without the label
    [map]                     # label value (case-insensitive) -> SEV1..SEV4 (or 1..4);
    critical = "SEV1"         # replaces the built-in table when given
    error = "SEV2"
    high = "SEV2"
    warning = "SEV3"
    info = "SEV4"
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import tomllib
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from warroom.domain.clock import Clock
from warroom.domain.events import (
    TEXT_MAX,
    TITLE_MAX,
    EntryLogged,
    Event,
    IncidentDeclared,
    IncidentUpdated,
    Payload,
    RunbookAttached,
)
from warroom.domain.hlc import HybridClock
from warroom.domain.ids import short_id
from warroom.domain.models import EntryKind, Severity, Status
from warroom.server.auth import Principal
from warroom.server.db import EventStore
from warroom.server.ledger import Ledger
from warroom.wire import IncidentSummary, Outcome, RejectionCode

log = logging.getLogger("warroom.server.alertmanager")

ALERTMANAGER_PATH = "/v1/hooks/alertmanager"
MAX_ALERTS = 500
"""More alerts in one notification: HTTP 413 (set ``max_alerts`` in Alertmanager below it)."""
DEFAULT_ACTOR = "alertmanager"
"""Who signs the events when the server runs without tokens."""
HLC_NODE = "alertmanager"
RUNBOOK_URL_ANNOTATION = "runbook_url"
RUNBOOK_LABEL = "runbook"
URL_MAX = 2000

# Fixed forever: changing it would make every re-delivery look new.
_NAMESPACE = uuid.UUID("5b0c3f7e-8a51-4c1e-9d0a-6f1f4a2e9b37")

# --- the payload (Alertmanager's webhook, version 4) --------------------------------------

# Sizes are bounded by the 1 MiB body limit and MAX_ALERTS. Long strings are clipped where
# they are used, never refused: Alertmanager retries a refused notification until it gives
# up, so refusing a long description would keep the alert out of the war room altogether.
MAX_LABELS = 1000
Labels = Annotated[dict[str, str], Field(max_length=MAX_LABELS)]


def _utc(value: datetime) -> datetime:
    try:
        return value.astimezone(timezone.utc)
    except OverflowError:  # year 1 at +01:00 has no UTC equivalent
        raise ValueError("time out of range once converted to UTC") from None


class AlertmanagerAlert(BaseModel):
    """One alert of a notification. Unknown fields are allowed: Alertmanager adds some."""

    model_config = ConfigDict(extra="allow")

    status: Literal["firing", "resolved"]
    labels: Labels = Field(default_factory=dict)
    annotations: Labels = Field(default_factory=dict)
    startsAt: AwareDatetime
    endsAt: AwareDatetime | None = Field(
        default=None, description="When it resolved; Alertmanager sends 0001-01-01T00:00:00Z while firing."
    )
    generatorURL: str = ""
    fingerprint: str = ""

    @field_validator("startsAt", "endsAt")
    @classmethod
    def _in_utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else _utc(value)

    @property
    def ended_at(self) -> datetime | None:
        """``endsAt`` unless it is Go's zero time (still firing)."""
        return self.endsAt if self.endsAt is not None and self.endsAt.year > 1 else None


class AlertmanagerWebhook(BaseModel):
    """Body of Alertmanager's webhook notification (``version`` "4")."""

    model_config = ConfigDict(extra="allow")

    version: Literal["4"]
    groupKey: Annotated[str, StringConstraints(min_length=1)]
    truncatedAlerts: int = Field(default=0, ge=0, le=1_000_000_000)
    status: Literal["firing", "resolved"]
    receiver: str = ""
    groupLabels: Labels = Field(default_factory=dict)
    commonLabels: Labels = Field(default_factory=dict)
    commonAnnotations: Labels = Field(default_factory=dict)
    externalURL: str = ""
    # More than MAX_ALERTS is a 413, checked before validation (like the batch limit of
    # POST /v1/events), hence no max_length here.
    alerts: list[AlertmanagerAlert] = Field(
        min_length=1, description=f"At most {MAX_ALERTS} (more: HTTP 413; set max_alerts)."
    )


class AlertIntakeResponse(BaseModel):
    """What a notification did."""

    incident_id: str | None = Field(
        description="The incident of this alert group; null when there is none (a resolved "
        "notification for a group that never opened one)."
    )
    created: bool = Field(description="True when this notification opened the incident.")
    logged: int = Field(description="Timeline entries written now (alerts, runbook links).")
    duplicates: int = Field(description="Entries already written by an earlier delivery.")
    attached: list[str] = Field(default_factory=list, description="Runbook ids attached now.")
    rejected: int = Field(default=0, description="Events the ledger refused (see the server log).")


# --- severity mapping -----------------------------------------------------------------------

DEFAULT_SEVERITY_VALUES: dict[str, Severity] = {
    "critical": Severity.SEV1,
    "error": Severity.SEV2,
    "high": Severity.SEV2,
    "warning": Severity.SEV3,
    "info": Severity.SEV4,
}


@dataclass(frozen=True)
class SeverityMap:
    """Which alert label picks the incident severity, and how its values map."""

    label: str = "severity"
    values: Mapping[str, Severity] = field(default_factory=lambda: dict(DEFAULT_SEVERITY_VALUES))
    default: Severity = Severity.SEV3

    def severity_of(self, labels: Mapping[str, str]) -> Severity:
        value = labels.get(self.label)
        if value is None:
            return self.default
        return self.values.get(value.strip().lower(), self.default)


def load_severity_map(path: Path) -> SeverityMap:
    """Read a mapping file (format in the module docstring); ``ValueError`` says what is wrong."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read the alert severity map {path}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"the alert severity map {path} is not valid TOML: {exc}") from None
    unknown = sorted(set(data) - {"label", "default", "map"})
    if unknown:
        raise ValueError(
            f"the alert severity map {path} has unknown keys {', '.join(unknown)}; "
            "use label, default and a [map] table"
        )
    label = data.get("label", "severity")
    if not isinstance(label, str) or not label.strip():
        raise ValueError(f"{path}: label must be the name of an alert label, e.g. \"severity\"")
    try:
        default = Severity.parse(data.get("default", "SEV3"))
    except ValueError as exc:
        raise ValueError(f"{path}: default: {exc}") from None
    values = dict(DEFAULT_SEVERITY_VALUES)
    if "map" in data:
        table = data["map"]
        if not isinstance(table, dict):
            raise ValueError(f"{path}: map must be a table of label value = \"SEV1\"..\"SEV4\"")
        values = {}
        for key, value in table.items():
            if not isinstance(value, (str, int)) or isinstance(value, bool):
                raise ValueError(f"{path}: map.{key}: use \"SEV1\"..\"SEV4\" or 1..4")
            try:
                values[key.strip().lower()] = Severity.parse(value)
            except ValueError as exc:
                raise ValueError(f"{path}: map.{key}: {exc}") from None
    return SeverityMap(label=label.strip(), values=values, default=default)


# --- deterministic ids ------------------------------------------------------------------------


def stable_id(*parts: str) -> str:
    """A UUIDv5 of ``parts``: the same parts always give the same id."""
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join(parts)))


def incident_id_for(group_key: str, generation: int) -> str:
    return stable_id("incident", group_key, str(generation))


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def alert_fingerprint(alert: AlertmanagerAlert) -> str:
    """Alertmanager's fingerprint, or a hash of the labels when a sender leaves it out."""
    if alert.fingerprint:
        return alert.fingerprint
    labels = json.dumps(sorted(alert.labels.items()), ensure_ascii=False)
    return "labels:" + hashlib.sha256(labels.encode()).hexdigest()[:32]


def alert_entry_id(group_key: str, alert: AlertmanagerAlert) -> str:
    """The id of the note an alert becomes: one per (group, alert, status, start/end)."""
    if alert.status == "resolved":
        moment = alert.ended_at or alert.startsAt
    else:
        moment = alert.startsAt
    return stable_id("alert", group_key, alert_fingerprint(alert), alert.status, _iso(moment))


# --- text -----------------------------------------------------------------------------------

# C0/C1 controls (terminal escapes) and bidi overrides: alert text is untrusted input shown
# in people's terminals.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def clean_text(text: str, limit: int) -> str:
    """One line, no control characters, at most ``limit`` characters."""
    text = " ".join(_UNSAFE.sub(" ", text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


class _Describer:
    """Titles and entry texts for one notification."""

    def __init__(self, hook: AlertmanagerWebhook, severity_label: str) -> None:
        self.hook = hook
        self.skip = {"alertname", severity_label, RUNBOOK_LABEL}

    def alertname(self, labels: Mapping[str, str] | None = None) -> str:
        for source in (labels or {}, self.hook.commonLabels, self.hook.groupLabels):
            name = clean_text(source.get("alertname", ""), 120)
            if name:
                return name
        return "alert"

    def _pairs(self, names: list[str], labels: Mapping[str, str]) -> str:
        pairs = [f"{clean_text(name, 60)}={clean_text(labels[name], 100)}" for name in names[:8]]
        if len(names) > 8:
            pairs.append(f"+{len(names) - 8} more")
        return ", ".join(pairs)

    def alert_labels(self, alert: AlertmanagerAlert) -> str:
        """The labels that tell this alert from the others of its group (those not common to
        all of them); for a group of one, the labels the group is keyed on."""
        common = self.hook.commonLabels
        names = [
            name
            for name in sorted(alert.labels)
            if name not in ("alertname", RUNBOOK_LABEL) and common.get(name) != alert.labels[name]
        ]
        if not names:
            names = [n for n in sorted(self.hook.groupLabels) if n not in self.skip and n in alert.labels]
        return self._pairs(names, alert.labels)

    def title(self) -> str:
        summary = clean_text(self.hook.commonAnnotations.get("summary", ""), TITLE_MAX)
        if summary:
            return summary
        group = self.hook.groupLabels
        names = [name for name in sorted(group) if name not in self.skip]
        key = self._pairs(names, group)
        return clean_text(f"{self.alertname()} ({key})" if key else self.alertname(), TITLE_MAX)

    def description(self) -> str:
        return clean_text(self.hook.commonAnnotations.get("description", ""), TEXT_MAX)

    def _about(self, alert: AlertmanagerAlert) -> str:
        labels = self.alert_labels(alert)
        return self.alertname(alert.labels) + (f" [{labels}]" if labels else "")

    def alert_text(self, alert: AlertmanagerAlert) -> str:
        about = self._about(alert)
        summary = clean_text(alert.annotations.get("summary", ""), 1000)
        description = clean_text(alert.annotations.get("description", ""), 2000)
        details = " — ".join(part for part in (summary, description) if part)
        if alert.status == "resolved":
            text = f"Alert resolved: {about} (firing since {_when(alert.startsAt)})"
        else:
            text = f"Alert firing: {about}"
        if details:
            text += f" — {details}"
        source = clean_text(alert.generatorURL, 500)
        if source and alert.status == "firing":
            text += f" (source: {source})"
        return clean_text(text, TEXT_MAX)


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


# --- the intake -------------------------------------------------------------------------------


@dataclass
class _Planned:
    event: Event
    is_entry: bool = False
    runbook_id: str | None = None


class AlertIntake:
    """Turns notifications into events and submits them to the ledger (one at a time)."""

    def __init__(
        self,
        ledger: Ledger,
        store: EventStore,
        clock: Clock,
        severity_map: SeverityMap | None = None,
        runbooks: Callable[[], list] | None = None,
    ) -> None:
        self.ledger = ledger
        self.store = store
        self.clock = clock
        self.severity_map = severity_map or SeverityMap()
        self._runbooks = runbooks or _library_runbooks
        self._hlc = HybridClock(clock, HLC_NODE)
        # Deciding "is an incident open for this group?" and storing the answer's events must
        # not interleave with another notification of the same group.
        self._lock = threading.Lock()

    def handle(self, principal: Principal, hook: AlertmanagerWebhook) -> tuple[AlertIntakeResponse, int]:
        """``(answer, events accepted)``. Raises ``StoreError`` (then nothing was stored)."""
        with self._lock:
            return self._handle(principal, hook)

    def _known(self, event_id: str) -> bool:
        return self.store.stored_event(event_id) is not None

    def _handle(self, principal: Principal, hook: AlertmanagerWebhook) -> tuple[AlertIntakeResponse, int]:
        actor = principal.name or DEFAULT_ACTOR
        now = self.clock.now()
        describe = _Describer(hook, self.severity_map.label)
        group_key = hook.groupKey

        # The group's incidents so far: generation 0, 1, ... (each declared on the server).
        summaries: dict[str, IncidentSummary] = {s.id: s for s in self.ledger.incidents()}
        generation = 0
        latest: IncidentSummary | None = None
        while incident_id_for(group_key, generation) in summaries:
            latest = summaries[incident_id_for(group_key, generation)]
            generation += 1

        # Each alert once (a payload may repeat one), minus those an earlier delivery logged.
        duplicates = 0
        fresh: list[tuple[str, AlertmanagerAlert]] = []
        seen: set[str] = set()
        for alert in hook.alerts:
            entry_id = alert_entry_id(group_key, alert)
            if entry_id in seen:
                continue
            seen.add(entry_id)
            if self._known(entry_id):
                duplicates += 1
            else:
                fresh.append((entry_id, alert))
        new_firing = [alert for _, alert in fresh if alert.status == "firing"]

        planned: list[_Planned] = []

        def plan(event_id: str, payload: Payload, at: datetime = now, **flags: Any) -> None:
            event = self._event(event_id, incident_id, actor, payload, at, now)
            planned.append(_Planned(event, **flags))

        created = False
        is_open = latest is not None and latest.status != Status.RESOLVED.value
        if is_open:
            incident_id = latest.id
        elif new_firing:
            # Nothing open for the group (never was, or people resolved it): open one.
            incident_id = incident_id_for(group_key, generation)
            firing = [a for a in hook.alerts if a.status == "firing"]
            severity = _worst(self.severity_map.severity_of(a.labels) for a in firing)
            declared = IncidentDeclared(
                title=describe.title(), severity=severity, summary=describe.description()
            )
            plan(stable_id("declared", incident_id), declared)
            created = is_open = True
        elif latest is not None:
            incident_id = latest.id  # resolved alerts of a resolved incident: still logged there
        else:
            # Only resolved (or already logged) alerts of a group that never opened an
            # incident: nothing to attach them to.
            nothing = AlertIntakeResponse(incident_id=None, created=False, logged=0, duplicates=duplicates)
            return nothing, 0

        if is_open and not created and new_firing:
            # A new alert more severe than the incident raises it (never lowers it).
            worst_alert = min(new_firing, key=lambda a: self.severity_map.severity_of(a.labels).rank)
            worst = self.severity_map.severity_of(worst_alert.labels)
            if worst.rank < Severity(latest.severity).rank:
                event_id = stable_id("severity", incident_id, alert_entry_id(group_key, worst_alert))
                if not self._known(event_id):
                    plan(event_id, IncidentUpdated(severity=worst))

        if is_open:
            planned += self._runbook_events(incident_id, actor, hook, describe, now)

        for entry_id, alert in fresh:
            if alert.status == "resolved":
                at = alert.ended_at or now
            else:
                at = alert.startsAt
            payload = EntryLogged(entry_kind=EntryKind.NOTE, text=describe.alert_text(alert))
            plan(entry_id, payload, min(at, now), is_entry=True)

        if is_open and hook.truncatedAlerts:
            event_id = stable_id("truncated", incident_id, str(hook.truncatedAlerts))
            if not self._known(event_id):
                text = (
                    f"Alertmanager left {hook.truncatedAlerts} more alert(s) of this group out of "
                    "its notification (webhook max_alerts)"
                )
                where = clean_text(hook.externalURL, 500)
                text += f"; see {where}" if where else ""
                payload = EntryLogged(entry_kind=EntryKind.NOTE, text=clean_text(text, TEXT_MAX))
                plan(event_id, payload, is_entry=True)

        if not planned:
            nothing = AlertIntakeResponse(incident_id=incident_id, created=False, logged=0, duplicates=duplicates)
            return nothing, 0

        raw = [json.loads(item.event.model_dump_json()) for item in planned]
        results = self.ledger.submit(principal, raw)
        logged = accepted = rejected = 0
        attached: list[str] = []
        for item, result in zip(planned, results):
            if result.status is Outcome.ACCEPTED:
                accepted += 1
                logged += item.is_entry
                if item.runbook_id:
                    attached.append(item.runbook_id)
            elif result.status is Outcome.DUPLICATE or result.code is RejectionCode.CONFLICT:
                # Already stored (a conflict: stored by a delivery this process did not see
                # through, with other times): either way, it is there.
                duplicates += item.is_entry
            else:
                rejected += 1
                log.warning("alert event %s refused: %s", result.id, result.reason)
        log.info(
            "alertmanager group %r: incident %s%s, %d logged, %d duplicate(s)",
            group_key[:80], short_id(incident_id), " (opened)" if created else "", logged, duplicates,
        )
        answer = AlertIntakeResponse(
            incident_id=incident_id,
            created=created and results[0].status is Outcome.ACCEPTED,
            logged=logged,
            duplicates=duplicates,
            attached=attached,
            rejected=rejected,
        )
        return answer, accepted

    def _runbook_events(
        self, incident_id: str, actor: str, hook: AlertmanagerWebhook, describe: _Describer, now: datetime
    ) -> list[_Planned]:
        """A note per runbook link, an attach per runbook named by label (each once per incident)."""
        firing = [a for a in hook.alerts if a.status == "firing"]
        urls: dict[str, str] = {}  # url -> alertname
        names: dict[str, None] = {}
        sources = [(hook.commonAnnotations, hook.commonLabels, describe.alertname())] if hook.status == "firing" else []
        sources += [(a.annotations, a.labels, describe.alertname(a.labels)) for a in firing]
        for annotations, labels, alertname in sources:
            url = runbook_url(annotations.get(RUNBOOK_URL_ANNOTATION, ""))
            if url:
                urls.setdefault(url, alertname)
            name = labels.get(RUNBOOK_LABEL, "").strip().lower()
            if name:
                names.setdefault(name[:100])
        planned: list[_Planned] = []
        if names:
            wanted = [n for n in names if not self._known(stable_id("runbook", incident_id, n))]
            if wanted:
                by_id = {r.id.lower(): r for r in self._runbooks()}
                for name in wanted:
                    runbook = by_id.get(name)
                    if runbook is None:
                        log.info("alert names runbook %r, which the library does not have", name)
                        continue
                    try:
                        from warroom.runbooks.library import attach_fields

                        payload = RunbookAttached(**attach_fields(runbook))
                    except (ValidationError, ValueError) as exc:
                        log.warning("runbook %r cannot be attached: %s", name, exc)
                        continue
                    event_id = stable_id("runbook", incident_id, name)
                    planned.append(_Planned(self._event(event_id, incident_id, actor, payload, now, now), runbook_id=runbook.id))
        for url, alertname in urls.items():
            event_id = stable_id("runbook_url", incident_id, url)
            if self._known(event_id):
                continue
            payload = EntryLogged(entry_kind=EntryKind.NOTE, text=clean_text(f"Runbook for {alertname}: {url}", TEXT_MAX))
            planned.append(_Planned(self._event(event_id, incident_id, actor, payload, now, now), is_entry=True))
        return planned

    def _event(
        self, event_id: str, incident_id: str, actor: str, payload: Payload, at: datetime, now: datetime
    ) -> Event:
        return Event(
            id=event_id,
            incident_id=incident_id,
            kind=payload.kind,
            actor=actor,
            at=at,
            logged_at=now,
            hlc=self._hlc.tick(),
            payload=payload.model_dump(mode="json"),
        )


def _worst(severities) -> Severity:
    return min(severities, key=lambda s: s.rank, default=Severity.SEV3)


def _library_runbooks() -> list:
    from warroom.runbooks.library import load_library

    runbooks, errors = load_library()
    for error in errors:
        log.debug("runbook not loaded: %s", error)
    return runbooks
