"""Alert intake: ``POST /v1/hooks/alertmanager`` against a real ``warroom server`` process.

Alertmanager's webhook payload (version 4) opens or adds to an incident per alert group, logs
each alert at its start (resolved ones at their end), never resolves the incident itself, and
turns re-deliveries into no-ops. Its events reach clients through the ordinary feed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from warroom.domain.clock import SystemClock
from warroom.domain.commands import EventFactory, update
from warroom.domain.events import UUID_PATTERN, Event, parse_event
from warroom.domain.fold import fold_incident
from warroom.domain.hlc import HybridClock
from warroom.domain.ids import uuid7
from warroom.domain.models import EntryKind, Incident, Severity, Status
from warroom.server.alerting.describe import clean_text, runbook_url
from warroom.server.alerting.payload import Alert, alert_entry_id, incident_id_for, parse_notification
from warroom.server.alerting.severity import DEFAULT_SEVERITY_VALUES, SeverityMap, load_severity_map
from warroom.server.alertmanager import ALERTMANAGER_PATH

try:
    from serverproc import Replica, ServerProcess, free_port, state_hash, wait_until
except ImportError:  # tests/ collected as a package
    from tests.serverproc import Replica, ServerProcess, free_port, state_hash, wait_until

HTTP = httpx.Client(timeout=30)

ALERT_SEVERITY_MAP = """\
label = "severity"
default = "SEV3"

[map]
critical = "SEV1"
page = 1          # only in this file: proves the server reads it
error = "SEV2"
warning = "SEV3"
info = "SEV4"
"""


# --- helpers -----------------------------------------------------------------------------------


def rfc3339(moment: datetime, nanos: bool = False) -> str:
    """As Go's time.RFC3339Nano writes it (Alertmanager may send nine fractional digits)."""
    text = moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return text + (f".{moment.microsecond:06d}123Z" if nanos else "Z")


NOW = datetime.now(timezone.utc).replace(microsecond=0)
T0 = NOW - timedelta(minutes=30)


def alert(
    instance: str,
    *,
    status: str = "firing",
    starts: datetime = T0,
    ends: datetime | None = None,
    severity: str = "critical",
    name: str = "HighErrorRate",
    labels: dict | None = None,
    annotations: dict | None = None,
) -> dict:
    return {
        "status": status,
        "labels": {"alertname": name, "severity": severity, "instance": instance, "job": "api", **(labels or {})},
        "annotations": {"summary": f"5xx above 5% on {instance}", **(annotations or {})},
        "startsAt": rfc3339(starts),
        "endsAt": rfc3339(ends) if ends else "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.example:9090/graph?g0.expr=rate",
        "fingerprint": f"fp-{name}-{instance}",
    }


def notification(group: str, alerts: list[dict], *, status: str | None = None, **extra) -> dict:
    """A version-4 payload for the alert group ``group`` (a fresh groupKey per test)."""
    first = alerts[0]["labels"]

    def common(field: str) -> dict:  # what every alert shares, as Alertmanager computes it
        return {k: v for k, v in alerts[0][field].items() if all(a[field].get(k) == v for a in alerts)}

    return {
        "receiver": "warroom",
        "status": status or ("firing" if any(a["status"] == "firing" for a in alerts) else "resolved"),
        "alerts": alerts,
        "groupLabels": {"alertname": first["alertname"], "job": "api"},
        "commonLabels": common("labels"),
        "commonAnnotations": common("annotations"),
        "externalURL": "http://alertmanager.example:9093",
        "version": "4",
        "groupKey": f'{{}}/{{severity=~".+"}}:{{alertname="{first["alertname"]}", group="{group}"}}',
        "truncatedAlerts": 0,
        **extra,
    }


def post(server: ServerProcess, body, user: str | None = "alertmanager", **kwargs) -> httpx.Response:
    headers = {"Authorization": f"Bearer {server.tokens[user]}"} if user else {}
    if isinstance(body, (bytes, str)):
        return HTTP.post(f"{server.url}{ALERTMANAGER_PATH}", content=body, headers={**headers, "Content-Type": "application/json"})
    return HTTP.post(f"{server.url}{ALERTMANAGER_PATH}", json=body, headers=headers, **kwargs)


