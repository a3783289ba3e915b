"""The HTTP API (FastAPI): push events, long-poll the feed, list incidents.

Error answers are always JSON ``{"error": sentence, "detail": ...}`` (see ``ErrorBody``):

* 400 — the body is not JSON, or the cursor is not one this server issued;
* 401 — no token or an unknown token (every route but ``/v1/health``);
* 403 — a push where *every* event was refused for authorization (a mixed batch is 200 with
  per-event results, so the allowed events are not held hostage by one refused event);
* 410 — the cursor belongs to another database, or to events this server no longer has;
* 413 — body over 1 MiB or more than 500 events (split the batch);
* 422 — the body or a query parameter has the wrong shape (unknown field, wrong type...);
* 503 — the database could not be written; nothing from that request was stored, retry.

A malformed *event* inside a well-formed batch is not an HTTP error: it comes back as
``rejected`` in the per-event results, so one bad event never blocks a client's outbox.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import os
from collections.abc import Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import warroom
from warroom.domain.clock import Clock, SystemClock
from warroom.server.auth import ANONYMOUS, Principal, verify_token
from warroom.server.db import EventStore, StoreError
from warroom.server.ledger import Ledger
from warroom.wire import (
    DEFAULT_HOLD_SECONDS,
    FEED_PAGE_DEFAULT,
    FEED_PAGE_MAX,
    MAX_BATCH_EVENTS,
    MAX_BODY_BYTES,
    MAX_HOLD_SECONDS,
    ErrorBody,
    FeedResponse,
    Health,
    IncidentList,
    Outcome,
    PushRequest,
    PushResponse,
    RejectionCode,
    WhoAmI,
)

if TYPE_CHECKING:  # alert intake (issue 9)
    from warroom.server.alertmanager import SeverityMap

UNSAFE_NO_DEDUPE_ENV = "WARROOM_SERVER_UNSAFE_NO_DEDUPE"
"""Set to 1 to store re-pushed events again. Only for proving the chaos test has teeth."""

log = logging.getLogger("warroom.server")

_ERROR_DESCRIPTIONS = {
    400: "The body is not valid JSON, or the cursor was not issued by this server.",
    401: "No bearer token, or a token this server does not know.",
    403: "Every event of the batch was refused for authorization (results in `detail`).",
    410: "The cursor belongs to another database or to events this server no longer has.",
    413: f"Body over {MAX_BODY_BYTES} bytes or more than {MAX_BATCH_EVENTS} events.",
    422: "The body or a query parameter has the wrong shape (unknown field, wrong type...).",
    503: "The database could not be written; nothing from the request was stored. Retry.",
}


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorBody, "description": _ERROR_DESCRIPTIONS[code]} for code in codes}


class ApiError(Exception):
    """Raised by handlers; becomes a JSON error answer."""

    def __init__(
        self, status: int, error: str, detail: Any = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.detail = detail
        self.headers = headers


def _error_response(
    status: int, error: str, detail: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = ErrorBody(error=error, detail=detail).model_dump(mode="json")
    return JSONResponse(body, status_code=status, headers=headers)


def _describe_errors(errors: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Pydantic/FastAPI errors as a sentence plus a JSON-safe list."""
    clean = [
        {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg")), "type": e.get("type")}
        for e in errors
    ]
    parts = [f"{'.'.join(e['loc']) or 'body'}: {e['msg']}" for e in clean[:3]]
    if len(clean) > 3:
        parts.append(f"and {len(clean) - 3} more")
    return "; ".join(parts), clean


def parse_json_body(raw: bytes, *, send: str) -> Any:
    """The decoded body, or a 400 saying where the JSON broke and what to ``send``."""
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        where = f" (line {exc.lineno}, column {exc.colno})" if hasattr(exc, "lineno") else ""
        raise ApiError(
            400, f"the request body is not valid JSON{where}: send {send} with Content-Type: application/json"
        ) from None


def validate_body(model: type[BaseModel], data: Any, problem: str):
    """``data`` as ``model``, or a 422: ``problem``, then a sentence naming what is wrong."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        sentence, clean = _describe_errors(exc.errors(include_url=False))
        raise ApiError(422, f"{problem}: {sentence}", clean) from None


# --- body size limit ----------------------------------------------------------------------


class BodyLimitMiddleware:
    """Refuse bodies over ``max_bytes`` with a JSON 413 before anything parses them.

    The body is buffered (it is at most 1 MiB) and replayed to the app. An oversized body is
    still drained up to a cap so the client reads our 413 instead of a broken pipe."""

    _DRAIN_CAP = 16 * MAX_BODY_BYTES

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        too_big = False
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_bytes:
                too_big = True
                chunks = []
            else:
                chunks.append(body)
            if not message.get("more_body") or size > self._DRAIN_CAP:
                break
        if too_big:
            response = _error_response(
                413,
                f"the request body is larger than {self.max_bytes} bytes; send fewer events "
                f"per request (at most {MAX_BATCH_EVENTS})",
            )
            await response(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


# --- feed plumbing ------------------------------------------------------------------------


class FeedSignal:
    """Wakes long-poll waiters when events are stored (or the server shuts down)."""

    def __init__(self) -> None:
        self._condition = asyncio.Condition()
        self.closing = False

    async def notify(self) -> None:
        async with self._condition:
            self._condition.notify_all()

    async def close(self) -> None:
        """Let every waiter answer now, so a graceful shutdown is not held up 25 s."""
        self.closing = True
        await self.notify()

    async def wait(self, is_ready: Callable[[], bool], timeout: float) -> None:
        async with self._condition:
            try:
                await asyncio.wait_for(
                    self._condition.wait_for(lambda: self.closing or is_ready()), timeout
                )
            except TimeoutError:
                pass


_CURSOR_VERSION = "v1"


def encode_cursor(db_id: str, position: int) -> str:
    raw = f"{_CURSOR_VERSION}:{db_id}:{position}".encode("ascii")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, int]:
    """``(db_id, position)``; raises ValueError for anything this server did not issue."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        version, db_id, position_text = raw.split(":")
        position = int(position_text)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError("not a cursor") from None
    if version != _CURSOR_VERSION or position < 0 or not position_text.isdigit():
        raise ValueError("not a cursor")
    return db_id, position


# --- the app ------------------------------------------------------------------------------


def create_app(
    db_path: Path,
    *,
    auth_required: bool = True,
    clock: Clock | None = None,
    dedupe: bool | None = None,
    alert_severity_map: "SeverityMap | None" = None,  # alert intake (issue 9); None: built-in
) -> FastAPI:
    """The ASGI app serving the database at ``db_path``.

    ``dedupe=None`` reads ``WARROOM_SERVER_UNSAFE_NO_DEDUPE`` (only the chaos test sets it)."""
    if dedupe is None:
        dedupe = os.environ.get(UNSAFE_NO_DEDUPE_ENV) != "1"
    store = EventStore(Path(db_path), dedupe=dedupe)
    ledger = Ledger(store, clock or SystemClock(), dedupe=dedupe)
    signal = FeedSignal()

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        await signal.close()
        store.close()

    app = FastAPI(
        title="warroom sync server",
        version=warroom.__version__,
        description=(
            "Shared event log for warroom clients. Push events with POST /v1/events, follow "
            "everyone's events with the GET /v1/feed long-poll. Authenticate with "
            "`Authorization: Bearer <token>` (create tokens with `warroom server token add`)."
        ),
        lifespan=lifespan,
    )
    app.state.store = store
    app.state.ledger = ledger
    app.state.feed_signal = signal
    app.state.auth_required = auth_required
    app.add_middleware(BodyLimitMiddleware, max_bytes=MAX_BODY_BYTES)
    bearer = HTTPBearer(auto_error=False, description="A token from `warroom server token add`.")

    async def authenticate(
        credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
    ) -> Principal:
        if not auth_required:
            return ANONYMOUS
        challenge = {"WWW-Authenticate": "Bearer"}
        if credentials is None:
            raise ApiError(
                401,
                "this request needs a token: send 'Authorization: Bearer <token>' (an admin "
                "creates one with `warroom server token add NAME`; then run "
                "`warroom login URL --token TOKEN`)",
                headers=challenge,
            )
        principal = await run_in_threadpool(verify_token, store, credentials.credentials)
        if principal is None:
            raise ApiError(
                401,
                "this server does not know that token (mistyped, or revoked); ask an admin "
                "for a new one and run `warroom login URL --token TOKEN`",
                headers=challenge,
            )
        return principal

    # --- errors ---------------------------------------------------------------------------

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return _error_response(exc.status, exc.error, exc.detail, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        sentence, clean = _describe_errors(list(exc.errors()))
        return _error_response(422, f"the request is not in the expected shape: {sentence}", clean)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            message = f"there is no {request.url.path} here; the API is described at /openapi.json"
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}; see /openapi.json"
        else:
            message = str(exc.detail)
        return _error_response(exc.status_code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(StoreError)
    async def _store_error(_request: Request, exc: StoreError) -> JSONResponse:
        log.error("database error: %s", exc)
        return _error_response(
            503, f"the server could not save to its database ({exc}); nothing from this "
            "request was stored, try again shortly"
        )

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return _error_response(
            500, "the server hit an unexpected error (it is in the server log); try again, "
            "and report it if it keeps happening"
        )

    # --- routes ---------------------------------------------------------------------------

    @app.get("/v1/health", response_model=Health, tags=["meta"])
    async def health() -> Health:
        """Liveness check; needs no token."""
        return Health(version=warroom.__version__, auth_required=auth_required)

    @app.get("/v1/whoami", response_model=WhoAmI, responses=_errors(401), tags=["meta"])
    async def whoami(who: Principal = Depends(authenticate)) -> WhoAmI:
        """The user the token belongs to (events you push must carry this name as actor)."""
        return WhoAmI(user=who.name, admin=who.admin, auth_required=auth_required)

    @app.get("/v1/incidents", response_model=IncidentList, responses=_errors(401), tags=["incidents"])
    async def incidents(_who: Principal = Depends(authenticate)) -> IncidentList:
        """Every incident the server knows, most recently changed first."""
        return IncidentList(incidents=await run_in_threadpool(ledger.incidents))

    @app.post(
        "/v1/events",
        response_model=PushResponse,
        responses=_errors(400, 401, 403, 413, 422, 503),
        tags=["events"],
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/PushRequest"}}
                },
            }
        },
    )
    async def push_events(request: Request, who: Principal = Depends(authenticate)) -> Any:
        """Store a batch of events. Each comes back `accepted` (with its feed position),
        `duplicate` (already stored: pushing again is always safe) or `rejected` (with a
        reason; the rest of the batch is unaffected). HTTP 403 only when every event was
        refused for authorization."""
        raw = await request.body()
        data = parse_json_body(raw, send='{"events": [...]}')
        batch = validate_body(PushRequest, data, 'the body must be {"events": [event objects]}')
        if len(batch.events) > MAX_BATCH_EVENTS:
            raise ApiError(
                413,
                f"{len(batch.events)} events in one request; the limit is {MAX_BATCH_EVENTS}, "
                "split the batch",
            )
        results = await run_in_threadpool(ledger.submit, who, batch.events)
        counts = {outcome: 0 for outcome in Outcome}
        for result in results:
            counts[result.status] += 1
        if counts[Outcome.ACCEPTED]:
            await signal.notify()
        answer = PushResponse(
            results=results,
            accepted=counts[Outcome.ACCEPTED],
            duplicate=counts[Outcome.DUPLICATE],
            rejected=counts[Outcome.REJECTED],
        )
        if results and all(r.code is RejectionCode.FORBIDDEN for r in results):
            return _error_response(
                403,
                f"none of the {len(results)} event(s) was accepted: {results[0].reason}",
                answer.model_dump(mode="json"),
            )
        return answer

    @app.get(
        "/v1/feed",
        response_model=FeedResponse,
        responses=_errors(400, 401, 410, 422),
        tags=["events"],
    )
    async def feed(
        cursor: str | None = Query(
            None, max_length=200, description="From the previous answer; omit to start at the beginning."
        ),
        timeout: float = Query(
            DEFAULT_HOLD_SECONDS,
            ge=0,
            le=MAX_HOLD_SECONDS,
            description="Seconds to hold the request open when nothing is new (long-poll).",
        ),
        limit: int = Query(FEED_PAGE_DEFAULT, ge=1, le=FEED_PAGE_MAX, description="Page size."),
        _who: Principal = Depends(authenticate),
    ) -> Any:
        """Events stored after `cursor`, oldest first. Answers at once when there are any;
        otherwise waits up to `timeout` seconds and answers with an empty page. Resuming from
        any cursor this server gave out never skips or repeats an event."""
        after = 0
        if cursor:
            try:
                db_id, after = decode_cursor(cursor)
            except ValueError:
                raise ApiError(
                    400,
                    "that cursor was not issued by this server; omit ?cursor= to read the feed "
                    "from the beginning",
                ) from None
            # ledger.last_position moves only after a push has been folded in, but a feed read
            # sees rows as soon as they are committed: a cursor handed out in that window is
            # ahead of the ledger. Ask the database before calling it foreign.
            ahead = after > ledger.last_position and after > await run_in_threadpool(
                store.last_position
            )
            if db_id != store.db_id or ahead:
                raise ApiError(
                    410,
                    "that cursor belongs to another server database (or to events this server "
                    "no longer has, e.g. after a restore); read the feed from the beginning and "
                    "push your events again",
                )
        if ledger.last_position <= after and timeout > 0:
            await signal.wait(lambda: ledger.last_position > after, timeout)
        rows = await run_in_threadpool(store.read_after, after, limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        next_position = rows[-1][0] if rows else after
        # The stored JSON is served as is: no re-validation, and byte-identical on every replica.
        items = ",".join(
            f'{{"position":{position},"received_at":{json.dumps(received)},"event":{event_json}}}'
            for position, received, event_json in rows
        )
        body = (
            f'{{"events":[{items}],"cursor":{json.dumps(encode_cursor(store.db_id, next_position))},'
            f'"more":{"true" if more else "false"}}}'
        )
        return Response(body, media_type="application/json")

    # --- alert intake (issue 9): POST /v1/hooks/alertmanager, in warroom/server/alertmanager.py.
    # Its events go through the same ledger.submit and feed wake-up as POST /v1/events.
    from warroom.server.alertmanager import mount_alertmanager

    mount_alertmanager(
        app,
        authenticate=authenticate,
        ledger=ledger,
        store=store,
        notify=signal.notify,
        severity_map=alert_severity_map,
    )

    _add_push_request_schema(app)
    return app


def _add_push_request_schema(app: FastAPI) -> None:
    """The push route reads its body itself (so auth runs before parsing and malformed JSON
    is a 400); put the body's schema into /openapi.json by hand."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        schemas["PushRequest"] = PushRequest.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
