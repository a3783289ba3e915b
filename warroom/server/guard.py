"""Every request passes here first: the token, then the limits, then (only then) the body.

``RequestGuard`` is plain ASGI middleware, outermost in the app, so a refusal costs no
parsing, no routing and no reading of a body that an attacker may be sending one byte a
minute:

1. **the token** (``Authorization: Bearer …``) is looked up in the ``TokenCache`` from the
   headers alone; no token or an unknown one is a 401 with ``connection: close``, the body
   never read. ``PUBLIC_PATHS`` (health, the API description) need none;
2. **the limits** of ``ServerLimits``: held polls per token and in total, other requests per
   token — a 429 (or 503 for the server-wide cap) with ``Retry-After``;
3. **the body**, with a deadline (``body_timeout``: 408) and a size cap (``MAX_BODY_BYTES``,
   or the path's own in ``body_limits``: 413), buffered and replayed to the app.

The principal and the token's digest are left in ``scope["state"]`` for the routes
(``deps.authenticate``). Whenever a request's body was not read to the end, the answer says
``connection: close`` so the rest of it is never waited for.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from warroom.server.auth import ANONYMOUS
from warroom.server.errors import error_response, storage_unavailable
from warroom.server.limits import ServerLimits
from warroom.server.storage import StoreError
from warroom.server.tokens import TokenCache
from warroom.wire import MAX_BATCH_EVENTS, MAX_BODY_BYTES

log = logging.getLogger("warroom.server.guard")

PUBLIC_PATHS = frozenset({"/v1/health", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})
FEED_PATH = "/v1/feed"
MAX_TOKEN_CHARS = 512
"""Real tokens are 43 characters; anything far longer is refused unread."""
_DRAIN_FACTOR = 16
"""An oversized body is read (and dropped) up to 16 times the limit, so the client reads our
413 instead of a broken pipe."""

_NO_TOKEN = (
    "this request needs a token: send 'Authorization: Bearer <token>' (an admin creates one "
    "with `warroom server token add NAME`; then run `warroom login URL --token TOKEN`)"
)
_UNKNOWN_TOKEN = (
    "this server does not know that token (mistyped, or revoked); ask an admin for a new "
    "one and run `warroom login URL --token TOKEN`"
)


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None


def _has_body(scope: Scope) -> bool:
    length = _header(scope, b"content-length")
    if length is not None:
        return length.strip() not in (b"0", b"")
    return _header(scope, b"transfer-encoding") is not None


def bearer_token(scope: Scope) -> str | None:
    """The token of an ``Authorization: Bearer`` header, or None."""
    value = _header(scope, b"authorization")
    if value is None:
        return None
    scheme, _, token = value.partition(b" ")
    token = token.strip()
    if scheme.lower() != b"bearer" or not token or len(token) > MAX_TOKEN_CHARS:
        return None
    try:
        return token.decode("ascii")
    except UnicodeDecodeError:
        return None


class RequestGuard:
    """ASGI middleware: token, limits, then the body (see the module docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        tokens: TokenCache | None,
        limits: ServerLimits,
        body_limits: dict[str, int] | None = None,
        fast_routes: dict[tuple[str, str], ASGIApp] | None = None,
    ) -> None:
        """``body_limits``: paths with their own body size limit (an alert notification may
        be large). ``fast_routes``: ``(method, path)`` answered by plain ASGI handlers once the
        token, the limits and the body are checked, without FastAPI's routing (the feed, the
        push); the body comes to them in one ``http.request`` message."""
        self.app = app
        self.body_limits = body_limits or {}
        self.fast_routes = fast_routes or {}
        self.tokens = tokens
        self.limits = limits
        self.polls: Counter[str] = Counter()
        self.requests: Counter[str] = Counter()
        self.total_polls = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        has_body = scope["method"] not in ("GET", "HEAD", "OPTIONS") or _has_body(scope)
        body_state = {"pending": has_body}

        async def send_closing(message: Message) -> None:
            # An answer given before the body was read in full closes the connection: the
            # server is not going to wait for the rest of a slow or refused body.
            if message["type"] == "http.response.start" and body_state["pending"]:
                message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
            await send(message)

        refusal = await self._authenticate(scope)
        if refusal is not None:
            await refusal(scope, receive, send_closing)
            return
        key = scope["state"].get("token_digest")
        is_poll = scope["path"] == FEED_PATH
        refusal = self._admit(key, is_poll)
        if refusal is not None:
            await refusal(scope, receive, send_closing)
            return
        try:
            handler = self.fast_routes.get((scope["method"], scope["path"]), self.app)
            if not has_body:
                await handler(scope, receive, send_closing)
                return
            body, refusal = await self._read_body(receive, scope["path"])
            if refusal is not None:
                await refusal(scope, receive, send_closing)
                return
            body_state["pending"] = False
            await handler(scope, _replay(body, receive), send_closing)
        finally:
            self._release(key, is_poll)

    # --- 1. the token ----------------------------------------------------------------------

    async def _authenticate(self, scope: Scope):
        state = scope.setdefault("state", {})
        if self.tokens is None or scope["path"] in PUBLIC_PATHS:
            state["principal"] = ANONYMOUS
            state["token_digest"] = None
            return None
        challenge = {"WWW-Authenticate": "Bearer"}
        token = bearer_token(scope)
        if token is None:
            return error_response(401, _NO_TOKEN, headers=challenge)
        try:
            digest, principal = await self.tokens.principal(token)
        except StoreError as exc:
            return storage_unavailable(exc)
        if principal is None:
            log.warning("refused a request with an unknown token")
            return error_response(401, _UNKNOWN_TOKEN, headers=challenge)
        state["principal"] = principal
        state["token_digest"] = digest
        return None

    # --- 2. the limits ---------------------------------------------------------------------

    def _admit(self, key: str | None, is_poll: bool):
        limits = self.limits
        retry = {"Retry-After": str(limits.retry_after)}
        if is_poll:
            if self.total_polls >= limits.max_polls:
                log.warning("refused a long-poll: %d are held, the most this server holds", self.total_polls)
                return error_response(
                    503, f"the server is holding as many long-polls as it can ({limits.max_polls}); "
                    "try again in a moment", headers=retry,
                )
            if key is not None and self.polls[key] >= limits.max_polls_per_token:
                log.warning("refused a long-poll: one token already holds %d", self.polls[key])
                return error_response(
                    429, f"this token already holds {limits.max_polls_per_token} long-polls of "
                    "/v1/feed (the most one token may); close some clients or give each its own "
                    "token", headers=retry,
                )
            self.total_polls += 1
            if key is not None:
                self.polls[key] += 1
            return None
        if key is not None:
            if self.requests[key] >= limits.max_requests_per_token:
                log.warning("refused a request: one token already has %d in progress", self.requests[key])
                return error_response(
                    429, f"this token already has {limits.max_requests_per_token} requests in "
                    "progress (the most one token may); wait for them to finish", headers=retry,
                )
            self.requests[key] += 1
        return None

    def _release(self, key: str | None, is_poll: bool) -> None:
        counter = self.polls if is_poll else self.requests
        if is_poll:
            self.total_polls -= 1
        if key is not None:
            counter[key] -= 1
            if counter[key] <= 0:
                del counter[key]

    # --- 3. the body -----------------------------------------------------------------------

    async def _read_body(self, receive: Receive, path: str) -> tuple[bytes, Any]:
        """The whole body, or a refusal (408 too slow, 413 too big, nothing when the client
        went away)."""
        max_bytes = self.body_limits.get(path, MAX_BODY_BYTES)
        chunks: list[bytes] = []
        size = 0
        too_big = False
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.limits.body_timeout
        while True:
            try:
                # (asyncio.timeout_at: no task per message, as wait_for makes)
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                log.warning("closed a request whose body took over %.0f s", self.limits.body_timeout)
                return b"", error_response(
                    408, f"the request body did not arrive within {self.limits.body_timeout:.0f} s; "
                    "send it again", headers={"Retry-After": str(self.limits.retry_after)},
                )
            if message["type"] == "http.disconnect":
                return b"", _gone
            body = message.get("body", b"")
            size += len(body)
            if size > max_bytes:
                too_big = True
                chunks = []
            else:
                chunks.append(body)
            if not message.get("more_body") or size > _DRAIN_FACTOR * max_bytes:
                break
        if too_big:
            log.error("refused a body of over %d bytes on %s (the limit is %d)", size, path, max_bytes)
            advice = (
                f"send fewer events per request (at most {MAX_BATCH_EVENTS})"
                if path not in self.body_limits
                else "set max_alerts in the webhook config"
            )
            return b"", error_response(413, f"the request body is larger than {max_bytes} bytes; {advice}")
        return b"".join(chunks), None


async def _gone(_scope: Scope, _receive: Receive, _send: Send) -> None:
    """The client left while sending: nobody to answer."""


def _replay(body: bytes, receive: Receive) -> Receive:
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
