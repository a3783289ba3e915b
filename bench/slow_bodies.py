"""P10: ``GET /v1/health`` latency while 1,000 sockets send request bodies one byte at a time.

    python bench/slow_bodies.py [--sockets 1000] [--probes 300] [--nofile 1024]

One real ``warroom server`` (auth on) started with an open-file limit of ``--nofile`` (1024,
a common default; soft and hard, so it cannot raise it). An attacker process (``_attacker``
below, run as a child) keeps ``--sockets`` connections open, each sending the headers of a
``POST /v1/events`` with ``Content-Length: 100000`` and then one byte; when the server closes
one, it reconnects 0.5-1.5 s later (so about 1,000 new slow bodies a second arrive for the
whole run: the attack stays at full strength however fast the server refuses it).

* **P10**: no token (what anyone who reaches the port can do).
* **P10.token**: with a valid token (a stolen or careless one).
* **baseline**: the same probes against the same server before the attack.

The probe: a monitor's health check (plain HTTP/1.1 on a fresh connection each time, timed
from connect to the answer's headers), ``--probes`` of them 10 ms apart; p50 and p99 in ms. Target: p99 ≤ 100 ms through the attack. Loopback only, bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import percentile, row, summary  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from serverproc import ServerProcess  # noqa: E402

TARGET_P99_MS = 100.0


async def _attack(port: int, sockets: int, token: str | None, seconds: float) -> None:
    """Keep ``sockets`` slow bodies open for ``seconds``; print how many were opened."""
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    head = (
        f"POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Content-Type: application/json\r\n"
        "Content-Length: 100000\r\n\r\n{"
    ).encode()
    opened = 0
    refused = 0
    stop = time.monotonic() + seconds
    ready = asyncio.Event()
    started = 0

    async def one() -> None:
        nonlocal opened, refused, started
        first = True
        while time.monotonic() < stop:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                refused += 1
                await asyncio.sleep(1.0)
                continue
            writer.write(head)
            opened += 1
            if first:
                first = False
                started += 1
                if started == sockets:
                    ready.set()
            try:
                # Hold it until the server closes it (or the run ends), then come back.
                await asyncio.wait_for(reader.read(), max(0.1, stop - time.monotonic()))
            except (TimeoutError, OSError):
                pass
            writer.close()
            await asyncio.sleep(random.uniform(0.5, 1.5))

    tasks = [asyncio.create_task(one()) for _ in range(sockets)]
    await asyncio.wait_for(ready.wait(), 60)
    print("attacking", flush=True)
    await asyncio.gather(*tasks)
    print(json.dumps({"opened": opened, "refused": refused}), flush=True)


def probe(port: int, count: int) -> list[float]:
    """Seconds for each of ``count`` health checks (inf when one failed), 10 ms apart."""
    request = b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    out = []
    for _ in range(count):
        started = time.perf_counter()
        try:
            # A fresh connection each time, as a monitor makes; done when the answer is in.
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(request)
                answer = b""
                while b"\r\n\r\n" not in answer:
                    chunk = sock.recv(4096)
                    if not chunk:
                        break
                    answer += chunk
            ok = answer.startswith(b"HTTP/1.1 200")
        except OSError:
            ok = False
        elapsed = time.perf_counter() - started
        out.append(elapsed if ok else float("inf"))
        time.sleep(0.01)
    return out


def measure(sockets: int = 1000, probes: int = 300, nofile: int = 1024) -> list[dict]:
    root = Path(tempfile.mkdtemp(prefix="warroom-bench-p10-"))
    server = ServerProcess(root / "server", nofile=nofile)
    token = server.add_token("mallory")
    rows = []
    try:
        server.start()
        probe(server.port, 20)  # warm up
        quiet = probe(server.port, probes)
        for variant, with_token in (("P10", False), ("P10.token", True)):
            seconds = probes * 0.03 + 30
            attacker = subprocess.Popen(
                [sys.executable, __file__, "--attack", str(server.port), str(sockets),
                 token if with_token else "-", str(seconds)],
                stdout=subprocess.PIPE, text=True,
            )
            try:
                assert attacker.stdout is not None
                if attacker.stdout.readline().strip() != "attacking":
                    raise RuntimeError("the attacker did not start")
                time.sleep(1.0)
                attacked = probe(server.port, probes)
                alive = server.proc.poll() is None
            finally:
                attacker.kill()
                attacker.wait(10)
            failed = sum(1 for v in attacked if v == float("inf"))
            finite = [v for v in attacked if v != float("inf")] or [float("inf")]
            p99 = percentile(attacked, 0.99) * 1000
            who = "with a valid token" if with_token else "without a token"
            rows.append(row(
                variant, f"/v1/health during {sockets:,} slow bodies {who} (fd limit {nofile})", "ms",
                round(percentile(finite, 0.5) * 1000, 2), baseline=round(percentile(quiet, 0.5) * 1000, 2),
                target=f"p99 <= {TARGET_P99_MS:.0f} ms", met=alive and failed == 0 and p99 <= TARGET_P99_MS,
                stats=summary(finite, 1000, 2) | {"p99": round(p99, 2) if p99 != float("inf") else None},
                failed_probes=failed, server_alive=alive, quiet=summary(quiet, 1000, 2),
                compared_with="the same probes before the attack",
            ))
        log_size = server.log_path.stat().st_size
        rows[-1]["server_log_bytes"] = log_size
    finally:
        server.kill()
        if os.environ.get("KEEP_LOG"):
            print(server.log(), file=sys.stderr)
        shutil.rmtree(root, ignore_errors=True)
    return rows


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--attack":
        port, sockets, token, seconds = sys.argv[2:6]
        asyncio.run(_attack(int(port), int(sockets), None if token == "-" else token, float(seconds)))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--probes", type=int, default=300)
    parser.add_argument("--nofile", type=int, default=1024)
    args = parser.parse_args()
    print(json.dumps(measure(args.sockets, args.probes, args.nofile), indent=2))


if __name__ == "__main__":
    os.environ.pop("WARROOM_TOKEN", None)
    main()
