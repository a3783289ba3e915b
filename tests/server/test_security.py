"""Bad input and bad actors are refused: tokens on every route, private files, loopback by
default, body and batch limits, and the IC-only rules on every path that could get around them.

Against a real ``warroom server`` process on 127.0.0.1 (the basics — 401 on the four API
routes, a non-IC resolve in a mixed batch, 501 events, a >1 MiB body — are in
test_server_api.py; this file goes through every route and every path).
"""

from __future__ import annotations

import base64
import io
import json
import os
import socket
import stat
from pathlib import Path

import httpx
import pytest

from warroom.domain.clock import SystemClock
from warroom.domain.commands import EventFactory, assign_role, declare, log_entry, update
from warroom.domain.events import Event, RoleAssigned, parse_event
from warroom.domain.fold import fold_incident
from warroom.domain.hlc import HybridClock
from warroom.domain.ids import uuid7
from warroom.domain.models import INCIDENT_COMMANDER, TECH_LEAD, Severity, Status
from warroom.server.storage import SqliteStore
from warroom.wire import MAX_BATCH_EVENTS, MAX_BODY_BYTES

try:
    from serverproc import ServerProcess, wait_until
except ImportError:  # tests/ collected as a package
    from tests.serverproc import ServerProcess, wait_until

HTTP = httpx.Client(timeout=30)

# Served without a token on purpose: the description of a public API (no incident data).
PUBLIC_ROUTES = {"/v1/health", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


def auth(server: ServerProcess, user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.tokens[user]}"}


def make_factory(actor: str) -> EventFactory:
    clock = SystemClock()
    return EventFactory(actor, clock, HybridClock(clock, uuid7(clock.now())[-8:]))


def as_json(events: list[Event]) -> list[dict]:
    return [json.loads(e.model_dump_json()) for e in events]


def push(server: ServerProcess, user: str, events: list) -> httpx.Response:
    body = {"events": [e if isinstance(e, dict) else json.loads(e.model_dump_json()) for e in events]}
    return HTTP.post(f"{server.url}/v1/events", json=body, headers=auth(server, user))


def results_of(response: httpx.Response) -> list[dict]:
    data = response.json()
    return data["results"] if response.status_code == 200 else data["detail"]["results"]


def server_state(server: ServerProcess, incident_id: str):
    """The incident as the server's own feed folds it (what every client will see)."""
    events: list[Event] = []
    cursor = None
    while True:
        params = {"timeout": 0, "limit": 1000, **({"cursor": cursor} if cursor else {})}
        page = HTTP.get(f"{server.url}/v1/feed", params=params, headers=auth(server, "alice")).json()
        events += [parse_event(item["event"]) for item in page["events"]]
        cursor = page["cursor"]
        if not page["more"]:
            break
    return fold_incident(incident_id, [e for e in events if e.incident_id == incident_id])


# --- authentication on every route ----------------------------------------------------------


def app_routes() -> list[tuple[str, str]]:
    """Every (method, path) the app serves, read from the app itself (so a route added later
    is checked too)."""
    from fastapi.routing import APIRoute
    from starlette.routing import Route

    from warroom.server.app import create_app

    routes = []
    import tempfile

    def walk(entries) -> None:
        for route in entries:
            if isinstance(route, (APIRoute, Route)):
                routes.extend((method, route.path) for method in sorted(route.methods) if method != "HEAD")
            else:  # the app includes one router per resource; FastAPI wraps each one
                walk(route.original_router.routes)

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Path(tmp) / "db.sqlite3")
        walk(app.routes)
        app.state.store.close()
    return routes


def bad_credentials(server: ServerProcess) -> dict[str, dict[str, str]]:
    valid = server.tokens["alice"]
    return {
        "no header": {},
        "wrong scheme": {"Authorization": f"Token {valid}"},
        "scheme only": {"Authorization": "Bearer"},
        "unknown token": {"Authorization": "Bearer not-a-real-token"},
        "valid token plus a character": {"Authorization": f"Bearer {valid}x"},
        "valid token minus a character": {"Authorization": f"Bearer {valid[:-1]}"},
        "valid token as basic auth": {"Authorization": "Basic " + base64.b64encode(f"alice:{valid}".encode()).decode()},
        "valid token without a scheme": {"Authorization": valid},
        "valid token in another header": {"X-Token": valid},
        "valid token in the query": {},  # sent as ?token= below
        "8 KiB token": {"Authorization": "Bearer " + "A" * 8192},
    }


def test_the_route_list_is_what_the_openapi_document_says(server):
    spec = HTTP.get(f"{server.url}/openapi.json").json()
    documented = {(method.upper(), path) for path, ops in spec["paths"].items() for method in ops}
    served = set(app_routes())
    assert documented == {r for r in served if r[1] not in PUBLIC_ROUTES - {"/v1/health"}}
    assert ("POST", "/v1/events") in served and ("GET", "/v1/feed") in served


