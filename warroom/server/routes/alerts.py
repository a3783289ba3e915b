"""``POST /v1/hooks/alertmanager``: Prometheus Alertmanager's webhook. The intake itself
(alerts → incident events) is ``warroom.server.alertmanager.AlertIntake``; what a
notification may hold is ``warroom.server.alerting.payload``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from warroom.server.alertmanager import (
    ALERT_BODY_MAX,
    ALERTMANAGER_PATH,
    AlertIntakeResponse,
    PayloadError,
    parse_notification,
)
from warroom.server.deps import AlertIntakeDep, CurrentUser, FeedDep
from warroom.server.errors import ApiError, error_responses, parse_json_body
from warroom.wire import ErrorBody

router = APIRouter(tags=["alerts"])

_RESPONSES = {
    **error_responses(400, 401, 408, 422, 429, 503),
    413: {"model": ErrorBody, "description": f"Body over {ALERT_BODY_MAX} bytes."},
}


@router.post(
    ALERTMANAGER_PATH,
    response_model=AlertIntakeResponse,
    responses=_RESPONSES,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AlertmanagerWebhook"}}},
        }
    },
)
async def alertmanager_hook(
    request: Request, who: CurrentUser, intake: AlertIntakeDep, live_feed: FeedDep
) -> Any:
    """Prometheus Alertmanager's webhook (payload version 4), any number of alerts. A
    group with a new firing alert opens an incident (or adds to the one open for it);
    every alert is logged at its start (resolved ones at their end) with all its labels;
    heartbeats open nothing; re-deliveries add nothing. 5xx only for storage trouble
    (Alertmanager retries it). Point Alertmanager's `webhook_configs` here with a token."""
    raw = await request.body()
    delivery = await run_in_threadpool(intake.record, who, raw)
    data = parse_json_body(raw, send="Alertmanager's webhook payload")
    try:
        notification = parse_notification(data, intake.clock.now())
    except PayloadError as exc:
        raise ApiError(422, str(exc)) from None
    answer, accepted = await run_in_threadpool(intake.handle, who, notification, delivery)
    if accepted:
        live_feed.committed()
    return answer
