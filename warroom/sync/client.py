"""HTTP client for the sync server (httpx, synchronous: the engine runs it in threads).

Errors are typed by what the caller should do about them:

* ``SyncUnavailable`` — network trouble, timeouts, 5xx: keep the events, retry later;
* ``SyncUnauthorized`` (401) — the token is missing or wrong: a person must log in again;
* ``SyncForbidden`` (403) — not allowed (for a push, the per-event results say why);
* ``SyncCursorGone`` (410) — the server's database is not the one our cursor came from;
* ``SyncRejected`` — any other 4xx: the request itself is wrong (a bug, or a too-new client).

Every message is a sentence that says what happened and what to do.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import ValidationError

import warroom
from warroom.domain.events import Event, parse_event
from warroom.store.sync_state import normalize_url
from warroom.wire import (
    DEFAULT_HOLD_SECONDS,
    EventResult,
    FeedResponse,
    IncidentSummary,
    IncidentList,
    KeyList,
    Outcome,
    PublicKey,
    PushResponse,
    UserList,
    WhoAmI,
)

FEED_READ_MARGIN_SECONDS = 10.0
"""Extra read time on top of the long-poll hold, so a held request is not cut off early."""


@functools.lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    """Loading the CA bundle takes ~50 ms; do it once per process, not once per client."""
    return httpx.create_ssl_context()


class SyncError(Exception):
    """Base class: the message is meant for the person at the keyboard."""


class SyncUnavailable(SyncError):
    """The server could not be reached or failed (retry later; nothing is lost)."""


class SyncRejected(SyncError):
    """The server refused the request (4xx)."""

    def __init__(self, message: str, status: int, detail: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail


class SyncUnauthorized(SyncRejected):
    """401: no token, or a token the server does not know."""


class SyncForbidden(SyncRejected):
    """403: the token is valid but may not do this."""


class SyncCursorGone(SyncRejected):
    """410: the cursor belongs to another database; start the feed over."""


@dataclass(frozen=True)
class PushResult:
    """Per-event outcome of one push (also for HTTP 403, where every event was refused)."""

    results: list[EventResult]
    forbidden: bool = False
    receipt: str | None = None
    """A cursor at the last event this push stored (see ``SyncEngine.check_receipt``)."""

    @property
    def known_ids(self) -> list[str]:
        """Ids the server now has (accepted, or already there)."""
        return [
            r.id
            for r in self.results
            if r.id is not None and r.status in (Outcome.ACCEPTED, Outcome.DUPLICATE)
        ]

    @property
    def rejected(self) -> list[EventResult]:
        return [r for r in self.results if r.status is Outcome.REJECTED]

    def count(self, outcome: Outcome) -> int:
        return sum(1 for r in self.results if r.status is outcome)


@dataclass(frozen=True)
class FeedPage:
    """Events after the cursor, parsed; ``unreadable`` lists those this build cannot read."""

    events: list[Event]
    cursor: str
    more: bool
    unreadable: list[str] = field(default_factory=list)
    keys: dict[str, bytes] = field(default_factory=dict)
    """Keys of sealed entry texts that came with the events, by event id."""


class SyncClient:
    """One server, one token. ``transport`` lets tests use ``httpx.MockTransport``."""

    def __init__(
        self,
        base_url: str,
        token: str | None,
        transport: httpx.BaseTransport | None = None,
        *,
        timeout: float = 10.0,
        connect_timeout: float = 5.0,
    ) -> None:
        self.base_url = normalize_url(base_url)
        self.token = token
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self._transport = transport
        headers = {"User-Agent": f"warroom/{warroom.__version__}", "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            transport=transport,
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            verify=_tls_context(),
        )

    def clone(self) -> "SyncClient":
        """A client with its own connections (one per thread)."""
        return SyncClient(
            self.base_url,
            self.token,
            self._transport,
            timeout=self.timeout,
            connect_timeout=self.connect_timeout,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "SyncClient":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- API -------------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        return self._request("GET", "/v1/health")

    def whoami(self) -> WhoAmI:
        return WhoAmI.model_validate(self._request("GET", "/v1/whoami"))

    def incidents(self) -> list[IncidentSummary]:
        return IncidentList.model_validate(self._request("GET", "/v1/incidents")).incidents

    def register_key(self, public_key: str) -> None:
        """Register this person's public signing key with the server (idempotent)."""
        self._request("POST", "/v1/keys", json={"public_key": public_key})

    def public_keys(self) -> list[PublicKey]:
        """Every registered public key (to check signatures, e.g. of an import)."""
        return KeyList.model_validate(self._request("GET", "/v1/keys")).keys

    def users(self) -> list[str]:
        """The user names the server knows (people with a user or admin token)."""
        return UserList.model_validate(self._request("GET", "/v1/users")).users

    def push(self, events: Sequence[Event], keys: dict[str, bytes] | None = None) -> PushResult:
        """Send a batch (the caller keeps it within the server's limits), with the keys of
        its sealed texts."""
        body = b'{"events":[' + b",".join(e.model_dump_json().encode() for e in events) + b"]"
        if keys:
            wanted = {e.id for e in events}
            text_keys = {i: base64.b64encode(k).decode("ascii") for i, k in keys.items() if i in wanted}
            body += b',"text_keys":' + json.dumps(text_keys).encode("ascii")
        body += b"}"
        try:
            data = self._request(
                "POST", "/v1/events", content=body, headers={"Content-Type": "application/json"}
            )
        except SyncForbidden as exc:
            # 403 on a push still carries per-event results: every event was refused.
            try:
                response = PushResponse.model_validate(exc.detail)
            except ValidationError:
                raise exc from None
            return PushResult(results=response.results, forbidden=True)
        response = PushResponse.model_validate(data)
        return PushResult(results=response.results, receipt=response.receipt)

    def feed(self, cursor: str | None, timeout: float = DEFAULT_HOLD_SECONDS, limit: int | None = None) -> FeedPage:
        """Events after ``cursor`` (None: from the start), waiting up to ``timeout`` s."""
        params: dict[str, Any] = {"timeout": timeout}
        if limit is not None:
            params["limit"] = limit
        if cursor:
            params["cursor"] = cursor
        read_timeout = httpx.Timeout(timeout + FEED_READ_MARGIN_SECONDS, connect=self.connect_timeout)
        data = self._request("GET", "/v1/feed", params=params, timeout=read_timeout)
        page = FeedResponse.model_validate(data)
        events: list[Event] = []
        unreadable: list[str] = []
        keys: dict[str, bytes] = {}
        for item in page.events:
            try:
                event = parse_event(item.event)
            except ValueError as exc:
                unreadable.append(f"event at position {item.position}: {exc}")
                continue
            events.append(event)
            if item.text_key:
                try:
                    keys[event.id] = base64.b64decode(item.text_key, validate=True)
                except binascii.Error:
                    pass  # without it the text reads as unavailable; the event still counts
        return FeedPage(events=events, cursor=page.cursor, more=page.more, unreadable=unreadable, keys=keys)

    # --- plumbing --------------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise SyncUnavailable(
                f"the sync server at {self.base_url} did not answer in time; your changes are "
                "saved locally and will be sent when it responds"
            ) from None
        except httpx.TransportError as exc:
            reason = str(exc) or type(exc).__name__
            raise SyncUnavailable(
                f"cannot reach the sync server at {self.base_url} ({reason}); your changes "
                "are saved locally and will be sent when it is back"
            ) from None
        try:
            data = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            data = None
        if response.is_success:
            if data is None:
                raise SyncUnavailable(
                    f"{self.base_url}{path} answered with something that is not JSON; is that "
                    "URL really a warroom server?"
                )
            return data
        error = data.get("error") if isinstance(data, dict) else None
        detail = data.get("detail") if isinstance(data, dict) else None
        status = response.status_code
        said = f": {error}" if error else ""
        # 408: our body was too slow to arrive (a bad link); 429: this token holds too much
        # right now; 5xx: the server's trouble. All pass: try again later, nothing is lost.
        if status >= 500 or status in (408, 429):
            raise SyncUnavailable(
                f"the sync server at {self.base_url} had a problem (HTTP {status}{said}); "
                "your changes are saved locally and will be sent later"
            )
        if status == 401:
            raise SyncUnauthorized(
                f"the sync server at {self.base_url} did not accept your token{said}. Log in "
                f"again: warroom login {self.base_url} --token TOKEN",
                status,
                detail,
            )
        if status == 403:
            raise SyncForbidden(f"the sync server at {self.base_url} refused this{said}", status, detail)
        if status == 410:
            raise SyncCursorGone(
                f"the sync server at {self.base_url} no longer matches what we synced before "
                f"(restored or replaced){said}; warroom reads its feed again and re-sends "
                "your events",
                status,
                detail,
            )
        if error is None:
            raise SyncRejected(
                f"{self.base_url}{path} answered HTTP {status}; is that URL really a warroom "
                "server (and this warroom up to date)?",
                status,
                detail,
            )
        raise SyncRejected(
            f"the sync server at {self.base_url} refused the request (HTTP {status}){said}",
            status,
            detail,
        )
