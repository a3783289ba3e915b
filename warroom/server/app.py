"""The HTTP API (FastAPI): push events, long-poll the feed, list incidents, take alerts.

``create_app`` builds the server's parts (the event store — a SQLite file, or a PostgreSQL
database shared by several replicas — the ledger that checks and folds what is pushed, the
token cache, the feed that holds long-polls, the alert intake), keeps them on ``app.state``
for the dependencies in ``deps.py``, and includes one router per resource from ``routes/``.
Every request first passes the guard (``guard.py``: the token, the limits, then the body);
how every failure answers is in ``errors.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI

import warroom
from warroom.domain.clock import Clock, SystemClock
from warroom.domain.hlc import MAX_CLOCK_SKEW
from warroom.server.alertmanager import ALERT_BODY_MAX, ALERTMANAGER_PATH, AlertIntake, AlertmanagerWebhook
from warroom.server.errors import install_error_handlers
from warroom.server.feed import Feed
from warroom.server.guard import RequestGuard
from warroom.server.ledger import Ledger
from warroom.server.limits import ServerLimits
from warroom.server.routes import alerts, events, feed, incidents, keys, meta
from warroom.server.storage import EventStore, StoreError, open_store
from warroom.server.tokens import REFRESH_SECONDS, TokenCache
from warroom.wire import KeyRegistration, PushRequest

log = logging.getLogger("warroom.server")

if TYPE_CHECKING:
    from warroom.server.alertmanager import SeverityMap

UNSAFE_NO_DEDUPE_ENV = "WARROOM_SERVER_UNSAFE_NO_DEDUPE"
"""Set to 1 to store re-pushed events again. Only for proving the chaos test has teeth."""


def create_app(
    database: Path | str | EventStore,
    *,
    auth_required: bool = True,
    clock: Clock | None = None,
    dedupe: bool | None = None,
    alert_severity_map: "SeverityMap | None" = None,
    limits: ServerLimits | None = None,
    housekeeping: list[Callable[[], object]] | None = None,
    max_skew: timedelta = MAX_CLOCK_SKEW,
) -> FastAPI:
    """The ASGI app serving ``database``: a SQLite file path, a ``postgresql://`` URL (one
    replica of several), or an opened store.

    ``dedupe=None`` reads ``WARROOM_SERVER_UNSAFE_NO_DEDUPE`` (only the chaos test sets it);
    ``alert_severity_map=None`` maps alert labels with the built-in table; ``max_skew`` is how
    far ahead of this server's clock an event's time may be; ``limits=None``
    takes the defaults of ``ServerLimits``. ``housekeeping`` are callables run every
    ``REFRESH_SECONDS`` on the event loop besides the token refresh (the log's summaries)."""
    if dedupe is None:
        dedupe = os.environ.get(UNSAFE_NO_DEDUPE_ENV) != "1"
    store = database if isinstance(database, EventStore) else open_store(database, dedupe=dedupe)
    try:
        ledger = Ledger(store, clock or SystemClock(), dedupe=dedupe, max_skew=max_skew)
    except BaseException:
        store.close()
        raise
    live_feed = Feed(store, ledger)
    try:
        tokens = TokenCache(store) if auth_required else None
    except BaseException:
        store.close()
        raise
    if tokens is not None:
        tokens.on_revoked = live_feed.cut
    chores = list(housekeeping or [])

    async def keep_house() -> None:
        # Held polls send nothing, so revocations are looked for here too.
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            try:
                store.check()  # a database file deleted under us is noticed (and logged) here
                if tokens is not None:
                    tokens.report(await asyncio.to_thread(tokens.refresh))
            except StoreError as exc:
                log.error("database error: %s", exc)
            for chore in chores:
                chore()

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        await live_feed.start()  # with PostgreSQL: follow the other replicas' commits
        task = asyncio.create_task(keep_house())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await live_feed.close()
        store.close()

    app = FastAPI(
        title="warroom sync server",
        version=warroom.__version__,
        description=(
            "Shared event log for warroom clients. Push events with POST /v1/events, follow "
            "everyone's events with the GET /v1/feed long-poll. Authenticate with "
            "`Authorization: Bearer <token>` (create tokens with `warroom server token add`)."
        ),
        lifespan=lifespan,
    )
    app.state.store = store
    app.state.ledger = ledger
    app.state.feed = live_feed
    app.state.tokens = tokens
    app.state.identities = ledger.identities
    app.state.limits = limits = limits or ServerLimits()
    app.state.auth_required = auth_required
    # Alert intake goes through the same ledger.submit and feed wake-up as POST /v1/events.
    app.state.alert_intake = AlertIntake(ledger, store, ledger.clock, alert_severity_map)
    # Outermost: the token and the limits are checked before anything reads the body.
    app.add_middleware(
        RequestGuard,
        tokens=tokens,
        limits=limits,
        body_limits={ALERTMANAGER_PATH: ALERT_BODY_MAX},
        fast_routes={("GET", "/v1/feed"): feed.serve_feed, ("POST", "/v1/events"): events.serve_push},
    )
    install_error_handlers(app)
    for router in (meta.router, incidents.router, events.router, feed.router, alerts.router, keys.router):
        app.include_router(router)
    _document_request_bodies(app)
    return app


def _document_request_bodies(app: FastAPI) -> None:
    """The push and alert routes read their bodies themselves (so auth runs before parsing,
    and malformed JSON is a 400): put the bodies' schemas into /openapi.json by hand."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        webhook = AlertmanagerWebhook.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(webhook.pop("$defs", {}))
        schemas["AlertmanagerWebhook"] = webhook
        schemas["PushRequest"] = PushRequest.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas["KeyRegistration"] = KeyRegistration.model_json_schema(ref_template="#/components/schemas/{model}")
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
