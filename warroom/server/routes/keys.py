"""``POST /v1/keys``, ``GET /v1/keys``, ``GET /v1/users``: people's signing keys and names."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from warroom.server.deps import IdentitiesDep, LedgerDep, Person
from warroom.server.errors import ApiError, error_responses, parse_json_body, validate_body
from warroom.server.identities import KeyTaken
from warroom.wire import KeyList, KeyRegistration, PublicKey, UserList

router = APIRouter(tags=["people"])


@router.post(
    "/v1/keys",
    response_model=KeyList,
    responses=error_responses(400, 401, 403, 408, 413, 422, 429, 503),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/KeyRegistration"}}},
        }
    },
)
async def register_key(request: Request, who: Person, identities: IdentitiesDep, ledger: LedgerDep) -> KeyList:
    """Register a public signing key for the token's user (idempotent). Events signed with
    it are then taken from whoever delivers them."""
    if who.name is None:
        raise ApiError(403, "this server runs without tokens: there is nobody to register a key for")
    shape = '{"public_key": "..."}'
    data = parse_json_body(await request.body(), send=shape)
    body = validate_body(KeyRegistration, data, f"the body must be {shape}", send=shape)
    try:
        created = await run_in_threadpool(identities.register, who, body.public_key)
    except ValueError as exc:
        raise ApiError(422, f"public_key: {exc}") from None
    except KeyTaken:
        raise ApiError(403, "that key is registered to another user; make a new one") from None
    if created:
        ledger.authority.reload()
    return await keys(who, identities)


@router.get("/v1/keys", response_model=KeyList, responses=error_responses(401, 403, 429, 503))
async def keys(_who: Person, identities: IdentitiesDep) -> KeyList:
    """Every registered public key, with its owner: enough to check who wrote any event."""
    records = await run_in_threadpool(identities.records)
    return KeyList(
        keys=[PublicKey(user=r.user, key_id=r.key_id, public_key=r.public_key, registered_at=r.registered_at) for r in records]
    )


@router.get("/v1/users", response_model=UserList, responses=error_responses(401, 403, 429, 503))
async def users(_who: Person, identities: IdentitiesDep) -> UserList:
    """The people this server has tokens for (to check a name before handing a role)."""
    return UserList(users=await run_in_threadpool(identities.people))
