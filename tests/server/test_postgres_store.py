"""The PostgreSQL store, against a real PostgreSQL 15 cluster started for this module.

* Rules across replicas, deterministically: two ledgers on two stores of one database, the
  second one's memory out of date on purpose — it must still refuse a second declaration, a
  resolve after a handover it has not heard of, and a re-used event id.
* The feed's gap: a write transaction held open while a later one commits. The watermark
  feed serves both, in order, once; the naive ``seq > cursor`` feed skips the first for good.
* A cursor from another history answers 410; a dump restored into another cluster (its
  transaction counter starts low again) moves to a new epoch and the feed stays in order.
* Append-only, token commands on ``--db``, and races across two real replica processes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest

from warroom.domain.clock import SystemClock
from warroom.domain.commands import EventFactory, assign_role, declare, log_entry, update
from warroom.domain.events import Event
from warroom.domain.fold import fold_incident
from warroom.domain.hlc import HybridClock
from warroom.domain.ids import uuid7
from warroom.domain.models import Severity, Status
from warroom.server.auth import ANONYMOUS, Principal
from warroom.server.feed import encode_cursor
from warroom.server.ledger import Ledger, stored_row, utc_iso
from warroom.server.storage import NAIVE_FEED_ENV, StoreError
from warroom.server.storage.postgres import PostgresStore
from warroom.wire import Outcome, RejectionCode

try:
    from pgcluster import PgCluster, pg_available
    from serverproc import wait_until
except ImportError:  # tests/ collected as a package
    from tests.pgcluster import PgCluster, pg_available
    from tests.serverproc import wait_until

ALICE = Principal(name="alice", admin=False, authenticated=True)
BOB = Principal(name="bob", admin=False, authenticated=True)


def factory(actor: str) -> EventFactory:
    clock = SystemClock()
    return EventFactory(actor, clock, HybridClock(clock, uuid7(clock.now())[-8:]))


def as_json(events: list[Event]) -> list[dict]:
    return [json.loads(e.model_dump_json()) for e in events]


@pytest.fixture
def stores(pg_url):
    """Open PostgresStores on the test's database; all closed at the end."""
    opened: list[PostgresStore] = []

    def open_one(**kwargs) -> PostgresStore:
        store = PostgresStore(pg_url, **kwargs)
        opened.append(store)
        return store

    yield open_one
    for store in opened:
        store.close()


def two_ledgers(stores) -> tuple[Ledger, Ledger]:
    """Two replicas' ledgers; nothing tells them about each other's writes (no watch)."""
    return Ledger(stores(), SystemClock()), Ledger(stores(), SystemClock())


def statuses(results) -> list[tuple[Outcome, RejectionCode | None]]:
    return [(r.status, r.code) for r in results]


# --- the rules across replicas, deterministically -------------------------------------------------


def test_a_second_declaration_on_another_replica_is_refused(stores):
    a, b = two_ledgers(stores)
    first = declare(factory("alice"), title="Queue backlog", severity=Severity.SEV2)
    assert statuses(a.submit(ALICE, as_json(first))) == [(Outcome.ACCEPTED, None)] * len(first)
    # Same incident, another declaration (other event ids) through replica B, which has not
    # heard of the first: it reads the incident's rows under the lock and refuses.
    again = [e.model_copy(update={"id": uuid7(e.at)}) for e in first[:1]]
    (result,) = b.submit(ALICE, as_json(again))
    assert (result.status, result.code) == (Outcome.REJECTED, RejectionCode.CONFLICT)
    assert "already been declared" in result.reason


def test_a_resolve_after_a_handover_the_replica_has_not_heard_of_is_refused(stores):
    a, b = two_ledgers(stores)
    alice = factory("alice")
    events = declare(alice, title="Payments 502s", severity=Severity.SEV1, commander="alice")
    a.submit(ALICE, as_json(events))
    b.catch_up()  # B knows the incident, with alice as IC
    state = fold_incident(events[0].incident_id, events)
    handover = assign_role(alice, state, "ic", "bob")
    assert statuses(a.submit(ALICE, as_json([handover]))) == [(Outcome.ACCEPTED, None)]

    resolve = update(alice, state, status=Status.RESOLVED)  # alice still thinks she is IC
    (refused,) = b.submit(ALICE, as_json([resolve]))
    assert (refused.status, refused.code) == (Outcome.REJECTED, RejectionCode.FORBIDDEN)
    assert "only the incident commander (bob)" in refused.reason
    bob_resolves = update(factory("bob"), state, status=Status.RESOLVED)
    assert statuses(b.submit(BOB, as_json([bob_resolves]))) == [(Outcome.ACCEPTED, None)]


