"""Several ``warroom server --db postgresql://…`` replicas behind a round-robin proxy, with a
real PostgreSQL 15 that is crashed and restarted, and a migration from a SQLite server.

Chaos: 3 replicas, 6 clients spread over them by ``ChaosProxy`` (round-robin per connection,
skipping a dead replica), hundreds of events per client: half the clients write into one
shared incident (concurrent severity changes included), the others each into their own
(writers of different incidents do not wait on each other's locks, so their transactions
really commit out of order). Mid-stream one replica is SIGKILLed
(and started again) and PostgreSQL is stopped with ``pg_ctl stop -m immediate`` (a crash:
recovery at the next start) and restarted; some clients forget every acknowledgement and
push everything again. Then: 0 lost, 0 duplicated, every client's folded state identical
and every replica serving byte-identical feeds.

The same run with ``WARROOM_SERVER_UNSAFE_NAIVE_FEED=1`` (the feed read as ``seq > cursor``)
leaves clients without events that committed out of order: the first test has teeth.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from warroom.domain.models import Severity
from warroom.server.feed import decode_cursor
from warroom.server.storage import NAIVE_FEED_ENV
from warroom.server.storage.postgres import PostgresStore

try:
    from serverproc import Replica, ServerProcess, all_server_events, state_hash, wait_until
    from tcp_proxy import ChaosProxy
except ImportError:  # tests/ collected as a package
    from tests.serverproc import Replica, ServerProcess, all_server_events, state_hash, wait_until
    from tests.tcp_proxy import ChaosProxy

SAMPLE_INCIDENTS = Path(__file__).resolve().parents[2] / "sample_data" / "incidents"

REPLICAS = 3
CLIENTS = 6
EVENTS_PER_CLIENT = 150


@dataclass
class Outcome:
    expected: set[str]
    received: list[set[str]]
    """Per client: the event ids it holds (all incidents)."""
    hashes: list[str]
    rows: int
    distinct: int
    stored: set[str]
    feeds: list[list[bytes]]
    """Each replica's whole feed, as served (pages of 1,000)."""
    by_upstream: dict[int, int]
    went_offline: int
    skipped_for_good: int
    """(client, event) pairs where the client lacks the event although its cursor is already
    past the event's position: the feed will never bring it."""
    notes: list[str]

    @property
    def lost(self) -> int:
        return sum(len(self.expected - got) for got in self.received) + len(self.expected - self.stored)


