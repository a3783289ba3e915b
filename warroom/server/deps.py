"""What a route needs, as FastAPI dependencies: who is asking, and the server's parts.

``create_app`` keeps the parts on ``app.state``; routes name what they need
(``who: CurrentUser``, ``ledger: LedgerDep``...) and never import the app, so route modules
and the app do not depend on each other.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from warroom.server.alertmanager import AlertIntake
from warroom.server.auth import ANONYMOUS, Principal, verify_token
from warroom.server.errors import ApiError
from warroom.server.feed import Feed, FeedSignal
from warroom.server.identities import Identities
from warroom.server.ledger import Ledger
from warroom.server.storage import EventStore

bearer = HTTPBearer(auto_error=False, description="A token from `warroom server token add`.")


def auth_required(request: Request) -> bool:
    return request.app.state.auth_required


def get_store(request: Request) -> EventStore:
    return request.app.state.store


def get_ledger(request: Request) -> Ledger:
    return request.app.state.ledger


def get_feed_signal(request: Request) -> FeedSignal:
    return request.app.state.feed_signal


def get_feed(request: Request) -> Feed:
    return request.app.state.feed


def get_alert_intake(request: Request) -> AlertIntake:
    return request.app.state.alert_intake


def get_identities(request: Request) -> Identities:
    return request.app.state.identities


async def authenticate(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
) -> Principal:
    """The token's user; 401 with what to do when there is no token or an unknown one."""
    if not auth_required(request):
        return ANONYMOUS
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None:
        raise ApiError(
            401,
            "this request needs a token: send 'Authorization: Bearer <token>' (an admin "
            "creates one with `warroom server token add NAME`; then run "
            "`warroom login URL --token TOKEN`)",
            headers=challenge,
        )
    principal = await run_in_threadpool(verify_token, get_store(request), credentials.credentials)
    if principal is None:
        raise ApiError(
            401,
            "this server does not know that token (mistyped, or revoked); ask an admin "
            "for a new one and run `warroom login URL --token TOKEN`",
            headers=challenge,
        )
    return principal


async def authenticate_person(request: Request, who: Principal = Depends(authenticate)) -> Principal:
    """A user or an admin: an alert-intake token may post notifications and nothing else."""
    if not who.is_person:
        raise ApiError(
            403,
            f"the token of {who.name!r} is for alert intake only: it may post Alertmanager "
            "notifications, not read incidents or push events as a person",
        )
    return who


CurrentUser = Annotated[Principal, Depends(authenticate)]
"""Any valid token (alert intake included)."""
Person = Annotated[Principal, Depends(authenticate_person)]
"""A person's token (user or admin): reads the feed, pushes events."""
IdentitiesDep = Annotated[Identities, Depends(get_identities)]
StoreDep = Annotated[EventStore, Depends(get_store)]
LedgerDep = Annotated[Ledger, Depends(get_ledger)]
FeedSignalDep = Annotated[FeedSignal, Depends(get_feed_signal)]
FeedDep = Annotated[Feed, Depends(get_feed)]
AlertIntakeDep = Annotated[AlertIntake, Depends(get_alert_intake)]