def test_every_route_but_health_and_the_docs_refuses_missing_or_bad_tokens(server):
    before = server.counts()
    made = make_factory("alice")
    a_real_push = {"events": as_json(declare(made, title="sneaky", severity=Severity.SEV1))}
    checked = 0
    for method, path in app_routes():
        if path in PUBLIC_ROUTES:
            continue
        for name, headers in bad_credentials(server).items():
            params = {"timeout": 0} if path == "/v1/feed" else {}
            if name == "valid token in the query":
                params["token"] = server.tokens["alice"]
            body = a_real_push if method == "POST" else None
            response = HTTP.request(method, f"{server.url}{path}", headers=headers, params=params, json=body)
            assert response.status_code == 401, (method, path, name, response.status_code, response.text)
            assert response.headers["www-authenticate"] == "Bearer", (method, path, name)
            assert "token" in response.json()["error"], (method, path, name)
            checked += 1
        # ...and the same request with the real token is not refused for authentication.
        ok = HTTP.request(method, f"{server.url}{path}", headers=auth(server, "alice"),
                          params={"timeout": 0} if path == "/v1/feed" else {},
                          json={"events": []} if method == "POST" else None)
        # With a good token the request gets past auth; the alert hook then (rightly) refuses
        # an empty body as 422.
        assert ok.status_code not in (401, 403), (method, path, ok.text)
    assert checked >= 4 * len(bad_credentials(server))
    assert server.counts() == before  # nothing pushed without a token was stored


def test_public_routes_serve_no_incident_data(server):
    made = make_factory("alice")
    declared = declare(made, title="secret-title-8c1f", severity=Severity.SEV2)
    assert push(server, "alice", declared).status_code == 200
    for path in sorted(PUBLIC_ROUTES - {"/docs/oauth2-redirect"}):
        response = HTTP.get(f"{server.url}{path}")
        assert response.status_code == 200, path
        assert "secret-title-8c1f" not in response.text and declared[0].incident_id not in response.text


def test_a_revoked_token_is_refused_at_once(server):
    token = server.add_token("dave")
    headers = {"Authorization": f"Bearer {token}"}
    assert HTTP.get(f"{server.url}/v1/whoami", headers=headers).json()["user"] == "dave"
    store = SqliteStore(server.db_path, dedupe=None)
    try:
        assert store.remove_token("dave")
    finally:
        store.close()
    assert HTTP.get(f"{server.url}/v1/whoami", headers=headers).status_code == 401  # no restart


# --- private files ---------------------------------------------------------------------------


@pytest.fixture
def open_umask():
    """The most permissive umask: the 0600 must come from the code, not from the umask."""
    old = os.umask(0)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_login_writes_the_token_0600_even_over_a_loose_old_file(server, tmp_path, monkeypatch, open_umask):
    from warroom.store import sync_state
    from warroom.cli.sync import login_main

    config_dir = tmp_path / "config"
    monkeypatch.setenv("WARROOM_CONFIG_DIR", str(config_dir))
    config_dir.mkdir(mode=0o755)
    sync_state.token_file().write_text("old-token\n")
    sync_state.token_file().chmod(0o644)  # left loose by hand, or by an old version

    # erin: logging in registers her signing key, after which the server takes only signed
    # events in her name; the other tests push unsigned ones for alice, bob and carol.
    assert login_main([server.url, "--token", "-"], stdin=io.StringIO(server.tokens["erin"] + "\n")) == 0
    assert mode(sync_state.token_file()) == 0o600
    assert sync_state.token_file().read_text().strip() == server.tokens["erin"]
    assert sync_state.resolve_token() == server.tokens["erin"]
    leftovers = [p.name for p in config_dir.iterdir() if p.name.startswith(".")]
    assert leftovers == []  # no temp file with the token left behind


def test_login_into_a_new_config_dir_creates_it_private(server, tmp_path, monkeypatch, open_umask):
    from warroom.store import sync_state
    from warroom.cli.sync import login_main

    monkeypatch.setenv("WARROOM_CONFIG_DIR", str(tmp_path / "fresh" / "config"))
    assert login_main([server.url, "--token", "-"], stdin=io.StringIO(server.tokens["erin"] + "\n")) == 0
    assert mode(sync_state.token_file()) == 0o600
    assert mode(sync_state.token_file().parent) == 0o700


def test_save_config_writes_0600_even_over_a_loose_old_file(tmp_path, open_umask):
    from warroom.store.config import Config, load_config, save_config

    path = tmp_path / "config" / "config.toml"
    save_config(Config(user="alice"), path)
    assert mode(path) == 0o600
    path.chmod(0o644)
    save_config(Config(user="alice", local_time=True), path)
    assert mode(path) == 0o600
    assert load_config(path) == Config(user="alice", local_time=True)


