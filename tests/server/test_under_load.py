"""The server stays up for everyone under hostile and heavy load.

Against real ``warroom server`` processes on 127.0.0.1. The attacks are the ones that took
it down before: hundreds of sockets sending a body one byte at a time (without a token, and
with one), sockets that never finish their headers, all under a low open-file limit; a body
nested too deeply to parse; a token revoked while its long-poll is held. Everything is
bounded (a few hundred sockets, short timeouts passed on the command line); nothing here
measures time: the figures are in bench/ (P5, P10).
"""

from __future__ import annotations

import asyncio
import json
import socket
import time

import httpx
import pytest

from warroom.domain.clock import SystemClock
from warroom.domain.commands import EventFactory, declare, log_entry
from warroom.domain.fold import fold_incident
from warroom.domain.hlc import HybridClock
from warroom.domain.ids import uuid7
from warroom.domain.models import Severity

FD_LIMIT = 256
"""The attacked server's open-file limit: every wave below opens more sockets than this."""


def make_factory(actor: str) -> EventFactory:
    clock = SystemClock()
    return EventFactory(actor, clock, HybridClock(clock, uuid7(clock.now())[-8:]))


def events_body(events) -> dict:
    return {"events": [json.loads(e.model_dump_json()) for e in events]}


def slow_post(host: str, token: str | None) -> bytes:
    """The head of a push that announces 100 kB and sends one byte of it."""
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return (
        f"POST /v1/events HTTP/1.1\r\nHost: {host}\r\n{auth}Content-Type: application/json\r\n"
        "Content-Length: 100000\r\n\r\n{"
    ).encode()


async def open_sockets(port: int, count: int, first_bytes: bytes) -> list[tuple]:
    out = []
    for _ in range(count):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(first_bytes)
        out.append((reader, writer))
    await asyncio.gather(*(w.drain() for _, w in out), return_exceptions=True)
    return out


async def answer_of(reader: asyncio.StreamReader, timeout: float) -> tuple[int | None, bool]:
    """(HTTP status the server sent, or None; whether it then closed the connection)."""
    try:
        data = await asyncio.wait_for(reader.read(65536), timeout)
        status = int(data[9:12]) if data.startswith(b"HTTP/1.1 ") else None
        rest = await asyncio.wait_for(reader.read(65536), timeout)
        while rest:
            rest = await asyncio.wait_for(reader.read(65536), timeout)
        return status, True
    except (TimeoutError, ConnectionError):
        return None, False


def test_slow_bodies_and_half_sent_headers_under_a_low_fd_limit_do_not_starve_health(server_factory):
    server = server_factory(
        "attacked", nofile=FD_LIMIT, extra_args=["--header-timeout", "3", "--body-timeout", "3"]
    )
    token = server.add_token("mallory")
    alice = server.add_token("alice")
    server.start()
    assert f"open-file limit {FD_LIMIT}" in server.log()

    async def attack() -> dict:
        host = f"127.0.0.1:{server.port}"
        # Wave 1: no token, 1 byte of a 100 kB body. Refused from the headers, closed.
        anonymous = await open_sockets(server.port, 300, slow_post(host, None))
        # Wave 2: a valid token, same body. 32 may be in progress; the others are refused.
        authed = await open_sockets(server.port, 100, slow_post(host, token))
        # Wave 3: headers never finished; more of them than the server has descriptors.
        half = await open_sockets(server.port, 300, b"GET /v1/health HTTP/1.1\r\nHost: x\r\n")
        health = []
        async with httpx.AsyncClient(timeout=10, limits=httpx.Limits(max_keepalive_connections=0)) as http:
            for _ in range(30):  # a monitor: a fresh connection per probe
                try:
                    health.append((await http.get(f"{server.url}/v1/health")).status_code)
                except httpx.TransportError as exc:
                    health.append(type(exc).__name__)
        anonymous_answers = await asyncio.gather(*(answer_of(r, 10) for r, _ in anonymous))
        authed_answers = await asyncio.gather(*(answer_of(r, 15) for r, _ in authed))
        for _, writer in anonymous + authed + half:
            writer.close()
        return {"health": health, "anonymous": anonymous_answers, "authed": authed_answers}

    got = asyncio.run(attack())
    assert got["health"] == [200] * 30, got["health"]
    # Every anonymous slow body: 401 at once, and the connection closed (the body unread).
    assert got["anonymous"] == [(401, True)] * 300
    statuses = [status for status, closed in got["authed"] if closed]
    assert len(statuses) == 100  # every one answered and closed: nothing held forever
    assert statuses.count(429) >= 100 - 32  # over the per-token limit: refused at once
    assert set(statuses) <= {429, 408}  # the rest: the body deadline ran out
    assert statuses.count(408) >= 1
    # The server is still up and serving, and its log did not explode.
    with httpx.Client(timeout=10) as http:
        made = make_factory("alice")
        pushed = http.post(
            f"{server.url}/v1/events",
            json=events_body(declare(made, title="after the attack", severity=Severity.SEV3)),
            headers={"Authorization": f"Bearer {alice}"},
        )
        assert pushed.status_code == 200 and pushed.json()["accepted"] == 2
    server.stop()  # the log's last summaries are written as it stops
    log = server.log_path.read_text(errors="replace")
    assert "Too many open files" not in log
    assert len(log.splitlines()) < 80, log[-3000:]
    # The refusals of the token's slow bodies: a few lines, then one count of the rest.
    refused = [line for line in log.splitlines() if "one token already has 32 in progress" in line]
    assert len(refused) <= 5
    summary = [line for line in log.splitlines() if "more like 'refused a request: one token" in line]
    assert len(summary) == 1 and int(summary[0].split("and ")[1].split()[0]) == statuses.count(429) - len(refused)


