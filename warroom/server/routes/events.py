"""``POST /v1/events``: clients push batches of events; each is accepted, a duplicate or
rejected on its own.

Pushes are the write path's hot spot: FastAPI's routing, dependency solving and response
validation cost about as much as judging and storing a one-event push. So, as for the feed,
the guard answers ``POST /v1/events`` with ``serve_push`` (plain ASGI) once the token, the
limits and the body are checked; the FastAPI route below documents it in /openapi.json and
runs the same code (``push``) when the app runs without its guard.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.types import Receive, Scope, Send

from warroom.server.auth import Principal
from warroom.server.deps import Person, intake_only
from warroom.server.errors import (
    ApiError,
    error_response,
    error_responses,
    parse_json_body,
    storage_unavailable,
    unexpected_error,
    validate_body,
)
from warroom.server.storage import StoreError
from warroom.wire import MAX_BATCH_EVENTS, Outcome, PushRequest, PushResponse, RejectionCode

router = APIRouter(tags=["events"])

_STORERS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="warroom-push")
"""Pushes are judged and committed here: a plain executor hands work over in about a third
of the time anyio's thread pool takes (its capacity limiter and checkpoints). Several
threads, so one push's signature checks overlap another's commit; the ledger orders the
commits."""


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
async def push_events(request: Request, who: Person) -> Any:
    """Store a batch of events. Each comes back `accepted` (with its feed position),
    `duplicate` (already stored: pushing again is always safe) or `rejected` (with a
    reason; the rest of the batch is unaffected). HTTP 403 only when every event was
    refused for authorization."""
    status, body = await push(request.app.state, who, await request.body())
    return Response(body, status_code=status, media_type="application/json")


async def push(state: Any, who: Principal, raw: bytes) -> tuple[int, bytes]:
    """Judge and store one pushed body: ``(status, JSON answer)``. Raises ``ApiError`` (a
    malformed body) or ``StoreError`` (nothing was stored)."""
    shape = '{"events": [...]}'
    data = parse_json_body(raw, send=shape)
    batch = validate_body(PushRequest, data, 'the body must be {"events": [event objects]}', send=shape)
    if len(batch.events) > MAX_BATCH_EVENTS:
        raise ApiError(
            413,
            f"{len(batch.events)} events in one request; the limit is {MAX_BATCH_EVENTS}, "
            "split the batch",
        )
    ledger, live_feed = state.ledger, state.feed
    loop = asyncio.get_running_loop()

    def store() -> tuple[list, str | None]:
        # One trip to a worker thread for the batch and its receipt. Held polls are woken
        # as soon as the batch is committed, while the receipt is still being made.
        results = ledger.submit(who, batch.events, batch.text_keys)
        stored = [r for r in results if r.status is Outcome.ACCEPTED and r.position is not None]
        if not stored:
            return results, None
        loop.call_soon_threadsafe(live_feed.committed)
        last = max(stored, key=lambda r: r.position)
        return results, live_feed.receipt(last.position, last.id)

    results, receipt = await loop.run_in_executor(_STORERS, store)
    counts = {outcome: 0 for outcome in Outcome}
    for result in results:
        counts[result.status] += 1
    answer = PushResponse(
        results=results,
        accepted=counts[Outcome.ACCEPTED],
        duplicate=counts[Outcome.DUPLICATE],
        rejected=counts[Outcome.REJECTED],
        receipt=receipt,
    )
    if results and all(r.code is RejectionCode.FORBIDDEN for r in results):
        refusal = error_response(
            403,
            f"none of the {len(results)} event(s) was accepted: {results[0].reason}",
            answer.model_dump(mode="json"),
        )
        return 403, bytes(refusal.body)
    return 200, answer.model_dump_json().encode()


async def serve_push(scope: Scope, receive: Receive, send: Send) -> None:
    """``POST /v1/events`` as plain ASGI, for the guard (token, limits and body checked)."""
    who = scope["state"]["principal"]
    if not who.is_person:
        refused = intake_only(who)
        await error_response(refused.status, refused.error)(scope, receive, send)
        return
    message = await receive()  # the guard replays the whole body in one message
    try:
        status, body = await push(scope["app"].state, who, message.get("body", b""))
    except ApiError as exc:
        response = error_response(exc.status, exc.error, exc.detail, exc.headers)
    except StoreError as exc:
        response = storage_unavailable(exc)
    except Exception:
        response = unexpected_error()
    else:
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})
        return
    await response(scope, receive, send)
