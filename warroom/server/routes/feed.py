"""``GET /v1/feed``: everyone's events after a cursor, as a long-poll.

The feed is the hot path: every watching client asks again after every answer. FastAPI's
routing and dependency solving cost about 0.2 ms a request, more than everything else a poll
does, so the guard answers ``GET /v1/feed`` with ``serve_feed`` (plain ASGI) once the token
and the limits are checked. The FastAPI route below documents it in /openapi.json and runs
the same code (``answer``) when the app runs without its guard; the query is validated by
the same model (``FeedQuery``) either way, so the answers are identical.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.types import Receive, Scope, Send

from warroom.server.deps import Person, intake_only
from warroom.server.errors import (
    ApiError,
    describe_errors,
    error_response,
    error_responses,
    storage_unavailable,
)
from warroom.server.feed import CursorRefused, Page, TokenCut
from warroom.server.storage import StoreError
from warroom.wire import (
    DEFAULT_HOLD_SECONDS,
    FEED_PAGE_DEFAULT,
    FEED_PAGE_MAX,
    MAX_HOLD_SECONDS,
    FeedResponse,
)

router = APIRouter(tags=["events"])


class FeedQuery(BaseModel):
    """The query of ``GET /v1/feed`` (unknown parameters are ignored)."""

    model_config = ConfigDict(extra="ignore")

    cursor: str | None = Field(
        None, max_length=200, description="From the previous answer; omit to start at the beginning."
    )
    timeout: float = Field(
        DEFAULT_HOLD_SECONDS,
        ge=0,
        le=MAX_HOLD_SECONDS,
        description="Seconds to hold the request open when nothing is new (long-poll).",
    )
    limit: int = Field(FEED_PAGE_DEFAULT, ge=1, le=FEED_PAGE_MAX, description="Page size.")


@router.get(
    "/v1/feed", response_model=FeedResponse, responses=error_responses(400, 401, 403, 410, 422, 429, 503)
)
async def feed(request: Request, _who: Person, query: Annotated[FeedQuery, Query()]) -> Any:
    """Events stored after `cursor`, oldest first. Answers at once when there are any;
    otherwise waits up to `timeout` seconds and answers with an empty page. Resuming from
    any cursor this server gave out never skips or repeats an event."""
    page = await answer(request.app.state, request.scope["state"].get("token_digest"), query)
    body, headers = _encoded(page, request.headers.get("accept-encoding", ""))
    return Response(body, media_type="application/json", headers=dict(headers))


def _encoded(page: Page, accept_encoding: str) -> tuple[bytes, list[tuple[str, str]]]:
    """The page as the client accepts it (gzip when it says so), with the headers to add."""
    if "gzip" in accept_encoding.lower():
        gzipped = page.gzipped()
        if gzipped is not None:
            return gzipped, [("content-encoding", "gzip"), ("vary", "accept-encoding")]
    return page.body, [("vary", "accept-encoding")]


async def answer(state: Any, digest: str | None, query: FeedQuery) -> Page:
    """The answer to ``query`` (raises ``ApiError`` or ``StoreError``)."""
    try:
        return await state.feed.page(query.cursor, query.timeout, query.limit, digest)
    except CursorRefused as exc:
        raise ApiError(exc.status, str(exc)) from None
    except TokenCut:
        raise ApiError(
            401,
            "this token was revoked while the request was held; ask an admin for a new one "
            "and run `warroom login URL --token TOKEN`",
            headers={"WWW-Authenticate": "Bearer"},
        ) from None


async def serve_feed(scope: Scope, receive: Receive, send: Send) -> None:
    """``GET /v1/feed`` as plain ASGI, for the guard (the token is already checked)."""
    state = scope["app"].state
    who = scope["state"]["principal"]
    if not who.is_person:
        refused = intake_only(who)
        await error_response(refused.status, refused.error)(scope, receive, send)
        return
    try:
        # As Starlette reads a query string (blank values kept: "?limit=" is a 422).
        params = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
        query = FeedQuery.model_validate(dict(params))
    except ValidationError as exc:
        sentence, clean = describe_errors(
            [{**e, "loc": ("query", *e.get("loc", ()))} for e in exc.errors(include_url=False)]
        )
        response = error_response(422, f"the request is not in the expected shape: {sentence}", clean)
    else:
        try:
            page = await answer(state, scope["state"].get("token_digest"), query)
        except ApiError as exc:
            response = error_response(exc.status, exc.error, exc.detail, exc.headers)
        except StoreError as exc:
            response = storage_unavailable(exc)
        else:
            accept = next((v for k, v in scope["headers"] if k == b"accept-encoding"), b"")
            body, extra = _encoded(page, accept.decode("latin-1"))
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                        *((k.encode(), v.encode()) for k, v in extra),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
    await response(scope, receive, send)