def run_chaos(server_factory, pg_cluster, pg_url, tmp_path, *, naive: bool, seed: int) -> Outcome:
    rng = random.Random(seed)
    env = {NAIVE_FEED_ENV: "1"} if naive else {}
    servers = [server_factory(f"replica{i}", db=pg_url, env=env) for i in range(REPLICAS)]
    names = [f"client{i}" for i in range(CLIENTS)]
    tokens = {name: servers[0].add_token(name) for name in names}  # (creates the tables)
    # Between taking its sequence numbers and committing, each write now waits 0-20 ms, as
    # it does behind a network hop, a busy CPU or a slow disk: transactions of different
    # incidents then really finish out of sequence order.
    pg_cluster.psql(
        "CREATE FUNCTION test_commit_jitter() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN PERFORM pg_sleep(random() * 0.02); RETURN NULL; END $$; "
        "CREATE TRIGGER test_commit_jitter AFTER INSERT ON events "
        "FOR EACH STATEMENT EXECUTE FUNCTION test_commit_jitter();",
        urlsplit(pg_url).path.lstrip("/"),
    )
    for server in servers:
        server.start()
    proxy = ChaosProxy([s.port for s in servers], seed=seed).start()
    clients = [Replica(tmp_path / "clients", name, proxy.url, tokens[name]) for name in names]
    try:
        for client in clients:
            client.start()
        shared = clients[0].declare("Replicas under fire", Severity.SEV2)
        wait_until(lambda: all(c.has(shared) for c in clients), 30, "every client to see the incident")
        own = [c.declare(f"{c.name}'s side of it", Severity.SEV3) for c in clients[CLIENTS // 2 :]]
        target = [shared] * (CLIENTS // 2) + own
        incidents = [shared, *own]
        progress = [0] * CLIENTS
        notes: list[str] = []

        def write(n: int) -> None:
            local = random.Random(seed * 100 + n)
            for i in range(EVENTS_PER_CLIENT):
                incident = target[n]
                changed = clients[n].set_severity(incident, local.choice(list(Severity))) if i % 10 == 9 else None
                if changed is None:
                    clients[n].log(incident, f"{clients[n].name} note {i}")
                progress[n] = i + 1
                time.sleep(local.uniform(0.005, 0.03))

        writers = [threading.Thread(target=write, args=(n,), daemon=True) for n in range(CLIENTS)]
        for writer in writers:
            writer.start()
        if not naive:  # the naive run shows the skipped rows without faults on top
            wait_until(lambda: sum(progress) > CLIENTS * EVENTS_PER_CLIENT // 4, 60, "a quarter written")
            victim = rng.choice(servers)
            victim.kill()  # SIGKILL mid-stream: mid-commit, mid-answer, mid-long-poll
            notes.append(f"replica SIGKILLed at {sum(progress)} events written")
            rng.choice(clients).engine.resend_all()
            wait_until(lambda: sum(progress) > CLIENTS * EVENTS_PER_CLIENT * 2 // 5, 60, "two fifths written")
            pg_cluster.stop("immediate")  # a database crash under every replica
            notes.append(f"PostgreSQL crashed at {sum(progress)} events written")
            rng.choice(clients).engine.resend_all()
            time.sleep(rng.uniform(0.2, 0.6))
            pg_cluster.start()
            notes.append(f"PostgreSQL back at {sum(progress)} events written")
            victim.start()
            notes.append(f"replica back at {sum(progress)} events written")
        for writer in writers:
            writer.join(120)
        for client in clients[::2]:
            client.engine.resend_all()  # every one of their events reaches a replica twice
        expected = set().union(*(c.created_ids for c in clients))
        assert len(expected) == 2 * len(incidents) + CLIENTS * EVENTS_PER_CLIENT
        wait_until(lambda: all(c.engine.status.pending == 0 for c in clients), 90, "every outbox to drain")

        def holds(client: Replica) -> set[str]:
            return set().union(*(client.event_ids(i) for i in incidents))

        def converged() -> bool:
            return all(holds(c) >= expected for c in clients)

        try:  # the naive feed never gets there: give it a bounded chance
            wait_until(converged, 3 if naive else 60, "every client to receive everything")
        except AssertionError:
            if not naive:
                raise
        skipped = 0
        for client in clients:
            cursor_seq = int(decode_cursor(client.engine.cursor.load())[1].rsplit(".", 1)[1])
            missing = expected - holds(client)
            with servers[0].open_store() as store:
                positions = store.stored_events(sorted(missing))
            skipped += sum(1 for position, _ in positions.values() if position < cursor_seq)
    finally:
        for client in clients:
            client.close()
        proxy.stop()
    rows, distinct = servers[0].counts()
    feeds = [raw_feed(s.url, tokens["client0"]) for s in servers]
    server_events = all_server_events(servers[1].url, tokens["client1"])

    def server_hash(incident: str) -> str:
        return state_hash(incident, [e for e in server_events if e.incident_id == incident])

    return Outcome(
        expected=expected,
        received=[holds(c) for c in clients],
        hashes=[":".join(c.state_hash(i) for i in incidents) for c in clients]
        + [":".join(server_hash(i) for i in incidents)],
        rows=rows,
        distinct=distinct,
        stored=servers[0].stored_ids(),
        feeds=feeds,
        by_upstream=dict(proxy.by_upstream),
        went_offline=sum(any(not s.online and s.since for s in c.statuses) for c in clients),
        skipped_for_good=skipped,
        notes=notes,
    )


def raw_feed(url: str, token: str) -> list[bytes]:
    """The whole feed of one replica, page by page, exactly as served."""
    pages: list[bytes] = []
    cursor = None
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
        while True:
            params = {"timeout": 0, "limit": 1000} | ({"cursor": cursor} if cursor else {})
            response = http.get("/v1/feed", params=params)
            response.raise_for_status()
            pages.append(response.content)
            page = response.json()
            cursor = page["cursor"]
            if not page["more"]:
                return pages


def test_three_replicas_lose_and_duplicate_nothing_through_a_replica_kill_and_a_database_crash(
    server_factory, pg_cluster, pg_url, tmp_path
):
    outcome = run_chaos(server_factory, pg_cluster, pg_url, tmp_path, naive=False, seed=20240611)
    print(*outcome.notes, f"connections per replica: {outcome.by_upstream}", sep="\n")
    assert len(outcome.by_upstream) == REPLICAS, outcome.by_upstream  # spread over all three
    assert outcome.went_offline >= 1, "the faults should have been noticed"
    assert outcome.stored == outcome.expected and outcome.lost == 0  # 0 lost
    assert outcome.rows == outcome.distinct == len(outcome.expected)  # 0 duplicated
    assert all(got == outcome.expected for got in outcome.received)
    assert len(set(outcome.hashes)) == 1  # identical folded state everywhere
    assert outcome.feeds[0] == outcome.feeds[1] == outcome.feeds[2]  # identical bytes


def test_the_same_run_with_a_naive_seq_feed_loses_events(server_factory, pg_cluster, pg_url, tmp_path):
    """Proves the test above has teeth: read the feed as ``seq > cursor`` and transactions
    that commit out of sequence order are skipped for good by the clients reading past them."""
    outcome = run_chaos(server_factory, pg_cluster, pg_url, tmp_path, naive=True, seed=20240611)
    print(f"naive feed: {outcome.lost} (client, event) pairs lost, {outcome.skipped_for_good} behind the cursor")
    assert outcome.stored == outcome.expected  # the database has everything...
    assert outcome.lost > 0  # ...but clients never received some of it,
    assert outcome.skipped_for_good > 0  # and never will: their cursors are past it
    assert len(set(outcome.hashes)) > 1


# --- migration from a SQLite server ---------------------------------------------------------------

DISK_ALERT = json.dumps({
    "receiver": "warroom", "status": "firing", "version": "4", "truncatedAlerts": 0,
    "groupKey": '{}:{alertname="DiskAlmostFull"}', "externalURL": "http://alertmanager.example:9093",
    "groupLabels": {"alertname": "DiskAlmostFull"},
    "commonLabels": {"alertname": "DiskAlmostFull", "severity": "warning", "instance": "db-3"},
    "commonAnnotations": {"summary": "/var/lib/postgresql at 93% on db-3"},
    "alerts": [{
        "status": "firing", "labels": {"alertname": "DiskAlmostFull", "severity": "warning", "instance": "db-3"},
        "annotations": {"summary": "/var/lib/postgresql at 93% on db-3"},
        "startsAt": "2026-11-18T14:50:00Z", "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.example:9090/graph", "fingerprint": "6d1c2f0a9b3e4d57",
    }],
}).encode()  # fmt: skip


def test_a_sqlite_server_migrates_to_postgres_and_clients_carry_on(server_factory, pg_url, tmp_path):
    old = server_factory("sqlite-server")
    tokens = {name: old.add_token(name) for name in ("alice", "bob", "alertmanager")}
    # The sample incidents (eleven people's unsigned events, written before signatures) as
    # an older server stored them: nobody may push another person's unsigned events today.
    from warroom.server.ledger import stored_row
    from warroom.store.journal import Journal

    samples = sorted(SAMPLE_INCIDENTS.glob("*.jsonl"))
    store = old.open_store()
    try:
        for path in samples:
            events = Journal(path, path.stem).open_readonly()
            with store.writing([path.stem]) as batch:
                batch.insert([stored_row(e, "2026-11-18T15:12:30Z", e.actor) for e in events])
    finally:
        store.close()
    old.start()
    clients = tmp_path / "clients"
    alice = Replica(clients, "alice", old.url, tokens["alice"])
    bob = Replica(clients, "bob", old.url, tokens["bob"])
    replicas: list[ServerProcess] = []
    try:
        alert = httpx.post(
            f"{old.url}/v1/hooks/alertmanager", content=DISK_ALERT,
            headers={"Authorization": f"Bearer {tokens['alertmanager']}", "Content-Type": "application/json"},
        )  # fmt: skip
        assert alert.status_code == 200 and alert.json()["created"], alert.text
        for person in (alice, bob):
            person.engine.sync_once()
        incidents = [i.id for i in alice.workspace.incidents()]
        assert len(incidents) == len(samples) + 1  # the samples and the alert's
        assert all(bob.has(i) for i in incidents)
        held = {e for i in incidents for e in alice.event_ids(i)}
        before_migration = alice.log(incidents[0], "written on the old server")
        alice.engine.sync_once()
        old.stop()
        sqlite_counts = old.counts()

        command = [sys.executable, "-m", "warroom.server", "migrate", "--from", f"sqlite:{old.data_dir}", "--to", pg_url]
        first = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert first.returncode == 0, first.stdout + first.stderr
        assert f"copied {sqlite_counts[0]}" in first.stdout and "verified: counts and hash match" in first.stdout
        assert "alert notifications: copied 1" in first.stdout
        again = subprocess.run(command, capture_output=True, text=True, timeout=120)  # safe to re-run
        assert again.returncode == 0 and "copied 0" in again.stdout, again.stdout + again.stderr
        assert "alert notifications: copied 0, 1 were already there" in again.stdout
        with PostgresStore(pg_url) as target:
            (delivery,) = target.deliveries()
        assert delivery[2:] == ("alertmanager", DISK_ALERT)  # byte for byte, as it arrived

        # Two replicas on the database; the first takes over the old server's address, so
        # alice's client carries on with its old (SQLite) cursor: 410, then the new feed.
        replicas = [server_factory("pg-a", db=pg_url, port=old.port).start(), server_factory("pg-b", db=pg_url).start()]
        bob.close()
        bob = Replica(clients, "bob", replicas[1].url, tokens["bob"])
        for person in (alice, bob):
            person.start()
        notes = [alice.log(incidents[1], "after the move, from alice"), bob.log(incidents[2], "after the move, from bob")]
        everything = held | {before_migration.id} | {n.id for n in notes}
        wait_until(
            lambda: all({e for i in incidents for e in p.event_ids(i)} == everything for p in (alice, bob)),
            30, "both clients to hold every event",
        )  # fmt: skip
        for incident in incidents:
            assert alice.state_hash(incident) == bob.state_hash(incident)
        assert replicas[0].counts() == (len(everything), len(everything))
        tokens_ok = httpx.get(f"{replicas[1].url}/v1/whoami", headers={"Authorization": f"Bearer {tokens['alice']}"})
        assert tokens_ok.json()["user"] == "alice"  # tokens came along
    finally:
        for person in (alice, bob):
            person.close()
        for replica in replicas:
            replica.stop()


def test_migration_reports_an_event_the_target_holds_with_other_bytes(server_factory, pg_url):
    old = server_factory("sqlite-server", extra_args=["--insecure-no-auth"]).start()
    from warroom.domain.clock import SystemClock
    from warroom.domain.commands import EventFactory, declare
    from warroom.domain.hlc import HybridClock

    clock = SystemClock()
    events = declare(EventFactory("alice", clock, HybridClock(clock, "node0001")), title="Mismatch", severity=Severity.SEV3)
    httpx.post(f"{old.url}/v1/events", json={"events": [e.model_dump(mode="json") for e in events]}).raise_for_status()
    old.stop()
    target = PostgresStore(pg_url)
    try:
        from warroom.server.ledger import stored_row

        forged = events[1].model_copy(update={"payload": {**events[1].payload, "person": "mallory"}})
        with target.writing([forged.incident_id]) as batch:
            batch.insert([stored_row(forged, "2026-01-01T00:00:00Z", "mallory")])
    finally:
        target.close()
    result = subprocess.run(
        [sys.executable, "-m", "warroom.server", "migrate", "--from", f"sqlite:{old.db_path}", "--to", pg_url],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1
    assert "1 event id(s) differ between source and target" in result.stdout
    assert "NOT verified" in result.stdout