def fire(server: ServerProcess, body: dict, user: str = "alertmanager") -> dict:
    response = post(server, body, user)
    assert response.status_code == 200, response.text
    return response.json()


def feed_events(server: ServerProcess) -> list[Event]:
    events: list[Event] = []
    cursor = None
    headers = {"Authorization": f"Bearer {server.tokens['alice']}"}
    while True:
        params = {"timeout": 0, "limit": 1000, **({"cursor": cursor} if cursor else {})}
        page = HTTP.get(f"{server.url}/v1/feed", params=params, headers=headers).json()
        events += [parse_event(item["event"]) for item in page["events"]]
        cursor = page["cursor"]
        if not page["more"]:
            return events


def state(server: ServerProcess, incident_id: str) -> Incident:
    """The incident as every client folds it from the feed."""
    return fold_incident(incident_id, [e for e in feed_events(server) if e.incident_id == incident_id])


def notes(incident: Incident) -> list:
    return [entry for entry in incident.timeline if entry.kind is EntryKind.NOTE]


def group() -> str:
    return uuid.uuid4().hex[:8]


# --- opening, logging, re-delivery ---------------------------------------------------------------


def test_a_firing_group_opens_an_incident_with_mapped_severity_and_an_entry_per_alert(server):
    t1 = T0 + timedelta(minutes=2)
    body = notification(group(), [alert("web-1"), alert("web-2", starts=t1)], commonAnnotations={"summary": "Checkout 5xx rate high"})
    answer = fire(server, body)
    assert answer["created"] is True and answer["logged"] == 2 and answer["duplicates"] == 0
    incident = state(server, answer["incident_id"])
    # The name and what the group is keyed on, not an annotation every such alert shares.
    assert incident.title == "HighErrorRate on api"
    assert incident.summary == "Checkout 5xx rate high"
    assert incident.severity is Severity.SEV1  # severity=critical
    assert incident.status is Status.INVESTIGATING
    assert incident.declared_by == "alertmanager" and incident.commander is None  # a person takes IC
    entries = notes(incident)
    assert [(e.at, e.actor) for e in entries] == [(T0, "alertmanager"), (t1, "alertmanager")]
    assert "Alert firing: HighErrorRate [instance=web-1]" in entries[0].text
    assert "5xx above 5% on web-1" in entries[0].text
    assert "instance=web-2" in entries[1].text
    assert incident.milestones[next(iter(incident.milestones))] == T0  # detected: first alert


def test_title_names_the_group_and_the_file_overrides_the_built_in_severity(server):
    body = notification(group(), [alert("db-1", severity="page", name="DiskFull")], commonAnnotations={})
    answer = fire(server, body)
    incident = state(server, answer["incident_id"])
    assert incident.title == "DiskFull on api"
    assert incident.severity is Severity.SEV1  # built in, page is SEV2; the file says SEV1


def test_redelivery_of_the_same_notification_adds_nothing(server):
    body = notification(group(), [alert("web-1"), alert("web-2")])
    first = fire(server, body)
    before = server.counts()
    for _ in range(2):
        again = fire(server, body)
        assert again == {**first, "created": False, "logged": 0, "duplicates": 2, "attached": [], "delivery": again["delivery"]}
        assert again["delivery"] > first["delivery"]  # every delivery is kept for audit
    assert server.counts() == before


def test_a_new_alert_in_the_group_adds_exactly_one_entry_to_the_same_incident(server):
    key = group()
    first = fire(server, notification(key, [alert("web-1"), alert("web-2")]))
    before = server.counts()[0]
    later = T0 + timedelta(minutes=5)
    second = fire(server, notification(key, [alert("web-1"), alert("web-2"), alert("web-3", starts=later)]))
    assert second["incident_id"] == first["incident_id"]
    assert (second["created"], second["logged"], second["duplicates"]) == (False, 1, 2)
    assert server.counts()[0] == before + 1
    entries = notes(state(server, first["incident_id"]))
    assert len(entries) == 3 and entries[-1].at == later and "web-3" in entries[-1].text


