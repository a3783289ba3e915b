"""A small asyncio TCP proxy on 127.0.0.1 that cuts client connections mid-response.

It sits between sync clients and a ``warroom server`` so a test can lose *answers*, not only
requests: a push whose response is cut has been committed by the server, but the client never
learns it and must push again (the server has to answer "duplicate"); a feed page cut in the
middle must be fetched again without the cursor moving. When the server is down (SIGKILLed by
the chaos test) the proxy still accepts the connection and resets it at once, which is another
way for a client to fail.

Only loopback, only what the test asks for:

* ``arm(n, method)`` — cut the next ``n`` responses (to requests of ``method``, or any) after a
  random number of their bytes (0 included: nothing of the answer arrives);
* ``random_drops(probability, budget)`` — also cut responses at random, at most ``budget`` times;
* ``drops`` / ``drops_by_method`` / ``refused`` count what really happened.

Given several upstream ports it is also a round-robin load balancer: each new client
connection goes to the next server, and a server that refuses the connection (killed) is
skipped for the next one, as HAProxy does with ``option redispatch``; ``by_upstream`` counts
the connections each server got.

The event loop runs in its own daemon thread; every public method is thread-safe.
"""

from __future__ import annotations

import asyncio
import random
import re
import socket
import struct
import threading
from collections import Counter, deque

_REQUEST_LINE = re.compile(rb"^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) ")
_READ_SIZE = 64 * 1024


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST (SO_LINGER 0) rather than a polite FIN: the harshest cut."""
    transport = writer.transport
    if transport.is_closing():
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    transport.abort()


class ChaosProxy:
    """Forward ``127.0.0.1:port`` to ``127.0.0.1:upstream_port`` (or round-robin over a list
    of ports), cutting answers on demand."""

    def __init__(self, upstream_port: int | list[int], *, seed: int = 0, port: int = 0) -> None:
        self.upstreams = list(upstream_port) if isinstance(upstream_port, (list, tuple)) else [upstream_port]
        self.upstream_port = self.upstreams[0]
        self._next_upstream = 0
        self.by_upstream: Counter[int] = Counter()
        self.port = port
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._armed: deque[str | None] = deque()
        self._probability = 0.0
        self._random_budget = 0
        self.drops = 0
        self.drops_by_method: Counter[str] = Counter()
        self.refused = 0
        self.connections = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- control (any thread) ---------------------------------------------------------------

    def arm(self, count: int = 1, method: str | None = None) -> None:
        """Cut the next ``count`` responses to ``method`` requests (None: to any request)."""
        with self._lock:
            self._armed.extend([method] * count)

    def disarm(self) -> int:
        """Forget cuts not made yet; returns how many there were."""
        with self._lock:
            left = len(self._armed)
            self._armed.clear()
            self._random_budget = 0
            return left

    @property
    def armed(self) -> int:
        with self._lock:
            return len(self._armed)

    def random_drops(self, probability: float, budget: int) -> None:
        """Also cut each response with ``probability``, at most ``budget`` more times."""
        with self._lock:
            self._probability = probability
            self._random_budget = budget

    def sever_all(self) -> None:
        """Reset every open connection now."""
        loop = self._loop
        if loop is not None:
            loop.call_soon_threadsafe(lambda: [_reset(w) for w in list(self._writers)])

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> "ChaosProxy":
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                self._server = loop.run_until_complete(
                    asyncio.start_server(self._handle, "127.0.0.1", self.port, reuse_address=True)
                )
                self.port = self._server.sockets[0].getsockname()[1]
            except BaseException as exc:  # noqa: BLE001 - reported to the starting thread
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                for task in asyncio.all_tasks(loop):
                    task.cancel()
                loop.run_until_complete(asyncio.sleep(0))
                loop.close()

        self._thread = threading.Thread(target=run, name="chaos-proxy", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        loop, server = self._loop, self._server
        if loop is None or server is None or self._thread is None:
            return

        def shutdown() -> None:
            server.close()
            for writer in list(self._writers):
                _reset(writer)
            loop.stop()

        loop.call_soon_threadsafe(shutdown)
        self._thread.join(10)
        self._thread = None
        self._loop = None

    def __enter__(self) -> "ChaosProxy":
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # --- the proxying -----------------------------------------------------------------------

    def _should_cut(self, method: str | None) -> bool:
        with self._lock:
            for i, wanted in enumerate(self._armed):
                if wanted is None or wanted == method:
                    del self._armed[i]
                    return True
            if self._random_budget > 0 and self._rng.random() < self._probability:
                self._random_budget -= 1
                return True
            return False

    def _cut_point(self, size: int) -> int:
        with self._lock:
            return self._rng.randrange(size)

    async def _open_upstream(self):
        """A connection to the next server in turn that accepts one, or None."""
        for _ in range(len(self.upstreams)):
            port = self.upstreams[self._next_upstream % len(self.upstreams)]
            self._next_upstream += 1
            try:
                opened = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                continue
            self.by_upstream[port] += 1
            return opened
        return None

    async def _handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        opened = await self._open_upstream()
        if opened is None:
            self.refused += 1  # every server is down: reset the client at once
            _reset(client_writer)
            return
        upstream_reader, upstream_writer = opened
        self._writers.update((client_writer, upstream_writer))
        requests: deque[str] = deque()  # methods of requests not yet answered

        async def client_to_server() -> None:
            while data := await client_reader.read(_READ_SIZE):
                match = _REQUEST_LINE.match(data)
                if match:
                    requests.append(match.group(1).decode())
                upstream_writer.write(data)
                await upstream_writer.drain()

        async def server_to_client() -> bool:
            """True when it cut the answer; False when the server ended the connection."""
            current: str | None = None
            while data := await upstream_reader.read(_READ_SIZE):
                if data.startswith(b"HTTP/1."):
                    current = requests.popleft() if requests else None
                    # Only at the start of an answer: the server has finished the request
                    # (for a push: committed it) by the time it starts to answer.
                    if self._should_cut(current):
                        keep = self._cut_point(len(data))
                        if keep:
                            client_writer.write(data[:keep])
                            await client_writer.drain()
                        with self._lock:
                            self.drops += 1
                            self.drops_by_method[current or "?"] += 1
                        return True
                client_writer.write(data)
                await client_writer.drain()
            return False

        upward = asyncio.ensure_future(client_to_server())
        downward = asyncio.ensure_future(server_to_client())
        cut = True
        try:
            await asyncio.wait([upward, downward], return_when=asyncio.FIRST_COMPLETED)
            cut = downward.done() and not downward.cancelled() and downward.exception() is None and downward.result()
        except asyncio.CancelledError:
            pass
        finally:
            for pump in (upward, downward):
                pump.cancel()
            await asyncio.gather(upward, downward, return_exceptions=True)
            # Whichever side ended, end both: a cut with a reset, a normal end (either side
            # closed, e.g. the server killed or an idle keep-alive) with a FIN after the data.
            for writer in (client_writer, upstream_writer):
                if cut:
                    _reset(writer)
                else:
                    writer.close()
                self._writers.discard(writer)
