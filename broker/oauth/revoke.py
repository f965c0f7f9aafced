"""``POST /oauth/revoke`` (RFC 7009 §2).

An unknown token, or one of another client, gets the same empty 200 as a success (§2.2):
nothing tells the caller whether it existed. An access token is revoked alone; revoking a
refresh token is the service ending the grant, so it goes through the one revocation path.
"""

from __future__ import annotations

import structlog
from aiohttp import web

from broker.crypto import hash_token
from broker.keys import CLOCK, ENGINE
from broker.oauth.client_auth import authenticate
from broker.oauth.forms import param, read_form, required
from broker.storage.uow import SqlUnitOfWork
from consent.model import Actor
from consent.usecases import revoke

log = structlog.get_logger(__name__)


async def revocation(request: web.Request) -> web.Response:
    form = await read_form(request)
    service = await authenticate(request, form)
    token = required(form, "token", max_length=512)
    param(form, "token_type_hint", max_length=64)  # a hint only (§2.1); checked, not trusted
    async with SqlUnitOfWork(request.app[ENGINE], request.app[CLOCK]) as uow:
        record = await uow.tokens.find(hash_token(token))
        if record is None or record.client_id != service.client_id:
            return _done()
        consent = await uow.consents.get(record.grant_id)
        if record.kind == "refresh" and consent is not None and consent.state.is_live:
            # The one path: tokens, ledger, and (in the outbox) notice and holder revocation.
            await revoke(
                uow,
                consent_id=consent.id,
                actor=Actor(kind="service", id=service.client_id),
                reason="refresh_token_revoked",
                now=uow.now,
            )
        else:
            await uow.tokens.revoke(record.token_hash, uow.now)
            await uow.commit()
    log.info("token.revoked", client_id=service.client_id, kind=record.kind)
    return _done()


def _done() -> web.Response:
    return web.Response(status=200, headers={"Cache-Control": "no-store"})