def test_an_event_id_stored_through_one_replica_is_a_duplicate_or_conflict_on_another(stores):
    a, b = two_ledgers(stores)
    alice = factory("alice")
    events = declare(alice, title="DNS flaps", severity=Severity.SEV3)
    a.submit(ALICE, as_json(events))
    note = log_entry(alice, fold_incident(events[0].incident_id, events), "resolver pool drained")
    (stored,) = a.submit(ALICE, as_json([note]))
    (again,) = b.submit(ALICE, as_json([note]))
    assert (again.status, again.position) == (Outcome.DUPLICATE, stored.position)
    edited = as_json([note])[0] | {"payload": {**note.payload, "text": "something else"}}
    (conflict,) = b.submit(ALICE, [edited])
    assert (conflict.status, conflict.code) == (Outcome.REJECTED, RejectionCode.CONFLICT)
    assert a.store.count() == (len(events) + 1, len(events) + 1)


def test_an_id_stored_meanwhile_under_another_incident_makes_the_batch_judged_again(stores):
    """The per-incident locks cannot order two batches of different incidents that re-use one
    event id. The second waits on the first at the unique index, finds its row missing from
    RETURNING, and is judged again: then the stored bytes say conflict."""
    a_store = stores()
    b = Ledger(stores(), SystemClock())
    alice = factory("alice")
    x = declare(alice, title="Incident X", severity=Severity.SEV3)
    y = declare(alice, title="Incident Y", severity=Severity.SEV3)
    b.submit(ALICE, as_json(x + y))
    on_y = log_entry(alice, fold_incident(y[0].incident_id, y), "written to Y")
    on_x = log_entry(alice, fold_incident(x[0].incident_id, x), "written to X").model_copy(update={"id": on_y.id})

    inserted, release = threading.Event(), threading.Event()

    def slow_writer() -> None:  # another replica, mid-transaction
        with a_store.writing([on_x.incident_id]) as batch:
            batch.insert([stored_row(on_x, utc_iso(on_x.at), "alice")])
            inserted.set()
            release.wait(20)

    writer = threading.Thread(target=slow_writer)
    writer.start()
    try:
        assert inserted.wait(20)
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(b.submit, ALICE, as_json([on_y]))
            # B blocks on the unique index until A commits.
            with pytest.raises(TimeoutError):
                pending.result(timeout=0.5)
            release.set()
            (result,) = pending.result(timeout=20)
    finally:
        release.set()
        writer.join(20)
    assert (result.status, result.code) == (Outcome.REJECTED, RejectionCode.CONFLICT)
    assert a_store.stored_event(on_y.id)[1] == on_x.model_dump_json()


# --- the feed's gap -----------------------------------------------------------------------------


@pytest.mark.parametrize("naive", [False, True], ids=["watermark", "naive-seq"])
def test_a_transaction_that_commits_late_is_served_in_order_once(server_factory, stores, pg_url, naive):
    env = {NAIVE_FEED_ENV: "1"} if naive else {}
    server = server_factory("reader", db=pg_url, extra_args=["--insecure-no-auth"], env=env)
    server.start()
    other_replica = stores()
    alice = factory("alice")
    x = declare(alice, title="Incident X", severity=Severity.SEV3)
    y = declare(alice, title="Incident Y", severity=Severity.SEV3)
    http = httpx.Client(base_url=server.url, timeout=30)
    assert http.post("/v1/events", json={"events": as_json(x + y)}).json()["accepted"] == 4
    start = http.get("/v1/feed", params={"timeout": 0}).json()
    assert len(start["events"]) == 4

    late = log_entry(alice, fold_incident(y[0].incident_id, y), "taken first, committed last")
    early = log_entry(alice, fold_incident(x[0].incident_id, x), "taken second, committed first")
    inserted, release = threading.Event(), threading.Event()

    def slow_writer() -> None:
        with other_replica.writing([late.incident_id]) as batch:
            batch.insert([stored_row(late, utc_iso(late.at), "alice")])
            inserted.set()
            release.wait(30)

    writer = threading.Thread(target=slow_writer)
    writer.start()
    try:
        assert inserted.wait(20)
        assert http.post("/v1/events", json={"events": as_json([early])}).json()["accepted"] == 1
        held = http.get("/v1/feed", params={"cursor": start["cursor"], "timeout": 1}).json()
        if naive:
            assert [i["event"]["id"] for i in held["events"]] == [early.id]  # jumps the gap
            cursor = held["cursor"]
        else:
            assert held["events"] == [] and held["cursor"] == start["cursor"]  # waits behind it
            cursor = start["cursor"]
        with ThreadPoolExecutor(1) as pool:
            # The watermark feed answers as soon as the late commit is visible; the naive one
            # has nothing more to give this cursor, ever (its held poll just times out).
            poll = pool.submit(http.get, "/v1/feed", params={"cursor": cursor, "timeout": 2 if naive else 20})
            release.set()
            writer.join(20)
            answer = poll.result(30).json()
    finally:
        release.set()
        writer.join(20)
    got = [i["event"]["id"] for i in answer["events"]]
    rest = http.get("/v1/feed", params={"cursor": answer["cursor"], "timeout": 0}).json()
    everything = [i["event"]["id"] for i in http.get("/v1/feed", params={"timeout": 0}).json()["events"]]
    http.close()
    if naive:
        # The late commit has the lower seq: behind the reader's cursor, never served to it.
        assert late.id not in got and rest["events"] == []
        assert late.id in everything  # stored all the same: only this reader lost it
        return
    assert got == [late.id, early.id]  # both, in commit-safe order
    assert rest["events"] == []  # once
    assert everything[4:] == [late.id, early.id] and len(everything) == len(set(everything))


