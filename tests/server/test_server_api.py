"""The sync server's HTTP API, against a real ``warroom server`` process."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from warroom.domain.clock import SystemClock
from warroom.domain.commands import EventFactory, declare, log_entry, update
from warroom.domain.events import Event
from warroom.domain.fold import fold_incident
from warroom.domain.hlc import HybridClock
from warroom.domain.ids import uuid7
from warroom.domain.models import Severity, Status

try:
    from serverproc import ServerProcess, free_port, wait_until
except ImportError:  # tests/ collected as a package
    from tests.serverproc import ServerProcess, free_port, wait_until


# One connection pool for the module: a new httpx client per call costs ~50 ms of TLS setup.
HTTP = httpx.Client(timeout=40)


def auth(server: ServerProcess, user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.tokens[user]}"}


def factory(actor: str) -> EventFactory:
    clock = SystemClock()
    return EventFactory(actor, clock, HybridClock(clock, uuid7(clock.now())[-8:]))


def as_json(events: list[Event]) -> list[dict]:
    return [json.loads(e.model_dump_json()) for e in events]


def push(server: ServerProcess, user: str, events: list, **kwargs) -> httpx.Response:
    body = {"events": events if events and isinstance(events[0], dict) else as_json(events)}
    return HTTP.post(f"{server.url}/v1/events", json=body, headers=auth(server, user), **kwargs)


def declared_incident(server: ServerProcess, user: str = "alice") -> tuple[EventFactory, list[Event]]:
    made = factory(user)
    events = declare(made, title="Payments failing", severity=Severity.SEV2)
    response = push(server, user, events)
    assert response.status_code == 200, response.text
    assert [r["status"] for r in response.json()["results"]] == ["accepted", "accepted"]
    return made, events


# --- health, auth, docs --------------------------------------------------------------------


def test_health_needs_no_token(server):
    response = HTTP.get(f"{server.url}/v1/health")
    assert response.status_code == 200
    assert response.json()["auth_required"] is True


@pytest.mark.parametrize(
    "method,path",
    [("GET", "/v1/whoami"), ("GET", "/v1/incidents"), ("GET", "/v1/feed?timeout=0"), ("POST", "/v1/events")],
)
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-a-real-token"}])
def test_every_route_but_health_needs_a_valid_token(server, method, path, headers):
    response = HTTP.request(method, f"{server.url}{path}", headers=headers, json={"events": []})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "token" in response.json()["error"]


def test_whoami_names_the_token_owner(server):
    assert HTTP.get(f"{server.url}/v1/whoami", headers=auth(server, "bob")).json() == {
        "user": "bob",
        "admin": False,
        "auth_required": True,
        "role": "user",
        "key_ids": [],
    }
    assert HTTP.get(f"{server.url}/v1/whoami", headers=auth(server, "root")).json()["admin"] is True


def test_openapi_documents_every_error_with_the_error_model(server):
    spec = HTTP.get(f"{server.url}/openapi.json").json()
    post = spec["paths"]["/v1/events"]["post"]
    assert set(post["responses"]) >= {"200", "400", "401", "403", "413", "422"}
    assert post["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/PushRequest")
    assert "PushRequest" in spec["components"]["schemas"]
    feed = spec["paths"]["/v1/feed"]["get"]
    assert set(feed["responses"]) >= {"200", "400", "401", "422"}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    assert ref.endswith("/ErrorBody"), (method, path, status)


def test_unknown_route_is_a_json_404(server):
    response = HTTP.get(f"{server.url}/v1/nope", headers=auth(server, "alice"))
    assert response.status_code == 404
    assert "openapi.json" in response.json()["error"]


# --- pushing -------------------------------------------------------------------------------


def test_push_accepts_then_reports_duplicates_with_the_same_position(server):
    made, events = declared_incident(server)
    entry = log_entry(made, fold_incident(events[0].incident_id, events), "rolled back 4.2.1")
    first = push(server, "alice", [entry]).json()["results"][0]
    again = push(server, "alice", [entry, entry]).json()["results"]
    assert first["status"] == "accepted"
    assert [r["status"] for r in again] == ["duplicate", "duplicate"]
    assert {r["position"] for r in again} == {first["position"]}


def test_same_id_with_different_content_is_a_conflict(server):
    made, events = declared_incident(server)
    entry = log_entry(made, fold_incident(events[0].incident_id, events), "original text")
    push(server, "alice", [entry])
    forged = json.loads(entry.model_dump_json())
    forged["payload"]["text"] = "rewritten history"
    result = push(server, "alice", [forged]).json()["results"][0]
    assert result["status"] == "rejected" and result["code"] == "conflict"


def test_an_unsigned_event_is_taken_only_from_its_authors_token_admins_included(server):
    made, events = declared_incident(server)
    state = fold_incident(events[0].incident_id, events)
    as_alice = log_entry(made, state, "written by alice")
    for other in ("bob", "root"):
        response = push(server, other, [as_alice])
        assert response.status_code == 403  # every event refused for authorization
        result = response.json()["detail"]["results"][0]
        assert result["code"] == "forbidden" and "'alice'" in result["reason"] and f"'{other}'" in result["reason"]
    assert push(server, "alice", [as_alice]).json()["results"][0]["status"] == "accepted"


def test_a_signed_event_is_taken_from_anyone_once_its_key_is_registered(server):
    from warroom.domain.signing import Signer

    signer, _ = Signer.generate()
    carol = EventFactory("carol", SystemClock(), HybridClock(SystemClock(), "c0c0c0c0"), signer=signer)
    events = declare(carol, title="Relayed", severity=Severity.SEV3)
    first = push(server, "bob", events).json()["results"]
    assert [r["code"] for r in first] == ["unknown_key", "unknown_key"]  # waits, not refused
    registered = HTTP.post(f"{server.url}/v1/keys", json={"public_key": signer.public_key_text}, headers=auth(server, "carol"))
    assert registered.status_code == 200 and signer.key_id in [k["key_id"] for k in registered.json()["keys"]]
    assert [r["status"] for r in push(server, "bob", events).json()["results"]] == ["accepted", "accepted"]
    taken = HTTP.post(f"{server.url}/v1/keys", json={"public_key": signer.public_key_text}, headers=auth(server, "bob"))
    assert taken.status_code == 403  # carol's key cannot become bob's
    unsigned = log_entry(EventFactory("carol", SystemClock(), HybridClock(SystemClock(), "c1")), fold_incident(events[0].incident_id, events), "x")
    refused = push(server, "carol", [unsigned]).json()["detail"]["results"][0]
    assert "signs their events" in refused["reason"]  # once carol signs, unsigned is not hers


def test_only_the_commander_or_an_admin_may_resolve_or_hand_over(server):
    _made, events = declared_incident(server, "alice")
    state = fold_incident(events[0].incident_id, events)
    bob = factory("bob")
    bob_note = log_entry(bob, state, "bob can log")
    bob_resolves = update(bob, state, status=Status.RESOLVED)
    response = push(server, "bob", [bob_note, bob_resolves])
    assert response.status_code == 200  # mixed batch: the allowed event is not held hostage
    note, resolve = response.json()["results"]
    assert note["status"] == "accepted"
    assert resolve["status"] == "rejected" and resolve["code"] == "forbidden"
    assert "only the incident commander (alice) or an admin may resolve" in resolve["reason"]

    from warroom.domain.commands import assign_role

    grab = assign_role(bob, state, "ic", "bob")
    assert push(server, "bob", [grab]).status_code == 403

    root = factory("root")
    assert push(server, "root", [update(root, state, status=Status.RESOLVED)]).status_code == 200


def test_commander_handover_in_the_same_batch_applies_to_later_events(server):
    alice, events = declared_incident(server, "alice")
    from warroom.domain.commands import assign_role

    state = fold_incident(events[0].incident_id, events)
    handover = assign_role(alice, state, "ic", "bob")
    alice_resolves = update(alice, state, status=Status.RESOLVED)
    results = push(server, "alice", [handover, alice_resolves]).json()["results"]
    assert results[0]["status"] == "accepted"
    assert results[1]["status"] == "rejected" and "(bob)" in results[1]["reason"]


def test_events_of_an_undeclared_incident_are_rejected(server):
    made = factory("alice")
    events = declare(made, title="never pushed", severity=Severity.SEV3)
    entry = log_entry(made, fold_incident(events[0].incident_id, events), "orphan")
    before = server.counts()
    result = push(server, "alice", [entry]).json()["results"][0]
    assert result["status"] == "rejected" and result["code"] == "unknown_incident"
    assert "unknown incident" in result["reason"]
    assert server.counts() == before


# --- bad input: a clear JSON error and nothing stored ---------------------------------------


def _raw_post(server, content: bytes, user="alice") -> httpx.Response:
    headers = {**auth(server, user), "Content-Type": "application/json"}
    return HTTP.post(f"{server.url}/v1/events", content=content, headers=headers, timeout=30)


def test_bad_requests_get_clear_errors_and_store_nothing(server):
    made, events = declared_incident(server)
    state = fold_incident(events[0].incident_id, events)
    good = json.loads(log_entry(made, state, "fine").model_dump_json())
    big_text = "x" * 3000
    too_many = [json.loads(log_entry(made, state, f"n{i}").model_dump_json()) for i in range(501)]
    bad_bodies = {
        "malformed JSON": (b'{"events": [', 400),
        "unknown field": (json.dumps({"events": [good], "force": True}).encode(), 422),
        "wrong type": (json.dumps({"events": "all of them"}).encode(), 422),
        "event not an object": (json.dumps({"events": [good, 7]}).encode(), 422),
        "missing events": (b"{}", 422),
        "501 events": (json.dumps({"events": too_many}).encode(), 413),
        "body over 1 MiB": (json.dumps({"events": [good], "pad": big_text * 400}).encode(), 413),
    }
    before = server.counts()
    for name, (body, status) in bad_bodies.items():
        response = _raw_post(server, body)
        assert response.status_code == status, (name, response.text)
        error = response.json()["error"]
        assert isinstance(error, str) and len(error) > 20, name
    assert server.counts() == before


def test_a_bad_event_is_rejected_alone(server):
    made, events = declared_incident(server)
    state = fold_incident(events[0].incident_id, events)
    good = json.loads(log_entry(made, state, "fine").model_dump_json())
    extra_field = {**json.loads(log_entry(made, state, "x").model_dump_json()), "sneaky": 1}
    wrong_type = {**json.loads(log_entry(made, state, "y").model_dump_json()), "hlc": 12}
    unknown_kind = {**json.loads(log_entry(made, state, "z").model_dump_json()), "kind": "nope"}
    before_rows = server.counts()[0]
    results = push(server, "alice", [extra_field, good, wrong_type, unknown_kind]).json()
    statuses = [(r["index"], r["status"], r["code"]) for r in results["results"]]
    assert statuses == [
        (0, "rejected", "invalid"),
        (1, "accepted", None),
        (2, "rejected", "invalid"),
        (3, "rejected", "invalid"),
    ]
    assert "sneaky" in results["results"][0]["reason"]
    assert server.counts()[0] == before_rows + 1


# --- the feed -------------------------------------------------------------------------------


def _feed(server, cursor=None, timeout=0, limit=None, user="alice") -> httpx.Response:
    params: dict = {"timeout": timeout}
    if cursor is not None:
        params["cursor"] = cursor
    if limit is not None:
        params["limit"] = limit
    return HTTP.get(f"{server.url}/v1/feed", params=params, headers=auth(server, user), timeout=40)


def _walk(server, cursor=None, limit=7) -> tuple[list[str], list[tuple[str | None, int]]]:
    """Event ids from ``cursor`` to the end, and each cursor seen with how many ids came
    before it."""
    ids: list[str] = []
    cursors: list[tuple[str | None, int]] = [(cursor, 0)]
    while True:
        page = _feed(server, cursor, limit=limit).json()
        ids.extend(item["event"]["id"] for item in page["events"])
        cursor = page["cursor"]
        cursors.append((cursor, len(ids)))
        if not page["more"]:
            return ids, cursors


def test_resuming_from_any_cursor_never_skips_or_repeats(server):
    made, events = declared_incident(server)
    state = fold_incident(events[0].incident_id, events)
    for size in (1, 5, 13, 2):
        push(server, "alice", [log_entry(made, state, f"batch {size} #{i}") for i in range(size)])
    everything, cursors = _walk(server)
    assert len(everything) == len(set(everything)) >= 21
    assert len(cursors) > 4
    for cursor, seen_before in cursors:
        resumed, _ = _walk(server, cursor, limit=3)
        assert resumed == everything[seen_before:]
    last = cursors[-1][0]
    assert _feed(server, last).json()["events"] == []
    newer = log_entry(made, state, "after the walk")
    push(server, "alice", [newer])
    assert [i["event"]["id"] for i in _feed(server, last).json()["events"]] == [newer.id]


def test_feed_events_are_stored_verbatim_with_received_at(server):
    made, events = declared_incident(server)
    entry = log_entry(made, fold_incident(events[0].incident_id, events), "verbatim")
    position = push(server, "alice", [entry]).json()["results"][0]["position"]
    items = _feed(server, limit=1000).json()["events"]
    (item,) = [i for i in items if i["position"] == position]
    assert Event.model_validate(item["event"]) == entry
    assert item["received_at"].endswith("Z")


def test_garbage_cursors_are_400_and_foreign_ones_410(server):
    for garbage in ("not-a-cursor", "djE6", "%%%"):
        response = _feed(server, garbage)
        assert response.status_code == 400, garbage
        assert "cursor" in response.json()["error"]
    from warroom.server.feed import encode_cursor

    assert _feed(server, encode_cursor("someotherdb00000", 1)).status_code == 410
    assert _feed(server, timeout=26).status_code == 422


def test_long_poll_returns_empty_at_timeout_and_wakes_on_insert(server):
    made, events = declared_incident(server)
    state = fold_incident(events[0].incident_id, events)
    _, cursors = _walk(server)
    tail = cursors[-1][0]
    empty = _feed(server, tail, timeout=1).json()
    assert empty["events"] == [] and empty["cursor"] == tail and empty["more"] is False

    answer: dict = {}
    waiter = threading.Thread(target=lambda: answer.update(_feed(server, tail, timeout=20).json()))
    waiter.start()
    time.sleep(0.3)  # let the request reach the server first
    entry = log_entry(made, state, "wake up")
    push(server, "alice", [entry])
    waiter.join(30)
    # Had it not been woken it would have come back empty at its timeout.
    assert [item["event"]["id"] for item in answer["events"]] == [entry.id]


def test_incidents_lists_folded_state(server):
    _made, events = declared_incident(server, "bob")
    listing = HTTP.get(f"{server.url}/v1/incidents", headers=auth(server, "alice")).json()
    (mine,) = [i for i in listing["incidents"] if i["id"] == events[0].incident_id]
    assert mine["title"] == "Payments failing" and mine["severity"] == "SEV2"
    assert mine["status"] == "investigating" and mine["commander"] == "bob"


# --- the command line -------------------------------------------------------------------------


def _server_cli(*args: str, cwd: Path | None = None, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "warroom.server", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
    )


def test_refuses_to_start_without_tokens_and_says_how_to_add_one(tmp_path):
    data = tmp_path / "srv"
    result = _server_cli("--data-dir", str(data), "--port", str(free_port()))
    assert result.returncode == 2
    assert f"warroom server token add YOUR-NAME --admin --data-dir {data}" in result.stderr


def test_token_add_prints_it_once_and_stores_only_a_hash(tmp_path):
    data = tmp_path / "srv"
    added = _server_cli("token", "add", "carol", "--admin", "--data-dir", str(data))
    assert added.returncode == 0, added.stderr
    token = [line.strip() for line in added.stdout.splitlines() if len(line.strip()) == 43][0]
    listed = _server_cli("token", "list", "--data-dir", str(data))
    assert "carol" in listed.stdout and "admin" in listed.stdout and token not in listed.stdout
    assert token.encode() not in (data / "warroom-server.sqlite3").read_bytes()
    assert oct((data / "warroom-server.sqlite3").stat().st_mode & 0o777) == "0o600"
    duplicate = _server_cli("token", "add", "carol", "--data-dir", str(data))
    assert duplicate.returncode == 1 and "already exists" in duplicate.stderr


def test_insecure_mode_says_auth_is_off_and_stops_promptly_with_a_held_poll(tmp_path):
    proc = ServerProcess(tmp_path / "open", extra_args=["--insecure-no-auth"]).start()
    try:
        wait_until(lambda: "AUTH IS OFF" in proc.log(), 10, "the banner")
        assert HTTP.get(f"{proc.url}/v1/whoami").json()["auth_required"] is False
        answers: list[int] = []

        def hold() -> None:
            response = HTTP.get(f"{proc.url}/v1/feed", params={"timeout": 25}, timeout=40)
            answers.append(response.status_code)

        held = threading.Thread(target=hold)
        held.start()
        time.sleep(0.3)
        # The 25 s long-poll must not hold up a graceful stop (well under its hold time).
        proc.stop(timeout=15)
        held.join(30)
        assert answers == [200]  # answered (empty page), not cut off
    finally:
        proc.kill()
