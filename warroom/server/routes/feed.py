"""``GET /v1/feed``: everyone's events after a cursor, as a long-poll."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from warroom.server.deps import FeedDep, Person
from warroom.server.errors import ApiError, error_responses
from warroom.server.feed import CursorRefused
from warroom.wire import (
    DEFAULT_HOLD_SECONDS,
    FEED_PAGE_DEFAULT,
    FEED_PAGE_MAX,
    MAX_HOLD_SECONDS,
    FeedResponse,
)

router = APIRouter(tags=["events"])


@router.get("/v1/feed", response_model=FeedResponse, responses=error_responses(400, 401, 403, 410, 422))
async def feed(
    _who: Person,
    live_feed: FeedDep,
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
) -> Any:
    """Events stored after `cursor`, oldest first. Answers at once when there are any;
    otherwise waits up to `timeout` seconds and answers with an empty page. Resuming from
    any cursor this server gave out never skips or repeats an event."""
    try:
        body = await live_feed.page(cursor, timeout, limit)
    except CursorRefused as exc:
        raise ApiError(exc.status, str(exc)) from None
    return Response(body, media_type="application/json")
