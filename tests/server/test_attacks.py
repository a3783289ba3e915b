"""Attacks on the war room, tried the way an adversary (or an accident) would: a real
``warroom server`` on 127.0.0.1, real ``warroom`` command-line clients, each with its own data
dir, config dir and token. One test per attack; each failed before the defence existed.

* a poisoned HLC (the end of the format, or the year 2100) bricks or outvotes every client;
* terminal escapes in any text reach everyone's terminal;
* a bit flip in the last complete journal line deletes an acknowledged entry;
* a journal that is a symlink is followed and truncated;
* one damaged journal stops every other incident from syncing;
* a server restored from an old backup loses the entries of people whose clients are off;
* a crafted import puts words in the IC's mouth;
* an alert's incident id is declared first by someone else;
* the intake token reads the whole feed;
* look-alike role names give two incident commanders.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest

from warroom.domain.clock import FixedClock, SystemClock
from warroom.domain.commands import EventFactory
from warroom.domain.events import Event, EntryLogged, IncidentDeclared, IncidentUpdated, RoleAssigned
from warroom.domain.hlc import HybridClock
from warroom.domain.ids import uuid7
from warroom.domain.models import Severity, Status
from warroom.store.keys import load_signer

from serverproc import ServerProcess, all_server_events

HTTP = httpx.Client(timeout=30)
ESC = "\x1b"
OSC52 = "\x1b]52;c;cm0gLXJmIH4=\x07"  # a clipboard write of "rm -rf ~"
CURSOR = "\x1b[2J\x1b[1;1H"  # clear the screen, cursor home
CONTROL = (ESC, "\x07", "\x9b", "\u202e")


class Person:
    """One person at their own terminal: a data dir, a config dir, a token."""

    def __init__(self, root: Path, name: str, server: ServerProcess, token: str) -> None:
        self.name = name
        self.server = server
        self.token = token
        self.data_dir = root / name / "data"
        self.config_dir = root / name / "config"

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("WARROOM_")}
        env.update(
            WARROOM_DATA_DIR=str(self.data_dir),
            WARROOM_CONFIG_DIR=str(self.config_dir),
            WARROOM_USER=self.name,
            WARROOM_SERVER=self.server.url,
            WARROOM_TOKEN=self.token,
            PYTHONUNBUFFERED="1",
        )
        return env

    def run(self, *argv: str, stdin: str | None = None, server_known: bool = True) -> subprocess.CompletedProcess:
        """``server_known=False``: as on a machine where this person never configured the
        server (the CLI then writes locally without knowing the server's rules)."""
        env = self.env if server_known else {k: v for k, v in self.env.items() if k not in ("WARROOM_SERVER", "WARROOM_TOKEN")}
        return subprocess.run(
            [sys.executable, "-m", "warroom", *argv],
            env=env,
            input=stdin or "",
            capture_output=True,
            text=True,
            timeout=120,
        )

    def ok(self, *argv: str) -> str:
        result = self.run(*argv)
        assert result.returncode == 0, f"warroom {' '.join(argv)} → {result.returncode}\n{result.stderr}"
        return result.stdout

    def signer(self):
        return load_signer(self.name, self.config_dir)

    def factory(self, clock=None, *, signed: bool = True) -> EventFactory:
        clock = clock or SystemClock()
        return EventFactory(
            self.name, clock, HybridClock(clock, "attack00"), signer=self.signer() if signed else None
        )

    def push(self, events: list, token: str | None = None) -> list[dict]:
        body = {"events": [e if isinstance(e, dict) else json.loads(e.model_dump_json()) for e in events]}
        response = HTTP.post(
            f"{self.server.url}/v1/events", json=body, headers={"Authorization": f"Bearer {token or self.token}"}
        )
        data = response.json()
        return data["results"] if response.status_code == 200 else data["detail"]["results"]

    def journal(self, incident_id: str) -> Path:
        return self.data_dir / "incidents" / f"{incident_id}.jsonl"


@pytest.fixture
def team(tmp_path):
    server = ServerProcess(tmp_path / "server")
    tokens = {name: server.add_token(name) for name in ("alice", "bob", "carol")}
    tokens["root"] = server.add_token("root", admin=True)
    server.start()
    people = {name: Person(tmp_path, name, server, token) for name, token in tokens.items()}
    yield people
    server.kill()


def declare(person: Person, title: str = "Checkout failing", sev: str = "2", *extra: str) -> str:
    return person.ok("declare", "--title", title, "--sev", sev, *extra).strip()


def plant(server: ServerProcess, event: Event) -> None:
    """Store an event the way an older, more trusting server version did (straight into its
    database, the server stopped), then start the server again."""
    from warroom.server.ledger import stored_row

    server.stop()
    store = server.open_store()
    try:
        with store.writing([event.incident_id]) as batch:
            batch.insert([stored_row(event, datetime.now(timezone.utc).isoformat(), event.actor)])
    finally:
        store.close()
    server.start()


def no_control(text: str) -> bool:
    return not any(char in text for char in CONTROL)


# --- 1. bounded time ------------------------------------------------------------------------


def test_a_poisoned_hlc_is_refused_and_one_already_stored_neither_bricks_nor_outvotes(team):
    alice, bob, root = team["alice"], team["bob"], team["root"]
    incident = declare(alice, sev="3")
    bob.ok("sync")

    def forged(hlc: str, at: datetime, payload) -> Event:
        event = bob.factory(FixedClock(at)).make(incident, payload)
        raw = json.loads(event.model_dump_json())
        raw.update(hlc=hlc)
        raw.pop("sig", None)
        return bob.signer().sign(Event.model_validate(raw))

    end_of_time = forged("999999999999999999-9999-zzzz", datetime.now(timezone.utc), EntryLogged(text="tick"))
    year_2100 = forged(
        f"{int(datetime(2100, 1, 1, tzinfo=timezone.utc).timestamp() * 1000):018d}-0000-zzzz",
        datetime(2100, 1, 1, tzinfo=timezone.utc),
        IncidentUpdated(severity=Severity.SEV4),
    )
    for result in bob.push([end_of_time, year_2100]):
        assert result["status"] == "rejected" and result["code"] == "clock_skew", result
        assert "ahead of the server's clock" in result["reason"]

    # An older server took them. Every client still writes, in every incident.
    plant(alice.server, end_of_time)
    plant(alice.server, year_2100)
    alice.ok("sync")
    alice.ok("log", incident[-8:], "still writing")
    alice.ok("set", incident[-8:], "--sev", "1")
    other = declare(alice, "Another one")
    assert json.loads(alice.ok("show", other[-8:], "--json"))["title"] == "Another one"
    shown = json.loads(alice.ok("show", incident[-8:], "--json"))
    assert shown["severity"] == "SEV4"  # the 2100 event still outvotes the real SEV1...

    # ...until an admin voids it: a new event the fold honours; the log keeps both.
    root.ok("sync")
    root.ok("void", incident[-8:], year_2100.id[-8:], "--reason", "stamped in 2100")
    root.ok("void", incident[-8:], end_of_time.id[-8:], "--reason", "stamped at the end of time")
    bob.ok("sync")
    refused = bob.run("void", incident[-8:], year_2100.id[-8:], "--reason", "me too")
    assert refused.returncode == 0 and "rejected 1" in refused.stderr and "only an admin" in refused.stderr
    alice.ok("sync")
    shown = json.loads(alice.ok("show", incident[-8:], "--json"))
    assert shown["severity"] == "SEV1"
    assert "tick" not in [entry["text"] for entry in shown["timeline"]]
    stored = {e.id for e in all_server_events(alice.server.url, root.token)}
    assert {year_2100.id, end_of_time.id} <= stored  # nothing deleted


# --- 2. text is data ------------------------------------------------------------------------


def test_escape_sequences_in_every_text_field_never_reach_a_terminal(team):
    alice, bob = team["alice"], team["bob"]
    incident = declare(
        alice, f"Checkout{OSC52} down", "2", "--summary", f"pay{CURSOR}ments", "--impact", "EU\u202eusers",
    )
    entry = alice.ok("log", incident[-8:], f"restarted {OSC52}pods").strip()
    alice.ok("assign", incident[-8:], f"Cust{ESC}[31momer Liaison", "bob")
    alice.ok("set", incident[-8:], "--title", f"Checkout{CURSOR} down again")
    alice.ok("amend", incident[-8:], entry, f"restarted {ESC}]0;owned\x07the pods")
    bob.ok("sync")
    outputs = [
        bob.ok("show", incident[-8:]),
        bob.ok("list"),
        bob.ok("export", incident[-8:], "--format", "markdown"),
        bob.ok("comms", "render", incident[-8:], "status-update"),
    ]
    for output in outputs:
        assert no_control(output), repr(output)
    assert "Checkout down again" in outputs[0] and "restarted the pods" in outputs[0]

    # Pushed raw, past any client: refused, whatever the field.
    factory = bob.factory()
    crafted = [
        factory.make(incident, EntryLogged(text=f"hello {OSC52}")),
        factory.make(incident, IncidentUpdated(title=f"T{CURSOR}")),
        factory.make(incident, IncidentUpdated(summary=f"s{ESC}[1m")),
        factory.make(incident, RoleAssigned(role=f"Role{ESC}[5m", person="bob")),
        factory.make(uuid7(datetime.now(timezone.utc)), IncidentDeclared(title="x\u202etxt.exe", severity=Severity.SEV3)),
    ]
    for result in bob.push(crafted):
        assert result["status"] == "rejected" and result["code"] == "invalid", result
        assert "control characters" in result["reason"]

    # Stored by an older server: shown as symbols, never sent to the terminal.
    old = factory.make(incident, EntryLogged(text=f"planted {OSC52} entry"))
    plant(bob.server, old)
    alice.ok("sync")
    shown = alice.ok("show", incident[-8:])
    assert no_control(shown) and "planted ␛]52;c;cm0gLXJmIH4=␇ entry" in shown
    exported = alice.ok("export", incident[-8:], "--format", "markdown")
    assert no_control(exported) and "planted ␛\\]52;c;cm0gLXJmIH4=␇ entry" in exported


# --- 3-5. the journal -----------------------------------------------------------------------


def test_a_bit_flip_in_the_last_line_deletes_nothing_and_repair_restores_it(team):
    alice = team["alice"]
    incident = declare(alice)
    for text in ("first", "second", "third acknowledged"):
        alice.ok("log", incident[-8:], text)
    path = alice.journal(incident)
    data = bytearray(path.read_bytes())
    last_line_start = data.rstrip(b"\n").rfind(b"\n") + 1
    data[last_line_start + 40] ^= 0x08
    path.write_bytes(bytes(data))

    result = alice.run("show", incident[-8:])
    assert result.returncode == 0
    assert "checksum" in result.stderr and "warroom repair" in result.stderr
    assert path.read_bytes() == bytes(data)  # not one acknowledged byte removed
    quarantine = path.with_name(path.name + ".quarantine")
    assert quarantine.read_bytes() == bytes(data[last_line_start:])
    assert "third acknowledged" not in result.stdout

    repaired = alice.ok("repair", incident[-8:])
    assert "the old journal is kept as" in repaired
    assert "third acknowledged" in alice.ok("show", incident[-8:])
    assert quarantine.exists() and list(path.parent.glob(f"{path.name}.damaged-*"))
    assert "checksum" not in alice.run("list").stderr


def test_a_symlinked_journal_is_never_followed(team, tmp_path):
    alice, bob = team["alice"], team["bob"]
    incident = declare(alice)
    alice.ok("log", incident[-8:], "an entry")
    victim = tmp_path / "victims-bashrc"
    victim.write_bytes(b"alias ll='ls -l'\nexport EDITOR=vi")  # no newline at the end
    bob.journal(incident).parent.mkdir(parents=True)
    bob.journal(incident).symlink_to(victim)

    result = bob.run("sync")
    assert result.returncode == 0, result.stderr
    assert "symbolic link" in result.stdout + result.stderr and "warroom repair" in result.stdout
    assert victim.read_bytes() == b"alias ll='ls -l'\nexport EDITOR=vi"
    assert bob.run("log", incident[-8:], "x").returncode == 1
    bob.ok("repair", incident[-8:])
    assert victim.read_bytes() == b"alias ll='ls -l'\nexport EDITOR=vi"
    assert not bob.journal(incident).is_symlink() and "an entry" in bob.ok("show", incident[-8:])


def test_a_damaged_journal_beside_healthy_incidents_does_not_stop_syncing(team):
    alice, bob = team["alice"], team["bob"]
    damaged = declare(alice, "Damaged here")
    alice.ok("log", damaged[-8:], "one")
    bob.ok("sync")
    lines = bob.journal(damaged).read_bytes().split(b"\n")
    lines[1] = lines[1][:30] + b"X" + lines[1][31:]  # a flipped byte in the middle
    bob.journal(damaged).write_bytes(b"\n".join(lines))

    fresh = declare(alice, "Arrives anyway")
    alice.ok("log", fresh[-8:], "new incident entry")
    alice.ok("log", damaged[-8:], "two")
    result = bob.run("sync")
    assert result.returncode == 0, result.stderr
    assert f"warroom repair {damaged[-8:]}" in result.stdout
    assert "Arrives anyway" in bob.ok("list")
    assert "received 0" in bob.ok("sync")  # the cursor moved past that page
    assert "two" in bob.ok("show", damaged[-8:])
    bob.ok("repair", damaged[-8:])
    assert "warroom repair" not in bob.ok("sync")
    assert json.loads(bob.ok("show", damaged[-8:], "--json"))["title"] == "Damaged here"


# --- 6. restore from a backup ---------------------------------------------------------------


def test_a_server_restored_from_an_old_backup_heals_from_one_clients_journal(team, tmp_path):
    alice, bob, carol = team["alice"], team["bob"], team["carol"]
    server = alice.server
    incident = declare(alice, "Before the backup")
    bob.ok("sync")
    bob.ok("log", incident[-8:], "bob before the backup")
    alice.ok("sync")

    backup = tmp_path / "backup"
    server.stop()
    shutil.copytree(server.data_dir, backup)
    server.start()

    # After the backup: carol's first contact (her key is not in the backup), more entries.
    carol.ok("sync")
    carol.ok("log", incident[-8:], "carol after the backup")
    bob.ok("log", incident[-8:], "bob after the backup")
    later = declare(carol, "Declared after the backup")
    alice.ok("log", incident[-8:], "alice after the backup")
    alice.ok("sync")
    expected = {e.id for e in all_server_events(server.url, alice.token)}

    server.stop()
    shutil.rmtree(server.data_dir)
    shutil.copytree(backup, server.data_dir)
    server.start()

    # Only alice is online: she relays everyone's events, carol's wait for carol's key.
    first = alice.run("sync")
    assert first.returncode == 0, first.stderr
    assert "rejected 0" in first.stdout and "wait for their declaration or author's key" in first.stdout
    carol.ok("sync")  # finds the server lost her events: registers her key again, sends them
    again = alice.ok("sync")
    assert "rejected 0" in again and "wait" not in again
    assert {e.id for e in all_server_events(server.url, alice.token)} == expected
    bob.ok("sync")
    for person in (alice, bob, carol):
        shown = person.ok("show", incident[-8:])
        for text in ("bob before", "carol after", "bob after", "alice after"):
            assert text in shown, (person.name, shown)
        assert "Declared after the backup" in person.ok("list")
    assert later


# --- 7. forged import -----------------------------------------------------------------------


def test_a_forged_import_cannot_act_as_the_ic(team, tmp_path):
    alice, bob, root = team["alice"], team["bob"], team["root"]
    incident = declare(alice)  # alice is IC
    bob.ok("sync")
    export = json.loads(bob.ok("export", incident[-8:], "--format", "json"))
    now = datetime.now(timezone.utc)
    as_alice = EventFactory("alice", FixedClock(now), HybridClock(FixedClock(now), "forge000"))
    resolve = as_alice.make(incident, IncidentUpdated(status=Status.RESOLVED))
    handover = as_alice.make(incident, RoleAssigned(role="Incident Commander", person="bob"))
    signed_by_bob = bob.signer().sign(as_alice.make(incident, EntryLogged(text="signed by the wrong key")))
    forged = tmp_path / "incident.json"
    export["events"] += [json.loads(e.model_dump_json()) for e in (resolve, handover)]
    forged.write_text(json.dumps(export))

    for importer in (alice, root):
        result = importer.run("import", str(forged), "--json")
        assert result.returncode == 1 and "claims to be by 'alice'" in result.stderr, result.stderr
    # Even taken on trust, unsigned words in alice's name go nowhere: the server knows she signs.
    trusted = alice.run("import", str(forged), "--json", "--trust-unsigned")
    assert trusted.returncode == 0 and "the server rejected 2 event(s)" in trusted.stderr
    assert "signs their events" in trusted.stderr
    listed = alice.ok("list")
    assert "investigating" in listed and "IC: alice" in listed
    export["events"].append(json.loads(signed_by_bob.model_dump_json()))
    forged.write_text(json.dumps(export))
    result = alice.run("import", str(forged), "--json", "--trust-unsigned")
    assert result.returncode == 1 and "bob's key" in result.stderr
    states = {e.id for e in all_server_events(alice.server.url, root.token)}
    assert resolve.id not in states and handover.id not in states


def test_a_forged_twin_pushed_ahead_of_a_signed_event_is_refused(team):
    """A relay holds a colleague's signed entry the server has not seen yet, and pushes a
    copy with other words (same id, same signature) just ahead of it in the same batch."""
    alice, bob = team["alice"], team["bob"]
    incident = declare(alice)  # alice's warroom registers her signing key
    genuine = alice.factory().make(incident, EntryLogged(text="rolling back the deploy"))
    twin = json.loads(genuine.model_dump_json())
    twin["payload"] = {**twin["payload"], "text": "nothing to see here, closing the incident"}

    first, second = bob.push([twin, genuine])
    assert first["status"] == "rejected" and first["code"] == "forbidden", first
    assert "does not match its content" in first["reason"]
    assert second["status"] == "accepted", second
    stored = [e for e in all_server_events(alice.server.url, alice.token) if e.id == genuine.id]
    assert [e.payload["text"] for e in stored] == ["rolling back the deploy"]


# --- 8-9. alert intake ----------------------------------------------------------------------


def _alert(group_key: str) -> dict:
    return {
        "version": "4", "groupKey": group_key, "truncatedAlerts": 0, "status": "firing", "receiver": "warroom",
        "groupLabels": {"alertname": "CheckoutErrors"}, "commonLabels": {"alertname": "CheckoutErrors", "severity": "critical"},
        "commonAnnotations": {"summary": "Checkout error rate above 5%"}, "externalURL": "http://am.example",
        "alerts": [{
            "status": "firing", "labels": {"alertname": "CheckoutErrors", "severity": "critical"},
            "annotations": {}, "startsAt": datetime.now(timezone.utc).isoformat(), "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prom.example", "fingerprint": "a1b2c3d4e5f60708",
        }],
    }  # fmt: skip


def test_an_alert_incident_id_cannot_be_squatted(team):
    from warroom.server.alertmanager import incident_id_for

    bob = team["bob"]
    intake = bob.server.add_token("alertmanager", role="intake")
    group_key = '{}:{alertname="CheckoutErrors"}'
    squat = incident_id_for(group_key, 0)
    drill = bob.factory().make(squat, IncidentDeclared(title="Scheduled drill - ignore", severity=Severity.SEV4))
    [result] = bob.push([drill])
    assert result["status"] == "rejected" and result["code"] == "forbidden"
    assert "reserved for alert intake" in result["reason"]

    answer = HTTP.post(
        f"{bob.server.url}/v1/hooks/alertmanager", json=_alert(group_key), headers={"Authorization": f"Bearer {intake}"}
    ).json()
    assert answer["created"] is True and answer["incident_id"] == squat
    bob.ok("sync")
    shown = json.loads(bob.ok("show", squat[-8:], "--json"))
    assert shown["severity"] == "SEV1" and shown["declared_by"] == "alertmanager"


def test_an_intake_token_posts_alerts_and_reads_nothing(team):
    alice = team["alice"]
    declare(alice, "Secret stuff", "1")
    alice.ok("log", alice.ok("list").split()[0], "password=hunter2")
    intake = alice.server.add_token("alertmanager", role="intake")
    headers = {"Authorization": f"Bearer {intake}"}
    url = alice.server.url
    for method, path in (("GET", "/v1/feed"), ("GET", "/v1/incidents"), ("GET", "/v1/keys"), ("GET", "/v1/users")):
        response = HTTP.request(method, url + path, headers=headers)
        assert response.status_code == 403, (path, response.text)
        assert "hunter2" not in response.text
    pushed = HTTP.post(url + "/v1/events", json={"events": []}, headers=headers)
    assert pushed.status_code == 403
    keys = HTTP.post(url + "/v1/keys", json={"public_key": "A" * 43}, headers=headers)
    assert keys.status_code == 403
    assert HTTP.get(url + "/v1/whoami", headers=headers).json()["role"] == "intake"
    hook = HTTP.post(url + "/v1/hooks/alertmanager", json=_alert("{}:{a=\"b\"}"), headers=headers)
    assert hook.status_code == 200 and hook.json()["created"] is True


# --- 10. look-alike names -------------------------------------------------------------------


def test_look_alike_role_names_never_make_a_second_commander(team):
    alice, bob = team["alice"], team["bob"]
    incident = declare(alice)
    bob.ok("sync")
    for role in ("Incident Commander\u200b", "Incident C\u043emmander", "\u0406\u0421", "Ｉｎｃｉｄｅｎｔ Ｃｏｍｍａｎｄｅｒ\u2060"):
        result = bob.run("assign", incident[-8:], role, "bob")
        assert result.returncode == 1, (role, result.stdout, result.stderr)
    # Full-width letters are only another spelling: NFKC makes them the real role, IC-only
    # (refused by bob's own CLI, which knows who the IC is, before anything is written).
    result = bob.run("assign", incident[-8:], "Ｉｎｃｉｄｅｎｔ Ｃｏｍｍａｎｄｅｒ", "bob")
    assert result.returncode == 1 and "only the incident commander (alice)" in result.stderr
    factory = bob.factory()
    crafted = [
        factory.make(incident, RoleAssigned(role="Incident Commander\u200b", person="bob")),
        factory.make(incident, RoleAssigned(role="Incident C\u043emmander", person="bob")),
        factory.make(incident, RoleAssigned(role="Tech Lead", person="b\u043eb")),
    ]
    for result in bob.push(crafted):
        assert result["status"] == "rejected" and result["code"] == "invalid", result
    # An older server took one: it shows as a different role, its odd letter visible.
    plant(bob.server, factory.make(incident, RoleAssigned(role="Incident Commander\u200b", person="bob")))
    alice.ok("sync")
    roles = [line for line in alice.ok("show", incident[-8:]).splitlines() if "Commander" in line and ":" in line]
    assert "  Incident Commander: alice" in roles
    assert "  Incident Commander<U+200B>: bob" in roles


# --- the shared truth -------------------------------------------------------------------------


def test_the_cli_shows_what_the_server_refused_as_refused(team):
    alice, bob = team["alice"], team["bob"]
    incident = declare(alice)
    bob.ok("sync")
    # bob's CLI knows the rule and the IC: refused before anything is written.
    journal = bob.journal(incident).read_bytes()
    result = bob.run("set", incident[-8:], "--status", "resolved")
    assert result.returncode == 1 and "only the incident commander" in result.stderr and "nothing was written" in result.stderr
    assert bob.journal(incident).read_bytes() == journal
    # Written where the server was not configured, it is refused by the server at the next
    # sync, and shown as refused, not as resolved.
    assert bob.run("set", incident[-8:], "--status", "resolved", server_known=False).returncode == 0
    synced = bob.run("sync")
    assert "rejected" in synced.stderr + synced.stdout and "only the incident commander" in synced.stderr + synced.stdout
    assert "investigating" in bob.ok("list")
    # An IC typo warns, and without a terminal to ask on, assigns nothing.
    typo = alice.run("assign", incident[-8:], "ic", "Bob")
    assert typo.returncode == 1 and "did you mean 'bob'" in typo.stderr
    assert "IC: alice" in alice.ok("list")
    alice.ok("assign", incident[-8:], "ic", "bob")
    assert "IC: bob" in alice.ok("list")


def test_resolved_and_mitigated_milestones_follow_the_resolve_rule(team):
    from warroom.domain.events import MilestoneSet
    from warroom.domain.models import Milestone

    alice, bob = team["alice"], team["bob"]
    incident = declare(alice)
    bob.ok("sync")
    factory = bob.factory()
    results = bob.push([factory.make(incident, MilestoneSet(milestone=m)) for m in (Milestone.RESOLVED, Milestone.MITIGATED, Milestone.ACKNOWLEDGED)])
    assert [r["status"] for r in results] == ["rejected", "rejected", "accepted"]
    assert "only the incident commander" in results[0]["reason"]


def test_an_admin_purge_shreds_redacted_text_on_the_server_and_on_clients(team):
    alice, bob, root = team["alice"], team["bob"], team["root"]
    incident = declare(alice)
    entry = alice.ok("log", incident[-8:], "db password=hunter2").strip()
    bob.ok("sync")
    assert "hunter2" in bob.ok("show", incident[-8:])
    alice.ok("redact", incident[-8:], entry, "--reason", "a password")
    bob.ok("sync")
    refused = bob.run("purge", incident[-8:], entry, "--reason", "x")
    assert refused.returncode == 0 and "only an admin may purge" in refused.stderr
    root.ok("sync")
    root.ok("purge", incident[-8:], entry, "--reason", "a password was pasted")
    alice.ok("log", incident[-8:], "rolled the deploy back")  # sealed too: its key stays served
    bob.ok("sync")
    alice.ok("sync")
    feed = HTTP.get(f"{alice.server.url}/v1/feed", headers={"Authorization": f"Bearer {root.token}"}).json()
    served = next(item for item in feed["events"] if item["event"]["id"].endswith(entry))
    assert served.get("text_key") is None
    # That answer was a held poll's (served from the server's memory of its newest rows); a
    # one-off read comes from its database: the same page, keys and all.
    direct = HTTP.get(
        f"{alice.server.url}/v1/feed", params={"timeout": 0}, headers={"Authorization": f"Bearer {root.token}"}
    ).json()
    assert direct == feed and any(item.get("text_key") for item in feed["events"])
    for person in (alice, bob, root):
        export = person.ok("export", incident[-8:], "--format", "json")
        assert "hunter2" not in export and "hunter2" not in person.ok("show", incident[-8:])
        keys = (person.data_dir / "keys" / "text-keys").read_bytes()
        journal = person.journal(incident).read_bytes()
        assert b"hunter2" not in journal
        assert all(not line.startswith(served["event"]["id"].encode()) for line in keys.splitlines())
    assert b"hunter2" not in (alice.server.data_dir).joinpath("warroom-server.sqlite3").read_bytes()
