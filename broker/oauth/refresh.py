"""The ``refresh_token`` grant (RFC 6749 §6), with rotation and reuse detection
(RFC 9700 §4.14.2).

Each use retires the presented refresh token and issues a new pair. A retired token seen
again means two parties hold it: the whole grant is revoked through the one revocation
path (``consent.usecases.revoke``), which kills every token and writes the ledger. Of two
concurrent refreshes, ``mark_rotated`` lets exactly one through; the other is treated as
a reuse, which is why clients must serialise their refreshes (the SDK does).
"""

from __future__ import annotations

from typing import Any

import structlog
from aiohttp import web

from broker.keys import SETTINGS
from broker.oauth.errors import InvalidGrant
from broker.oauth.issue import grant_usable, issue_tokens, token_usable
from broker.storage.tokens import TokenRecord, TokenWithGrant
from broker.storage.uow import SqlUnitOfWork
from consent.model import Actor
from consent.registry import ServiceRegistration
from consent.usecases import revoke

log = structlog.get_logger(__name__)

SECURITY = Actor(kind="operator", id="security")


async def refresh_grant(
    request: web.Request,
    uow: SqlUnitOfWork,
    service: ServiceRegistration,
    found: TokenWithGrant | None,
) -> dict[str, Any]:
    """Rotate the presented refresh token. ``found`` is it with its grant, read by
    ``SqlTokens.find_locking_grant`` (or with the client on SQLite) in ``uow``: the grant's
    lock is held, so concurrent refreshes (and revocations) of one grant queue up there."""
    if found is None:
        raise InvalidGrant("unknown refresh token")
    record, consent = found
    if record.kind != "refresh" or record.client_id != service.client_id:
        raise InvalidGrant("unknown refresh token")
    if record.rotated_at is not None:
        await _reuse_detected(uow, record)
    if not token_usable(record, uow.now):
        raise InvalidGrant("refresh token expired or revoked")
    if consent is None or not grant_usable(consent, uow.now):
        raise InvalidGrant("the grant is no longer active")
    if not await uow.tokens.mark_rotated(record.token_hash, uow.now):
        await _reuse_detected(uow, record)
    body = await issue_tokens(  # commits
        uow, consent, service.client_id, request.app[SETTINGS].access_token_ttl
    )
    log.info("token.refreshed", client_id=service.client_id, grant_id=consent.id)
    return body


async def _reuse_detected(uow: SqlUnitOfWork, record: TokenRecord) -> None:
    consent = await uow.consents.get(record.grant_id)
    if consent is not None and consent.state.is_live:
        # The one path: tokens, ledger, and (in the outbox) notice and holder revocation.
        await revoke(
            uow,
            consent_id=consent.id,
            actor=SECURITY,
            reason="refresh_token_reuse",
            now=uow.now,
        )
    else:
        await uow.tokens.revoke_for_grant(record.grant_id, uow.now)
        await uow.commit()
    log.warning("token.refresh_reused", client_id=record.client_id, grant_id=record.grant_id)
    raise InvalidGrant("refresh token already used; the grant is revoked")