def test_a_more_severe_new_alert_raises_the_severity_and_a_milder_one_never_lowers_it(server):
    key = group()
    answer = fire(server, notification(key, [alert("web-1", severity="warning")]))
    assert state(server, answer["incident_id"]).severity is Severity.SEV3
    fire(server, notification(key, [alert("web-1", severity="warning"), alert("web-2", severity="critical")]))
    assert state(server, answer["incident_id"]).severity is Severity.SEV1
    fire(server, notification(key, [alert("web-3", severity="info")]))
    incident = state(server, answer["incident_id"])
    assert incident.severity is Severity.SEV1 and len(notes(incident)) == 3


def test_a_resolved_notification_is_logged_but_leaves_the_incident_open(server):
    key = group()
    answer = fire(server, notification(key, [alert("web-1")]))
    ended = NOW - timedelta(minutes=3)
    resolved = notification(key, [alert("web-1", status="resolved", ends=ended)])
    assert resolved["status"] == "resolved"
    result = fire(server, resolved)
    assert (result["incident_id"], result["created"], result["logged"]) == (answer["incident_id"], False, 1)
    incident = state(server, answer["incident_id"])
    assert incident.status is Status.INVESTIGATING and incident.resolved_at is None
    last = notes(incident)[-1]
    assert last.text.startswith("Alert resolved: HighErrorRate [instance=web-1] (firing since") and last.at == ended
    assert fire(server, resolved)["logged"] == 0  # re-delivered: nothing new


def test_a_resolved_notification_for_an_unknown_group_opens_nothing(server):
    before = server.counts()
    body = notification(group(), [alert("web-1", status="resolved", ends=NOW)])
    answer = fire(server, body)
    assert {k: v for k, v in answer.items() if k != "delivery"} == {
        "incident_id": None, "created": False, "logged": 0, "duplicates": 0, "attached": [], "rejected": 0,
        "received": 1, "heartbeats": 0,
    }  # fmt: skip
    assert server.counts() == before


def test_after_a_person_resolves_it_only_a_new_alert_opens_a_new_incident(server):
    key = group()
    body = notification(key, [alert("web-1")])
    first = fire(server, body)
    clock = SystemClock()
    alice = EventFactory("alice", clock, HybridClock(clock, uuid7(clock.now())[-8:]))
    resolve = update(alice, state(server, first["incident_id"]), status=Status.RESOLVED)
    pushed = HTTP.post(
        f"{server.url}/v1/events",
        json={"events": [json.loads(resolve.model_dump_json())]},
        headers={"Authorization": f"Bearer {server.tokens['alice']}"},
    )
    assert pushed.json()["accepted"] == 1, pushed.text
    again = fire(server, body)  # Alertmanager's repeat of the same, still-firing alert
    assert (again["incident_id"], again["created"], again["logged"]) == (first["incident_id"], False, 0)
    new = fire(server, notification(key, [alert("web-1"), alert("web-9", starts=NOW - timedelta(minutes=1))]))
    assert new["created"] is True and new["incident_id"] != first["incident_id"]
    assert new["logged"] == 1 and new["duplicates"] == 1
    assert new["incident_id"] == incident_id_for(body["groupKey"], 1)
    assert state(server, first["incident_id"]).status is Status.RESOLVED


# --- runbooks --------------------------------------------------------------------------------------


def test_runbook_url_is_logged_and_a_runbook_label_attaches_the_runbook(server):
    key = group()
    url = "https://wiki.example/runbooks/db-cpu"
    body = notification(
        key,
        [alert("db-1", labels={"runbook": "database-high-cpu"}, annotations={"runbook_url": url}),
         alert("db-2", labels={"runbook": "no-such-runbook"}, annotations={"runbook_url": "javascript:alert(1)"})],
        commonAnnotations={"runbook_url": url},
    )  # fmt: skip
    answer = fire(server, body)
    assert answer["attached"] == ["database-high-cpu"]  # the unknown one is skipped quietly
    assert answer["logged"] == 3  # two alerts and one runbook link (the same URL twice, once)
    incident = state(server, answer["incident_id"])
    checklist = incident.checklists["database-high-cpu"]
    assert checklist.steps and checklist.attached_by == "alertmanager"
    links = [e.text for e in notes(incident) if e.text.startswith("Runbook")]
    assert links == [f"Runbook for HighErrorRate: {url}"]
    assert not any("javascript:" in e.text for e in incident.timeline)
    before = server.counts()
    again = fire(server, body)
    assert again["attached"] == [] and again["logged"] == 0 and server.counts() == before


