"""The operator's admin API (RFC 9457 problem JSON on every error).

| route | who | what |
| --- | --- | --- |
| ``GET /v1/schemas/holder-manifest.json`` | anyone | JSON Schema of a holder manifest |
| ``GET /v1/holders`` | anyone | registered holders and their resources (no secrets) |
| ``POST /v1/holders`` | operator | register a holder (manifest + broker's client) |
| ``PUT /v1/holders/{holder}`` | operator | replace a holder's manifest (``holders.py``) |
| ``POST /v1/services`` | operator | register a service; it starts ``pending`` |
| ``GET /v1/services`` | operator | registered services |
| ``POST /v1/services/{client_id}/approve`` | operator | approve a service |
| ``GET/POST /v1/holders/{holder}/blacklist`` | operator | a holder's blacklist; add |
| ``DELETE /v1/holders/{holder}/blacklist/{service}`` | operator | lift an entry |
| ``POST /v1/holders/{holder}/revocations`` | the holder (signed) | holder-side revocation |
| ``POST /v1/consents/{grant_id}/revoke`` | operator | end one consent (``consents.py``) |
"""

from __future__ import annotations

from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.exc import IntegrityError

from broker.admin import consents
from broker.admin.blacklist import UnknownParty, blacklist_service, lift_blacklist
from broker.admin.holders import put_holder
from broker.admin.requests import invalid, json_object, require_operator
from broker.admin.revocations import holder_revocation
from broker.http.problems import Problem
from broker.keys import ENGINE, SECRET_BOX
from broker.operator import approve_service, register_holder, register_service
from broker.storage.holder_side import SqlHolderSide
from broker.unit import unit_of_work
from consent.registry import HolderManifest

_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
OPERATOR = "operator:api"


class BlacklistRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service: Annotated[str, Field(pattern=_ID)]
    reason: str = Field(min_length=1, max_length=300)


def _public(manifest: HolderManifest) -> dict[str, Any]:
    return manifest.model_dump(mode="json")  # the manifest holds no secret by design


async def holder_schema(request: web.Request) -> web.Response:
    return web.json_response(
        HolderManifest.model_json_schema(), headers={"Cache-Control": "public, max-age=300"}
    )


async def list_holders(request: web.Request) -> web.Response:
    async with unit_of_work(request.app) as uow:
        manifests = await uow.holders.list()
    return web.json_response({"holders": [_public(m) for m in manifests]})


async def add_holder(request: web.Request) -> web.Response:
    require_operator(request)
    body = await json_object(request)
    try:
        manifest = await register_holder(request.app[ENGINE], request.app[SECRET_BOX], body)
    except ValidationError as error:
        raise invalid(error, "invalid_manifest") from None
    except IntegrityError:
        raise Problem(409, "conflict", "a holder with this id is already registered") from None
    return web.json_response(_public(manifest), status=201)


async def add_service(request: web.Request) -> web.Response:
    require_operator(request)
    body = await json_object(request)
    try:
        registration, secret = await register_service(request.app[ENGINE], body, force_pending=True)
    except ValidationError as error:
        raise invalid(error, "invalid_registration") from None
    except IntegrityError:
        raise Problem(409, "conflict", "a service with this client_id is registered") from None
    answer: dict[str, Any] = registration.model_dump(mode="json")
    if secret is not None and "client_secret" not in body:
        answer["client_secret"] = secret  # minted here: shown this once, stored hashed
    return web.json_response(answer, status=201, headers={"Cache-Control": "no-store"})


async def list_services(request: web.Request) -> web.Response:
    require_operator(request)
    async with unit_of_work(request.app) as uow:
        services = await uow.services.list()
    return web.json_response({"services": [s.model_dump(mode="json") for s in services]})


async def approve(request: web.Request) -> web.Response:
    require_operator(request)
    client_id = request.match_info["client_id"][:64]
    if not await approve_service(request.app[ENGINE], client_id):
        raise Problem(404, "not_found", "no such service")
    return web.json_response({"client_id": client_id, "status": "approved"})


async def get_blacklist(request: web.Request) -> web.Response:
    require_operator(request)
    async with unit_of_work(request.app) as uow:
        entries = await SqlHolderSide(uow.conn).blacklisted(request.match_info["holder"][:64])
    return web.json_response(
        {
            "blacklist": [
                {"service": e.service, "reason": e.reason, "since": e.created_at.isoformat()}
                for e in entries
            ]
        }
    )


async def add_to_blacklist(request: web.Request) -> web.Response:
    require_operator(request)
    try:
        asked = BlacklistRequest.model_validate(await json_object(request))
    except ValidationError as error:
        raise invalid(error, "invalid_request") from None
    holder = request.match_info["holder"][:64]
    try:
        revoked = await blacklist_service(
            request.app,
            holder_id=holder,
            service=asked.service,
            reason=asked.reason,
            actor=OPERATOR,
        )
    except UnknownParty as error:
        raise Problem(404, "not_found", str(error)) from None
    return web.json_response({"holder": holder, "service": asked.service, "revoked": revoked})


async def remove_from_blacklist(request: web.Request) -> web.Response:
    require_operator(request)
    holder, service = request.match_info["holder"][:64], request.match_info["service"][:64]
    if not await lift_blacklist(request.app, holder_id=holder, service=service, actor=OPERATOR):
        raise Problem(404, "not_found", "this service is not blacklisted by this holder")
    return web.Response(status=204)


def setup(app: web.Application) -> None:
    router = app.router
    router.add_get("/v1/schemas/holder-manifest.json", holder_schema)
    router.add_get("/v1/holders", list_holders)
    router.add_post("/v1/holders", add_holder)
    router.add_put("/v1/holders/{holder}", put_holder)
    router.add_get("/v1/services", list_services)
    router.add_post("/v1/services", add_service)
    router.add_post("/v1/services/{client_id}/approve", approve)
    router.add_get("/v1/holders/{holder}/blacklist", get_blacklist)
    router.add_post("/v1/holders/{holder}/blacklist", add_to_blacklist)
    router.add_delete("/v1/holders/{holder}/blacklist/{service}", remove_from_blacklist)
    router.add_post("/v1/holders/{holder}/revocations", holder_revocation)
    consents.setup(app)
