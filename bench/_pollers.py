"""Helper process for P5: N clients holding ``GET /v1/feed`` long-polls (asyncio + httpx).

    python bench/_pollers.py URL TOKEN N EXPECTED

Each poller follows the feed from the start until it has seen EXPECTED events, then stops.
Prints "ready" once every poller has had its first answer (so the next request is a held
long-poll), and at the end one JSON line: events received per poller and when the last one
finished (time.perf_counter, comparable with the parent's on Linux: CLOCK_MONOTONIC).
Bodies are not parsed as JSON (the cursor is cut from the tail): the pollers should cost
the machine as little CPU as possible, the server is what is measured.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time

import httpx

CURSOR = re.compile(rb'"cursor":"([^"]*)","more":(true|false)\}$')


async def poller(http: httpx.AsyncClient, expected: int, first: asyncio.Event, counts: list[int], i: int) -> None:
    cursor = None
    seen = 0
    while seen < expected:
        params = {"timeout": 20.0, "limit": 1000}
        if cursor:
            params["cursor"] = cursor
        response = await http.get("/v1/feed", params=params)
        response.raise_for_status()
        body = response.content
        seen += body.count(b'"position":')
        match = CURSOR.search(body)
        cursor = match.group(1).decode()
        counts[i] = seen
        if not first.is_set():
            first.set()


async def main(url: str, token: str, n: int, expected: int) -> None:
    limits = httpx.Limits(max_connections=n + 5, max_keepalive_connections=n + 5)
    async with httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {token}"}, limits=limits, timeout=60
    ) as http:
        counts = [0] * n
        firsts = [asyncio.Event() for _ in range(n)]
        tasks = [asyncio.create_task(poller(http, expected, firsts[i], counts, i)) for i in range(n)]
        await asyncio.wait_for(asyncio.gather(*(f.wait() for f in firsts)), 60)
        await asyncio.sleep(0.3)  # let every poller's second (held) request reach the server
        print("ready", flush=True)
        await asyncio.wait_for(asyncio.gather(*tasks), 300)
        print(json.dumps({"counts": counts, "done": time.perf_counter()}), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
