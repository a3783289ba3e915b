"""P4: propagation on loopback, client A → server → client B's long-poll, vs a bare round trip.

    python bench/propagation.py [--count 500]

One real ``warroom server`` process (auth on, tokens for alice and bob) on 127.0.0.1.

* **baseline**: ``GET /v1/health`` with an httpx keep-alive client (a bare HTTP round trip
  to the same server), half before and half after the propagation runs.
* **P4 (clients)**: ``SyncClient`` A pushes one event (``POST /v1/events``); B holds
  ``GET /v1/feed`` long-polls in a thread (``SyncClient.feed``, which also parses the events).
  Latency = from A starting the push until B's feed call returns with that event. Events are
  sent one at a time, 3 ms apart so B's next long-poll is already held.
* **P4.engines**: the same through both sync engines and journals, as the app runs it:
  ``Workspace.record`` on A (fsync; its listener wakes A's push loop) until B's engine has
  ingested it (journalled with fsync and folded).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
from _common import log, row, summary  # noqa: E402

# The tests' launcher: one way to run a real server on a free port, for tests and benchmarks.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from serverproc import ServerProcess  # noqa: E402

from warroom.domain import commands  # noqa: E402
from warroom.domain.models import Severity  # noqa: E402
from warroom.store.workspace import Workspace  # noqa: E402
from warroom.sync.client import SyncClient  # noqa: E402
from warroom.sync.engine import SyncEngine  # noqa: E402

WARMUP = 20
GAP = 0.003


def round_trips(url: str, count: int) -> list[float]:
    out = []
    with httpx.Client(base_url=url, timeout=5) as http:
        for n in range(count + WARMUP):
            start = time.perf_counter()
            response = http.get("/v1/health")
            elapsed = time.perf_counter() - start
            assert response.status_code == 200
            if n >= WARMUP:
                out.append(elapsed)
    return out


def client_propagation(server: ServerProcess, tokens: dict[str, str], root: Path, count: int) -> tuple[list[float], list[float]]:
    """(push → B's feed returns, push round trip) per event."""
    ws = Workspace(root / "p4-clients", "alice")
    ws.load()
    declared = commands.declare(ws.factory, title="P4 propagation", severity=Severity.SEV3)
    ws.record(declared)
    incident = ws.get(declared[0].incident_id)
    events = [commands.log_entry(ws.factory, incident, f"propagation probe {n}") for n in range(count + WARMUP)]
    a = SyncClient(server.url, tokens["alice"], timeout=5)
    b = SyncClient(server.url, tokens["bob"], timeout=5)
    a.push(declared)
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

    follower = threading.Thread(target=follow, daemon=True, name="p4-follower")
    follower.start()
    latencies, pushes = [], []
    try:
        for n, event in enumerate(events):
            time.sleep(GAP)
            start = time.perf_counter()
            a.push([event])
            pushed = time.perf_counter()
            with arrived:
                if not arrived.wait_for(lambda: event.id in arrivals, timeout=10):
                    raise TimeoutError(f"event {n} never reached B")
            if n >= WARMUP:
                latencies.append(arrivals[event.id] - start)
                pushes.append(pushed - start)
    finally:
        stop.set()
        follower.join(5)
        a.close()
        b.close()
    return latencies, pushes


def engine_propagation(server: ServerProcess, tokens: dict[str, str], root: Path, count: int) -> list[float]:
    """Workspace.record on A → ingested (journalled + folded) on B, through both engines."""
    ws_a = Workspace(root / "p4-engine-a", "alice")
    ws_b = Workspace(root / "p4-engine-b", "bob")
    ws_a.load()
    ws_b.load()
    arrivals: dict[str, float] = {}
    arrived = threading.Condition()

    def apply_b(events):
        fresh = ws_b.ingest(events)
        now = time.perf_counter()
        with arrived:
            for event in events:
                arrivals[event.id] = now
            arrived.notify_all()
        return fresh

    engine_a = SyncEngine(ws_a, SyncClient(server.url, tokens["alice"], timeout=5), hold_seconds=20)
    engine_b = SyncEngine(ws_b, SyncClient(server.url, tokens["bob"], timeout=5), apply=apply_b, hold_seconds=20)
    stop = threading.Event()
    threads = [
        threading.Thread(target=engine.run_forever, args=(stop,), daemon=True, name=f"p4-engine-{n}")
        for n, engine in enumerate((engine_a, engine_b))
    ]
    for thread in threads:
        thread.start()
    latencies = []
    try:
        declared = commands.declare(ws_a.factory, title="P4 engines", severity=Severity.SEV3)
        ws_a.record(declared)
        with arrived:
            if not arrived.wait_for(lambda: declared[0].id in arrivals, timeout=15):
                raise TimeoutError("the incident never reached B")
        incident_id = declared[0].incident_id
        time.sleep(0.2)
        for n in range(count + WARMUP):
            time.sleep(GAP)
            event = commands.log_entry(ws_a.factory, ws_a.get(incident_id), f"engine probe {n}")
            start = time.perf_counter()
            ws_a.record([event])
            with arrived:
                if not arrived.wait_for(lambda: event.id in arrivals, timeout=10):
                    raise TimeoutError(f"event {n} never reached B")
            if n >= WARMUP:
                latencies.append(arrivals[event.id] - start)
    finally:
        stop.set()
        for thread in threads:
            thread.join(2)
    return latencies


def measure(count: int = 500) -> list[dict]:
    root = Path(tempfile.mkdtemp(prefix="warroom-bench-p4-"))
    server = ServerProcess(root / "server")
    tokens = {name: server.add_token(name) for name in ("alice", "bob")}
    try:
        server.start()
        rtt = round_trips(server.url, count // 2)
        latencies, pushes = client_propagation(server, tokens, root, count)
        engines = engine_propagation(server, tokens, root, count)
        rtt += round_trips(server.url, count - count // 2)
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
    s_rtt = summary(rtt, 1000)
    s_lat = summary(latencies, 1000)
    s_eng = summary(engines, 1000)
    s_push = summary(pushes, 1000)
    ratio = s_lat["median"] / s_rtt["median"]
    log(f"P4 push round trip p50 {s_push['median']} ms, p99 {s_push['p99']} ms")
    return [
        row(
            "P4", f"propagation A push -> B long-poll returns (p50 over {count})", "ms", s_lat["median"],
            baseline=s_rtt["median"], target="<= 3x RTT; p99 <= 20 ms",
            met=ratio <= 3 and s_lat["p99"] <= 20, stats=s_lat, baseline_stats=s_rtt, push_stats=s_push,
            compared_with="GET /v1/health round trip, httpx keep-alive, same server",
        ),
        row(
            "P4.engines", f"A Workspace.record -> B ingested, both sync engines (p50 over {count})", "ms",
            s_eng["median"], baseline=s_rtt["median"], target="p99 <= 20 ms", met=s_eng["p99"] <= 20,
            stats=s_eng, compared_with="the same round trip; includes both fsyncs",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=500)
    print(json.dumps(measure(parser.parse_args().count), indent=2))


if __name__ == "__main__":
    main()
