"""P5: server ingest in events/s, batches of 100, alone and with 50 clients long-polling.

    python bench/ingest.py [--events 20000] [--pollers 50]

* **ours**: a real ``warroom server`` process (auth on) on a fresh data dir; one httpx
  keep-alive client POSTs pre-encoded batches of 100 ``entry.logged`` events back to back
  (validate, dedupe, authorize, SQLite commit with synchronous=FULL, fold, wake the feed).
  events/s = events / wall time of all the POSTs. Per-batch latency is reported too.
* **with pollers**: the same on another fresh server while a helper process
  (bench/_pollers.py) holds 50 ``GET /v1/feed`` long-polls that follow every event.
* **baseline**: raw ``sqlite3`` inserts of the same rows into the same schema (WAL,
  synchronous=FULL), one transaction per 100 rows, on the same disk; median of 3.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
from _common import BENCH, log, row, summary  # noqa: E402

# The tests' launcher: one way to run a real server on a free port, for tests and benchmarks.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from serverproc import ServerProcess  # noqa: E402

from warroom.domain import commands  # noqa: E402
from warroom.domain.models import Severity  # noqa: E402
from warroom.domain.signing import Signer  # noqa: E402
from warroom.store.workspace import Workspace  # noqa: E402

BATCH = 100
# The loader signs its events like any person's warroom, and registers the key, so the
# figure includes checking every signature (a throwaway key: never the developer's own).
LOADER = Signer.generate()[0]


def make_events(root: Path, count: int):
    ws = Workspace(root / "loader", "loader", signer=LOADER)
    ws.load()
    declared = commands.declare(ws.factory, title="P5 ingest", severity=Severity.SEV3)
    ws.record(declared)
    incident = ws.get(declared[0].incident_id)
    events = [commands.log_entry(ws.factory, incident, f"ingest {n}: checked shard {n % 97} latency and queue depth")
              for n in range(count)]
    return declared, events


def body(events) -> bytes:
    return b'{"events":[' + b",".join(e.model_dump_json().encode() for e in events) + b"]}"


def push_all(url: str, token: str, declared_body: bytes, bodies: list[bytes]) -> tuple[float, list[float]]:
    """(wall seconds for all batches, per-batch seconds)."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
        assert http.post("/v1/keys", json={"public_key": LOADER.public_key_text}).status_code == 200
        assert http.post("/v1/events", content=declared_body).status_code == 200
        per_batch = []
        started = time.perf_counter()
        for blob in bodies:
            t0 = time.perf_counter()
            response = http.post("/v1/events", content=blob)
            per_batch.append(time.perf_counter() - t0)
            if response.status_code != 200 or response.json()["accepted"] != BATCH:
                raise RuntimeError(f"push failed: {response.status_code} {response.text[:300]}")
        return time.perf_counter() - started, per_batch


def raw_sqlite(root: Path, declared, events, reps: int = 3) -> list[float]:
    """Rows/s of plain sqlite3 inserts of the same rows (WAL, synchronous=FULL)."""
    from datetime import datetime, timezone

    from warroom.server.ledger import stored_row, utc_iso
    from warroom.server.storage.sqlite import SCHEMA, row_values

    received = utc_iso(datetime.now(timezone.utc))
    rows = [row_values(stored_row(event, received, "loader")) for event in [*declared, *events]]
    rates = []
    for rep in range(reps):
        path = root / f"raw-{rep}.sqlite3"
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.executescript(SCHEMA)
        conn.execute("CREATE UNIQUE INDEX IF NOT EXISTS events_event_id_unique ON events(event_id)")
        sql = ("INSERT INTO events(event_id, incident_id, kind, actor, hlc, at, logged_at, received_at, "
               "pushed_by, event_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(sql, rows[0])
        conn.execute("COMMIT")
        started = time.perf_counter()
        for i in range(1, len(rows), BATCH):
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(sql, rows[i:i + BATCH])
            conn.execute("COMMIT")
        rates.append((len(rows) - 1) / (time.perf_counter() - started))
        conn.close()
    return rates


def with_pollers(root: Path, declared_body: bytes, bodies: list[bytes], n_total: int, pollers: int) -> dict:
    server = ServerProcess(root / "server-polled")
    token = server.add_token("loader")
    proc = None
    try:
        server.start()
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=60) as http:
            assert http.post("/v1/events", content=declared_body).status_code == 200
        proc = subprocess.Popen(
            [sys.executable, str(BENCH / "_pollers.py"), server.url, token, str(pollers), str(n_total)],
            stdout=subprocess.PIPE, text=True,
        )
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "ready":
            raise RuntimeError("the pollers did not start")
        started = time.perf_counter()
        # the declare is already stored: push_all posts it again (a duplicate, answered 200)
        wall, per_batch = push_all(server.url, token, declared_body, bodies)
        result = json.loads(proc.stdout.readline())
        proc.wait(30)
        fanout = result["done"] - started
        delivered = sum(result["counts"])
        return {"wall": wall, "per_batch": per_batch, "fanout": fanout, "delivered": delivered}
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(5)
        server.stop()


def measure(events: int = 20_000, pollers: int = 50) -> list[dict]:
    events = max(BATCH, events // BATCH * BATCH)
    root = Path(tempfile.mkdtemp(prefix="warroom-bench-p5-"))
    try:
        declared, evs = make_events(root, events)
        declared_body = body(declared)
        bodies = [body(evs[i:i + BATCH]) for i in range(0, len(evs), BATCH)]
        server = ServerProcess(root / "server-alone")
        token = server.add_token("loader")
        try:
            server.start()
            wall, per_batch = push_all(server.url, token, declared_body, bodies)
        finally:
            server.stop()
        polled = with_pollers(root, declared_body, bodies, events + len(declared), pollers)
        raw_rates = raw_sqlite(root, declared, evs)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    raw = statistics.median(raw_rates)
    rate = events / wall
    rate_polled = events / polled["wall"]
    expected = pollers * (events + len(declared))
    if polled["delivered"] != expected:
        log(f"P5: the pollers received {polled['delivered']} events, expected {expected}")
    return [
        row(
            "P5", f"server ingest, batches of {BATCH} ({events:,} events)", "events/s", round(rate),
            baseline=round(raw), target=">= 0.25x", met=rate / raw >= 0.25,
            batch_ms=summary(per_batch, 1000, 2),
            compared_with="raw sqlite3 inserts of the same rows, WAL + synchronous=FULL, 100 per txn",
        ),
        row(
            "P5.polled", f"server ingest while {pollers} clients long-poll", "events/s", round(rate_polled),
            baseline=round(raw), target=">= 0.25x", met=rate_polled / raw >= 0.25,
            batch_ms=summary(polled["per_batch"], 1000, 2),
            fanout_s=round(polled["fanout"], 3), delivered=polled["delivered"], expected_deliveries=expected,
            compared_with="the same raw sqlite3 inserts",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--pollers", type=int, default=50)
    args = parser.parse_args()
    print(json.dumps(measure(args.events, args.pollers), indent=2))


if __name__ == "__main__":
    main()
