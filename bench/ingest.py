"""P5: server ingest in events/s, batches of 100, alone and while 100 / 1,000 clients hold
long-polls.

    python bench/ingest.py [--events 20000] [--pollers 100,1000] [--rounds 5]

* **ours**: a real ``warroom server`` process (auth on) on a fresh data dir; one httpx
  keep-alive client POSTs pre-encoded batches of 100 ``entry.logged`` events back to back
  (validate, dedupe, authorize, SQLite commit with synchronous=FULL, fold, wake the feed).
  events/s = events / wall time of all the POSTs. Per-batch latency is reported too.
* **with pollers**: the same on other fresh servers while a helper process per server
  (bench/_pollers.py, raw sockets, lowered priority: it stands in for clients on other
  machines) holds 100 or 1,000 ``GET /v1/feed`` long-polls, one token each, that follow
  every event. The ratio is events/s with the polls over events/s alone. The servers are
  measured in interleaved rounds (alone, 100, 1,000, alone, ...), each round waiting until
  every poller has every event (the fan-out time is reported), and the median round of each
  counts: the machine's load drifts, and every figure sees the same drift.
* **RSS** of the server holding 1,000 polls (``/proc/PID/status``), next to the one with none.
* **baseline**: raw ``sqlite3`` inserts of the same rows into the same schema (WAL,
  synchronous=FULL), one transaction per 100 rows, on the same disk; median of 3.
* **verified baseline** (row ``P5.verified``): the same inserts with every row's Ed25519
  signature checked first (libsodium, one thread). The server must refuse forged events, so
  this is the floor of what it has to do; the plain baseline skips that work. Both are
  printed: P5's figure, baseline and target are kept as they were.
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
from _common import BENCH, log, row, summary, vm_rss_mb  # noqa: E402

# The tests' launcher: one way to run a real server on a free port, for tests and benchmarks.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from serverproc import ServerProcess  # noqa: E402

from warroom.domain import commands  # noqa: E402
from warroom.server.auth import create_token  # noqa: E402
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


def raw_sqlite(root: Path, declared, events, reps: int = 3, *, verify: bool = False) -> list[float]:
    """Rows/s of plain sqlite3 inserts of the same rows (WAL, synchronous=FULL). With
    ``verify``, each batch's signatures are checked first, one libsodium call per row on
    one thread (the canonical bytes made beforehand, untimed): the least work a server that
    refuses forged events must do per row."""
    from datetime import datetime, timezone

    import nacl.bindings

    from warroom.domain.signing import b64decode, signing_bytes
    from warroom.server.ledger import stored_row, utc_iso
    from warroom.server.storage.sqlite import SCHEMA, row_values

    received = utc_iso(datetime.now(timezone.utc))
    everything = [*declared, *events]
    rows = [row_values(stored_row(event, received, "loader")) for event in everything]
    signed = [b64decode(e.sig.split(":", 1)[1]) + signing_bytes(e) for e in everything]
    check, public_key = nacl.bindings.crypto_sign_open, LOADER.public_key
    rates = []
    for rep in range(reps):
        path = root / f"raw-{'verified-' if verify else ''}{rep}.sqlite3"
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
            if verify:
                for message in signed[i:i + BATCH]:
                    check(message, public_key)
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(sql, rows[i:i + BATCH])
            conn.execute("COMMIT")
        rates.append((len(rows) - 1) / (time.perf_counter() - started))
        conn.close()
    return rates


def make_tokens(server: ServerProcess, count: int) -> Path:
    """One token per watcher ("1,000 people watching"), written one per line to a file."""
    store = server.open_store()
    try:
        lines = [create_token(store, f"watcher-{n:04d}") for n in range(count)]
    finally:
        store.close()
    path = server.data_dir.parent / f"{server.data_dir.name}-tokens.txt"
    path.write_text("".join(line + "\n" for line in lines))
    return path


class Target:
    """One server under measurement, with ``pollers`` clients holding long-polls on it."""

    def __init__(self, root: Path, pollers: int, declared_body: bytes, checkpoints: list[int]) -> None:
        self.pollers = pollers
        self.server = ServerProcess(root / f"server-{pollers}")
        self.token = self.server.add_token("loader")
        tokens_file = make_tokens(self.server, min(pollers, 1000)) if pollers else None
        self.proc: subprocess.Popen | None = None
        self.walls: list[float] = []
        self.per_batch: list[float] = []
        self.fanouts: list[float] = []
        self.rss_held: float | None = None
        self.server.start()
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        with httpx.Client(base_url=self.server.url, headers=headers, timeout=60) as http:
            assert http.post("/v1/events", content=declared_body).status_code == 200
        if pollers:
            self.proc = subprocess.Popen(
                [sys.executable, str(BENCH / "_pollers.py"), self.server.url, str(tokens_file), str(pollers),
                 ",".join(str(c) for c in checkpoints)],
                stdout=subprocess.PIPE, text=True,
            )
            assert self.proc.stdout is not None
            if self.proc.stdout.readline().strip() != "ready":
                raise RuntimeError("the pollers did not start")
        # Before any ingest: with the polls held (or none), the same incident declared.
        self.rss_held = vm_rss_mb(self.server.proc.pid)[0]

    def round(self, declared_body: bytes, bodies: list[bytes]) -> None:
        started = time.perf_counter()
        wall, per_batch = push_all(self.server.url, self.token, declared_body, bodies)
        self.walls.append(wall)
        self.per_batch.extend(per_batch)
        if self.proc is not None:
            # Wait until every poller has everything, so the next figure is not measured
            # while this fan-out is still finishing.
            line = self.proc.stdout.readline().split()
            if not line or line[0] != "reached":
                raise RuntimeError(f"the pollers stopped: {line}")
            self.fanouts.append(float(line[2]) - started)

    def close(self) -> dict:
        result = {}
        try:
            if self.proc is not None:
                result = json.loads(self.proc.stdout.readline())
                self.proc.wait(30)
        finally:
            if self.proc is not None and self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(5)
            rss = vm_rss_mb(self.server.proc.pid)[0] if self.server.proc and self.server.proc.poll() is None else None
            self.server.stop()
        return {"delivered": sum(result.get("counts", [])), "refusals": sum(result.get("refusals", [])), "rss": rss}


def measure(events: int = 30_000, pollers: tuple[int, ...] = (100, 1000), rounds: int = 3) -> list[dict]:
    """Ingest alone and with each number of held polls, in ``rounds`` interleaved rounds of
    ``events / rounds`` events each (the machine's load drifts: every figure sees the same
    drift), then the median round of each."""
    per_round = max(BATCH, events // rounds // BATCH * BATCH)
    root = Path(tempfile.mkdtemp(prefix="warroom-bench-p5-"))
    targets: list[Target] = []
    closed: dict[int, dict] = {}
    try:
        declared, evs = make_events(root, per_round * rounds)
        declared_body = body(declared)
        bodies = [body(evs[i:i + BATCH]) for i in range(0, len(evs), BATCH)]
        per_round_batches = per_round // BATCH
        checkpoints = [len(declared) + per_round * (n + 1) for n in range(rounds)]
        for count in (0, *pollers):
            targets.append(Target(root, count, declared_body, checkpoints))
        for n in range(rounds):
            chunk = bodies[n * per_round_batches:(n + 1) * per_round_batches]
            for target in targets:
                target.round(declared_body, chunk)
        for target in targets:
            closed[target.pollers] = target.close()
        raw_rates = raw_sqlite(root, declared, evs[:20_000])
        verified_rates = raw_sqlite(root, declared, evs[:20_000], verify=True)
    finally:
        for target in targets:
            if target.pollers not in closed:
                target.close()
        shutil.rmtree(root, ignore_errors=True)
    raw = statistics.median(raw_rates)
    verified = statistics.median(verified_rates)
    by_count = {target.pollers: target for target in targets}
    rate = {count: per_round / statistics.median(t.walls) for count, t in by_count.items()}
    alone = by_count[0]
    rows = [
        row(
            "P5", f"server ingest, batches of {BATCH} ({per_round * rounds:,} events)", "events/s",
            round(rate[0]), baseline=round(raw), target=">= 0.25x", met=rate[0] / raw >= 0.25,
            batch_ms=summary(alone.per_batch, 1000, 2), rounds_per_s=[round(per_round / w) for w in alone.walls],
            compared_with="raw sqlite3 inserts of the same rows, WAL + synchronous=FULL, 100 per txn",
        ),
        # The same figure against a floor that does the work the guarantee requires (every
        # event's signature checked before it is accepted), which raw inserts skip.
        row(
            "P5.verified", f"server ingest, batches of {BATCH}, vs inserts + signature checks", "events/s",
            round(rate[0]), baseline=round(verified), target=">= 0.25x", met=rate[0] / verified >= 0.25,
            compared_with="raw sqlite3 inserts of the same rows, each batch's Ed25519 signatures "
            "checked first (libsodium, one thread)",
        ),
    ]
    for count in pollers:
        target = by_count[count]
        expected = count * (per_round * rounds + len(declared))
        if closed[count]["delivered"] != expected:
            log(f"P5: {count} pollers received {closed[count]['delivered']} events, expected {expected}")
        # Higher is better: events/s with the polls held over events/s alone, round by round.
        ratio = rate[count] / rate[0]
        rows.append(row(
            f"P5.polled{count}", f"server ingest while {count:,} clients hold long-polls", "events/s",
            round(rate[count]), baseline=round(rate[0]), ratio=ratio, target=">= 0.5x of alone",
            met=ratio >= 0.5, batch_ms=summary(target.per_batch, 1000, 2),
            rounds_per_s=[round(per_round / w) for w in target.walls],
            fanout_s=summary(target.fanouts, 1, 3), delivered=closed[count]["delivered"],
            expected_deliveries=expected, refusals=closed[count]["refusals"],
            compared_with="P5: the same ingest with no polls held, in the same rounds",
        ))
    if pollers:
        most = max(pollers)
        rows.append(row(
            f"P5.rss{most}", f"server RSS while {most:,} long-polls are held", "MB",
            round(by_count[most].rss_held, 1), baseline=round(alone.rss_held, 1), target="—", met=None,
            rss_after_ingest_mb={count: closed[count]["rss"] for count in closed},
            compared_with="the server with no polls, at the same point (before any ingest)",
        ))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=30_000)
    parser.add_argument("--pollers", default="100,1000", help="comma-separated numbers of held polls")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    counts = tuple(int(n) for n in args.pollers.split(",") if n.strip())
    print(json.dumps(measure(args.events, counts, args.rounds), indent=2))


if __name__ == "__main__":
    main()
