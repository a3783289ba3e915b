"""How much the server lets anyone hold, and the file descriptors that costs.

Every open socket is a file descriptor. When a process runs out of them, ``accept`` fails,
asyncio logs the failure for every queued connection, and nothing new is served: not even
``/v1/health``. So the server never lets connections get that far:

* at start it raises its soft ``RLIMIT_NOFILE`` to the hard limit (an unprivileged process
  may; capped at ``NOFILE_WANTED``);
* it keeps descriptors back for itself (``reserve_for``: the database and its WAL, the
  listening socket, and a burst of connections: asyncio accepts up to the listen backlog in
  one go before the cap below can look at them) and serves at most the rest as connections
  (``max_connections``, at most ``MAX_CONNECTIONS_DEFAULT`` unless asked): a connection past
  that evicts one that is idle or still sending its headers, or is answered 503 at once
  when every connection is busy;
* held long-polls may use ``max_polls`` of those connections (three quarters), so pushes
  and health checks always find room; one token may hold ``max_polls_per_token`` polls and
  run ``max_requests_per_token`` other requests at a time (429 with ``Retry-After`` past
  that);
* a request must finish its headers within ``header_timeout`` seconds and its body within
  ``body_timeout`` (408, then the connection is closed).

To serve N people, each with a terminal and a browser tab open: ``max_connections`` ≈ 3 × N,
so ``ulimit -n`` ≥ 3 × N + 512 (``reserve_for``: at most 512).
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass, replace

NOFILE_WANTED = 65_536
"""The soft descriptor limit the server asks for at start (if the hard limit allows)."""
MAX_CONNECTIONS_DEFAULT = 4096
"""Connections served at most by default, however high the descriptor limit."""


LISTEN_QUEUE = 4096
"""The kernel's queue of connections not yet accepted (capped by net.core.somaxconn). A
burst of connects past a short queue has its SYNs dropped, and a client then waits a whole
second to retry: a health check caught in such a burst takes a second. Queued connections
cost no descriptor until accepted, so the queue can be long while ``listen_backlog`` (how
many asyncio accepts at once) stays short."""


def listen_backlog(nofile: int) -> int:
    """How many connections asyncio accepts in one go (it passes the same number to
    ``listen``; the server lengthens the kernel's queue afterwards, see ``LISTEN_QUEUE``)."""
    return max(16, min(128, nofile // 16))


def lengthen_listen_queue(sockets) -> None:
    """Give listening sockets the ``LISTEN_QUEUE`` (``listen`` may be called again)."""
    import socket

    for sock in sockets:
        duplicate = socket.socket(fileno=os.dup(sock.fileno()))
        try:
            duplicate.listen(LISTEN_QUEUE)
        finally:
            duplicate.close()


def reserve_for(nofile: int) -> int:
    """Descriptors kept back from connections. An accepted socket reaches the connection cap
    a loop iteration or two later, and a connection the cap closes frees its descriptor one
    iteration after that, while each iteration may accept another backlog: three backlogs,
    plus the database, the log and the loop's own."""
    return 3 * listen_backlog(nofile) + max(32, min(128, nofile // 16))


@dataclass(frozen=True)
class ServerLimits:
    """What one client (or everyone together) may hold at a time."""

    max_connections: int = MAX_CONNECTIONS_DEFAULT
    """Open connections; one more evicts an idle one, or is refused (503)."""
    max_polls: int = MAX_CONNECTIONS_DEFAULT * 3 // 4
    """Held ``GET /v1/feed`` long-polls in total (429 past that)."""
    max_polls_per_token: int = 16
    """Held long-polls per token: a person's terminal, browser tabs and scripts."""
    max_requests_per_token: int = 32
    """Other requests in progress per token (a slow body counts until it ends)."""
    header_timeout: float = 10.0
    """Seconds from connecting (or the previous answer) until a request's headers are in."""
    body_timeout: float = 30.0
    """Seconds to receive a whole request body (1 MiB at most) once its headers are in."""
    retry_after: int = 1
    """Seconds a refused client is told to wait (``Retry-After``)."""

    def with_connections(self, max_connections: int) -> "ServerLimits":
        """These limits for a server allowed ``max_connections`` (polls scale with it)."""
        max_connections = max(8, max_connections)
        return replace(self, max_connections=max_connections, max_polls=max(1, max_connections * 3 // 4))


@dataclass(frozen=True)
class DescriptorBudget:
    """The descriptor limit found (and raised) at start, and what it allows."""

    soft_before: int
    soft: int
    hard: int
    max_connections: int
    backlog: int
    note: str | None = None
    """A sentence for the start banner when the limit is low or could not be raised."""


def _limit_text(value: int) -> str:
    return "unlimited" if value == resource.RLIM_INFINITY else str(value)


def raise_descriptor_limit(wanted_connections: int | None = None) -> DescriptorBudget:
    """Raise the soft ``RLIMIT_NOFILE`` as far as needed and allowed; return the budget.

    ``wanted_connections`` (``--max-connections``) asks for that many; None takes the default,
    ``MAX_CONNECTIONS_DEFAULT``. The answer never exceeds what the limit can hold."""
    soft_before, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = NOFILE_WANTED if hard == resource.RLIM_INFINITY else min(NOFILE_WANTED, hard)
    soft = soft_before
    note = None
    if soft_before != resource.RLIM_INFINITY and soft_before < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as exc:
            note = f"could not raise the open-file limit from {soft_before} ({exc})"
    nofile = NOFILE_WANTED if soft == resource.RLIM_INFINITY else soft
    usable = nofile - reserve_for(nofile)
    max_connections = max(8, min(wanted_connections or MAX_CONNECTIONS_DEFAULT, usable))
    if wanted_connections and max_connections < wanted_connections:
        note = (
            f"--max-connections {wanted_connections} needs an open-file limit of "
            f"{wanted_connections + reserve_for(wanted_connections * 2)}; the limit is {_limit_text(soft)} "
            f"(hard {_limit_text(hard)}), so at most {max_connections} connections are served"
        )
    elif note is None and max_connections < 512:
        note = (
            f"the open-file limit is {_limit_text(soft)} (hard {_limit_text(hard)}): at most "
            f"{max_connections} connections; raise it (ulimit -n, LimitNOFILE=) for more"
        )
    return DescriptorBudget(soft_before, soft, hard, max_connections, listen_backlog(nofile), note)
