"""SyncClient error typing and the outbox's bookkeeping, without a server process."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import httpx
import pytest

from warroom.domain.sealing import unseal
from warroom.domain.commands import declare, log_entry
from warroom.domain.models import Severity
from warroom.store import sync_state
from warroom.store.outbox import Outbox
from warroom.store.workspace import Workspace
from warroom.sync.client import (
    SyncClient,
    SyncCursorGone,
    SyncRejected,
    SyncUnauthorized,
    SyncUnavailable,
)
from warroom.sync.engine import Backoff, SyncEngine
from warroom.wire import MAX_BATCH_EVENTS

URL = "http://sync.test"


def client_answering(status: int, body: object = None, *, raw: bytes | None = None) -> SyncClient:
    def handler(request: httpx.Request) -> httpx.Response:
        if raw is not None:
            return httpx.Response(status, content=raw)
        return httpx.Response(status, json=body)

    return SyncClient(URL, "tok", transport=httpx.MockTransport(handler))


@pytest.mark.parametrize(
    "status,body,raw,error",
    [
        (500, {"error": "boom"}, None, SyncUnavailable),
        (503, {"error": "disk"}, None, SyncUnavailable),
        (408, {"error": "the request body did not arrive within 30 s"}, None, SyncUnavailable),
        (429, {"error": "this token already holds 16 long-polls"}, None, SyncUnavailable),
        (502, None, b"<html>bad gateway</html>", SyncUnavailable),
        (401, {"error": "unknown token"}, None, SyncUnauthorized),
        (410, {"error": "reset"}, None, SyncCursorGone),
        (422, {"error": "bad shape"}, None, SyncRejected),
        (404, None, b"<html>nginx</html>", SyncRejected),
        (200, None, b"<html>captive portal</html>", SyncUnavailable),
    ],
)
def test_errors_are_typed_by_what_to_do(status, body, raw, error):
    with pytest.raises(error) as caught:
        client_answering(status, body, raw=raw).whoami()
    assert URL in str(caught.value) or "refused" in str(caught.value)


def test_unreachable_server_is_unavailable_with_a_reassuring_message():
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    client = SyncClient(URL, None, transport=httpx.MockTransport(refuse))
    with pytest.raises(SyncUnavailable, match="saved locally"):
        client.feed(None, timeout=0)


def test_unauthorized_says_how_to_log_in_again():
    with pytest.raises(SyncUnauthorized, match=f"warroom login {URL}"):
        client_answering(401, {"error": "unknown token"}).incidents()


def test_a_403_push_returns_the_per_event_refusals():
    body = {
        "error": "none of the 1 event(s) was accepted",
        "detail": {
            "results": [
                {"index": 0, "id": "x", "status": "rejected", "code": "forbidden", "reason": "no"}
            ],
            "accepted": 0,
            "duplicate": 0,
            "rejected": 1,
        },
    }
    result = client_answering(403, body).push([])
    assert result.forbidden and result.rejected[0].reason == "no"


def test_feed_read_timeout_covers_the_hold_time():
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.update(request.extensions["timeout"])
        return httpx.Response(200, json={"events": [], "cursor": "c", "more": False})

    SyncClient(URL, None, transport=httpx.MockTransport(handler)).feed("c", timeout=20)
    assert seen["read"] > 20


def test_backoff_grows_with_jitter_and_caps():
    backoff = Backoff(base=1.0, cap=8.0)
    delays = [backoff.next_delay() for _ in range(8)]
    assert 0.5 <= delays[0] <= 1.0
    assert 2.0 <= delays[2] <= 4.0
    assert all(4.0 <= d <= 8.0 for d in delays[4:])
    backoff.reset()
    assert backoff.next_delay() <= 1.0


def test_backoff_survives_a_console_left_offline_for_hours():
    backoff = Backoff(base=0.5, cap=30.0)
    delays = [backoff.next_delay() for _ in range(5000)]  # 2 ** 1100 once overflowed a float
    assert all(15.0 <= d <= 30.0 for d in delays[10:])


# --- outbox -----------------------------------------------------------------------------------


def workspace_with_events(tmp_path: Path, count: int) -> Workspace:
    workspace = Workspace(tmp_path / "data", actor="alice")
    workspace.load()
    events = declare(workspace.factory, title="Queue backlog", severity=Severity.SEV3)
    workspace.record(events)
    incident = workspace.get(events[0].incident_id)
    for i in range(count):
        workspace.record([log_entry(workspace.factory, incident, f"note {i}")])
    return workspace


def test_pending_is_journal_minus_synced_minus_rejected(tmp_path):
    workspace = workspace_with_events(tmp_path, 5)
    outbox = Outbox(workspace.journal_dir, tmp_path / "state")
    outbox.scan()
    pending = outbox.pending()
    assert len(pending) == 7 and pending[0].kind == "incident.declared"
    outbox.mark_synced([e.id for e in pending[:3]])
    outbox.mark_rejected([(pending[3], "forbidden", "not yours")])
    assert outbox.pending_count() == 3

    # A new process sees the same thing from the files alone.
    again = Outbox(workspace.journal_dir, tmp_path / "state")
    again.scan()
    assert [e.id for e in again.pending()] == [e.id for e in pending[4:]]
    assert [r.reason for r in again.rejections()] == ["not yours"]
    assert again.retry_rejected() == 1 and again.pending_count() == 4


def test_a_torn_synced_ids_tail_only_causes_a_re_push(tmp_path):
    workspace = workspace_with_events(tmp_path, 2)
    outbox = Outbox(workspace.journal_dir, tmp_path / "state")
    outbox.scan()
    ids = [e.id for e in outbox.pending()]
    outbox.mark_synced(ids)
    with open(outbox.synced_path, "r+b") as handle:  # lose half of the last line
        handle.truncate(os.path.getsize(outbox.synced_path) - 20)
    again = Outbox(workspace.journal_dir, tmp_path / "state")
    again.scan()
    assert [e.id for e in again.pending()] == ids[-1:]


def test_events_written_by_another_process_are_found_by_scanning(tmp_path):
    workspace = workspace_with_events(tmp_path, 0)
    outbox = Outbox(workspace.journal_dir, tmp_path / "state")
    outbox.scan()
    other = Workspace(workspace.data_dir, actor="alice")  # e.g. `warroom log` in a shell
    other.load()
    incident = other.incidents()[0]
    other.record([log_entry(other.factory, incident, "from the CLI")])
    assert outbox.scan() == 1


def test_batches_respect_count_and_size_limits(tmp_path):
    workspace = workspace_with_events(tmp_path, MAX_BATCH_EVENTS + 10)
    outbox = Outbox(workspace.journal_dir, tmp_path / "state")
    outbox.scan()
    batches = outbox.pending_batches(MAX_BATCH_EVENTS, 1 << 20)
    assert [len(b) for b in batches] == [MAX_BATCH_EVENTS, 12]
    small = outbox.pending_batches(MAX_BATCH_EVENTS, 5000)
    assert all(sum(len(e.model_dump_json()) + 1 for e in b) <= 5000 for b in small)
    assert sum(len(b) for b in small) == MAX_BATCH_EVENTS + 12


def test_engine_push_records_outcomes_from_a_mock_server(tmp_path):
    workspace = workspace_with_events(tmp_path, 3)

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        events = body["events"]
        results = []
        for index, event in enumerate(events):
            text = None
            if event["kind"] == "entry.logged":
                # Sealed text travels with its key, so the server can serve it (and shred it).
                key = base64.b64decode(body["text_keys"][event["id"]])
                text = unseal(event["id"], event["payload"]["sealed"], key)
            if text == "note 1":
                results.append({"index": index, "id": event["id"], "status": "rejected",
                                "code": "forbidden", "reason": "only the IC"})
            else:
                results.append({"index": index, "id": event["id"], "status": "accepted", "position": index + 1})
        return httpx.Response(200, json={"results": results, "accepted": 0, "duplicate": 0, "rejected": 0})

    client = SyncClient(URL, "tok", transport=httpx.MockTransport(handler))
    engine = SyncEngine(workspace, client)
    counts = engine.push_pending()
    assert (counts.sent, counts.accepted, counts.rejected, counts.pending) == (5, 4, 1, 0)
    assert engine.status.rejected == 1 and "only the IC" in engine.status.last_rejection
    assert engine.push_pending().sent == 0  # rejected events are not retried blindly


# --- sync state files -------------------------------------------------------------------------


def test_login_files_are_private_and_a_loose_token_file_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("WARROOM_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv("WARROOM_TOKEN", raising=False)
    monkeypatch.delenv("WARROOM_SERVER", raising=False)
    sync_state.save_login("http://127.0.0.1:8765/", "secret-token")
    token_path = sync_state.token_file()
    assert stat.S_IMODE(token_path.stat().st_mode) == 0o600
    assert sync_state.resolve_token() == "secret-token"
    assert sync_state.resolve_server() == "http://127.0.0.1:8765"
    assert sync_state.resolve_server("http://other:1") == "http://other:1"
    monkeypatch.setenv("WARROOM_TOKEN", "from-env")
    assert sync_state.resolve_token() == "from-env"
    monkeypatch.delenv("WARROOM_TOKEN")
    token_path.chmod(0o644)
    with pytest.raises(sync_state.SyncConfigError, match="chmod 600"):
        sync_state.resolve_token()
    with pytest.raises(sync_state.SyncConfigError):
        sync_state.normalize_url("127.0.0.1:8765")


def test_sync_state_is_kept_per_server(tmp_path):
    first = sync_state.state_dir(tmp_path, "http://a:1")
    assert first == sync_state.state_dir(tmp_path, "http://a:1/")
    assert first != sync_state.state_dir(tmp_path, "http://b:1")
    cursor = sync_state.CursorFile(first)
    assert cursor.load() is None
    cursor.save("abc")
    assert sync_state.CursorFile(first).load() == "abc"


def test_sync_and_server_packages_do_not_import_textual():
    import subprocess
    import sys

    code = (
        "import sys, warroom.sync, warroom.sync.engine, warroom.cli.sync, warroom.server, "
        "warroom.cli.server, warroom.server.app; "
        "assert 'textual' not in sys.modules, 'textual imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    lean = "import sys, warroom.sync.engine, warroom.cli.sync; assert 'fastapi' not in sys.modules"
    subprocess.run([sys.executable, "-c", lean], check=True)
