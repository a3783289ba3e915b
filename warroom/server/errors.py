"""How the API answers when something is wrong.

Error answers are always JSON ``{"error": sentence, "detail": ...}`` (see ``ErrorBody``):

* 400 — the body is not JSON, or the cursor is not one this server issued;
* 401 — no token or an unknown token (every route but ``/v1/health``);
* 403 — the token may not do this (an alert-intake token reading the feed, say), or a push
  where *every* event was refused for authorization (a mixed batch is 200 with per-event
  results, so the allowed events are not held hostage by one refused event);
* 410 — the cursor belongs to another database, or to events this server no longer has;
* 408 — the body did not arrive in time (the connection is closed; send it again);
* 413 — body over 1 MiB or more than 500 events (split the batch);
* 422 — the body or a query parameter has the wrong shape (unknown field, wrong type...);
* 429 — this token holds as many long-polls, or has as many requests in progress, as one
  token may (``Retry-After`` says when to try again);
* 503 — the database could not be used (it failed, vanished or was replaced), or the server
  is full; nothing from that request was stored, retry after ``Retry-After`` seconds.

Nothing a client sends produces a 500: every parse failure is a 4xx. A 500 means a bug.

A malformed *event* inside a well-formed batch is not an HTTP error: it comes back as
``rejected`` in the per-event results, so one bad event never blocks a client's outbox.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from warroom.server.storage import StoreError
from warroom.wire import MAX_BATCH_EVENTS, MAX_BODY_BYTES, ErrorBody

log = logging.getLogger("warroom.server")

STORE_RETRY_AFTER = 2
"""Seconds a client is told to wait after the database failed (``Retry-After``)."""

_ERROR_DESCRIPTIONS = {
    400: "The body is not valid JSON, or the cursor was not issued by this server.",
    401: "No bearer token, or a token this server does not know.",
    403: "The token may not do this (alert intake reading or pushing), or every event of the batch was refused for authorization (results in `detail`).",
    410: "The cursor belongs to another database or to events this server no longer has.",
    408: "The body did not arrive in time; the connection is closed. Send it again.",
    413: f"Body over {MAX_BODY_BYTES} bytes or more than {MAX_BATCH_EVENTS} events.",
    422: "The body or a query parameter has the wrong shape (unknown field, wrong type...).",
    429: "This token holds as many long-polls or requests as one token may; see Retry-After.",
    503: "The database could not be used, or the server is full; nothing from the request was "
    "stored. Retry after Retry-After seconds.",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
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


def error_response(
    status: int, error: str, detail: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = ErrorBody(error=error, detail=detail).model_dump(mode="json")
    return JSONResponse(body, status_code=status, headers=headers)


def describe_errors(errors: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Pydantic/FastAPI errors as a sentence plus a JSON-safe list."""
    clean = [
        {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg")), "type": e.get("type")}
        for e in errors
    ]
    parts = [f"{'.'.join(e['loc']) or 'body'}: {e['msg']}" for e in clean[:3]]
    if len(clean) > 3:
        parts.append(f"and {len(clean) - 3} more")
    return "; ".join(parts), clean


MAX_NESTING = 100
"""Bodies nested deeper than this are refused as too deep, whether or not the parser coped
(where it gives up depends on how deep the call stack already is)."""


def _too_deep(send: str) -> ApiError:
    return ApiError(
        400, f"the request body nests arrays or objects too deeply to read: send {send} "
        "(events are a few levels deep)"
    )


def nested_deeper_than(data: Any, limit: int) -> bool:
    """Whether decoded JSON nests lists/objects more than ``limit`` levels (no recursion)."""
    level = [data]
    for _ in range(limit + 1):
        inner = []
        for item in level:
            if isinstance(item, dict):
                inner.extend(v for v in item.values() if isinstance(v, (dict, list)))
            elif isinstance(item, list):
                inner.extend(v for v in item if isinstance(v, (dict, list)))
        if not inner:
            return False
        level = inner
    return True


def parse_json_body(raw: bytes, *, send: str) -> Any:
    """The decoded body, or a 400 saying where the JSON broke and what to ``send``."""
    try:
        return json.loads(raw)
    except RecursionError:
        raise _too_deep(send) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        where = f" (line {exc.lineno}, column {exc.colno})" if hasattr(exc, "lineno") else ""
        raise ApiError(
            400, f"the request body is not valid JSON{where}: send {send} with Content-Type: application/json"
        ) from None


def validate_body(model: type[BaseModel], data: Any, problem: str, *, send: str = "JSON"):
    """``data`` as ``model``, or a 422: ``problem``, then a sentence naming what is wrong (a
    400 when the body is nested too deeply to be anything we take)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        if nested_deeper_than(data, MAX_NESTING):
            raise _too_deep(send) from None
        sentence, clean = describe_errors(exc.errors(include_url=False))
        raise ApiError(422, f"{problem}: {sentence}", clean) from None


def storage_unavailable(exc: Exception) -> JSONResponse:
    """The 503 every storage failure answers with (logged; the log rate-limits it)."""
    log.error("database error: %s", exc)
    return error_response(
        503,
        f"the server could not use its database ({exc}); nothing from this request was "
        "stored, try again shortly",
        headers={"Retry-After": str(STORE_RETRY_AFTER)},
    )


def unexpected_error() -> JSONResponse:
    """The 500 of a bug (logged with the exception being handled)."""
    log.exception("unexpected error")
    return error_response(
        500, "the server hit an unexpected error (it is in the server log); try again, "
        "and report it if it keeps happening"
    )


def install_error_handlers(app: FastAPI) -> None:
    """Every failure answers with an ``ErrorBody``: ours, FastAPI's validation, Starlette's
    404/405, the database's 503, and anything unexpected (500, logged)."""

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.error, exc.detail, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        sentence, clean = describe_errors(list(exc.errors()))
        return error_response(422, f"the request is not in the expected shape: {sentence}", clean)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            message = f"there is no {request.url.path} here; the API is described at /openapi.json"
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}; see /openapi.json"
        else:
            message = str(exc.detail)
        return error_response(exc.status_code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(StoreError)
    async def _store_error(_request: Request, exc: StoreError) -> JSONResponse:
        return storage_unavailable(exc)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        return unexpected_error()
