"""``GET /v1/health`` (no token needed) and ``GET /v1/whoami``."""

from __future__ import annotations

from fastapi import APIRouter, Request

import warroom
from fastapi.concurrency import run_in_threadpool

from warroom.server.deps import CurrentUser, IdentitiesDep, auth_required
from warroom.server.errors import error_responses
from warroom.wire import Health, WhoAmI

router = APIRouter(tags=["meta"])


@router.get("/v1/health", response_model=Health, responses=error_responses(503))
async def health(request: Request) -> Health:
    """Liveness check; needs no token. 503 when the server can no longer use its database
    (damaged, or its file deleted or replaced while it ran): a load balancer then stops
    sending people here."""
    request.app.state.store.probe()
    return Health(version=warroom.__version__, auth_required=auth_required(request))


@router.get("/v1/whoami", response_model=WhoAmI, responses=error_responses(401, 429, 503))
async def whoami(request: Request, who: CurrentUser, identities: IdentitiesDep) -> WhoAmI:
    """The user the token belongs to, what it may do, and the signing keys registered for
    that user (events signed with them are taken from anyone who relays them)."""
    key_ids = await run_in_threadpool(identities.key_ids, who.name) if who.name else []
    return WhoAmI(user=who.name, admin=who.admin, auth_required=auth_required(request), role=who.role, key_ids=key_ids)
