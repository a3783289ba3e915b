"""When the server's database fails under it, every answer is a 503 with Retry-After — never a
500, and never an "accepted" for an event that went nowhere.

Against real ``warroom server`` processes (SQLite). The PostgreSQL store's lost connection is
in test_postgres_store.py.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys

import httpx
import pytest

from warroom.domain.clock import SystemClock
from warroom.domain.commands import EventFactory, declare, log_entry
from warroom.domain.fold import fold_incident
from warroom.domain.hlc import HybridClock
from warroom.domain.ids import uuid7
from warroom.domain.models import Severity

ROUTES = [
    ("GET", "/v1/whoami", {}),
    ("GET", "/v1/incidents", {}),
    ("GET", "/v1/feed", {"timeout": 0}),
    ("GET", "/v1/feed", {"timeout": 1}),
]


def make_factory(actor: str) -> EventFactory:
    clock = SystemClock()
    return EventFactory(actor, clock, HybridClock(clock, uuid7(clock.now())[-8:]))


def as_body(events) -> dict:
    return {"events": [json.loads(e.model_dump_json()) for e in events]}


@pytest.fixture
def running(server_factory):
    """A server with an incident and a few entries in it; yields (server, headers, more)."""
    server = server_factory("trouble")
    token = server.add_token("alice")
    server.start()
    headers = {"Authorization": f"Bearer {token}"}
    made = make_factory("alice")
    declared = declare(made, title="Payments failing", severity=Severity.SEV2)
    state = fold_incident(declared[0].incident_id, declared)
    entries = [log_entry(made, state, f"checked shard {n}: " + "latency " * 300) for n in range(5)]
    with httpx.Client(timeout=10) as http:
        assert http.post(f"{server.url}/v1/events", json=as_body(declared + entries), headers=headers).json()["accepted"] == 7

    def more(text: str):
        return log_entry(made, state, text)

    yield server, headers, more


def assert_unavailable(response: httpx.Response, *, saying: str | None = None) -> None:
    assert response.status_code == 503, (response.status_code, response.text)
    assert int(response.headers["retry-after"]) >= 1
    assert "try again" in response.json()["error"]
    if saying:
        assert saying in response.json()["error"]


def test_a_database_file_deleted_under_the_server_stops_it_accepting(running):
    server, headers, more = running
    for path in server.data_dir.glob("warroom-server.sqlite3*"):
        path.unlink()  # what `rm data/*` does to a running server
    with httpx.Client(timeout=10) as http:
        pushed = http.post(f"{server.url}/v1/events", json=as_body([more("into nothing?")]), headers=headers)
        assert_unavailable(pushed, saying="deleted or replaced")
        assert "results" not in pushed.json() and pushed.json()["detail"] is None  # no per-event "accepted"
        for method, path, params in ROUTES:
            assert_unavailable(http.request(method, f"{server.url}{path}", params=params, headers=headers))
        # The health check says so too, so a load balancer stops sending people here.
        assert_unavailable(http.get(f"{server.url}/v1/health"))
    assert server.proc.poll() is None  # still running, refusing, not crashed


def test_a_database_file_replaced_under_the_server_stops_it_accepting(running, tmp_path):
    server, headers, more = running
    other = tmp_path / "restored-from-an-old-backup.sqlite3"
    shutil.copy(server.db_path, other)
    os.replace(other, server.db_path)  # same content, another file: writes would go nowhere
    with httpx.Client(timeout=10) as http:
        assert_unavailable(
            http.post(f"{server.url}/v1/events", json=as_body([more("lost?")]), headers=headers),
            saying="deleted or replaced",
        )
        assert_unavailable(http.get(f"{server.url}/v1/health"))
    server.stop()
    # Started again, the server opens the file that is there now.
    server.start()
    with httpx.Client(timeout=10) as http:
        assert http.post(f"{server.url}/v1/events", json=as_body([more("back")]), headers=headers).json()["accepted"] == 1


def test_a_damaged_database_is_503_on_every_route_never_500(running):
    server, headers, more = running
    rng = random.Random(17)
    for name, keep in (("warroom-server.sqlite3", 100), ("warroom-server.sqlite3-wal", 32)):
        path = server.data_dir / name
        if path.exists():  # garbage over everything but the headers: "file is not a database"
            size = path.stat().st_size
            with open(path, "r+b") as handle:
                handle.seek(keep)
                handle.write(rng.randbytes(size - keep))
    with httpx.Client(timeout=10) as http:
        assert_unavailable(http.post(f"{server.url}/v1/events", json=as_body([more("after")]), headers=headers))
        for method, path, params in ROUTES:
            assert_unavailable(http.request(method, f"{server.url}{path}", params=params, headers=headers))
        assert_unavailable(http.get(f"{server.url}/v1/health"))
        alert = http.post(f"{server.url}/v1/hooks/alertmanager", content=b"{}", headers=headers)
        assert_unavailable(alert)
    assert server.proc.poll() is None


def test_a_damaged_database_at_start_is_refused_with_the_reason(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "warroom-server.sqlite3").write_bytes(b"SQLite format 3\x00" + random.Random(3).randbytes(8000))
    result = subprocess.run(
        [sys.executable, "-m", "warroom.server", "--data-dir", str(data), "--port", "0"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 1
    assert "cannot open the server database" in result.stderr
    assert "Traceback" not in result.stderr
