"""``POST /v1/hooks/alertmanager``: Prometheus Alertmanager's webhook. The intake itself
(alerts → incident events) is ``warroom.server.alertmanager.AlertIntake``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from warroom.server.alertmanager import (
    ALERTMANAGER_PATH,
    MAX_ALERTS,
    AlertIntakeResponse,
    AlertmanagerWebhook,
)
from warroom.server.deps import AlertIntakeDep, CurrentUser, FeedSignalDep
from warroom.server.errors import ApiError, error_responses, parse_json_body, validate_body

router = APIRouter(tags=["alerts"])


@router.post(
    ALERTMANAGER_PATH,
    response_model=AlertIntakeResponse,
    responses=error_responses(400, 401, 413, 422, 503),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"$ref": "#/components/schemas/AlertmanagerWebhook"}
                }
            },
        }
    },
)
async def alertmanager_hook(
    request: Request, who: CurrentUser, intake: AlertIntakeDep, signal: FeedSignalDep
) -> Any:
    """Prometheus Alertmanager's webhook (payload version 4). A group with a new firing
    alert opens an incident (or adds to the one open for its `groupKey`); every alert is
    logged to the timeline at its start (resolved ones at their end); re-deliveries are
    no-ops. Point Alertmanager's `webhook_configs` here with a bearer token."""
    raw = await request.body()
    data = parse_json_body(raw, send="Alertmanager's webhook payload")
    if isinstance(data, dict) and isinstance(data.get("alerts"), list) and len(data["alerts"]) > MAX_ALERTS:
        raise ApiError(
            413,
            f"{len(data['alerts'])} alerts in one notification; the limit is {MAX_ALERTS}: "
            f"set max_alerts (at most {MAX_ALERTS}) in the webhook config",
        )
    hook = validate_body(
        AlertmanagerWebhook, data, "the body is not an Alertmanager webhook payload (version 4)"
    )
    answer, accepted = await run_in_threadpool(intake.handle, who, hook)
    if accepted:
        await signal.notify()
    return answer