def test_a_connection_past_the_cap_evicts_an_idle_one(server_factory):
    server = server_factory("capped", extra_args=["--max-connections", "20", "--header-timeout", "30"])
    server.add_token("alice")
    server.start()
    idle = []
    for _ in range(40):
        sock = socket.create_connection(("127.0.0.1", server.port))
        sock.sendall(b"GET /v1/health HTTP/1.1\r\n")  # never finished
        idle.append(sock)
    try:
        with httpx.Client(timeout=10) as http:
            assert http.get(f"{server.url}/v1/health").status_code == 200
        # The oldest half-open ones were closed to make room (EOF, or a reset: the server
        # had unread bytes of theirs).
        idle[0].settimeout(5)
        try:
            assert idle[0].recv(100) == b""
        except ConnectionResetError:
            pass
        # ...while the newest are still open (nothing to read yet).
        idle[-1].settimeout(0.2)
        with pytest.raises(TimeoutError):
            idle[-1].recv(100)
    finally:
        for sock in idle:
            sock.close()


@pytest.mark.parametrize("path", ["/v1/events", "/v1/hooks/alertmanager"])
@pytest.mark.parametrize("depth", [959, 100_000])
def test_json_nested_too_deeply_is_a_400_not_a_500(server, path, depth):
    before = server.counts()
    for body in ("[" * depth + "]" * depth, '{"events": ' + "[" * depth + "]" * depth + "}"):
        response = httpx.post(
            f"{server.url}{path}",
            content=body,
            headers={"Authorization": f"Bearer {server.tokens['alertmanager']}", "Content-Type": "application/json"},
            timeout=30,
        )
        assert response.status_code == 400, response.text
        assert "too deeply" in response.json()["error"]
    assert server.counts() == before
    assert httpx.get(f"{server.url}/v1/health").status_code == 200


def test_a_revoked_tokens_held_poll_ends_with_401_and_gets_nothing_after(server):
    dave = server.add_token("dave")
    alice = {"Authorization": f"Bearer {server.tokens['alice']}"}
    with httpx.Client(timeout=30) as http:
        start = http.get(f"{server.url}/v1/feed", params={"timeout": 0}, headers={"Authorization": f"Bearer {dave}"})
        cursor = start.json()["cursor"]
        held: dict = {}

        def hold() -> None:
            with httpx.Client(timeout=30) as own:
                held["response"] = own.get(
                    f"{server.url}/v1/feed",
                    params={"timeout": 20, "cursor": cursor},
                    headers={"Authorization": f"Bearer {dave}"},
                )

        import threading

        poll = threading.Thread(target=hold)
        poll.start()
        time.sleep(0.5)  # the poll is held (nothing new)
        store = server.open_store()
        try:
            assert store.remove_token("dave")
        finally:
            store.close()
        # Something happens after the revocation: dave must not see it.
        made = make_factory("alice")
        declared = declare(made, title="after dave left", severity=Severity.SEV2)
        assert http.post(f"{server.url}/v1/events", json=events_body(declared), headers=alice).status_code == 200
        poll.join(25)
        assert not poll.is_alive()
        response = held["response"]
        assert response.status_code == 401, response.text
        assert "revoked" in response.json()["error"] or "token" in response.json()["error"]
        assert "after dave left" not in response.text


