"""Clients syncing through a real server process: propagation, offline work, conflicts,
authorization surfaced to the user, and the ``warroom login`` / ``warroom sync`` commands."""

from __future__ import annotations

import io
import stat

import pytest

from warroom.domain.commands import declare, log_entry
from warroom.domain.models import Severity, Status
from warroom.store import sync_state
from warroom.store.workspace import Workspace
from warroom.cli.sync import login_main, sync_main, try_push

try:
    from serverproc import Replica, all_server_events, state_hash, wait_until
except ImportError:  # tests/ collected as a package
    from tests.serverproc import Replica, all_server_events, state_hash, wait_until



@pytest.fixture
def replicas(tmp_path):
    made: list[Replica] = []

    def make(name: str, server, token: str | None) -> Replica:
        replica = Replica(tmp_path / "clients", name, server.url, token)
        made.append(replica)
        return replica

    yield make
    for replica in made:
        replica.close()


def test_two_clients_see_each_others_changes(server_factory, replicas):
    server = server_factory()
    tokens = {name: server.add_token(name) for name in ("alice", "bob")}
    server.start()
    alice = replicas("alice", server, tokens["alice"]).start()
    bob = replicas("bob", server, tokens["bob"]).start()

    incident = alice.declare("Login errors", Severity.SEV3)
    notes = [alice.log(incident, f"checking shard {i}") for i in range(3)]
    wait_until(lambda: {n.id for n in notes} <= bob.event_ids(incident), 20, "bob to see alice's notes")
    # Sealed on alice's machine; bob opens them with the keys that travelled beside them.
    assert [e.text for e in bob.state(incident).timeline[-3:]] == [f"checking shard {i}" for i in range(3)]
    assert all("sealed" in n.payload and "text" not in n.payload for n in notes)

    bob.set_severity(incident, Severity.SEV1)
    wait_until(lambda: alice.state(incident).severity is Severity.SEV1, 20, "alice to see SEV1")
    assert alice.state_hash(incident) == bob.state_hash(incident)
    assert alice.engine.status.online and alice.engine.status.pending == 0


def test_entries_logged_offline_arrive_exactly_once(server_factory, replicas):
    server = server_factory()
    token = server.add_token("alice")
    alice = replicas("alice", server, token).start()  # the server is not running yet

    incident = alice.declare("Disk full on db-3")
    for i in range(50):
        alice.log(incident, f"offline note {i}")
    wait_until(lambda: alice.statuses and not alice.statuses[-1].online, 10, "offline status")
    wait_until(lambda: alice.engine.status.pending == 52, 10, "52 pending events")

    server.start()
    wait_until(lambda: alice.engine.status.pending == 0, 20, "the outbox to drain")
    assert server.counts() == (52, 52)
    assert server.stored_ids() == alice.created_ids
    assert alice.engine.status.online


def test_concurrent_severity_changes_converge(server_factory, replicas):
    server = server_factory()
    tokens = {name: server.add_token(name) for name in ("alice", "bob")}
    server.start()
    alice = replicas("alice", server, tokens["alice"])
    bob = replicas("bob", server, tokens["bob"])
    incident = alice.declare("Checkout latency", Severity.SEV3)
    alice.engine.sync_once()
    bob.engine.sync_once()

    # Both change it before either hears of the other's change.
    to_sev1 = alice.set_severity(incident, Severity.SEV1)
    to_sev2 = bob.set_severity(incident, Severity.SEV2)
    for replica in (alice, bob, alice, bob):
        replica.engine.sync_once()

    winner = max((to_sev1, to_sev2), key=lambda e: e.order_key())
    expected = Severity(winner.payload["severity"])
    assert alice.state(incident).severity is bob.state(incident).severity is expected
    assert alice.state_hash(incident) == bob.state_hash(incident)
    server_events = [e for e in all_server_events(server.url, tokens["alice"]) if e.incident_id == incident]
    assert state_hash(incident, server_events) == alice.state_hash(incident)