def test_cursors_from_another_history_answer_410_and_garbage_400(server_factory, stores, pg_url):
    server = server_factory("cursors", db=pg_url, extra_args=["--insecure-no-auth"])
    server.start()
    store = stores()
    alice = factory("alice")
    http = httpx.Client(base_url=server.url, timeout=10)
    http.post("/v1/events", json={"events": as_json(declare(alice, title="T", severity=Severity.SEV4))})
    page = http.get("/v1/feed", params={"timeout": 0}).json()
    assert http.get("/v1/feed", params={"cursor": page["cursor"], "timeout": 0}).status_code == 200
    epoch, txid, seq = store.head
    for mark in (f"{epoch}.{txid}.{seq + 1000}", f"{epoch}.{txid + 5}.{seq}", f"{epoch + 1}.{txid}.{seq}"):
        response = http.get("/v1/feed", params={"cursor": encode_cursor(store.db_id, mark), "timeout": 0})
        assert response.status_code == 410, mark
    assert http.get("/v1/feed", params={"cursor": encode_cursor("0123456789abcdef", "1.2.3")}).status_code == 410
    for garbage in ("12", "1.2", "a.b.c", "1.2.-3"):
        response = http.get("/v1/feed", params={"cursor": encode_cursor(store.db_id, garbage)})
        assert response.status_code == 400, garbage
    http.close()


def test_a_dump_restored_into_another_cluster_starts_a_new_epoch_and_keeps_the_feed_in_order(
    server_factory, pg_cluster, pg_url
):
    # Push this cluster's transaction counter well past where a new cluster starts.
    pg_cluster.psql(
        "CREATE TEMP TABLE burn(i int); DO $$ BEGIN FOR i IN 1..3000 LOOP BEGIN "
        "INSERT INTO burn VALUES (i); EXCEPTION WHEN others THEN NULL; END; END LOOP; END $$;"
    )
    first = server_factory("before", db=pg_url, extra_args=["--insecure-no-auth"]).start()
    alice = factory("alice")
    events = declare(alice, title="Restored", severity=Severity.SEV2)
    state = fold_incident(events[0].incident_id, events)
    with httpx.Client(base_url=first.url, timeout=10) as http:
        http.post("/v1/events", json={"events": as_json(events)})
        at_dump = http.get("/v1/feed", params={"timeout": 0}).json()["cursor"]
        dump = pg_cluster.dump(urlsplit(pg_url).path.lstrip("/"))
        lost = log_entry(alice, state, "after the backup: lost in the restore")
        http.post("/v1/events", json={"events": as_json([lost])})
        past_dump = http.get("/v1/feed", params={"cursor": at_dump, "timeout": 0}).json()["cursor"]
    first.stop()

    reason = pg_available()
    assert reason is None, reason
    with PgCluster() as other:
        restored = other.restore(dump, "restored")
        second = server_factory("after", db=restored, extra_args=["--insecure-no-auth"]).start()
        try:
            assert other.psql("SELECT value FROM meta WHERE key = 'epoch'", "restored") == "2"
            with httpx.Client(base_url=second.url, timeout=10) as http:
                assert http.get("/v1/feed", params={"cursor": past_dump, "timeout": 0}).status_code == 410
                newer = log_entry(alice, state, "after the restore")
                assert http.post("/v1/events", json={"events": as_json([newer])}).json()["accepted"] == 1
                # New rows carry low transaction ids but sort after the restored ones.
                page = http.get("/v1/feed", params={"cursor": at_dump, "timeout": 5}).json()
                assert [i["event"]["id"] for i in page["events"]] == [newer.id]
                everything = [i["event"]["id"] for i in http.get("/v1/feed", params={"timeout": 0}).json()["events"]]
                assert everything == [e.id for e in events] + [newer.id]
        finally:
            second.stop()


