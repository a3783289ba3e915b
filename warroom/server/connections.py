"""Connections, before any request is read: how many, how long a client may dawdle.

uvicorn serves every connection it accepts for as long as the client likes: a socket that
sends half a header and stops holds a descriptor forever, and enough of them leave nothing
for anyone else. ``guarded_protocol`` returns uvicorn's HTTP/1.1 protocol (httptools' C
parser when installed, else h11) with three additions (uvicorn takes a protocol class as its
``http`` setting):

* a **header deadline**: from connecting (or from the previous answer on a kept-alive
  connection) a request's headers must be in within ``header_timeout``, else the connection
  is closed;
* a **connection cap**: past ``max_connections`` a new connection evicts the oldest one that
  is not in the middle of a request (idle keep-alive, or still sending headers); when every
  connection is busy the newcomer gets a 503 with ``Retry-After`` and is closed — either way
  the process never runs out of descriptors, so ``/v1/health`` keeps answering;
* counts of what was refused, logged as a few lines (``logs.RateLimitFilter``), not one per
  socket.

Slow *bodies* are handled per request, after the token is checked (``guard.py``).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from dataclasses import dataclass

from uvicorn.protocols.http.auto import AutoHTTPProtocol

from warroom.server.limits import ServerLimits

log = logging.getLogger("warroom.server.connections")


@dataclass
class ConnectionStats:
    """Totals since start, for the log and for tests that read them in-process."""

    evicted: int = 0
    refused_full: int = 0
    header_timeouts: int = 0


def _full_response(retry_after: int) -> bytes:
    body = (
        b'{"error":"the server has as many connections as it serves; try again in a moment",'
        b'"detail":null}'
    )
    return (
        b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
        + f"retry-after: {retry_after}\r\ncontent-length: {len(body)}\r\n".encode()
        + b"connection: close\r\n\r\n"
        + body
    )


def guarded_protocol(
    limits: ServerLimits,
    stats: ConnectionStats | None = None,
    base: type[asyncio.Protocol] = AutoHTTPProtocol,
) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol class ``base`` with the header deadline and the cap."""
    open_connections: "OrderedDict[GuardedProtocol, None]" = OrderedDict()  # oldest first
    stats = stats if stats is not None else ConnectionStats()
    full_response = _full_response(limits.retry_after)

    class GuardedProtocol(base):  # type: ignore[valid-type, misc]
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self._in_request = False
            self._partial = False  # bytes of a request whose headers are not complete yet
            self._header_deadline: asyncio.TimerHandle | None = None
            inner = self.app

            async def tracked(scope, receive, send) -> None:
                # The request's headers are in: no deadline, and not evictable until answered.
                self._in_request = True
                self._partial = False
                self._cancel_header_deadline()
                try:
                    await inner(scope, receive, send)
                finally:
                    self._in_request = False

            self.app = tracked

        # --- the cap ---------------------------------------------------------------------

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            if len(open_connections) >= limits.max_connections and not _evict_one():
                stats.refused_full += 1
                log.warning(
                    "refused a connection: all %d connections are busy (%d refused so far)",
                    limits.max_connections,
                    stats.refused_full,
                )
                transport.write(full_response)
                transport.close()
                self.transport = transport
                self._refused = True
                return
            self._refused = False
            open_connections[self] = None
            super().connection_made(transport)
            self._arm_header_deadline()

        def connection_lost(self, exc: Exception | None) -> None:
            if getattr(self, "_refused", False):
                return
            open_connections.pop(self, None)
            self._cancel_header_deadline()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if getattr(self, "_refused", False):
                return
            if not self._in_request:
                self._partial = True
            super().data_received(data)

        # --- the header deadline ---------------------------------------------------------

        def on_response_complete(self) -> None:
            self._partial = False
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm_header_deadline()

        def _arm_header_deadline(self) -> None:
            self._cancel_header_deadline()
            self._header_deadline = self.loop.call_later(limits.header_timeout, self._headers_too_slow)

        def _cancel_header_deadline(self) -> None:
            if self._header_deadline is not None:
                self._header_deadline.cancel()
                self._header_deadline = None

        def _headers_too_slow(self) -> None:
            self._header_deadline = None
            if self._in_request or self.transport.is_closing():
                return
            # Idle kept-alive connections end here too (quietly: that is normal); only a
            # half-sent request counts as too slow.
            if self._partial:
                stats.header_timeouts += 1
                log.warning(
                    "closed a connection that sent no complete request headers in %.0f s "
                    "(%d so far)",
                    limits.header_timeout,
                    stats.header_timeouts,
                )
            self.transport.close()

        @property
        def evictable(self) -> bool:
            return not self._in_request

    def _evict_one() -> bool:
        for victim in open_connections:
            if victim.evictable:
                open_connections.pop(victim, None)
                victim._cancel_header_deadline()
                stats.evicted += 1
                log.warning(
                    "connection limit (%d) reached: closed an idle or half-open connection "
                    "(%d so far)",
                    limits.max_connections,
                    stats.evicted,
                )
                victim.transport.close()
                return True
        return False

    GuardedProtocol.stats = stats  # type: ignore[attr-defined]
    GuardedProtocol.open_connections = open_connections  # type: ignore[attr-defined]
    return GuardedProtocol