def test_non_commander_resolving_is_rejected_and_shown_but_an_admin_may(server_factory, replicas):
    server = server_factory()
    tokens = {"alice": server.add_token("alice"), "bob": server.add_token("bob")}
    tokens["root"] = server.add_token("root", admin=True)
    server.start()
    alice = replicas("alice", server, tokens["alice"])
    bob = replicas("bob", server, tokens["bob"])
    root = replicas("root", server, tokens["root"])
    incident = alice.declare("Search down")  # alice is the IC
    alice.engine.sync_once()
    bob.engine.sync_once()

    bob.log(incident, "looks fixed to me")
    resolve = bob.set_status(incident, Status.RESOLVED)
    counts = bob.engine.sync_once()
    assert (counts.push.accepted, counts.push.rejected) == (1, 1)
    status = bob.engine.status
    assert status.rejected == 1 and status.pending == 0
    assert "only the incident commander (alice) or an admin may resolve" in status.last_rejection
    (rejection,) = bob.engine.rejections()
    assert rejection.event_id == resolve.id and rejection.code == "forbidden"
    # Kept, not retried blindly, and still in bob's journal.
    assert bob.engine.sync_once().push.sent == 0
    assert resolve.id in bob.event_ids(incident)

    alice.engine.sync_once()
    assert alice.state(incident).status is Status.INVESTIGATING

    root.engine.sync_once()
    root.set_status(incident, Status.RESOLVED)
    assert root.engine.sync_once().push.accepted == 1
    alice.engine.sync_once()
    assert alice.state(incident).status is Status.RESOLVED


def test_a_running_engine_reports_rejections_in_its_status(server_factory, replicas):
    server = server_factory()
    tokens = {"alice": server.add_token("alice"), "bob": server.add_token("bob")}
    server.start()
    alice = replicas("alice", server, tokens["alice"])
    incident = alice.declare("Cache stampede")
    alice.engine.sync_once()
    bob = replicas("bob", server, tokens["bob"]).start()
    wait_until(lambda: bob.has(incident), 20, "bob to receive the incident")
    bob.assign(incident, "ic", "bob")  # taking the IC role needs the current IC
    wait_until(lambda: bob.statuses and bob.statuses[-1].rejected == 1, 20, "a rejected count")
    assert "only the incident commander (alice)" in bob.statuses[-1].last_rejection
    assert "1 rejected" in bob.statuses[-1].summary


def test_a_replaced_server_database_gets_everything_again(server_factory, replicas):
    first = server_factory("first", extra_args=["--insecure-no-auth"])
    first.start()
    alice = replicas("alice", first, None)
    incident = alice.declare("Restored from backup")
    alice.log(incident, "before the restore")
    alice.engine.sync_once()
    first.kill()

    # Same URL, different database (a restore from an old backup, or a rebuilt host).
    second = server_factory("second", port=first.port, extra_args=["--insecure-no-auth"])
    second.start()
    counts = alice.engine.sync_once()
    assert counts.push.accepted == 3
    assert second.stored_ids() == alice.created_ids
    assert alice.engine.sync_once().push.sent == 0


# --- the command line -------------------------------------------------------------------------


@pytest.fixture
def config_env(tmp_path, monkeypatch):
    monkeypatch.setenv("WARROOM_CONFIG_DIR", str(tmp_path / "config"))
    for name in ("WARROOM_TOKEN", "WARROOM_SERVER", "WARROOM_USER"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "config"


def test_login_checks_the_token_then_sync_and_try_push_use_it(server_factory, tmp_path, config_env, capsys):
    server = server_factory()
    token = server.add_token("alice")
    server.start()

    assert login_main([server.url, "--token", "wrong"]) == 1
    assert "did not accept your token" in capsys.readouterr().err
    assert not sync_state.token_file().exists()

    assert login_main([server.url, "--token", "-"], stdin=io.StringIO(token + "\n")) == 0
    assert "as alice" in capsys.readouterr().out
    assert stat.S_IMODE(sync_state.token_file().stat().st_mode) == 0o600

    workspace = Workspace(tmp_path / "data", actor="alice")
    workspace.load()
    workspace.record(declare(workspace.factory, title="Queue stuck", severity=Severity.SEV2))
    assert try_push(workspace) == f"synced to {server.url}"
    assert server.counts() == (2, 2)

    out = io.StringIO()
    assert sync_main([], workspace, out=out) == 0
    assert "sent 0" in out.getvalue() and "rejected 0" in out.getvalue()

    server.stop()
    incident = workspace.incidents()[0]
    workspace.record([log_entry(workspace.factory, incident, "written while the server is down")])
    assert "unreachable" in try_push(workspace)
    assert sync_main([], workspace, out=io.StringIO()) == 1
    assert "cannot reach" in capsys.readouterr().err


def test_without_a_configured_server_try_push_is_silent_and_sync_explains(tmp_path, config_env, capsys):
    workspace = Workspace(tmp_path / "data", actor="alice")
    workspace.load()
    assert try_push(workspace) is None
    assert sync_main([], workspace) == 2
    assert "warroom login" in capsys.readouterr().err