# --- the table ----------------------------------------------------------------------------------


def test_the_audit_tables_refuse_update_delete_and_truncate(stores, pg_url):
    ledger = Ledger(stores(), SystemClock())
    ledger.submit(ANONYMOUS, as_json(declare(factory("alice"), title="Audit", severity=Severity.SEV3)))
    delivery = ledger.store.record_delivery("2026-11-18T15:00:00Z", "alertmanager", b'{"version": "4"}')
    assert ledger.store.deliveries() == [(delivery, "2026-11-18T15:00:00Z", "alertmanager", b'{"version": "4"}')]
    with psycopg.connect(pg_url, autocommit=True) as conn:
        for sql in (
            "UPDATE events SET actor = 'mallory'", "DELETE FROM events", "TRUNCATE events",
            "UPDATE alert_deliveries SET body = ''", "DELETE FROM alert_deliveries", "TRUNCATE alert_deliveries",
        ):  # fmt: skip
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                conn.execute(sql)
        assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 2
        # Two stored texts of one event are identical bytes in every replica's feed.
        stored_json = conn.execute("SELECT event_json FROM events ORDER BY seq LIMIT 1").fetchone()[0]
    assert stores().read_feed((0, 0, 0), 1)[0].event_json == stored_json


def test_no_dedupe_mode_is_refused_on_postgres(pg_url):
    with pytest.raises(StoreError, match="only for the SQLite store"):
        PostgresStore(pg_url, dedupe=False)


# --- the command line ---------------------------------------------------------------------------


def warroom_server(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "warroom.server", *args], capture_output=True, text=True, timeout=60,
        env=env,
    )  # fmt: skip


def test_token_commands_work_on_the_database_the_replicas_share(server_factory, pg_url, monkeypatch):
    added = warroom_server("token", "add", "alice", "--db", pg_url)
    assert added.returncode == 0, added.stderr
    token = added.stdout.split("once:")[1].split()[0]
    monkeypatch.setenv("WARROOM_DB", pg_url)
    import os

    listed = warroom_server("token", "list", env=dict(os.environ))
    assert listed.returncode == 0 and "alice" in listed.stdout
    replicas = [server_factory(name, db=pg_url).start() for name in ("one", "two")]
    for replica in replicas:
        assert "serving postgresql://" in replica.log()
        who = httpx.get(f"{replica.url}/v1/whoami", headers={"Authorization": f"Bearer {token}"})
        assert who.json()["user"] == "alice"
    assert warroom_server("token", "revoke", "alice", "--db", pg_url).returncode == 0
    for replica in replicas:  # at once, on every replica
        who = httpx.get(f"{replica.url}/v1/whoami", headers={"Authorization": f"Bearer {token}"})
        assert who.status_code == 401
    bad = warroom_server("token", "list", "--db", "mysql://nope")
    assert bad.returncode == 1 and "postgresql://" in bad.stderr
    unreachable = warroom_server("token", "list", "--db", "postgresql://nobody@/x?host=/nonexistent&port=1")
    assert unreachable.returncode == 1 and "cannot connect to" in unreachable.stderr


# --- races across two real replicas -------------------------------------------------------------


def _race(urls: list[str], bodies: list[list[dict]]) -> list[dict]:
    """Push ``bodies[i]`` to ``urls[i]`` at the same moment; the answers, in that order."""
    barrier = threading.Barrier(len(urls))
    clients = [httpx.Client(base_url=url, timeout=30) for url in urls]

    def push(i: int) -> dict:
        barrier.wait(10)
        return clients[i].post("/v1/events", json={"events": bodies[i]}).json()

    try:
        with ThreadPoolExecutor(len(urls)) as pool:
            return list(pool.map(push, range(len(urls))))
    finally:
        for client in clients:
            client.close()