# --- loopback by default ---------------------------------------------------------------------


def _listening_addresses(port: int) -> list[str]:
    """Local addresses of sockets in LISTEN state on ``port``, from /proc/net/tcp{,6}."""
    found = []
    for name in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/net/{name}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            address, port_hex = fields[1].rsplit(":", 1)
            if int(port_hex, 16) == port and fields[3] == "0A":  # 0A: TCP_LISTEN
                raw = bytes.fromhex(address)
                if name == "tcp":
                    found.append(socket.inet_ntop(socket.AF_INET, raw[::-1]))
                else:  # four little-endian 32-bit words
                    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
                    found.append(socket.inet_ntop(socket.AF_INET6, words))
    return found


def _non_loopback_ipv4() -> str | None:
    """This machine's address on its default route, if it has one (no packet is sent)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1; connect() on UDP only picks a route
            address = probe.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def test_the_server_binds_loopback_unless_told_otherwise(tmp_path):
    from warroom.server import DEFAULT_HOST
    from warroom.cli.server import _run_parser

    assert DEFAULT_HOST == "127.0.0.1"
    assert _run_parser().parse_args([]).host == "127.0.0.1"

    proc = ServerProcess(tmp_path / "bind")  # started without --host
    assert "--host" not in proc.command()
    proc.add_token("alice")
    proc.start()
    try:
        wait_until(lambda: "serving" in proc.log(), 10, "the banner")
        assert f"http://127.0.0.1:{proc.port}" in proc.log()
        if Path("/proc/net/tcp").exists():
            assert _listening_addresses(proc.port) == ["127.0.0.1"]
        other = _non_loopback_ipv4()
        if other is not None:
            with pytest.raises(OSError):
                socket.create_connection((other, proc.port), timeout=2).close()
    finally:
        proc.kill()


# --- body and batch limits -------------------------------------------------------------------


def _raw_post(server, content, headers=None) -> httpx.Response:
    headers = {**auth(server, "alice"), "Content-Type": "application/json", **(headers or {})}
    return HTTP.post(f"{server.url}/v1/events", content=content, headers=headers)


def test_body_limit_is_exact_and_holds_for_chunked_bodies(server):
    before = server.counts()
    envelope = b'{"events": [], "pad": ""}'
    exactly = envelope.replace(b'""', b'"' + b"x" * (MAX_BODY_BYTES - len(envelope)) + b'"')
    assert len(exactly) == MAX_BODY_BYTES
    # At the limit the body is read and judged (an unknown field: 422), one byte over it is 413.
    assert _raw_post(server, exactly).status_code == 422
    over = _raw_post(server, exactly[:-2] + b'x"}')
    assert over.status_code == 413 and "larger than" in over.json()["error"]

    def chunks():  # no Content-Length: the limit must count what actually arrives
        yield b'{"events": ['
        for _ in range(40):
            yield b'{"padding": "' + b"y" * 32_000 + b'"},'
        yield b"{}]}"

    chunked = _raw_post(server, chunks())
    assert chunked.status_code == 413
    assert server.counts() == before


def test_batch_limit_is_exact(server):
    before = server.counts()
    at_limit = _raw_post(server, json.dumps({"events": [{}] * MAX_BATCH_EVENTS}).encode())
    assert at_limit.status_code == 200  # judged: every one of them invalid, nothing stored
    assert at_limit.json()["rejected"] == MAX_BATCH_EVENTS
    over = _raw_post(server, json.dumps({"events": [{}] * (MAX_BATCH_EVENTS + 1)}).encode())
    assert over.status_code == 413 and "split the batch" in over.json()["error"]
    assert server.counts() == before


# --- authorization: only the IC (or an admin) resolves or hands over IC ---------------------


@pytest.fixture
def incident(server):
    """An incident declared by alice, who is its IC."""
    alice = make_factory("alice")
    declared = declare(alice, title="Payments failing", severity=Severity.SEV2)
    assert push(server, "alice", declared).status_code == 200
    return declared


def test_a_non_commander_cannot_resolve_or_take_ic_by_any_path(server, incident):
    incident_id = incident[0].incident_id
    state = fold_incident(incident_id, incident)
    bob = make_factory("bob")

    redeclare = as_json(declare(bob, title="Mine now", severity=Severity.SEV4))
    for event in redeclare:  # the same incident, declared again by bob, already resolved
        event["incident_id"] = incident_id
    redeclare[0]["payload"]["status"] = "resolved"
    attempts = [
        ("note", log_entry(bob, state, "bob may log"), "accepted"),
        ("resolve", update(bob, state, status=Status.RESOLVED), "forbidden"),
        ("resolve hidden among other fields",
         update(bob, state, status=Status.RESOLVED, title="All good", severity=Severity.SEV4), "forbidden"),
        ("IC to himself", assign_role(bob, state, "ic", "bob"), "forbidden"),
        ("IC to someone else", assign_role(bob, state, "ic", "carol"), "forbidden"),
        ("IC to nobody", bob.make(incident_id, RoleAssigned(role=INCIDENT_COMMANDER, person=None)), "forbidden"),
        *[
            (f"IC spelled {alias!r}", bob.make(incident_id, RoleAssigned(role=alias, person="bob")), "forbidden")
            for alias in ("ic", "IC", "commander", "Incident  Commander", " incident commander ")
        ],
        ("signed as alice", update(make_factory("alice"), state, status=Status.RESOLVED), "forbidden"),
        ("re-declared resolved with bob as IC", redeclare[0], "conflict"),
        ("...and its IC assignment", redeclare[1], "forbidden"),
        ("tech lead", assign_role(bob, state, TECH_LEAD, "bob"), "accepted"),
        ("severity", update(bob, state, severity=Severity.SEV1), "accepted"),
    ]
    response = push(server, "bob", [event for _name, event, _expected in attempts])
    assert response.status_code == 200  # mixed: the allowed events are not held hostage
    outcomes = {name: r["code"] or r["status"] for (name, _e, _x), r in zip(attempts, results_of(response))}
    assert outcomes == {name: expected for name, _e, expected in attempts}

    after = server_state(server, incident_id)
    assert after.commander == "alice"
    assert after.status is Status.INVESTIGATING and after.title == "Payments failing"
    assert after.severity is Severity.SEV1 and after.roles[TECH_LEAD] == "bob"
    assert set(after.roles) == {INCIDENT_COMMANDER, TECH_LEAD}  # no look-alike IC rows
    listed = HTTP.get(f"{server.url}/v1/incidents", headers=auth(server, "carol")).json()["incidents"]
    assert [(i["commander"], i["status"]) for i in listed if i["id"] == incident_id] == [("alice", "investigating")]


def test_a_batch_of_only_forbidden_changes_is_403_with_the_reasons(server, incident):
    state = fold_incident(incident[0].incident_id, incident)
    bob = make_factory("bob")
    response = push(server, "bob", [update(bob, state, status=Status.RESOLVED), assign_role(bob, state, "ic", "bob")])
    assert response.status_code == 403
    assert [r["code"] for r in results_of(response)] == ["forbidden", "forbidden"]
    assert "only the incident commander (alice)" in response.json()["error"]


def test_an_ic_grab_refused_earlier_in_a_batch_does_not_authorize_later_events(server, incident):
    state = fold_incident(incident[0].incident_id, incident)
    bob = make_factory("bob")
    grab = assign_role(bob, state, "ic", "bob")
    as_if_ic = fold_incident(state.id, [*incident, grab])
    resolve = update(bob, as_if_ic, status=Status.RESOLVED)
    hand_on = assign_role(bob, as_if_ic, "ic", "carol")
    assert [r["code"] for r in results_of(push(server, "bob", [grab, resolve, hand_on]))] == ["forbidden"] * 3
    assert server_state(server, state.id).commander == "alice"


def test_the_commander_and_admins_may_and_a_handover_moves_the_right(server, incident):
    incident_id = incident[0].incident_id
    alice, bob, root = make_factory("alice"), make_factory("bob"), make_factory("root")

    state = fold_incident(incident_id, incident)
    assert push(server, "alice", [assign_role(alice, state, "ic", "bob")]).status_code == 200
    state = server_state(server, incident_id)
    assert state.commander == "bob"
    # alice handed over: she may no longer resolve; bob now may.
    assert push(server, "alice", [update(alice, state, status=Status.RESOLVED)]).status_code == 403
    assert push(server, "bob", [update(bob, state, status=Status.RESOLVED, summary="rolled back")]).status_code == 200
    state = server_state(server, incident_id)
    assert state.status is Status.RESOLVED

    # Anyone may reopen (it is logged); an admin may resolve and hand over without being IC.
    assert push(server, "carol", [update(make_factory("carol"), state, status=Status.INVESTIGATING)]).status_code == 200
    state = server_state(server, incident_id)
    admin_moves = [update(root, state, status=Status.RESOLVED), assign_role(root, state, "ic", "carol")]
    assert [r["status"] for r in results_of(push(server, "root", admin_moves))] == ["accepted", "accepted"]
    # But an admin cannot write in someone else's name (an import, say): no signature, no.
    assert push(server, "root", [log_entry(alice, state, "imported by root")]).status_code == 403
    final = server_state(server, incident_id)
    assert (final.commander, final.status) == ("carol", Status.RESOLVED)
