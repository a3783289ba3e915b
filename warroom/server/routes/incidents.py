"""``GET /v1/incidents``: what the server knows of every incident."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from warroom.server.deps import Person, LedgerDep
from warroom.server.errors import error_responses
from warroom.wire import IncidentList

router = APIRouter(tags=["incidents"])


@router.get("/v1/incidents", response_model=IncidentList, responses=error_responses(401, 403, 429, 503))
async def incidents(_who: Person, ledger: LedgerDep) -> IncidentList:
    """Every incident the server knows, most recently changed first."""
    return IncidentList(incidents=await run_in_threadpool(ledger.incidents))
