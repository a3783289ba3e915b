"""Alert intake: ``POST /v1/hooks/alertmanager`` turns Prometheus Alertmanager notifications
(webhook payload version 4) into incident events, and never loses an alert.

* Every notification is first stored as it arrived (``alert_deliveries``, append-only), so
  whatever happens next, the audit has it.
* Anything Alertmanager sends is taken (``warroom.server.alerting.payload``): any number of
  alerts (written in batches of the ledger's size), empty group keys and labels, odd
  times. The answer is 4xx only for what can never succeed (no token, not JSON, not a
  notification at all, a body over ``ALERT_BODY_MAX``), 503 for storage trouble, which
  Alertmanager retries; a retry adds nothing twice.
* A group with a new firing alert opens an incident when none is open for it, else adds to
  the open one (raising its severity when a new alert is more severe, never lowering it).
  Heartbeat alerts (``Watchdog``…) open nothing (``warroom.server.alerting.severity``).
* Every alert becomes a timeline note at the time it started firing (a resolved one at its
  end) naming the labels that tell it apart, with every label, annotation, fingerprint and
  link in the entry's details (``warroom.server.alerting.describe``). Nothing here resolves
  an incident: a person does.
* The ``runbook_url`` annotation is logged as a link; a ``runbook`` label naming a runbook
  of the library attaches it as a checklist.
* Event ids are UUIDv5s of what they stand for (the group, the alert's fingerprint, status
  and time), so a re-delivery is recognised. The incident of a group is
  ``uuid5(group, generation)``: generation *n + 1* opens when people resolved *n*, and the
  mapping survives restarts and restores exactly as the events do.

The events go through ``Ledger.submit`` like any client's push, signed by the token's user
(``alertmanager`` with auth off); their HLC values come from the server's clock. The route is
``warroom.server.routes.alerts``.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from warroom.domain.clock import Clock
from warroom.domain.events import EntryLogged, Event, IncidentDeclared, IncidentUpdated, Payload, RunbookAttached
from warroom.domain.hlc import HybridClock
from warroom.domain.ids import short_id
from warroom.domain.models import EntryKind, Severity, Status
from warroom.server.alerting.describe import (
    RUNBOOK_LABEL,
    RUNBOOK_URL_ANNOTATION,
    Describer,
    clean_text,
    runbook_url,
    unique_title,
)
from warroom.server.alerting.payload import (
    Alert,
    AlertmanagerAlert,
    AlertmanagerWebhook,
    Notification,
    PayloadError,
    alert_entry_id,
    incident_id_for,
    parse_notification,
    stable_id,
)
from warroom.server.alerting.severity import DEFAULT_SEVERITY_VALUES, SeverityMap, load_severity_map
from warroom.server.auth import Principal
from warroom.server.ledger import Ledger, utc_iso
from warroom.server.storage import EventStore
from warroom.wire import MAX_BATCH_EVENTS, IncidentSummary, Outcome, RejectionCode

log = logging.getLogger("warroom.server.alertmanager")

ALERTMANAGER_PATH = "/v1/hooks/alertmanager"
ALERT_BODY_MAX = 32 * 1024 * 1024
"""A notification larger than this is refused (413, and logged as an error): about 10,000
alerts with a few dozen labels each. Alertmanager's max_alerts (default: no limit) keeps a
notification below it."""
DEFAULT_ACTOR = "alertmanager"
"""Who signs the events when the server runs without tokens."""
HLC_NODE = "alertmanager"
TEXT_MAX = 4000


class AlertIntakeResponse(BaseModel):
    """What a notification did."""

    incident_id: str | None = Field(
        description="The incident of this alert group; null when there is none (a resolved "
        "notification for a group that never opened one, or only heartbeats)."
    )
    created: bool = Field(description="True when this notification opened the incident.")
    logged: int = Field(description="Timeline entries written now (alerts, runbook links).")
    duplicates: int = Field(description="Entries already written by an earlier delivery.")
    attached: list[str] = Field(default_factory=list, description="Runbook ids attached now.")
    rejected: int = Field(default=0, description="Events the ledger refused (see the server log).")
    received: int = Field(default=0, description="Alerts in the notification.")
    heartbeats: int = Field(default=0, description="Heartbeat alerts (Watchdog…), which open nothing.")
    delivery: int | None = Field(default=None, description="Number of the stored copy of this notification.")


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

    def record(self, principal: Principal, body: bytes) -> int:
        """Store the notification as it arrived. Raises ``StoreError``."""
        return self.store.record_delivery(utc_iso(self.clock.now()), principal.name or DEFAULT_ACTOR, body)

    def handle(self, principal: Principal, notification: Notification, delivery: int | None = None) -> tuple[AlertIntakeResponse, int]:
        """``(answer, events accepted)``. Raises ``StoreError`` (the batches stored before it
        stay; a retry finds them as duplicates)."""
        with self._lock:
            answer, accepted = self._handle(principal, notification)
        return answer.model_copy(update={"delivery": delivery}), accepted

    def _known(self, event_id: str) -> bool:
        return self.store.stored_event(event_id) is not None

    def _handle(self, principal: Principal, hook: Notification) -> tuple[AlertIntakeResponse, int]:
        actor = principal.name or DEFAULT_ACTOR
        now = self.clock.now()
        severities = self.severity_map
        describe = Describer(hook, severities.label)
        alerts = [a for a in hook.alerts if not severities.is_heartbeat(a.labels)]
        heartbeats = len(hook.alerts) - len(alerts)
        if hook.problems:
            log.info("alert group %r: %s", hook.group_key[:80], "; ".join(hook.problems))

        # The group's incidents so far: generation 0, 1, ... (each declared on the server).
        summaries: dict[str, IncidentSummary] = {s.id: s for s in self.ledger.incidents()}
        generation = 0
        latest: IncidentSummary | None = None
        intake = self.ledger.intake_names() | {actor}
        while incident_id_for(hook.group_id, generation) in summaries:
            candidate = summaries[incident_id_for(hook.group_id, generation)]
            # Declared by a person (an older server let people take these ids): squatted,
            # not this group's incident. The alert goes to the next free generation.
            if self.ledger.declared_by(candidate.id) in intake:
                latest = candidate
            generation += 1

        # Each alert once (a payload may repeat one), minus those an earlier delivery logged.
        duplicates = 0
        fresh: list[tuple[str, Alert]] = []
        seen: set[str] = set()
        for alert in alerts:
            entry_id = alert_entry_id(hook.group_id, alert)
            if entry_id in seen:
                continue
            seen.add(entry_id)
            if self._known(entry_id):
                duplicates += 1
            else:
                fresh.append((entry_id, alert))
        new_firing = [alert for _, alert in fresh if alert.status == "firing"]

        def answer(incident_id: str | None, **values: Any) -> AlertIntakeResponse:
            base = {"created": False, "logged": 0, "duplicates": duplicates, "received": len(hook.alerts), "heartbeats": heartbeats}
            return AlertIntakeResponse(incident_id=incident_id, **{**base, **values})

        planned: list[_Planned] = []

        def plan(event_id: str, payload: Payload, at: datetime = now, **flags: Any) -> None:
            planned.append(_Planned(self._event(event_id, incident_id, actor, payload, at, now), **flags))

        created = False
        is_open = latest is not None and latest.status != Status.RESOLVED.value
        if is_open:
            incident_id = latest.id
        elif new_firing:
            # Nothing open for the group (never was, or people resolved it): open one.
            incident_id = incident_id_for(hook.group_id, generation)
            ours = {incident_id_for(hook.group_id, g) for g in range(generation + 1)}
            taken = {s.title for s in summaries.values() if s.id not in ours}
            firing = [a for a in alerts if a.status == "firing"]
            declared = IncidentDeclared(
                title=unique_title(describe.title(), hook.group_id, taken),
                severity=_worst(severities.severity_of(a.labels) for a in firing),
                summary=describe.summary(),
            )
            plan(stable_id("declared", incident_id), declared)
            created = is_open = True
        elif latest is not None:
            incident_id = latest.id  # resolved alerts of a resolved incident: still logged there
        else:
            # Only resolved (or already logged) alerts, or only heartbeats, of a group that
            # never opened an incident: nothing to attach them to.
            return answer(None), 0

        if is_open and not created and new_firing:
            # A new alert more severe than the incident raises it (never lowers it).
            worst_alert = min(new_firing, key=lambda a: severities.severity_of(a.labels).rank)
            worst = severities.severity_of(worst_alert.labels)
            if worst.rank < Severity(latest.severity).rank:
                event_id = stable_id("severity", incident_id, alert_entry_id(hook.group_id, worst_alert))
                if not self._known(event_id):
                    plan(event_id, IncidentUpdated(severity=worst))

        if is_open:
            planned += self._runbook_events(incident_id, actor, hook, alerts, describe, now)

        for entry_id, alert in fresh:
            severity, note = severities.lookup(alert.labels)
            if note:
                log.warning("alert %s in group %r: %s", describe.alertname(alert.labels), hook.group_key[:80], note)
            if alert.status == "resolved":
                at = alert.ended_at or now
            else:
                at = alert.starts_at or now
            payload = EntryLogged(
                entry_kind=EntryKind.NOTE,
                text=describe.alert_text(alert, note),
                details=describe.details(alert, severity.value, note),
            )
            plan(entry_id, payload, min(at, now), is_entry=True)

        if is_open and hook.truncated:
            event_id = stable_id("truncated", incident_id, str(hook.truncated))
            if not self._known(event_id):
                text = (
                    f"Alertmanager left {hook.truncated} more alert(s) of this group out of "
                    "its notification (webhook max_alerts)"
                )
                where = clean_text(hook.external_url, 500)
                text += f"; see {where}" if where else ""
                plan(event_id, EntryLogged(entry_kind=EntryKind.NOTE, text=clean_text(text, TEXT_MAX)), is_entry=True)

        if not planned:
            return answer(incident_id), 0

        logged = accepted = rejected = 0
        attached: list[str] = []
        first_accepted = None
        # The ledger takes batches of its push size; the declaration comes first.
        for start in range(0, len(planned), MAX_BATCH_EVENTS):
            chunk = planned[start:start + MAX_BATCH_EVENTS]
            # Through this route a token speaks as alert intake: alert incident ids are its own.
            as_intake = principal if principal.role == "admin" else replace(principal, role="intake")
            results = self.ledger.submit(as_intake, [json.loads(item.event.model_dump_json()) for item in chunk])
            for item, result in zip(chunk, results):
                if first_accepted is None:
                    first_accepted = result.status is Outcome.ACCEPTED
                if result.status is Outcome.ACCEPTED:
                    accepted += 1
                    logged += item.is_entry
                    if item.runbook_id:
                        attached.append(item.runbook_id)
                elif result.status is Outcome.DUPLICATE or result.code is RejectionCode.CONFLICT:
                    # Already stored (a conflict: by a delivery this process did not see
                    # through, with other times): either way, it is there.
                    duplicates += item.is_entry
                else:
                    rejected += 1
                    log.warning("alert event %s refused: %s", result.id, result.reason)
        log.info(
            "alertmanager group %r: incident %s%s, %d logged, %d duplicate(s), %d heartbeat(s)",
            hook.group_key[:80], short_id(incident_id), " (opened)" if created else "", logged, duplicates, heartbeats,
        )
        created = created and bool(first_accepted)
        return answer(incident_id, created=created, logged=logged, duplicates=duplicates, attached=attached, rejected=rejected), accepted

    def _runbook_events(
        self, incident_id: str, actor: str, hook: Notification, alerts: list[Alert], describe: Describer, now: datetime
    ) -> list[_Planned]:
        """A note per runbook link, an attach per runbook named by label (each once per incident)."""
        firing = [a for a in alerts if a.status == "firing"]
        urls: dict[str, str] = {}  # url -> alertname
        names: dict[str, None] = {}
        sources = [(hook.common_annotations, hook.common_labels, describe.alertname())] if hook.status == "firing" and firing else []
        sources += [(a.annotations, a.labels, describe.alertname(a.labels)) for a in firing]
        for notes, labels, alertname in sources:
            url = runbook_url(notes.get(RUNBOOK_URL_ANNOTATION, ""))
            if url:
                urls.setdefault(url, alertname)
            name = labels.get(RUNBOOK_LABEL, "").strip().lower()
            if name:
                names.setdefault(name[:100])
        planned: list[_Planned] = []
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

    def _event(self, event_id: str, incident_id: str, actor: str, payload: Payload, at: datetime, now: datetime) -> Event:
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


__all__ = [
    "ALERTMANAGER_PATH",
    "ALERT_BODY_MAX",
    "DEFAULT_SEVERITY_VALUES",
    "AlertIntake",
    "AlertIntakeResponse",
    "AlertmanagerAlert",
    "AlertmanagerWebhook",
    "PayloadError",
    "SeverityMap",
    "alert_entry_id",
    "clean_text",
    "incident_id_for",
    "load_severity_map",
    "parse_notification",
    "runbook_url",
]
