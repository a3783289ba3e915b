"""P9: server replicas on PostgreSQL — ingest through 1 and 3 replicas, and feed lag across them.

    python bench/replicas.py [--events 20000] [--lag-count 300]

A throwaway PostgreSQL 15 cluster (tests/pgcluster.py: its own dir, unix socket only, fsync
on, stopped at the end) with a fresh database per figure; real ``warroom server --db``
processes (auth on) on 127.0.0.1.

* **P9.one**: one replica; one httpx keep-alive client POSTs pre-encoded batches of 100
  ``entry.logged`` events back to back (validate, advisory lock, dedupe query, INSERT … ON
  CONFLICT, commit, NOTIFY). events/s = events / wall time of all the POSTs.
* **P9.three**: three replicas on one database, one client per replica, each into its own
  incident (writers of one incident take turns by design), all at once; events/s = all
  events / wall time from the first POST to the last answer.
* **baseline**: raw ``INSERT``s of the same rows into the same table (the store's schema,
  trigger and indexes included), 100 per transaction, psycopg ``executemany`` on one
  connection; median of 3 runs on fresh databases. Goal: ≥ 0.25× for each ingest figure.
* **P9.lag**: A pushes one event (``POST /v1/events``, answered after the commit); B holds
  ``GET /v1/feed`` long-polls in a thread. Lag = from A starting the push until B's poll
  returns with the event (an upper bound of commit → B). The baseline is the same
  measured with the poller on A itself. Goal: p99 ≤ 50 ms.

On a machine without PostgreSQL binaries every row says so (met = n/a).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

import psycopg  # noqa: E402
from _common import log, row, summary  # noqa: E402
from ingest import BATCH, body, make_events, push_all  # noqa: E402
from pgcluster import PgCluster, pg_available  # noqa: E402
from serverproc import ServerProcess  # noqa: E402

from warroom.domain import commands  # noqa: E402
from warroom.domain.models import Severity  # noqa: E402
from warroom.server.ledger import stored_row, utc_iso  # noqa: E402
from warroom.server.storage.postgres import EVENT_COLUMNS, PostgresStore  # noqa: E402
from warroom.store.workspace import Workspace  # noqa: E402
from warroom.sync.client import SyncClient  # noqa: E402

WARMUP = 20
GAP = 0.003


def ingest_one(cluster: PgCluster, root: Path, declared, events) -> tuple[float, list[float]]:
    server = ServerProcess(root / "one", db=cluster.create_database("p9_one"))
    token = server.add_token("loader")
    try:
        server.start()
        bodies = [body(events[i:i + BATCH]) for i in range(0, len(events), BATCH)]
        return push_all(server.url, token, body(declared), bodies)
    finally:
        server.stop()


def ingest_three(cluster: PgCluster, root: Path, sets) -> tuple[float, list[float]]:
    """Three replicas, one pusher each (own incident); (wall seconds, per-batch seconds)."""
    url = cluster.create_database("p9_three")
    servers = [ServerProcess(root / f"three-{n}", db=url) for n in range(3)]
    token = servers[0].add_token("loader")
    walls: list[tuple[float, float]] = []
    per_batch: list[float] = []
    failures: list[BaseException] = []
    lock = threading.Lock()
    ready = threading.Barrier(3)

    def pusher(server: ServerProcess, declared, events) -> None:
        try:
            bodies = [body(events[i:i + BATCH]) for i in range(0, len(events), BATCH)]
            ready.wait(30)
            started = time.perf_counter()
            _wall, batches = push_all(server.url, token, body(declared), bodies)
            with lock:
                walls.append((started, time.perf_counter()))
                per_batch.extend(batches)
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    try:
        for server in servers:
            server.start()
        threads = [threading.Thread(target=pusher, args=(s, *pair)) for s, pair in zip(servers, sets)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(600)
    finally:
        for server in servers:
            server.stop()
    if failures:
        raise failures[0]
    return max(end for _, end in walls) - min(start for start, _ in walls), per_batch


def raw_inserts(cluster: PgCluster, declared, events, reps: int = 3) -> list[float]:
    """Rows/s of plain INSERTs of the same rows into the same table, 100 per transaction."""
    received = utc_iso(datetime.now(timezone.utc))
    columns = EVENT_COLUMNS.split(", ")
    rows = []
    for event in [*declared, *events]:
        stored = stored_row(event, received, "loader")
        rows.append((1, *(getattr(stored, c) for c in columns)))
    sql = f"INSERT INTO events (epoch, {EVENT_COLUMNS}) VALUES ({', '.join(['%s'] * (len(columns) + 1))})"
    rates = []
    for rep in range(reps):
        url = cluster.create_database(f"p9_raw_{rep}")
        PostgresStore(url).close()  # the store's own schema: trigger, unique id, indexes
        with psycopg.connect(url, autocommit=True) as conn:
            with conn.transaction(), conn.cursor() as cur:
                cur.execute(sql, rows[0])
            started = time.perf_counter()
            for i in range(1, len(rows), BATCH):
                with conn.transaction(), conn.cursor() as cur:
                    cur.executemany(sql, rows[i:i + BATCH])
            rates.append((len(rows) - 1) / (time.perf_counter() - started))
    return rates


def lag(cluster: PgCluster, root: Path, count: int) -> tuple[list[float], list[float], list[float]]:
    """(A push start → B returns, A acked → B returns, A push start → A's own poller)."""
    url = cluster.create_database("p9_lag")
    a_server, b_server = ServerProcess(root / "lag-a", db=url), ServerProcess(root / "lag-b", db=url)
    tokens = {name: a_server.add_token(name) for name in ("alice", "bob")}
    ws = Workspace(root / "lag-clients", "alice")
    ws.load()
    declared = commands.declare(ws.factory, title="P9 lag", severity=Severity.SEV3)
    ws.record(declared)
    incident = ws.get(declared[0].incident_id)
    try:
        a_server.start()
        b_server.start()
        a = SyncClient(a_server.url, tokens["alice"], timeout=5)
        a.push(declared)
        across = probe(a, SyncClient(b_server.url, tokens["bob"], timeout=5), ws, incident, count)
        same = probe(a, SyncClient(a_server.url, tokens["bob"], timeout=5), ws, incident, count)
        a.close()
    finally:
        a_server.stop()
        b_server.stop()
    return across[0], across[1], same[0]


def probe(a: SyncClient, b: SyncClient, ws: Workspace, incident, count: int) -> tuple[list[float], list[float]]:
    cursor = None
    while True:  # B catches up to the end of the feed first
        page = b.feed(cursor, timeout=0)
        cursor = page.cursor
        if not page.more:
            break
    arrivals: dict[str, float] = {}
    arrived = threading.Condition()
    stop = threading.Event()

    def follow() -> None:
        nonlocal cursor
        while not stop.is_set():
            page = b.feed(cursor, timeout=2)
            now = time.perf_counter()
            cursor = page.cursor
            if page.events:
                with arrived:
                    for event in page.events:
                        arrivals[event.id] = now
                    arrived.notify_all()

    follower = threading.Thread(target=follow, daemon=True, name="p9-follower")
    follower.start()
    from_start, from_ack = [], []
    try:
        for n in range(count + WARMUP):
            event = commands.log_entry(ws.factory, incident, f"replica lag probe {n}")
            time.sleep(GAP)
            start = time.perf_counter()
            a.push([event])
            acked = time.perf_counter()
            with arrived:
                if not arrived.wait_for(lambda: event.id in arrivals, timeout=10):
                    raise TimeoutError(f"event {n} never reached the other replica")
            if n >= WARMUP:
                from_start.append(arrivals[event.id] - start)
                from_ack.append(arrivals[event.id] - acked)
    finally:
        stop.set()
        follower.join(5)
        b.close()
    return from_start, from_ack


def measure(events: int = 20_000, lag_count: int = 300) -> list[dict]:
    reason = pg_available()
    if reason:
        log(f"P9 skipped: {reason}")
        return [row("P9", f"replicas on PostgreSQL: {reason}", "", None, met=None, status="skipped")]
    events = max(3 * BATCH, events // (3 * BATCH) * 3 * BATCH)
    root = Path(tempfile.mkdtemp(prefix="warroom-bench-p9-"))
    try:
        with PgCluster() as cluster:
            declared, evs = make_events(root / "w-one", events)
            log("P9 ingest through one replica …")
            wall_one, batches_one = ingest_one(cluster, root, declared, evs)
            sets = [make_events(root / f"w-three-{n}", events // 3) for n in range(3)]
            log("P9 ingest through three replicas …")
            wall_three, batches_three = ingest_three(cluster, root, sets)
            log("P9 raw INSERTs …")
            raw_rates = raw_inserts(cluster, declared, evs)
            log("P9 feed lag …")
            across, across_ack, same = lag(cluster, root, lag_count)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    raw = statistics.median(raw_rates)
    one, three = events / wall_one, events / wall_three
    s_across, s_ack, s_same = summary(across, 1000), summary(across_ack, 1000), summary(same, 1000)
    compared = "raw psycopg INSERTs of the same rows into the same table, 100 per transaction"
    return [
        row(
            "P9.one", f"ingest via 1 replica, batches of {BATCH} ({events:,} events)", "events/s", round(one),
            baseline=round(raw), target=">= 0.25x", met=one / raw >= 0.25,
            batch_ms=summary(batches_one, 1000, 2), compared_with=compared,
        ),
        row(
            "P9.three", f"ingest via 3 replicas at once, 3 incidents ({events:,} events)", "events/s",
            round(three), baseline=round(raw), target=">= 0.25x", met=three / raw >= 0.25,
            batch_ms=summary(batches_three, 1000, 2), compared_with=compared,
        ),
        row(
            "P9.lag", f"push on replica A -> long-poll returns on B (p50 over {lag_count})", "ms",
            s_across["median"], baseline=s_same["median"], target="p99 <= 50 ms", met=s_across["p99"] <= 50,
            stats=s_across, baseline_stats=s_same, from_ack=s_ack,
            compared_with="the same with the poller on replica A itself",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--lag-count", type=int, default=300)
    args = parser.parse_args()
    print(json.dumps(measure(args.events, args.lag_count), indent=2))


if __name__ == "__main__":
    main()