def test_one_token_may_hold_only_so_many_polls(server_factory):
    server = server_factory("polls", extra_args=["--max-polls-per-token", "3"])
    carol = server.add_token("carol")
    erin = server.add_token("erin")
    server.start()

    async def hold_many() -> tuple[list[int], int]:
        headers = {"Authorization": f"Bearer {carol}"}
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            first = (await http.get("/v1/feed", params={"timeout": 0}, headers=headers)).json()["cursor"]
            polls = [
                asyncio.create_task(http.get("/v1/feed", params={"timeout": 3, "cursor": first}, headers=headers))
                for _ in range(5)
            ]
            await asyncio.sleep(0.5)
            # Someone else's token is not affected by carol's polls.
            other = await http.get("/v1/feed", params={"timeout": 0}, headers={"Authorization": f"Bearer {erin}"})
            answers = await asyncio.gather(*polls)
            for answer in answers:
                if answer.status_code == 429:
                    assert int(answer.headers["retry-after"]) >= 1
            return sorted(a.status_code for a in answers), other.status_code

    statuses, other = asyncio.run(hold_many())
    assert statuses == [200, 200, 200, 429, 429]
    assert other == 200


def test_log_lines_are_rate_limited_and_summarised():
    import logging

    from warroom.server.logs import RateLimitFilter

    now = [0.0]
    limiter = RateLimitFilter(burst=3, window=10.0, clock=lambda: now[0])
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    logger = logging.getLogger("warroom.test.flood")
    logger.propagate = False
    handler = Keep()
    handler.addFilter(limiter)
    logger.addHandler(handler)
    try:
        for n in range(1000):
            logger.warning("refused connection %d", n)
        logger.warning("something else")
        assert records == ["refused connection 0", "refused connection 1", "refused connection 2", "something else"]
        now[0] = 11.0
        assert limiter.flush() == 997
        assert len(records) == 5 and "997 more like 'refused connection %d'" in records[-1]
    finally:
        logger.removeHandler(handler)


def test_a_held_poll_is_answered_when_something_arrives(server):
    """The paced, shared wake-up still delivers at once on a quiet server, to every poller."""
    headers = {"Authorization": f"Bearer {server.tokens['bob']}"}
    made = make_factory("alice")
    declared = declare(made, title="watched by many", severity=Severity.SEV2)
    alice = {"Authorization": f"Bearer {server.tokens['alice']}"}

    async def watch() -> list[dict]:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            cursor = (await http.get("/v1/feed", params={"timeout": 0}, headers=headers)).json()["cursor"]
            polls = [
                asyncio.create_task(http.get("/v1/feed", params={"timeout": 20, "cursor": cursor}, headers=headers))
                for _ in range(10)
            ]
            await asyncio.sleep(0.5)
            pushed = await http.post("/v1/events", json=events_body(declared), headers=alice)
            assert pushed.status_code == 200
            return [r.json() for r in await asyncio.gather(*polls)]

    pages = asyncio.run(watch())
    ids = {e.id for e in declared}
    for page in pages:
        assert {item["event"]["id"] for item in page["events"]} == ids
    assert len({page["cursor"] for page in pages}) == 1  # one shared page
    follow = fold_incident(declared[0].incident_id, declared)
    entry = log_entry(made, follow, "and then")
    assert httpx.post(f"{server.url}/v1/events", json=events_body([entry]), headers=alice).status_code == 200
    again = httpx.get(f"{server.url}/v1/feed", params={"timeout": 5, "cursor": pages[0]["cursor"]}, headers=headers)
    assert [item["event"]["id"] for item in again.json()["events"]] == [entry.id]



def test_revoking_one_token_ends_only_its_held_polls(server):
    """Everyone else's held polls stay held through a revocation and get the next event (an
    empty page would mean they were let go instead)."""
    frank = server.add_token("frank")
    bob = {"Authorization": f"Bearer {server.tokens['bob']}"}
    gone = {"Authorization": f"Bearer {frank}"}
    alice = {"Authorization": f"Bearer {server.tokens['alice']}"}
    declared = declare(make_factory("alice"), title="after frank left", severity=Severity.SEV2)

    async def watch() -> tuple[list[httpx.Response], list[httpx.Response]]:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            cursor = (await http.get("/v1/feed", params={"timeout": 0}, headers=bob)).json()["cursor"]
            held = {"timeout": 20, "cursor": cursor}
            franks = [asyncio.create_task(http.get("/v1/feed", params=held, headers=gone)) for _ in range(2)]
            bobs = [asyncio.create_task(http.get("/v1/feed", params=held, headers=bob)) for _ in range(2)]
            await asyncio.sleep(0.5)
            store = server.open_store()
            try:
                assert store.remove_token("frank")
            finally:
                store.close()
            cut = await asyncio.gather(*franks)  # within the server's refresh, not at the hold's end
            assert not any(poll.done() for poll in bobs)
            pushed = await http.post("/v1/events", json=events_body(declared), headers=alice)
            assert pushed.status_code == 200
            return cut, await asyncio.gather(*bobs)

    cut, answered = asyncio.run(watch())
    assert [r.status_code for r in cut] == [401, 401]
    assert all("after frank left" not in r.text for r in cut)
    assert [r.status_code for r in answered] == [200, 200]
    for response in answered:
        assert [item["event"]["id"] for item in response.json()["events"]] == [e.id for e in declared]
