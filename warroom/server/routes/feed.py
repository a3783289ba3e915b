"""``GET /v1/feed``: everyone's events after a cursor, as a long-poll."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from warroom.server.deps import CurrentUser, FeedSignalDep, LedgerDep, StoreDep
from warroom.server.errors import ApiError, error_responses
from warroom.server.feed import decode_cursor, encode_cursor
from warroom.wire import (
    DEFAULT_HOLD_SECONDS,
    FEED_PAGE_DEFAULT,
    FEED_PAGE_MAX,
    MAX_HOLD_SECONDS,
    FeedResponse,
)

router = APIRouter(tags=["events"])


@router.get("/v1/feed", response_model=FeedResponse, responses=error_responses(400, 401, 410, 422))
async def feed(
    _who: CurrentUser,
    ledger: LedgerDep,
    store: StoreDep,
    signal: FeedSignalDep,
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
        ahead = after > ledger.last_position and after > await run_in_threadpool(store.last_position)
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
