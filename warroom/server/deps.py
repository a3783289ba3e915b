"""What a route needs, as FastAPI dependencies: who is asking, and the server's parts.

``create_app`` keeps the parts on ``app.state``; routes name what they need
(``who: CurrentUser``, ``ledger: LedgerDep``...) and never import the app, so route modules
and the app do not depend on each other. The dependencies are ``async def`` on purpose:
FastAPI runs a plain ``def`` dependency in a worker thread, a thread hop per dependency per
request. The token itself is checked earlier, before the body is read
(``guard.RequestGuard``); ``authenticate`` hands the routes what the guard found.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from warroom.server.alertmanager import AlertIntake
from warroom.server.auth import ANONYMOUS, Principal
from warroom.server.errors import ApiError
from warroom.server.feed import Feed
from warroom.server.identities import Identities
from warroom.server.ledger import Ledger
from warroom.server.storage import EventStore

# Declared so /openapi.json documents the bearer scheme; the guard has already checked it.
bearer = HTTPBearer(auto_error=False, description="A token from `warroom server token add`.")


def auth_required(request: Request) -> bool:
    return request.app.state.auth_required


async def get_store(request: Request) -> EventStore:
    return request.app.state.store


async def get_ledger(request: Request) -> Ledger:
    return request.app.state.ledger


async def get_feed(request: Request) -> Feed:
    return request.app.state.feed


async def get_alert_intake(request: Request) -> AlertIntake:
    return request.app.state.alert_intake


async def get_identities(request: Request) -> Identities:
    return request.app.state.identities


async def authenticate(
    request: Request,
    _credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
) -> Principal:
    """The token's user, as the guard found it."""
    principal = request.scope.get("state", {}).get("principal")
    if principal is None:
        if auth_required(request):
            # Only reachable if the app runs without its guard: fail closed.
            raise ApiError(401, "this request needs a token", headers={"WWW-Authenticate": "Bearer"})
        return ANONYMOUS
    return principal


def intake_only(who: Principal) -> ApiError:
    return ApiError(
        403,
        f"the token of {who.name!r} is for alert intake only: it may post Alertmanager "
        "notifications, not read incidents or push events as a person",
    )


async def authenticate_person(request: Request, who: Principal = Depends(authenticate)) -> Principal:
    """A user or an admin: an alert-intake token may post notifications and nothing else."""
    if not who.is_person:
        raise intake_only(who)
    return who


CurrentUser = Annotated[Principal, Depends(authenticate)]
"""Any valid token (alert intake included)."""
Person = Annotated[Principal, Depends(authenticate_person)]
"""A person's token (user or admin): reads the feed, pushes events."""
IdentitiesDep = Annotated[Identities, Depends(get_identities)]
StoreDep = Annotated[EventStore, Depends(get_store)]
LedgerDep = Annotated[Ledger, Depends(get_ledger)]
FeedDep = Annotated[Feed, Depends(get_feed)]
AlertIntakeDep = Annotated[AlertIntake, Depends(get_alert_intake)]