def test_races_across_two_replicas_keep_every_rule(server_factory, pg_url):
    a, b = (server_factory(n, db=pg_url, extra_args=["--insecure-no-auth"]).start() for n in ("a", "b"))
    alice = factory("alice")
    rounds = 12
    for n in range(rounds):
        # One declaration: the same incident declared on both replicas at once.
        first = declare(alice, title=f"Race {n}", severity=Severity.SEV2, commander="alice")
        second = [first[0].model_copy(update={"id": uuid7(first[0].at)})]
        answers = _race([a.url, b.url], [as_json(first), as_json(second)])
        declared = [r for answer in answers for r in answer["results"] if r["id"] in (first[0].id, second[0].id)]
        assert sorted(r["status"] for r in declared) == ["accepted", "rejected"], answers
        state = fold_incident(first[0].incident_id, first)
        # Same id, different content; and same id, same content.
        note = log_entry(alice, state, f"note {n}")
        edited = as_json([note])[0] | {"payload": {**note.payload, "text": f"edited {n}"}}
        answers = _race([a.url, b.url], [as_json([note]), [edited]])
        assert sorted(x["results"][0]["status"] for x in answers) == ["accepted", "rejected"]
        assert {x["results"][0].get("code") for x in answers} == {None, "conflict"}
        copy = log_entry(alice, state, f"copy {n}")
        answers = _race([a.url, b.url], [as_json([copy]), as_json([copy])])
        assert sorted(x["results"][0]["status"] for x in answers) == ["accepted", "duplicate"]
        # IC rule: alice hands IC to bob on A while resolving on B.
        handover = assign_role(alice, state, "ic", "bob")
        resolve = update(alice, state, status=Status.RESOLVED)
        answers = _race([a.url, b.url], [as_json([handover]), as_json([resolve])])
        assert answers[0]["results"][0]["status"] == "accepted"
        # Refused, it is a 403 whose detail holds the results.
        resolved = answers[1].get("results") or answers[1]["detail"]["results"]
        assert resolved[0]["status"] == "accepted" or resolved[0]["code"] == "forbidden"

    with httpx.Client(timeout=10) as http:
        feeds = [http.get(f"{s.url}/v1/feed", params={"timeout": 0, "limit": 1000}).content for s in (a, b)]
    assert feeds[0] == feeds[1]  # byte-identical on both replicas
    stored = [Event.model_validate(i["event"]) for i in json.loads(feeds[0])["events"]]
    assert len(stored) == len({e.id for e in stored})
    # Replay in feed order: every accepted resolve came while alice was still the IC.
    by_incident: dict[str, list[Event]] = {}
    for event in stored:
        before = by_incident.setdefault(event.incident_id, [])
        if event.kind == "incident.declared":
            assert not any(e.kind == "incident.declared" for e in before), "declared twice"
        if event.kind == "incident.updated" and event.payload.get("status") == "resolved":
            assert fold_incident(event.incident_id, before).commander == "alice", "resolved after handover"
        before.append(event)
    assert len(by_incident) == rounds
    wait_until(lambda: len(httpx.get(f"{b.url}/v1/incidents").json()["incidents"]) == rounds, 10, "B's list")


def test_while_the_database_is_down_requests_answer_503_and_the_replica_recovers_alone(
    server_factory, pg_cluster, pg_url
):
    server = server_factory("survivor", db=pg_url)
    token = server.add_token("alice")
    server.start()
    alice = factory("alice")
    events = declare(alice, title="DB maintenance window", severity=Severity.SEV3)
    http = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    try:
        assert http.post("/v1/events", json={"events": as_json(events)}).status_code == 200
        cursor = http.get("/v1/feed", params={"timeout": 0}).json()["cursor"]
        note = log_entry(alice, fold_incident(events[0].incident_id, events), "written during the outage")
        pg_cluster.stop("immediate")
        try:
            with ThreadPoolExecutor(3) as pool:  # a write, a feed read, a token check
                answers = list(pool.map(lambda call: call(), [
                    lambda: http.post("/v1/events", json={"events": as_json([note])}),
                    lambda: http.get("/v1/feed", params={"cursor": cursor, "timeout": 0}),
                    lambda: http.get("/v1/whoami"),
                ]))  # fmt: skip
            for answer in answers:
                assert answer.status_code == 503, answer.text
                assert "try again" in answer.json()["error"]
        finally:
            pg_cluster.start()
        # The same process, no restart: its pool and its LISTEN connection come back.
        wait_until(lambda: http.post("/v1/events", json={"events": as_json([note])}).status_code == 200, 30, "a push")
        page = http.get("/v1/feed", params={"cursor": cursor, "timeout": 5}).json()
        assert [i["event"]["id"] for i in page["events"]] == [note.id]
    finally:
        http.close()
