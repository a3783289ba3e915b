"""``POST /v1/events``: clients push batches of events; each is accepted, a duplicate or
rejected on its own."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from warroom.server.deps import FeedDep, LedgerDep, Person
from warroom.server.errors import ApiError, error_response, error_responses, parse_json_body, validate_body
from warroom.wire import MAX_BATCH_EVENTS, Outcome, PushRequest, PushResponse, RejectionCode

router = APIRouter(tags=["events"])


@router.post(
    "/v1/events",
    response_model=PushResponse,
    responses=error_responses(400, 401, 403, 408, 413, 422, 429, 503),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/PushRequest"}}
            },
        }
    },
)
async def push_events(request: Request, who: Person, ledger: LedgerDep, live_feed: FeedDep) -> Any:
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
    results = await run_in_threadpool(ledger.submit, who, batch.events, batch.text_keys)
    counts = {outcome: 0 for outcome in Outcome}
    for result in results:
        counts[result.status] += 1
    if counts[Outcome.ACCEPTED]:
        live_feed.committed()
    stored = [r for r in results if r.status is Outcome.ACCEPTED and r.position is not None]
    last = max(stored, key=lambda r: r.position) if stored else None
    receipt = await run_in_threadpool(live_feed.receipt, last.position, last.id) if last else None
    answer = PushResponse(
        results=results,
        accepted=counts[Outcome.ACCEPTED],
        duplicate=counts[Outcome.DUPLICATE],
        rejected=counts[Outcome.REJECTED],
        receipt=receipt,
    )
    if results and all(r.code is RejectionCode.FORBIDDEN for r in results):
        return error_response(
            403,
            f"none of the {len(results)} event(s) was accepted: {results[0].reason}",
            answer.model_dump(mode="json"),
        )
    return answer
