"""``GET /v1/health`` (no token needed) and ``GET /v1/whoami``."""

from __future__ import annotations

from fastapi import APIRouter, Request

import warroom
from warroom.server.deps import CurrentUser, auth_required
from warroom.server.errors import error_responses
from warroom.wire import Health, WhoAmI

router = APIRouter(tags=["meta"])


@router.get("/v1/health", response_model=Health)
async def health(request: Request) -> Health:
    """Liveness check; needs no token."""
    return Health(version=warroom.__version__, auth_required=auth_required(request))


@router.get("/v1/whoami", response_model=WhoAmI, responses=error_responses(401))
async def whoami(request: Request, who: CurrentUser) -> WhoAmI:
    """The user the token belongs to (events you push must carry this name as actor)."""
    return WhoAmI(user=who.name, admin=who.admin, auth_required=auth_required(request))
