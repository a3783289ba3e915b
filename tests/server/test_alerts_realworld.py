"""Alert intake with notifications in the shapes Alertmanager (and look-alike senders)
really deliver, against a real ``warroom server`` process: nothing an alert carried is
dropped, heartbeats open nothing, titles tell groups apart, any number of alerts is taken,
and a notification refused for transient trouble (5xx) is retried without losing or
doubling anything. The fixtures in ``tests/server/fixtures/alertmanager`` are written here.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest

from warroom.domain.clock import SystemClock
from warroom.domain.events import Event, parse_event
from warroom.domain.fold import fold_incident
from warroom.domain.models import EntryKind, Incident, Severity
from warroom.server.alerting.payload import parse_notification
from warroom.server.alerting.severity import SeverityMap
from warroom.server.alertmanager import ALERTMANAGER_PATH, AlertIntake
from warroom.server.auth import Principal
from warroom.server.storage import SqliteStore, StoreError
from warroom.server.storage.sqlite import BUSY_TIMEOUT_ENV
from warroom.server.ledger import Ledger

try:
    from alertgroups import big_group
    from serverproc import ServerProcess
except ImportError:  # tests/ collected as a package
    from tests.alertgroups import big_group
    from tests.serverproc import ServerProcess

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "alertmanager"
HTTP = httpx.Client(timeout=120)


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def post(server: ServerProcess, body) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    headers = {"Authorization": f"Bearer {server.tokens['alertmanager']}", "Content-Type": "application/json"}
    return HTTP.post(f"{server.url}{ALERTMANAGER_PATH}", content=content, headers=headers)


def fire(server: ServerProcess, body) -> dict:
    response = post(server, body)
    assert response.status_code == 200, response.text
    return response.json()


def feed(server: ServerProcess) -> list[Event]:
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


def incident(server: ServerProcess, incident_id: str) -> Incident:
    return fold_incident(incident_id, [e for e in feed(server) if e.incident_id == incident_id])


def alert_entries(state: Incident) -> list:
    return [e for e in state.timeline if e.kind is EntryKind.NOTE and e.text.startswith("Alert ")]


# --- nothing an alert carried is dropped -------------------------------------------------------------


REAL_GROUPS = ["kube-proxy-down-node-3.json", "kube-proxy-down-node-5.json", "no-groupkey-unicode.json", "disk-pressure-payments.json"]


def test_every_label_annotation_and_link_is_kept_and_shown(server):
    sent = kept = alerts_sent = alerts_stored = 0
    for name in REAL_GROUPS:
        body = fixture(name)
        answer = fire(server, body)
        state = incident(server, answer["incident_id"])
        entries = alert_entries(state)
        alerts_sent += len(body["alerts"])
        alerts_stored += len(entries)
        by_fingerprint = {e.details["fingerprint"]: e for e in entries}
        for alert in body["alerts"]:
            details = by_fingerprint[alert["fingerprint"]].details
            expected = {f"labels.{k}": v for k, v in alert["labels"].items()}
            expected |= {f"annotations.{k}": v for k, v in alert["annotations"].items()}
            expected |= {"generatorURL": alert["generatorURL"], "externalURL": body["externalURL"], "receiver": body["receiver"]}
            sent += len(expected)
            kept += sum(details.get(key) == value for key, value in expected.items())
            assert {k: details.get(k) for k in expected} == expected, name
            assert details.get("groupKey", "") == body["groupKey"]
    print(f"\nalerts stored / alerts sent: {alerts_stored}/{alerts_sent}; labels, annotations and links kept: {kept}/{sent}")
    assert (alerts_stored, kept) == (alerts_sent, sent)


def test_the_timeline_line_names_what_tells_the_alerts_apart(server):
    state = incident(server, fire(server, fixture("kube-proxy-down-node-3.json"))["incident_id"])
    (entry,) = alert_entries(state)
    assert entry.text.startswith("Alert firing: KubeProxyDown [instance=10.0.3.17:10249, pod=kube-proxy-x7k2p, container=kube-proxy]")
    disk = incident(server, fire(server, fixture("disk-pressure-payments.json"))["incident_id"])
    lines = [e.text for e in alert_entries(disk)]
    assert lines[0].startswith("Alert firing: NodeFilesystemSpaceFillingUp [instance=ip-10-0-1-12.eu-west-1.compute.internal:9100, pod=")
    assert any(line.startswith("Alert resolved: NodeFilesystemSpaceFillingUp [instance=ip-10-0-2-7") for line in lines)
    assert all("mountpoint=" in line for line in lines if "NodeFilesystem" in line)


def test_titles_name_the_group_and_two_groups_never_share_one(server):
    three = incident(server, fire(server, fixture("kube-proxy-down-node-3.json"))["incident_id"])
    five = incident(server, fire(server, fixture("kube-proxy-down-node-5.json"))["incident_id"])
    assert (three.title, five.title) == ("KubeProxyDown on node-3", "KubeProxyDown on node-5")
    # Same alert, same labels, routed by two receivers: two groups, two titles.
    twin = fixture("kube-proxy-down-node-3.json")
    twin["receiver"] = "warroom-secondary"
    twin["groupKey"] = "{}/{team=\"secondary\"}:" + twin["groupKey"].split(":", 1)[1]
    other = incident(server, fire(server, twin)["incident_id"])
    assert other.id != three.id and other.title.startswith("KubeProxyDown on node-3 (group ") and other.title != three.title


def test_odd_but_real_payloads_are_taken(server):
    body = fixture("no-groupkey-unicode.json")
    body["receiver"] += "-" + uuid.uuid4().hex[:6]  # a group of its own (no groupKey: receiver + labels)
    answer = fire(server, body)
    assert (answer["created"], answer["logged"], answer["received"]) == (True, 4, 3)  # 3 alerts + the truncation note
    state = incident(server, answer["incident_id"])
    assert state.severity is Severity.SEV3
    entries = alert_entries(state)
    assert entries[0].at.isoformat() == "2026-11-29T15:10:00+00:00"  # 08:10 at -07:00
    assert "🔥 La caisse de Boutique Saint-Germain ne répond plus" in entries[0].text
    assert "[severity 'blocker' is not in the severity map: SEV3]" in entries[0].text
    assert entries[0].details["alert.silenceURL"].startswith('"https://grafana.example.fr/alerting/silence/new')
    assert any("left 3 more alert(s)" in e.text for e in state.timeline)
    again = fire(server, body)  # the same group without a groupKey is still the same group
    assert (again["incident_id"], again["logged"], again["duplicates"]) == (answer["incident_id"], 0, 3)
    assert "is not in the severity map" in server.log()


def test_heartbeats_open_nothing(server):
    before = server.counts()
    for name in ("watchdog.json", "info-inhibitor.json"):
        answer = fire(server, fixture(name))
        assert (answer["incident_id"], answer["heartbeats"], answer["logged"]) == (None, 1, 0)
    assert server.counts() == before


def test_heartbeats_can_be_configured_to_open_incidents(server_factory, tmp_path):
    mapping = tmp_path / "map.toml"
    mapping.write_text('[map]\nblocker = "SEV1"\n\n[heartbeats]\nopen_incidents = true\n')
    proc = server_factory(extra_args=["--insecure-no-auth", "--alert-severity-map", str(mapping)]).start()
    watchdog = HTTP.post(f"{proc.url}{ALERTMANAGER_PATH}", json=fixture("watchdog.json")).json()
    assert watchdog["created"] is True and watchdog["heartbeats"] == 0
    shop = HTTP.post(f"{proc.url}{ALERTMANAGER_PATH}", json=fixture("no-groupkey-unicode.json")).json()
    events = [parse_event(i["event"]) for i in HTTP.get(f"{proc.url}/v1/feed", params={"timeout": 0}).json()["events"]]
    assert fold_incident(shop["incident_id"], [e for e in events if e.incident_id == shop["incident_id"]]).severity is Severity.SEV1


def test_the_built_in_severity_map_knows_the_common_names():
    mapping = SeverityMap()
    got = {name: mapping.severity_of({"severity": name}).value for name in ("critical", "page", "error", "major", "warning", "info", "P1", "Low")}
    assert got == {"critical": "SEV1", "page": "SEV2", "error": "SEV2", "major": "SEV2", "warning": "SEV3", "info": "SEV4", "P1": "SEV1", "Low": "SEV4"}
    assert mapping.lookup({"severity": "blocker"}) == (Severity.SEV3, "severity 'blocker' is not in the severity map: SEV3")
    assert mapping.is_heartbeat({"alertname": "Watchdog"}) and mapping.is_heartbeat({"alertname": "X", "severity": "none"})


def test_every_delivery_is_stored_as_it_arrived(server):
    bodies = [json.dumps(fixture("watchdog.json")).encode(), b'{"not": "a notification"}', b"\xffnot json"]
    numbers = []
    for body in bodies:
        response = post(server, body)
        numbers.append(response.json().get("delivery"))
    assert numbers[0] is not None and [post(server, b).status_code for b in bodies[1:]] == [422, 400]
    conn = sqlite3.connect(f"file:{server.db_path}?mode=ro", uri=True)
    try:
        stored = [row[0] for row in conn.execute("SELECT body FROM alert_deliveries ORDER BY id")]
    finally:
        conn.close()
    assert all(body in stored for body in bodies)


# --- any number of alerts ----------------------------------------------------------------------------


def test_a_1000_alert_group_end_to_end(server):
    body = big_group(1000, uuid.uuid4().hex[:6])
    raw = json.dumps(body).encode()
    assert len(raw) > 1 << 20  # over the ordinary 1 MiB push limit: refused with 413 before
    answer = fire(server, raw)
    # 1,000 alert entries and one runbook link (the same runbook_url on every alert).
    assert (answer["created"], answer["logged"], answer["duplicates"], answer["rejected"]) == (True, 1001, 0, 0)
    state = incident(server, answer["incident_id"])
    entries = alert_entries(state)
    print(f"\nalerts stored / alerts sent (one group): {len(entries)}/{len(body['alerts'])}")
    assert len(entries) == 1000
    assert {e.details["labels.instance"] for e in entries} == {a["labels"]["instance"] for a in body["alerts"]}
    assert all(f"[instance={e.details['labels.instance']}" in e.text for e in entries)
    before = server.counts()
    again = fire(server, raw)
    assert (again["logged"], again["duplicates"]) == (0, 1000) and server.counts() == before


# --- retried after transient trouble: nothing lost, nothing twice -----------------------------------


def deliver_like_alertmanager(url: str, token: str | None, raw: bytes, attempts: list[int]) -> httpx.Response:
    """Alertmanager's webhook notifier: retry 5xx (and network errors) with backoff; a 2xx or
    a 4xx is final."""
    delay = 0.2
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    for _ in range(40):
        try:
            response = HTTP.post(f"{url}{ALERTMANAGER_PATH}", content=raw, headers=headers)
        except httpx.TransportError:
            attempts.append(0)
        else:
            attempts.append(response.status_code)
            if response.status_code < 500:
                return response
        time.sleep(delay)
        delay = min(delay * 1.5, 1.0)
    raise AssertionError(f"never delivered: {attempts}")


def test_alertmanager_retries_5xx_and_nothing_is_lost_or_doubled(server_factory):
    proc = server_factory(env={BUSY_TIMEOUT_ENV: "0.3"})
    token = proc.add_token("alertmanager")
    proc.start()
    body = big_group(700, "retry")
    raw = json.dumps(body).encode()
    # Another process holds the database's write lock (a backup, an admin's sqlite3 shell).
    holder = sqlite3.connect(proc.db_path, timeout=5, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    attempts: list[int] = []
    released = threading.Event()

    def release_after_two_refusals() -> None:
        while sum(1 for a in attempts if a >= 500) < 2:
            time.sleep(0.05)
        holder.rollback()
        holder.close()
        released.set()

    releaser = threading.Thread(target=release_after_two_refusals, daemon=True)
    releaser.start()
    response = deliver_like_alertmanager(proc.url, token, raw, attempts)
    releaser.join(30)
    assert released.is_set()
    assert attempts[:2] == [503, 503] and attempts[-1] == 200, attempts
    assert response.json()["logged"] == 701  # every alert and the runbook link
    rows, distinct = proc.counts()
    assert rows == distinct == 702  # the declaration, the runbook link and every alert, each once
    # Alertmanager repeats the notification later: nothing new.
    assert deliver_like_alertmanager(proc.url, token, raw, []).json()["duplicates"] == 700
    assert proc.counts() == (702, 702)


class _FailingOnce(SqliteStore):
    """A store whose ``fail_at``-th write fails once, as a full disk would."""

    fail_at = 2

    def writing(self, incident_ids=()):
        self.calls = getattr(self, "calls", 0) + 1
        if self.calls == self.fail_at:
            raise StoreError("disk I/O error")
        return super().writing(incident_ids)


def test_a_failure_between_batches_loses_nothing_when_retried(tmp_path):
    store = _FailingOnce(tmp_path / "db.sqlite3")
    clock = SystemClock()
    intake = AlertIntake(Ledger(store, clock), store, clock, runbooks=list)
    who = Principal(name="alertmanager", admin=False, authenticated=True)
    notification = parse_notification(big_group(1200, "mid"), clock.now())
    with pytest.raises(StoreError):
        intake.handle(who, notification)  # 1,202 events: the second batch of 500 fails
    # Stored: the declaration, the runbook link and 498 alerts.
    assert store.count() == (500, 500)
    answer, accepted = intake.handle(who, notification)  # Alertmanager's retry
    assert (answer.logged, answer.duplicates, accepted) == (702, 498, 702)
    assert store.count() == (1202, 1202)
    store.close()
