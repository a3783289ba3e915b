"""Helper process: N clients holding ``GET /v1/feed`` long-polls, on raw asyncio sockets.

    python bench/_pollers.py URL TOKENS_FILE N CHECKPOINTS

CHECKPOINTS is a comma-separated list of event counts, the last being everything the run will
push. Each poller follows the feed from the start until it has seen the last count, then
stops; poller i uses token ``i % len(tokens)`` (one line each in TOKENS_FILE). Prints "ready"
once every poller has had its first answer (so the next request is a held long-poll), then
"reached COUNT TIME" as soon as every poller has seen COUNT events (TIME from
time.perf_counter, comparable with the parent's on Linux: CLOCK_MONOTONIC), and one JSON
line at the end: events received per poller and refusals (429/503 answers, retried after
their Retry-After).

The pollers stand in for clients on other machines, so they should cost this machine as
little as possible: plain HTTP/1.1 keep-alive on asyncio streams (no HTTP library), gzip
accepted (as httpx, the real client, does), bodies not parsed as JSON (events counted, the
cursor cut from the tail), and the process runs only on otherwise idle CPU
(``stand_aside``) so the server, which is what is measured, gets the CPU first.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import time
import zlib
from urllib.parse import quote, urlsplit

CURSOR = re.compile(rb'"cursor":"([^"]*)","more":(true|false)\}$')
HOLD_SECONDS = 20


class Refused(Exception):
    def __init__(self, status: int, retry_after: float) -> None:
        super().__init__(status)
        self.status = status
        self.retry_after = retry_after


async def get(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> bytes:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    gzipped = False
    retry_after = 1.0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"retry-after":
            retry_after = float(value)
        elif name == b"content-encoding":
            gzipped = value.strip() == b"gzip"
    body = await reader.readexactly(length)
    if gzipped:
        body = zlib.decompress(body, 31)
    if status != 200:
        raise Refused(status, retry_after)
    return body


async def poller(host: str, port: int, token: str, expected: int, first: asyncio.Event,
                 counts: list[int], refusals: list[int], i: int, progressed: asyncio.Event) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    cursor = ""
    seen = 0
    try:
        while seen < expected:
            query = f"timeout={HOLD_SECONDS}&limit=1000" + (f"&cursor={quote(cursor)}" if cursor else "")
            request = (
                f"GET /v1/feed?{query} HTTP/1.1\r\nHost: {host}\r\n"
                f"Authorization: Bearer {token}\r\nAccept-Encoding: gzip\r\n\r\n"
            ).encode()
            try:
                body = await get(reader, writer, request)
            except Refused as refused:
                refusals[i] += 1
                await asyncio.sleep(refused.retry_after)
                continue
            except (asyncio.IncompleteReadError, ConnectionError):
                # The server closed a keep-alive connection: open another, as clients do.
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
                continue
            seen += body.count(b'"position":')
            cursor = CURSOR.search(body).group(1).decode()
            counts[i] = seen
            first.set()
            progressed.set()
    finally:
        writer.close()


async def main(url: str, tokens: list[str], n: int, checkpoints: list[int]) -> None:
    parts = urlsplit(url)
    counts = [0] * n
    refusals = [0] * n
    firsts = [asyncio.Event() for _ in range(n)]
    progressed = asyncio.Event()
    tasks = [
        asyncio.create_task(
            poller(parts.hostname, parts.port, tokens[i % len(tokens)], checkpoints[-1], firsts[i],
                   counts, refusals, i, progressed)
        )
        for i in range(n)
    ]
    await asyncio.wait_for(asyncio.gather(*(f.wait() for f in firsts)), 120)
    await asyncio.sleep(0.5)  # let every poller's second (held) request reach the server
    print("ready", flush=True)
    deadline = time.monotonic() + 900
    for checkpoint in checkpoints:
        while min(counts) < checkpoint:
            progressed.clear()
            await asyncio.wait_for(progressed.wait(), max(1.0, deadline - time.monotonic()))
        print(f"reached {checkpoint} {time.perf_counter()}", flush=True)
    await asyncio.wait_for(asyncio.gather(*tasks), 60)
    print(json.dumps({"counts": counts, "refusals": refusals}), flush=True)


def stand_aside() -> None:
    """Run only on CPU time nobody else wants (SCHED_IDLE on Linux, else nice 19): these
    clients stand for people on other machines, and must not take the server's CPU."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        os.nice(19)


if __name__ == "__main__":
    stand_aside()
    with open(sys.argv[2]) as handle:
        token_list = [line.strip() for line in handle if line.strip()]
    marks = [int(mark) for mark in sys.argv[4].split(",")]
    asyncio.run(main(sys.argv[1], token_list, int(sys.argv[3]), marks))
