"""``GET`` and ``DELETE /oauth/grants/{grant_id}`` (OpenID Grant Management, §5 and §6).

Only the grant's own service may see or end it; to anyone else it does not exist (404).
Ending it is the service's revocation: the consent becomes TERMINATED_BY_SERVICE and
every token dies. Ending an ended grant is a no-op (204), so retries are safe.
"""

from __future__ import annotations

import structlog
from aiohttp import web
from multidict import MultiDict

from broker.keys import CLOCK, ENGINE
from broker.oauth.client_auth import authenticate
from broker.oauth.errors import GrantNotFound
from broker.oauth.issue import granted_details
from broker.oauth.token import NO_STORE
from broker.storage.uow import SqlUnitOfWork
from consent.model import Actor, Consent
from consent.registry import ServiceRegistration
from consent.usecases import revoke

log = structlog.get_logger(__name__)


async def _own_grant(uow: SqlUnitOfWork, service: ServiceRegistration, grant_id: str) -> Consent:
    consent = await uow.consents.get(grant_id) if len(grant_id) <= 64 else None
    if consent is None or consent.service != service.client_id:
        raise GrantNotFound("no such grant")
    return consent


async def query_grant(request: web.Request) -> web.Response:
    service = await authenticate(request, MultiDict())
    async with SqlUnitOfWork(request.app[ENGINE], request.app[CLOCK]) as uow:
        consent = await _own_grant(uow, service, request.match_info["grant_id"])
    body = {
        "grant_id": consent.id,
        "status": consent.state.value,
        "authorization_details": granted_details(consent),
        "created_at": consent.created_at.isoformat(),
        "expires_at": consent.expires_at.isoformat() if consent.expires_at else None,
        "holder_linked": consent.holder_subject is not None,
    }
    return web.json_response(body, headers=NO_STORE)


async def end_grant(request: web.Request) -> web.Response:
    service = await authenticate(request, MultiDict())
    async with SqlUnitOfWork(request.app[ENGINE], request.app[CLOCK]) as uow:
        consent = await _own_grant(uow, service, request.match_info["grant_id"])
        if consent.state.is_live:
            # The one path: tokens, ledger, and (in the outbox) notice and holder revocation.
            await revoke(
                uow,
                consent_id=consent.id,
                actor=Actor(kind="service", id=service.client_id),
                reason="terminated_by_service",
                now=uow.now,
            )
            log.info("grant.terminated", client_id=service.client_id, grant_id=consent.id)
        else:
            await uow.tokens.revoke_for_grant(consent.id, uow.now)
            await uow.commit()
    return web.Response(status=204, headers=NO_STORE)