# --- refusals ----------------------------------------------------------------------------------------


def _bad_bodies() -> dict[str, tuple[bytes, int]]:
    """What can never succeed: 4xx (Alertmanager does not retry those)."""
    good = notification("bad", [alert("web-1")])
    return {
        "malformed JSON": (b'{"version": "4", ', 400),
        "not UTF-8": (b"\xff\xfe", 400),
        "a JSON list": (b"[]", 422),
        "no alerts list": (json.dumps({k: v for k, v in good.items() if k != "alerts"}).encode(), 422),
        "alerts not a list": (json.dumps({**good, "alerts": {"a": 1}}).encode(), 422),
        "an alert that is not an object": (json.dumps({**good, "alerts": ["firing"]}).encode(), 422),
        "body over 32 MiB": (json.dumps({**good, "commonAnnotations": {"description": "x" * (33 << 20)}}).encode(), 413),
    }


@pytest.mark.parametrize("name", list(_bad_bodies()))
def test_what_can_never_succeed_is_refused_and_stores_no_event(server, name):
    body, status = _bad_bodies()[name]
    before = server.counts()
    response = post(server, body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert isinstance(error, str) and len(error) > 20
    assert server.counts() == before


def test_extra_fields_from_newer_alertmanagers_are_accepted(server):
    body = notification(group(), [{**alert("web-1"), "silencedBy": [], "newField": {"x": 1}}], newTopLevel=True)
    assert fire(server, body)["logged"] == 1


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic eDp5"}])
def test_no_valid_token_is_401_and_stores_nothing(server, headers):
    before = server.counts()
    response = HTTP.post(f"{server.url}{ALERTMANAGER_PATH}", json=notification(group(), [alert("w")]), headers=headers)
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    assert "token" in response.json()["error"]
    assert server.counts() == before


def test_events_are_signed_by_the_token_user(server):
    answer = fire(server, notification(group(), [alert("web-1")]), user="carol")
    assert {e.actor for e in feed_events(server) if e.incident_id == answer["incident_id"]} == {"carol"}


def test_the_route_is_documented_with_its_errors(server):
    spec = HTTP.get(f"{server.url}/openapi.json").json()
    operation = spec["paths"][ALERTMANAGER_PATH]["post"]
    assert set(operation["responses"]) >= {"200", "400", "401", "413", "422"}
    assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/AlertmanagerWebhook")
    assert "AlertmanagerAlert" in spec["components"]["schemas"]


# --- clients see it live -------------------------------------------------------------------------------


def test_a_syncing_client_receives_the_alert_entries_through_the_feed(server, tmp_path):
    replica = Replica(tmp_path, "carol", server.url, server.tokens["carol"]).start()
    try:
        # Online first, so the entries below arrive through the live long-poll.
        wait_until(lambda: any(s.online for s in replica.statuses), 10, "the client to connect")
        answer = fire(server, notification(group(), [alert("web-1"), alert("web-2")]))
        incident_id = answer["incident_id"]
        wait_until(
            lambda: replica.has(incident_id) and len(notes(replica.state(incident_id))) == 2,
            10,
            "the alert entries on the client",
        )
        seen = replica.state(incident_id)
        assert seen.severity is Severity.SEV1
        assert [e.at for e in notes(seen)] == [T0, T0]
        served = [e for e in feed_events(server) if e.incident_id == incident_id]
        assert replica.state_hash(incident_id) == state_hash(incident_id, served)
    finally:
        replica.close()


# --- no-auth mode, the CLI option --------------------------------------------------------------------


def test_without_auth_the_events_are_signed_alertmanager(tmp_path):
    proc = ServerProcess(tmp_path / "open", extra_args=["--insecure-no-auth"]).start()
    try:
        response = HTTP.post(f"{proc.url}{ALERTMANAGER_PATH}", json=notification(group(), [alert("web-1")]))
        assert response.status_code == 200, response.text
        assert response.json()["created"] is True
        assert severity_default_is_builtin(proc, response.json()["incident_id"])
    finally:
        proc.kill()


def severity_default_is_builtin(proc: ServerProcess, incident_id: str) -> bool:
    page = HTTP.get(f"{proc.url}/v1/feed", params={"timeout": 0}).json()
    events = [parse_event(i["event"]) for i in page["events"] if i["event"]["incident_id"] == incident_id]
    assert {e.actor for e in events} == {"alertmanager"}
    return fold_incident(incident_id, events).severity is Severity.SEV1


def test_a_bad_severity_map_stops_the_server_with_the_reason(tmp_path):
    bad = tmp_path / "map.toml"
    bad.write_text('[map]\ncritical = "SEV9"\n')
    result = subprocess.run(
        [sys.executable, "-m", "warroom.server", "--data-dir", str(tmp_path / "d"), "--port", str(free_port()),
         "--insecure-no-auth", "--alert-severity-map", str(bad)],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 2
    assert "map.critical" in result.stderr and "SEV9" in result.stderr


# --- units: the mapping file, ids, text -----------------------------------------------------------------


def test_the_built_in_severity_mapping():
    mapping = SeverityMap()
    assert [mapping.severity_of({"severity": v}) for v in ("critical", "ERROR", "high", "warning", "info")] == [
        Severity.SEV1, Severity.SEV2, Severity.SEV2, Severity.SEV3, Severity.SEV4,
    ]  # fmt: skip
    assert mapping.severity_of({"severity": "whatever"}) is Severity.SEV3
    assert mapping.severity_of({}) is Severity.SEV3


def test_a_mapping_file_picks_the_label_and_replaces_the_table(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text('label = "priority"\ndefault = 4\n[map]\nP1 = "sev1"\np2 = 2\n')
    mapping = load_severity_map(path)
    assert mapping.severity_of({"priority": "p1"}) is Severity.SEV1
    assert mapping.severity_of({"priority": "P2"}) is Severity.SEV2
    assert mapping.severity_of({"severity": "critical"}) is Severity.SEV4  # the label is priority
    path.write_text('default = "SEV2"\n')
    assert load_severity_map(path).values == DEFAULT_SEVERITY_VALUES


@pytest.mark.parametrize(
    "content,words",
    [
        ("labels = 'x'", "unknown keys labels"),
        ("default = 'SEV7'", "default"),
        ("label = ''", "label"),
        ("map = 3", "map must be a table"),
        ("[map]\nx = true", "map.x"),
        ("not toml [", "not valid TOML"),
    ],
)
def test_a_bad_mapping_file_says_what_is_wrong(tmp_path, content, words):
    path = tmp_path / "m.toml"
    path.write_text(content)
    with pytest.raises(ValueError, match=words):
        load_severity_map(path)
    with pytest.raises(ValueError, match="cannot read"):
        load_severity_map(tmp_path / "missing.toml")


def test_entry_ids_are_stable_valid_event_ids():
    import re

    def read(**changes) -> Alert:
        return parse_notification(notification("g", [{**alert("w"), **changes}]), NOW).alerts[0]

    one = read(startsAt="2026-01-05T10:00:00Z")
    same = read(startsAt="2026-01-05T11:00:00.000+01:00")
    later = read(startsAt="2026-01-05T10:00:01Z")
    assert alert_entry_id("g", one) == alert_entry_id("g", same)
    assert alert_entry_id("g", one) != alert_entry_id("g", later) != alert_entry_id("h", later)
    assert re.match(UUID_PATTERN, alert_entry_id("g", one))
    assert re.match(UUID_PATTERN, incident_id_for("g", 0)) and incident_id_for("g", 0) != incident_id_for("g", 1)
    nanos = read(startsAt=rfc3339(T0, nanos=True))
    assert nanos.starts_at == T0


def test_alert_text_is_one_clean_line_and_links_must_be_http():
    assert clean_text("a\x1b[31m red\n\tline\u202e", 100) == "a [31m red line"
    assert clean_text("x" * 50, 10) == "x" * 9 + "…"
    assert runbook_url("https://wiki/x") == "https://wiki/x"
    for bad in ("javascript:alert(1)", "file:///etc/passwd", "https://a b", "http://", "wiki/x"):
        assert runbook_url(bad) is None, bad
